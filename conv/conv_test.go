package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testLimits are the cuts every geometry is run with: the default; tiny
// ones that cut images into tiles ending mid-row, chunks of three rows
// (which straddle channels) and a block per image; small ones that group
// a few images per tile and block; and the last two again with the
// implicit forward pass wherever it applies (the first two never take it).
var testLimits = []limits{
	defaultLimits,
	// The batched pass's tiles: with AVX-512 (32 images at a time), rows of
	// five outputs take 160 columns, of which 200 hold one row a tile and
	// 400 two, so five rows make tiles of 2, 2 and 1; with AVX2 (16) the
	// other way round.
	{tileCols: 16, groupBelow: 16, budget: 1, minRows: 3, blockCols: 16, minBlockCols: 8, implicit: implicitNever, batchCols: 200},
	{tileCols: 60, groupBelow: 40, budget: 300, minRows: 5, blockCols: 100, minBlockCols: 30, implicit: implicitNever, batchCols: 400},
	{tileCols: 16, groupBelow: 16, budget: 1, minRows: 3, blockCols: 16, minBlockCols: 8, implicit: implicitAlways, batchCols: 200},
	{tileCols: 60, groupBelow: 40, budget: 300, minRows: 5, blockCols: 100, minBlockCols: 30, implicit: implicitAlways, batchCols: 400},
	// The Winograd pass wherever it applies: an image a group (images of
	// one or two tiles in pairs), and groups of up to 40 tiles with tiny
	// cuts for the passes it does not take.
	withWinograd(defaultLimits, 2),
	withWinograd(limits{tileCols: 16, groupBelow: 16, budget: 1, minRows: 3, blockCols: 16, minBlockCols: 8, implicit: implicitNever, batchCols: 200}, 40),
	// The whole-image Winograd pass wherever it applies.
	withWhole(defaultLimits),
}

// withWhole returns lim with the whole-image Winograd pass wherever it
// applies.
func withWhole(lim limits) limits {
	lim.whole = wholeAlways
	return lim
}

// withWinograd returns lim with the Winograd pass wherever it applies,
// its groups of about tiles tiles.
func withWinograd(lim limits, tiles int) limits {
	lim.winograd, lim.winogradTiles = winogradAlways, tiles
	return lim
}

// convCases returns the geometries of the correctness tests: every kernel
// size 1, 3, 5 with stride 1 and 2 and padding 0, 1, 2 on odd and even
// random sizes, plus asymmetric padding, non-square kernels and the
// helpers' shapes.
func convCases(r *rand.Rand) []Geometry {
	var gs []Geometry
	for _, k := range []int{1, 3, 5} {
		for _, s := range []int{1, 2} {
			for _, p := range []int{0, 1, 2} {
				h := k + 1 + r.IntN(9) - 2*p
				h = max(h, max(1, k-2*p))
				w := max(k+r.IntN(8)-2*p, max(1, k-2*p))
				if r.IntN(2) == 0 {
					h |= 1 // odd
				}
				gs = append(gs, Geometry{
					InC: 1 + r.IntN(3), InH: h, InW: w, OutC: 1 + r.IntN(5),
					KH: k, KW: k, StrideH: s, StrideW: s,
					PadTop: p, PadBottom: p, PadLeft: p, PadRight: p,
				})
			}
		}
	}
	return append(gs,
		Geometry{InC: 2, InH: 7, InW: 9, OutC: 3, KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadTop: 0, PadBottom: 2, PadLeft: 1, PadRight: 0},
		Geometry{InC: 3, InH: 11, InW: 6, OutC: 4, KH: 1, KW: 5, StrideH: 1, StrideW: 3, PadTop: 1, PadBottom: 0, PadLeft: 2, PadRight: 2},
		Same(1, 28, 28, 4, 3, 1),  // the first layer of the reference network
		Same(3, 9, 10, 5, 4, 2),   // even kernel, stride 2: asymmetric
		Same(2, 13, 13, 3, 5, 1),  // image cut mid-row
		Valid(4, 10, 12, 2, 3, 2), // no padding
		Same(2, 5, 5, 3, 3, 1),    // forward bias: tiles start from it at n = 1, a row of ones at n = 7
		Geometry{InC: 1, InH: 3, InW: 3, OutC: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 4, PadBottom: 4, PadLeft: 4, PadRight: 4}, // outputs all padding
		Same(20, 4, 5, 3, 3, 1), // the filters flipped for the backward data pass in two blocks of channels
		Same(18, 4, 3, 2, 5, 1), // the same without flip9
		Same(2, 3, 4, 40, 3, 1), // a batch in one tile: its output gradient gathered in two parts
		Same(5, 3, 3, 4, 3, 1),  // the whole-image Winograd pass's sizes
		Same(3, 4, 4, 6, 3, 1),
		Same(4, 2, 4, 3, 3, 1),
		Same(3, 7, 5, 4, 3, 1), // 2 x 2 tiles
	)
}

