//go:build !purego

package kernels

// neonNeeds names what the NEON kernels use: Advanced SIMD with
// double-precision lanes, part of every arm64 CPU Go runs on (the arm64 port
// requires it), so there is nothing to detect.
var neonNeeds = []string{"ASIMD"}

func nativeSets() []*Set {
	return []*Set{{ISA: NEON, Needs: neonNeeds,
		Act:   actNEON(),
		Optim: optimNEON(),
		Gemm:  gemmNEON(),
		Conv:  convNEON(),
	}}
}

func whyNot(isa string) string {
	if isa == NEON {
		return "the NEON kernels were not registered"
	}
	return "it is not an arm64 instruction set"
}
