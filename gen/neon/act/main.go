// Command act generates the arm64 (NEON) assembly of the element-wise and
// reduction kernels of package asm: the twins of gen/act's AVX-512 and
// AVX2 kernels, with the same algorithms and accuracy contracts.
//
// Run through `go generate ./...` from the repository root; see asm/gen.go.
package main

import "github.com/snnkit/snn/gen/neon"

func main() {
	neon.Generate("gen/neon/act", func(f *neon.File) {
		genSELU(f)
		genSELUGrad(f)
		genReLU(f)
		genReLUGrad(f)
		genExp(f)
		genSum(f)
		genSumF32(f)
		genMoments(f)
		genAffine(f)
		genAdd(f)
		genRead(f)
		genCopy(f)
	})
}
