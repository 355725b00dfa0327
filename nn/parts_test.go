package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTopK(t *testing.T) {
	out := []float32{
		0.1, 0.9, 0.3, 0.2, // label 1: first
		5, 5, 5, 5, // all equal: only label 0 ranks first
		5, 5, 5, 5,
		1, 2, 3, float32(math.NaN()), // label 3 NaN: never
		4, 3, 2, 1, // label 3: fourth
	}
	labels := []int32{1, 0, 2, 3, 3}
	assert.Equal(t, 2, TopK(5, 4, out, labels, 1))
	assert.Equal(t, 2, TopK(5, 4, out, labels, 2))
	assert.Equal(t, 3, TopK(5, 4, out, labels, 3)) // label 2 of the equal row ranks third
	assert.Equal(t, 4, TopK(5, 4, out, labels, 4))
	assert.Equal(t, 4, TopK(5, 4, out, labels, 5))
}

func TestSoftmaxCrossEntropyExtremes(t *testing.T) {
	l := &SoftmaxCrossEntropy{}
	// Logits far apart: the loss is the gap, not +Inf, and the gradient is
	// finite.
	out := []float32{200, 0, -200}
	g := make([]float32, 3)
	assert.InDelta(t, 200, l.Loss(1, 3, out, []int32{1}, g), 1e-9)
	assert.InDelta(t, 400, l.Loss(1, 3, out, []int32{2}, g), 1e-9)
	assert.Equal(t, []float32{1, 0, -1}, g)
	// Equal logits: log(classes).
	assert.InDelta(t, math.Log(365), l.Loss(1, 365, make([]float32, 365), []int32{7}, nil), 1e-12)
	// NaN passes through.
	assert.True(t, math.IsNaN(l.Loss(1, 3, []float32{0, float32(math.NaN()), 1}, []int32{0}, g)))
	assert.Panics(t, func() { l.Loss(1, 3, out, []int32{3}, nil) })
	assert.Panics(t, func() { l.Loss(2, 3, out, []int32{0, 1}, nil) })
}

func TestCrossEntropyMatchesKeras(t *testing.T) {
	// Keras clips the label's probability to [1e-7, 1-1e-7].
	l := CrossEntropy{}
	g := make([]float32, 3)
	assert.InDelta(t, -math.Log(1e-7), l.Loss(1, 3, []float32{1, 0, 0}, []int32{1}, g), 1e-9)
	assert.Equal(t, []float32{0, 0, 0}, g, "no gradient through the clip")
	assert.InDelta(t, -math.Log(0.25), l.Loss(1, 3, []float32{0.5, 0.25, 0.25}, []int32{2}, g), 1e-9)
	// After a Softmax layer the two losses agree.
	z := []float32{0.3, -1.2, 2.0, 0.5}
	p := make([]float32, 4)
	softmaxRow(p, z)
	assert.InDelta(t, (&SoftmaxCrossEntropy{}).Loss(1, 4, z, []int32{1}, nil), l.Loss(1, 4, p, []int32{1}, nil), 1e-6)
}

func TestVarianceScaling(t *testing.T) {
	for _, tc := range []struct {
		init          VarianceScaling
		fanIn, fanOut int
		std, bound    float64
	}{
		{LeCunNormal, 288, 576, math.Sqrt(1.0 / 288), 2 * math.Sqrt(1.0/288) / truncatedStd},
		{HeNormal, 512, 512, math.Sqrt(2.0 / 512), 2 * math.Sqrt(2.0/512) / truncatedStd},
		{GlorotUniform, 300, 100, math.Sqrt(2.0 / 400), math.Sqrt(6.0 / 400)},
		{VarianceScaling{Scale: 1, Mode: FanOut, Distribution: UntruncatedNormal}, 10, 50, math.Sqrt(1.0 / 50), math.Inf(1)},
	} {
		t.Run(fmt.Sprintf("%+v", tc.init), func(t *testing.T) {
			w := make([]float32, 50000)
			r := NewRNG(1)
			tc.init.Init(w, tc.fanIn, tc.fanOut, &r)
			m, v := act.MeanVar(w)
			assert.InDelta(t, 0, m, 4*tc.std/math.Sqrt(float64(len(w))))
			// Truncation at 2 sigma with the 0.8796 correction keeps the
			// variance: the std matches within sampling error.
			assert.InDelta(t, tc.std, math.Sqrt(float64(v)), 0.015*tc.std)
			for i, x := range w {
				require.LessOrEqual(t, math.Abs(float64(x)), tc.bound*(1+1e-6), "w[%d]", i)
			}
		})
	}
}

