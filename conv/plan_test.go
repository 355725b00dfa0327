package conv

import (
	"fmt"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPlanCoversEveryColumnOnce checks the cut of a batch: the blocks' tiles
// visit every output position of every image exactly once, a block holds
// whole images in order, and no tile is wider than the workspace.
func TestPlanCoversEveryColumnOnce(t *testing.T) {
	r := testkit.Rand(3)
	type key struct{ n, p, k, lim int }
	cases := []key{{1, 1, 1, 1}, {32, 4096, 10, 0}, {32, 4096, 289, 0}, {32, 9, 2305, 0},
		{32, 64, 2305, 0}, {7, 81, 20, 1}, {7, 25, 10, 2}, {5, 3, 7, 0}, {32, 784, 289, 0}}
	for range 200 {
		cases = append(cases, key{1 + r.IntN(40), 1 + r.IntN(3000), 1 + r.IntN(3000), r.IntN(len(testLimits))})
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			lim := testLimits[tc.lim]
			pl := makePlan(tc.n, tc.p, tc.k, lim)
			seen := make([]int, tc.n*tc.p)
			nextImg := 0
			for b := 0; b < pl.blocks; b++ {
				i0, i1 := pl.images(b)
				_, ok := pl.tile(b, pl.tiles(b))
				require.False(t, ok, "block %d has more than tiles() = %d tiles", b, pl.tiles(b))
				_, ok = pl.tile(b, pl.tiles(b)-1)
				require.True(t, ok, "block %d has fewer than tiles() = %d tiles", b, pl.tiles(b))
				require.Equal(t, nextImg, i0, "block %d starts where %d ended", b, b-1)
				require.Less(t, i0, i1, "block %d is empty", b)
				nextImg = i1
				for i := 0; ; i++ {
					tl, ok := pl.tile(b, i)
					if !ok {
						break
					}
					require.True(t, tl.img0 >= i0 && tl.img1 <= i1 && tl.img0 < tl.img1, "tile %+v outside block %d", tl, b)
					require.True(t, tl.single() || (tl.p0 == 0 && tl.p1 == tc.p), "multi-image tile %+v must hold whole images", tl)
					require.LessOrEqual(t, tl.cols(), pl.maxCols)
					for img := tl.img0; img < tl.img1; img++ {
						for p := tl.p0; p < tl.p1; p++ {
							seen[img*tc.p+p]++
						}
					}
				}
			}
			require.Equal(t, tc.n, nextImg, "blocks end at the batch's end")
			for i, s := range seen {
				if s != 1 {
					require.Failf(t, "coverage", "image %d position %d visited %d times", i/tc.p, i%tc.p, s)
				}
			}
			if tc.p < lim.groupBelow && tc.n*tc.p <= pl.maxCols {
				require.Equal(t, 1, pl.blocks, "a batch that fits one tile is one block")
			} else {
				require.LessOrEqual(t, min(tc.n, minBlocks, tc.n*tc.p/lim.minBlockCols), pl.blocks,
					"fewer than minBlocks blocks only for few images or columns")
			}
			if tc.p >= lim.groupBelow {
				require.Equal(t, tc.n, pl.blocks, "images that fill tiles alone get a block each")
			}
			require.True(t, pl.rows >= 1 && pl.rows <= tc.k, "chunk rows %d", pl.rows)
			require.True(t, pl.rows*pl.maxCols <= max(lim.budget, lim.minRows*pl.maxCols), "chunk over budget")
		})
	}
}

// TestConvCasesCoverThePlans makes sure the correctness tests run every kind
// of tile: images cut mid-row, whole images grouped, one and several blocks.
func TestConvCasesCoverThePlans(t *testing.T) {
	var cut, grouped, oneBlock, blocks, chunks, straddle bool
	for _, g := range convCases(testkit.Rand(1)) {
		d := newDims(g)
		for _, n := range []int{1, 7} {
			for _, lim := range testLimits {
				pl := makePlan(n, d.p, d.k+1, lim)
				cut = cut || (pl.tilesPerImg > 1 && pl.tileCols%d.ow != 0)
				grouped = grouped || pl.imgsPerTile > 1
				oneBlock = oneBlock || pl.blocks == 1
				blocks = blocks || pl.blocks > 1
				chunks = chunks || pl.rows < pl.k
				straddle = straddle || (pl.rows < pl.k && pl.rows%(g.KH*g.KW) != 0 && d.tab != nil)
			}
		}
	}
	require.True(t, cut, "no case cuts an image mid-row")
	require.True(t, chunks, "no case cuts the rows into chunks")
	require.True(t, straddle, "no gathered case has chunks that straddle channels")
	require.True(t, grouped, "no case groups images")
	require.True(t, oneBlock, "no case has one block")
	require.True(t, blocks, "no case has several blocks")
}

