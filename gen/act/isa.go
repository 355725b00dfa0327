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

// at is the address of vector i (in units of whole vectors) after p.
func (v isa) at(p reg.Register, i int) Mem { return Mem{Base: p, Disp: i * v.Bytes()} }

// makeTail is x86.ISA.MakeTail for a count loaded by Avo's Load, which
// hands back a plain reg.Register.
func (v isa) makeTail(r reg.Register) x86.Tail { return v.MakeTail(r.(reg.GPVirtual)) }
