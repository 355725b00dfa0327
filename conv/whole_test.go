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

// wholeSlack multiplies the terms of the direct pass's tolerance
// (requireClose) for outputs of the whole-image Winograd pass: on one
// input channel of a 4 x 4 image its error reaches ~260 ulps of the sum of
// |w x|, where the direct pass's stays within 2 (TestWholeAccuracy).
const wholeSlack = 64

// TestToomCook checks F(m, 3)'s matrices against the correlation they
// compute, in float64, for every m the pass uses.
func TestToomCook(t *testing.T) {
	r := testkit.Rand(21)
	for m := 2; m <= wholeSide; m++ {
		bt, g, at := toomCook(m)
		a := m + 2
		for range 20 {
			d := make([]float64, a)
			for i := range d {
				d[i] = r.Float64()*2 - 1
			}
			f := [3]float64{r.Float64()*2 - 1, r.Float64()*2 - 1, r.Float64()*2 - 1}
			prod := make([]float64, a) // (g f) . (bt d)
			for j := range a {
				var gf, bd float64
				for k := range 3 {
					gf += g[j][k] * f[k]
				}
				for k := range a {
					bd += bt[j][k] * d[k]
				}
				prod[j] = gf * bd
			}
			for i := range m {
				var want, got float64
				for k := range 3 {
					want += f[k] * d[i+k]
				}
				for j := range a {
					got += at[i][j] * prod[j]
				}
				require.InDelta(t, want, got, 1e-12, "F(%d, 3), output %d", m, i)
			}
		}
	}
}

// TestWholeAccuracy bounds the whole-image pass's rounding on uniform
// inputs and weights, in ulps of each output's sum of |w x| (float64
// reference): the largest error and the root mean square, next to the
// direct pass's (about 2 and 0.5). The bounds are about twice what the
// interpolation points in wholePoints give; other usual points give up to
// twice as much (F(3, 3) with 2 instead of 1/2, F(4, 3) with 2 and -2).
func TestWholeAccuracy(t *testing.T) {
	cases := []struct {
		h, w, c  int
		max, rms float64
	}{
		{2, 2, 1, 40, 4},
		{2, 2, 128, 4, 1},
		{3, 3, 1, 110, 14},
		{3, 3, 16, 45, 5},
		{3, 3, 128, 25, 4},
		{4, 4, 1, 520, 35},
		{4, 4, 16, 40, 6},
		{4, 4, 128, 30, 4},
		{3, 4, 128, 30, 4},
		{7, 7, 1, 230, 13},
		{7, 7, 128, 30, 3},
		{5, 6, 16, 40, 3},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d/c=%d", tc.h, tc.w, tc.c), func(t *testing.T) {
			const n = 16
			g := Same(tc.c, tc.h, tc.w, 8, 3, 1)
			r := testkit.Rand(5)
			x := testkit.Uniform(r, n*g.InSize(), -1, 1)
			w := testkit.Uniform(r, g.WeightSize(), -1, 1)
			want, abs := refForward(g, n, x, w, nil)
			c, err := New(g)
			require.NoError(t, err)
			c.lim = withWhole(c.lim)
			require.Equal(t, byWhole, c.strategyName())
			y := make([]float32, len(want))
			c.Forward(n, x, w, nil, y)
			var worst, sq float64
			for i := range y {
				e := math.Abs(float64(y[i])-want[i]) / (math.Ldexp(1, -24) * abs[i])
				worst = max(worst, e)
				sq += e * e
			}
			rms := math.Sqrt(sq / float64(len(y)))
			t.Logf("largest error %.1f ulps of sum |w x|, rms %.2f", worst, rms)
			assert.LessOrEqual(t, worst, tc.max, "largest error")
			assert.LessOrEqual(t, rms, tc.rms, "rms error")
		})
	}
}