func TestConvAgainstDirect(t *testing.T) {
	r := testkit.Rand(1)
	for _, g := range convCases(r) {
		require.NoError(t, g.Check(), "%v", g)
		for _, n := range []int{1, 7} {
			x := testkit.Uniform(r, n*g.InSize(), -1, 1)
			w := testkit.Uniform(r, g.WeightSize(), -1, 1)
			bias := testkit.Uniform(r, g.OutC, -1, 1)
			dy := testkit.Uniform(r, n*g.OutSize(), -1, 1)
			yWant, yAbs := refForward(g, n, x, w, bias)
			y0Want, y0Abs := refForward(g, n, x, w, nil)
			dxWant, dxAbs, dwWant, dwAbs, dbWant, dbAbs := refBackward(g, n, x, w, dy)
			for li, lim := range testLimits {
				t.Run(fmt.Sprintf("%v/n=%d/limits=%d", g, n, li), func(t *testing.T) {
					c, err := New(g)
					require.NoError(t, err)
					c.lim = lim
					// The whole-image Winograd pass (forward, and so dx)
					// rounds up to ~30 times as much (TestWholeAccuracy).
					slack := 1
					if c.useWhole() {
						slack = wholeSlack
					}
					terms := (g.InC*g.KH*g.KW + 1) * slack

					y := make([]float32, n*g.OutSize())
					c.Forward(n, x, w, bias, y)
					requireClose(t, "y", y, yWant, yAbs, terms)
					c.Forward(n, x, w, nil, y)
					requireClose(t, "y (no bias)", y, y0Want, y0Abs, terms)

					dx := make([]float32, n*g.InSize())
					dw := make([]float32, g.WeightSize())
					db := make([]float32, g.OutC)
					fill(dx, float32(math.NaN())) // outputs are overwritten, never read
					fill(dw, float32(math.NaN()))
					fill(db, float32(math.NaN()))
					c.Backward(n, x, w, dy, dx, dw, db)
					requireClose(t, "dx", dx, dxWant, dxAbs, g.OutC*g.KH*g.KW*slack)
					requireClose(t, "dw", dw, dwWant, dwAbs, n*g.OutH()*g.OutW())
					requireClose(t, "dbias", db, dbWant, dbAbs, n*g.OutH()*g.OutW())

					// The halves give the same results as the whole.
					dx2 := make([]float32, len(dx))
					c.BackwardData(n, dy, w, dx2)
					assert.Equal(t, dx, dx2, "BackwardData")
					dw2 := make([]float32, len(dw))
					db2 := make([]float32, len(db))
					c.BackwardWeights(n, x, dy, dw2, db2)
					assert.Equal(t, dw, dw2, "BackwardWeights dw")
					assert.Equal(t, db, db2, "BackwardWeights dbias")
					c.BackwardWeights(n, x, dy, dw2, nil)
					requireClose(t, "dw (no bias)", dw2, dwWant, dwAbs, n*g.OutH()*g.OutW())
				})
			}
		}
	}
}

