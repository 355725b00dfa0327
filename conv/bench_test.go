package conv

import (
	"fmt"
	"testing"
	"time"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/internal/testkit"
)

// The benchmarks run the convolution layers of SeedNet, the reference
// network: four stages of three 3x3 'same' convolutions with 32, 64, 128
// and 256 channels, each stage followed by 2x2 max-pooling, on 1 x 64 x 64
// and 1 x 28 x 28 images, batch 32. The second and third layer of a stage
// have the same shape, so eight shapes per input size cover all twelve.
const benchBatch = 32

type benchLayer struct {
	name  string
	g     Geometry
	first bool // the network's first layer: its input needs no gradient
}

func seedNetLayers(size int) []benchLayer {
	var ls []benchLayer
	in, h := 1, size
	for s := 0; s < 4; s++ {
		out := 32 << s
		ls = append(ls,
			benchLayer{fmt.Sprintf("s%d-%dto%d-%dpx", s+1, in, out, h), Same(in, h, h, out, 3, 1), s == 0},
			benchLayer{fmt.Sprintf("s%d-%dto%d-%dpx", s+1, out, out, h), Same(out, h, h, out, 3, 1), false})
		in, h = out, h/2
	}
	return ls
}

// benchData holds one layer's tensors for a batch.
type benchData struct {
	x, w, b, y, dx, dw, db []float32
}

func newBenchData(g Geometry, n int) *benchData {
	r := testkit.Rand(11)
	return &benchData{
		x:  testkit.Uniform(r, n*g.InSize(), -1, 1),
		w:  testkit.Uniform(r, g.WeightSize(), -0.1, 0.1),
		b:  testkit.Uniform(r, g.OutC, -0.1, 0.1),
		y:  make([]float32, n*g.OutSize()),
		dx: make([]float32, n*g.InSize()),
		dw: make([]float32, g.WeightSize()),
		db: make([]float32, g.OutC),
	}
}

// step runs the forward pass and, with backward, the backward pass the
// trainer runs (no input gradient for the first layer), using y as dy.
func (d *benchData) step(c *Conv2D, n int, backward, first bool) {
	c.Forward(n, d.x, d.w, d.b, d.y)
	if !backward {
		return
	}
	dx := d.dx
	if first {
		dx = nil
	}
	c.Backward(n, d.x, d.w, d.y, dx, d.dw, d.db)
}

// flops is the work of step: one GEMM-equivalent per pass.
func flops(l benchLayer, n int, backward bool) float64 {
	f := l.g.FLOPs() * float64(n)
	if !backward {
		return f
	}
	if l.first {
		return 2 * f
	}
	return 3 * f
}

// BenchmarkConv2D times each layer shape's forward pass and forward plus
// backward pass on one and two threads.
func BenchmarkConv2D(b *testing.B) {
	for _, size := range []int{64, 28} {
		for _, l := range seedNetLayers(size) {
			for _, pass := range []string{"fwd", "fwdbwd"} {
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%s/t%d", l.name, pass, threads), func(b *testing.B) {
						c, err := New(l.g)
						if err != nil {
							b.Fatal(err)
						}
						c.SetThreads(threads)
						d := newBenchData(l.g, benchBatch)
						bwd := pass == "fwdbwd"
						d.step(c, benchBatch, bwd, l.first)
						b.ResetTimer()
						for b.Loop() {
							d.step(c, benchBatch, bwd, l.first)
						}
						s := b.Elapsed().Seconds()
						b.ReportMetric(flops(l, benchBatch, bwd)*float64(b.N)/s/1e9, "GFLOP/s")
						b.ReportMetric(float64(benchBatch*b.N)/s, "images/s")
					})
				}
			}
		}
	}
}

// gemmShapes are the GEMMs a layer's passes amount to, each as one call
// over the whole batch: forward OutC x nP x K, backward data K x nP x OutC,
// backward weights OutC x K x nP, with K = InC*KH*KW and P = OutH*OutW.
type gemmShape struct {
	transA, transB bool
	m, n, k        int
}

