package neon

import (
	"fmt"
	"math"
)

// This file holds the loop shapes and register helpers the kernel
// generators share: float32 streams in 4-lane registers, tails of 1 to 3
// elements through single-lane accesses, and constants kept in registers.

// Lanes is the number of float32 lanes in one register.
const Lanes = 4

// VecBytes is the width of one register in bytes.
const VecBytes = 4 * Lanes

// Vecs returns n consecutive registers from first.
func Vecs(first V, n int) []V {
	vs := make([]V, n)
	for i := range vs {
		vs[i] = first + V(i)
	}
	return vs
}

// Slots returns k groups of u consecutive registers from V0: the working
// registers of a kernel that processes u vectors at a time.
func Slots(k, u int) [][]V {
	s := make([][]V, k)
	for i := range s {
		s[i] = Vecs(V(i*u), u)
	}
	return s
}

// Each calls op for k = 0..u-1, so that u independent chains interleave
// one step at a time.
func Each(u int, op func(k int)) {
	for k := 0; k < u; k++ {
		op(k)
	}
}

// Zero clears v.
func (fn *Func) Zero(v V) { fn.VEOR(v.B16(), v.B16(), v.B16()) }

// Countdown emits a loop that runs body while at least step elements
// remain in cnt, subtracting step each time: the test sits at the bottom,
// so an iteration costs one SUBS and one taken branch. cnt holds the
// remainder (0 <= cnt < step) afterwards.
func (fn *Func) Countdown(cnt R, step int, name string, body func()) {
	fn.SUBS(cnt, cnt, Imm(step))
	fn.BCond(LT, name+"_end")
	fn.Label(name)
	body()
	fn.SUBS(cnt, cnt, Imm(step))
	fn.BCond(GE, name)
	fn.Label(name + "_end")
	fn.ADD(cnt, cnt, Imm(step))
}

// LoadTail loads the cnt float32 (1 <= cnt < Lanes) at p into the low lanes
// of v, advancing p past them; the other lanes of v keep their value, so
// the caller chooses what the unused lanes hold.
func (fn *Func) LoadTail(p, cnt R, v V, label string) {
	fn.VLD1LaneP(v.S(0), At(p, 4))
	fn.CMP(cnt, Imm(2))
	fn.BCond(LT, label)
	fn.VLD1LaneP(v.S(1), At(p, 4))
	fn.BCond(EQ, label)
	fn.VLD1LaneP(v.S(2), At(p, 4))
	fn.Label(label)
}

// StoreTail stores the low cnt lanes of v (1 <= cnt < Lanes) to p,
// advancing p; memory past them is not touched.
func (fn *Func) StoreTail(p, cnt R, v V, label string) {
	fn.VST1LaneP(v.S(0), At(p, 4))
	fn.CMP(cnt, Imm(2))
	fn.BCond(LT, label)
	fn.VST1LaneP(v.S(1), At(p, 4))
	fn.BCond(EQ, label)
	fn.VST1LaneP(v.S(2), At(p, 4))
	fn.Label(label)
}

// LoadVecs loads the consecutive registers vs (4-lane float32) from p with
// post-increment, up to four per instruction.
func (fn *Func) LoadVecs(p R, vs []V) {
	for i := 0; i < len(vs); i += 4 {
		k := min(4, len(vs)-i)
		fn.VLD1P(Regs(vs[i], k, S4), At(p, k*VecBytes))
	}
}

// StoreVecs stores the consecutive registers vs to p with post-increment.
func (fn *Func) StoreVecs(p R, vs []V) {
	for i := 0; i < len(vs); i += 4 {
		k := min(4, len(vs)-i)
		fn.VST1P(Regs(vs[i], k, S4), At(p, k*VecBytes))
	}
}