// TestConvFiniteDifferences checks the gradients as derivatives: for the
// loss L = sum(y*r), central differences of L in single inputs, weights
// and biases must match dx, dw and dbias.
func TestConvFiniteDifferences(t *testing.T) {
	r := testkit.Rand(2)
	for _, g := range []Geometry{
		Same(2, 9, 7, 3, 3, 1),
		Same(3, 8, 8, 2, 5, 2),
		Valid(2, 9, 9, 4, 3, 2),
		{InC: 1, InH: 6, InW: 5, OutC: 2, KH: 2, KW: 3, StrideH: 1, StrideW: 2, PadTop: 1, PadRight: 2},
	} {
		t.Run(g.String(), func(t *testing.T) {
			const n = 3
			c, err := New(g)
			require.NoError(t, err)
			x := testkit.Uniform(r, n*g.InSize(), -1, 1)
			w := testkit.Uniform(r, g.WeightSize(), -1, 1)
			bias := testkit.Uniform(r, g.OutC, -1, 1)
			rr := testkit.Uniform(r, n*g.OutSize(), -1, 1)
			y := make([]float32, n*g.OutSize())
			loss := func() float64 {
				c.Forward(n, x, w, bias, y)
				var l float64
				for i, v := range y {
					l += float64(v) * float64(rr[i])
				}
				return l
			}
			dx := make([]float32, len(x))
			dw := make([]float32, len(w))
			db := make([]float32, len(bias))
			c.Backward(n, x, w, rr, dx, dw, db)

			const h = 1.0 / 64 // exact in float32; L is linear in each variable
			probe := func(name string, v []float32, grad []float32) {
				for _, i := range r.Perm(len(v))[:min(len(v), 12)] {
					old := v[i]
					v[i] = old + h
					lp := loss()
					v[i] = old - h
					lm := loss()
					v[i] = old
					fd := (lp - lm) / (2 * h)
					assert.InDelta(t, fd, float64(grad[i]), 1e-3*(1+math.Abs(fd)), "%s[%d]", name, i)
				}
			}
			probe("x", x, dx)
			probe("w", w, dw)
			probe("bias", bias, db)
		})
	}
}

func TestConvBatchZero(t *testing.T) {
	g := Same(2, 5, 5, 3, 3, 1)
	c, err := New(g)
	require.NoError(t, err)
	c.Forward(0, nil, make([]float32, g.WeightSize()), nil, nil)
	dw := []float32{1, 2}
	dw = append(dw, make([]float32, g.WeightSize()-2)...)
	db := []float32{1, 2, 3}
	c.Backward(0, nil, nil, nil, nil, dw, db)
	assert.Equal(t, make([]float32, g.WeightSize()), dw)
	assert.Equal(t, []float32{0, 0, 0}, db)
}

func TestGeometry(t *testing.T) {
	for _, tc := range []struct {
		g                   Geometry
		oh, ow              int
		top, bottom, lt, rt int
	}{
		{Same(1, 28, 28, 32, 3, 1), 28, 28, 1, 1, 1, 1},
		{Same(1, 7, 7, 1, 3, 2), 4, 4, 1, 1, 1, 1},
		{Same(1, 8, 8, 1, 3, 2), 4, 4, 0, 1, 0, 1},
		{Same(1, 9, 6, 1, 4, 1), 9, 6, 1, 2, 1, 2},
		{Same(1, 5, 5, 1, 1, 2), 3, 3, 0, 0, 0, 0},
		{Valid(1, 28, 28, 1, 5, 1), 24, 24, 0, 0, 0, 0},
		{Valid(1, 28, 27, 1, 3, 2), 13, 13, 0, 0, 0, 0},
	} {
		g := tc.g
		require.NoError(t, g.Check(), "%v", g)
		assert.Equal(t, tc.oh, g.OutH(), "%v", g)
		assert.Equal(t, tc.ow, g.OutW(), "%v", g)
		assert.Equal(t, [4]int{tc.top, tc.bottom, tc.lt, tc.rt}, [4]int{g.PadTop, g.PadBottom, g.PadLeft, g.PadRight}, "%v", g)
	}
	g := Same(3, 10, 12, 4, 3, 1)
	assert.Equal(t, 3*10*12, g.InSize())
	assert.Equal(t, 4*10*12, g.OutSize())
	assert.Equal(t, 4*3*9, g.WeightSize())
	assert.Equal(t, 2.0*4*10*12*3*9, g.FLOPs())
}