// TestBatchTiles checks the batched pass's layout: tiles cover the output
// rows in order, none taller than batchTiles says or wider than the limits
// allow; with a tile for every lane, one band of rows per lane, as even
// as whole rows allow, each cut into the same number of tiles.
func TestBatchTiles(t *testing.T) {
	nr := kernels.Active().Gemm.NR
	emptyTile := false
	for oh := 1; oh <= 20; oh++ {
		for _, ow := range []int{3, 5, 14} {
			for _, lim := range []struct{ cols, out, oc int }{
				{50, 0, 1}, {200, 0, 1}, {400, 0, 1}, {2048, 0, 1}, {1 << 20, 0, 1},
				{200, 1 << 30, 1}, {400, 20000, 40}, {100, 6000, 3},
			} {
				for lanes := 1; lanes <= 4; lanes++ {
					c, err := New(Valid(1, oh+2, ow+2, lim.oc, 3, 1))
					require.NoError(t, err)
					c.lim.batchCols, c.lim.batchOut = lim.cols, lim.out
					// The most rows a tile may have: one, or as many as fit
					// batchCols, or twice that if the output fits batchOut.
					most := 1
					for r := 2; r <= oh; r++ {
						w := r * ow * nr
						if w <= lim.cols || w <= 2*lim.cols && lim.oc*w <= lim.out {
							most = r
						}
					}
					tiles, bands, rows := c.batchTiles(lanes)
					what := fmt.Sprintf("oh %d ow %d limits %v lanes %d", oh, ow, lim, lanes)
					banded := lanes > 1 && (oh+most-1)/most >= lanes
					if banded {
						require.Equal(t, lanes, bands, what)
					} else {
						require.Equal(t, 1, bands, what)
					}
					require.Zero(t, tiles%bands, what)
					per := tiles / bands
					next, tallest := 0, 0
					for b := 0; b < bands; b++ {
						b0 := next
						for i := 0; i < per; i++ {
							oh0, oh1 := c.batchTile(b*per+i, tiles, bands)
							require.Equal(t, next, oh0, "%s: tile %d starts where the last ended", what, b*per+i)
							require.LessOrEqual(t, oh1-oh0, most, what)
							emptyTile = emptyTile || oh1 == oh0
							tallest = max(tallest, oh1-oh0)
							next = oh1
						}
						if banded {
							lo, hi := oh/lanes, (oh+lanes-1)/lanes
							if b < oh%lanes {
								lo = hi
							}
							require.True(t, next-b0 >= lo && next-b0 <= hi, "%s: band %d has %d rows", what, b, next-b0)
						}
					}
					require.Equal(t, oh, next, what)
					require.Equal(t, tallest, rows, what)
				}
			}
		}
	}
	require.True(t, emptyTile, "no layout has an empty tile")
}

