package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/snnkit/snn/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// preActivations records the output of every Conv2D and Dense layer.
type preActivations map[int][]float32

func (p preActivations) observe(i int, y []float32) bool {
	p[i] = append([]float32(nil), y...)
	return true
}

// unitStats returns each unit's mean and population variance (float64)
// over n samples of y, units channels of plane positions each.
func unitStats(y []float32, n, units int) (mean, variance []float64) {
	plane := len(y) / (n * units)
	for u := range units {
		var s, ss float64
		for i := range n {
			for _, v := range y[(i*units+u)*plane : (i*units+u+1)*plane] {
				s += float64(v)
			}
		}
		m := s / float64(n*plane)
		for i := range n {
			for _, v := range y[(i*units+u)*plane : (i*units+u+1)*plane] {
				ss += (float64(v) - m) * (float64(v) - m)
			}
		}
		mean = append(mean, m)
		variance = append(variance, ss/float64(n*plane))
	}
	return mean, variance
}

func copyParams(m *Model) [][]float32 {
	var ps [][]float32
	for _, p := range m.params {
		ps = append(ps, append([]float32(nil), p.Value...))
	}
	return ps
}

// TestDataNormStandardizesEveryUnit trains one step with DataNorm and then
// recomputes, with the new weights, every unit's pre-activation on the
// batch the step used: mean 0 (full) and variance 1 to float32 rounding.
// The variance-only form leaves the biases as the optimizer left them,
// and the logits are left alone unless asked for.
func TestDataNormStandardizesEveryUnit(t *testing.T) {
	cases := []struct {
		name string
		d    DataNorm
		cfg  func() SeedNetConfig
	}{
		{"full", DataNorm{}, func() SeedNetConfig { c := tinyConfig(3); c.Dropout = 0; return c }},
		{"full, dropout and logits", DataNorm{Logits: true}, func() SeedNetConfig { return tinyConfig(4) }},
		{"variance only", DataNorm{VarianceOnly: true}, func() SeedNetConfig { c := tinyConfig(5); c.Constraint = nil; return c }},
		{"relu, every 2nd", DataNorm{Every: 2}, func() SeedNetConfig { c := tinyConfig(6); c.Activation = "relu"; return c }},
	}
	const tol = 1e-5 // float32 rounding: the errors seen are 1e-7 to 3e-6
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := synthetic(8, 16, 4, 16, 16)
			var trs [2]*Trainer
			for i := range trs {
				m, err := NewSeedNet(c.cfg())
				require.NoError(t, err)
				trs[i] = NewTrainer(m, NewAdam(), 3)
			}
			dn := c.d
			trs[0].BatchConstraint = &dn
			steps := max(c.d.Every, 1)
			for range steps {
				for _, tr := range trs {
					_, err := tr.TrainBatch(d.X, d.Y)
					require.NoError(t, err)
				}
			}
			m, plain := trs[0].Model, trs[1].Model
			pre := preActivations{}
			m.reserve("test", 16)
			m.forward(&Context{}, 16, d.X, pre)
			last := len(m.layers) - 1
			checked := 0
			for i, l := range m.layers {
				w := kernelOf(l)
				if w == nil {
					continue
				}
				if i == last && !c.d.Logits {
					requireSameBits(t, copyParams(plain)[len(plain.params)-2:], copyParams(m)[len(m.params)-2:], "the logits layer")
					continue
				}
				mean, v := unitStats(pre[i], 16, w.Units())
				for u := range mean {
					if !c.d.VarianceOnly {
						require.InDelta(t, 0, mean[u], tol, "%s unit %d: mean", l.base().name, u)
					}
					require.InDelta(t, 1, v[u], 2*tol, "%s unit %d: variance", l.base().name, u)
				}
				if c.d.VarianceOnly {
					b := biasOf(l)
					pb := biasOf(plain.layers[i])
					requireSameBits(t, [][]float32{pb.Value}, [][]float32{b.Value}, "variance only keeps the bias")
				}
				checked++
			}
			require.GreaterOrEqual(t, checked, 15)
		})
	}
}

