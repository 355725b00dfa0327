package main

import (
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
)

// isa is an x86.ISA with this generator's own helpers.
type isa struct{ x86.ISA }

var (
	avx512 = isa{x86.AVX512}
	avx2   = isa{x86.AVX2}
)

// load reads a partial vector into a new register (zeros in the masked
// lanes).
func (v isa) load(t x86.Tail, src Mem) reg.VecVirtual {
	r := v.Vec()
	v.LoadTail(t, src, r)
	return r
}
