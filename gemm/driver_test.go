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
