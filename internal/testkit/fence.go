package testkit

import (
	"math"
	"testing"
)

// fenceLen is how many sentinels stand on each side of a fenced slice.
const fenceLen = 64

// sentinel marks the elements around a fenced slice, compared bit for
// bit: a finite value (a NaN would survive C = alpha*AB + beta*C with its
// bits unchanged) that no test computes, about 9.3e37.
var sentinel = math.Float32frombits(0x7e8badf0)

// A Fence is a slice in the middle of a larger array whose other elements
// hold sentinels, for tests that a call writes nothing outside the slice
// it was given, even where its size arithmetic goes wrong.
type Fence struct {
	all []float32
	n   int
}

// Fenced returns n floats, element i set to fill(i) (0 if fill is nil),
// between fenceLen sentinels on each side.
func Fenced(n int, fill func(i int) float32) *Fence {
	f := &Fence{all: make([]float32, n+2*fenceLen), n: n}
	for i := range f.all {
		f.all[i] = sentinel
	}
	for i := range n {
		v := float32(0)
		if fill != nil {
			v = fill(i)
		}
		f.all[fenceLen+i] = v
	}
	return f
}

// S is the slice; its capacity is its length, so that nothing reaches
// the sentinels through it but a write out of bounds.
func (f *Fence) S() []float32 { return f.all[fenceLen : fenceLen+f.n : fenceLen+f.n] }

// Check fails the test if a sentinel changed, naming its position
// relative to the slice (negative: before it).
func (f *Fence) Check(t testing.TB, what string) {
	t.Helper()
	for i, v := range f.all {
		if (i < fenceLen || i >= fenceLen+f.n) && math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Fatalf("%s: the float at %d relative to the slice (len %d) changed to %v", what, i-fenceLen, f.n, v)
		}
	}
}
