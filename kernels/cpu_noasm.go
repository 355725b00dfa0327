//go:build !purego && !amd64 && !arm64

package kernels

import "runtime"

var (
	archBaseline []string
	archDetect   map[string]*bool
	archSets     []setSpec
)

func whyNot(string) string { return "snn has no assembly for " + runtime.GOARCH + " yet" }
