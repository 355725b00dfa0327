package conv

import (
	"fmt"
	"testing"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// winograd is a plain-Go reference of the Winograd convolution F(2x2, 3x3)
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
// CVPR 2016) for 3x3 'same' layers with stride 1: the twin Conv2D's
// Winograd pass (winograd.go) is tested against, and the parts
// BenchmarkWinograd times one by one.
//
// Each 2x2 block of outputs ("tile") of each output channel is
// A^T [sum over c of (G g G^T) . (B^T d B)] A, with d the 4x4 input
// patch around the tile and g the 3x3 filter: 16 multiplications per tile
// and input channel instead of 36. Summed over c, element e of the 4x4
// products is a matrix product of its own, M_e = U_e V_e with U_e the
// OutC x InC transformed filters and V_e the InC x tiles transformed
// input: 16 GEMMs of depth InC.
type winograd struct {
	n, c, k, h, w, th, tw, t int
	u, v, m                  []float32 // [16][k][c], [16][c][t], [16][k][t]
}

func newWinograd(g Geometry, n int) *winograd {
	th, tw := (g.InH+1)/2, (g.InW+1)/2
	t := n * th * tw
	return &winograd{n: n, c: g.InC, k: g.OutC, h: g.InH, w: g.InW, th: th, tw: tw, t: t,
		u: make([]float32, 16*g.OutC*g.InC), v: make([]float32, 16*g.InC*t), m: make([]float32, 16*g.OutC*t)}
}

// filters sets U = G g G^T for every pair of channels, G = [1 0 0; 1/2
// 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
func (z *winograd) filters(w []float32) {
	g4 := func(a, b, c float32) [4]float32 { return [4]float32{a, (a + b + c) / 2, (a - b + c) / 2, c} }
	for o := 0; o < z.k; o++ {
		for i := 0; i < z.c; i++ {
			f := w[(o*z.c+i)*9 : (o*z.c+i+1)*9]
			var cols [3][4]float32 // G applied to each column of g
			for j := range 3 {
				cols[j] = g4(f[j], f[3+j], f[6+j])
			}
			for r := range 4 {
				row := g4(cols[0][r], cols[1][r], cols[2][r])
				for q, x := range row {
					z.u[((r*4+q)*z.k+o)*z.c+i] = x
				}
			}
		}
	}
}

// input sets V = B^T d B for every tile and input channel, B^T = [1 0 -1
// 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]: additions only.
func (z *winograd) input(x []float32) {
	bt := func(a, b, c, d float32) [4]float32 { return [4]float32{a - c, b + c, c - b, b - d} }
	for img := 0; img < z.n; img++ {
		for ch := 0; ch < z.c; ch++ {
			plane := x[(img*z.c+ch)*z.h*z.w : (img*z.c+ch+1)*z.h*z.w]
			at := func(y, x int) float32 {
				if y < 0 || y >= z.h || x < 0 || x >= z.w {
					return 0 // the padding
				}
				return plane[y*z.w+x]
			}
			for ty := 0; ty < z.th; ty++ {
				for tx := 0; tx < z.tw; tx++ {
					var cols [4][4]float32 // B^T applied to each column of d
					for j := range 4 {
						y, x := 2*ty-1, 2*tx-1+j
						cols[j] = bt(at(y, x), at(y+1, x), at(y+2, x), at(y+3, x))
					}
					t := (img*z.th+ty)*z.tw + tx
					for r := range 4 {
						row := bt(cols[0][r], cols[1][r], cols[2][r], cols[3][r])
						for q, v := range row {
							z.v[((r*4+q)*z.c+ch)*z.t+t] = v
						}
					}
				}
			}
		}
	}
}

// products sets M_e = U_e V_e, the 16 GEMMs.
func (z *winograd) products(threads int) {
	o := gemm.Options{Threads: threads}
	for e := range 16 {
		o.Sgemm(false, false, z.k, z.t, z.c, 1, z.u[e*z.k*z.c:], z.c, z.v[e*z.c*z.t:], z.t, 0, z.m[e*z.k*z.t:], z.t)
	}
}

// output sets y = A^T M A + bias, A^T = [1 1 1 0; 0 1 -1 -1], dropping the
// tiles' outputs past an odd image's edge.
func (z *winograd) output(y, bias []float32) {
	at := func(a, b, c, d float32) [2]float32 { return [2]float32{a + b + c, b - c - d} }
	for img := 0; img < z.n; img++ {
		for o := 0; o < z.k; o++ {
			plane := y[(img*z.k+o)*z.h*z.w : (img*z.k+o+1)*z.h*z.w]
			for ty := 0; ty < z.th; ty++ {
				for tx := 0; tx < z.tw; tx++ {
					t := (img*z.th+ty)*z.tw + tx
					var m [4][4]float32
					for e := range 16 {
						m[e/4][e%4] = z.m[(e*z.k+o)*z.t+t]
					}
					var cols [4][2]float32 // A^T applied to each column of m
					for j := range 4 {
						cols[j] = at(m[0][j], m[1][j], m[2][j], m[3][j])
					}
					for i := range 2 {
						out := at(cols[0][i], cols[1][i], cols[2][i], cols[3][i])
						for j := range 2 {
							if yy, xx := 2*ty+i, 2*tx+j; yy < z.h && xx < z.w {
								plane[yy*z.w+xx] = out[j] + bias[o]
							}
						}
					}
				}
			}
		}
	}
}

func (z *winograd) forward(x, w, bias, y []float32) {
	z.filters(w)
	z.input(x)
	z.products(1)
	z.output(y, bias)
}

// TestWinograd checks the reference against Conv2D's direct forward pass
// (to within rounding) and its Winograd pass (bit for bit: the same
// additions in the same order, and GEMMs whose columns do not depend on
// how many there are) on images of even and odd sizes, one channel and
// several, one group of images and several, on 1 and 3 threads and on
// every kernel set whose GEMM gives the active one's bits.
func TestWinograd(t *testing.T) {
	cases := []struct {
		g Geometry
		n int
	}{
		{Same(1, 2, 2, 1, 3, 1), 1},
		{Same(1, 1, 1, 3, 3, 1), 2},
		{Same(5, 7, 9, 6, 3, 1), 3},
		{Same(3, 8, 8, 4, 3, 1), 2},
		{Same(16, 5, 12, 24, 3, 1), 4},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%dx%d-%d-n%d", tc.g.InC, tc.g.InH, tc.g.InW, tc.g.OutC, tc.n), func(t *testing.T) {
			r := testkit.Rand(uint64(tc.g.InH*100 + tc.g.InW))
			x := testkit.Uniform(r, tc.n*tc.g.InSize(), -1, 1)
			w := testkit.Uniform(r, tc.g.WeightSize(), -1, 1)
			b := testkit.Uniform(r, tc.g.OutC, -1, 1)
			c, err := New(tc.g)
			require.NoError(t, err)
			c.lim.winograd = winogradNever
			want := make([]float32, tc.n*tc.g.OutSize())
			c.Forward(tc.n, x, w, b, want)
			got := make([]float32, len(want))
			newWinograd(tc.g, tc.n).forward(x, w, b, got)
			tol := 1e-5 * float32(9*tc.g.InC)
			for i := range want {
				require.InDelta(t, want[i], got[i], float64(tol), "output %d", i)
			}
			// The weight gradient by the Winograd pass: the same bits on
			// 1 and 3 threads, for units of one row of tiles and of
			// whole groups.
			dy := testkit.Uniform(r, len(want), -1, 1)
			for _, tiles := range []int{1, 512} {
				var dw1, db1 []float32
				for _, threads := range []int{1, 3} {
					c.lim = withWinograd(c.lim, tiles)
					c.SetThreads(threads)
					dw := make([]float32, len(w))
					db := make([]float32, len(b))
					c.BackwardWeights(tc.n, x, dy, dw, db)
					if dw1 == nil {
						dw1, db1 = dw, db
						continue
					}
					requireSameBits(t, [][]float32{dw1, db1}, [][]float32{dw, db}, fmt.Sprintf("dw, groups of %d tiles, %d threads", tiles, threads))
				}
			}
			for _, ks := range kernels.Sets() {
				if !sameGemmBits(ks, kernels.Active()) {
					continue
				}
				for _, tiles := range []int{1, 512} {
					for _, threads := range []int{1, 3} {
						c.lim = withWinograd(c.lim, tiles)
						c.d.ks = ks
						c.SetThreads(threads)
						y := make([]float32, len(want))
						c.Forward(tc.n, x, w, b, y)
						require.Equal(t, "winograd", c.strategyName())
						requireSameBits(t, [][]float32{got}, [][]float32{y}, fmt.Sprintf("%s, groups of %d tiles, %d threads", ks.ISA, tiles, threads))
					}
				}
			}
		})
	}
}