func TestInitIsPerLayerStream(t *testing.T) {
	a, err := NewSeedNet(tinyConfig(3))
	require.NoError(t, err)
	cfg := tinyConfig(3)
	cfg.Classes = 7 // changes only the output layer
	b, err := NewSeedNet(cfg)
	require.NoError(t, err)
	for _, p := range a.Params() {
		if p.Name != "output.kernel" && p.Name != "output.bias" {
			require.Equal(t, p.Value, b.Param(p.Name).Value, p.Name)
		}
	}
	c, err := NewSeedNet(tinyConfig(4))
	require.NoError(t, err)
	require.NotEqual(t, a.Param("conv1_1.kernel").Value, c.Param("conv1_1.kernel").Value)
}

func TestConstraints(t *testing.T) {
	r := testkit.Rand(1)
	newKernel := func() *Param {
		p := NewParam("k", true, nil, 27, 0, 5, 3, 3, 3)
		copy(p.Value, testkit.Normal(r, len(p.Value), 0.3, 1))
		return p
	}
	t.Run("centralize", func(t *testing.T) {
		p := newKernel()
		WeightCentralization{}.Apply(p)
		assert.InDelta(t, 0, act.Mean(p.Value), 1e-7)
	})
	t.Run("centralize units", func(t *testing.T) {
		p := newKernel()
		UnitCentralization{}.Apply(p)
		for u := range p.Units() {
			assert.InDelta(t, 0, act.Mean(p.Unit(u)), 1e-7, "unit %d", u)
		}
	})
	t.Run("maxnorm", func(t *testing.T) {
		p := newKernel()
		for i := range p.Unit(2) {
			p.Unit(2)[i] *= 0.01 // a unit below the bound
		}
		small := append([]float32(nil), p.Unit(2)...)
		MaxNorm{Max: 2}.Apply(p)
		for u := range p.Units() {
			var s float64
			for _, v := range p.Unit(u) {
				s += float64(v) * float64(v)
			}
			if u == 2 {
				// Below the bound Keras still scales by |w|/(1e-7+|w|).
				var s0 float64
				for _, v := range small {
					s0 += float64(v) * float64(v)
				}
				f := math.Sqrt(s0) / (1e-7 + math.Sqrt(s0))
				for i, v := range p.Unit(u) {
					assert.InDelta(t, float64(small[i])*f, v, 1e-6*math.Abs(float64(small[i])))
				}
				continue
			}
			assert.InDelta(t, 2, math.Sqrt(s), 1e-5, "unit %d", u)
		}
	})
	m, err := NewSeedNet(tinyConfig(1))
	require.NoError(t, err)
	m.SetKernelConstraint(MaxNorm{Max: 3})
	for _, p := range m.Params() {
		if p.Kernel {
			assert.Equal(t, MaxNorm{Max: 3}, p.Constraint)
		} else {
			assert.Nil(t, p.Constraint)
		}
	}
}

