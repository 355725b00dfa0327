//go:build purego

package kernels

var (
	archBaseline []string
	archDetect   map[string]*bool
	archSets     []setSpec
)

func whyNot(string) string { return "built with the purego tag" }
