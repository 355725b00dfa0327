package gemm

import (
	"math"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestTransposedC: which calls compute C^T = B A^T: B transposed, A not,
// few rows (KernelA unpacked for them), many columns, B larger than L2's
// share, beta == 0, neither B in place nor by rows.
func TestTransposedC(t *testing.T) {
	kernelA := func(kc, m, n int, a []float32, lda int, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32) {
	}
	g := &kernels.Gemm{MR: 6, NR: 16, KernelA: kernelA}
	saved := cachedFloats
	defer func() { cachedFloats = saved }()
	cachedFloats = 1 << 16 // a Zen 3's: half of 512 KiB
	for _, tc := range []struct {
		name            string
		transA, transB  bool
		m, n, k         int
		beta            float32
		inPlace, byRows bool
		want            bool
	}{
		{"dense layer's input gradient, 32 x 4096 x 512", false, true, 32, 4096, 512, 0, false, false, true},
		{"128 rows, depth 8 x 128", false, true, 128, 512, 1024, 0, false, false, true},
		{"128 rows, depth under 8 x 128", false, true, 128, 512, 1020, 0, false, false, false},
		{"129 rows", false, true, 129, 512, 2048, 0, false, false, false},
		{"32 rows, depth 255", false, true, 32, 4096, 255, 0, false, false, false},
		{"Winograd transform, 25 x 16384 x 9", false, true, 25, 16384, 9, 0, false, false, false},
		{"B fits in L2", false, true, 32, 256, 256, 0, false, false, false},
		{"B one column beyond", false, true, 32, 257, 256, 0, false, false, true},
		{"few columns too", false, true, 32, 128, 4096, 0, false, false, false},
		{"B not transposed", false, false, 32, 512, 512, 0, false, false, false},
		{"A transposed", true, true, 32, 512, 512, 0, false, false, false},
		{"beta 1", false, true, 32, 512, 512, 1, false, false, false},
		{"B in place", false, true, 32, 512, 512, 0, true, false, false},
		{"B by rows", false, true, 32, 512, 512, 0, false, true, false},
	} {
		var rows rowsB
		if tc.byRows {
			rows.off = []int{0}
		}
		assert.Equal(t, tc.want, transposedC(g, tc.inPlace, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.beta, rows), tc.name)
	}
	g.KernelA = nil
	assert.False(t, transposedC(g, false, false, true, 32, 512, 512, 0, rowsB{}), "no KernelA")
}

// TestTransposedCSameBits: a call computed as C^T = B A^T gives the bits
// of the same call computed directly, on every kernel set with KernelA,
// for shapes around the panels and the depth block, alpha 1 and not, 1
// and 3 threads, and leaves C's elements past column n alone.
func TestTransposedCSameBits(t *testing.T) {
	defer SplitAnySize()()
	saved, depth := cachedFloats, transposedDepth
	defer func() { cachedFloats, transposedDepth = saved, depth }()
	transposedDepth = 0
	r := testkit.Rand(31)
	for _, ks := range kernels.Sets() {
		if ks.Gemm.KernelA == nil {
			continue
		}
		nr := ks.Gemm.NR
		for _, s := range []struct{ m, n, k int }{
			{1, 8*nr + 1, 1}, {5, 9 * nr, 17}, {7, 1000, 300}, {32, 700, 1100}, {8 * nr, 9*nr + 3, 40},
		} {
			lda, ldb, ldc := s.k+3, s.k+1, s.n+5
			a := testkit.Uniform(r, s.m*lda, -1, 1)
			b := testkit.Uniform(r, s.n*ldb, -1, 1)
			for _, alpha := range []float32{1, -0.75} {
				for _, threads := range []int{1, 3} {
					o := Options{Kernels: ks, Threads: threads}
					run := func(cached int) []float32 {
						cachedFloats = cached
						c := make([]float32, s.m*ldc)
						for i := range c {
							c[i] = float32(math.NaN())
						}
						o.Sgemm(false, true, s.m, s.n, s.k, alpha, a, lda, b, ldb, 0, c, ldc)
						return c
					}
					cachedFloats = 0
					require.True(t, transposedC(&ks.Gemm, false, false, true, s.m, s.n, s.k, 0, rowsB{}), "%v: the case is meant to go transposed", s)
					got, want := run(0), run(math.MaxInt)
					for i := range want {
						if i%ldc >= s.n {
							require.True(t, math.IsNaN(float64(got[i])), "%s %v: C[%d] past column n written", ks.ISA, s, i)
							continue
						}
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s %v alpha %v, %d threads: C[%d] = %v, want %v", ks.ISA, s, alpha, threads, i, got[i], want[i])
					}
				}
			}
		}
	}
}