// TestUseImplicit: with the default limits, a stride-1 layer of single-image
// tiles reads its padded input in place when its output rows cut evenly
// into panels of at least 3/4 of the set's NR, and are 24 or more wide:
// rows of 28 are one panel for AVX-512 and two of 14 for AVX2; rows of
// 40 would be four of 10 for AVX2 and two of 20 for AVX-512, too narrow.
func TestUseImplicit(t *testing.T) {
	for _, ks := range kernels.Sets() {
		t.Run(ks.ISA, func(t *testing.T) {
			for _, tc := range []struct {
				px         int
				nr16, nr32 bool // the answer for NR 16 and NR 32
			}{
				{64, true, true},
				{48, true, true},
				{40, false, false},
				{32, true, true},
				{28, true, true},
				{36, true, false}, // 3 x 12 for NR 16, 2 x 18 for NR 32
				{25, false, true}, // 5 x 5 for NR 16, one panel of 25 for NR 32
				{24, true, true},
			} {
				g := Same(32, tc.px, tc.px, 32, 3, 1)
				c, err := New(g)
				require.NoError(t, err)
				c.d.ks = ks
				c.replan(32)
				require.Equal(t, 1, c.pl.imgsPerTile, "%d px: images are not grouped", tc.px)
				want := false
				switch {
				case ks.Gemm.KernelRows == nil:
				case ks.Gemm.NR == 16:
					want = tc.nr16
				case ks.Gemm.NR == 32:
					want = tc.nr32
				default:
					t.Skipf("no expectation for NR %d", ks.Gemm.NR)
				}
				assert.Equal(t, want, c.useImplicit(), "%d px, NR %d", tc.px, ks.Gemm.NR)
			}
		})
	}
}

// TestLimitsFor checks the cache budgets derived from the caches of the
// CPUs the GEMM blocks are tested on (kernels' CPUID tables), of CPUs
// whose L2 a cluster of cores shares, and of caches outside the bounds.
func TestLimitsFor(t *testing.T) {
	const KiB, MiB = 1 << 10, 1 << 20
	cases := []struct {
		name   string
		c      kernels.Caches
		budget int // floats
	}{
		// Half of 512 KiB: 256 KiB, 65536 floats.
		{"AMD EPYC Zen 3", kernels.Caches{L1D: 32 * KiB, L2: 512 * KiB, L3: 32 * MiB, L1DShared: 2, L2Shared: 2, L3Shared: 16}, 1 << 16},
		{"Intel Xeon Sapphire Rapids", kernels.Caches{L1D: 48 * KiB, L2: 2 * MiB, L3: 105 * MiB, L1DShared: 2, L2Shared: 2, L3Shared: 128}, 1 << 18},
		{"AMD EPYC Zen 4", kernels.Caches{L1D: 32 * KiB, L2: 1 * MiB, L3: 32 * MiB, L1DShared: 2, L2Shared: 2, L3Shared: 16}, 1 << 17},
		{"Intel Core 4-core client", kernels.Caches{L1D: 32 * KiB, L2: 256 * KiB, L3: 6 * MiB, L1DShared: 2, L2Shared: 2, L3Shared: 8}, 1 << 15},
		{"this VM (sysfs), no SMT", kernels.Caches{L1D: 48 * KiB, L2: 2 * MiB, L3: 480 * MiB, L1DShared: 1, L2Shared: 1, L3Shared: 2}, 1 << 18},
		// Four cores on one 2 MiB L2 (Intel's E-core clusters): 512 KiB each.
		{"L2 of a 4-core cluster", kernels.Caches{L1D: 32 * KiB, L2: 2 * MiB, L1DShared: 1, L2Shared: 4}, 1 << 16},
		// Sharing counted in logical CPUs, 2 per core: 1 MiB each.
		{"L2 of a 2-core cluster with SMT", kernels.Caches{L1D: 32 * KiB, L2: 2 * MiB, L1DShared: 2, L2Shared: 4}, 1 << 17},
		{"sharing unknown", kernels.Caches{L1D: 32 * KiB, L2: 1 * MiB}, 1 << 17},
		{"no L2 known", kernels.Caches{}, minBudget},
		{"tiny L2", kernels.Caches{L1D: 16 * KiB, L2: 64 * KiB}, minBudget},
		{"large L2", kernels.Caches{L1D: 48 * KiB, L2: 16 * MiB}, maxBudget},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lim := limitsFor(tc.c)
			assert.Equal(t, tc.budget, lim.budget, "chunk budget")
			assert.Equal(t, tc.budget, lim.batchOut, "batched output budget")
			want := recordedLimits
			want.budget, want.batchOut = lim.budget, lim.batchOut
			assert.Equal(t, want, lim, "nothing but the budgets depends on the caches")
		})
	}
	assert.Equal(t, limitsFor(kernels.CPU().Caches), defaultLimits, "the default is this CPU's")
}
