package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/expconst"
)

// expC holds c2..c6 of the polynomial, for the loops over them.
var expC = [...]float32{expconst.ExpC2, expconst.ExpC3, expconst.ExpC4, expconst.ExpC5, expconst.ExpC6}

// Comparison predicates (imm8 of VCMPPS).
const (
	cmpLtOQ  = 0x11 // less than, ordered, quiet
	cmpGtOQ  = 0x1e // greater than, ordered, quiet
	cmpNltUQ = 0x15 // not less than, unordered, quiet: true for NaN
)

// zeroVec returns a zeroed vector register.
func (v isa) zeroVec() reg.VecVirtual {
	z := v.Vec()
	VXORPS(z, z, z)
	return z
}

// horner leaves c2 + r*(c3 + r*(c4 + r*(c5 + r*c6))) in a new register.
func (v isa) horner(c *consts, r reg.VecVirtual) reg.VecVirtual {
	p := v.Vec()
	if v.Lanes == 16 {
		VMOVAPS(c.reg(expC[4]), p)
	} else {
		VMOVUPS(c.mem(expC[4]), p)
	}
	for i := 3; i >= 0; i-- {
		VFMADD213PS(c.op(expC[i]), r, p)
	}
	return p
}

// load returns src as a register, loading it if it is memory.
func (v isa) reg(src Op) reg.VecVirtual {
	if r, ok := src.(reg.VecVirtual); ok {
		return r
	}
	r := v.Vec()
	VMOVUPS(src, r)
	return r
}

// genSELU: see seluNeg in kernels/act_elementwise.go for the algorithm.
// Per 16 lanes on AVX-512: 16 arithmetic instructions (VSCALEFPS makes
// la*2^n in one), a load and a store.
func genSELU(v isa) {
	TEXT(v.Fn("SELU"), NOSPLIT, "func(dst, x []float32)")
	Doc(v.Fn("SELU")+" sets dst[i] = SELU(x[i]) for i < len(x); len(dst) >= len(x),",
		"unchecked. dst may be x.")
	d := Load(Param("dst").Base(), GP64())
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	c := v.consts()
	var zero reg.VecVirtual
	if v.Lanes == 16 {
		for _, f := range []float32{expconst.SELUCutoff, expconst.Log2e, expconst.MagicBias127, -expconst.Ln2, expconst.LambdaAlpha32, expconst.Lambda32} {
			c.reg(f)
		}
		for _, f := range expC {
			c.reg(f)
		}
		zero = v.zeroVec()
	}
	c.freeze()
	v.stream([]reg.Register{p}, d, n, 2, func(src []Op, out reg.VecVirtual) {
		x := v.reg(src[0])
		z := v.Vec()
		VMAXPS(c.op(expconst.SELUCutoff), x, z) // z = max(x, cutoff); NaN goes the positive way below
		nn := v.Vec()
		if v.Lanes == 16 {
			VMOVAPS(c.reg(expconst.MagicBias127), nn)
		} else {
			VMOVUPS(c.mem(expconst.MagicBias127), nn)
		}
		VFMADD231PS(c.op(expconst.Log2e), z, nn) // nn = z*log2e + magic: n in the low bits
		var ls reg.VecVirtual
		if v.Lanes == 16 {
			VSUBPS(c.op(expconst.MagicBias127), nn, nn) // n
			ls = v.Vec()
			VSCALEFPS(nn, c.reg(expconst.LambdaAlpha32), ls) // la * 2^n
		} else {
			ls = v.Vec()
			VPSLLD(U8(23), nn, ls)                       // 2^n
			VMULPS(c.op(expconst.LambdaAlpha32), ls, ls) // la * 2^n
			VSUBPS(c.op(expconst.MagicBias127), nn, nn)  // n
		}
		VFMADD231PS(c.op(-expconst.Ln2), nn, z) // r = z - n*ln2
		pp := v.horner(c, z)
		VMULPS(z, pp, pp) // p = r*P(r)
		t := v.Vec()
		VMULPS(z, ls, t) // t = la*s*r
		VSUBPS(c.op(expconst.LambdaAlpha32), ls, out)
		VFMADD231PS(pp, t, out) // w = t*p + la*(s-1)
		VFMADD231PS(z, ls, out) // la*s*r + w
		if v.Lanes == 16 {
			k := K()
			VCMPPS(U8(cmpNltUQ), zero, x, k)
			VMULPS(c.reg(expconst.Lambda32), x, k, out) // lambda*x where !(x < 0)
			return
		}
		neg, pos := v.Vec(), v.Vec()
		VCMPPS(U8(cmpLtOQ), v.zeroMem(c), x, neg)
		VMULPS(c.op(expconst.Lambda32), x, pos)
		VBLENDVPS(neg, out, pos, out)
	})
	VZEROUPPER()
	RET()
}

// zeroMem is a memory operand of zeros, for AVX2 comparisons.
func (v isa) zeroMem(c *consts) Mem { return c.memBits(0) }

