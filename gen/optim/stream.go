package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
)

// isa is an x86.ISA with this generator's own helpers.
type isa struct{ x86.ISA }

// stream emits the loop of the optimizer kernels over n elements of the
// arrays at ptrs (all the same length) and returns. body computes one
// position completely, reads before writes: the arrays are distinct, and
// each position is written only after it was read, so stores need not
// wait for the rest of the group.
func (v isa) stream(ptrs []reg.GPVirtual, n reg.GPVirtual, u int, body func(x86.Lane)) {
	v.Stream(ptrs, n, u, false, body)
	VZEROUPPER()
	RET()
}
