package conv

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parallelCases have several blocks, so lanes really share the work and
// the weight gradient is summed from several partials.
var parallelCases = []struct {
	g   Geometry
	n   int
	lim limits
}{
	{Same(3, 20, 18, 8, 3, 1), 7, testLimits[1]},  // images cut into tiles
	{Same(8, 5, 5, 16, 3, 1), 32, testLimits[2]},  // images grouped into tiles
	{Same(1, 28, 28, 8, 3, 1), 32, defaultLimits}, // the first layer's shape
	{Same(4, 9, 9, 6, 5, 2), 13, testLimits[2]},   // stride 2: col2im
	{Same(16, 12, 12, 8, 3, 1), 9, testLimits[2]}, // chunks
}

// results runs every pass once and returns the outputs.
func results(t *testing.T, c *Conv2D, n int, seed uint64) [][]float32 {
	g := c.Geometry()
	r := testkit.Rand(seed)
	x := testkit.Uniform(r, n*g.InSize(), -1, 1)
	w := testkit.Uniform(r, g.WeightSize(), -1, 1)
	b := testkit.Uniform(r, g.OutC, -1, 1)
	dy := testkit.Uniform(r, n*g.OutSize(), -1, 1)
	y := make([]float32, n*g.OutSize())
	dx := make([]float32, len(x))
	dw := make([]float32, len(w))
	db := make([]float32, len(b))
	c.Forward(n, x, w, b, y)
	c.Backward(n, x, w, dy, dx, dw, db)
	dw2 := make([]float32, len(w))
	c.BackwardWeights(n, x, dy, dw2, nil)
	return [][]float32{y, dx, dw, db, dw2}
}

func requireSameBits(t *testing.T, want, got [][]float32, what string) {
	t.Helper()
	names := []string{"y", "dx", "dw", "dbias", "dw without bias"}
	for k := range want {
		require.Len(t, got[k], len(want[k]))
		for i := range want[k] {
			if math.Float32bits(want[k][i]) != math.Float32bits(got[k][i]) {
				require.Failf(t, "not bit for bit", "%s: %s[%d] = %v, want %v", what, names[k], i, got[k][i], want[k][i])
			}
		}
	}
}

// TestConvDeterministic checks that every result is the same bit for bit
// whatever the thread count and GOMAXPROCS.
func TestConvDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range parallelCases {
		t.Run(fmt.Sprintf("%v/n=%d", tc.g, tc.n), func(t *testing.T) {
			c, err := New(tc.g)
			require.NoError(t, err)
			c.lim = tc.lim
			pl := makePlan(tc.n, c.d.p, c.d.k+1, c.lim)
			require.Greater(t, pl.blocks, 1, "a case with one block tests nothing here")

			runtime.GOMAXPROCS(1)
			c.SetThreads(0)
			want := results(t, c, tc.n, 7)
			for _, procs := range []int{1, 2} {
				runtime.GOMAXPROCS(procs)
				for _, threads := range []int{0, 1, 2, 3, 8} {
					c.SetThreads(threads)
					got := results(t, c, tc.n, 7)
					requireSameBits(t, want, got, fmt.Sprintf("GOMAXPROCS %d, threads %d", procs, threads))
				}
			}
			// A fresh layer (empty workspace) agrees too.
			c2, err := New(tc.g)
			require.NoError(t, err)
			c2.lim = tc.lim
			c2.SetThreads(2)
			requireSameBits(t, want, results(t, c2, tc.n, 7), "fresh layer, 2 threads")
		})
	}
}

func TestMaxPoolDeterministic(t *testing.T) {
	g := Pool(5, 13, 12, 3, 2)
	const n = 9
	r := testkit.Rand(8)
	x := testkit.Uniform(r, n*g.InSize(), -1, 1)
	dy := testkit.Uniform(r, n*g.OutSize(), -1, 1)
	run := func(threads int) ([]float32, []int32, []float32) {
		p, err := NewMaxPool2D(g)
		require.NoError(t, err)
		p.SetThreads(threads)
		y := make([]float32, n*g.OutSize())
		am := make([]int32, len(y))
		dx := make([]float32, len(x))
		p.Forward(n, x, y, am)
		p.Backward(n, dy, am, dx)
		return y, am, dx
	}
	y1, am1, dx1 := run(1)
	for _, threads := range []int{2, 3, 16} {
		y, am, dx := run(threads)
		assert.Equal(t, y1, y)
		assert.Equal(t, am1, am)
		assert.Equal(t, dx1, dx)
	}
}

