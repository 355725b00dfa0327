package kernels

import "math"

func optimGeneric() Optim {
	return Optim{Adam: adamGeneric, Adadelta: adadeltaGeneric, SGD: sgdGeneric}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// fmaf returns a*b+c rounded once to float32, as the FMA instructions do,
// so that the twin gives the assembly's bits and not merely values within
// an ulp: optimizer state then stays identical across ISAs step after step.
//
// The product of two float32 is exact in float64. The float64 sum rounds
// once; converting it to float32 rounds again, which is wrong only when
// the first rounding lands exactly halfway between two float32 values:
// the second one then breaks a tie that the exact sum did not have. Those
// sums (and the float32-subnormal ones, whose halfway points sit elsewhere)
// take fmafTie, which rounds the float64 sum to odd first.
func fmaf(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	bits := math.Float64bits(s)
	const (
		dropped = 1<<29 - 1          // float64 mantissa bits float32 lacks
		half    = 1 << 28            // ... set as at a halfway point
		minExp  = (1023 - 126) << 52 // biased exponent of 2^-126
		expMask = uint64(0x7ff) << 52
	)
	if bits&dropped != half && bits&expMask >= minExp {
		return float32(s)
	}
	return fmafTie(p, float64(c), s)
}

// fmafTie rounds s = p+c (rounded to nearest) to odd before narrowing it:
// when the sum was inexact and s has an even last bit, it steps to the
// neighbour on the side of the exact sum. A value rounded to odd with 53
// bits rounds correctly to any format of 51 bits or fewer, float32 and its
// subnormals included.
func fmafTie(p, c, s float64) float32 {
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	// TwoSum: p + c == s + e exactly.
	bb := s - p
	e := (p - (s - bb)) + (c - bb)
	bits := math.Float64bits(s)
	if e != 0 && bits&1 == 0 {
		if (e > 0) == (s > 0) {
			bits++
		} else {
			bits--
		}
	}
	return float32(math.Float64frombits(bits))
}

func adamGeneric(w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		g1 := fmaf(wd, w[i], g[i])
		mi := fmaf(b1, m[i], c1*g1)
		vi := fmaf(b2, v[i], (c2*g1)*g1)
		m[i], v[i] = mi, vi
		w[i] = fmaf(-lrT, mi/(sqrt32(vi)+eps), w[i])
	}
}

func adadeltaGeneric(w, g, acc, dacc []float32, lr, rho, c, eps, wd float32) {
	g, acc, dacc = g[:len(w)], acc[:len(w)], dacc[:len(w)]
	for i := range w {
		g1 := fmaf(wd, w[i], g[i])
		a := fmaf(rho, acc[i], (c*g1)*g1)
		u := g1 * sqrt32(dacc[i]+eps) / sqrt32(a+eps)
		acc[i] = a
		dacc[i] = fmaf(rho, dacc[i], (c*u)*u)
		w[i] = fmaf(-lr, u, w[i])
	}
}

func sgdGeneric(w, g, vel []float32, lr, momentum, wd float32, nesterov bool) {
	g, vel = g[:len(w)], vel[:len(w)]
	for i := range w {
		g1 := fmaf(wd, w[i], g[i])
		vi := fmaf(momentum, vel[i], -lr*g1)
		vel[i] = vi
		if nesterov {
			w[i] = fmaf(momentum, vi, fmaf(-lr, g1, w[i]))
		} else {
			w[i] += vi
		}
	}
}
