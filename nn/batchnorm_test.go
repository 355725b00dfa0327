package nn

import (
	"context"
	"math"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refBatchNorm is BatchNorm's definition in float64: batch statistics
// (population variance) in training, the moving ones in evaluation.
func refBatchNorm(l *BatchNorm, c *Context, n int, x []float64, ps refParams) []float64 {
	y := make([]float64, len(x))
	gamma, beta := ps[l.gamma], ps[l.beta]
	for ch := range l.ch {
		var mean, v float64
		if c.Training {
			count := float64(n * l.plane)
			for i := range n {
				for _, e := range x[(i*l.ch+ch)*l.plane : (i*l.ch+ch+1)*l.plane] {
					mean += e
				}
			}
			mean /= count
			for i := range n {
				for _, e := range x[(i*l.ch+ch)*l.plane : (i*l.ch+ch+1)*l.plane] {
					v += (e - mean) * (e - mean)
				}
			}
			v /= count
		} else {
			mean, v = float64(l.movMean[ch]), float64(l.movVar[ch])
		}
		for i := range n {
			o := (i*l.ch + ch) * l.plane
			for j := o; j < o+l.plane; j++ {
				y[j] = gamma[ch]*(x[j]-mean)/math.Sqrt(v+l.eps) + beta[ch]
			}
		}
	}
	return y
}

// bnMoving gives every BatchNorm of m moving statistics away from their
// initial 0 and 1.
func bnMoving(m *Model, seed uint64) {
	r := testkit.Rand(seed)
	for _, l := range m.layers {
		if bn, ok := l.(*BatchNorm); ok {
			for i := range bn.movMean {
				bn.movMean[i] = 0.5 * (2*r.Float32() - 1)
				bn.movVar[i] = 0.3 + r.Float32()
			}
		}
	}
}

func TestBatchNormGradients(t *testing.T) {
	cases := []struct {
		name   string
		in     Shape
		layers func() []Layer
		loss   Loss
		train  bool
	}{
		{"conv bn selu", Shape{2, 5, 4}, func() []Layer {
			return []Layer{&Conv2D{Filters: 3, KernelSize: 3, Padding: Same, NoBias: true, Init: LeCunNormal}, &BatchNorm{}, &SELU{}}
		}, nil, true},
		{"bn first, images", Shape{3, 4, 5}, func() []Layer { return []Layer{&BatchNorm{Momentum: 0.9, Epsilon: 1e-2}} }, nil, true},
		{"dense bn relu dense + loss", Vector(6), func() []Layer {
			return []Layer{&Dense{Units: 7, NoBias: true, Init: HeNormal}, &BatchNorm{}, &ReLU{}, &Dense{Units: 4}}
		}, &SoftmaxCrossEntropy{}, true},
		{"conv bn evaluation", Shape{2, 4, 4}, func() []Layer {
			return []Layer{&Conv2D{Filters: 3, KernelSize: 3, Padding: Same}, &BatchNorm{}}
		}, nil, false},
		{"bn conv (selu between, fused backward)", Shape{2, 6, 6}, func() []Layer {
			return []Layer{&BatchNorm{}, &SELU{}, &Conv2D{Filters: 2, KernelSize: 3, Padding: Same}}
		}, nil, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const n = 4
			m := newTestModel(t, c.in, uint64(40+i), c.layers()...)
			for _, p := range m.params {
				if p.Name[len(p.Name)-6:] == ".gamma" {
					for j := range p.Value {
						p.Value[j] += 1 // around 1, as trained gammas are
					}
				}
			}
			bnMoving(m, uint64(i))
			r := testkit.Rand(uint64(200 + i))
			x := testkit.Uniform(r, n*c.in.Size(), -1.5, 2)
			ctx := &Context{Training: c.train, Seed: 3, Step: 5}
			checkCoords(t, m, ctx, n, x, randomObjective(r, c.loss, n, m.OutputShape().Size()), 200, 1e-6, 2e-3)
		})
	}
}

// TestBatchNormKerasSemantics: the training output has the batch's
// statistics removed, Backward moves the moving statistics by
// (1-momentum) toward the batch's (population variance), evaluation uses
// them, and Forward alone leaves them.
func TestBatchNormKerasSemantics(t *testing.T) {
	for _, in := range []Shape{{3, 4, 6}, Vector(3)} {
		t.Run(in.String(), func(t *testing.T) { bnSemantics(t, in) })
	}
}

