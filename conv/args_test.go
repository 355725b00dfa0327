package conv

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// guard is the value around every slice of the argument tests, and in
// every output slice: a call that panics must have written none of it.
const guard = float32(-12345.5)

// guarded returns a slice of n elements inside a larger one, every
// element of both set to guard, and a check that none changed.
func guarded(n int) ([]float32, func(t *testing.T, what string)) {
	const pad = 16
	all := make([]float32, n+2*pad)
	fill(all, guard)
	return all[pad : pad+n : pad+n], func(t *testing.T, what string) {
		t.Helper()
		for i, v := range all {
			if v != guard {
				require.Failf(t, "written", "%s: element %d of the slice and its guards changed to %v", what, i-pad, v)
			}
		}
	}
}

// callPanic runs f and returns its panic value as a string, failing the
// test if f did not panic or panicked with a runtime error (an index out
// of range, a makeslice) instead of a message of conv's.
func callPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if _, ok := r.(runtime.Error); ok {
			require.Failf(t, "runtime error", "%v", r)
		}
		s, ok := r.(string)
		require.True(t, ok, "panic value %v (%T), want conv's message", r, r)
		msg = s
	}()
	f()
	return ""
}

// hugeNs are batch sizes that wrap n*size: 2^62 times a multiple of 4 is
// 0 modulo 2^64, so before the checks were overflow-proof an empty slice
// passed for 2^62 images of 64 floats.
var hugeNs = []int{1 << 62, 1<<62 + 1, 1 << 61, math.MaxInt, math.MaxInt - 1, math.MaxInt / 64, -1, math.MinInt, 3}

// TestHugeArguments calls every entry point with batch sizes near 2^62 and
// 2^63-1 and negative ones, on empty slices and on guarded slices of two
// images: each call must panic with a message naming the argument, and
// write nothing.
func TestHugeArguments(t *testing.T) {
	g := Same(4, 4, 4, 4, 3, 1) // 64 floats in, 64 out: multiples of 4
	c, err := New(g)
	require.NoError(t, err)
	pg := Pool(4, 4, 4, 2, 2)
	p, err := NewMaxPool2D(pg)
	require.NoError(t, err)
	for _, n := range hugeNs {
		for _, empty := range []bool{true, false} {
			size := func(per int) int {
				if empty {
					return 0
				}
				return 2 * per
			}
			x, xOK := guarded(size(g.InSize()))
			w, wOK := guarded(g.WeightSize())
			b, bOK := guarded(g.OutC)
			y, yOK := guarded(size(g.OutSize()))
			dx, dxOK := guarded(size(g.InSize()))
			dw, dwOK := guarded(g.WeightSize())
			db, dbOK := guarded(g.OutC)
			py, pyOK := guarded(size(pg.OutSize()))
			am := make([]int32, size(pg.OutSize()))
			mean, variance := make([]float64, g.OutC), make([]float64, g.OutC)
			want := "len("
			if n < 0 {
				want = fmt.Sprintf("n = %d < 0", n)
			}
			for _, tc := range []struct {
				name string
				f    func()
			}{
				{"Forward", func() { c.Forward(n, x, w, b, y) }},
				{"ForwardAct", func() { c.ForwardAct(n, x, w, nil, y, SELU) }},
				{"ForwardMoments", func() { c.ForwardMoments(n, x, w, b, y, mean, variance) }},
				{"Backward", func() { c.Backward(n, x, w, y, dx, dw, db) }},
				{"BackwardAct", func() { c.BackwardAct(n, x, w, y, dx, nil, nil, ReLU) }},
				{"BackwardData", func() { c.BackwardData(n, y, w, dx) }},
				{"BackwardWeights", func() { c.BackwardWeights(n, x, y, dw, db) }},
				{"MaxPool2D.Forward", func() { p.Forward(n, y, py, am) }},
				{"MaxPool2D.Backward", func() { p.Backward(n, py, am, dx) }},
				{"MaxPool2D.BackwardAct", func() { p.BackwardAct(n, py, am, dx, SELU, x) }},
			} {
				what := fmt.Sprintf("%s n=%d empty=%v", tc.name, n, empty)
				msg := callPanic(t, tc.f)
				assert.Contains(t, msg, "conv: ", what)
				assert.Contains(t, msg, want, what)
				for _, ok := range []func(*testing.T, string){xOK, wOK, bOK, yOK, dxOK, dwOK, dbOK, pyOK} {
					ok(t, what)
				}
			}
		}
	}
}

// TestLenIs checks the overflow-proof length test against exact
// arithmetic, on products that wrap.
func TestLenIs(t *testing.T) {
	for _, tc := range []struct {
		got, n, per int
		want        bool
	}{
		{0, 0, 5, true}, {10, 2, 5, true}, {11, 2, 5, false}, {9, 2, 5, false},
		{0, 1 << 62, 4, false}, {0, 1 << 62, 64, false}, {math.MaxInt, math.MaxInt, 1, true},
		{math.MaxInt - 1, math.MaxInt, 1, false}, {64, 1<<58 + 1, 64, false},
		{math.MaxInt / 3 * 3, math.MaxInt / 3, 3, true}, {5, -1, 5, false}, {0, -1, 5, false},
	} {
		assert.Equal(t, tc.want, lenIs(tc.got, tc.n, tc.per), "lenIs(%d, %d, %d)", tc.got, tc.n, tc.per)
	}
	assert.Equal(t, "4611686018427387904*4, more than the largest int", product(1<<62, 4))
	assert.Equal(t, "3*5 = 15", product(3, 5))
}

