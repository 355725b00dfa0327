package kernels

import "math"

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
