// Cross-package benchmarks: the numbers that track snn's performance.
// Every benchmark reports a rate; compare runs with benchstat.
//
//	go test -run '^$' -bench . -count 6 | tee new.txt
package snn_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/nn"
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
			k.Bench.Copy(y, x)
		}
	})
}

// BenchmarkMean is the blocked sum behind act.Mean.
func BenchmarkMean(b *testing.B) {
	benchSum(b, func(k *kernels.Set, x []float32) float64 { return k.Act.Sum(x) })
}

// BenchmarkSumF32 is the plain float32 vector sum loop (eight accumulators,
// no blocks, float32 to the end): the speed Mean is judged against (our
// bar is 90% of it), and what a compiler makes of a float32 sum.
func BenchmarkSumF32(b *testing.B) {
	benchSum(b, func(k *kernels.Set, x []float32) float64 { return float64(k.Bench.SumF32(x)) })
}

// benchSum times a sum of x per kernel set; the results are added up and
// checked so that no call can be left out.
func benchSum(b *testing.B, sum func(k *kernels.Set, x []float32) float64) {
	benchAct(b, 4, func(b *testing.B, k *kernels.Set, n int, size string) {
		x := benchBuf("m", n, 999, 1001)
		var s float64
		for b.Loop() {
			s += sum(k, x)
		}
		if s == 0 {
			b.Fatal("sum is zero")
		}
	})
}

// BenchmarkRead only loads, nothing is added: the stricter ceiling of one
// pass over x, which no reduction reaches in L1 (it needs no vector ALU).
func BenchmarkRead(b *testing.B) {
	benchAct(b, 4, func(b *testing.B, k *kernels.Set, n int, size string) {
		x := benchBuf("m", n, 999, 1001)
		for b.Loop() {
			k.Bench.Read(x)
		}
	})
}

// ---- conv: SeedNet's convolution stack ------------------------------------
//
// BenchmarkConvSeedNet runs the twelve convolutions and four max-poolings of
// SeedNet, forward and backward as training does (no input
// gradient for the first layer), on a batch of 32 images of 1x64x64 and
// 1x28x28, with one and two threads. In the same loop, alternating, it runs
// the bare GEMMs that the convolutions amount to (one call per pass over
// the whole batch), so the two rates are measured under the same load.

const convBatch = 32

// convNet is the stack: layer li reads in[li] and writes out[li]; the
// first layer of a stage reads the previous stage's pooled output.
type convNet struct {
	layers []*conv.Conv2D
	pools  []*conv.MaxPool2D
	in     [][]float32 // what layer li reads (aliases out or pooled)
	out    [][]float32 // conv outputs
	dOut   [][]float32 // their gradients
	dIn    [][]float32 // where layer li writes its input gradient (nil for the first)
	w, b   [][]float32
	dw, db [][]float32
	// Per stage: the pooled output, its gradient, the winners.
	pooled, dPooled [][]float32
	argmax          [][]int32
	flops           float64 // forward + backward, whole batch

	gemmM, gemmN, gemmK []int
	gemmTA, gemmTB      []bool
	ga, gb, gc          [][]float32
}

