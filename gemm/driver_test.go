package gemm

import (
	"math"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCachedFor checks the size beyond which an operand's next packing is
// prefetched: half of a core's share of L2, in floats.
func TestCachedFor(t *testing.T) {
	const KiB, MiB = 1 << 10, 1 << 20
	cases := []struct {
		name string
		c    kernels.Caches
		want int
	}{
		{"AMD EPYC Zen 3", kernels.Caches{L2: 512 * KiB, L1DShared: 2, L2Shared: 2}, 1 << 16},
		{"Intel Xeon Sapphire Rapids", kernels.Caches{L2: 2 * MiB, L1DShared: 2, L2Shared: 2}, 1 << 18},
		{"AMD EPYC Zen 4", kernels.Caches{L2: 1 * MiB, L1DShared: 2, L2Shared: 2}, 1 << 17},
		{"Intel Core 4-core client", kernels.Caches{L2: 256 * KiB, L1DShared: 2, L2Shared: 2}, 1 << 15},
		{"L2 of a 4-core cluster", kernels.Caches{L2: 2 * MiB, L1DShared: 1, L2Shared: 4}, 1 << 16},
		{"no L2 known", kernels.Caches{}, 1 << 14},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, cachedFor(tc.c))
		})
	}
	assert.Equal(t, cachedFor(kernels.CPU().Caches), cachedFloats)
}

// TestPrefetchesB checks when run prefetches the next block of B's
// source: never for a B that stays in L2, and only while that source and
// the packed block fit in B's share of L2 (the AVX2 blocks of a 2 MiB L2:
// KC 512 x NC 896).
func TestPrefetchesB(t *testing.T) {
	g := &kernels.Gemm{MR: 6, NR: 16, KC: 512, MC: 4092, NC: 896}
	cases := []struct {
		name      string
		big       bool // B beyond L2: q.prefetchB
		kc, ncb   int
		prefetchB bool
	}{
		{"256 x 2048 x 2304: blocks of 464 x 688", true, 464, 688, false},
		{"32 x 512 x 4096: blocks of 464 x 512", true, 464, 512, false},
		{"4096 x 512 x 32: one thin block", true, 32, 512, true},
		{"half the share: the largest that fits", true, 512, 448, true},
		{"one panel more", true, 512, 464, false},
		{"B in L2", false, 32, 512, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := call{g: g, kc: tc.kc, prefetchB: tc.big}
			assert.Equal(t, tc.prefetchB, q.prefetchesB(tc.ncb))
		})
	}
}

// TestBlockCols checks the columns of a block of B: NC when B is packed,
// more for shallow depth blocks of a B read in place (the same floats as
// KC x NC), within maxBlockCols; on the AVX2 blocks of the Xeon (KC 512,
// NC 896) and of Zen 3 (KC 320, NC 304).
func TestBlockCols(t *testing.T) {
	xeon := &kernels.Gemm{MR: 6, NR: 16, KC: 512, NC: 896}
	zen3 := &kernels.Gemm{MR: 6, NR: 16, KC: 320, NC: 304}
	cases := []struct {
		name    string
		g       *kernels.Gemm
		kc      int
		inPlace bool
		want    int
	}{
		{"packed, full depth", xeon, 512, false, 896},
		{"packed, shallow", xeon, 64, false, 896},
		{"in place, full depth", xeon, 512, true, 896},
		{"in place, half the depth", xeon, 256, true, 1792},
		{"in place, depth 9: the bound", xeon, 9, true, maxBlockCols},
		{"Zen 3, in place, depth 64", zen3, 64, true, 1520},
		{"Zen 3, in place, depth 9", zen3, 9, true, maxBlockCols},
		{"Zen 3, packed, depth 9", zen3, 9, false, 304},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := call{g: tc.g, kc: tc.kc}
			assert.Equal(t, tc.want, q.blockCols(tc.inPlace))
		})
	}
}

