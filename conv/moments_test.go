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

// Which forward strategy a call takes, for the tests to check.
const (
	byIm2col   = "im2col"
	byImplicit = "implicit"
	byBatched  = "batched"
	byWinograd = "winograd"
	byWhole    = "whole"
)

func (c *Conv2D) strategyName() string {
	switch c.chooseForward() {
	case &c.whole:
		return byWhole
	case &c.winograd:
		return byWinograd
	case &c.batched:
		return byBatched
	case &c.implicit:
		return byImplicit
	}
	return byIm2col
}

// withImplicit returns lim with the implicit passes always taken where
// they apply.
func withImplicit(lim limits) limits {
	lim.implicit = implicitAlways
	return lim
}

// bandLimits group images of up to 99 outputs by three, and give the
// batched pass tiles of 1 (AVX-512) or 3 (AVX2) rows of seven outputs, so
// that a 9-row layer has a band of rows per lane.
func bandLimits() limits {
	lim := testLimits[4]
	lim.groupBelow, lim.budget = 100, 30000
	return lim
}

// momentCases reach every strategy and every kind of cut: im2col with
// images cut into tiles, grouped into tiles, or one per tile; the implicit
// pass with tiles of one output row and of many; the batched pass with
// full and partial groups of images, bands of rows per lane and output
// channels shared between lanes. The strategy is only what the kernel set
// with a GEMM that reads rows in place takes (the others may take im2col).
var momentCases = []struct {
	g   Geometry
	n   int
	lim limits
	by  string
}{
	{Same(3, 20, 18, 8, 3, 1), 7, testLimits[1], byIm2col},  // images cut into tiles
	{Same(3, 20, 18, 8, 3, 1), 1, testLimits[1], byIm2col},  // one image, cut
	{Same(8, 5, 5, 16, 3, 1), 32, testLimits[2], byIm2col},  // images grouped into tiles
	{Same(4, 9, 9, 6, 5, 2), 13, testLimits[2], byIm2col},   // stride 2
	{Same(1, 28, 28, 8, 3, 2), 32, defaultLimits, byIm2col}, // stride 2, default cuts
	{Same(16, 12, 12, 8, 3, 1), 9, testLimits[2], byIm2col}, // chunks
	{Geometry{InC: 2, InH: 7, InW: 9, OutC: 3, KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadTop: 0, PadBottom: 2, PadLeft: 1, PadRight: 0}, 5, defaultLimits, byIm2col},
	{Same(2, 13, 13, 3, 5, 1), 3, testLimits[3], byImplicit}, // tiles of one row
	{Same(3, 9, 64, 4, 3, 1), 4, withImplicit(defaultLimits), byImplicit},
	{Same(1, 28, 28, 8, 3, 1), 32, withImplicit(defaultLimits), byImplicit},
	{Same(1, 28, 28, 8, 3, 1), 1, withImplicit(defaultLimits), byImplicit},
	{Same(8, 5, 5, 16, 3, 1), 32, testLimits[4], byBatched},
	{Same(8, 5, 5, 16, 3, 1), 7, testLimits[4], byBatched},                    // a partial group
	{Same(8, 5, 5, 16, 3, 1), 33, testLimits[4], byBatched},                   // full groups, then a partial one
	{Same(3, 9, 7, 5, 3, 1), 35, bandLimits(), byBatched},                     // tiles of a few rows: bands
	{Same(4, 3, 3, 29, 3, 1), 5, withImplicit(defaultLimits), byBatched},      // one tile: lanes share its channels
	{Valid(5, 9, 11, 20, 3, 1), 19, testLimits[4], byImplicit},                // chunks
	{Same(4, 9, 7, 6, 3, 1), 5, withWinograd(defaultLimits, 20), byWinograd},  // an image a group, odd sizes
	{Same(3, 6, 6, 5, 3, 1), 7, withWinograd(defaultLimits, 30), byWinograd},  // groups of 3, 3 and 1 images
	{Same(3, 11, 9, 4, 3, 1), 3, withWinograd(defaultLimits, 12), byWinograd}, // bands of 2, 2 and 2 rows of tiles
	{Same(5, 3, 3, 6, 3, 1), 7, withWhole(defaultLimits), byWhole},
	{Same(2, 4, 3, 3, 3, 1), wholeImgs + 6, withWhole(defaultLimits), byWhole}, // two units
}

