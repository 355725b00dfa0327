// Command act generates the amd64 assembly of the element-wise and reduction
// kernels (package asm): SELU and its gradient, ReLU, exp, the blocked sums
// behind the mean-reduction, the affine update behind centralization, and
// the element-wise sum of conv's partial weight gradients.
//
// Run through `go generate ./...` from the repository root; see asm/gen.go.
package main

import (
	. "github.com/mmcloughlin/avo/build"

	"github.com/snnkit/snn/gen/internal/x86"
)

func main() {
	ConstraintExpr("!purego")
	for _, v := range []isa{{x86.AVX512}, {x86.AVX2}} {
		genSELU(v)
		genSELUGrad(v)
		genReLU(v)
		genReLUGrad(v)
		genExp(v)
		genSum(v)
		genSumF32(v)
		genMoments(v)
		genAffine(v)
		genAdd(v)
		genRead(v)
		genCopy(v)
	}
	Generate()
}
