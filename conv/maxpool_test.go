package conv

import (
	"fmt"
	"math"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func poolCases() []PoolGeometry {
	return []PoolGeometry{
		Pool(3, 8, 8, 2, 2),
		Pool(2, 7, 9, 2, 2),  // odd: last row and column dropped
		Pool(3, 6, 70, 2, 2), // a vector and a half of outputs per row
		Pool(1, 28, 28, 2, 2),
		Pool(2, 3, 3, 2, 2),
		Pool(2, 9, 8, 3, 2), // overlapping windows
		Pool(1, 6, 7, 3, 1),
		Pool(2, 10, 11, 3, 3),
		Pool(1, 5, 5, 1, 1),
		PoolSame(2, 7, 9, 2, 2), // bottom/right padding, 2x2 fast path
		PoolSame(2, 7, 6, 3, 2), // padding on every side
		{C: 2, InH: 6, InW: 9, KH: 2, KW: 3, StrideH: 1, StrideW: 2, PadTop: 1, PadLeft: 2, PadRight: 1},
	}
}

func TestMaxPoolAgainstDirect(t *testing.T) {
	r := testkit.Rand(4)
	for _, g := range poolCases() {
		for _, n := range []int{1, 7} {
			for _, ties := range []bool{false, true} {
				for _, ks := range kernels.Sets() {
					t.Run(fmt.Sprintf("%v/n=%d/ties=%v/%s", g, n, ties, ks.ISA), func(t *testing.T) {
						require.NoError(t, g.Check())
						p, err := NewMaxPool2D(g)
						require.NoError(t, err)
						p.ks = ks
						x := testkit.Uniform(r, n*g.InSize(), -1, 1)
						if ties {
							// Three values only: most windows hold a tie
							// for their maximum.
							for i := range x {
								x[i] = float32(r.IntN(3))
							}
						}
						dy := testkit.Uniform(r, n*g.OutSize(), -1, 1)
						yWant, amWant, dxWant := refPool(g, n, x, dy)

						y := make([]float32, n*g.OutSize())
						am := make([]int32, len(y))
						p.Forward(n, x, y, am)
						require.Equal(t, yWant, y)
						require.Equal(t, amWant, am, "argmax: first maximum in row-major window order")

						y2 := make([]float32, len(y))
						p.Forward(n, x, y2, nil)
						require.Equal(t, y, y2, "without argmax")

						dx := make([]float32, n*g.InSize())
						fill(dx, float32(math.NaN()))
						p.Backward(n, dy, am, dx)
						// Each input adds at most KH*KW gradients, in output
						// order; one float32 rounding per addition.
						for i, want := range dxWant {
							assert.InDelta(t, want, float64(dx[i]), 1e-6*float64(g.KH*g.KW), "dx[%d]", i)
						}
					})
				}
			}
		}
	}
}

func TestMaxPoolNaN(t *testing.T) {
	nan := float32(math.NaN())
	p, err := NewMaxPool2D(Pool(1, 2, 6, 2, 2))
	require.NoError(t, err)
	x := []float32{
		1, nan, 5, 6, nan, 0,
		2, 3, nan, 7, 1, nan,
	}
	y := make([]float32, 3)
	am := make([]int32, 3)
	p.Forward(1, x, y, am)
	assert.True(t, isNaN(y[0]) && isNaN(y[1]) && isNaN(y[2]), "NaN wins: %v", y)
	assert.Equal(t, []int32{1, 8, 4}, am, "the first NaN in window order")

	g := Pool(1, 3, 3, 3, 1) // general path
	p, err = NewMaxPool2D(g)
	require.NoError(t, err)
	x = []float32{1, 2, 3, 4, nan, 9, nan, 8, 7}
	p.Forward(1, x, y[:1], am[:1])
	assert.True(t, isNaN(y[0]))
	assert.Equal(t, int32(4), am[0])
}

// TestMaxPoolFiniteDifferences checks Backward as a derivative where no
// window has a tie (ties make the maximum non-differentiable).
func TestMaxPoolFiniteDifferences(t *testing.T) {
	r := testkit.Rand(5)
	for _, g := range []PoolGeometry{Pool(2, 6, 7, 2, 2), Pool(1, 7, 7, 3, 2), PoolSame(1, 5, 5, 2, 2)} {
		const n = 2
		p, err := NewMaxPool2D(g)
		require.NoError(t, err)
		// Distinct values a good step apart: a small change moves no
		// maximum.
		x := make([]float32, n*g.InSize())
		for i, v := range r.Perm(len(x)) {
			x[i] = float32(v) / 4
		}
		rr := testkit.Uniform(r, n*g.OutSize(), -1, 1)
		y := make([]float32, n*g.OutSize())
		am := make([]int32, len(y))
		loss := func() float64 {
			p.Forward(n, x, y, am)
			var l float64
			for i, v := range y {
				l += float64(v) * float64(rr[i])
			}
			return l
		}
		loss()
		dx := make([]float32, len(x))
		p.Backward(n, rr, am, dx)
		const h = 1.0 / 32
		for i := range x {
			old := x[i]
			x[i] = old + h
			lp := loss()
			x[i] = old - h
			lm := loss()
			x[i] = old
			assert.InDelta(t, (lp-lm)/(2*h), float64(dx[i]), 1e-5, "%v: dx[%d]", g, i)
		}
	}
}

func TestPoolGeometry(t *testing.T) {
	for _, tc := range []struct {
		g      PoolGeometry
		oh, ow int
	}{
		{Pool(1, 28, 28, 2, 2), 14, 14},
		{Pool(1, 7, 7, 2, 2), 3, 3},
		{PoolSame(1, 7, 7, 2, 2), 4, 4},
		{Pool(1, 9, 8, 3, 2), 4, 3},
		{PoolSame(1, 9, 8, 3, 2), 5, 4},
	} {
		require.NoError(t, tc.g.Check())
		assert.Equal(t, tc.oh, tc.g.OutH(), "%v", tc.g)
		assert.Equal(t, tc.ow, tc.g.OutW(), "%v", tc.g)
	}
	for _, tc := range []struct {
		mod  func(*PoolGeometry)
		want string
	}{
		{func(g *PoolGeometry) { g.C = 0 }, "C = 0"},
		{func(g *PoolGeometry) { g.KW = 0 }, "KW = 0"},
		{func(g *PoolGeometry) { g.StrideW = -1 }, "StrideW = -1"},
		{func(g *PoolGeometry) { g.PadTop = 2 }, "PadTop = 2, must be < KH = 2"},
		{func(g *PoolGeometry) { g.KH, g.InH = 9, 5 }, "window height KH = 9"},
	} {
		g := Pool(2, 8, 8, 2, 2)
		tc.mod(&g)
		err := g.Check()
		require.Error(t, err, tc.want)
		assert.Contains(t, err.Error(), tc.want)
		_, err = NewMaxPool2D(g)
		require.Error(t, err)
	}
}

func TestMaxPoolPanicsNameTheArgument(t *testing.T) {
	g := Pool(2, 4, 4, 2, 2)
	p, err := NewMaxPool2D(g)
	require.NoError(t, err)
	p.SetThreads(2) // a bad argmax in a worker's image panics in the caller too
	const n = 2
	x := make([]float32, n*g.InSize())
	y := make([]float32, n*g.OutSize())
	am := make([]int32, len(y))
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"x", func() { p.Forward(n, x[1:], y, am) }, "len(x) = 63, want n*C*InH*InW = 2*32 = 64"},
		{"y", func() { p.Forward(n, x, y[1:], am) }, "len(y) = 15"},
		{"argmax", func() { p.Forward(n, x, y, am[1:]) }, "len(argmax) = 15"},
		{"n", func() { p.Forward(-3, x, y, am) }, "n = -3"},
		{"dy", func() { p.Backward(n, y[1:], am, x) }, "len(dy)"},
		{"argmax missing", func() { p.Backward(n, y, nil, x) }, "len(argmax) = 0"},
		{"dx", func() { p.Backward(n, y, am, x[2:]) }, "len(dx)"},
		{"argmax value", func() {
			bad := make([]int32, len(am))
			bad[5] = 16
			p.Backward(n, y, bad, x)
		}, "argmax[5] = 16 is outside the 4 x 4 channel plane"},
		{"argmax value, second image", func() {
			bad := make([]int32, len(am))
			bad[13] = -1
			p.Backward(n, y, bad, x)
		}, "argmax[13] = -1 is outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Contains(t, panicMessage(tc.f), tc.want)
		})
	}
}

