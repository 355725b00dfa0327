package kernels

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tiles are the register tiles of the sets, MR x NR.
var tiles = map[string][2]int{AVX512: {12, 32}, AVX2: {6, 16}, NEON: {8, 12}, Generic: {4, 4}}

// blocks is one expected result of blocking.
type blocks struct{ kc, mc, nc int }

// TestBlocking checks the blocks of the CPUs of cpuDescriptors and of this
// VM against values worked out by hand from the model, for the sets each
// CPU runs, and the model's invariants for every tile on every CPU.
func TestBlocking(t *testing.T) {
	caches := map[string]Caches{"this VM (sysfs)": vmCaches}
	for name, d := range cpuDescriptors {
		caches[name] = d.want
	}
	want := map[string]map[string]blocks{
		"AMD EPYC Zen 3": {
			// L1: 7 ways * 16/22 -> B panel 5 ways of 4 KiB: KC 320.
			// L2: 8 - 1 - 1 (A) = 6 ways of 64 KiB / 1280 B: 307 -> 304.
			// L3: 32 MiB / 8 cores, 16 ways of 256 KiB; B block 2 ways,
			// 13 left / 1280 B: 2662 -> 2658.
			AVX2: {320, 2658, 304},
		},
		"Intel Xeon Sapphire Rapids": {
			// L1: 11 ways * 32/44 = 8 ways of 4 KiB / 128 B: KC 256.
			// L2: 16 - 1 - 1 = 14 ways of 128 KiB / 1 KiB: 1792.
			// L3: 105 MiB / 64 cores = 1.64 MiB, 15 ways of 112 KiB; the
			// B block alone needs 16: the floor, 1020.
			AVX512: {256, 1020, 1792},
			AVX2:   {512, 1020, 896},
		},
		"AMD EPYC Zen 4": {
			// L1: 7 * 32/44 -> 5 ways: KC 160. L2: 6 ways of 128 KiB /
			// 640 B: 1228 -> 1216. L3: 4 MiB a core, B block 3 ways, 12
			// left / 640 B: 4915, the ceiling 4092.
			AVX512: {160, 4092, 1216},
			// L2: 6 ways of 128 KiB / 1280 B: 614 -> 608. L3: B block 3
			// ways, 12 left / 1280 B: 2457 -> 2454.
			AVX2: {320, 2454, 608},
		},
		"Intel Core 4-core client": {
			// L2: 4 - 1 - 1 = 2 ways of 64 KiB / 1280 B: 102 -> 96. L3:
			// 6 MiB / 4 cores, 12 ways of 128 KiB; B block 1 way, 10 left
			// / 1280 B: 1024 -> 1020.
			AVX2: {320, 1020, 96},
		},
		"this VM (sysfs)": {
			// L3: 480 MiB / 2 cores, far above the ceiling.
			AVX512: {256, 4092, 1792},
			AVX2:   {512, 4092, 896},
			// L1: 11 * 12/20 -> 6 ways / 48 B: 512. L2: 14 ways / 2 KiB:
			// 896 -> 888.
			NEON: {512, 4096, 888},
			// L1: 11 * 4/8 -> 5 ways / 16 B: 1280, the ceiling 1024.
			Generic: {1024, 4096, 448},
		},
	}
	for name, c := range caches {
		require.Contains(t, want, name, "every CPU of the table has its blocks worked out")
		for isa, tile := range tiles {
			t.Run(fmt.Sprintf("%s/%s", name, isa), func(t *testing.T) {
				mr, nr := tile[0], tile[1]
				kc, mc, nc := blocking(c, mr, nr)
				checkBlocks(t, c, mr, nr, kc, mc, nc)
				if w, ok := want[name][isa]; ok {
					assert.Equal(t, w, blocks{kc, mc, nc})
				}
			})
		}
	}
}