// TestDataNormLeavesAdamMoments: the rescale changes the weights and not
// the optimizer's moments, which keep the gradients of the weights before
// it; a step with DataNorm therefore leaves Adam's m and v exactly those of
// a step without.
func TestDataNormLeavesAdamMoments(t *testing.T) {
	d := synthetic(9, 16, 4, 16, 16)
	var trs [2]*Trainer
	for i := range trs {
		m, err := NewSeedNet(tinyConfig(7))
		require.NoError(t, err)
		trs[i] = NewTrainer(m, NewAdam(), 7)
	}
	trs[0].BatchConstraint = &DataNorm{}
	for _, tr := range trs {
		_, err := tr.TrainBatch(d.X, d.Y)
		require.NoError(t, err)
	}
	slots := func(tr *Trainer) [][]float32 {
		var s [][]float32
		for _, t := range tr.Optimizer.Slots() {
			s = append(s, append([]float32(nil), t.Data...))
		}
		return s
	}
	requireSameBits(t, slots(trs[1]), slots(trs[0]), "Adam's moments after a step with and without DataNorm")
	w0, w1 := trs[0].Model.Param("conv1_1.kernel").Value, trs[1].Model.Param("conv1_1.kernel").Value
	assert.NotEqual(t, w1, w0, "DataNorm rescaled the weights")

	// On a trainer with moments of many steps too.
	for range 3 {
		_, err := trs[1].TrainBatch(d.X, d.Y)
		require.NoError(t, err)
	}
	before, weights := slots(trs[1]), copyParams(trs[1].Model)
	(&DataNorm{}).Normalize(trs[1].Model, 16, d.X)
	requireSameBits(t, before, slots(trs[1]), "Normalize and the moments")
	assert.NotEqual(t, weights, copyParams(trs[1].Model))
}

func TestDataNormEvery(t *testing.T) {
	d := synthetic(10, 8, 4, 16, 16)
	m, err := NewSeedNet(tinyConfig(2))
	require.NoError(t, err)
	dn := &DataNorm{Every: 3}
	assert.Equal(t, "datanorm(3)", dn.String())
	assert.Equal(t, "datanorm-variance-logits(1)", (&DataNorm{VarianceOnly: true, Logits: true}).String())
	assert.Equal(t, "datanorm-lr-centre(4)", (&DataNorm{Every: 4, ScaleLR: true, CentreGrad: true}).String())
	before := copyParams(m)
	for step := int64(1); step <= 2; step++ {
		dn.ApplyBatch(m, 8, d.X, step)
		requireSameBits(t, before, copyParams(m), "not a multiple of Every")
	}
	dn.ApplyBatch(m, 8, d.X, 3)
	assert.NotEqual(t, before, copyParams(m), "step 3 of Every 3")
	require.Panics(t, func() { dn.ApplyBatch(m, 8, d.X[:10], 6) })

	// With a warm-up: every update up to Warmup, then every Every-th.
	dn = &DataNorm{Every: 4, Warmup: 5}
	assert.Equal(t, "datanorm(4, every step to 5)", dn.String())
	for step := int64(1); step <= 12; step++ {
		before := copyParams(m)
		dn.ApplyBatch(m, 8, d.X, step)
		if step <= 5 || step%4 == 0 {
			assert.NotEqual(t, before, copyParams(m), "step %d", step)
		} else {
			requireSameBits(t, before, copyParams(m), fmt.Sprintf("step %d", step))
		}
		// Move the weights, so that the next rescale has work to do.
		for _, p := range m.params {
			if p.Kernel {
				for i := range p.Value {
					p.Value[i] *= 1.5
				}
			}
		}
	}
}

// TestDataNormSkipsDeadUnits: a unit whose pre-activation is constant on
// the batch has no scale to fix and is left as it is, without NaNs.
func TestDataNormSkipsDeadUnits(t *testing.T) {
	m := mustModel(t, Vector(3), &Dense{Units: 2}, &SELU{}, &Dense{Units: 2})
	m.Init(1)
	w := m.Param("dense_1.kernel")
	clear(w.Unit(1))
	x := []float32{1, 2, 3, 4, 5, 7, -1, 0, 2}
	(&DataNorm{}).Normalize(m, 3, x)
	assert.Equal(t, []float32{0, 0, 0}, w.Unit(1))
	for _, p := range m.params {
		for _, v := range p.Value {
			require.False(t, math.IsNaN(float64(v)))
		}
	}
	pre := preActivations{}
	m.forward(&Context{}, 3, x, pre)
	mean, v := unitStats(pre[0], 3, 2)
	assert.InDelta(t, 0, mean[0], 1e-6)
	assert.InDelta(t, 1, v[0], 1e-5)
}

