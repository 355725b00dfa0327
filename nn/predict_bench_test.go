package nn_test

import (
	"fmt"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/nn"
)

// BenchmarkPredict measures inference with the reference SeedNets: batch 1
// (the latency of one image, ms/image) and batch 32 (throughput), each
// reporting images/s, on one caller; the kernels use par.Threads().
func BenchmarkPredict(b *testing.B) {
	for _, s := range []struct{ size, classes int }{{64, 365}, {28, 10}} {
		m, err := nn.NewSeedNet(nn.SeedNetConfig{Height: s.size, Classes: s.classes, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		p, err := nn.NewPredictor(m, &nn.Standardization{Mean: []float64{0.45}, Std: []float64{0.25}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 32} {
			b.Run(fmt.Sprintf("%dpx-%dcls/batch%d", s.size, s.classes, n), func(b *testing.B) {
				x := testkit.Uniform(testkit.Rand(1), n*p.InputShape().Size(), 0, 1)
				out := make([]float32, n*p.Classes())
				p.Predict(x, n, out)
				b.ResetTimer()
				for b.Loop() {
					p.Predict(x, n, out)
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(b.N*n)/sec, "images/s")
				b.ReportMetric(1e3*sec/float64(b.N*n), "ms/image")
			})
		}
	}
}
