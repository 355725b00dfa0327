package main

import . "github.com/snnkit/snn/gen/neon"

// The reductions follow gen/act/reduce.go: eight float32 vector
// accumulators take at most 16 values per lane each (a block of
// 8*16*4 = 512 elements), the block's partials are folded in float32 (a
// tree of depth 3) and added to float64 accumulators. Each float32 partial
// therefore holds at most 128 terms, and everything longer than a block is
// summed in float64.

const (
	sumAccs       = 8
	termsPerBlock = 16 // per lane and accumulator
	blockLen      = sumAccs * termsPerBlock * Lanes
)

// fold adds accs[1:] into accs[0] as a balanced tree.
func fold(fn *Func, accs []V) {
	for step := 1; step < len(accs); step *= 2 {
		for i := 0; i+step < len(accs); i += 2 * step {
			fn.FADD(accs[i].S4(), accs[i].S4(), accs[i+step].S4())
		}
	}
}

// flush widens the four float32 Lanes of x to float64 and adds them to lo
// (Lanes 0, 1) and hi (Lanes 2, 3), using t0 and t1.
func flush(fn *Func, x, lo, hi, t0, t1 V) {
	fn.FCVTL(t0.D2(), x.S2())
	fn.FCVTL2(t1.D2(), x.S4())
	fn.FADD(lo.D2(), lo.D2(), t0.D2())
	fn.FADD(hi.D2(), hi.D2(), t1.D2())
}

// hsum64 adds lo and hi and then their two Lanes into the low lane of lo.
func hsum64(fn *Func, lo, hi V) {
	fn.FADD(lo.D2(), lo.D2(), hi.D2())
	fn.FADDPS(lo.F(64), lo.D2())
}

// blockLoop emits the skeleton of the blocked reductions: for each block
// of at most blockLen elements, reset the float32 accumulators, run body
// over groups of sumAccs vectors, then over single vectors, then over the
// 1 to 3 remaining elements, and call end to move the block's partials to
// float64.
//
// body(i, x) consumes register x into accumulator i. The remaining
// elements are loaded into tail, whose other Lanes are first set by
// padTail so that they contribute nothing.
//
// Register use: R0 p, R1 n (elements left after this block), R2 m
// (elements left in this block); V20..V27 hold the loaded group.
func blockLoop(fn *Func, tail V, reset, padTail func(), body func(i int, x V), end func()) {
	p, n, m := R0, R1, R2
	in := Vecs(V20, sumAccs)

	fn.Label("block")
	fn.CBZ(n, "done")
	reset()
	fn.MOVD(m, Imm(blockLen))
	fn.CMP(n, m)
	fn.CSEL(LT, m, n, m)
	fn.SUB(n, n, m)

	fn.Countdown(m, sumAccs*Lanes, "group", func() {
		fn.LoadVecs(p, in)
		for i, x := range in {
			body(i, x)
		}
	})
	fn.Countdown(m, Lanes, "single", func() {
		fn.LoadVecs(p, in[:1])
		body(0, in[0])
	})
	fn.CBZ(m, "flush")
	padTail()
	fn.LoadTail(p, m, tail, "tail")
	body(1, tail)

	fn.Label("flush")
	end()
	fn.B("block")
	fn.Label("done")
}

// genSum emits SumNEON.
//
// Register plan: V0..V7 float32 accumulators, V16/V17 float64 accumulators
// (Lanes 0-1 and 2-3), V18/V19 widening temporaries, V20..V27 loads, V28
// the tail.
func genSum(f *File) {
	fn := f.Func("SumNEON", "func(x []float32) float64",
		"SumNEON returns the sum of x, accumulated in float32 within blocks",
		"and in float64 across them.")
	fn.Load(R0, fn.Slot("x_base"))
	fn.Load(R1, fn.Slot("x_len"))
	lo, hi := V16, V17
	fn.Zero(lo)
	fn.Zero(hi)
	acc := Vecs(V0, sumAccs)
	blockLoop(fn, V28,
		func() {
			for _, a := range acc {
				fn.Zero(a)
			}
		},
		func() { fn.Zero(V28) },
		func(i int, x V) { fn.FADD(acc[i].S4(), acc[i].S4(), x.S4()) },
		func() {
			fold(fn, acc)
			flush(fn, acc[0], lo, hi, V18, V19)
		})
	hsum64(fn, lo, hi)
	fn.StoreF(fn.Slot("ret"), lo)
	fn.RET()
}