// TestOptimizersKerasSemantics runs each optimizer for a few steps on a
// kernel and a bias and compares with the Keras update rules written out
// in float64.
func TestOptimizersKerasSemantics(t *testing.T) {
	type ref func(w, g float64, st []float64, step int, kernel bool) float64
	cases := []struct {
		opt   Optimizer
		slots int
		ref   ref
	}{
		{&Adam{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, WeightDecay: 0.1}, 2, func(w, g float64, st []float64, t int, k bool) float64 {
			if k {
				g += 0.1 * w
			}
			st[0] = 0.9*st[0] + 0.1*g
			st[1] = 0.999*st[1] + 0.001*g*g
			lr := 0.01 * math.Sqrt(1-math.Pow(0.999, float64(t))) / (1 - math.Pow(0.9, float64(t)))
			return w - lr*st[0]/(math.Sqrt(st[1])+1e-7)
		}},
		{&Adadelta{LR: 1, Rho: 0.95, Epsilon: 1e-7}, 2, func(w, g float64, st []float64, _ int, _ bool) float64 {
			st[0] = 0.95*st[0] + 0.05*g*g
			u := g * math.Sqrt(st[1]+1e-7) / math.Sqrt(st[0]+1e-7)
			st[1] = 0.95*st[1] + 0.05*u*u
			return w - u
		}},
		{&SGD{LR: 0.1, Momentum: 0.9}, 1, func(w, g float64, st []float64, _ int, _ bool) float64 {
			st[0] = 0.9*st[0] - 0.1*g
			return w + st[0]
		}},
		{&SGD{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01}, 1, func(w, g float64, st []float64, _ int, k bool) float64 {
			if k {
				g += 0.01 * w
			}
			st[0] = 0.9*st[0] - 0.1*g
			return w + 0.9*st[0] - 0.1*g
		}},
	}
	for _, c := range cases {
		t.Run(c.opt.String(), func(t *testing.T) {
			r := testkit.Rand(2)
			k := NewParam("k", true, nil, 1, 1, 4, 9)
			b := NewParam("b", false, nil, 1, 1, 4)
			params := []*Param{k, b}
			c.opt.Bind(params)
			want := map[*Param][]float64{}
			state := map[*Param][][]float64{}
			for _, p := range params {
				copy(p.Value, testkit.Normal(r, len(p.Value), 0, 1))
				want[p] = to64(p.Value)
				state[p] = make([][]float64, len(p.Value))
				for i := range state[p] {
					state[p][i] = make([]float64, c.slots)
				}
			}
			for step := 1; step <= 5; step++ {
				for _, p := range params {
					copy(p.Grad, testkit.Normal(r, len(p.Grad), 0, 1))
					for i := range p.Value {
						want[p][i] = c.ref(want[p][i], float64(p.Grad[i]), state[p][i], step, p.Kernel)
					}
				}
				c.opt.Update(int64(step))
				for _, p := range params {
					for i, v := range p.Value {
						require.InDelta(t, want[p][i], v, 1e-5*(1+math.Abs(want[p][i])), "%s[%d], step %d", p.Name, i, step)
					}
				}
			}
			require.Len(t, c.opt.Slots(), c.slots*2)
		})
	}
}

func TestOptimizerDefaults(t *testing.T) {
	a := NewAdam()
	assert.Equal(t, []Hyper{{"learning_rate", 1e-3}, {"beta_1", 0.9}, {"beta_2", 0.999}, {"epsilon", 1e-7}, {"weight_decay", 0}}, a.Hyper())
	d := NewAdadelta()
	assert.Equal(t, []Hyper{{"learning_rate", 1e-3}, {"rho", 0.95}, {"epsilon", 1e-7}, {"weight_decay", 0}}, d.Hyper())
	s := NewSGD()
	assert.Equal(t, 0.01, s.LearningRate())
	o, err := NewOptimizer("adadelta", 1.0)
	require.NoError(t, err)
	assert.Equal(t, 1.0, o.LearningRate())
	_, err = NewOptimizer("rmsprop", 0)
	assert.ErrorContains(t, err, "rmsprop")
	assert.Panics(t, func() { NewAdam().Update(1) })
}

