package act

import (
	"math"

	"github.com/snnkit/snn/kernels"
)

// Mean returns the arithmetic mean of x, NaN for an empty x.
//
// The sum runs at float32 vector speed but in blocks: no float32 partial
// holds more than 128 terms, and the partials are added in float64, so the
// result is as accurate as a float64 sum for any length.
func Mean(x []float32) float32 { return mean(active, x) }

func mean(k *kernels.Set, x []float32) float32 {
	if len(x) == 0 {
		return float32(math.NaN())
	}
	return float32(k.Act.Sum(x) / float64(len(x)))
}

// MeanVar returns the mean and the population variance (divided by len(x))
// of x in one pass, both NaN for an empty x.
//
// The pass sums x[i]-s and (x[i]-s)^2 for a shift s taken from the first
// elements, so the variance does not lose precision when the mean is large
// against the spread.
func MeanVar(x []float32) (mean, variance float32) { return meanVar(active, x) }

// shiftProbe is how many leading elements estimate the shift of meanVar.
const shiftProbe = 32

func meanVar(k *kernels.Set, x []float32) (float32, float32) {
	n := len(x)
	if n == 0 {
		nan := float32(math.NaN())
		return nan, nan
	}
	var s float64
	p := x[:min(n, shiftProbe)]
	for _, v := range p {
		s += float64(v)
	}
	shift := float32(s / float64(len(p)))
	if math.IsInf(float64(shift), 0) || shift != shift {
		// Inf or NaN in the probe: no shift helps, and none may turn a
		// finite input into a NaN from Inf-Inf.
		shift = 0
	}
	s1, s2 := k.Act.Moments(x, shift)
	m := s1 / float64(n)
	v := s2/float64(n) - m*m
	if v < 0 {
		v = 0 // rounding when every element is equal
	}
	return float32(float64(shift) + m), float32(v)
}

// Centralize subtracts the mean of w from every element in place and
// returns that mean (NaN, and w untouched, when w is empty). It is the
// weight-centralization constraint: after every optimizer step,
// W <- W - mean(W) over a layer's whole kernel tensor.
func Centralize(w []float32) (mean float32) { return centralize(active, w) }

func centralize(k *kernels.Set, w []float32) float32 {
	if len(w) == 0 {
		return float32(math.NaN())
	}
	m := float32(k.Act.Sum(w) / float64(len(w)))
	k.Act.Affine(w, 1, -m)
	return m
}
