package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
)

// isa is an x86.ISA with this generator's own helpers.
type isa struct{ x86.ISA }

// stream emits x86.Stream for an element-wise kernel: body(src, r)
// computes one output vector into r from the input vectors src (one per
// pointer in ins, as memory operands in the loops and as registers holding
// a zero-padded masked load in the remainder), and r is stored at the same
// element offset from out, after the whole group. out may equal an input
// pointer (in place).
func (v isa) stream(ins []reg.Register, out, n reg.Register, u int, body func(src []Op, r reg.VecVirtual)) {
	ptrs := make([]reg.GPVirtual, 0, len(ins)+1)
	for _, p := range ins {
		ptrs = append(ptrs, p.(reg.GPVirtual))
	}
	ptrs = append(ptrs, out.(reg.GPVirtual))
	// One result register per place in the group, allocated on the first
	// call, right after the loop's offset register.
	var r []reg.VecVirtual
	v.Stream(ptrs, n.(reg.GPVirtual), u, true, func(l x86.Lane) {
		if r == nil {
			r = v.Regs(u)
		}
		src := make([]Op, len(ins))
		for j := range ins {
			src[j] = l.In(j)
		}
		body(src, r[l.Index()])
		l.Put(len(ins), r[l.Index()])
	})
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
