package gemm

import (
	"testing"

	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
)

// TestUseUnpackedA: A is read in place when it is not transposed and the
// product has few columns (kernels.Gemm.UnpackedA) or is small.
func TestUseUnpackedA(t *testing.T) {
	kernelA := func(kc, m, n int, a []float32, lda int, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32) {
	}
	g := &kernels.Gemm{MR: 6, NR: 16, KernelA: kernelA}
	for _, tc := range []struct {
		name    string
		transA  bool
		m, n, k int
		want    bool
	}{
		{"weight gradient: 32 columns", false, 145, 32, 1024, true},
		{"8 panels", false, 4096, 128, 4096, true},
		{"9 panels, large", false, 256, 144, 256, false},
		{"9 panels, small", false, 64, 144, 64, true},
		{"256 columns, small", false, 128, 256, 128, true},
		{"257 columns, small", false, 16, 257, 16, false},
		{"A transposed", true, 145, 32, 1024, false},
	} {
		assert.Equal(t, tc.want, useUnpackedA(g, tc.transA, tc.m, tc.n, tc.k), tc.name)
	}
	g.KernelA = nil
	assert.False(t, useUnpackedA(g, false, 8, 8, 8), "no KernelA")
}