// TestFusedRowsFit checks which row strides of B the packing kernel may
// read in place: the rows it has in flight (up to 20, fewer for a
// shallower block) spread over the L1 sets their stride reaches, at most
// ways-2 a set; on this Xeon's L1 (48 KiB, 12 ways), Zen 3's (32 KiB, 8)
// and an L1 the CPU does not describe (4 KiB ways of 8 assumed).
func TestFusedRowsFit(t *testing.T) {
	xeon := kernels.Caches{L1D: 48 << 10, L1DWays: 12}
	zen3 := kernels.Caches{L1D: 32 << 10, L1DWays: 8}
	cases := []struct {
		name   string
		c      kernels.Caches
		ld, kc int
		fit    bool
	}{
		{"Xeon, rows 2 KiB apart: 2 sets, 10 rows each", xeon, 512, 512, true},
		{"Xeon, rows 16 KiB apart: one set, 20 rows", xeon, 4096, 512, false},
		{"Xeon, one set, 10 rows deep: fits", xeon, 4096, 10, true},
		{"Xeon, one set, 11 rows deep", xeon, 4096, 11, false},
		{"Xeon, rows 4000 bytes apart: every set", xeon, 1000, 512, true},
		{"Xeon, 512 KiB apart, 9 rows", xeon, 131072, 9, true},
		{"Zen 3, rows 2 KiB apart: 10 rows a set of 8 ways", zen3, 512, 512, false},
		{"Zen 3, one set, 6 rows deep", zen3, 4096, 6, true},
		{"Zen 3, one set, 7 rows deep", zen3, 4096, 7, false},
		{"Zen 3, rows 1 KiB apart: 4 sets, 5 rows each", zen3, 256, 512, true},
		{"unknown L1, rows 4000 bytes apart", kernels.Caches{}, 1000, 512, true},
		{"unknown L1, one set, 7 rows", kernels.Caches{}, 1024, 7, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.fit, fusedRowsFit(tc.c, tc.ld, tc.kc))
		})
	}
}

// TestFusedSameBits: a call whose first strips pack B as they read it
// (fusesB) gives the bits of the same call packed beforehand, on every set
// with the packing kernels: a partial last panel and whole ones, one strip
// and several (with a short last one), one depth block and several, more
// than one column block, 1 and 3 threads, beta 0 (C not read) and not; C
// past column n is left alone.
func TestFusedSameBits(t *testing.T) {
	defer SplitAnySize()()
	saved, strips := cachedFloats, fusedStrips
	defer func() { cachedFloats, fusedStrips = saved, strips }()
	r := testkit.Rand(77)
	for _, ks := range kernels.Sets() {
		g := &ks.Gemm
		if g.KernelPack == nil {
			continue
		}
		nr, mr := g.NR, g.MR
		for _, s := range []struct{ m, n, k int }{
			{1, 300, 300}, {mr - 1, 521, 40}, {mr + 1, 20 * nr, 300}, {4*mr + 3, 700, g.KC + 9}, {8 * mr, 20*nr - 1, 2*g.KC + 1},
		} {
			lda, ldb, ldc := s.k+3, s.n+3, s.n+5
			require.True(t, fusedRowsFit(kernels.CPU().Caches, ldb, min(s.k, g.KC)), "%v: B's rows are meant to fit", s)
			a := testkit.Uniform(r, s.m*lda, -1, 1)
			b := testkit.Uniform(r, s.k*ldb, -1, 1)
			c0 := testkit.Uniform(r, s.m*ldc, -1, 1)
			for _, beta := range []float32{0, 0.5} {
				for _, threads := range []int{1, 3} {
					o := Options{Kernels: ks, Threads: threads}
					run := func(fused bool) []float32 {
						cachedFloats, fusedStrips = 0, 0
						if fused {
							fusedStrips = strips
						}
						c := append([]float32(nil), c0...)
						o.Sgemm(false, false, s.m, s.n, s.k, 0.75, a, lda, b, ldb, beta, c, ldc)
						fusedStrips = strips
						return c
					}
					q := call{g: g, m: s.m, n: s.n, k: s.k, ldb: ldb, kc: balanced(s.k, g.KC, 4), prefetchB: true,
						unpackedA: useUnpackedA(g, false, s.m, s.n, s.k)}
					require.True(t, q.fusesB(balanced(s.m, g.MC, mr)) && !q.inPlaceB(q.kc), "%s %v: the case is meant to fuse", ks.ISA, s)
					got, want := run(true), run(false)
					for i := range want {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s %v beta %v, %d threads: C[%d] = %v, want %v",
							ks.ISA, s, beta, threads, i, got[i], want[i])
						if i%ldc >= s.n {
							require.Equal(t, math.Float32bits(c0[i]), math.Float32bits(got[i]), "%s %v: C[%d] past column n written", ks.ISA, s, i)
						}
					}
				}
			}
		}
	}
}