// TestOptimizersOnEveryISA: the trainer calls kernels.Active().Optim; each
// set this CPU runs must agree with the generic twin on a step.
func TestOptimizersOnEveryISA(t *testing.T) {
	r := testkit.Rand(3)
	w := testkit.Normal(r, 1001, 0, 1)
	g := testkit.Normal(r, 1001, 0, 1)
	for _, k := range kernels.Sets() {
		ref := kernels.Reference()
		w1, w2 := append([]float32(nil), w...), append([]float32(nil), w...)
		m1, v1, m2, v2 := make([]float32, 1001), make([]float32, 1001), make([]float32, 1001), make([]float32, 1001)
		k.Optim.Adam(w1, g, m1, v1, 1e-3, 0.9, 0.1, 0.999, 0.001, 1e-7, 0)
		ref.Optim.Adam(w2, g, m2, v2, 1e-3, 0.9, 0.1, 0.999, 0.001, 1e-7, 0)
		for i := range w1 {
			require.LessOrEqual(t, testkit.ULP(w1[i], w2[i]), int64(1), "%s: w[%d]", k.ISA, i)
		}
	}
}

func TestAlphaDropoutKeepsMoments(t *testing.T) {
	// On standard normal input, alpha dropout keeps mean 0 and variance 1
	// (the point of the a, b correction), and it is the identity at
	// evaluation.
	const n = 200000
	for _, rate := range []float64{0.05, 0.1, 0.3} {
		l := &AlphaDropout{Rate: rate}
		l.index = 4
		x := testkit.Normal(testkit.Rand(1), n, 0, 1)
		y := make([]float32, n)
		l.Forward(&Context{Training: true, Seed: 1, Step: 2}, 1, x, y)
		m, v := act.MeanVar(y)
		assert.InDelta(t, 0, m, 0.01, "rate %v", rate)
		assert.InDelta(t, 1, v, 0.01, "rate %v", rate)
		dropped := 0
		for _, k := range l.mask {
			if k == 0 {
				dropped++
			}
		}
		assert.InDelta(t, rate, float64(dropped)/n, 0.005)
		l.Forward(&Context{}, 1, x, y)
		assert.Equal(t, x, y)
	}
}

func TestDropoutMasksAreStreams(t *testing.T) {
	// The mask is a function of (seed, step, layer): the same triple draws
	// the same mask, any other a different one.
	mask := func(seed uint64, step int64, layer int) []float32 {
		l := &Dropout{Rate: 0.5}
		l.index = layer
		x := make([]float32, 256)
		for i := range x {
			x[i] = 1
		}
		y := make([]float32, 256)
		l.Forward(&Context{Training: true, Seed: seed, Step: step}, 1, x, y)
		return y
	}
	assert.Equal(t, mask(1, 2, 3), mask(1, 2, 3))
	assert.NotEqual(t, mask(1, 2, 3), mask(2, 2, 3))
	assert.NotEqual(t, mask(1, 2, 3), mask(1, 3, 3))
	assert.NotEqual(t, mask(1, 2, 3), mask(1, 2, 4))
}

func TestPermutation(t *testing.T) {
	p := make([]int, 1000)
	Permutation(5, 0, p)
	seen := make([]bool, len(p))
	for _, v := range p {
		require.False(t, seen[v])
		seen[v] = true
	}
	q := make([]int, 1000)
	Permutation(5, 0, q)
	assert.Equal(t, p, q)
	Permutation(5, 1, q)
	assert.NotEqual(t, p, q)
	// Pinned: the order must never change between versions, or old
	// checkpoints would resume on other batches.
	small := make([]int, 10)
	Permutation(1, 0, small)
	assert.Equal(t, []int{6, 7, 2, 4, 5, 1, 3, 9, 8, 0}, small)
}

func TestBatches(t *testing.T) {
	b := Batches{N: 10, Size: 4}
	assert.Equal(t, 3, b.PerEpoch())
	perm := []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
	assert.Equal(t, []int{1, 0}, b.Batch(perm, 2))
	b.DropLast = true
	assert.Equal(t, 2, b.PerEpoch())
}