// genMoments emits MomentsNEON.
//
// Register plan: V0..V3 accumulate x-shift, V4..V7 (x-shift)^2, V8 the
// shift, V16/V17 and V18/V19 the float64 accumulators of the two sums,
// V20..V27 loads (overwritten by the differences), V28 the tail, V29/V30
// widening temporaries.
func genMoments(f *File) {
	fn := f.Func("MomentsNEON", "func(x []float32, shift float32) (s1, s2 float64)",
		"MomentsNEON returns the sums of x[i]-shift and of (x[i]-shift)^2, blocked",
		"like Sum.")
	fn.Load(R0, fn.Slot("x_base"))
	fn.Load(R1, fn.Slot("x_len"))
	sh := V8
	fn.BroadcastArg(sh, fn.Slot("shift"))
	lo1, hi1, lo2, hi2 := V16, V17, V18, V19
	for _, a := range []V{lo1, hi1, lo2, hi2} {
		fn.Zero(a)
	}
	// Four accumulators per sum: a step costs a subtraction, an addition
	// and an FMA, so four chains cover the latency.
	const k = 4
	s1, s2 := Vecs(V0, k), Vecs(V4, k)
	blockLoop(fn, V28,
		func() {
			for i := 0; i < k; i++ {
				fn.Zero(s1[i])
				fn.Zero(s2[i])
			}
		},
		// Unused tail Lanes hold the shift, so their difference is 0.
		func() { fn.VMOV(V28.B16(), sh.B16()) },
		func(i int, x V) {
			i %= k
			fn.FSUB(x.S4(), x.S4(), sh.S4())
			fn.FADD(s1[i].S4(), s1[i].S4(), x.S4())
			fn.VFMLA(s2[i].S4(), x.S4(), x.S4())
		},
		func() {
			fold(fn, s1)
			fold(fn, s2)
			flush(fn, s1[0], lo1, hi1, V29, V30)
			flush(fn, s2[0], lo2, hi2, V29, V30)
		})
	hsum64(fn, lo1, hi1)
	hsum64(fn, lo2, hi2)
	fn.StoreF(fn.Slot("s1"), lo1)
	fn.StoreF(fn.Slot("s2"), lo2)
	fn.RET()
}

// genAffine emits AffineNEON: x[i] = a*x[i] + b with one rounding.
//
// Register plan: V0 a, V1 b, V16..V23 loads, V24..V31 results; R0 the
// store pointer, R1 the load pointer, R2 the count.
func genAffine(f *File) {
	fn := f.Func("AffineNEON", "func(x []float32, a, b float32)",
		"AffineNEON sets x[i] = a*x[i] + b (fused multiply-add) in place.")
	fn.Load(R0, fn.Slot("x_base"))
	fn.Load(R2, fn.Slot("x_len"))
	fn.MOV(R1, R0)
	va, vb := V0, V1
	fn.BroadcastArg(va, fn.Slot("a"))
	fn.BroadcastArg(vb, fn.Slot("b"))
	fn.Stream([]R{R0}, []R{R1}, R2, [][]V{Vecs(V16, 8)}, [][]V{Vecs(V24, 8)}, func(ins, outs [][]V) {
		in, out := ins[0], outs[0]
		for i := range in {
			fn.VMOV(out[i].B16(), vb.B16())
			fn.VFMLA(out[i].S4(), in[i].S4(), va.S4())
		}
	})
	fn.RET()
}