func bnSemantics(t *testing.T, in Shape) {
	const n = 5
	plane := in.H * in.W
	m := newTestModel(t, in, 1, &BatchNorm{})
	bn := m.layers[0].(*BatchNorm)
	require.Equal(t, []string{"batchnorm_1.gamma", "batchnorm_1.beta"}, []string{m.params[0].Name, m.params[1].Name})
	st := m.State()
	require.Len(t, st, 2)
	assert.Equal(t, "batchnorm_1.moving_mean", st[0].Name)
	assert.Equal(t, "batchnorm_1.moving_variance", st[1].Name)
	assert.Equal(t, []float32{0, 0, 0}, bn.movMean)
	assert.Equal(t, []float32{1, 1, 1}, bn.movVar)
	r := testkit.Rand(3)
	x := testkit.Uniform(r, n*m.in.Size(), 2, 5) // a mean far from 0
	ctx := &Context{Training: true}
	y := m.Forward(ctx, n, x)
	want := refForward(m, ctx, n, to64(x), refParamsOf(m))
	for i := range want {
		require.InDelta(t, want[i], y[i], 2e-5*(1+math.Abs(want[i])), "output %d", i)
	}
	assert.Equal(t, []float32{0, 0, 0}, bn.movMean, "Forward must not move the statistics")

	dy := testkit.Uniform(r, len(y), -1, 1)
	m.Backward(ctx, n, x, dy, make([]float32, len(x)))
	x64 := to64(x)
	for c := range 3 {
		var s, ss float64
		cnt := float64(n * plane)
		for i := range n {
			for _, v := range x64[(i*3+c)*plane : (i*3+c+1)*plane] {
				s += v
			}
		}
		mean := s / cnt
		for i := range n {
			for _, v := range x64[(i*3+c)*plane : (i*3+c+1)*plane] {
				ss += (v - mean) * (v - mean)
			}
		}
		assert.InDelta(t, 0.01*mean, float64(bn.movMean[c]), 1e-6, "moving mean %d", c)
		assert.InDelta(t, 0.99+0.01*ss/cnt, float64(bn.movVar[c]), 1e-6, "moving variance %d", c)
	}
	ev := &Context{}
	y = m.Forward(ev, n, x)
	want = refForward(m, ev, n, x64, refParamsOf(m))
	for i := range want {
		require.InDelta(t, want[i], y[i], 2e-5*(1+math.Abs(want[i])), "evaluation output %d", i)
	}
}

func TestBatchNormErrors(t *testing.T) {
	for _, bn := range []*BatchNorm{{Momentum: 1}, {Momentum: -0.1}, {Epsilon: -1}, {Epsilon: math.Inf(1)}} {
		_, err := NewModel(Vector(3), bn)
		require.ErrorContains(t, err, "momentum", "%+v", bn)
	}
}

func bnConfig(seed uint64) SeedNetConfig {
	c := tinyConfig(seed)
	c.BatchNorm = true
	c.Constraint = nil
	return c
}

// trainSteps trains a model made by mk with Adam for steps batches of 8
// from d.
func trainSteps(t *testing.T, tr *Trainer, d *Tensors, steps int64) {
	t.Helper()
	require.NoError(t, tr.Fit(context.Background(), d, FitConfig{BatchSize: 8, MaxSteps: steps}))
}

// TestFoldMatchesBatchNorm trains a SeedNet with BatchNorm for a few steps
// (so that the moving statistics are far from 0 and 1), folds it, and
// requires the folded model's logits to equal the original's in
// evaluation mode to within rounding.
func TestFoldMatchesBatchNorm(t *testing.T) {
	for _, act := range []string{"selu", "relu"} {
		cfg := bnConfig(2)
		cfg.Activation = act
		m, err := NewSeedNet(cfg)
		require.NoError(t, err)
		tr := NewTrainer(m, NewAdam(), 2)
		d := synthetic(5, 24, 4, 16, 16)
		trainSteps(t, tr, d, 6)
		bn := m.layers[1].(*BatchNorm)
		require.NotEqual(t, float32(1), bn.movVar[0], "the moving statistics have moved")

		f, err := m.Fold()
		require.NoError(t, err)
		nbn := 0
		for _, l := range m.layers {
			if _, ok := l.(*BatchNorm); ok {
				nbn++
			}
		}
		require.Equal(t, 12+3, nbn)
		require.Len(t, f.layers, len(m.layers)-nbn)
		for _, l := range f.layers {
			require.NotEqual(t, "batchnorm", l.Kind())
		}
		require.NotNil(t, f.Param("conv1_1.bias"), "the folded convolution has a bias")
		ctx := &Context{}
		want := append([]float32(nil), m.Forward(ctx, 24, d.X)...)
		got := f.Forward(ctx, 24, d.X)
		scale := 0.0
		for _, v := range want {
			scale = max(scale, math.Abs(float64(v)))
		}
		for i := range want {
			require.InDelta(t, want[i], got[i], 1e-4*scale, "%s: logit %d", act, i)
		}
	}

	// Layers with biases, a BatchNorm at the end, gammas and moving
	// statistics away from 1 and 0.
	m := newTestModel(t, Shape{2, 6, 6}, 9, &Conv2D{Filters: 3, KernelSize: 3, Padding: Same}, &BatchNorm{}, &SELU{},
		&MaxPool2D{}, &Flatten{}, &Dense{Units: 5}, &BatchNorm{Epsilon: 0.1})
	bnMoving(m, 9)
	f, err := m.Fold()
	require.NoError(t, err)
	require.Len(t, f.layers, 5)
	x := testkit.Uniform(testkit.Rand(9), 4*m.in.Size(), -2, 2)
	want := refForward(m, &Context{}, 4, to64(x), refParamsOf(m))
	got := f.Forward(&Context{}, 4, x)
	for i := range want {
		require.InDelta(t, want[i], got[i], 1e-5*(1+math.Abs(want[i])), "output %d", i)
	}

	_, err = mustModel(t, Vector(4), &BatchNorm{}, &Dense{Units: 2}).Fold()
	require.ErrorContains(t, err, "does not follow")
	_, err = mustModel(t, Vector(4), &Dense{Units: 3}, &SELU{}, &BatchNorm{}).Fold()
	require.ErrorContains(t, err, "does not follow")
}

