package nn

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// threadedOptimizer is an Optimizer whose updates can be limited to some
// goroutines.
type threadedOptimizer interface {
	Optimizer
	SetThreads(int)
}

// lrOptimizers returns fresh optimizers of each kind, with momentum and
// weight decay where they have them, at learning rate lr.
func lrOptimizers(lr float64) []threadedOptimizer {
	return []threadedOptimizer{
		&Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, WeightDecay: 0.01},
		&Adadelta{LR: lr * 100, Rho: 0.95, Epsilon: 1e-7, WeightDecay: 0.01},
		&SGD{LR: lr * 10, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01},
	}
}

// randomParams returns a kernel of units x fanIn and a bias of units,
// drawn from seed.
func randomParams(seed uint64, units, fanIn int) []*Param {
	r := testkit.Rand(seed)
	k := NewParam("k", true, nil, fanIn, units, units, fanIn)
	b := NewParam("b", false, nil, 1, 1, units)
	copy(k.Value, testkit.Normal(r, len(k.Value), 0, 1))
	copy(b.Value, testkit.Normal(r, len(b.Value), 0, 1))
	return []*Param{k, b}
}

// grads fills the gradients of ps for step from seed.
func grads(seed uint64, step int, ps []*Param) {
	r := testkit.Rand(seed*1000 + uint64(step))
	for _, p := range ps {
		copy(p.Grad, testkit.Normal(r, len(p.Grad), 0, 1))
	}
}

func values(ps []*Param) [][]float32 {
	var v [][]float32
	for _, p := range ps {
		v = append(v, append([]float32(nil), p.Value...))
	}
	return v
}

// TestLRScaleMovesEachUnitByItsFactor: a unit of factor f is updated as
// it would be, alone, by the same optimizer at f times the learning rate.
// The factors are powers of two (and 0), for which that holds bit for bit
// after every rounding; the bias has no factors and keeps its rate.
func TestLRScaleMovesEachUnitByItsFactor(t *testing.T) {
	const units, fanIn = 4, 9
	scale := []float32{1, 0.5, 4, 0}
	for i := range lrOptimizers(1e-3) {
		opt := lrOptimizers(1e-3)[i]
		t.Run(opt.String(), func(t *testing.T) {
			ps := randomParams(1, units, fanIn)
			ps[0].LRScale = append([]float32(nil), scale...)
			opt.Bind(ps)
			// One optimizer per unit, on a copy of that unit alone.
			alone := make([][]*Param, units)
			solo := make([]Optimizer, units)
			for u := range units {
				k := NewParam("k", true, nil, fanIn, 1, 1, fanIn)
				copy(k.Value, ps[0].Unit(u))
				alone[u] = []*Param{k}
				solo[u] = lrOptimizers(1e-3 * float64(scale[u]))[i]
				solo[u].Bind(alone[u])
			}
			bias := []*Param{NewParam("b", false, nil, 1, 1, units)}
			copy(bias[0].Value, ps[1].Value)
			biasOpt := lrOptimizers(1e-3)[i]
			biasOpt.Bind(bias)
			for step := 1; step <= 4; step++ {
				grads(2, step, ps)
				opt.Update(int64(step))
				for u := range units {
					copy(alone[u][0].Grad, ps[0].UnitGrad(u))
					solo[u].Update(int64(step))
					requireSameBits(t, values(alone[u]), [][]float32{ps[0].Unit(u)}, "unit")
				}
				copy(bias[0].Grad, ps[1].Grad)
				biasOpt.Update(int64(step))
				requireSameBits(t, values(bias), [][]float32{ps[1].Value}, "bias")
			}
			assert.NotEqual(t, alone[0][0].Value, alone[1][0].Value)
		})
	}
}

// oldUpdate is the update the optimizers made before per-unit factors:
// the kernel over each whole parameter.
func oldUpdate(opt Optimizer, ps []*Param, st [][][]float32, t int64) {
	k := kernels.Active().Optim
	for i, p := range ps {
		wd := float32(0)
		switch o := opt.(type) {
		case *Adam:
			if p.Kernel {
				wd = float32(o.WeightDecay)
			}
			ft := float64(t)
			lrT := float32(o.LR * math.Sqrt(1-math.Pow(o.Beta2, ft)) / (1 - math.Pow(o.Beta1, ft)))
			k.Adam(p.Value, p.Grad, st[i][0], st[i][1], lrT, float32(o.Beta1), float32(1-o.Beta1),
				float32(o.Beta2), float32(1-o.Beta2), float32(o.Epsilon), wd)
		case *Adadelta:
			if p.Kernel {
				wd = float32(o.WeightDecay)
			}
			k.Adadelta(p.Value, p.Grad, st[i][0], st[i][1], float32(o.LR), float32(o.Rho), float32(1-o.Rho), float32(o.Epsilon), wd)
		case *SGD:
			if p.Kernel {
				wd = float32(o.WeightDecay)
			}
			k.SGD(p.Value, p.Grad, st[i][0], float32(o.LR), float32(o.Momentum), wd, o.Nesterov)
		}
	}
}

