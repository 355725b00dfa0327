package gemm

import (
	"fmt"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
)

func BenchmarkTmpDW(b *testing.B) {
	ks := kernels.Active()
	for _, s := range [][3]int{{32, 145, 1024}, {64, 193, 1024}, {128, 289, 1024}, {128, 385, 2048}, {256, 577, 1024}, {256, 769, 2048}} {
		oc, rows, cols := s[0], s[1], s[2]
		r := testkit.Rand(1)
		dy := testkit.Uniform(r, oc*cols, -1, 1)
		col := testkit.Uniform(r, rows*cols, -1, 1)
		part := make([]float32, oc*rows)
		partT := make([]float32, oc*rows)
		o := Options{Kernels: ks, Threads: 1}
		fl := 2 * float64(oc*rows*cols)
		b.Run(fmt.Sprintf("%dx%dx%d/dyColT", oc, rows, cols), func(b *testing.B) {
			for b.Loop() {
				o.Sgemm(false, true, oc, rows, cols, 1, dy, cols, col, cols, 0, part, rows)
			}
			b.ReportMetric(fl*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("%dx%dx%d/colDyT", oc, rows, cols), func(b *testing.B) {
			for b.Loop() {
				o.Sgemm(false, true, rows, oc, cols, 1, col, cols, dy, cols, 0, partT, oc)
			}
			b.ReportMetric(fl*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
