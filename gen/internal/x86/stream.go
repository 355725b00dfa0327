package x86

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Lane is what the body of a Stream loop sees of one vector position of
// its arrays, to read and write them there.
type Lane interface {
	// In returns array j at this position as a source operand that may be
	// memory: an operand of the folding instructions, read once.
	In(j int) Op
	// Get returns array j at this position in a new register the body
	// owns.
	Get(j int) reg.VecVirtual
	// Put writes r to array j at this position.
	Put(j int, r reg.VecVirtual)
	// Index is the vector's place in an unrolled group (0 outside the
	// group loop), for bodies that keep a register per place.
	Index() int
}

// whole is a position in the unrolled or single-vector loop. When pending
// is set, Put queues its store there instead of emitting it.
type whole struct {
	v       ISA
	ptrs    []reg.GPVirtual
	off     reg.GPVirtual
	i       int
	pending *[]func()
}

func (p whole) at(j int) Mem {
	return Mem{Base: p.ptrs[j], Index: p.off, Scale: 1, Disp: p.i * p.v.Bytes()}
}

func (p whole) In(j int) Op { return p.at(j) }

func (p whole) Get(j int) reg.VecVirtual {
	r := p.v.Vec()
	VMOVUPS(p.at(j), r)
	return r
}

func (p whole) Put(j int, r reg.VecVirtual) {
	m := p.at(j)
	if p.pending != nil {
		*p.pending = append(*p.pending, func() { VMOVUPS(r, m) })
		return
	}
	VMOVUPS(r, m)
}

func (p whole) Index() int { return p.i }

// partial is the masked remainder: reads are masked loads into registers,
// writes masked stores.
type partial struct {
	whole
	t Tail
}

func (p partial) In(j int) Op { return p.Get(j) }

func (p partial) Get(j int) reg.VecVirtual {
	r := p.v.Vec()
	p.v.LoadTail(p.t, p.at(j), r)
	return r
}

func (p partial) Put(j int, r reg.VecVirtual) { p.v.StoreTail(p.t, r, p.at(j)) }

// Stream emits a loop over n elements (n in a GP64 register, counted down
// to the remainder) of the arrays at ptrs, all of that length: groups of u
// vectors, then single vectors, then one masked remainder. body computes
// one position. With storeLast, the group loop emits every Put after all
// u bodies, so that each body's loads come before any store of the group;
// otherwise, and outside the group loop, a Put is emitted where the body
// makes it. An array may be read and written (in place) when each
// position is written only after it was read.
func (v ISA) Stream(ptrs []reg.GPVirtual, n reg.GPVirtual, u int, storeLast bool, body func(Lane)) {
	off := GP64()
	XORQ(off, off)

	Label("group")
	CMPQ(n, U32(u*v.Lanes))
	JB(LabelRef("single"))
	var pending *[]func()
	if storeLast {
		pending = new([]func())
	}
	for i := 0; i < u; i++ {
		body(whole{v: v, ptrs: ptrs, off: off, i: i, pending: pending})
	}
	if pending != nil {
		for _, store := range *pending {
			store()
		}
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
}