func genSELUGrad(v isa) {
	TEXT(v.Fn("SELUGrad"), NOSPLIT, "func(dx, dy, y []float32)")
	Doc(v.Fn("SELUGrad")+" sets dx[i] = dy[i]*lambda where y[i] > 0, dy[i]*(y[i]+lambda*alpha)",
		"elsewhere, for i < len(y); dx and dy at least as long, unchecked.")
	dx := Load(Param("dx").Base(), GP64())
	dy := Load(Param("dy").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("y").Len(), GP64())
	c := v.consts()
	var zero reg.VecVirtual
	if v.Lanes == 16 {
		c.reg(expconst.LambdaAlpha32)
		c.reg(expconst.Lambda32)
		zero = v.zeroVec()
	}
	c.freeze()
	v.stream([]reg.Register{dy, y}, dx, n, 4, func(src []Op, out reg.VecVirtual) {
		yv := v.reg(src[1])
		t := v.Vec()
		VADDPS(c.op(expconst.LambdaAlpha32), yv, t)
		VMULPS(src[0], t, out)
		if v.Lanes == 16 {
			k := K()
			VCMPPS(U8(cmpGtOQ), zero, yv, k)
			VMULPS(src[0], c.reg(expconst.Lambda32), k, out)
			return
		}
		pos, m := v.Vec(), v.Vec()
		VCMPPS(U8(cmpGtOQ), v.zeroMem(c), yv, m)
		VMULPS(c.op(expconst.Lambda32), v.reg(src[0]), pos)
		VBLENDVPS(m, pos, out, out)
	})
	VZEROUPPER()
	RET()
}

func genReLU(v isa) {
	TEXT(v.Fn("ReLU"), NOSPLIT, "func(dst, x []float32)")
	Doc(v.Fn("ReLU")+" sets dst[i] = max(x[i], 0) for i < len(x), NaN and -0 kept;",
		"len(dst) >= len(x), unchecked.")
	d := Load(Param("dst").Base(), GP64())
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	zero := v.zeroVec()
	v.stream([]reg.Register{p}, d, n, 4, func(src []Op, out reg.VecVirtual) {
		// MAXPS returns its memory-capable operand when the other is not
		// greater: x itself for NaN and for -0.
		VMAXPS(src[0], zero, out)
	})
	VZEROUPPER()
	RET()
}

func genReLUGrad(v isa) {
	TEXT(v.Fn("ReLUGrad"), NOSPLIT, "func(dx, dy, y []float32)")
	Doc(v.Fn("ReLUGrad")+" sets dx[i] = dy[i] where y[i] > 0, else 0, for i < len(y);",
		"dx and dy at least as long, unchecked.")
	dx := Load(Param("dx").Base(), GP64())
	dy := Load(Param("dy").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("y").Len(), GP64())
	zero := v.zeroVec()
	v.stream([]reg.Register{dy, y}, dx, n, 4, func(src []Op, out reg.VecVirtual) {
		yv := v.reg(src[1])
		if v.Lanes == 16 {
			k := K()
			VCMPPS(U8(cmpGtOQ), zero, yv, k)
			VMOVUPS_Z(src[0], k, out)
			return
		}
		VCMPPS(U8(cmpGtOQ), zero, yv, out)
		VANDPS(src[0], out, out)
	})
	VZEROUPPER()
	RET()
}

// genExp: see exp1 in kernels/act_elementwise.go. AVX-512 scales by 2^n
// with VSCALEFPS, which rounds subnormal results once, as the two-factor
// scaling of the AVX2 path does.
func genExp(v isa) {
	TEXT(v.Fn("Exp"), NOSPLIT, "func(dst, x []float32)")
	Doc(v.Fn("Exp")+" sets dst[i] = e^x[i] for i < len(x); len(dst) >= len(x),",
		"unchecked. dst may be x.")
	d := Load(Param("dst").Base(), GP64())
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	c := v.consts()
	// The clamp bounds stay in registers on both paths: MAXPS and MINPS
	// return their memory-capable operand (x) for NaN, which must pass.
	c.reg(expconst.ExpLo)
	c.reg(expconst.ExpHi)
	if v.Lanes == 16 {
		for _, f := range []float32{expconst.Log2e, expconst.MagicBias, -expconst.Ln2Hi, -expconst.Ln2Lo, 1} {
			c.reg(f)
		}
		for _, f := range expC {
			c.reg(f)
		}
	}
	c.freeze()
	v.stream([]reg.Register{p}, d, n, 2, func(src []Op, out reg.VecVirtual) {
		z := v.Vec()
		VMAXPS(src[0], c.reg(expconst.ExpLo), z)
		VMINPS(z, c.reg(expconst.ExpHi), z)
		nn := v.Vec()
		if v.Lanes == 16 {
			VMOVAPS(c.reg(expconst.MagicBias), nn)
		} else {
			VMOVUPS(c.mem(expconst.MagicBias), nn)
		}
		VFMADD231PS(c.op(expconst.Log2e), z, nn)
		var ni reg.VecVirtual
		if v.Lanes == 8 {
			ni = v.Vec()
			VPSUBD(c.mem(expconst.MagicBias), nn, ni) // integer n from the low bits
		}
		VSUBPS(c.op(expconst.MagicBias), nn, nn)
		VFMADD231PS(c.op(-expconst.Ln2Hi), nn, z)
		VFMADD231PS(c.op(-expconst.Ln2Lo), nn, z)
		e := v.horner(c, z)
		VFMADD213PS(c.op(1), z, e)
		VFMADD213PS(c.op(1), z, e)
		if v.Lanes == 16 {
			VSCALEFPS(nn, e, out)
			return
		}
		n2 := v.Vec()
		VPSRAD(U8(1), ni, n2)
		VPSUBD(n2, ni, ni)
		VPADDD(c.memBits(127), ni, ni)
		VPADDD(c.memBits(127), n2, n2)
		VPSLLD(U8(23), ni, ni)
		VPSLLD(U8(23), n2, n2)
		VMULPS(ni, e, e)
		VMULPS(n2, e, out)
	})
	VZEROUPPER()
	RET()
}