func newConvNet(b *testing.B, size, threads int) *convNet {
	r := rand.New(rand.NewPCG(21, 0))
	uniform := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = s * (2*r.Float32() - 1)
		}
		return v
	}
	net := &convNet{}
	ch, h := 1, size
	x := uniform(convBatch*size*size, 1)
	for s := 0; s < 4; s++ {
		out := 32 << s
		for l := 0; l < 3; l++ {
			g := conv.Same(ch, h, h, out, 3, 1)
			c, err := conv.New(g)
			if err != nil {
				b.Fatal(err)
			}
			c.SetThreads(threads)
			li := len(net.layers)
			net.layers = append(net.layers, c)
			net.in = append(net.in, x)
			y := make([]float32, convBatch*g.OutSize())
			net.out = append(net.out, y)
			net.dOut = append(net.dOut, make([]float32, len(y)))
			switch {
			case li == 0:
				net.dIn = append(net.dIn, nil)
			case l == 0:
				net.dIn = append(net.dIn, net.dPooled[s-1])
			default:
				net.dIn = append(net.dIn, net.dOut[li-1])
			}
			net.w = append(net.w, uniform(g.WeightSize(), 0.1))
			net.b = append(net.b, uniform(g.OutC, 0.1))
			net.dw = append(net.dw, make([]float32, g.WeightSize()))
			net.db = append(net.db, make([]float32, g.OutC))
			f := g.FLOPs() * convBatch
			net.flops += 2 * f
			k, cols := ch*9, convBatch*h*h
			net.addGemm(false, false, out, cols, k, r)
			net.addGemm(false, true, out, k, cols, r)
			if li > 0 {
				net.flops += f
				net.addGemm(true, false, k, cols, out, r)
			}
			x, ch = y, out
		}
		pg := conv.Pool(out, h, h, 2, 2)
		p, err := conv.NewMaxPool2D(pg)
		if err != nil {
			b.Fatal(err)
		}
		p.SetThreads(threads)
		net.pools = append(net.pools, p)
		x = make([]float32, convBatch*pg.OutSize())
		net.pooled = append(net.pooled, x)
		net.dPooled = append(net.dPooled, make([]float32, len(x)))
		net.argmax = append(net.argmax, make([]int32, len(x)))
		h = pg.OutH()
	}
	return net
}

func (net *convNet) addGemm(ta, tb bool, m, n, k int, r *rand.Rand) {
	net.gemmM = append(net.gemmM, m)
	net.gemmN = append(net.gemmN, n)
	net.gemmK = append(net.gemmK, k)
	net.gemmTA = append(net.gemmTA, ta)
	net.gemmTB = append(net.gemmTB, tb)
	a, bb := make([]float32, m*k), make([]float32, k*n)
	for i := range a {
		a[i] = r.Float32()
	}
	for i := range bb {
		bb[i] = r.Float32()
	}
	net.ga = append(net.ga, a)
	net.gb = append(net.gb, bb)
	net.gc = append(net.gc, make([]float32, m*n))
}

// step runs forward through every layer and pooling, then backward from
// the last pooling (its output serves as its own gradient).
func (net *convNet) step() {
	for li, c := range net.layers {
		c.Forward(convBatch, net.in[li], net.w[li], net.b[li], net.out[li])
		if li%3 == 2 {
			s := li / 3
			net.pools[s].Forward(convBatch, net.out[li], net.pooled[s], net.argmax[s])
		}
	}
	copy(net.dPooled[3], net.pooled[3])
	for li := len(net.layers) - 1; li >= 0; li-- {
		if li%3 == 2 {
			s := li / 3
			net.pools[s].Backward(convBatch, net.dPooled[s], net.argmax[s], net.dOut[li])
		}
		net.layers[li].Backward(convBatch, net.in[li], net.w[li], net.dOut[li], net.dIn[li], net.dw[li], net.db[li])
	}
}

func (net *convNet) gemms(threads int) {
	o := gemm.Options{Threads: threads}
	for i := range net.gemmM {
		m, n, k := net.gemmM[i], net.gemmN[i], net.gemmK[i]
		lda, ldb := k, n
		if net.gemmTA[i] {
			lda = m
		}
		if net.gemmTB[i] {
			ldb = k
		}
		o.Sgemm(net.gemmTA[i], net.gemmTB[i], m, n, k, 1, net.ga[i], lda, net.gb[i], ldb, 0, net.gc[i], n)
	}
}

func BenchmarkConvSeedNet(b *testing.B) {
	for _, size := range []int{64, 28} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dpx/t%d", size, threads), func(b *testing.B) {
				net := newConvNet(b, size, threads)
				net.step()
				net.gemms(threads)
				var tc, tg time.Duration
				for b.Loop() {
					t0 := time.Now()
					net.step()
					t1 := time.Now()
					net.gemms(threads)
					tc += t1.Sub(t0)
					tg += time.Since(t1)
				}
				n := float64(b.N)
				b.ReportMetric(net.flops*n/tc.Seconds()/1e9, "conv-GFLOP/s")
				b.ReportMetric(net.flops*n/tg.Seconds()/1e9, "gemm-GFLOP/s")
				b.ReportMetric(100*tg.Seconds()/tc.Seconds(), "%-of-gemm")
				b.ReportMetric(convBatch*n/tc.Seconds(), "images/s")
				b.ReportMetric(tc.Seconds()*1e3/n, "ms/step")
			})
		}
	}
}

