package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
)

// The transforms of conv's Winograd F(2x2, 3x3) pass, eight tiles of a row
// at a time in YMM registers, with AVX instructions only, for both sets
// (they are bound by loads, shuffles and stores, not by the vector
// width). Each performs, per tile, exactly the additions of the Go
// functions in package kernels (winogradInGeneric, winogradOutGeneric,
// winogradDyGeneric), in the same order, so the results are the same
// bits. The callers (kernels.Conv) check every length first.

// A row's last tiles that are not a whole group (all of a row of fewer
// than eight) go through the same code on copies: the caller passes their
// number as last, the kernel copies what they read to the stack through
// masked loads (so nothing past the caller's data is touched), computes a
// whole group there, and writes the last tiles' results out through masked
// stores. (Those copies are too large a frame for NOSPLIT: the three
// functions have the usual stack check.)

// rowLoop emits the loop over a row's whole groups of eight tiles (n of
// them, counted down in n), body computing one and advance stepping the
// pointers, then, when the argument last is not 0, tail for the part
// group, then the return.
func rowLoop(n reg.Register, body, advance func(), tail func(last reg.Register)) {
	Label("group")
	TESTQ(n, n)
	JE(LabelRef("last"))
	body()
	advance()
	DECQ(n)
	JMP(LabelRef("group"))

	Label("last")
	last := Load(Param("last"), GP64())
	TESTQ(last, last)
	JE(LabelRef("done"))
	tail(last)
	Label("done")
	VZEROUPPER()
	RET()
}

// planeRows returns the addresses of rows 0..15 of 16 rows plane bytes
// apart from base (plane3 = 3*plane), with b4, b8 and b12 set to rows 4, 8
// and 12.
func planeRows(base, b4, b8, b12, plane, plane3 reg.Register) func(e int) Mem {
	LEAQ(Mem{Base: base, Index: plane, Scale: 4}, b4)
	LEAQ(Mem{Base: b4, Index: plane, Scale: 4}, b8)
	LEAQ(Mem{Base: b8, Index: plane, Scale: 4}, b12)
	return func(e int) Mem {
		m := Mem{Base: []reg.Register{base, b4, b8, b12}[e/4]}
		switch e % 4 {
		case 1:
			m.Index, m.Scale = plane, 1
		case 2:
			m.Index, m.Scale = plane, 2
		case 3:
			m.Index, m.Scale = plane3, 1
		}
		return m
	}
}

// writeLast writes the first last lanes of the 16 vectors at out (32 bytes
// apart) to rows 0..15 of dst, through masked stores.
func writeLast(out Mem, dst func(e int) Mem, last reg.Register) {
	ms := x86.FirstLanes8(last)
	for e := range 16 {
		x := YMM()
		VMOVUPS(out.Offset(32*e), x)
		VMASKMOVPS(x, ms, dst(e))
	}
}

// evensOdds returns the evens and the odds of the 16 floats at m, in
// order: two 128-bit loads put floats 0-3 beside 8-11 and 4-7 beside
// 12-15, then one VSHUFPS picks each. (VBROADCASTF128 writes the whole
// register, so that the register allocator sees a new value.)
func evensOdds(m Mem) (ev, od reg.VecVirtual) {
	a, b := YMM(), YMM()
	VBROADCASTF128(m, a)
	VINSERTF128(U8(1), m.Offset(32), a, a)
	VBROADCASTF128(m.Offset(16), b)
	VINSERTF128(U8(1), m.Offset(48), b, b)
	ev, od = YMM(), YMM()
	VSHUFPS(U8(0x88), b, a, ev)
	VSHUFPS(U8(0xdd), b, a, od)
	return ev, od
}

