package act

import (
	"fmt"
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
	shift := Shift(x)
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

// NormalizeUnit gives one unit's incoming weights the moments of the
// self-normalizing fixed point: sum 0 (omega) and sum of squares 1 (tau),
// w <- (w - mean(w)) / sqrt(sum((w - mean(w))^2)). It returns omega and tau
// as they were before.
//
// The mean and the sum of squares come from one pass (shifted, as in
// MeanVar), the rescaling is a second one; a unit whose mean is large
// against its spread is centred first (two passes more) so that the sum
// still ends within 1e-6 of 0. Weights that are all equal
// have no direction to keep; they become the centred ramp
// (i - (n-1)/2), scaled to unit norm. Weights holding a NaN or an infinity
// are left as they are. A unit of one weight cannot have both moments and
// panics.
func NormalizeUnit(w []float32) (omega, tau float64) { return normalizeUnit(active, w) }

func normalizeUnit(k *kernels.Set, w []float32) (float64, float64) {
	n := len(w)
	if n < 2 {
		panic(fmt.Sprintf("act.NormalizeUnit: len(w) = %d: sum 0 and sum of squares 1 need at least 2 weights", n))
	}
	shift := Shift(w)
	s1, s2 := k.Act.Moments(w, shift)
	omega := float64(shift)*float64(n) + s1
	tau := s2 + 2*float64(shift)*s1 + float64(shift)*float64(shift)*float64(n)
	m := s1 / float64(n)
	ss := s2 - s1*m // sum of squared deviations from the mean
	switch {
	case math.IsNaN(ss) || math.IsInf(ss, 0):
		return omega, tau // NaN or Inf weights: nothing to normalize
	case ss <= 0:
		ramp(w)
		return omega, tau
	}
	mean := float64(shift) + m
	// The rescale w*a - mean*a rounds mean*a to float32 once, an error
	// every weight shares: the sum is off by n*2^-24*|mean*a|. When that
	// could exceed 1e-6 (a mean large against the spread) the unit is
	// centred first, so the offset left to remove is tiny.
	if float64(n)*0x1p-24*math.Abs(mean)/math.Sqrt(ss) > 1e-6 {
		k.Act.Affine(w, 1, -float32(mean))
		s1, s2 = k.Act.Moments(w, 0)
		mean = s1 / float64(n)
		ss = s2 - s1*mean
		if !(ss > 0) {
			ramp(w)
			return omega, tau
		}
	}
	a := 1 / math.Sqrt(ss)
	k.Act.Affine(w, float32(a), float32(-mean*a))
	return omega, tau
}

// Shift returns the mean of x's first 32 elements, or 0 if that is not
// finite (or x is empty): a value near the mean to subtract before summing
// squares in one pass, which keeps the sums well conditioned. MeanVar uses
// it; callers that sum the moments of strided data with the kernels'
// Moments use it too.
func Shift(x []float32) float32 {
	var s float64
	p := x[:min(len(x), shiftProbe)]
	for _, v := range p {
		s += float64(v)
	}
	shift := float32(s / float64(len(p)))
	if math.IsInf(float64(shift), 0) || shift != shift {
		return 0
	}
	return shift
}

// ramp fills w with the centred ramp of unit norm.
func ramp(w []float32) {
	n := float64(len(w))
	c := (n - 1) / 2
	norm := math.Sqrt(n * (n*n - 1) / 12) // sum of (i-c)^2
	for i := range w {
		w[i] = float32((float64(i) - c) / norm)
	}
}