// TestWhole checks the whole-image pass on square and oblong images, in
// one unit of images and in several, one block of output channels and
// several (a tiny cache budget): the same bits on 1 and 3 threads
// and on every kernel set whose GEMM gives the active one's bits, for y
// and for dx (the transposed layer's forward pass takes it too), call
// after call with other batch sizes between, allocating nothing once
// sized.
func TestWhole(t *testing.T) {
	cases := []struct {
		g      Geometry
		n      int
		budget int // limits.budget, or 0 for the default
	}{
		{Same(5, 3, 3, 6, 3, 1), 3, 0},
		{Same(3, 4, 4, 4, 3, 1), 1, 0},
		{Same(4, 2, 3, 5, 3, 1), 2*wholeImgs + 3, 0},
		{Same(6, 4, 2, 3, 3, 1), wholeImgs, 0},
		{Same(2, 2, 2, 7, 3, 1), wholeImgs + 1, 0},
		{Same(3, 3, 3, 61, 3, 1), 5, 1},             // blocks of 12 channels and one element, the last block part
		{Same(3, 3, 3, 61, 3, 1), 5, 48 * 3 * 8},    // blocks of 48 channels and 7 elements
		{Same(2, 3, 4, 40, 3, 1), wholeImgs + 2, 1}, // and two units
		{Same(3, 7, 7, 5, 3, 1), 4, 0},              // 2 x 2 tiles: 4x4, 4x3, 3x4, 3x3
		{Same(2, 5, 3, 4, 3, 1), 3, 0},              // 2 x 1 tiles
		{Same(4, 6, 7, 50, 3, 1), 9, 1},             // 2 x 2 tiles, blocks
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v/n=%d/budget=%d", tc.g, tc.n, tc.budget), func(t *testing.T) {
			g, n := tc.g, tc.n
			r := testkit.Rand(uint64(n))
			x := testkit.Uniform(r, n*g.InSize(), -1, 1)
			w := testkit.Uniform(r, g.WeightSize(), -1, 1)
			b := testkit.Uniform(r, g.OutC, -1, 1)
			dy := testkit.Uniform(r, n*g.OutSize(), -1, 1)
			yWant, yAbs := refForward(g, n, x, w, b)
			dxWant, dxAbs, _, _, _, _ := refBackward(g, n, x, w, dy)
			var y1, dx1 []float32
			for _, ks := range kernels.Sets() {
				if !sameGemmBits(ks, kernels.Active()) {
					continue
				}
				for _, threads := range []int{1, 3} {
					c, err := New(g)
					require.NoError(t, err)
					c.lim = withWhole(c.lim)
					if tc.budget > 0 {
						c.lim.budget = tc.budget
						ob, eb := c.wholeBlock((g.InH + 2) * (g.InW + 2))
						require.Less(t, eb, (g.InH+2)*(g.InW+2), "several blocks of U's elements")
						require.LessOrEqual(t, ob, g.OutC)
					}
					c.d.ks = ks
					c.SetThreads(threads)
					require.Equal(t, byWhole, c.strategyName())
					what := fmt.Sprintf("%s, %d threads", ks.ISA, threads)
					y := make([]float32, len(yWant))
					dx := make([]float32, n*g.InSize())
					c.Forward(n, x, w, b, y)
					c.BackwardData(n, dy, w, dx)
					if y1 == nil {
						requireClose(t, "y", y, yWant, yAbs, (g.InC*9+1)*wholeSlack)
						requireClose(t, "dx", dx, dxWant, dxAbs, g.OutC*9*wholeSlack)
						y1, dx1 = y, dx
					}
					requireSameBits(t, [][]float32{y1, dx1}, [][]float32{y, dx}, what)
					// A smaller batch, then this one again: the same bits,
					// and nothing allocated.
					c.Forward(1, x[:g.InSize()], w, b, y[:g.OutSize()])
					c.Forward(n, x, w, b, y)
					requireSameBits(t, [][]float32{y1}, [][]float32{y}, what+", again")
					allocs := testing.AllocsPerRun(2, func() { c.Forward(n, x, w, b, y) })
					assert.Zero(t, allocs, "%s: allocations per call", what)
				}
			}
		})
	}
}

// TestWholeBlock checks the blocks of U on the budgets of three L2s
// (half of a core's share, in floats): 2 MiB (the Sapphire Rapids Xeon),
// 512 KiB (Zen 3) and 256 KiB (a client core), and on budgets too small
// for any block: whole blocks of 48 channels while wholeElements elements
// fit, fewer channels in steps of 12 otherwise, never more channels than
// the layer has.
func TestWholeBlock(t *testing.T) {
	const xeon, zen3, client = 1 << 18, 1 << 16, 1 << 15
	cases := []struct {
		name           string
		inC, outC, e   int
		budget         int
		wantOB, wantEB int
	}{
		{"256 -> 256 on 3 px, 2 MiB L2: 21 elements fit, 2 blocks", 256, 256, 25, xeon, 48, 13},
		{"256 -> 256 on 3 px, 512 KiB: 24 channels by 10, 3 blocks", 256, 256, 25, zen3, 24, 9},
		{"256 -> 256 on 3 px, 256 KiB: 12 channels by 10, 3 blocks", 256, 256, 25, client, 12, 9},
		{"128 -> 128 on 7 px (121 elements), 256 KiB", 128, 128, 121, client, 24, 10},
		{"128 -> 128 on 7 px, 2 MiB", 128, 128, 121, xeon, 48, 41},
		{"nothing fits: 12 channels, one element", 256, 256, 25, 1000, 12, 1},
		{"32 output channels, 256 KiB", 256, 32, 25, client, 12, 9},
		{"8 output channels, 256 KiB: all 8", 256, 8, 25, client, 8, 13},
		{"8 output channels, 1024 inputs: fewer elements", 1024, 8, 25, client, 8, 4},
		{"fewer elements than wholeElements: whole", 32, 64, 4, client, 48, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Same(tc.inC, 3, 3, tc.outC, 3, 1))
			require.NoError(t, err)
			c.lim.budget = tc.budget
			ob, eb := c.wholeBlock(tc.e)
			assert.Equal(t, [2]int{tc.wantOB, tc.wantEB}, [2]int{ob, eb})
		})
	}
}

