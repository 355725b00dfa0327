package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKernelsCommand checks `snn kernels` names the caches the blocks come
// from and the blocks of the set in use, and that the lines test.sh reads
// keep their shape.
func TestKernelsCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "kernels")
	require.Equal(t, 0, code, stderr)
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		k, v, _ := strings.Cut(l, "  ")
		lines[k] = strings.TrimSpace(v)
	}
	c := kernels.CPU().Caches
	assert.Contains(t, lines["caches"], fmt.Sprintf("L1d %s", cacheSize(c.L1D, c.L1DWays)))
	assert.Equal(t, "avx2: MR 6 NR 16 KC 512 MC 4092 NC 896",
		gemmBlocks(&kernels.Set{ISA: kernels.AVX2, Gemm: kernels.Gemm{MR: 6, NR: 16, KC: 512, MC: 4092, NC: 896}}))
	g := &kernels.Active().Gemm
	assert.True(t, strings.HasPrefix(lines["gemm blocks"], fmt.Sprintf("%s: MR %d NR %d KC %d MC %d NC %d ",
		kernels.ISA(), g.MR, g.NR, g.KC, g.MC, g.NC)), "gemm blocks line: %q", lines["gemm blocks"])
	assert.Equal(t, bytesIEC(conv.ChunkBytes())+" (half of a core's L2)", lines["conv chunks"])
	assert.True(t, strings.HasPrefix(lines["in use"], kernels.Describe()), "in use line: %q", lines["in use"])
	for _, a := range kernels.Available() {
		if a.Runs {
			assert.Equal(t, "runs here", lines[a.ISA])
		} else {
			assert.True(t, strings.HasPrefix(lines[a.ISA], "not here: "), "%s: %q", a.ISA, lines[a.ISA])
		}
	}
	assert.Equal(t, "48 KiB 12-way", cacheSize(48<<10, 12))
	assert.Equal(t, "2 MiB", cacheSize(2<<20, 0))
}
