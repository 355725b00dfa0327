//go:build !purego && !amd64 && !arm64

package kernels

import "runtime"

func nativeSets() []*Set { return nil }

func whyNot(string) string { return "snn has no assembly for " + runtime.GOARCH + " yet" }