// BenchmarkWinograd splits the cost of a Winograd forward pass of
// SeedNet's 3x3 layers (batch 32, one thread) against Conv2D's direct
// pass ("direct") and its Winograd pass ("winograd"): the 16 GEMMs of the
// whole batch through package gemm, the transforms in the plain Go above,
// and "stream", writing the transformed input once with copy (what a
// transform that is not fused with the GEMMs costs at least). Rates are
// in GFLOP/s of the direct convolution's work, so they compare as speeds.
func BenchmarkWinograd(b *testing.B) {
	const n = 32
	for _, l := range seedNetLayers(64) {
		if l.first {
			continue
		}
		for _, size := range []int{l.g.InH, l.g.InH * 7 / 16} {
			g := Same(l.g.InC, size, size, l.g.OutC, 3, 1)
			r := testkit.Rand(1)
			x := testkit.Uniform(r, n*g.InSize(), -1, 1)
			w := testkit.Uniform(r, g.WeightSize(), -1, 1)
			bias := testkit.Uniform(r, g.OutC, -1, 1)
			y := make([]float32, n*g.OutSize())
			z := newWinograd(g, n)
			z.filters(w)
			z.input(x)
			c, err := New(g)
			require.NoError(b, err)
			c.SetThreads(1)
			c.lim.winograd = winogradNever
			cw, err := New(g)
			require.NoError(b, err)
			cw.SetThreads(1)
			cw.lim.winograd = winogradAlways
			parts := []struct {
				name string
				run  func()
			}{
				{"direct", func() { c.Forward(n, x, w, bias, y) }},
				{"winograd", func() { cw.Forward(n, x, w, bias, y) }},
				{"gemms", func() { z.products(1) }},
				{"filters", func() { z.filters(w) }},
				{"input", func() { z.input(x) }},
				{"output", func() { z.output(y, bias) }},
				{"stream", func() {
					for i := 0; i < len(z.v); i += len(x) {
						copy(z.v[i:], x) // V holds 16 values per 4 inputs
					}
				}},
			}
			for _, p := range parts {
				b.Run(fmt.Sprintf("%dto%d-%dpx/%s", g.InC, g.OutC, size, p.name), func(b *testing.B) {
					for b.Loop() {
						p.run()
					}
					b.ReportMetric(g.FLOPs()*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// TestUseWinograd checks which layers take the Winograd pass: 3x3,
// stride 1, one pixel of padding, even sizes of at least 8, and input and
// output channels from 4*NR (64 with AVX2, 128 with AVX-512) on, or from
// 2*NR when the kernel set's transforms run vector code on rows of tiles
// as wide as the layer's; and that the modes of limits override the rule
// but not the geometry.
func TestUseWinograd(t *testing.T) {
	cases := []struct {
		name string
		g    Geometry
		// want is the answer with NR 16 and 32, Go transforms, then with
		// NR 16 and 32 and transforms that run vector code from rows of 8
		// tiles on.
		want [4]bool
	}{
		{"64 channels, 32 px", Same(64, 32, 32, 64, 3, 1), [4]bool{true, false, true, true}},
		{"64 to 128 channels, 16 px", Same(64, 16, 16, 128, 3, 1), [4]bool{true, false, true, true}},
		{"128 channels, 16 px", Same(128, 16, 16, 128, 3, 1), [4]bool{true, true, true, true}},
		{"256 to 128 channels, 8 px", Same(256, 8, 8, 128, 3, 1), [4]bool{true, true, true, true}},
		{"256 channels, 8 px, not square", Same(256, 8, 10, 256, 3, 1), [4]bool{true, true, true, true}},
		{"32 channels, 28 px", Same(32, 28, 28, 32, 3, 1), [4]bool{false, false, true, false}},
		{"32 channels, 16 px", Same(32, 16, 16, 32, 3, 1), [4]bool{false, false, true, false}},
		{"32 channels, 14 px: rows of 7 tiles", Same(32, 14, 14, 32, 3, 1), [4]bool{false, false, false, false}},
		{"64 channels, 14 px: rows of 7 tiles", Same(64, 14, 14, 64, 3, 1), [4]bool{true, false, true, false}},
		{"63 input channels", Same(63, 32, 32, 64, 3, 1), [4]bool{false, false, true, false}},
		{"32 output channels", Same(128, 32, 32, 32, 3, 1), [4]bool{false, false, true, false}},
		{"31 output channels", Same(128, 32, 32, 31, 3, 1), [4]bool{false, false, false, false}},
		{"odd height", Same(128, 7, 8, 128, 3, 1), [4]bool{}},
		{"odd width", Same(128, 16, 15, 128, 3, 1), [4]bool{}},
		{"6 px", Same(256, 6, 6, 256, 3, 1), [4]bool{}},
		{"stride 2", Same(128, 16, 16, 128, 3, 2), [4]bool{}},
		{"5x5", Same(128, 16, 16, 128, 5, 1), [4]bool{}},
		{"no padding", Valid(128, 18, 18, 128, 3, 1), [4]bool{}},
	}
	for v, set := range []struct{ nr, row int }{{16, 0}, {32, 0}, {16, 8}, {32, 8}} {
		ks := *kernels.Active()
		ks.Gemm.NR = set.nr
		ks.Conv.WinogradRow = set.row
		for _, tc := range cases {
			c, err := New(tc.g)
			require.NoError(t, err)
			c.d.ks = &ks
			assert.Equal(t, tc.want[v], c.useWinograd(), "%s, NR %d, vector rows from %d", tc.name, set.nr, set.row)
			c.lim.winograd = winogradNever
			assert.False(t, c.useWinograd(), "%s, NR %d, never", tc.name, set.nr)
			c.lim.winograd = winogradAlways
			assert.Equal(t, c.d.winogradFits(), c.useWinograd(), "%s, NR %d, always", tc.name, set.nr)
		}
	}
	fits := map[string]bool{"odd height": true, "odd width": true, "6 px": true, "31 output channels": true,
		"32 channels, 14 px: rows of 7 tiles": true}
	for _, tc := range cases {
		c, err := New(tc.g)
		require.NoError(t, err)
		assert.Equal(t, tc.want[2] || tc.want[3] || fits[tc.name], c.d.winogradFits(), tc.name)
	}
}

// TestWinogradCut checks that the work units cover every row of tiles of
// every image once, in order, with at most cut.tiles tiles each, and cut
// an image only when it has more tiles than a unit may.
func TestWinogradCut(t *testing.T) {
	cases := []struct {
		g        Geometry
		n, tiles int
	}{
		{Same(4, 8, 8, 4, 3, 1), 32, 512},   // groups of 8 images: 4 units
		{Same(4, 8, 8, 4, 3, 1), 3, 512},    // one image a unit
		{Same(4, 64, 64, 4, 3, 1), 2, 512},  // bands of 16 rows of 32 tiles
		{Same(4, 65, 63, 4, 3, 1), 3, 100},  // odd sizes: 33 rows of 32 tiles, bands of 3
		{Same(4, 9, 9, 4, 3, 1), 5, 1},      // bands of one row
		{Same(4, 2, 2, 4, 3, 1), 7, 1},      // images of one tile
		{Same(4, 16, 16, 4, 3, 1), 9, 64},   // images of exactly a unit
		{Same(4, 16, 16, 4, 3, 1), 9, 63},   // one tile short: bands of 7 rows
		{Same(4, 30, 30, 4, 3, 1), 1, 4096}, // one image
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d/n=%d/tiles=%d", tc.g.InH, tc.g.InW, tc.n, tc.tiles), func(t *testing.T) {
			c, err := New(tc.g)
			require.NoError(t, err)
			c.lim = withWinograd(c.lim, tc.tiles)
			cut := c.winogradCut(tc.n)
			th, tw := (tc.g.OutH()+1)/2, (tc.g.OutW()+1)/2
			require.Equal(t, th*tw > tc.tiles, cut.bands > 1 || cut.rows < th, "images are cut only when too large")
			if tc.n >= minBlocks && th*tw*((tc.n+minBlocks-1)/minBlocks) <= tc.tiles {
				assert.GreaterOrEqual(t, cut.units, minBlocks, "enough units for minBlocks threads")
			}
			next := 0 // the next (image, row) in order
			for u := range cut.units {
				i0, i1, ty0, ty1 := cut.unit(u)
				require.Less(t, i0, i1, "unit %d has images", u)
				require.Less(t, ty0, ty1, "unit %d has rows", u)
				require.LessOrEqual(t, (i1-i0)*(ty1-ty0)*tw, cut.tiles, "unit %d fits the lanes' scratch", u)
				require.True(t, i1-i0 == 1 || ty0 == 0 && ty1 == th, "unit %d: several images, whole", u)
				for img := i0; img < i1; img++ {
					for ty := ty0; ty < ty1; ty++ {
						require.Equal(t, next, img*th+ty, "unit %d: image %d row %d out of order", u, img, ty)
						next++
					}
				}
			}
			require.Equal(t, tc.n*th, next, "every row of tiles of every image")
		})
	}
}

// TestWinogradRowTiles checks how many tiles a transform call computes
// for a row: the row's own, or a whole group of the kernel set's vector
// transforms when the row is shorter, and the padded plane wide enough
// for what that call reads.
func TestWinogradRowTiles(t *testing.T) {
	cases := []struct {
		w, group, want int
	}{
		{14, 8, 8}, // rows of 7 tiles: one group
		{8, 8, 8},  // 4 tiles
		{15, 8, 8}, // 8 tiles, the last one half past the edge
		{16, 8, 8},
		{28, 8, 14}, // longer rows: the row (the kernel recomputes its last group)
		{14, 1, 7},  // Go transforms: the row
	}
	for _, tc := range cases {
		c, err := New(Same(4, 8, tc.w, 4, 3, 1))
		require.NoError(t, err)
		ks := *kernels.Active()
		ks.Conv.WinogradGroup = tc.group
		c.d.ks = &ks
		assert.Equal(t, tc.want, c.d.winogradRowTiles(), "w = %d, groups of %d", tc.w, tc.group)
		assert.GreaterOrEqual(t, c.d.winogradPadWidth(), 2*tc.want+2, "w = %d, groups of %d: padded width", tc.w, tc.group)
		assert.GreaterOrEqual(t, c.d.winogradPadWidth(), tc.w+3, "w = %d, groups of %d: padded width", tc.w, tc.group)
	}
	for _, ks := range kernels.Sets() {
		want := 1
		if ks.Conv.WinogradRow > 0 {
			want = 8
		}
		assert.Equal(t, want, ks.Conv.WinogradGroup, "%s: the group of its transforms", ks.ISA)
	}
}

// TestWinogradPadsPerSet: one layer run with every kernel set in turn
// gives what a new layer gives with each: the padded input planes, whose
// width depends on the set's group of tiles, are not reused with another
// layout's borders.
func TestWinogradPadsPerSet(t *testing.T) {
	g := Same(3, 8, 8, 4, 3, 1) // rows of 4 tiles: a whole group with vector transforms
	r := testkit.Rand(3)
	x := testkit.Uniform(r, 2*g.InSize(), -1, 1)
	w := testkit.Uniform(r, g.WeightSize(), -1, 1)
	c, err := New(g)
	require.NoError(t, err)
	c.lim = withWinograd(c.lim, 512)
	for _, ks := range kernels.Sets() {
		fresh, err := New(g)
		require.NoError(t, err)
		fresh.lim = c.lim
		c.d.ks, fresh.d.ks = ks, ks
		got := make([]float32, 2*g.OutSize())
		want := make([]float32, len(got))
		c.Forward(2, x, w, nil, got)
		fresh.Forward(2, x, w, nil, want)
		requireSameBits(t, [][]float32{want}, [][]float32{got}, ks.ISA)
	}
}