// refCentred is refForward with each unit of the layers marked in centre
// followed by the subtraction of its mean over the batch: mean-only batch
// normalization after those layers, whose gradient the centred backward
// pass is.
func refCentred(centre []bool) func(m *Model, c *Context, n int, x []float64, ps refParams) []float64 {
	return func(m *Model, c *Context, n int, x []float64, ps refParams) []float64 {
		for i, l := range m.layers {
			x = refLayer(l, c, n, x, ps)
			if !centre[i] {
				continue
			}
			units := kernelOf(l).Units()
			plane := len(x) / (n * units)
			for u := range units {
				var s float64
				for j := range n {
					for _, v := range x[(j*units+u)*plane : (j*units+u+1)*plane] {
						s += v
					}
				}
				mean := s / float64(n*plane)
				for j := range n {
					for p := range plane {
						x[(j*units+u)*plane+p] -= mean
					}
				}
			}
		}
		return x
	}
}

// TestDataNormCentreGrad: with CentreGrad the backward pass is the exact
// gradient of the network with mean-only batch normalization after every
// rescaled layer, at weights DataNorm has just standardized (where the
// two networks compute the same outputs): checked against central
// differences of that network, for every weight tensor and the input.
// The biases of the rescaled layers get a zero gradient, which is what
// the mean condition leaves them: the rescale sets them.
func TestDataNormCentreGrad(t *testing.T) {
	cfgs := []SeedNetConfig{
		{Height: 16, Classes: 5, Filters: []int{4, 6, 8, 8}, Hidden: []int{16, 16, 16}, Seed: 4},
		{Height: 16, Width: 20, Classes: 4, Activation: "relu", Filters: []int{3, 4, 5, 6}, Hidden: []int{12, 12, 12}, Seed: 5},
	}
	for _, cfg := range cfgs {
		t.Run(fmt.Sprintf("%s/%v", cfg.Activation, cfg.Filters), func(t *testing.T) {
			m, err := NewSeedNet(cfg)
			require.NoError(t, err)
			const n = 4
			r := testkit.Rand(cfg.Seed)
			x := testkit.Uniform(r, n*m.in.Size(), 0, 1)
			d := &DataNorm{CentreGrad: true}
			d.Normalize(m, n, x)
			m.centre = d.centreLayers(m)
			centred := map[string]bool{}
			for i, c := range m.centre {
				if c {
					if b := biasOf(m.layers[i]); b != nil {
						centred[b.Name] = true
					}
				}
			}
			require.GreaterOrEqual(t, len(centred), 15, "every layer but the logits")
			o := objective{loss: DefaultLoss(m), labels: []int32{1, 3, 0, 2}}
			c := &Context{Training: true, Seed: 11, Step: 3}
			checkDirectionsOf(t, m, c, n, x, o, 1e-8, 2e-3, refCentred(m.centre), func(name string) bool { return centred[name] })

			// The bias gradients: zero up to the rounding of the sums,
			// against the largest of the uncentred pass.
			g, _ := analytic(m, c, n, x, o)
			m.centre = nil
			plain, _ := analytic(m, c, n, x, o)
			for _, p := range m.params {
				if !centred[p.Name] {
					continue
				}
				scale := 0.0
				for _, v := range plain[p] {
					scale = max(scale, math.Abs(float64(v)))
				}
				require.Greater(t, scale, 1e-4, "%s: a gradient to remove", p.Name)
				for u, v := range g[p] {
					require.InDelta(t, 0, v, 1e-4*scale, "%s[%d]", p.Name, u)
				}
			}
		})
	}
}