// TestUseWhole checks which layers take the whole-image pass: 3x3, stride
// 1, one pixel of padding, images of 2 to 7 pixels a side, and input and
// output channels from 2*NR on (32 with AVX2, 64 with AVX-512) for images
// of one tile, 4*NR for those of two tiles a side (5 to 7 pixels); that it
// comes before the tiled pass; and that the modes of limits override the
// channels but not the geometry.
func TestUseWhole(t *testing.T) {
	cases := []struct {
		name string
		g    Geometry
		want [2]bool // with NR 16 and 32
		fits bool
	}{
		{"SeedNet 28x28, stage 4's first layer", Same(128, 3, 3, 256, 3, 1), [2]bool{true, true}, true},
		{"SeedNet 28x28, stage 4", Same(256, 3, 3, 256, 3, 1), [2]bool{true, true}, true},
		{"its backward data pass", Same(256, 3, 3, 128, 3, 1), [2]bool{true, true}, true},
		{"SeedNet 28x28, stage 3's first layer", Same(64, 7, 7, 128, 3, 1), [2]bool{true, false}, true},
		{"SeedNet 28x28, stage 3", Same(128, 7, 7, 128, 3, 1), [2]bool{true, true}, true},
		{"4 px", Same(64, 4, 4, 64, 3, 1), [2]bool{true, true}, true},
		{"2 px", Same(512, 2, 2, 512, 3, 1), [2]bool{true, true}, true},
		{"oblong", Same(64, 2, 4, 64, 3, 1), [2]bool{true, true}, true},
		{"32 channels", Same(32, 3, 3, 32, 3, 1), [2]bool{true, false}, true},
		{"63 input channels", Same(63, 4, 4, 256, 3, 1), [2]bool{true, false}, true},
		{"31 output channels", Same(256, 3, 3, 31, 3, 1), [2]bool{false, false}, true},
		{"5 px, 32 channels", Same(32, 5, 5, 32, 3, 1), [2]bool{false, false}, true},
		{"6 px, 64 channels", Same(64, 6, 6, 64, 3, 1), [2]bool{true, false}, true},
		{"4 x 5, 127 channels", Same(256, 4, 5, 127, 3, 1), [2]bool{true, false}, true},
		{"8 px", Same(256, 8, 8, 256, 3, 1), [2]bool{}, false},
		{"7 x 9", Same(256, 7, 9, 256, 3, 1), [2]bool{}, false},
		{"1 px", Same(256, 1, 1, 256, 3, 1), [2]bool{}, false},
		{"stride 2", Same(256, 4, 4, 256, 3, 2), [2]bool{}, false},
		{"5x5", Same(256, 4, 4, 256, 5, 1), [2]bool{}, false},
		{"no padding", Valid(256, 5, 5, 256, 3, 1), [2]bool{}, false},
	}
	for v, nr := range []int{16, 32} {
		ks := *kernels.Active()
		ks.Gemm.NR = nr
		for _, tc := range cases {
			c, err := New(tc.g)
			require.NoError(t, err)
			c.d.ks = &ks
			assert.Equal(t, tc.want[v], c.useWhole(), "%s, NR %d", tc.name, nr)
			if tc.want[v] {
				c.lim.winograd = winogradAlways
				assert.Equal(t, byWhole, c.strategyName(), "%s, NR %d: before the tiled pass", tc.name, nr)
			}
			c.lim.whole = wholeAlways
			assert.Equal(t, tc.fits, c.useWhole(), "%s, NR %d, always", tc.name, nr)
			c.lim.whole = wholeNever
			assert.False(t, c.useWhole(), "%s, NR %d, never", tc.name, nr)
			c.lim = withWinograd(defaultLimits, 512)
			c.lim.winograd = winogradNever
			assert.False(t, c.useWhole(), "%s, NR %d, no Winograd at all", tc.name, nr)
		}
	}
}

// BenchmarkWhole times the forward pass, and the forward and backward
// passes, of 3x3 layers on images of 2 to 7 pixels a side (batch 32, one
// thread) by the direct passes and by the whole-image Winograd pass
// (which the backward data pass takes too), in GFLOP/s of the direct
// convolution's work, so that the two compare as speeds.
func BenchmarkWhole(b *testing.B) {
	const n = 32
	for _, size := range []int{3, 4, 2, 5, 6, 7} {
		for _, ch := range [][2]int{{32, 32}, {32, 64}, {64, 64}, {64, 128}, {128, 128}, {128, 256}, {256, 256}, {256, 128}} {
			g := Same(ch[0], size, size, ch[1], 3, 1)
			d := newBenchData(g, n)
			for _, pass := range []string{"fwd", "fwdbwd"} {
				for _, mode := range []string{"direct", "whole"} {
					b.Run(fmt.Sprintf("%dto%d-%dpx/%s/%s", ch[0], ch[1], size, pass, mode), func(b *testing.B) {
						c, err := New(g)
						require.NoError(b, err)
						c.SetThreads(1)
						if mode == "direct" {
							c.lim.whole = wholeNever
						} else {
							c.lim.whole = wholeAlways
						}
						bwd := pass == "fwdbwd"
						l := benchLayer{g: g}
						d.step(c, n, bwd, false)
						for b.Loop() {
							d.step(c, n, bwd, false)
						}
						b.ReportMetric(flops(l, n, bwd)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		}
	}
}
