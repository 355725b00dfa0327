package gemm

import (
	"testing"

	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
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