func TestGeometryCheck(t *testing.T) {
	ok := Same(2, 8, 8, 3, 3, 1)
	for _, tc := range []struct {
		mod  func(*Geometry)
		want string
	}{
		{func(g *Geometry) { g.InC = 0 }, "InC = 0"},
		{func(g *Geometry) { g.InH = -1 }, "InH = -1"},
		{func(g *Geometry) { g.OutC = 0 }, "OutC = 0"},
		{func(g *Geometry) { g.KW = 0 }, "KW = 0"},
		{func(g *Geometry) { g.StrideH = 0 }, "StrideH = 0"},
		{func(g *Geometry) { g.PadLeft = -2 }, "PadLeft = -2"},
		{func(g *Geometry) { g.KH = 11 }, "kernel height KH = 11"},
		{func(g *Geometry) { g.KW = 12 }, "kernel width KW = 12"},
		{func(g *Geometry) { g.InC, g.InH, g.InW = 1<<20, 1<<10, 1<<10 }, "too large"},
	} {
		g := ok
		tc.mod(&g)
		err := g.Check()
		require.Error(t, err, tc.want)
		assert.Contains(t, err.Error(), tc.want)
		_, err = New(g)
		require.Error(t, err, tc.want)
	}
}

func TestConvPanicsNameTheArgument(t *testing.T) {
	g := Same(2, 5, 5, 3, 3, 1)
	c, err := New(g)
	require.NoError(t, err)
	const n = 2
	x := make([]float32, n*g.InSize())
	w := make([]float32, g.WeightSize())
	b := make([]float32, g.OutC)
	y := make([]float32, n*g.OutSize())
	dx := make([]float32, len(x))
	dw := make([]float32, len(w))
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"x short", func() { c.Forward(n, x[1:], w, b, y) }, "len(x) = 99, want n*InC*InH*InW = 2*50 = 100"},
		{"w long", func() { c.Forward(n, x, append(w, 0), b, y) }, "len(w) = 55, want OutC*InC*KH*KW = 54"},
		{"bias", func() { c.Forward(n, x, w, b[:2], y) }, "len(bias) = 2, want OutC = 3"},
		{"y", func() { c.Forward(n, x, w, b, y[:70]) }, "len(y)"},
		{"negative n", func() { c.Forward(-1, x, w, b, y) }, "n = -1"},
		{"batch mismatch", func() { c.Forward(3, x, w, b, y) }, "len(x) = 100, want n*InC*InH*InW = 3*50"},
		{"dy", func() { c.Backward(n, x, w, y[1:], dx, dw, b) }, "len(dy)"},
		{"dx", func() { c.Backward(n, x, w, y, dx[1:], dw, b) }, "len(dx)"},
		{"w for dx", func() { c.Backward(n, x, nil, y, dx, nil, nil) }, "len(w) = 0"},
		{"dw", func() { c.Backward(n, x, w, y, dx, dw[1:], b) }, "len(dw)"},
		{"x for dw", func() { c.BackwardWeights(n, nil, y, dw, b) }, "len(x) = 0"},
		{"dbias", func() { c.BackwardWeights(n, x, y, dw, b[1:]) }, "len(dbias)"},
		{"dbias alone", func() { c.Backward(n, x, w, y, dx, nil, b) }, "dbias without dw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(tc.f)
			assert.Contains(t, msg, tc.want)
		})
	}
}

// panicMessage runs f and returns what it panicked with ("" if nothing).
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// actKernels are the activations of ForwardAct and BackwardAct with the
// act kernels of ks that they must equal, forward and backward.
func actKernels(ks *kernels.Set) []struct {
	a    Activation
	fwd  func(dst, x []float32)
	grad func(dx, dy, y []float32)
} {
	return []struct {
		a    Activation
		fwd  func(dst, x []float32)
		grad func(dx, dy, y []float32)
	}{{SELU, ks.Act.SELU, ks.Act.SELUGrad}, {ReLU, ks.Act.ReLU, ks.Act.ReLUGrad}}
}