// TestMaxPoolBackwardAct checks that BackwardAct's dx equals Backward's
// multiplied by the activation's derivative at the input, bit for bit,
// overlapping windows and padding included.
func TestMaxPoolBackwardAct(t *testing.T) {
	r := testkit.Rand(5)
	for _, g := range poolCases() {
		for _, n := range []int{1, 7} {
			for _, ks := range kernels.Sets() {
				p, err := NewMaxPool2D(g)
				require.NoError(t, err)
				p.ks = ks
				x := testkit.Uniform(r, n*g.InSize(), -1.7, 2)
				dy := testkit.Uniform(r, n*g.OutSize(), -1, 1)
				am := make([]int32, n*g.OutSize())
				p.Forward(n, x, make([]float32, len(am)), am)
				dx := make([]float32, n*g.InSize())
				p.Backward(n, dy, am, dx)
				for _, k := range actKernels(ks) {
					want := append([]float32(nil), dx...)
					k.grad(want, want, x)
					got := make([]float32, len(dx))
					p.BackwardAct(n, dy, am, got, k.a, x)
					requireSameBits(t, [][]float32{want}, [][]float32{got},
						fmt.Sprintf("%v n=%d %s activation %d", g, n, ks.ISA, k.a))
				}
			}
		}
	}
	p, err := NewMaxPool2D(Pool(1, 4, 4, 2, 2))
	require.NoError(t, err)
	assert.Panics(t, func() { p.BackwardAct(1, make([]float32, 4), make([]int32, 4), make([]float32, 16), SELU, nil) })
}
