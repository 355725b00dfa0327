package kernels

import "math"

// The constants of the exp, expm1 and SELU paths (act_const.go) come from
// gen/internal/expconst, as do those of the assembly generators.
//go:generate go -C ../gen run ./goconst -out ../kernels/act_const.go -pkg kernels

// poly is c2 + r*(c3 + r*(c4 + r*(c5 + r*c6))) by Horner's rule with FMAs.
func poly(r float32) float32 {
	p := fmaf(expC6, r, expC5)
	p = fmaf(p, r, expC4)
	p = fmaf(p, r, expC3)
	return fmaf(p, r, expC2)
}

// seluNeg is lambda*alpha*expm1(x) for x < 0, the way the assembly
// computes it (la = lambda*alpha):
//
//	z = max(x, -25 ln2)
//	n = round(z*log2e); s = 2^n          (magic-bias rounding)
//	r = z - n*ln2                         (one step: |n| <= 25 keeps it exact enough)
//	p = r*P(r)                            (expm1(r) = r + r*p)
//	w = ((la*s)*r)*p + la*(s-1)
//	result = (la*s)*r + w                 (= la*(s*expm1(r) + s - 1))
//
// Computing s-1 and s*expm1(r) apart, never exp(x)-1, keeps the relative
// accuracy near 0. The last FMA takes the leading term (la*s)*r exactly,
// so the only rounding at the result's scale is the last one; w, the
// smaller part, carries the other roundings.
func seluNeg(x float32) float32 {
	z := max(x, seluCutoff)
	v := fmaf(z, log2e, magicBias127)
	s := math.Float32frombits(math.Float32bits(v) << 23)
	n := v - magicBias127
	r := fmaf(n, -ln2, z)
	p := r * poly(r)
	ls := lambdaAlpha32 * s
	t := ls * r
	sm1 := fmaf(s, lambdaAlpha32, -lambdaAlpha32)
	w := fmaf(t, p, sm1)
	return fmaf(ls, r, w)
}

func seluGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v < 0 {
			dst[i] = seluNeg(v)
		} else {
			// -0, +0, positives, +Inf and NaN: lambda*x keeps them.
			dst[i] = lambda32 * v
		}
	}
}

func seluGradGeneric(dx, dy, y []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i] * lambda32
		} else {
			// SELU'(x) = lambda*alpha*e^x = y + lambda*alpha for x <= 0.
			dx[i] = dy[i] * (v + lambdaAlpha32)
		}
	}
}

func reluGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		dst[i] = v // NaN and -0 pass unchanged, as with MAXPS
	}
}

func reluGradGeneric(dx, dy, y []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// exp1 is e^x the way the AVX2 assembly computes it (AVX-512 scales with
// VSCALEFPS, which rounds the same way):
//
//	z = clamp(x, -104, 89)                (NaN passes)
//	n = round(z*log2e)
//	r = z - n*ln2Hi - n*ln2Lo             (two steps: |n| reaches 150)
//	e = 1 + r + r^2*P(r)
//	result = (e * 2^(n - n/2)) * 2^(n/2)  (two normal scale factors, so
//	                                       subnormal results round once)
func exp1(x float32) float32 {
	z := x
	if z < expLo {
		z = expLo
	}
	if z > expHi {
		z = expHi
	}
	v := fmaf(z, log2e, magicBias)
	ni := int32(math.Float32bits(v) - math.Float32bits(magicBias))
	n := v - magicBias
	r := fmaf(n, -ln2Hi, z)
	r = fmaf(n, -ln2Lo, r)
	e := fmaf(poly(r), r, 1)
	e = fmaf(e, r, 1)
	n2 := ni >> 1
	n1 := ni - n2
	s1 := math.Float32frombits(uint32(n1+127) << 23)
	s2 := math.Float32frombits(uint32(n2+127) << 23)
	return (e * s1) * s2
}

func expGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = exp1(v)
	}
}