// genWinogradIn emits
//
//	func WinogradInAVX2(v *float32, plane int, pad *float32, wp, groups, last int)
//
// which writes B^T d B for groups*8 tiles of one row of tiles, then for
// last more (0 <= last < 8): tile t reads columns 2t..2t+3 of the four
// rows pad, pad+wp, pad+2wp, pad+3wp, and element e of its 4x4 result goes
// to v[e*plane+t].
//
// Columns 0 and 1 of eight tiles are the evens and odds of pad[2t0:2t0+16]
// (evensOdds), columns 2 and 3 those of pad[2t0+2:]. Only AVX
// instructions: the AVX-512 set calls it too.
func genWinogradIn() {
	TEXT("WinogradInAVX2", 0, "func(v *float32, plane int, pad *float32, wp, groups, last int)")
	Doc("WinogradInAVX2 writes B^T d B of groups*8+last Winograd F(2x2, 3x3) input tiles",
		"(unchecked; see kernels.Conv.WinogradIn).")
	v, pad := Load(Param("v"), GP64()), Load(Param("pad"), GP64())
	plane, wp := Load(Param("plane"), GP64()), Load(Param("wp"), GP64())
	n := Load(Param("groups"), GP64())
	SHLQ(U8(2), plane)
	SHLQ(U8(2), wp)
	plane3, wp3 := GP64(), GP64()
	LEAQ(Mem{Base: plane, Index: plane, Scale: 2}, plane3)
	LEAQ(Mem{Base: wp, Index: wp, Scale: 2}, wp3)
	v4, v8, v12 := GP64(), GP64(), GP64()
	// The last tiles' copies: 4 rows of 24 floats in, 16 rows of 8 out.
	in, out := AllocLocal(4*24*4), AllocLocal(16*8*4)

	// group computes eight tiles from the rows at src (stride, stride3
	// apart) and hands element e's vector to store.
	group := func(src, stride, stride3 reg.Register, store func(e int, x reg.VecVirtual)) {
		row := func(r int) [4]reg.VecVirtual {
			m := patchRow(src, stride, stride3, r)
			var c [4]reg.VecVirtual
			c[0], c[1] = evensOdds(m)
			c[2], c[3] = evensOdds(m.Offset(8))
			return c
		}
		// Row i of (B^T d) B from row i of B^T d, t0..t3: t0-t2, t1+t2,
		// t2-t1, t1-t3.
		emit := func(i int, t [4]reg.VecVirtual) {
			x := YMM()
			VSUBPS(t[2], t[0], x)
			store(4*i, x)
			VADDPS(t[2], t[1], x)
			store(4*i+1, x)
			VSUBPS(t[1], t[2], x)
			store(4*i+2, x)
			VSUBPS(t[3], t[1], x)
			store(4*i+3, x)
		}
		// The rows of B^T d are a-c, b+c, c-b and b-d (rows a, b, c, d
		// of the patch): b and c first, then a, then d, each in place, so
		// that no more than 16 registers are live (VINSERTF128 has no
		// EVEX form).
		b, c := row(1), row(2)
		t := row(0) // a
		for j := range t {
			VSUBPS(c[j], t[j], t[j])
		}
		emit(0, t)
		for j := range t {
			VADDPS(c[j], b[j], t[j])
		}
		emit(1, t)
		for j := range t {
			VSUBPS(b[j], c[j], t[j])
		}
		emit(2, t)
		t = row(3) // d
		for j := range t {
			VSUBPS(t[j], b[j], t[j])
		}
		emit(3, t)
	}

	rowLoop(n, func() {
		dst := planeRows(v, v4, v8, v12, plane, plane3)
		group(pad, wp, wp3, func(e int, x reg.VecVirtual) { VMOVUPS(x, dst(e)) })
	}, func() {
		ADDQ(U8(32), v)
		ADDQ(U8(64), pad)
	}, func(last reg.Register) {
		// The last tiles read 2*last+2 floats of each row: copy them,
		// and zeros after them (the lanes of missing tiles compute on
		// zeros).
		reads := GP64()
		LEAQ(Mem{Base: last, Index: last, Scale: 1, Disp: 2}, reads)
		m0, m1 := x86.LanesPast8(reads, 0), x86.LanesPast8(reads, 8)
		zero := YMM()
		VXORPS(zero, zero, zero)
		for r := range 4 {
			src := patchRow(pad, wp, wp3, r)
			x := YMM()
			VMASKMOVPS(src, m0, x)
			VMOVUPS(x, in.Offset(96*r))
			VMASKMOVPS(src.Offset(32), m1, x)
			VMOVUPS(x, in.Offset(96*r+32))
			VMOVUPS(zero, in.Offset(96*r+64))
		}
		local, stride, stride3 := GP64(), GP64(), GP64()
		LEAQ(in, local)
		MOVQ(U32(96), stride)
		MOVQ(U32(3*96), stride3)
		group(local, stride, stride3, func(e int, x reg.VecVirtual) { VMOVUPS(x, out.Offset(32*e)) })
		writeLast(out, planeRows(v, v4, v8, v12, plane, plane3), last)
	})
}

// patchRow is row r of four rows at base, stride bytes apart (stride3 =
// 3*stride).
func patchRow(base, stride, stride3 reg.Register, r int) Mem {
	m := Mem{Base: base}
	switch r {
	case 1:
		m.Index, m.Scale = stride, 1
	case 2:
		m.Index, m.Scale = stride, 2
	case 3:
		m.Index, m.Scale = stride3, 1
	}
	return m
}

