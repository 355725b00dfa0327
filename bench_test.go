// Cross-package benchmarks: the numbers that track snn's performance.
// Every benchmark reports a rate; compare runs with benchstat.
//
//	go test -run '^$' -bench . -count 6 | tee new.txt
package snn_test

import (
	"fmt"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
)

// actSizes are the input sizes of the element-wise and reduction
// benchmarks, in bytes of float32 input: in L1, in L2, beyond L2, and far
// beyond every cache.
var actSizes = []struct {
	name string
	n    int
}{
	{"16KiB", 4 << 10},
	{"64KiB", 16 << 10},
	{"1MiB", 256 << 10},
	{"4MiB", 1 << 20},
	{"256MiB", 64 << 20},
}

// benchBuffers hands out input buffers per size, filled once.
var benchBuffers = map[string][]float32{}

func benchBuf(name string, n int, lo, hi float32) []float32 {
	key := fmt.Sprintf("%s/%d/%v/%v", name, n, lo, hi)
	if b, ok := benchBuffers[key]; ok {
		return b
	}
	b := testkit.Uniform(testkit.Rand(uint64(n)), n, lo, hi)
	benchBuffers[key] = b
	return b
}

// rate reports elements per nanosecond and the memory traffic in GB/s
// for bytesPerElem bytes read and written per element.
func rate(b *testing.B, n int, bytesPerElem float64) {
	ns := float64(b.Elapsed().Nanoseconds())
	elems := float64(n) * float64(b.N)
	b.ReportMetric(elems/ns, "elem/ns")
	b.ReportMetric(elems*bytesPerElem/ns, "GB/s")
	b.ReportMetric(0, "ns/op")
}

// benchAct runs body for every kernel set and size, with sub-benchmarks
// named ISA/size.
func benchAct(b *testing.B, bytesPerElem float64, body func(b *testing.B, k *kernels.Set, n int, size string)) {
	for _, k := range kernels.Sets() {
		for _, s := range actSizes {
			if k.ISA == kernels.Generic && s.n > 1<<20 && testing.Short() {
				continue
			}
			b.Run(k.ISA+"/"+s.name, func(b *testing.B) {
				body(b, k, s.n, s.name)
				rate(b, s.n, bytesPerElem)
			})
		}
	}
}

func BenchmarkSELU(b *testing.B) {
	benchAct(b, 8, func(b *testing.B, k *kernels.Set, n int, size string) {
		x, y := benchBuf("x", n, -4, 4), benchBuf("y", n, 0, 1)
		for b.Loop() {
			k.Act.SELU(y, x)
		}
	})
}

func BenchmarkSELUGrad(b *testing.B) {
	benchAct(b, 12, func(b *testing.B, k *kernels.Set, n int, size string) {
		y, dy, dx := benchBuf("x", n, -1.7, 4), benchBuf("dy", n, -1, 1), benchBuf("y", n, 0, 1)
		for b.Loop() {
			k.Act.SELUGrad(dx, dy, y)
		}
	})
}

func BenchmarkExp(b *testing.B) {
	benchAct(b, 8, func(b *testing.B, k *kernels.Set, n int, size string) {
		x, y := benchBuf("xe", n, -20, 20), benchBuf("y", n, 0, 1)
		for b.Loop() {
			k.Act.Exp(y, x)
		}
	})
}

func BenchmarkReLU(b *testing.B) {
	benchAct(b, 8, func(b *testing.B, k *kernels.Set, n int, size string) {
		x, y := benchBuf("x", n, -4, 4), benchBuf("y", n, 0, 1)
		for b.Loop() {
			k.Act.ReLU(y, x)
		}
	})
}

// BenchmarkCopy is the ceiling of one-in, one-out element-wise kernels:
// SELU beyond L2 is judged against it.
func BenchmarkCopy(b *testing.B) {
	benchAct(b, 8, func(b *testing.B, k *kernels.Set, n int, size string) {
		x, y := benchBuf("x", n, -4, 4), benchBuf("y", n, 0, 1)
		for b.Loop() {
			k.Act.Copy(y, x)
		}
	})
}

// BenchmarkMean is the blocked sum behind act.Mean.
func BenchmarkMean(b *testing.B) {
	benchAct(b, 4, func(b *testing.B, k *kernels.Set, n int, size string) {
		x := benchBuf("m", n, 999, 1001)
		var s float64
		for b.Loop() {
			s += k.Act.Sum(x)
		}
		if s == 0 {
			b.Fatal("sum is zero")
		}
	})
}

// BenchmarkRead only loads: the ceiling Mean is judged against.
func BenchmarkRead(b *testing.B) {
	benchAct(b, 4, func(b *testing.B, k *kernels.Set, n int, size string) {
		x := benchBuf("m", n, 999, 1001)
		for b.Loop() {
			k.Act.Read(x)
		}
	})
}
