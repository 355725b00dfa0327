// Package testkit holds what the kernel tests of every package share:
// ulp distances, the lengths and offsets every kernel is run on, and
// buffers that sit against an inaccessible page so that a kernel reading or
// writing one element too far crashes the test instead of passing.
package testkit

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Lengths returns 0..upTo and then the extra lengths: the set every
// element-wise kernel is checked on.
func Lengths(upTo int, extra ...int) []int {
	ns := make([]int, 0, upTo+1+len(extra))
	for n := 0; n <= upTo; n++ {
		ns = append(ns, n)
	}
	return append(ns, extra...)
}

// Rand returns a deterministic generator for a test; the seed makes
// failures reproducible.
func Rand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5e1f)) }

// Uniform returns n values uniform in [lo, hi).
func Uniform(r *rand.Rand, n int, lo, hi float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = lo + (hi-lo)*r.Float32()
	}
	return x
}

// Normal returns n values with the given mean and standard deviation.
func Normal(r *rand.Rand, n int, mean, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(mean + std*r.NormFloat64())
	}
	return x
}

// ordered maps a float32 to an integer that is monotone in the float's
// value, with -0 and +0 adjacent.
func ordered(f float32) int64 {
	b := int64(math.Float32bits(f))
	if b&(1<<31) != 0 {
		return -(b & 0x7fffffff)
	}
	return b
}

// ULP returns how many float32 values lie between a and b (0 when equal or
// both NaN, MaxInt64 when only one is NaN). +0 and -0 count as equal.
func ULP(a, b float32) int64 {
	an, bn := a != a, b != b
	if an || bn {
		if an && bn {
			return 0
		}
		return math.MaxInt64
	}
	d := ordered(a) - ordered(b)
	if d < 0 {
		d = -d
	}
	return d
}

// ULP64 returns the error of the float32 got against the exact value want
// in units of the last place of float32 at want: |got-want| / ulp(want).
// Unlike ULP it measures how far got is from the true value, not from its
// rounding, so a correctly rounded result scores at most 0.5. Both NaN, or
// both the same infinity, score 0.
func ULP64(got float32, want float64) float64 {
	if got != got || math.IsNaN(want) {
		if got != got && math.IsNaN(want) {
			return 0
		}
		return math.Inf(1)
	}
	// Values beyond the float32 range round to infinity: that is the
	// correct float32 result for them.
	w32 := float32(want)
	if math.IsInf(float64(w32), 0) || math.IsInf(float64(got), 0) {
		if got == w32 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(float64(got)-want) / ulpOf(w32)
}

// ulpOf is the spacing of float32 values at |f|: the distance from |f| to
// the next float32 away from zero (the smallest denormal at zero).
func ulpOf(f float32) float64 {
	f = float32(math.Abs(float64(f)))
	next := math.Nextafter32(f, float32(math.Inf(1)))
	if math.IsInf(float64(next), 0) {
		return float64(f) - float64(math.Nextafter32(f, 0))
	}
	return float64(next) - float64(f)
}

// AllocsPerRun is testing.AllocsPerRun for code that runs on worker
// goroutines: the fewest allocations per call over three measurements.
// A worker that waited long enough to block (par's workers poll for half
// a millisecond first, which a loaded machine or qemu exceeds) may make
// the runtime allocate a wait record (a sudog) when it blocks on another
// processor than the one it last woke on: an allocation of the scheduler,
// not of the code under test. Code that allocates on every call still
// shows it in every measurement.
func AllocsPerRun(runs int, f func()) float64 {
	least := testing.AllocsPerRun(runs, f)
	for range 2 {
		if least == 0 {
			break
		}
		least = min(least, testing.AllocsPerRun(runs, f))
	}
	return least
}