// genWinogradOut emits
//
//	func WinogradOutAVX2(top, bot, m *float32, plane, groups, last int, bias float32)
//
// which writes A^T M A + bias for groups*8 tiles of one row of tiles, then
// for last more (0 <= last < 8), element e of tile t being m[e*plane+t]:
// the tile's 2x2 outputs to top[2t], top[2t+1], bot[2t] and bot[2t+1].
// VUNPCKLPS and VUNPCKHPS interleave a row's left and right outputs,
// VPERM2F128 puts the halves in order.
func genWinogradOut() {
	TEXT("WinogradOutAVX2", 0, "func(top, bot, m *float32, plane, groups, last int, bias float32)")
	Doc("WinogradOutAVX2 writes A^T M A + bias of groups*8+last Winograd F(2x2, 3x3) output tiles",
		"(unchecked; see kernels.Conv.WinogradOut).")
	top, bot, m := Load(Param("top"), GP64()), Load(Param("bot"), GP64()), Load(Param("m"), GP64())
	plane := Load(Param("plane"), GP64())
	n := Load(Param("groups"), GP64())
	SHLQ(U8(2), plane)
	plane3 := GP64()
	LEAQ(Mem{Base: plane, Index: plane, Scale: 2}, plane3)
	bias := YMM()
	VBROADCASTSS(x86.ParamMem("bias"), bias)
	m4, m8, m12 := GP64(), GP64(), GP64()
	// The last tiles' copies: 16 rows of 8 floats in, 2 rows of 16 out.
	in, out := AllocLocal(16*8*4), AllocLocal(2*16*4)

	// group computes eight tiles from element e's vectors at src(e) and
	// stores each output row's 16 floats at dst, dst+32.
	group := func(src func(e int) Mem, topDst, botDst Mem) {
		// A^T M: a_j = m_j + m_{4+j} + m_{8+j}, b_j = m_{4+j} - m_{8+j}
		// - m_{12+j}, left to right.
		var a, b [4]reg.VecVirtual
		for j := range 4 {
			a[j], b[j] = YMM(), YMM()
			x := YMM()
			VMOVUPS(src(4+j), x)
			VADDPS(src(j), x, a[j]) // m_j + m_{4+j}
			VADDPS(src(8+j), a[j], a[j])
			VSUBPS(src(8+j), x, b[j])
			VSUBPS(src(12+j), b[j], b[j])
		}
		// (A^T M) A + bias: left a0+a1+a2, right a1-a2-a3, then + bias.
		row := func(r [4]reg.VecVirtual, dst Mem) {
			l, rt := YMM(), YMM()
			VADDPS(r[1], r[0], l)
			VADDPS(r[2], l, l)
			VADDPS(bias, l, l)
			VSUBPS(r[2], r[1], rt)
			VSUBPS(r[3], rt, rt)
			VADDPS(bias, rt, rt)
			lo, hi := YMM(), YMM()
			VUNPCKLPS(rt, l, lo)
			VUNPCKHPS(rt, l, hi)
			first, second := YMM(), YMM()
			VPERM2F128(U8(0x20), hi, lo, first)
			VPERM2F128(U8(0x31), hi, lo, second)
			VMOVUPS(first, dst)
			VMOVUPS(second, dst.Offset(32))
		}
		row(a, topDst)
		row(b, botDst)
	}

	rowLoop(n, func() {
		group(planeRows(m, m4, m8, m12, plane, plane3), Mem{Base: top}, Mem{Base: bot})
	}, func() {
		ADDQ(U8(32), m)
		ADDQ(U8(64), top)
		ADDQ(U8(64), bot)
	}, func(last reg.Register) {
		// Copy the last tiles' 16 elements, zeros in the other lanes.
		ml := x86.FirstLanes8(last)
		src := planeRows(m, m4, m8, m12, plane, plane3)
		for e := range 16 {
			x := YMM()
			VMASKMOVPS(src(e), ml, x)
			VMOVUPS(x, in.Offset(32*e))
		}
		group(func(e int) Mem { return in.Offset(32 * e) }, out, out.Offset(64))
		// Then their 2*last outputs of each row.
		outs := GP64()
		LEAQ(Mem{Base: last, Index: last, Scale: 1}, outs)
		s0, s1 := x86.LanesPast8(outs, 0), x86.LanesPast8(outs, 8)
		for r, dst := range []reg.Register{top, bot} {
			x := YMM()
			VMOVUPS(out.Offset(64*r), x)
			VMASKMOVPS(x, s0, Mem{Base: dst})
			VMOVUPS(out.Offset(64*r+32), x)
			VMASKMOVPS(x, s1, Mem{Base: dst, Disp: 32})
		}
	})
}