// checkBlocks asserts the rounding and bounds of the blocks, and the
// model's inequalities wherever a bound did not raise a block above what
// the model allows.
func checkBlocks(t *testing.T, c Caches, mr, nr, kc, mc, nc int) {
	t.Helper()
	require.Zero(t, kc%8, "KC %d keeps packed panels in whole cache lines", kc)
	require.Zero(t, mc%mr, "MC %d is whole strips of %d rows", mc, mr)
	require.Zero(t, nc%nr, "NC %d is whole panels of %d columns", nc, nr)
	assert.True(t, kc >= 128 && kc <= 1024, "KC %d within [128, 1024]", kc)
	assert.True(t, mc >= 1024/mr*mr && mc <= 4096, "MC %d within [1024, 4096] rounded to %d", mc, mr)
	assert.True(t, nc >= 4*nr && nc <= 4096, "NC %d within [4 panels, 4096]", nc)

	waysOf := func(bytes, way int) int { return (bytes + way - 1) / way }
	w1 := c.L1DWays
	if w1 == 0 {
		w1 = 8
	}
	way1 := c.L1D / w1
	if kc > 128 {
		// The A micro-panel stays while a B panel streams past it, one
		// way free.
		assert.LessOrEqual(t, waysOf(mr*kc*4, way1)+waysOf(nr*kc*4, way1), w1-1,
			"L1: A micro-panel and B panel (KC %d) in %d of %d ways of %d B", kc, w1-1, w1, way1)
	}
	if kc < 1024 {
		// And a deeper block would break that for the streaming panel's
		// share, the larger one as NR >= MR.
		assert.Greater(t, waysOf(mr*(kc+8)*4, way1)+waysOf(nr*(kc+8)*4, way1), w1-1,
			"L1: KC %d is the deepest block the model allows", kc)
	}
	w2 := c.L2Ways
	if w2 == 0 {
		w2 = 8
	}
	way2 := c.L2 / w2
	if nc > 4*nr {
		assert.LessOrEqual(t, waysOf(mr*kc*4, way2)+waysOf(kc*nc*4, way2), w2-1,
			"L2: B block KC %d x NC %d and an A micro-panel in %d of %d ways", kc, nc, w2-1, w2)
	}
	if c.L3 > 0 && mc > 1024/mr*mr {
		cores := max(1, c.L3Shared/max(1, c.L1DShared))
		w3 := c.L3Ways
		if w3 == 0 {
			w3 = 8
		}
		way3 := c.L3 / cores / w3
		assert.LessOrEqual(t, waysOf(kc*nc*4, way3)+waysOf(mc*kc*4, way3), w3-1,
			"L3 share of one of %d cores: A block MC %d x KC %d and a B block in %d of %d ways", cores, mc, kc, w3-1, w3)
	}
}

// TestBlockingBounds covers caches the model cannot use or need not: the
// blocks fall back to their bounds.
func TestBlockingBounds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      Caches
		mr, nr int
		want   blocks
	}{
		// Nothing read: 32 KiB 8-way L1d, 256 KiB 4-way L2, no L3.
		{"assumed caches", assumedCaches, 6, 16, blocks{320, 1020, 96}},
		{"assumed caches, AVX-512 tile", assumedCaches, 12, 32, blocks{160, 1020, 192}},
		// No associativity known: 8 ways each.
		{"unknown ways", Caches{L1D: 32 << 10, L2: 512 << 10, L3: 16 << 20, L3Shared: 1}, 6, 16, blocks{320, 4092, 304}},
		// A 2-way L1d leaves B's panel no way: the floor.
		{"2-way L1d", Caches{L1D: 32 << 10, L2: 1 << 20, L1DWays: 2, L2Ways: 16}, 8, 12, blocks{128, 1024, 1788}},
		// A 128 KiB 8-way L1d: 4 ways of 16 KiB / 48 B = 1365, the ceiling.
		{"large L1d", Caches{L1D: 128 << 10, L2: 4 << 20, L1DWays: 8, L2Ways: 16}, 8, 12, blocks{1024, 1024, 888}},
		// An L2 too small for A's micro-panel and the free way: the floor.
		{"tiny L2", Caches{L1D: 32 << 10, L2: 64 << 10, L1DWays: 8, L2Ways: 2}, 6, 16, blocks{320, 1020, 64}},
		{"no caches", Caches{}, 12, 32, blocks{128, 1020, 128}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc, mc, nc := blocking(tc.c, tc.mr, tc.nr)
			assert.Equal(t, tc.want, blocks{kc, mc, nc})
			if tc.c.L1D > 0 {
				checkBlocks(t, tc.c, tc.mr, tc.nr, kc, mc, nc)
			}
		})
	}
}

// TestSetsUseBlocking checks every set runs with the blocks this CPU's
// caches give its tile.
func TestSetsUseBlocking(t *testing.T) {
	c := CPU().Caches
	for _, s := range Sets() {
		g := &s.Gemm
		kc, mc, nc := blocking(c, g.MR, g.NR)
		t.Logf("%s: MR %d NR %d KC %d MC %d NC %d", s.ISA, g.MR, g.NR, g.KC, g.MC, g.NC)
		assert.Equal(t, blocks{kc, mc, nc}, blocks{g.KC, g.MC, g.NC}, s.ISA)
		if tile, ok := tiles[s.ISA]; ok {
			assert.Equal(t, tile, [2]int{g.MR, g.NR}, "%s: the tile TestBlocking assumes", s.ISA)
		}
	}
}