// FuzzConvArguments calls Forward and Backward with any batch size and
// slice lengths: a call either runs, when every length is right, or
// panics with conv's message, and never writes past its slices.
func FuzzConvArguments(f *testing.F) {
	for _, n := range hugeNs {
		f.Add(int64(n), uint8(0), uint8(0), uint8(0))
	}
	f.Add(int64(2), uint8(2), uint8(2), uint8(2))
	f.Add(int64(1), uint8(1), uint8(2), uint8(1))
	g := Same(4, 3, 4, 2, 3, 1) // 48 floats in, 24 out: 2^62 images wrap to 0
	c, err := New(g)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, n int64, nx, ny, ndx uint8) {
		x, xOK := guarded(int(nx%4) * g.InSize())
		y, yOK := guarded(int(ny%4) * g.OutSize())
		dx, dxOK := guarded(int(ndx%4) * g.InSize())
		w, wOK := guarded(g.WeightSize())
		m := int(n)
		if m >= 0 && lenIs(len(x), m, g.InSize()) && lenIs(len(y), m, g.OutSize()) {
			c.Forward(m, x, w, nil, y)
			if lenIs(len(dx), m, g.InSize()) {
				c.BackwardData(m, y, w, dx)
				return
			}
			assert.Contains(t, callPanic(t, func() { c.BackwardData(m, y, w, dx) }), "len(dx)")
			dxOK(t, "dx")
			return
		}
		assert.Contains(t, callPanic(t, func() { c.Forward(m, x, w, nil, y) }), "conv: ")
		for _, ok := range []func(*testing.T, string){xOK, yOK, wOK, dxOK} {
			ok(t, "Forward")
		}
	})
}

// TestPaddedTooLarge checks that a layer whose zero-padded image would
// not fit the implicit passes' workspace (2^31-1 floats) takes im2col: a
// 65536 x 16384 kernel over an image of that size has one output, but a
// padded plane of 2^30 floats, twice that with the row of ones.
func TestPaddedTooLarge(t *testing.T) {
	big := Geometry{InC: 1, InH: 1 << 16, InW: 1 << 14, OutC: 1, KH: 1 << 16, KW: 1 << 14, StrideH: 1, StrideW: 1}
	small := Geometry{InC: 1, InH: 1 << 10, InW: 1 << 10, OutC: 1, KH: 1 << 10, KW: 1 << 10, StrideH: 1, StrideW: 1}
	for _, tc := range []struct {
		g    Geometry
		want bool
	}{{big, false}, {small, true}} {
		require.NoError(t, tc.g.Check())
		c, err := New(tc.g)
		require.NoError(t, err)
		c.lim.implicit = implicitAlways
		c.pl = makePlan(1, c.d.p, c.d.k+1, c.lim)
		assert.Equal(t, tc.want, c.useImplicit(), "%v", tc.g)
	}
}

// TestHugeGeometry sets every field of a layer's and a pooling's geometry
// to values near 2^62 and 2^63-1 and to negative ones, directly and
// through the builders: Check, New and NewMaxPool2D must return an error
// naming a field, never panic or allocate for them.
func TestHugeGeometry(t *testing.T) {
	huge := []int{1 << 62, 1<<62 + 1, math.MaxInt, math.MaxInt - 1, 1 << 31, -1, -1 << 62, math.MinInt}
	convFields := []string{"InC", "InH", "InW", "OutC", "KH", "KW", "StrideH", "StrideW", "PadTop", "PadBottom", "PadLeft", "PadRight"}
	poolFields := []string{"C", "InH", "InW", "KH", "KW", "StrideH", "StrideW", "PadTop", "PadBottom", "PadLeft", "PadRight"}
	for _, v := range huge {
		for _, f := range convFields {
			g := Same(3, 8, 8, 4, 3, 1)
			reflect.ValueOf(&g).Elem().FieldByName(f).SetInt(int64(v))
			want := fmt.Sprintf("Geometry.%s = %d", f, v)
			err := g.Check()
			require.Error(t, err, want)
			assert.Contains(t, err.Error(), want)
			_, err = New(g)
			require.Error(t, err, want)
		}
		for _, f := range poolFields {
			g := Pool(3, 8, 8, 2, 2)
			reflect.ValueOf(&g).Elem().FieldByName(f).SetInt(int64(v))
			want := fmt.Sprintf("PoolGeometry.%s = %d", f, v)
			err := g.Check()
			require.Error(t, err, want)
			assert.Contains(t, err.Error(), want)
			_, err = NewMaxPool2D(g)
			require.Error(t, err, want)
		}
		// The builders compute padding from the sizes: with huge ones it
		// overflows, and Check must still name a field.
		for _, g := range []Geometry{
			Same(v, 8, 8, 4, 3, 1), Same(3, v, 8, 4, 3, 1), Same(3, 8, v, 4, 3, 1), Same(3, 8, 8, v, 3, 1),
			Same(3, 8, 8, 4, v, 1), Same(3, 8, 8, 4, 3, v), Valid(3, v, v, 4, v, v),
		} {
			err := g.Check()
			require.Error(t, err, "%+v", g)
			assert.Regexp(t, `^conv: (Geometry\.[A-Za-z]+ = |kernel (height|width))`, err.Error())
		}
		for _, g := range []PoolGeometry{
			PoolSame(v, 8, 8, 2, 2), PoolSame(3, v, 8, 2, 2), PoolSame(3, 8, v, 2, 2), PoolSame(3, 8, 8, v, 2),
			PoolSame(3, 8, 8, 2, v), Pool(3, v, v, v, v),
		} {
			err := g.Check()
			require.Error(t, err, "%+v", g)
			assert.Regexp(t, `^conv: (PoolGeometry\.[A-Za-z]+ = |pooling window)`, err.Error())
		}
	}
}
