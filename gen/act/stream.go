package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// stream emits the loop shape of the element-wise kernels over n elements:
// groups of u vectors, then single vectors, then one masked remainder.
// body(src, r) computes one output vector into r from the input vectors
// src (one per pointer in ins, as memory operands in the loops and as
// registers holding a zero-padded masked load in the remainder); r is
// stored at the same element offset from out. out may equal an input
// pointer (in place): each vector is read before it is written.
func (v isa) stream(ins []reg.Register, out, n reg.Register, u int, body func(src []Op, r reg.VecVirtual)) {
	off := GP64()
	XORQ(off, off)
	r := v.Regs(u)
	at := func(base reg.Register, i int) Mem {
		return Mem{Base: base, Index: off, Scale: 1, Disp: i * v.Bytes()}
	}
	srcs := func(i int) []Op {
		s := make([]Op, len(ins))
		for j, p := range ins {
			s[j] = at(p, i)
		}
		return s
	}

	Label("group")
	CMPQ(n, U32(u*v.Lanes))
	JB(LabelRef("single"))
	for i := 0; i < u; i++ {
		body(srcs(i), r[i])
	}
	for i := 0; i < u; i++ {
		VMOVUPS(r[i], at(out, i))
	}
	ADDQ(U32(u*v.Bytes()), off)
	SUBQ(U32(u*v.Lanes), n)
	JMP(LabelRef("group"))

	Label("single")
	CMPQ(n, U32(v.Lanes))
	JB(LabelRef("rest"))
	body(srcs(0), r[0])
	VMOVUPS(r[0], at(out, 0))
	ADDQ(U32(v.Bytes()), off)
	SUBQ(U32(v.Lanes), n)
	JMP(LabelRef("single"))

	Label("rest")
	TESTQ(n, n)
	JE(LabelRef("done"))
	t := v.makeTail(n)
	x := make([]Op, len(ins))
	for j, p := range ins {
		xr := v.Vec()
		v.LoadTail(t, at(p, 0), xr)
		x[j] = xr
	}
	body(x, r[0])
	v.StoreTail(t, r[0], at(out, 0))
	Label("done")
}

// consts hands out the constants of one kernel. AVX-512 keeps them in
// registers (32 vector registers leave room); AVX2 reads them as memory
// operands from 32-byte vectors, since its 16 registers would spill.
type consts struct {
	v      isa
	regs   map[uint32]reg.VecVirtual
	frozen bool // set when the loop starts: loading there would skip paths
}

// freeze marks the end of the set-up code: asking for a register that was
// not loaded before is a generator bug, since code inside the loop body is
// emitted once per unrolled copy and not every copy runs.
func (c *consts) freeze() { c.frozen = true }

func (v isa) consts() *consts { return &consts{v: v, regs: map[uint32]reg.VecVirtual{}} }

// pool records every constant vector emitted, so each value has one
// data symbol per width.
var pool = map[string]Mem{}

// mem returns a memory operand holding f in every lane of a vector.
func (c *consts) mem(f float32) Mem {
	return c.memBits(f32bits(f))
}

func (c *consts) memBits(b uint32) Mem {
	name := "c" + hex32(b) + "x" + itoa(c.v.Lanes)
	if m, ok := pool[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < c.v.Lanes; i++ {
		DATA(4*i, U32(b))
	}
	pool[name] = m
	return m
}

// reg returns a register holding f in every lane, loading it on first use
// (call it before the loop).
func (c *consts) reg(f float32) reg.VecVirtual {
	b := f32bits(f)
	if r, ok := c.regs[b]; ok {
		return r
	}
	if c.frozen {
		panic("constant " + hex32(b) + " first requested inside the loop")
	}
	r := c.v.Vec()
	VMOVUPS(c.memBits(b), r)
	c.regs[b] = r
	return r
}

// op returns f as an operand for the source position that may be memory:
// a register on AVX-512, a memory operand on AVX2.
func (c *consts) op(f float32) Op {
	if c.v.Lanes == 16 {
		return c.reg(f)
	}
	return c.mem(f)
}