func mustModel(t *testing.T, in Shape, layers ...Layer) *Model {
	t.Helper()
	m, err := NewModel(in, layers...)
	require.NoError(t, err)
	return m
}

// stateOf copies the parameters and the state of tr's model.
func stateOf(tr *Trainer) [][]float32 {
	ps := paramsOf(tr)
	for _, s := range tr.Model.State() {
		ps = append(ps, append([]float32(nil), s.Data...))
	}
	return ps
}

// TestBatchNormResumeIsExact interrupts a run with BatchNorm, resumes from
// the checkpoint in a trainer of other weights, and requires the
// parameters and the moving statistics of the uninterrupted run bit for
// bit; LoadParams restores the moving statistics too.
func TestBatchNormResumeIsExact(t *testing.T) {
	d := synthetic(6, 32, 4, 16, 16)
	newBN := func(seed uint64) *Trainer {
		m, err := NewSeedNet(bnConfig(seed))
		require.NoError(t, err)
		return NewTrainer(m, NewAdam(), seed)
	}
	want := newBN(7)
	trainSteps(t, want, d, 10)

	path := filepath.Join(t.TempDir(), "ckpt")
	first := newBN(7)
	require.NoError(t, first.Fit(context.Background(), d, FitConfig{BatchSize: 8, MaxSteps: 6, CheckpointPath: path}))
	resumed := newBN(99)
	_, err := resumed.Load(path)
	require.NoError(t, err)
	requireSameBits(t, stateOf(first), stateOf(resumed), "restored")
	trainSteps(t, resumed, d, 10)
	requireSameBits(t, stateOf(want), stateOf(resumed), "resumed")

	c, err := ReadCheckpoint(path)
	require.NoError(t, err)
	m, err := NewSeedNet(bnConfig(55))
	require.NoError(t, err)
	require.NoError(t, m.LoadParams(c.Params))
	requireSameBits(t, stateOf(first), stateOf(&Trainer{Model: m}), "LoadParams")

	// A checkpoint without the moving statistics does not fit.
	plain, err := NewSeedNet(tinyConfig(1))
	require.NoError(t, err)
	require.ErrorContains(t, plain.LoadParams(c.Params), "tensors")
}

// TestNewStepsAreThreadIndependent trains with BatchNorm and with DataNorm
// (with and without centred gradients) at GOMAXPROCS 1 and 2 and requires the same weights and moving
// statistics bit for bit.
func TestNewStepsAreThreadIndependent(t *testing.T) {
	defer func(m int) { minRange = m }(minRange)
	minRange = 64
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	d := synthetic(4, 32, 4, 16, 16)
	for _, name := range []string{"batchnorm", "datanorm", "datanorm-centre"} {
		var runs [][][]float32
		for _, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			cfg := tinyConfig(5)
			cfg.Dropout = 0
			if name == "batchnorm" {
				cfg = bnConfig(5)
			}
			m, err := NewSeedNet(cfg)
			require.NoError(t, err)
			tr := NewTrainer(m, NewAdam(), 5)
			switch name {
			case "datanorm":
				tr.BatchConstraint = &DataNorm{}
			case "datanorm-centre":
				tr.BatchConstraint = &DataNorm{CentreGrad: true, ScaleLR: true, Every: 2}
			}
			trainSteps(t, tr, d, 8)
			runs = append(runs, stateOf(tr))
		}
		requireSameBits(t, runs[0], runs[1], name+": GOMAXPROCS 1 vs 2")
	}
}

