package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
)

// The reductions sum float32 data at full vector speed without float32
// drift: eight vector accumulators take at most 16 values each per lane
// (a block of 8*16*lanes elements), then the block's partial sums are folded
// in float32 (a tree of depth 3) and added to float64 accumulators. Each
// float32 partial therefore holds at most 128 terms, and everything longer
// than a block is summed in float64.

const (
	sumAccs      = 8
	termsPerLane = sumAccs * 16 // per lane of a block's folded partial sum
)

// blockLen is the number of float32 elements one float64 flush covers.
func (v isa) blockLen() int { return termsPerLane * v.Lanes }

// zero clears a vector register.
func zero(x reg.VecVirtual) { VXORPS(x, x, x) }

// fold adds accs[1:] into accs[0] as a balanced tree.
func fold(accs []reg.VecVirtual) {
	for step := 1; step < len(accs); step *= 2 {
		for i := 0; i+step < len(accs); i += 2 * step {
			VADDPS(accs[i+step], accs[i], accs[i])
		}
	}
}

// flush converts the float32 lanes of x to float64 and adds them to the two
// float64 accumulators (low and high half of the lanes).
func (v isa) flush(x reg.VecVirtual, lo, hi reg.VecVirtual) {
	t := v.Vec()
	if v.Lanes == 16 {
		VCVTPS2PD(x.AsY(), t)
		VADDPD(t, lo, lo)
		VEXTRACTF32X8(U8(1), x, x.AsY())
		VCVTPS2PD(x.AsY(), t)
		VADDPD(t, hi, hi)
		return
	}
	VCVTPS2PD(x.AsX(), t)
	VADDPD(t, lo, lo)
	VEXTRACTF128(U8(1), x, x.AsX())
	VCVTPS2PD(x.AsX(), t)
	VADDPD(t, hi, hi)
}

// hsum64 adds lo and hi and all their float64 lanes, in a fixed order, into
// the low lane of the returned XMM register.
func (v isa) hsum64(lo, hi reg.VecVirtual) reg.VecVirtual {
	VADDPD(hi, lo, lo)
	if v.Lanes == 16 {
		t := YMM()
		VEXTRACTF64X4(U8(1), lo, t)
		VADDPD(t, lo.AsY(), lo.AsY())
	}
	x := XMM()
	// The AVX2 set must stay VEX-encoded: VEXTRACTF32X4 is EVEX (AVX512F
	// and AVX512VL) and faults on CPUs without AVX-512. On AVX-512 the
	// registers may be Y16-Y31, which only EVEX reaches.
	if v.Lanes == 16 {
		VEXTRACTF32X4(U8(1), lo.AsY(), x)
	} else {
		VEXTRACTF128(U8(1), lo.AsY(), x)
	}
	VADDPD(x, lo.AsX(), x)
	s := XMM()
	VPERMILPD(U8(1), x, s)
	VADDSD(s, x, x)
	return x
}

// blockLoop emits the shared skeleton of the blocked reductions: for each
// block of at most blockLen elements, reset the float32 accumulators, run
// body over whole groups of sumAccs vectors, then single vectors, then the
// masked remainder, and call end to move the block's partials to float64.
// body(i, src) consumes the vector at src into accumulator i.
//
// The masked remainder is handed to body with its unused lanes set to pad
// (zero when pad is nil), so that they contribute nothing.
func (v isa) blockLoop(p, n reg.Register, block uint64, pad reg.VecVirtual, reset func(), body func(i int, src Op), end func()) {
	m := GP64()

	Label("block")
	CMPQ(n, Imm(0))
	JE(LabelRef("done"))
	reset()
	MOVQ(U64(block), m)
	CMPQ(n, m)
	CMOVQLT(n, m)
	SUBQ(m, n)

	// The group loop tests at the bottom, one fused subtract-and-branch per
	// group: m counts down by a group and wraps below zero at the end.
	SUBQ(U32(sumAccs*v.Lanes), m)
	JB(LabelRef("groupEnd"))
	Label("group")
	for i := 0; i < sumAccs; i++ {
		body(i, v.At(p, i))
	}
	ADDQ(U32(sumAccs*v.Bytes()), p)
	SUBQ(U32(sumAccs*v.Lanes), m)
	JAE(LabelRef("group"))
	Label("groupEnd")
	ADDQ(U32(sumAccs*v.Lanes), m)

	Label("single")
	CMPQ(m, U32(v.Lanes))
	JB(LabelRef("rest"))
	body(0, v.At(p, 0))
	ADDQ(U32(v.Bytes()), p)
	SUBQ(U32(v.Lanes), m)
	JMP(LabelRef("single"))

	Label("rest")
	TESTQ(m, m)
	JE(LabelRef("flush"))
	t := v.MakeTail(m)
	x := v.Vec()
	if pad == nil {
		v.LoadTail(t, v.At(p, 0), x)
	} else {
		v.LoadTailPad(t, v.At(p, 0), pad, x)
	}
	body(1, x)
	LEAQ(Mem{Base: p, Index: m, Scale: 4}, p)

	Label("flush")
	end()
	JMP(LabelRef("block"))

	Label("done")
}

