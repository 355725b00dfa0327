// Command optim generates the amd64 assembly of the fused optimizer steps
// (package asm): Adam, Adadelta and SGD with classical or Nesterov
// momentum, each with L2 weight decay, in one pass over the parameters.
// kernels/optim.go is the contract they implement.
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
		genAdam(v)
		genAdadelta(v)
		genSGD(v, false)
		genSGD(v, true)
	}
	Generate()
}