func gemmShapes(l benchLayer, n int, backward bool) []gemmShape {
	d := newDims(l.g)
	cols := n * d.p
	s := []gemmShape{{false, false, d.oc, cols, d.k}}
	if backward {
		s = append(s, gemmShape{false, true, d.oc, d.k, cols})
		if !l.first {
			s = append(s, gemmShape{true, false, d.k, cols, d.oc})
		}
	}
	return s
}

type gemmBufs struct{ a, b, c [][]float32 }

func newGemmBufs(shapes []gemmShape) *gemmBufs {
	r := testkit.Rand(12)
	g := &gemmBufs{}
	for _, s := range shapes {
		g.a = append(g.a, testkit.Uniform(r, s.m*s.k, -1, 1))
		g.b = append(g.b, testkit.Uniform(r, s.k*s.n, -1, 1))
		g.c = append(g.c, make([]float32, s.m*s.n))
	}
	return g
}

func (g *gemmBufs) run(shapes []gemmShape, threads int) {
	o := gemm.Options{Threads: threads}
	for i, s := range shapes {
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		o.Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, g.a[i], lda, g.b[i], ldb, 0, g.c[i], s.n)
	}
}

// BenchmarkConv2DVsGEMM measures, in the same loop, a layer's forward and
// backward pass and the bare GEMMs of the same shapes (one call per pass
// over the whole batch), alternating the two so that both see the same
// machine load. It reports both rates and conv's as a percentage of
// GEMM's: the overhead of im2col, col2im, tiling and the reduction.
func BenchmarkConv2DVsGEMM(b *testing.B) {
	for _, size := range []int{64, 28} {
		for _, l := range seedNetLayers(size) {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/t%d", l.name, threads), func(b *testing.B) {
					c, err := New(l.g)
					if err != nil {
						b.Fatal(err)
					}
					c.SetThreads(threads)
					d := newBenchData(l.g, benchBatch)
					shapes := gemmShapes(l, benchBatch, true)
					gb := newGemmBufs(shapes)
					d.step(c, benchBatch, true, l.first)
					gb.run(shapes, threads)
					var tc, tg time.Duration
					for b.Loop() {
						t0 := time.Now()
						d.step(c, benchBatch, true, l.first)
						t1 := time.Now()
						gb.run(shapes, threads)
						tc += t1.Sub(t0)
						tg += time.Since(t1)
					}
					f := flops(l, benchBatch, true) * float64(b.N)
					b.ReportMetric(f/tc.Seconds()/1e9, "conv-GFLOP/s")
					b.ReportMetric(f/tg.Seconds()/1e9, "gemm-GFLOP/s")
					b.ReportMetric(100*tg.Seconds()/tc.Seconds(), "%-of-gemm")
					b.ReportMetric(float64(benchBatch*b.N)/tc.Seconds(), "images/s")
				})
			}
		}
	}
}