func genSum(v isa) {
	TEXT(v.Fn("Sum"), NOSPLIT, "func(x []float32) float64")
	Doc(v.Fn("Sum")+" returns the sum of x, accumulated in float32 within blocks",
		"and in float64 across them.")
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	lo, hi := v.Vec(), v.Vec()
	VXORPD(lo, lo, lo)
	VXORPD(hi, hi, hi)
	acc := v.Regs(sumAccs)
	v.blockLoop(p, n, uint64(v.blockLen()), nil,
		func() {
			for _, a := range acc {
				zero(a)
			}
		},
		func(i int, src Op) {
			VADDPS(src, acc[i], acc[i])
		},
		func() {
			fold(acc)
			v.flush(acc[0], lo, hi)
		})
	s := v.hsum64(lo, hi)
	VZEROUPPER()
	Store(s, ReturnIndex(0))
	RET()
}

func genMoments(v isa) {
	TEXT(v.Fn("Moments"), NOSPLIT, "func(x []float32, shift float32) (s1, s2 float64)")
	Doc(v.Fn("Moments")+" returns the sums of x[i]-shift and of (x[i]-shift)^2, blocked",
		"like Sum.")
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	sh := v.Vec()
	VBROADCASTSS(x86.ParamMem("shift"), sh)
	lo1, hi1, lo2, hi2 := v.Vec(), v.Vec(), v.Vec(), v.Vec()
	for _, a := range []reg.VecVirtual{lo1, hi1, lo2, hi2} {
		VXORPD(a, a, a)
	}
	// Four accumulators for each sum: each body step costs a subtraction,
	// an addition and an FMA, so four chains already cover the latency.
	const k = 4
	s1, s2 := v.Regs(k), v.Regs(k)
	// Unused tail lanes read as shift, so their difference is exactly 0.
	v.blockLoop(p, n, uint64(v.blockLen()), sh,
		func() {
			for i := 0; i < k; i++ {
				zero(s1[i])
				zero(s2[i])
			}
		},
		func(i int, src Op) {
			i %= k
			d := v.Vec()
			VMOVUPS(src, d)
			VSUBPS(sh, d, d)
			VADDPS(d, s1[i], s1[i])
			VFMADD231PS(d, d, s2[i])
		},
		func() {
			fold(s1)
			fold(s2)
			v.flush(s1[0], lo1, hi1)
			v.flush(s2[0], lo2, hi2)
		})
	r1, r2 := v.hsum64(lo1, hi1), v.hsum64(lo2, hi2)
	VZEROUPPER()
	Store(r1, Return("s1"))
	Store(r2, Return("s2"))
	RET()
}

// genAffine emits x[i] = a*x[i] + b in place, with one rounding (FMA).
func genAffine(v isa) {
	TEXT(v.Fn("Affine"), NOSPLIT, "func(x []float32, a, b float32)")
	Doc(v.Fn("Affine") + " sets x[i] = a*x[i] + b (fused multiply-add) in place.")
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	va, vb := v.Vec(), v.Vec()
	VBROADCASTSS(x86.ParamMem("a"), va)
	VBROADCASTSS(x86.ParamMem("b"), vb)
	v.stream([]reg.Register{p}, p, n, 4, func(src []Op, dst reg.VecVirtual) {
		VMOVUPS(src[0], dst)
		VFMADD213PS(vb, va, dst)
	})
	VZEROUPPER()
	RET()
}