// signBit is the float32 sign bit, for negations by VXORPS (as Go negates:
// the same bits, NaNs included).
var signBit Mem

func init() {
	signBit = GLOBL("winogradSign", RODATA|NOPTR)
	DATA(0, U32(0x80000000))
}

// genWinogradDy emits
//
//	func WinogradDyAVX2(dst *float32, plane int, r0, r1 *float32, groups, last int)
//
// which writes A dy A^T for groups*8 tiles of two rows of an output
// gradient, then for last more (0 <= last < 8): tile t's 2x2 dy is
// r0[2t], r0[2t+1], r1[2t], r1[2t+1], and element e of its 4x4 result
// goes to dst[e*plane+t], with A^T = [1 1 1 0; 0 1 -1 -1]: rows a, a+b,
// a-b and -b of the two columns (a, b the rows of dy), each row (x, y)
// giving x, x+y, x-y and -y. The evens and odds of 16 floats as in
// WinogradInAVX2; AVX instructions only.
func genWinogradDy() {
	TEXT("WinogradDyAVX2", 0, "func(dst *float32, plane int, r0, r1 *float32, groups, last int)")
	Doc("WinogradDyAVX2 writes A dy A^T of groups*8+last Winograd F(2x2, 3x3) output-gradient",
		"tiles (unchecked; see kernels.Conv.WinogradDy).")
	g := Load(Param("dst"), GP64()) // (g is the goroutine register's name)
	plane := Load(Param("plane"), GP64())
	r0, r1 := Load(Param("r0"), GP64()), Load(Param("r1"), GP64())
	n := Load(Param("groups"), GP64())
	SHLQ(U8(2), plane)
	plane3 := GP64()
	LEAQ(Mem{Base: plane, Index: plane, Scale: 2}, plane3)
	sign := YMM()
	VBROADCASTSS(signBit, sign)
	g4, g8, g12 := GP64(), GP64(), GP64()
	// The last tiles' copies: 2 rows of 16 floats in, 16 rows of 8 out.
	in, out := AllocLocal(2*16*4), AllocLocal(16*8*4)

	group := func(row0, row1 Mem, store func(e int, x reg.VecVirtual)) {
		// Row i of (A dy) A^T from row i of A dy, (x, y): x, x+y, x-y,
		// -y.
		emit := func(i int, x, y reg.VecVirtual) {
			t := YMM()
			store(4*i, x)
			VADDPS(y, x, t)
			store(4*i+1, t)
			VSUBPS(y, x, t)
			store(4*i+2, t)
			VXORPS(sign, y, t)
			store(4*i+3, t)
		}
		a0, a1 := evensOdds(row0)
		b0, b1 := evensOdds(row1)
		emit(0, a0, a1)
		x, y := YMM(), YMM()
		VADDPS(b0, a0, x)
		VADDPS(b1, a1, y)
		emit(1, x, y)
		VSUBPS(b0, a0, x)
		VSUBPS(b1, a1, y)
		emit(2, x, y)
		VXORPS(sign, b0, x)
		VXORPS(sign, b1, y)
		emit(3, x, y)
	}

	rowLoop(n, func() {
		dst := planeRows(g, g4, g8, g12, plane, plane3)
		group(Mem{Base: r0}, Mem{Base: r1}, func(e int, x reg.VecVirtual) { VMOVUPS(x, dst(e)) })
	}, func() {
		ADDQ(U8(32), g)
		ADDQ(U8(64), r0)
		ADDQ(U8(64), r1)
	}, func(last reg.Register) {
		// Copy the last tiles' 2*last floats of each row, zeros after
		// them.
		reads := GP64()
		LEAQ(Mem{Base: last, Index: last, Scale: 1}, reads)
		m0, m1 := x86.LanesPast8(reads, 0), x86.LanesPast8(reads, 8)
		for r, src := range []reg.Register{r0, r1} {
			x := YMM()
			VMASKMOVPS(Mem{Base: src}, m0, x)
			VMOVUPS(x, in.Offset(64*r))
			VMASKMOVPS(Mem{Base: src, Disp: 32}, m1, x)
			VMOVUPS(x, in.Offset(64*r+32))
		}
		group(in, in.Offset(64), func(e int, x reg.VecVirtual) { VMOVUPS(x, out.Offset(32*e)) })
		writeLast(out, planeRows(g, g4, g8, g12, plane, plane3), last)
	})
}