// BenchmarkConvSeedNetThreads times the same stack on one thread and on
// two, alternating step by step, so that both see the same machine: its
// speedup is the two-thread ratio with the least noise this shared VM
// allows (BenchmarkConvSeedNet times the thread counts a second apart).
func BenchmarkConvSeedNetThreads(b *testing.B) {
	for _, size := range []int{64, 28} {
		b.Run(fmt.Sprintf("%dpx", size), func(b *testing.B) {
			one, two := newConvNet(b, size, 1), newConvNet(b, size, 2)
			one.step()
			two.step()
			var t1, t2 time.Duration
			for b.Loop() {
				t0 := time.Now()
				one.step()
				t1 += time.Since(t0)
				t0 = time.Now()
				two.step()
				t2 += time.Since(t0)
			}
			n := float64(b.N)
			b.ReportMetric(t1.Seconds()*1e3/n, "ms/step-t1")
			b.ReportMetric(t2.Seconds()*1e3/n, "ms/step-t2")
			b.ReportMetric(t1.Seconds()/t2.Seconds(), "speedup")
			b.ReportMetric(2*convBatch*n/(t1+t2).Seconds(), "images/s")
		})
	}
}

// ---- end conv -------------------------------------------------------------

// ---- optim: the fused optimizer steps -------------------------------------
//
// One optimizer step over a layer's parameters, per kernel set, on sizes
// from SeedNet: a 32x32x3x3 convolution (its arrays in L2), a
// 256x256x3x3 one (beyond L2), the 4096x512 dense layer of 64x64 inputs,
// and 16M parameters, far beyond the caches. Beyond L2 the step is
// memory-bound, so in the same loop, alternating, two streams over a
// working set of the step's size give its ceiling:
//   - copy: the set's Copy, half the set read and half written. Its GB/s
//     counts 8 bytes per element, but each written line is first read into
//     the cache (write-allocate), so it moves more than it counts.
//   - rmw: the set's Affine in place (x = 1*x + 0) over the whole set, a
//     read and a write of every line with nothing hidden: the pattern of
//     the optimizer, which writes only lines it has just read.
//
// For the generic set, Copy is Go's copy but Affine a scalar loop: its
// rmw figures are no memory ceiling.

var optimSizes = []struct {
	name string
	n    int
}{
	{"conv32x32", 32 * 32 * 3 * 3},
	{"conv256x256", 256 * 256 * 3 * 3},
	{"dense4096x512", 4096 * 512},
	{"16M", 16 << 20},
}

