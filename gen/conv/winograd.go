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
// width).
// Each performs, per tile, exactly the additions of the Go functions in
// package kernels (winogradInGeneric, winogradOutGeneric), in the same
// order, so the results are the same bits. The callers (kernels.Conv) run
// them on groups of eight whole tiles and check every length first.

// genWinogradIn emits
//
//	func WinogradInAVX2(v *float32, plane int, pad *float32, wp, groups int)
//
// which writes B^T d B for groups*8 tiles of one row of tiles: tile t
// reads columns 2t..2t+3 of the four rows pad, pad+wp, pad+2wp, pad+3wp,
// and element e of its 4x4 result goes to v[e*plane+t].
//
// The columns of eight tiles are the even and odd floats of 16: column 0
// is the evens of p = pad[2t0:], column 1 the odds, columns 2 and 3 the
// same of pad[2t0+2:]. Two loads put p0..p3 beside p8..p11 and p4..p7
// beside p12..p15; VSHUFPS then picks the evens (or odds) of both in tile
// order, one shuffle per column. Only AVX instructions: the AVX-512 set
// calls it too.
func genWinogradIn() {
	TEXT("WinogradInAVX2", NOSPLIT, "func(v *float32, plane int, pad *float32, wp, groups int)")
	Doc("WinogradInAVX2 writes B^T d B of groups*8 Winograd F(2x2, 3x3) input tiles (unchecked;",
		"see kernels.Conv.WinogradIn).")
	v, pad := Load(Param("v"), GP64()), Load(Param("pad"), GP64())
	plane, wp := Load(Param("plane"), GP64()), Load(Param("wp"), GP64())
	n := Load(Param("groups"), GP64())
	SHLQ(U8(2), plane)
	SHLQ(U8(2), wp)
	plane3, wp3 := GP64(), GP64()
	LEAQ(Mem{Base: plane, Index: plane, Scale: 2}, plane3)
	LEAQ(Mem{Base: wp, Index: wp, Scale: 2}, wp3)
	// v4, v8, v12: the rows of elements 4, 8 and 12.
	v4, v8, v12 := GP64(), GP64(), GP64()

	Label("group")
	TESTQ(n, n)
	JE(LabelRef("done"))
	LEAQ(Mem{Base: v, Index: plane, Scale: 4}, v4)
	LEAQ(Mem{Base: v4, Index: plane, Scale: 4}, v8)
	LEAQ(Mem{Base: v8, Index: plane, Scale: 4}, v12)
	rowMem := func(r, off int) Mem {
		m := Mem{Base: pad, Disp: off}
		switch r {
		case 1:
			m.Index, m.Scale = wp, 1
		case 2:
			m.Index, m.Scale = wp, 2
		case 3:
			m.Index, m.Scale = wp3, 1
		}
		return m
	}
	// row returns columns 0..3 of the eight tiles' patches in row r.
	row := func(r int) [4]reg.VecVirtual {
		var cols [4]reg.VecVirtual
		for h, off := range []int{0, 8} { // columns 2h and 2h+1
			// (VBROADCASTF128 writes the whole register, so that the
			// register allocator sees a new value.)
			a, b := YMM(), YMM()
			VBROADCASTF128(rowMem(r, off), a)
			VINSERTF128(U8(1), rowMem(r, off+32), a, a)
			VBROADCASTF128(rowMem(r, off+16), b)
			VINSERTF128(U8(1), rowMem(r, off+48), b, b)
			cols[2*h], cols[2*h+1] = YMM(), YMM()
			VSHUFPS(U8(0x88), b, a, cols[2*h])   // evens
			VSHUFPS(U8(0xdd), b, a, cols[2*h+1]) // odds
		}
		return cols
	}
	out := func(e int) Mem {
		base := []reg.Register{v, v4, v8, v12}[e/4]
		m := Mem{Base: base}
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
	// emit writes row i of (B^T d) B, whose row i of B^T d is t0..t3:
	// t0-t2, t1+t2, t2-t1, t1-t3.
	emit := func(i int, t [4]reg.VecVirtual) {
		x := YMM()
		VSUBPS(t[2], t[0], x)
		VMOVUPS(x, out(4*i))
		VADDPS(t[2], t[1], x)
		VMOVUPS(x, out(4*i+1))
		VSUBPS(t[1], t[2], x)
		VMOVUPS(x, out(4*i+2))
		VSUBPS(t[3], t[1], x)
		VMOVUPS(x, out(4*i+3))
	}
	// The rows of B^T d are a-c, b+c, c-b and b-d (rows a, b, c, d of
	// the patch): b and c first, then a, then d, each in place, so that
	// no more than 16 registers are live (VINSERTF128 has no EVEX form).
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
	ADDQ(U8(32), v)
	ADDQ(U8(64), pad)
	DECQ(n)
	JMP(LabelRef("group"))
	Label("done")
	VZEROUPPER()
	RET()
}

// genWinogradOut emits
//
//	func WinogradOutAVX2(top, bot, m *float32, plane, groups int, bias float32)
//
// which writes A^T M A + bias for groups*8 tiles of one row of tiles,
// element e of tile t being m[e*plane+t]: the tile's 2x2 outputs to
// top[2t], top[2t+1], bot[2t] and bot[2t+1]. VUNPCKLPS and VUNPCKHPS
// interleave a row's left and right outputs, VPERM2F128 puts the halves
// in order.
func genWinogradOut() {
	TEXT("WinogradOutAVX2", NOSPLIT, "func(top, bot, m *float32, plane, groups int, bias float32)")
	Doc("WinogradOutAVX2 writes A^T M A + bias of groups*8 Winograd F(2x2, 3x3) output tiles",
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

	Label("group")
	TESTQ(n, n)
	JE(LabelRef("done"))
	LEAQ(Mem{Base: m, Index: plane, Scale: 4}, m4)
	LEAQ(Mem{Base: m4, Index: plane, Scale: 4}, m8)
	LEAQ(Mem{Base: m8, Index: plane, Scale: 4}, m12)
	in := func(e int) Mem {
		base := []reg.Register{m, m4, m8, m12}[e/4]
		x := Mem{Base: base}
		switch e % 4 {
		case 1:
			x.Index, x.Scale = plane, 1
		case 2:
			x.Index, x.Scale = plane, 2
		case 3:
			x.Index, x.Scale = plane3, 1
		}
		return x
	}
	// A^T M: a_j = m_j + m_{4+j} + m_{8+j}, b_j = m_{4+j} - m_{8+j} -
	// m_{12+j}, left to right.
	var a, b [4]reg.VecVirtual
	for j := range 4 {
		a[j], b[j] = YMM(), YMM()
		x := YMM()
		VMOVUPS(in(4+j), x)
		VADDPS(in(j), x, a[j]) // m_j + m_{4+j}
		VADDPS(in(8+j), a[j], a[j])
		VSUBPS(in(8+j), x, b[j])
		VSUBPS(in(12+j), b[j], b[j])
	}
	// (A^T M) A + bias: left a0+a1+a2, right a1-a2-a3, then + bias.
	row := func(r [4]reg.VecVirtual, dst reg.Register) {
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
		VMOVUPS(first, Mem{Base: dst})
		VMOVUPS(second, Mem{Base: dst, Disp: 32})
	}
	row(a, top)
	row(b, bot)
	ADDQ(U8(32), m)
	ADDQ(U8(64), top)
	ADDQ(U8(64), bot)
	DECQ(n)
	JMP(LabelRef("group"))
	Label("done")
	VZEROUPPER()
	RET()
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
//	func WinogradDyAVX2(dst *float32, plane int, r0, r1 *float32, groups int)
//
// which writes A dy A^T for groups*8 tiles of two rows of an output
// gradient: tile t's 2x2 dy is r0[2t], r0[2t+1], r1[2t], r1[2t+1], and
// element e of its 4x4 result goes to dst[e*plane+t], with A^T = [1 1 1 0;
// 0 1 -1 -1]: rows a, a+b, a-b and -b of the two columns (a, b the rows
// of dy), each row (x, y) giving x, x+y, x-y and -y. The evens and odds
// of 16 floats as in WinogradInAVX2; AVX instructions only.
func genWinogradDy() {
	TEXT("WinogradDyAVX2", NOSPLIT, "func(dst *float32, plane int, r0, r1 *float32, groups int)")
	Doc("WinogradDyAVX2 writes A dy A^T of groups*8 Winograd F(2x2, 3x3) output-gradient tiles",
		"(unchecked; see kernels.Conv.WinogradDy).")
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

	Label("group")
	TESTQ(n, n)
	JE(LabelRef("done"))
	LEAQ(Mem{Base: g, Index: plane, Scale: 4}, g4)
	LEAQ(Mem{Base: g4, Index: plane, Scale: 4}, g8)
	LEAQ(Mem{Base: g8, Index: plane, Scale: 4}, g12)
	// cols returns the evens and the odds of the 16 floats at r.
	cols := func(r reg.Register) (ev, od reg.VecVirtual) {
		a, b := YMM(), YMM()
		VBROADCASTF128(Mem{Base: r}, a)
		VINSERTF128(U8(1), Mem{Base: r, Disp: 32}, a, a)
		VBROADCASTF128(Mem{Base: r, Disp: 16}, b)
		VINSERTF128(U8(1), Mem{Base: r, Disp: 48}, b, b)
		ev, od = YMM(), YMM()
		VSHUFPS(U8(0x88), b, a, ev)
		VSHUFPS(U8(0xdd), b, a, od)
		return ev, od
	}
	out := func(e int) Mem {
		base := []reg.Register{g, g4, g8, g12}[e/4]
		m := Mem{Base: base}
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
	// emit writes row i of (A dy) A^T from row i of A dy, (x, y): x,
	// x+y, x-y, -y.
	emit := func(i int, x, y reg.VecVirtual) {
		t := YMM()
		VMOVUPS(x, out(4*i))
		VADDPS(y, x, t)
		VMOVUPS(t, out(4*i+1))
		VSUBPS(y, x, t)
		VMOVUPS(t, out(4*i+2))
		VXORPS(sign, y, t)
		VMOVUPS(t, out(4*i+3))
	}
	a0, a1 := cols(r0)
	b0, b1 := cols(r1)
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
	ADDQ(U8(32), g)
	ADDQ(U8(64), r0)
	ADDQ(U8(64), r1)
	DECQ(n)
	JMP(LabelRef("group"))
	Label("done")
	VZEROUPPER()
	RET()
}