// BenchmarkConv2DThreads times each layer's forward and backward pass on
// one thread and on two in the same loop, so that both see the same
// machine (BenchmarkConv2D times them seconds apart, and this VM's speed
// drifts by several percent within minutes), and reports the two-thread
// speedup. Each thread count has its own layer and tensors. Two ways:
//   - warm: runs of 8 steps on one thread, then 8 on two, each run after
//     an untimed step: the steady state of BenchmarkConv2D (data in the
//     caches, the pool's workers awake);
//   - cold: one step each in turn, so each step finds its data where the
//     other one left the caches and the workers of the two-thread step
//     asleep after the one-thread step (waking one takes ~120 us here):
//     the per-layer twin of the root package's BenchmarkConvSeedNetThreads.
func BenchmarkConv2DThreads(b *testing.B) {
	for _, size := range []int{64, 28} {
		for _, l := range seedNetLayers(size) {
			for _, mode := range []struct {
				name string
				run  int // timed steps in a run
				warm bool
			}{{"warm", 8, true}, {"cold", 1, false}} {
				b.Run(l.name+"/"+mode.name, func(b *testing.B) {
					var cs [2]*Conv2D
					var ds [2]*benchData
					for i := range cs {
						c, err := New(l.g)
						if err != nil {
							b.Fatal(err)
						}
						c.SetThreads(i + 1)
						cs[i], ds[i] = c, newBenchData(l.g, benchBatch)
						ds[i].step(c, benchBatch, true, l.first)
					}
					var ts [2]time.Duration
					for b.Loop() {
						for i := range cs {
							if mode.warm {
								ds[i].step(cs[i], benchBatch, true, l.first)
							}
							t0 := time.Now()
							for range mode.run {
								ds[i].step(cs[i], benchBatch, true, l.first)
							}
							ts[i] += time.Since(t0)
						}
					}
					steps := float64(b.N * mode.run)
					b.ReportMetric(ts[0].Seconds()*1e3/steps, "ms/step-t1")
					b.ReportMetric(ts[1].Seconds()*1e3/steps, "ms/step-t2")
					b.ReportMetric(ts[0].Seconds()/ts[1].Seconds(), "speedup")
					b.ReportMetric(flops(l, benchBatch, true)*2*steps/(ts[0]+ts[1]).Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkMaxPool2D times the network's four 2x2 poolings, forward and
// backward.
func BenchmarkMaxPool2D(b *testing.B) {
	for _, size := range []int{64, 28} {
		h := size
		for s := 0; s < 4; s++ {
			g := Pool(32<<s, h, h, 2, 2)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("s%d-%dx%dpx/t%d", s+1, g.C, h, threads), func(b *testing.B) {
					p, err := NewMaxPool2D(g)
					if err != nil {
						b.Fatal(err)
					}
					p.SetThreads(threads)
					n := benchBatch
					x := testkit.Uniform(testkit.Rand(13), n*g.InSize(), -1, 1)
					y := make([]float32, n*g.OutSize())
					am := make([]int32, len(y))
					dx := make([]float32, len(x))
					for b.Loop() {
						p.Forward(n, x, y, am)
						p.Backward(n, y, am, dx)
					}
					s := b.Elapsed().Seconds()
					b.ReportMetric(float64(len(x))*float64(b.N)/s/1e9, "inputs/ns")
					b.ReportMetric(float64(n*b.N)/s, "images/s")
				})
			}
			h /= 2
		}
	}
}

// BenchmarkIm2col times building the first chunk of the first tile of a
// batch's column matrix (the size the layer really uses, sized for L2) and
// folding it back with col2im, in matrix floats per nanosecond.
func BenchmarkIm2col(b *testing.B) {
	for _, size := range []int{64, 28} {
		for _, l := range seedNetLayers(size) {
			c, err := New(l.g)
			if err != nil {
				b.Fatal(err)
			}
			d := &c.d
			pl := makePlan(benchBatch, d.p, d.k+1, defaultLimits)
			t, _ := pl.tile(0, 0)
			x := testkit.Uniform(testkit.Rand(14), benchBatch*d.in, -1, 1)
			cols := t.cols()
			rows := min(pl.rows, d.k)
			col := make([]float32, rows*cols)
			b.Run(l.name+"/im2col", func(b *testing.B) {
				for b.Loop() {
					d.columns(x, t, 0, rows, col, cols)
				}
				b.ReportMetric(float64(len(col))*float64(b.N)/b.Elapsed().Seconds()/1e9, "floats/ns")
			})
			b.Run(l.name+"/col2im", func(b *testing.B) {
				for b.Loop() {
					for img := t.img0; img < t.img1; img++ {
						p0, p1 := t.p0, t.p1
						d.col2im(col, cols, (img-t.img0)*(p1-p0), p0, p1, 0, rows, x[img*d.in:(img+1)*d.in])
					}
				}
				b.ReportMetric(float64(len(col))*float64(b.N)/b.Elapsed().Seconds()/1e9, "floats/ns")
			})
		}
	}
}