// TestLRScaleNoneIsUnchanged: without factors, and with factors all 1,
// every optimizer updates exactly as the kernel over the whole parameter
// does.
func TestLRScaleNoneIsUnchanged(t *testing.T) {
	defer func(m int) { minRange = m }(minRange)
	minRange = 64
	for i := range lrOptimizers(1e-3) {
		t.Run(lrOptimizers(1e-3)[i].String(), func(t *testing.T) {
			var runs [][][]float32
			for _, ones := range []bool{false, true} {
				opt := lrOptimizers(1e-3)[i]
				opt.SetThreads(3)
				ps := randomParams(3, 37, 27)
				if ones {
					ps[0].LRScale = make([]float32, 37)
					for u := range ps[0].LRScale {
						ps[0].LRScale[u] = 1
					}
				}
				opt.Bind(ps)
				for step := 1; step <= 3; step++ {
					grads(4, step, ps)
					opt.Update(int64(step))
				}
				runs = append(runs, values(ps))
			}
			opt := lrOptimizers(1e-3)[i]
			ps := randomParams(3, 37, 27)
			st := make([][][]float32, len(ps))
			for j, p := range ps {
				st[j] = [][]float32{make([]float32, len(p.Value)), make([]float32, len(p.Value))}
			}
			for step := 1; step <= 3; step++ {
				grads(4, step, ps)
				oldUpdate(opt, ps, st, int64(step))
			}
			requireSameBits(t, values(ps), runs[0], "no factors")
			requireSameBits(t, values(ps), runs[1], "factors 1")
		})
	}
}

// TestLRScaleIsThreadIndependent: the ranges of a parallel update end in
// the middle of units (37 units of 27 values, ranges of multiples of 64),
// and the result is the same for 1, 2 and 3 goroutines.
func TestLRScaleIsThreadIndependent(t *testing.T) {
	defer func(m int) { minRange = m }(minRange)
	minRange = 64
	scale := testkit.Uniform(testkit.Rand(5), 37, 0.1, 3)
	for i := range lrOptimizers(1e-3) {
		t.Run(lrOptimizers(1e-3)[i].String(), func(t *testing.T) {
			var runs [][][]float32
			for _, threads := range []int{1, 2, 3} {
				opt := lrOptimizers(1e-3)[i]
				opt.SetThreads(threads)
				ps := randomParams(6, 37, 27)
				ps[0].LRScale = append([]float32(nil), scale...)
				opt.Bind(ps)
				for step := 1; step <= 3; step++ {
					grads(7, step, ps)
					opt.Update(int64(step))
				}
				runs = append(runs, values(ps))
			}
			requireSameBits(t, runs[0], runs[1], "1 vs 2 goroutines")
			requireSameBits(t, runs[0], runs[2], "1 vs 3 goroutines")
		})
	}
}

func TestLRScaleLengthIsChecked(t *testing.T) {
	for _, opt := range lrOptimizers(1e-3) {
		ps := randomParams(1, 4, 3)
		ps[0].LRScale = []float32{1, 1, 1}
		opt.Bind(ps)
		assert.PanicsWithValue(t, "nn: parameter k: LRScale has 3 values for 4 units", func() { opt.Update(1) }, opt.String())
	}
	m := mustModel(t, Vector(3), &Dense{Units: 2}, &SELU{}, &Dense{Units: 2})
	m.Init(1)
	m.Param("dense_1.kernel").LRScale = []float32{1}
	assert.PanicsWithValue(t, "nn: DataNorm: parameter dense_1.kernel: LRScale has 1 values for 2 units", func() {
		(&DataNorm{ScaleLR: true}).Normalize(m, 2, []float32{1, 2, 3, 4, 5, 7})
	})
}

func lrScales(m *Model) [][]float32 {
	var s [][]float32
	for _, p := range m.params {
		s = append(s, append([]float32(nil), p.LRScale...))
	}
	return s
}