func TestTensors(t *testing.T) {
	_, err := NewTensors(Shape{1, 2, 2}, 3, make([]float32, 7), make([]int32, 2))
	assert.ErrorContains(t, err, "7 values are not 2 samples")
	_, err = NewTensors(Shape{1, 2, 2}, 3, make([]float32, 8), []int32{0, 3})
	assert.ErrorContains(t, err, "label 3 of sample 1")
	d, err := NewTensors(Shape{1, 1, 2}, 3, []float32{1, 2, 3, 4, 5, 6}, []int32{0, 1, 2})
	require.NoError(t, err)
	x, l := make([]float32, 4), make([]int32, 2)
	require.NoError(t, d.Load([]int{2, 0}, x, l))
	assert.Equal(t, []float32{5, 6, 1, 2}, x)
	assert.Equal(t, []int32{2, 0}, l)
	assert.Error(t, d.Load([]int{3}, x[:2], l[:1]))
}

func TestModelErrors(t *testing.T) {
	_, err := NewModel(Shape{1, 4, 4})
	assert.ErrorContains(t, err, "at least one layer")
	_, err = NewModel(Shape{1, 4, 4}, &Dense{Units: 3})
	assert.ErrorContains(t, err, "Flatten")
	_, err = NewModel(Shape{1, 4, 4}, &Conv2D{Filters: 2, KernelSize: 5})
	assert.ErrorContains(t, err, "conv2d_1")
	a, b := &SELU{}, &SELU{}
	a.SetName("x")
	b.SetName("x")
	_, err = NewModel(Shape{1, 4, 4}, a, b)
	assert.ErrorContains(t, err, `two layers are named "x"`)
	_, err = NewSeedNet(SeedNetConfig{Height: 8})
	assert.ErrorContains(t, err, "pool4")
	_, err = NewSeedNet(SeedNetConfig{Activation: "tanh"})
	assert.ErrorContains(t, err, "tanh")
}

func TestSeedNetShape(t *testing.T) {
	for _, tc := range []struct {
		h, classes, params int
	}{
		// Counted by hand: the convolutions hold 1,955,520 parameters, the
		// hidden Dense layers 512*(F+1) + 2*512*513 for F flattened
		// features (256 at 28x28, 4096 at 64x64), the output 513*classes.
		{28, 10, 1955520 + 131584 + 525312 + 5130},
		{64, 365, 1955520 + 2097664 + 525312 + 187245},
	} {
		m, err := NewSeedNet(SeedNetConfig{Height: tc.h, Classes: tc.classes})
		require.NoError(t, err)
		assert.Equal(t, tc.params, m.NumParams())
		assert.Equal(t, Vector(tc.classes), m.OutputShape())
		convs := 0
		for _, l := range m.Layers() {
			if l.Kind() == "conv2d" {
				convs++
			}
		}
		assert.Equal(t, 12, convs)
	}
}

func TestPredictAndEvaluate(t *testing.T) {
	m, err := NewSeedNet(tinyConfig(2))
	require.NoError(t, err)
	d := synthetic(1, 37, 4, 16, 16)
	out := make([]float32, 37*4)
	m.Predict(d.X, out)
	// Predict in one batch and in pieces agree; evaluation ignores dropout.
	c := &Context{}
	whole := m.Forward(c, 37, d.X)
	assert.Equal(t, whole, out)
	r, err := Evaluate(m, nil, d, 10)
	require.NoError(t, err)
	loss := (&SoftmaxCrossEntropy{}).Loss(37, 4, out, d.Y, nil)
	assert.InDelta(t, loss, r.Loss, 1e-12)
	assert.InDelta(t, float64(TopK(37, 4, out, d.Y, 1))/37, r.Top1, 1e-12)
	assert.Equal(t, 1.0, r.Top5) // 4 classes
	assert.Equal(t, 37, r.N)
}