// TestNoAllocations checks that after a first call, forward and backward
// allocate nothing, with one lane and with several.
func TestNoAllocations(t *testing.T) {
	if testkit.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	implicit := parallelCases[0]
	implicit.g, implicit.n, implicit.lim = Same(3, 5, 64, 4, 3, 1), 4, defaultLimits // the implicit forward pass
	implicit.lim.implicit = implicitAlways
	implicit.lim.groupBelow = 1 // single images: 320 positions would be grouped (batched)
	batched := parallelCases[1] // images grouped into tiles
	batched.lim.implicit = implicitAlways
	for _, tc := range append(parallelCases[:2:2], implicit, batched) {
		for _, threads := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("%v/threads=%d", tc.g, threads), func(t *testing.T) {
				g, n := tc.g, tc.n
				c, err := New(g)
				require.NoError(t, err)
				c.lim = tc.lim
				c.SetThreads(threads)
				if tc.g == implicit.g {
					c.replan(n)
					require.Equal(t, byImplicit, c.strategyName(), "the case meant for the implicit pass")
				}
				r := testkit.Rand(9)
				x := testkit.Uniform(r, n*g.InSize(), -1, 1)
				w := testkit.Uniform(r, g.WeightSize(), -1, 1)
				b := testkit.Uniform(r, g.OutC, -1, 1)
				y := make([]float32, n*g.OutSize())
				dx := make([]float32, len(x))
				dw := make([]float32, len(w))
				db := make([]float32, len(b))
				step := func() {
					c.Forward(n, x, w, b, y)
					c.Backward(n, x, w, y, dx, dw, db)
				}
				step()
				assert.Zero(t, testkit.AllocsPerRun(5, step), "forward + backward")
				assert.Zero(t, testkit.AllocsPerRun(5, func() { c.Forward(n-1, x[g.InSize():], w, nil, y[g.OutSize():]) }),
					"a smaller batch, no bias")
				assert.Zero(t, testkit.AllocsPerRun(5, func() { c.BackwardWeights(n, x, y, dw, nil) }), "weights only")
				assert.Zero(t, testkit.AllocsPerRun(5, func() { c.BackwardData(n, y, w, dx) }), "data only")

				pg := Pool(g.OutC, g.OutH(), g.OutW(), 2, 2)
				p, err := NewMaxPool2D(pg)
				require.NoError(t, err)
				p.SetThreads(threads)
				py := make([]float32, n*pg.OutSize())
				am := make([]int32, len(py))
				assert.Zero(t, testkit.AllocsPerRun(5, func() {
					p.Forward(n, y, py, am)
					p.Backward(n, py, am, y)
				}), "max-pooling")
			})
		}
	}
}

// TestConcurrentLayers runs several layers at once from several goroutines:
// they share the worker goroutines, and each must still get its own
// results, the same as alone.
func TestConcurrentLayers(t *testing.T) {
	const copies = 4
	tc := parallelCases[1]
	want := func() [][]float32 {
		c, err := New(tc.g)
		require.NoError(t, err)
		c.lim = tc.lim
		return results(t, c, tc.n, 3)
	}()
	got := make([][][]float32, copies)
	done := make(chan int)
	for i := range copies {
		go func() {
			c, err := New(tc.g)
			if err == nil {
				c.lim = tc.lim
				c.SetThreads(3)
				got[i] = results(t, c, tc.n, 3)
			}
			done <- i
		}()
	}
	for range copies {
		<-done
	}
	for i := range copies {
		requireSameBits(t, want, got[i], fmt.Sprintf("copy %d", i))
	}
}

// TestImplicitSameBits checks that the implicit forward passes (used by
// Forward and by the backward data pass, a forward convolution), single
// images and batched, give what im2col gives, bit for bit, on every kernel
// set, with and without bias, with ForwardAct's activations, and with the
// tiles cut into one output row each, on one thread and more (the
// batched pass shares tiles and their output channels between lanes).
func TestImplicitSameBits(t *testing.T) {
	cases := append([]struct {
		g   Geometry
		n   int
		lim limits
	}{
		{Geometry{InC: 2, InH: 7, InW: 9, OutC: 13, KH: 3, KW: 2, StrideH: 1, StrideW: 1, PadTop: 0, PadBottom: 2, PadLeft: 1, PadRight: 0}, 3, testLimits[1]},
		{Same(3, 6, 5, 4, 5, 1), 2, testLimits[2]},
		{Valid(5, 9, 11, 20, 3, 1), 3, testLimits[1]},
		{Same(2, 30, 40, 3, 3, 1), 2, defaultLimits}, // the bias as a row of ones
		{Same(2, 5, 64, 3, 3, 1), 2, defaultLimits},  // rows of two AVX-512 panels, read in place
		{Same(3, 9, 32, 20, 3, 1), 2, defaultLimits}, // rows of one
		{Same(4, 3, 3, 29, 3, 1), 5, defaultLimits},  // one tile: lanes share its output channels
	}, parallelCases...)
	for _, tc := range cases {
		if tc.g.StrideH != 1 {
			continue
		}
		for _, ks := range kernels.Sets() {
			t.Run(fmt.Sprintf("%v/n=%d/%s", tc.g, tc.n, ks.ISA), func(t *testing.T) {
				run := func(mode, threads int) ([][]float32, bool) {
					c, err := New(tc.g)
					require.NoError(t, err)
					c.lim = tc.lim
					c.lim.implicit = mode
					c.d.ks = ks
					c.SetThreads(threads)
					out := results(t, c, tc.n, 11)
					g := c.Geometry()
					r := testkit.Rand(12)
					x := testkit.Uniform(r, tc.n*g.InSize(), -2, 2)
					w := testkit.Uniform(r, g.WeightSize(), -1, 1)
					used := false
					for _, a := range []Activation{SELU, ReLU} {
						y := make([]float32, tc.n*g.OutSize())
						c.ForwardAct(tc.n, x, w, w[:g.OutC], y, a)
						used = c.chooseForward() != &c.im2col
						out = append(out, y)
						// The backward data pass with the derivative of a
						// at x fused: a forward pass of its own.
						dx := make([]float32, len(x))
						c.BackwardAct(tc.n, x, w, y, dx, nil, nil, a)
						out = append(out, dx)
					}
					return out, used
				}
				want, used := run(implicitNever, 0)
				require.False(t, used)
				for _, threads := range []int{1, 2, 3} {
					got, used := run(implicitAlways, threads)
					require.True(t, used, "im2col in spite of implicitAlways")
					requireSameBits(t, want[:5], got[:5], fmt.Sprintf("implicit, %d threads", threads))
					for i := 5; i < len(want); i++ {
						require.Equal(t, want[i], got[i], "ForwardAct/BackwardAct %d, %d threads", i-5, threads)
					}
				}
			})
		}
	}
}