// TestDataNormScaleLR: each rescale multiplies the unit's factor by the
// factor its weights were multiplied with, once per application; the
// logits (left alone), the biases, skipped units and a DataNorm without
// ScaleLR leave the factors as they are.
func TestDataNormScaleLR(t *testing.T) {
	d := synthetic(11, 16, 4, 16, 16)
	cases := []struct {
		name string
		dn   DataNorm
	}{
		{"full", DataNorm{ScaleLR: true}},
		{"variance only, logits", DataNorm{ScaleLR: true, VarianceOnly: true, Logits: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyConfig(8)
			cfg.Dropout = 0
			m, err := NewSeedNet(cfg)
			require.NoError(t, err)
			first := m.Param("conv1_1.kernel")
			first.LRScale = []float32{0.5, 2, 0.25, 3}
			(&DataNorm{}).Normalize(m, 16, d.X)
			assert.Equal(t, []float32{0.5, 2, 0.25, 3}, first.LRScale, "DataNorm without ScaleLR")
			for _, p := range m.params {
				if p != first {
					assert.Nil(t, p.LRScale, p.Name)
				}
			}
			for range 2 {
				// Weights 1.25 times too large: a rescale of about 0.8.
				for _, p := range m.params {
					if p.Kernel {
						kernels.Active().Act.Affine(p.Value, 1.25, 0)
					}
				}
				before, weights := lrScales(m), copyParams(m)
				dn := c.dn
				dn.Normalize(m, 16, d.X)
				last := len(m.params) - 2
				checked := 0
				for i, p := range m.params {
					if !p.Kernel || (i == last && !c.dn.Logits) {
						assert.Nil(t, p.LRScale, p.Name)
						continue
					}
					require.Len(t, p.LRScale, p.Units(), p.Name)
					for u := range p.Units() {
						old := float32(1)
						if len(before[i]) != 0 {
							old = before[i][u]
						}
						// The unit's largest weight gives its rescale
						// to within two roundings.
						f := p.FanIn()
						j := u * f
						for k := u * f; k < (u+1)*f; k++ {
							if math.Abs(float64(weights[i][k])) > math.Abs(float64(weights[i][j])) {
								j = k
							}
						}
						a := float64(p.Value[j]) / float64(weights[i][j])
						require.InEpsilon(t, float64(old)*a, p.LRScale[u], 1e-6, "%s unit %d", p.Name, u)
						require.NotEqual(t, old, p.LRScale[u], "%s unit %d", p.Name, u)
						checked++
					}
				}
				require.Greater(t, checked, 50)
			}
		})
	}

	t.Run("skipped unit", func(t *testing.T) {
		m := mustModel(t, Vector(3), &Dense{Units: 2}, &SELU{}, &Dense{Units: 2})
		m.Init(1)
		w := m.Param("dense_1.kernel")
		clear(w.Unit(1))
		w.LRScale = []float32{0.75, 0.75}
		x := []float32{1, 2, 3, 4, 5, 7, -1, 0, 2}
		(&DataNorm{ScaleLR: true}).Normalize(m, 3, x)
		assert.Equal(t, float32(0.75), w.LRScale[1], "the constant unit is not rescaled")
		assert.NotEqual(t, float32(0.75), w.LRScale[0])
	})

	t.Run("every", func(t *testing.T) {
		m, err := NewSeedNet(tinyConfig(2))
		require.NoError(t, err)
		dn := &DataNorm{Every: 2, ScaleLR: true}
		assert.Equal(t, "datanorm-lr(2)", dn.String())
		dn.ApplyBatch(m, 16, d.X, 1)
		assert.Nil(t, m.Param("conv1_1.kernel").LRScale, "step 1 of Every 2")
		dn.ApplyBatch(m, 16, d.X, 2)
		assert.Len(t, m.Param("conv1_1.kernel").LRScale, 4, "step 2 of Every 2")
	})
}

// newScaleLR returns a trainer with DataNorm and ScaleLR on a tiny SeedNet.
func newScaleLR(t *testing.T, seed uint64) *Trainer {
	t.Helper()
	m, err := NewSeedNet(tinyConfig(seed))
	require.NoError(t, err)
	tr := NewTrainer(m, NewAdam(), seed)
	tr.BatchConstraint = &DataNorm{ScaleLR: true}
	return tr
}