// genAdd emits AddNEON: dst[i] += x[i], one rounding per element.
//
// Register plan: V16..V23 dst's loads and the sums, V24..V31 x's loads;
// R0 the store pointer, R1 dst's load pointer, R3 x's, R2 the count.
func genAdd(f *File) {
	fn := f.Func("AddNEON", "func(dst, x []float32)",
		"AddNEON sets dst[i] += x[i] (len(dst) >= len(x), unchecked).")
	fn.Load(R0, fn.Slot("dst_base"))
	fn.Load(R3, fn.Slot("x_base"))
	fn.Load(R2, fn.Slot("x_len"))
	fn.MOV(R1, R0)
	acc, in := Vecs(V16, 8), Vecs(V24, 8)
	fn.Stream([]R{R0}, []R{R1, R3}, R2, [][]V{acc, in}, [][]V{acc}, func(ins, _ [][]V) {
		for i := range ins[0] {
			fn.FADD(ins[0][i].S4(), ins[0][i].S4(), ins[1][i].S4())
		}
	})
	fn.RET()
}

// genSumF32 emits SumF32NEON, the plain float32 vector sum (gen/act's
// genSumF32): sumAccs accumulators over the whole of x, folded and summed
// across lanes in float32 at the end.
//
// Register plan: V0..V7 accumulators, V20..V27 loads, V28 the tail.
func genSumF32(f *File) {
	fn := f.Func("SumF32NEON", "func(x []float32) float32",
		"SumF32NEON returns the sum of x accumulated in float32 vector lanes,",
		"without blocks: fast and inaccurate, the baseline for Sum.")
	p, n := R0, R1
	fn.Load(p, fn.Slot("x_base"))
	fn.Load(n, fn.Slot("x_len"))
	acc, in := Vecs(V0, sumAccs), Vecs(V20, sumAccs)
	for _, a := range acc {
		fn.Zero(a)
	}
	fn.Countdown(n, sumAccs*Lanes, "group", func() {
		fn.LoadVecs(p, in)
		for i, x := range in {
			fn.FADD(acc[i].S4(), acc[i].S4(), x.S4())
		}
	})
	fn.Countdown(n, Lanes, "single", func() {
		fn.LoadVecs(p, in[:1])
		fn.FADD(acc[0].S4(), acc[0].S4(), in[0].S4())
	})
	fn.CBZ(n, "fold")
	fn.Zero(V28)
	fn.LoadTail(p, n, V28, "tail")
	fn.FADD(acc[1].S4(), acc[1].S4(), V28.S4())
	fn.Label("fold")
	fold(fn, acc)
	fn.FADDP(acc[0].S4(), acc[0].S4(), acc[0].S4())
	fn.FADDPS(acc[0].F(32), acc[0].S2())
	fn.StoreF(fn.Slot("ret"), acc[0])
	fn.RET()
}

// genRead emits ReadNEON, which only loads x: the bandwidth ceiling any
// reduction over x is measured against.
func genRead(f *File) {
	fn := f.Func("ReadNEON", "func(x []float32)",
		"ReadNEON loads every element of x and does nothing with it:",
		"the ceiling for one pass over x, used by benchmarks.")
	p, n := R0, R1
	fn.Load(p, fn.Slot("x_base"))
	fn.Load(n, fn.Slot("x_len"))
	in := Vecs(V16, 8)
	fn.Countdown(n, len(in)*Lanes, "group", func() { fn.LoadVecs(p, in) })
	fn.Countdown(n, Lanes, "single", func() { fn.LoadVecs(p, in[:1]) })
	fn.CBZ(n, "done")
	fn.LoadTail(p, n, in[0], "tail")
	fn.Label("done")
	fn.RET()
}

// genCopy emits CopyNEON: the ceiling for element-wise kernels that stream
// one input to one output.
func genCopy(f *File) {
	fn := f.Func("CopyNEON", "func(dst, x []float32)",
		"CopyNEON copies x to dst (len(dst) >= len(x), unchecked): the ceiling",
		"for element-wise kernels, used by benchmarks.")
	fn.Load(R0, fn.Slot("dst_base"))
	fn.Load(R1, fn.Slot("x_base"))
	fn.Load(R2, fn.Slot("x_len"))
	in := Vecs(V16, 8)
	fn.Stream([]R{R0}, []R{R1}, R2, [][]V{in}, [][]V{in}, func(_, _ [][]V) {})
	fn.RET()
}