// benchOptim runs step for every set and size. arrays is the number of
// slices the step streams over (w, g and the state), bytesPerElem the
// bytes it reads and writes per parameter.
func benchOptim(b *testing.B, arrays int, bytesPerElem float64, step func(k *kernels.Set, x [][]float32)) {
	for _, k := range kernels.Sets() {
		for _, s := range optimSizes {
			if k.ISA == kernels.Generic && s.n > 1<<20 && testing.Short() {
				continue
			}
			b.Run(k.ISA+"/"+s.name, func(b *testing.B) {
				x := make([][]float32, arrays)
				for j := range x {
					// Gradients in [-1, 1), state non-negative: no
					// subnormals, whose assists would slow every set.
					lo := float32(-1)
					if j > 1 {
						lo = 0
					}
					x[j] = benchBuf(fmt.Sprintf("optim%d", j), s.n, lo, 1)
				}
				set := arrays * s.n
				src, dst := benchBuf("optimsrc", set/2, -1, 1), benchBuf("optimdst", set/2, -1, 1)
				rmw := benchBuf("optimrmw", set, -1, 1)
				step(k, x)
				k.Bench.Copy(dst, src)
				k.Act.Affine(rmw, 1, 0)
				var to, tc, tr time.Duration
				for b.Loop() {
					t0 := time.Now()
					step(k, x)
					t1 := time.Now()
					k.Bench.Copy(dst, src)
					t2 := time.Now()
					k.Act.Affine(rmw, 1, 0)
					to += t1.Sub(t0)
					tc += t2.Sub(t1)
					tr += time.Since(t2)
				}
				loops := float64(b.N)
				elems := float64(s.n) * loops
				gbs := elems * bytesPerElem / float64(to.Nanoseconds())
				copyGBs := float64(set/2) * 8 * loops / float64(tc.Nanoseconds())
				rmwGBs := float64(set) * 8 * loops / float64(tr.Nanoseconds())
				b.ReportMetric(elems/float64(to.Nanoseconds()), "elem/ns")
				b.ReportMetric(gbs, "GB/s")
				b.ReportMetric(copyGBs, "copy-GB/s")
				b.ReportMetric(100*gbs/copyGBs, "%-of-copy")
				b.ReportMetric(rmwGBs, "rmw-GB/s")
				b.ReportMetric(100*gbs/rmwGBs, "%-of-rmw")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// BenchmarkAdam: reads w, g, m, v and writes w, m, v (28 bytes); a square
// root and a division per parameter.
func BenchmarkAdam(b *testing.B) {
	benchOptim(b, 4, 28, func(k *kernels.Set, x [][]float32) {
		k.Optim.Adam(x[0], x[1], x[2], x[3], 3.2e-4, 0.9, 0.1, 0.999, 0.001, 1e-7, 1e-4)
	})
}

// BenchmarkAdadelta: reads w, g, acc, dacc and writes w, acc, dacc (28
// bytes); two square roots and a division per parameter.
func BenchmarkAdadelta(b *testing.B) {
	benchOptim(b, 4, 28, func(k *kernels.Set, x [][]float32) {
		k.Optim.Adadelta(x[0], x[1], x[2], x[3], 1e-3, 0.95, 0.05, 1e-7, 1e-4)
	})
}

// BenchmarkSGD: Nesterov momentum; reads w, g, vel and writes w, vel (20
// bytes).
func BenchmarkSGD(b *testing.B) {
	benchOptim(b, 3, 20, func(k *kernels.Set, x [][]float32) {
		k.Optim.SGD(x[0], x[1], x[2], 1e-3, 0.9, 1e-4, true)
	})
}

// ---- end optim ------------------------------------------------------------

// ---- gemm ------------------------------------------------------------------

// gemmShapes are the GEMM problems that matter to snn: squares, and the
// im2col products of a small CNN's forward pass, weight gradients (dW) and
// data gradients (dCols), and of a dense layer. C = op(A)*op(B), row-major.
var gemmShapes = []struct {
	name           string
	m, n, k        int
	transA, transB bool
}{
	{name: "sq64", m: 64, n: 64, k: 64},
	{name: "sq128", m: 128, n: 128, k: 128},
	{name: "sq256", m: 256, n: 256, k: 256},
	{name: "sq512", m: 512, n: 512, k: 512},
	{name: "sq1024", m: 1024, n: 1024, k: 1024},
	{name: "sq2048", m: 2048, n: 2048, k: 2048},
	{name: "conv1_fwd", m: 32, n: 131072, k: 9},
	{name: "mid_fwd", m: 64, n: 32768, k: 288},
	{name: "mid_dW", m: 64, n: 288, k: 32768, transB: true},
	{name: "mid_dCols", m: 288, n: 32768, k: 64, transA: true},
	{name: "deep_fwd", m: 256, n: 2048, k: 2304},
	{name: "deep_dW", m: 256, n: 2304, k: 2048, transB: true},
	{name: "deep_dCols", m: 2304, n: 2048, k: 256, transA: true},
	{name: "dense_fwd", m: 32, n: 512, k: 4096},
	{name: "dense_dW", m: 4096, n: 512, k: 32, transA: true},
	{name: "dense_dX", m: 32, n: 4096, k: 512, transB: true},
}

func randMatrix(n int) []float32 {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*r.Float32() - 1
	}
	return x
}

// BenchmarkFMAPeak reports the arithmetic ceiling of each kernel set on
// one core.
func BenchmarkFMAPeak(b *testing.B) {
	for _, ks := range kernels.Sets() {
		b.Run(ks.ISA, func(b *testing.B) {
			g := ks.Gemm
			const iters = 1 << 16
			for b.Loop() {
				g.Peak(iters)
			}
			b.ReportMetric(float64(b.N)*iters*float64(g.PeakFlops)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkGEMM reports, per shape, kernel set and thread count, GFLOP/s,
// the fraction of the FMA peak of the cores used (%peak: threads times one
// core's peak, measured next to each benchmark) and the operand traffic
// (A and B read, C written once) in GB/s, the measure for memory-bound
// shapes.
func BenchmarkGEMM(b *testing.B) {
	for _, s := range gemmShapes {
		b.Run(s.name, func(b *testing.B) {
			a := randMatrix(s.m * s.k)
			bm := randMatrix(s.k * s.n)
			c := make([]float32, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			bytes := 4 * float64(s.m*s.k+s.k*s.n+s.m*s.n)
			for _, ks := range kernels.Sets() {
				b.Run(ks.ISA, func(b *testing.B) {
					for _, threads := range []int{1, 2} {
						b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
							// The clock drifts: measure the peak right
							// before and after, keep the higher.
							peak := kernels.PeakGFLOPS(&ks.Gemm)
							o := gemm.Options{Threads: threads, Kernels: ks}
							for b.Loop() {
								o.Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
							}
							sec := b.Elapsed().Seconds() / float64(b.N)
							peak = max(peak, kernels.PeakGFLOPS(&ks.Gemm)) * float64(threads)
							b.ReportMetric(flops/sec/1e9, "GFLOP/s")
							b.ReportMetric(100*flops/sec/1e9/peak, "%peak")
							b.ReportMetric(bytes/sec/1e9, "GB/s")
						})
					}
				})
			}
		})
	}
}

// ---- net: SeedNet training step and inference -----------------------------
//
// BenchmarkSeedNetStep is one training step of the reference network,
// SeedNet: forward, softmax cross-entropy, backward, Adam and weight
// centralization of every kernel, batch 32, SELU with LeCun-normal
// weights, for 64x64x1 images with 365 classes and 28x28x1 with 10, with
// one and two threads. BenchmarkSeedNetInference is the forward pass alone
// in evaluation mode.

const seedNetBatch = 32

var seedNetShapes = []struct {
	size, classes int
}{{64, 365}, {28, 10}}

// seedNetBench builds the network and a batch of random images in [0, 1]
// with random labels.
func seedNetBench(b *testing.B, size, classes, threads int) (*nn.Trainer, []float32, []int32) {
	m, err := nn.NewSeedNet(nn.SeedNetConfig{Height: size, Classes: classes, Constraint: nn.WeightCentralization{}, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 0))
	x := make([]float32, seedNetBatch*size*size)
	for i := range x {
		x[i] = r.Float32()
	}
	labels := make([]int32, seedNetBatch)
	for i := range labels {
		labels[i] = int32(r.IntN(classes))
	}
	tr := nn.NewTrainer(m, nn.NewAdam(), 1)
	tr.SetThreads(threads)
	return tr, x, labels
}

func BenchmarkSeedNetStep(b *testing.B) {
	for _, s := range seedNetShapes {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dpx-%dcls/t%d", s.size, s.classes, threads), func(b *testing.B) {
				tr, x, labels := seedNetBench(b, s.size, s.classes, threads)
				if _, err := tr.TrainBatch(x, labels); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := tr.TrainBatch(x, labels); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(sec*1e3, "ms/step")
				b.ReportMetric(seedNetBatch/sec, "images/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func BenchmarkSeedNetInference(b *testing.B) {
	for _, s := range seedNetShapes {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dpx-%dcls/t%d", s.size, s.classes, threads), func(b *testing.B) {
				tr, x, _ := seedNetBench(b, s.size, s.classes, threads)
				c := &nn.Context{}
				tr.Model.Forward(c, seedNetBatch, x)
				for b.Loop() {
					tr.Model.Forward(c, seedNetBatch, x)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(sec*1e3, "ms/batch")
				b.ReportMetric(seedNetBatch/sec, "images/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// ---- end net --------------------------------------------------------------