// convNet is a model whose convolutions take each of conv's forward
// strategies with the AVX-512 kernels: 32x32 rows read in place
// (implicit), stride 2 (im2col), and 16x16 images in groups (batched),
// whose 96 channels make tiles of 4 rows, and on three lanes 6 tiles in
// three bands of rows.
func convNet(t *testing.T, seed uint64) *Model {
	t.Helper()
	m := mustModel(t, Shape{C: 1, H: 32, W: 32},
		&Conv2D{Filters: 8, KernelSize: 3, Padding: Same}, &SELU{},
		&Conv2D{Filters: 6, KernelSize: 3, Stride: 2, Padding: Same}, &SELU{},
		&Conv2D{Filters: 96, KernelSize: 3, Padding: Same}, &SELU{},
		&Flatten{}, &Dense{Units: 3})
	m.Init(seed)
	return m
}

// TestDataNormConvStatsFromTiles: the convolutions' statistics come from
// their forward pass (conv.ForwardMoments) rather than a second pass over
// the output; the rescaled weights agree with those the second pass
// gives to float32 rounding, and the outputs have mean 0 and variance 1.
func TestDataNormConvStatsFromTiles(t *testing.T) {
	for _, n := range []int{1, 7, 32} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			x := testkit.Normal(testkit.Rand(uint64(n)), n*32*32, 0.5, 1)
			m := convNet(t, 5)
			(&DataNorm{}).Normalize(m, n, x)

			// The same rescale with every layer's statistics from a pass
			// over its output.
			ref := convNet(t, 5)
			ref.reserve("test", n)
			in := x
			var d DataNorm
			for i, l := range ref.layers[:len(ref.layers)-1] {
				y := ref.output(i, n)
				l.Forward(&Context{}, n, in, y)
				if kernelOf(l) != nil {
					d.unitNorm(l, n, y, nil, nil)
				}
				in = y
			}
			for i, p := range m.params {
				for j, v := range p.Value {
					want := ref.params[i].Value[j]
					require.InDelta(t, want, v, 2e-5*(1+math.Abs(float64(want))), "%s[%d]", p.Name, j)
				}
			}

			pre := preActivations{}
			m.forward(&Context{}, n, x, pre)
			for i, l := range m.layers {
				if _, ok := l.(*Conv2D); !ok {
					continue
				}
				mean, v := unitStats(pre[i], n, kernelOf(l).Units())
				for u := range mean {
					require.InDelta(t, 0, mean[u], 1e-5, "%s unit %d: mean", l.base().name, u)
					require.InDelta(t, 1, v[u], 2e-5, "%s unit %d: variance", l.base().name, u)
				}
			}
		})
	}
}

// TestDataNormThreads: Normalize's rescale is the same bit for bit on 1
// to 4 threads (the statistics summed in the convolutions' tiles do not
// depend on how the lanes share them), with the mean kept and without.
func TestDataNormThreads(t *testing.T) {
	const n = 33
	x := testkit.Normal(testkit.Rand(9), n*32*32, 2, 3)
	for _, varOnly := range []bool{false, true} {
		var want [][]float32
		for threads := 1; threads <= 4; threads++ {
			m := convNet(t, 6)
			m.SetThreads(threads)
			(&DataNorm{VarianceOnly: varOnly}).Normalize(m, n, x)
			got := copyParams(m)
			if threads == 1 {
				want = got
				continue
			}
			requireSameBits(t, want, got, fmt.Sprintf("variance only %v, %d threads", varOnly, threads))
		}
	}
}

// TestCentreGradOnlyInSteps: CentreGrad centres the Trainer's steps, and
// leaves Model.Backward called by itself the plain gradient.
func TestCentreGradOnlyInSteps(t *testing.T) {
	d := synthetic(3, 8, 4, 16, 16)
	cfg := tinyConfig(2)
	cfg.Dropout = 0
	m, err := NewSeedNet(cfg)
	require.NoError(t, err)
	tr := NewTrainer(m, NewAdam(), 2)
	tr.BatchConstraint = &DataNorm{CentreGrad: true}
	_, err = tr.TrainBatch(d.X, d.Y)
	require.NoError(t, err)
	bias := m.Param("conv1_1.bias")
	largest := func() float64 {
		most := 0.0
		for _, g := range bias.Grad {
			most = max(most, math.Abs(float64(g)))
		}
		return most
	}
	assert.Less(t, largest(), 1e-6, "the step's gradient was centred")
	o := objective{loss: DefaultLoss(m), labels: d.Y}
	analytic(m, &Context{Training: true}, 8, d.X, o)
	assert.Greater(t, largest(), 1e-4, "Model.Backward by itself is the plain gradient")
}
