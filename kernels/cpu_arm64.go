//go:build !purego

package kernels

// neonNeeds names what the NEON kernels use: Advanced SIMD with
// double-precision lanes, part of every arm64 CPU Go runs on (the arm64
// port requires it), so there is nothing to detect.
var neonNeeds = []string{"ASIMD"}

// archBaseline is what every arm64 CPU has. The NEON emitter writes no
// "// Requires:" comments, all its instructions being Armv8.0 Advanced
// SIMD: TestRequires checks only that every function belongs to a Set.
var archBaseline = []string{"ASIMD"}

var archDetect = map[string]*bool{}

var archSets = []setSpec{
	{isa: NEON, needs: neonNeeds, build: func() *Set {
		return &Set{Act: actNEON(), Optim: optimNEON(), Gemm: gemmNEON(), Conv: convNEON(), Bench: benchNEON()}
	}},
}

func whyNot(isa string) string {
	if isa == NEON {
		return "the NEON kernels were not registered"
	}
	return "it is not an arm64 instruction set"
}
