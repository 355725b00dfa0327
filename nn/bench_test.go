package nn

import (
	"fmt"
	"testing"
	"time"

	"github.com/snnkit/snn/internal/testkit"
)

// BenchmarkStepPhases splits one SeedNet training step (batch 32, Adam,
// centralization) into its phases, to show where the time of
// BenchmarkSeedNetStep (root bench_test.go) goes: the forward pass, the
// loss, the backward pass, the optimizer update and the constraints,
// each in ms per step, and the element-wise work (activations, pooling)
// measured layer by layer within the passes.
func BenchmarkStepPhases(b *testing.B) {
	for _, s := range []struct{ size, classes int }{{64, 365}, {28, 10}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dpx-%dcls/t%d", s.size, s.classes, threads), func(b *testing.B) {
				const n = 32
				m, err := NewSeedNet(SeedNetConfig{Height: s.size, Classes: s.classes, Constraint: WeightCentralization{}, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				tr := NewTrainer(m, NewAdam(), 1)
				tr.SetThreads(threads)
				x, labels := firstStep(b, tr, n, s.size, s.classes)
				dOut := make([]float32, n*s.classes)
				var fwd, loss, bwd, upd, con time.Duration
				perKind := map[string]time.Duration{}
				c := &Context{Training: true, Seed: 1}
				for b.Loop() {
					t0 := time.Now()
					in := x
					for i, l := range m.layers {
						tl := time.Now()
						y := m.output(i, n)
						l.Forward(c, n, in, y)
						in = y
						perKind[l.Kind()] += time.Since(tl)
					}
					t1 := time.Now()
					tr.Loss.Loss(n, s.classes, in, labels, dOut)
					t2 := time.Now()
					m.Backward(c, n, x, dOut, nil)
					t3 := time.Now()
					tr.step++
					tr.Optimizer.Update(tr.step)
					t4 := time.Now()
					for _, p := range m.params {
						if p.Constraint != nil {
							p.Constraint.Apply(p)
						}
					}
					t5 := time.Now()
					fwd += t1.Sub(t0)
					loss += t2.Sub(t1)
					bwd += t3.Sub(t2)
					upd += t4.Sub(t3)
					con += t5.Sub(t4)
				}
				per := func(d time.Duration) float64 { return d.Seconds() * 1e3 / float64(b.N) }
				b.ReportMetric(per(fwd), "fwd-ms")
				b.ReportMetric(per(perKind["conv2d"]), "fwd-conv-ms")
				b.ReportMetric(per(perKind["selu"]+perKind["maxpool2d"]), "fwd-elementwise-ms")
				b.ReportMetric(per(loss), "loss-ms")
				b.ReportMetric(per(bwd), "bwd-ms")
				b.ReportMetric(per(upd), "adam-ms")
				b.ReportMetric(per(con), "centralize-ms")
				b.ReportMetric(n/(b.Elapsed().Seconds()/float64(b.N)), "images/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// BenchmarkNormStep is one SeedNet training step (batch 32, Adam) with
// each way of keeping the network normalized that snn offers, for the
// overhead over weight centralization: DataNorm every 4 steps (as
// `snn compare` runs it) and every step, with and without learning-rate
// scaling and gradient centring, and BatchNorm before every SELU. DataNorm's extra forward pass
// runs once in every Every steps, so the reported time is a mean over
// whole multiples of Every.
func BenchmarkNormStep(b *testing.B) {
	variants := []struct {
		name      string
		batchNorm bool
		dn        *DataNorm
	}{
		{"centralize", false, nil},
		{"datanorm4", false, &DataNorm{Every: 4}},
		{"datanorm4-lr", false, &DataNorm{Every: 4, ScaleLR: true}},
		{"datanorm4-lr-centre", false, &DataNorm{Every: 4, ScaleLR: true, CentreGrad: true}},
		{"datanorm1", false, &DataNorm{Every: 1}},
		{"batchnorm", true, nil},
	}
	for _, s := range []struct{ size, classes int }{{28, 10}, {64, 365}} {
		for _, threads := range []int{1, 2} {
			for _, v := range variants {
				b.Run(fmt.Sprintf("%dpx-%dcls/t%d/%s", s.size, s.classes, threads, v.name), func(b *testing.B) {
					const n = 32
					cfg := SeedNetConfig{Height: s.size, Classes: s.classes, Seed: 1, BatchNorm: v.batchNorm}
					if v.dn == nil && !v.batchNorm {
						cfg.Constraint = WeightCentralization{}
					}
					m, err := NewSeedNet(cfg)
					if err != nil {
						b.Fatal(err)
					}
					tr := NewTrainer(m, NewAdam(), 1)
					tr.SetThreads(threads)
					if v.dn != nil {
						tr.BatchConstraint = v.dn
					}
					x, labels := firstStep(b, tr, n, s.size, s.classes)
					steps := 0
					for b.Loop() {
						for range 4 {
							if _, err := tr.TrainBatch(x, labels); err != nil {
								b.Fatal(err)
							}
						}
						steps += 4
					}
					sec := b.Elapsed().Seconds() / float64(steps)
					b.ReportMetric(sec*1e3, "ms/step")
					b.ReportMetric(n/sec, "images/s")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}

// firstStep makes a batch of n random size x size images in [0, 1] with
// random labels and trains tr on it once, so that every buffer exists
// before the timing starts.
func firstStep(b *testing.B, tr *Trainer, n, size, classes int) ([]float32, []int32) {
	r := testkit.Rand(1)
	x := testkit.Uniform(r, n*size*size, 0, 1)
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(r.IntN(classes))
	}
	if _, err := tr.TrainBatch(x, labels); err != nil {
		b.Fatal(err)
	}
	return x, labels
}
