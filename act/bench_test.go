package act

import (
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
)

// The public reductions per kernel set, at the sizes of SeedNet's kernels
// (288 = 32x3x3, 2304 = 256x3x3 per unit; 589824 = a whole 256x256x3x3
// tensor) and one far beyond the caches.
var reduceSizes = []struct {
	name string
	n    int
}{{"288", 288}, {"2304", 2304}, {"589824", 589824}, {"64Mi", 64 << 20}}

func benchReduce(b *testing.B, bytesPerElem float64, f func(k *kernels.Set, x []float32)) {
	for _, k := range kernels.Sets() {
		for _, s := range reduceSizes {
			b.Run(k.ISA+"/"+s.name, func(b *testing.B) {
				x := testkit.Normal(testkit.Rand(1), s.n, 0.01, 0.05)
				for b.Loop() {
					f(k, x)
				}
				ns := float64(b.Elapsed().Nanoseconds())
				elems := float64(s.n) * float64(b.N)
				b.ReportMetric(elems/ns, "elem/ns")
				b.ReportMetric(elems*bytesPerElem/ns, "GB/s")
			})
		}
	}
}

// BenchmarkCentralize: a sum pass, then w -= mean in place (12 bytes of
// traffic per element).
func BenchmarkCentralize(b *testing.B) {
	benchReduce(b, 12, func(k *kernels.Set, x []float32) { centralize(k, x) })
}

// BenchmarkMeanVar: one pass for both moments.
func BenchmarkMeanVar(b *testing.B) {
	benchReduce(b, 4, func(k *kernels.Set, x []float32) { meanVar(k, x) })
}