// TestScaleLRResumeIsExact interrupts a run with DataNorm and ScaleLR,
// resumes from the checkpoint in a trainer of other weights and factors,
// and requires the weights and factors of the uninterrupted run bit for
// bit. Resuming without the factors (a checkpoint that has none) gives
// factors 1, and another run.
func TestScaleLRResumeIsExact(t *testing.T) {
	d := synthetic(12, 32, 4, 16, 16)
	want := newScaleLR(t, 7)
	trainSteps(t, want, d, 10)

	path := filepath.Join(t.TempDir(), "ckpt")
	first := newScaleLR(t, 7)
	require.NoError(t, first.Fit(t.Context(), d, FitConfig{BatchSize: 8, MaxSteps: 6, CheckpointPath: path}))
	c, err := ReadCheckpoint(path)
	require.NoError(t, err)
	require.Len(t, c.LRScales, 15, "every kernel but the logits'")
	for _, s := range c.LRScales {
		require.Equal(t, first.Model.Param(s.Name).LRScale, s.Data, s.Name)
		require.Equal(t, []int{first.Model.Param(s.Name).Units()}, s.Shape, s.Name)
	}

	resumed := newScaleLR(t, 99)
	trainSteps(t, resumed, d, 2) // factors of its own, which the checkpoint must replace
	_, err = resumed.Load(path)
	require.NoError(t, err)
	requireSameBits(t, lrScales(first.Model), lrScales(resumed.Model), "restored factors")
	trainSteps(t, resumed, d, 10)
	requireSameBits(t, paramsOf(want), paramsOf(resumed), "resumed weights")
	requireSameBits(t, lrScales(want.Model), lrScales(resumed.Model), "resumed factors")

	// Without the factors every unit starts again from 1.
	c.LRScales = nil
	old := newScaleLR(t, 98)
	trainSteps(t, old, d, 2)
	require.NoError(t, old.Restore(c))
	for _, p := range old.Model.params {
		for _, v := range p.LRScale {
			require.Equal(t, float32(1), v, p.Name)
		}
	}
	trainSteps(t, old, d, 10)
	assert.NotEqual(t, paramsOf(want), paramsOf(old), "the factors matter")
}

func TestRestoreChecksLRScales(t *testing.T) {
	tr := newScaleLR(t, 1)
	c := tr.Checkpoint()
	cases := []struct {
		name string
		s    Tensor
		err  string
	}{
		{"unknown", Tensor{Name: "nope.kernel", Shape: []int{2}, Data: []float32{1, 1}}, "nope.kernel, which the trainer does not have"},
		{"units", Tensor{Name: "conv1_1.kernel", Shape: []int{3}, Data: []float32{1, 1, 1}}, "conv1_1.kernel have shape [3], the parameter 4 units"},
		{"twice", Tensor{Name: "dense1.kernel", Shape: []int{16}, Data: make([]float32, 16)}, "dense1.kernel twice"},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			before := paramsOf(tr)
			bad := *c
			bad.LRScales = []Tensor{{Name: "dense1.kernel", Shape: []int{16}, Data: make([]float32, 16)}, k.s}
			require.ErrorContains(t, tr.Restore(&bad), k.err)
			requireSameBits(t, before, paramsOf(tr), "nothing changes")
			assert.Nil(t, tr.Model.Param("dense1.kernel").LRScale)
		})
	}
}

// TestLRScaleStepsAllocateNothing: training steps with per-unit factors,
// for every optimizer, and with DataNorm keeping them, allocate nothing
// after the first.
func TestLRScaleStepsAllocateNothing(t *testing.T) {
	if testkit.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	defer func(m int) { minRange = m }(minRange)
	minRange = 64
	d := synthetic(3, 8, 4, 16, 16)
	for i := range lrOptimizers(1e-3) {
		for _, dn := range []bool{false, true} {
			opt := lrOptimizers(1e-3)[i]
			m, err := NewSeedNet(tinyConfig(1))
			require.NoError(t, err)
			tr := NewTrainer(m, opt, 1)
			if dn {
				tr.BatchConstraint = &DataNorm{ScaleLR: true}
			} else {
				for _, p := range m.params {
					p.LRScale = testkit.Uniform(testkit.Rand(1), p.Units(), 0.5, 2)
				}
			}
			_, err = tr.TrainBatch(d.X, d.Y)
			require.NoError(t, err)
			allocs := testkit.AllocsPerRun(5, func() {
				if _, err := tr.TrainBatch(d.X, d.Y); err != nil {
					panic(err)
				}
			})
			assert.Zero(t, allocs, "%v, DataNorm %v", opt, dn)
		}
	}
}
