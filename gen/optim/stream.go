package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
)

// lane is what the body of an optimizer sees of one vector position: its
// arrays, to read and write at that position.
type lane interface {
	// in returns array j at this position as a source operand that may be
	// memory: an operand of the folding instructions, read once.
	in(j int) Op
	// get returns array j at this position in a new register the body
	// owns.
	get(j int) reg.VecVirtual
	// put writes r to array j at this position.
	put(j int, r reg.VecVirtual)
}

// whole is a position in the unrolled or single-vector loop.
type whole struct {
	v    isa
	ptrs []reg.GPVirtual
	off  reg.GPVirtual
	i    int // vector index within the unrolled group
}

func (p whole) at(j int) Mem {
	return Mem{Base: p.ptrs[j], Index: p.off, Scale: 1, Disp: p.i * p.v.Bytes()}
}

func (p whole) in(j int) Op { return p.at(j) }

func (p whole) get(j int) reg.VecVirtual {
	r := p.v.Vec()
	VMOVUPS(p.at(j), r)
	return r
}

func (p whole) put(j int, r reg.VecVirtual) { VMOVUPS(r, p.at(j)) }

// partial is the masked remainder: reads are masked loads into registers,
// writes masked stores.
type partial struct {
	whole
	t x86.Tail
}

func (p partial) in(j int) Op { return p.get(j) }

func (p partial) get(j int) reg.VecVirtual { return p.v.load(p.t, p.at(j)) }

func (p partial) put(j int, r reg.VecVirtual) { p.v.StoreTail(p.t, r, p.at(j)) }

// stream emits the loop of the optimizer kernels over n elements of the
// arrays at ptrs (all the same length): groups of u vectors, then single
// vectors, then one masked remainder. body computes one position
// completely, reads before writes: the arrays are distinct, and each
// position is written only after it was read.
func (v isa) stream(ptrs []reg.GPVirtual, n reg.GPVirtual, u int, body func(lane)) {
	off := GP64()
	XORQ(off, off)

	Label("group")
	CMPQ(n, U32(u*v.Lanes))
	JB(LabelRef("single"))
	for i := 0; i < u; i++ {
		body(whole{v: v, ptrs: ptrs, off: off, i: i})
	}
	ADDQ(U32(u*v.Bytes()), off)
	SUBQ(U32(u*v.Lanes), n)
	JMP(LabelRef("group"))

	Label("single")
	CMPQ(n, U32(v.Lanes))
	JB(LabelRef("rest"))
	body(whole{v: v, ptrs: ptrs, off: off})
	ADDQ(U32(v.Bytes()), off)
	SUBQ(U32(v.Lanes), n)
	JMP(LabelRef("single"))

	Label("rest")
	TESTQ(n, n)
	JE(LabelRef("done"))
	body(partial{whole: whole{v: v, ptrs: ptrs, off: off}, t: v.MakeTail(n)})

	Label("done")
	VZEROUPPER()
	RET()
}