// TestNewStepsAllocateNothing: training steps with BatchNorm layers and
// with DataNorm allocate nothing after the first.
func TestNewStepsAllocateNothing(t *testing.T) {
	if testkit.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	defer func(m int) { minRange = m }(minRange)
	minRange = 64
	d := synthetic(3, 8, 4, 16, 16)
	for _, name := range []string{"batchnorm", "datanorm", "datanorm-variance", "datanorm-centre"} {
		cfg := tinyConfig(1)
		if name == "batchnorm" {
			cfg = bnConfig(1)
		}
		m, err := NewSeedNet(cfg)
		require.NoError(t, err)
		tr := NewTrainer(m, NewAdam(), 1)
		switch name {
		case "datanorm":
			tr.BatchConstraint = &DataNorm{}
		case "datanorm-variance":
			tr.BatchConstraint = &DataNorm{VarianceOnly: true, Logits: true}
		case "datanorm-centre":
			tr.BatchConstraint = &DataNorm{CentreGrad: true, ScaleLR: true}
		}
		_, err = tr.TrainBatch(d.X, d.Y)
		require.NoError(t, err)
		allocs := testkit.AllocsPerRun(5, func() {
			if _, err := tr.TrainBatch(d.X, d.Y); err != nil {
				panic(err)
			}
		})
		assert.Zero(t, allocs, name)
	}
}

// TestSeedNetBatchNormGradient checks SeedNet with BatchNorm end to end in
// training mode (every convolution and hidden Dense followed by a
// BatchNorm, the SELU after it fused into the next convolution's backward
// pass): the directional derivative of every parameter and of the input.
func TestSeedNetBatchNormGradient(t *testing.T) {
	for _, act := range []string{"selu", "relu"} {
		t.Run(act, func(t *testing.T) {
			m, err := NewSeedNet(SeedNetConfig{Height: 16, Classes: 5, Activation: act, BatchNorm: true,
				Filters: []int{4, 6, 8, 8}, Hidden: []int{16, 16, 16}, Seed: 4})
			require.NoError(t, err)
			const n = 3
			x := testkit.Uniform(testkit.Rand(4), n*m.in.Size(), 0, 1)
			o := objective{loss: DefaultLoss(m), labels: []int32{1, 3, 0}}
			checkDirections(t, m, &Context{Training: true, Seed: 11, Step: 3}, n, x, o, 1e-8, 2e-3)
		})
	}
}

// TestBatchNormAbandonedStep: a step with a non-finite loss leaves the
// moving statistics as they were, like the weights.
func TestBatchNormAbandonedStep(t *testing.T) {
	m, err := NewSeedNet(bnConfig(3))
	require.NoError(t, err)
	tr := NewTrainer(m, NewAdam(), 3)
	d := synthetic(2, 8, 4, 16, 16)
	_, err = tr.TrainBatch(d.X, d.Y)
	require.NoError(t, err)
	before := stateOf(tr)
	x := append([]float32(nil), d.X...)
	x[5] = float32(math.Inf(1))
	_, err = tr.TrainBatch(x, d.Y)
	var nf *NonFiniteError
	require.ErrorAs(t, err, &nf)
	requireSameBits(t, before, stateOf(tr), "after the abandoned step")
}

// TestSeedNetBatchNormMomentum: SeedNetConfig.BatchNormMomentum reaches
// every BatchNorm layer, and sets how far one step moves the moving
// means from 0: by 1 - momentum times the batch's mean.
func TestSeedNetBatchNormMomentum(t *testing.T) {
	d := synthetic(6, 8, 4, 16, 16)
	moved := map[float64][]float32{}
	for _, mom := range []float64{0, 0.5} {
		cfg := bnConfig(6)
		cfg.Dropout = 0
		cfg.BatchNormMomentum = mom
		m, err := NewSeedNet(cfg)
		require.NoError(t, err)
		layers := 0
		for _, l := range m.Layers() {
			if bn, ok := l.(*BatchNorm); ok {
				assert.Equal(t, mom, bn.Momentum, bn.base().name)
				layers++
			}
		}
		require.Equal(t, 15, layers, "a BatchNorm after every convolution and hidden dense layer")
		tr := NewTrainer(m, NewAdam(), 6)
		_, err = tr.TrainBatch(d.X, d.Y)
		require.NoError(t, err)
		moved[mom] = append([]float32(nil), m.State()[0].Data...)
	}
	// The first layer sees the same input, so the same batch mean, either way.
	largest := 0.0
	for _, v := range moved[0.5] {
		largest = max(largest, math.Abs(float64(v)))
	}
	require.Greater(t, largest, 1e-3, "the moving means moved")
	for c := range moved[0] {
		require.InDelta(t, 50*float64(moved[0][c]), float64(moved[0.5][c]), 1e-4*math.Abs(float64(moved[0.5][c]))+1e-7,
			"channel %d: (1 - 0.5) / (1 - 0.99) = 50 times as far", c)
	}
}