// Stream emits the element-wise loop shape over n elements: groups of u
// vectors, then single vectors, then a tail of 1 to 3 lanes. Input s is
// loaded from srcs[s] into the u consecutive registers ins[s]; body(ins,
// outs) computes the registers outs[d], which are stored to dsts[d]. body
// is called with one-register slices for the single vectors and the tail.
// Every pointer advances on its own, so an output may be the same memory
// as an input (in place): each vector is loaded before it is stored.
func (fn *Func) Stream(dsts, srcs []R, n R, ins, outs [][]V, body func(ins, outs [][]V)) {
	u := len(outs[0])
	first := func(g [][]V) [][]V {
		s := make([][]V, len(g))
		for i, r := range g {
			s[i] = r[:1]
		}
		return s
	}
	fn.Countdown(n, u*Lanes, "group", func() {
		for i, p := range srcs {
			fn.LoadVecs(p, ins[i])
		}
		body(ins, outs)
		for i, p := range dsts {
			fn.StoreVecs(p, outs[i])
		}
	})
	fn.Countdown(n, Lanes, "single", func() {
		for i, p := range srcs {
			fn.LoadVecs(p, ins[i][:1])
		}
		body(first(ins), first(outs))
		for i, p := range dsts {
			fn.StoreVecs(p, outs[i][:1])
		}
	})
	fn.CBZ(n, "done")
	for i, p := range srcs {
		fn.LoadTail(p, n, ins[i][0], fmt.Sprintf("tail_in%d", i))
	}
	body(first(ins), first(outs))
	for i, p := range dsts {
		fn.StoreTail(p, n, outs[i][0], fmt.Sprintf("tail_out%d", i))
	}
	fn.Label("done")
}

// Consts hands out the registers of a kernel's constants before its loop,
// from V31 down: whole registers for the operands that need one (addends,
// bounds, integers), and multipliers packed as lanes of one register for
// the by-element FMLA, FMLS and FMUL.
type Consts struct {
	fn   *Func
	next V
	tmp  R
}

// Consts starts handing out constant registers; tmp is a general register
// the set-up code may clobber.
func (fn *Func) Consts(tmp R) *Consts { return &Consts{fn: fn, next: V31, tmp: tmp} }

// Low is the lowest register handed out so far (V31 plus one when none):
// working registers must stay below it.
func (c *Consts) Low() V { return c.next + 1 }

// Reg reserves a register for a constant the caller computes itself.
func (c *Consts) Reg() V { return c.reg() }

func (c *Consts) reg() V {
	v := c.next
	c.next--
	return v
}

// Bits returns a register holding the 32 bits b in every lane.
func (c *Consts) Bits(b uint32) V {
	v := c.reg()
	c.fn.MOVW(c.tmp, b)
	c.fn.VDUP(v.S4(), c.tmp)
	return v
}

// F returns a register holding f in every lane.
func (c *Consts) F(f float32) V { return c.Bits(math.Float32bits(f)) }

// Lanes returns lanes of one register holding fs (at most 4).
func (c *Consts) Lanes(fs ...float32) []VE {
	v := c.reg()
	es := make([]VE, len(fs))
	for i, f := range fs {
		c.fn.MOVW(c.tmp, math.Float32bits(f))
		c.fn.VMOVFromR(v.S(i), c.tmp)
		es[i] = v.S(i)
	}
	return es
}

// Arg returns a register holding the float32 argument s in every lane.
func (c *Consts) Arg(s Slot) V {
	v := c.reg()
	c.fn.LoadF(v, s)
	c.fn.VDUPLane(v.S4(), v.S(0))
	return v
}

// ArgLanes returns lanes of one register holding float32 arguments (at
// most 4), loaded through scratch, a register the caller does not use yet.
func (c *Consts) ArgLanes(scratch V, ss ...Slot) []VE {
	v := c.reg()
	es := make([]VE, len(ss))
	for i, s := range ss {
		c.fn.LoadF(scratch, s)
		c.fn.VINS(v.S(i), scratch.S(0))
		es[i] = v.S(i)
	}
	return es
}

// BroadcastArg fills v with the float32 argument s.
func (fn *Func) BroadcastArg(v V, s Slot) {
	fn.LoadF(v, s)
	fn.VDUPLane(v.S4(), v.S(0))
}