// refMoments returns the mean and population variance of each channel of
// y, n images of oc channels of p outputs, in float64 with two passes.
func refMoments(y []float32, n, oc, p int) (mean, variance []float64) {
	mean, variance = make([]float64, oc), make([]float64, oc)
	for o := range oc {
		var s float64
		for i := range n {
			for _, v := range y[(i*oc+o)*p : (i*oc+o+1)*p] {
				s += float64(v)
			}
		}
		m := s / float64(n*p)
		var ss float64
		for i := range n {
			for _, v := range y[(i*oc+o)*p : (i*oc+o+1)*p] {
				ss += (float64(v) - m) * (float64(v) - m)
			}
		}
		mean[o], variance[o] = m, ss/float64(n*p)
	}
	return mean, variance
}

func sameBits64(t *testing.T, want, got []float64, what string) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		if math.Float64bits(want[i]) != math.Float64bits(got[i]) {
			require.Failf(t, "not bit for bit", "%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestForwardMoments checks, on every kernel set, that ForwardMoments
// writes Forward's y bit for bit and each channel's mean and variance to
// within float32 rounding of a float64 reference taken from that y, the
// same bits for 1 to 4 threads, with and without a bias, and with a bias
// that puts the mean a thousand standard deviations from 0 (sums of
// squares about 0 in float32 blocks would lose the variance there).
func TestForwardMoments(t *testing.T) {
	biases := []struct {
		name   string
		bias   bool
		offset float32 // added to every bias
	}{{"no bias", false, 0}, {"bias", true, 0}, {"far bias", true, 1000}}
	// The cuts the cases reached, checked at the end.
	seen := map[string]bool{}
	cuts := func(c *Conv2D) {
		pl := &c.pl
		switch c.strategyName() {
		case byIm2col:
			seen["im2col, images cut"] = seen["im2col, images cut"] || pl.tilesPerImg > 1
			seen["im2col, images grouped"] = seen["im2col, images grouped"] || pl.imgsPerTile > 1
			seen["im2col, blocks"] = seen["im2col, blocks"] || pl.blocks > 1
		case byImplicit:
			seen["implicit, images cut"] = seen["implicit, images cut"] || c.implicit.rows() < c.d.oh
			seen["implicit, blocks"] = seen["implicit, blocks"] || pl.blocks > 1
		case byBatched:
			nr := c.d.ks.Gemm.NR
			seen["batched, bands"] = seen["batched, bands"] || c.batched.bands > 1
			seen["batched, parts"] = seen["batched, parts"] || c.batched.parts > 1
			seen["batched, full group"] = seen["batched, full group"] || pl.n >= nr
			seen["batched, partial group"] = seen["batched, partial group"] || pl.n%nr != 0
		case byWinograd:
			cut := c.winogradCut(pl.n)
			seen["winograd, units"] = seen["winograd, units"] || cut.units > 1
			seen["winograd, groups of several images"] = seen["winograd, groups of several images"] || cut.imgs > 1
			seen["winograd, bands of an image"] = seen["winograd, bands of an image"] || cut.bands > 1
		case byWhole:
			seen["whole, units"] = seen["whole, units"] || pl.n > wholeImgs
		}
	}
	for _, tc := range momentCases {
		for _, ks := range kernels.Sets() {
			for _, bc := range biases {
				name := fmt.Sprintf("%v/n=%d/%s/%s/%s", tc.g, tc.n, tc.by, ks.ISA, bc.name)
				t.Run(name, func(t *testing.T) {
					g, n := tc.g, tc.n
					r := testkit.Rand(uint64(n))
					x := testkit.Uniform(r, n*g.InSize(), -1, 1)
					w := testkit.Uniform(r, g.WeightSize(), -1, 1)
					var b []float32
					if bc.bias {
						b = testkit.Uniform(r, g.OutC, -1, 1)
						for o := range b {
							b[o] += bc.offset
						}
					}
					newConv := func(threads int) *Conv2D {
						c, err := New(g)
						require.NoError(t, err)
						c.lim = tc.lim
						c.d.ks = ks
						c.SetThreads(threads)
						return c
					}
					c := newConv(1)
					want := make([]float32, n*g.OutSize())
					c.Forward(n, x, w, b, want)
					if ks.Gemm.KernelRows != nil {
						require.Equal(t, tc.by, c.strategyName(), "strategy")
					}
					wantMean, wantVar := refMoments(want, n, g.OutC, g.OutH()*g.OutW())

					var mean1, var1 []float64
					for threads := 1; threads <= 4; threads++ {
						c := newConv(threads)
						y := make([]float32, len(want))
						mean := make([]float64, g.OutC)
						variance := make([]float64, g.OutC)
						c.ForwardMoments(n, x, w, b, y, mean, variance)
						cuts(c)
						requireSameBits(t, [][]float32{want}, [][]float32{y}, fmt.Sprintf("%d threads", threads))
						if threads == 1 {
							for o := range mean {
								std := math.Sqrt(wantVar[o])
								assert.InDelta(t, wantMean[o], mean[o], 1e-6*(math.Abs(wantMean[o])+std), "mean %d", o)
								assert.InEpsilon(t, wantVar[o], variance[o], 2e-6, "variance %d", o)
							}
							mean1, var1 = mean, variance
							continue
						}
						sameBits64(t, mean1, mean, fmt.Sprintf("mean, %d threads", threads))
						sameBits64(t, var1, variance, fmt.Sprintf("variance, %d threads", threads))
					}
				})
			}
		}
	}
	if kernels.Active().Gemm.KernelRows != nil {
		for _, cut := range []string{
			"im2col, images cut", "im2col, images grouped", "im2col, blocks", "implicit, images cut", "implicit, blocks",
			"batched, bands", "batched, parts", "batched, full group", "batched, partial group",
			"winograd, units", "winograd, groups of several images", "winograd, bands of an image", "whole, units",
		} {
			assert.True(t, seen[cut], "no case reaches %s", cut)
		}
	}
}

// TestForwardMomentsReused: a layer gives the same moments call after
// call, whatever batch size and thread count it ran last (its slots are
// cleared), and allocates nothing once its workspace is sized.
func TestForwardMomentsReused(t *testing.T) {
	for _, tc := range momentCases {
		t.Run(fmt.Sprintf("%v/n=%d", tc.g, tc.n), func(t *testing.T) {
			g, n := tc.g, tc.n
			r := testkit.Rand(3)
			x := testkit.Uniform(r, (n+1)*g.InSize(), -1, 1)
			w := testkit.Uniform(r, g.WeightSize(), -1, 1)
			b := testkit.Uniform(r, g.OutC, -1, 1)
			y := make([]float32, (n+1)*g.OutSize())
			c, err := New(g)
			require.NoError(t, err)
			c.lim = tc.lim
			mean := make([]float64, g.OutC)
			variance := make([]float64, g.OutC)
			run := func(threads, n int) ([]float64, []float64) {
				c.SetThreads(threads)
				c.ForwardMoments(n, x[:n*g.InSize()], w, b, y[:n*g.OutSize()], mean, variance)
				return append([]float64(nil), mean...), append([]float64(nil), variance...)
			}
			m1, v1 := run(1, n)
			run(3, n+1)
			m2, v2 := run(2, n)
			sameBits64(t, m1, m2, "mean")
			sameBits64(t, v1, v2, "variance")
			if !testkit.RaceEnabled {
				assert.Zero(t, testkit.AllocsPerRun(3, func() {
					c.ForwardMoments(n, x[:n*g.InSize()], w, b, y[:n*g.OutSize()], mean, variance)
				}))
			}
		})
	}
}

// TestForwardMomentsArguments: lengths are checked before anything runs,
// and an empty batch has NaN statistics.
func TestForwardMomentsArguments(t *testing.T) {
	g := Same(2, 4, 4, 3, 3, 1)
	c, err := New(g)
	require.NoError(t, err)
	x := make([]float32, 2*g.InSize())
	w := make([]float32, g.WeightSize())
	y := make([]float32, 2*g.OutSize())
	ok := make([]float64, g.OutC)
	short := make([]float64, g.OutC-1)
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"mean", func() { c.ForwardMoments(2, x, w, nil, y, short, ok) }, "len(mean) = 2, want OutC = 3"},
		{"variance", func() { c.ForwardMoments(2, x, w, nil, y, ok, nil) }, "len(variance) = 0, want OutC = 3"},
		{"y", func() { c.ForwardMoments(2, x, w, nil, y[1:], ok, ok) }, "len(y)"},
		{"bias", func() { c.ForwardMoments(2, x, w, w[:2], y, ok, ok) }, "len(bias)"},
		{"n", func() { c.ForwardMoments(-1, x, w, nil, y, ok, ok) }, "n = -1 < 0"},
	} {
		assert.Contains(t, callPanic(t, tc.f), tc.want, tc.name)
	}
	mean := []float64{1, 2, 3}
	variance := []float64{1, 2, 3}
	c.ForwardMoments(0, nil, w, nil, nil, mean, variance)
	for o := range mean {
		assert.True(t, math.IsNaN(mean[o]) && math.IsNaN(variance[o]), "channel %d: %v %v", o, mean[o], variance[o])
	}
}
