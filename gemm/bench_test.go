package gemm_test

import (
	"fmt"
	"testing"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
)

// BenchmarkSgemmSmall covers the small products where call overhead,
// packing and edge tiles weigh most (the 16 anchor shapes are in the root
// bench_test.go): squares and a few-rows-by-wide shapes, per kernel set,
// one thread, with GFLOP/s and the fraction of the FMA peak measured next
// to each benchmark.
func BenchmarkSgemmSmall(b *testing.B) {
	shapes := [][3]int{{8, 8, 8}, {16, 16, 16}, {32, 32, 32}, {64, 64, 64}, {96, 96, 96}, {128, 128, 128},
		{32, 1024, 27}, {64, 256, 576}, {13, 37, 100}}
	r := testkit.Rand(1)
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		a := testkit.Uniform(r, m*k, -1, 1)
		bm := testkit.Uniform(r, k*n, -1, 1)
		c := make([]float32, m*n)
		for _, ks := range kernels.Sets() {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, n, k, ks.ISA), func(b *testing.B) {
				o := gemm.Options{Threads: 1, Kernels: ks}
				peak := kernels.PeakGFLOPS(&ks.Gemm)
				for b.Loop() {
					o.Sgemm(false, false, m, n, k, 1, a, k, bm, n, 0, c, n)
				}
				peak = max(peak, kernels.PeakGFLOPS(&ks.Gemm))
				gflops := 2 * float64(m*n*k) * float64(b.N) / b.Elapsed().Seconds() / 1e9
				b.ReportMetric(gflops, "GFLOP/s")
				b.ReportMetric(100*gflops/peak, "%peak")
			})
		}
	}
}