// forEachCut calls f with a new Conv2D for every test geometry and batch
// size (1 and 7), every kernel set and every cut (testLimits): tiles of
// part of an image and of several images, chunks. data(g, n) is called
// once per geometry and batch size.
func forEachCut(t *testing.T, data func(g Geometry, n int), f func(c *Conv2D, g Geometry, n int, what string)) {
	r := testkit.Rand(9)
	for _, g := range convCases(r) {
		for _, n := range []int{1, 7} {
			data(g, n)
			for _, ks := range kernels.Sets() {
				for li, lim := range testLimits {
					c, err := New(g)
					require.NoError(t, err)
					c.lim = lim
					c.d.ks = ks
					f(c, g, n, fmt.Sprintf("%v n=%d %s limits=%d", g, n, ks.ISA, li))
				}
			}
		}
	}
}

// TestForwardAct checks that ForwardAct equals Forward followed by the
// activation over the whole output, bit for bit, with every kernel set and
// every cut.
func TestForwardAct(t *testing.T) {
	r := testkit.Rand(10)
	var x, w, bias []float32
	forEachCut(t, func(g Geometry, n int) {
		x = testkit.Uniform(r, n*g.InSize(), -3, 3)
		w = testkit.Uniform(r, g.WeightSize(), -1, 1)
		bias = testkit.Uniform(r, g.OutC, -1, 1)
	}, func(c *Conv2D, g Geometry, n int, what string) {
		plain := make([]float32, n*g.OutSize())
		c.Forward(n, x, w, bias, plain)
		got := make([]float32, len(plain))
		c.ForwardAct(n, x, w, bias, got, Identity)
		requireSameBits(t, [][]float32{plain}, [][]float32{got}, what+" Identity")
		for _, k := range actKernels(c.d.ks) {
			want := append([]float32(nil), plain...)
			k.fwd(want, want)
			c.ForwardAct(n, x, w, bias, got, k.a)
			requireSameBits(t, [][]float32{want}, [][]float32{got}, fmt.Sprintf("%s activation %d", what, k.a))
		}
	})
	c, err := New(Same(1, 4, 4, 2, 3, 1))
	require.NoError(t, err)
	assert.PanicsWithValue(t, "conv: unknown activation 3", func() {
		c.ForwardAct(1, make([]float32, 16), make([]float32, 18), nil, make([]float32, 32), 3)
	})
}

// TestBackwardAct checks that BackwardAct's dx equals Backward's multiplied
// by the activation's derivative at x, bit for bit, and that the weight
// gradients are Backward's, on the transposed-convolution path (stride 1)
// and the col2im path, with every kernel set and every cut.
func TestBackwardAct(t *testing.T) {
	r := testkit.Rand(11)
	var x, w, dy []float32
	forEachCut(t, func(g Geometry, n int) {
		x = testkit.Uniform(r, n*g.InSize(), -1.8, 3)
		w = testkit.Uniform(r, g.WeightSize(), -1, 1)
		dy = testkit.Uniform(r, n*g.OutSize(), -1, 1)
	}, func(c *Conv2D, g Geometry, n int, what string) {
		dx := make([]float32, n*g.InSize())
		dw := make([]float32, g.WeightSize())
		db := make([]float32, g.OutC)
		c.Backward(n, x, w, dy, dx, dw, db)
		for _, k := range actKernels(c.d.ks) {
			want := append([]float32(nil), dx...)
			k.grad(want, want, x)
			got := make([]float32, len(dx))
			dw2 := make([]float32, len(dw))
			db2 := make([]float32, len(db))
			c.BackwardAct(n, x, w, dy, got, dw2, db2, k.a)
			msg := fmt.Sprintf("%s activation %d", what, k.a)
			requireSameBits(t, [][]float32{want, dw, db}, [][]float32{got, dw2, db2}, msg)
			// Data gradient alone, the path a first layer never takes.
			c.BackwardAct(n, x, w, dy, got, nil, nil, k.a)
			requireSameBits(t, [][]float32{want}, [][]float32{got}, msg+" (dx only)")
		}
	})
	c, err := New(Same(1, 4, 4, 2, 3, 1))
	require.NoError(t, err)
	assert.PanicsWithValue(t, "conv: len(x) = 0, want InC*InH*InW = 16 (layer 1x4x4 -> 2x4x4, kernel 3x3, stride 1x1, pad t1 b1 l1 r1)", func() {
		c.BackwardAct(1, nil, make([]float32, 18), make([]float32, 32), make([]float32, 16), nil, nil, SELU)
	})
}
