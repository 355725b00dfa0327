package main

import (
	"fmt"

	. "github.com/snnkit/snn/gen/neon"
)

// lanes is the number of float32 lanes in one NEON register.
const lanes = 4

// vecBytes is the width of one NEON register in bytes.
const vecBytes = 4 * lanes

// countdown emits a loop that runs body while at least step elements
// remain in cnt, subtracting step each time: the test sits at the bottom,
// so an iteration costs one SUBS and one taken branch. cnt holds the
// remainder (0 <= cnt < step) afterwards.
func countdown(fn *Func, cnt R, step int, name string, body func()) {
	fn.SUBS(cnt, cnt, Imm(step))
	fn.BCond(LT, name+"_end")
	fn.Label(name)
	body()
	fn.SUBS(cnt, cnt, Imm(step))
	fn.BCond(GE, name)
	fn.Label(name + "_end")
	fn.ADD(cnt, cnt, Imm(step))
}

// loadTail loads the cnt float32 (1 <= cnt < lanes) at p into the low lanes
// of v, advancing p past them; the other lanes of v keep their value, so
// the caller chooses what the unused lanes hold. Flags are left from the
// comparison of cnt with 2.
func loadTail(fn *Func, p, cnt R, v V, label string) {
	fn.VLD1LaneP(v.S(0), At(p, 4))
	fn.CMP(cnt, Imm(2))
	fn.BCond(LT, label)
	fn.VLD1LaneP(v.S(1), At(p, 4))
	fn.BCond(EQ, label)
	fn.VLD1LaneP(v.S(2), At(p, 4))
	fn.Label(label)
}

// storeTail stores the low cnt lanes of v (1 <= cnt < lanes) to p,
// advancing p; memory past them is not touched.
func storeTail(fn *Func, p, cnt R, v V, label string) {
	fn.VST1LaneP(v.S(0), At(p, 4))
	fn.CMP(cnt, Imm(2))
	fn.BCond(LT, label)
	fn.VST1LaneP(v.S(1), At(p, 4))
	fn.BCond(EQ, label)
	fn.VST1LaneP(v.S(2), At(p, 4))
	fn.Label(label)
}

// zero clears v.
func zero(fn *Func, v V) { fn.VEOR(v.B16(), v.B16(), v.B16()) }

// broadcastArg fills v with a float32 argument.
func broadcastArg(fn *Func, v V, s Slot) {
	fn.LoadF(v, s)
	fn.VDUPLane(v.S4(), v.S(0))
}

// vecs returns n consecutive registers from first.
func vecs(first V, n int) []V {
	vs := make([]V, n)
	for i := range vs {
		vs[i] = first + V(i)
	}
	return vs
}

// load4 loads len(vs) consecutive registers (a multiple of 4 or fewer than
// 4) from p with post-increment, four per instruction.
func loadVecs(fn *Func, p R, vs []V) {
	for i := 0; i < len(vs); i += 4 {
		k := min(4, len(vs)-i)
		l := Regs(vs[i], k, S4)
		fn.VLD1P(l, At(p, k*vecBytes))
	}
}

// storeVecs stores consecutive registers to p with post-increment.
func storeVecs(fn *Func, p R, vs []V) {
	for i := 0; i < len(vs); i += 4 {
		k := min(4, len(vs)-i)
		l := Regs(vs[i], k, S4)
		fn.VST1P(l, At(p, k*vecBytes))
	}
}

// stream emits the element-wise loop shape: groups of u vectors, then
// single vectors, then a tail of 1 to 3 lanes. srcs are the input pointers
// and ins[s] the u consecutive registers input s is loaded into; body(ins,
// out) computes the u consecutive registers out (which may be ins[0]) and
// is called with one-register slices for the single vectors and the tail.
// dst may equal a source pointer's starting value (in place): every vector
// is loaded before its result is stored. n is the element count.
func stream(fn *Func, dst R, srcs []R, n R, ins [][]V, out []V, body func(ins [][]V, out []V)) {
	u := len(out)
	one := func() [][]V {
		s := make([][]V, len(ins))
		for i, in := range ins {
			s[i] = in[:1]
		}
		return s
	}
	countdown(fn, n, u*lanes, "group", func() {
		for i, p := range srcs {
			loadVecs(fn, p, ins[i])
		}
		body(ins, out)
		storeVecs(fn, dst, out)
	})
	countdown(fn, n, lanes, "single", func() {
		for i, p := range srcs {
			loadVecs(fn, p, ins[i][:1])
		}
		body(one(), out[:1])
		storeVecs(fn, dst, out[:1])
	})
	fn.CBZ(n, "done")
	for i, p := range srcs {
		loadTail(fn, p, n, ins[i][0], fmt.Sprintf("tail_in%d", i))
	}
	body(one(), out[:1])
	storeTail(fn, dst, n, out[0], "tail_out")
	fn.Label("done")
}