// genAdd emits dst[i] += x[i]: the sum of partial results (conv's weight
// gradient), one rounding per element as in a scalar loop.
func genAdd(v isa) {
	TEXT(v.Fn("Add"), NOSPLIT, "func(dst, x []float32)")
	Doc(v.Fn("Add") + " sets dst[i] += x[i] (len(dst) >= len(x), unchecked).")
	d := Load(Param("dst").Base(), GP64())
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	v.stream([]reg.Register{d, p}, d, n, 4, func(src []Op, dst reg.VecVirtual) {
		VMOVUPS(src[0], dst)
		VADDPS(src[1], dst, dst)
	})
	VZEROUPPER()
	RET()
}

// genSumF32 emits the plain float32 vector sum: sumAccs accumulators over
// the whole of x, folded and summed across lanes in float32 at the end. It is
// what a compiler makes of a float32 sum loop: the speed Sum is judged
// against, and the accuracy it must beat.
func genSumF32(v isa) {
	TEXT(v.Fn("SumF32"), NOSPLIT, "func(x []float32) float32")
	Doc(v.Fn("SumF32")+" returns the sum of x accumulated in float32 vector lanes,",
		"without blocks: fast and inaccurate, the baseline for Sum.")
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	acc := v.Regs(sumAccs)
	for _, a := range acc {
		zero(a)
	}
	v.blockLoop(p, n, 1<<62, nil,
		func() {},
		func(i int, src Op) {
			VADDPS(src, acc[i], acc[i])
		},
		func() {})
	fold(acc)
	s := v.hsum32(acc[0])
	VZEROUPPER()
	Store(s, ReturnIndex(0))
	RET()
}

// hsum32 adds the float32 lanes of x, in a fixed order, into the low lane
// of the returned XMM register.
func (v isa) hsum32(x reg.VecVirtual) reg.VecVirtual {
	if v.Lanes == 16 {
		t := YMM()
		VEXTRACTF32X8(U8(1), x, t)
		VADDPS(t, x.AsY(), x.AsY())
	}
	h := XMM()
	VEXTRACTF128(U8(1), x.AsY(), h)
	VADDPS(h, x.AsX(), h)
	t := XMM()
	VMOVHLPS(h, t, t)
	VADDPS(t, h, h)
	VMOVSHDUP(h, t)
	VADDSS(t, h, h)
	return h
}

// genRead emits a loop that only loads x: the bandwidth ceiling any
// reduction over x is measured against.
func genRead(v isa) {
	TEXT(v.Fn("Read"), NOSPLIT, "func(x []float32)")
	Doc(v.Fn("Read")+" loads every element of x and does nothing with it:",
		"the ceiling for one pass over x, used by benchmarks.")
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	const u = 8
	r := v.Regs(u)
	Label("group")
	CMPQ(n, U32(u*v.Lanes))
	JB(LabelRef("single"))
	for i := 0; i < u; i++ {
		VMOVUPS(v.At(p, i), r[i])
	}
	ADDQ(U32(u*v.Bytes()), p)
	SUBQ(U32(u*v.Lanes), n)
	JMP(LabelRef("group"))
	Label("single")
	CMPQ(n, U32(v.Lanes))
	JB(LabelRef("rest"))
	VMOVUPS(v.At(p, 0), r[0])
	ADDQ(U32(v.Bytes()), p)
	SUBQ(U32(v.Lanes), n)
	JMP(LabelRef("single"))
	Label("rest")
	TESTQ(n, n)
	JE(LabelRef("done"))
	t := v.MakeTail(n)
	v.LoadTail(t, v.At(p, 0), r[0])
	Label("done")
	VZEROUPPER()
	RET()
}

// genCopy emits dst = x: the ceiling for element-wise kernels that stream
// one input to one output.
func genCopy(v isa) {
	TEXT(v.Fn("Copy"), NOSPLIT, "func(dst, x []float32)")
	Doc(v.Fn("Copy")+" copies x to dst (len(dst) >= len(x), unchecked): the ceiling",
		"for element-wise kernels, used by benchmarks.")
	d := Load(Param("dst").Base(), GP64())
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	v.stream([]reg.Register{p}, d, n, 4, func(src []Op, dst reg.VecVirtual) {
		VMOVUPS(src[0], dst)
	})
	VZEROUPPER()
	RET()
}
