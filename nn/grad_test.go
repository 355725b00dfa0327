package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/require"
)

// Gradient checks: the float32 backward pass against central differences
// of the float64 reference forward pass (ref_test.go), at the same point.

// objective is the scalar a gradient check differentiates: the mean loss
// of the model's output with labels, or sum(r*y) for a linear probe of one
// layer (dL/dy = r).
type objective struct {
	loss   Loss
	labels []int32
	r      []float32
}

func (o objective) grad(n int, out, dOut []float32) {
	if o.loss == nil {
		copy(dOut, o.r)
		return
	}
	o.loss.Loss(n, len(out)/n, out, o.labels, dOut)
}

func (o objective) value(n int, y []float64) float64 {
	switch o.loss.(type) {
	case nil:
		var s float64
		for i, v := range y {
			s += float64(o.r[i]) * v
		}
		return s
	case *SoftmaxCrossEntropy:
		return refSoftmaxCE(n, len(y)/n, y, o.labels)
	case CrossEntropy:
		return refCrossEntropy(n, len(y)/n, y, o.labels)
	}
	panic("objective: unknown loss")
}

// analytic runs the float32 forward and backward passes and returns the
// gradients of every parameter (copies) and of the input.
func analytic(m *Model, c *Context, n int, x []float32, o objective) (map[*Param][]float32, []float32) {
	out := m.Forward(c, n, x)
	dOut := make([]float32, len(out))
	o.grad(n, out, dOut)
	dx := make([]float32, len(x))
	m.Backward(c, n, x, dOut, dx)
	g := map[*Param][]float32{}
	for _, p := range m.params {
		g[p] = append([]float32(nil), p.Grad...)
	}
	return g, dx
}

// tensorCheck names one tensor to check: its float64 values (perturbed in
// place by the check) and its analytic gradient.
type tensorCheck struct {
	name string
	v    []float64
	g    []float32
}

func tensors(m *Model, ps refParams, x64 []float64, g map[*Param][]float32, dx []float32) []tensorCheck {
	var ts []tensorCheck
	for _, p := range m.params {
		ts = append(ts, tensorCheck{p.Name, ps[p], g[p]})
	}
	return append(ts, tensorCheck{"input", x64, dx})
}

// checkCoords compares every coordinate (or maxCoords random ones) of
// every tensor with a central difference of step eps:
// |g - fd| <= tol*max(|fd|, max|g| of the tensor).
func checkCoords(t *testing.T, m *Model, c *Context, n int, x []float32, o objective, maxCoords int, eps, tol float64) {
	t.Helper()
	g, dx := analytic(m, c, n, x, o)
	ps, x64 := refParamsOf(m), to64(x)
	f := func() float64 { return o.value(n, refForward(m, c, n, x64, ps)) }
	r := testkit.Rand(7)
	for _, tc := range tensors(m, ps, x64, g, dx) {
		scale := 0.0
		for _, v := range tc.g {
			scale = max(scale, math.Abs(float64(v)))
		}
		idx := coords(r, len(tc.v), maxCoords)
		for _, j := range idx {
			v := tc.v[j]
			tc.v[j] = v + eps
			fp := f()
			tc.v[j] = v - eps
			fm := f()
			tc.v[j] = v
			fd := (fp - fm) / (2 * eps)
			require.LessOrEqual(t, math.Abs(float64(tc.g[j])-fd), tol*max(math.Abs(fd), scale)+1e-12,
				"%s[%d]: analytic %g, finite difference %g", tc.name, j, tc.g[j], fd)
		}
	}
}

func coords(r *rand.Rand, n, most int) []int {
	if n <= most {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return r.Perm(n)[:most]
}

// checkDirections compares, for every tensor, the directional derivative
// along d = g + N(0, rms(g)^2) noise with a central difference along d:
// one pair of forward passes per tensor, so it scales to whole networks.
//
// The step must be tiny: a wide network has so many units that a step of
// 1e-6 moves a few of them across the kink of SELU or ReLU at 0, or
// changes a pooling window's winner, and the difference then strays by
// 1e-3 relative; the error of such crossings shrinks with the step, and in
// float64 a step of 1e-8 still leaves the rounding error near 1e-7.
func checkDirections(t *testing.T, m *Model, c *Context, n int, x []float32, o objective, eps, tol float64) {
	t.Helper()
	checkDirectionsOf(t, m, c, n, x, o, eps, tol, refForward, nil)
}

// checkDirectionsOf is checkDirections of the network that forward
// computes, skipping the tensors for which skip (if not nil) is true.
func checkDirectionsOf(t *testing.T, m *Model, c *Context, n int, x []float32, o objective, eps, tol float64,
	forward func(m *Model, c *Context, n int, x []float64, ps refParams) []float64, skip func(name string) bool) {
	t.Helper()
	g, dx := analytic(m, c, n, x, o)
	ps, x64 := refParamsOf(m), to64(x)
	f := func() float64 { return o.value(n, forward(m, c, n, x64, ps)) }
	r := testkit.Rand(8)
	for _, tc := range tensors(m, ps, x64, g, dx) {
		if skip != nil && skip(tc.name) {
			continue
		}
		var ss float64
		for _, v := range tc.g {
			ss += float64(v) * float64(v)
		}
		rms := math.Sqrt(ss / float64(len(tc.g)))
		if rms == 0 {
			t.Fatalf("%s: the gradient is zero: nothing to check", tc.name)
		}
		d := make([]float64, len(tc.g))
		dmax, a := 0.0, 0.0
		for i, v := range tc.g {
			d[i] = float64(v) + rms*r.NormFloat64()
			dmax = max(dmax, math.Abs(d[i]))
		}
		for i := range d {
			d[i] /= dmax
			a += float64(tc.g[i]) * d[i]
		}
		orig := append([]float64(nil), tc.v...)
		for i := range tc.v {
			tc.v[i] = orig[i] + eps*d[i]
		}
		fp := f()
		for i := range tc.v {
			tc.v[i] = orig[i] - eps*d[i]
		}
		fm := f()
		copy(tc.v, orig)
		fd := (fp - fm) / (2 * eps)
		require.InDelta(t, fd, a, tol*math.Abs(fd), "%s: directional derivative: analytic %g, finite difference %g", tc.name, a, fd)
	}
}

func newTestModel(t *testing.T, in Shape, seed uint64, layers ...Layer) *Model {
	t.Helper()
	m, err := NewModel(in, layers...)
	require.NoError(t, err)
	m.Init(seed)
	// Non-zero biases, so that the checks see them act.
	r := testkit.Rand(seed)
	for _, p := range m.params {
		if !p.Kernel {
			for i := range p.Value {
				p.Value[i] = 0.2 * (2*r.Float32() - 1)
			}
		}
	}
	return m
}

func TestLayerGradients(t *testing.T) {
	type tc struct {
		name   string
		in     Shape
		layers func() []Layer
		loss   Loss
		train  bool
	}
	cases := []tc{
		{"conv same 3x3 bias", Shape{2, 5, 6}, func() []Layer {
			return []Layer{&Conv2D{Filters: 3, KernelSize: 3, Padding: Same, Init: LeCunNormal}}
		}, nil, true},
		{"conv valid 2x2 stride 2 no bias", Shape{3, 7, 6}, func() []Layer {
			return []Layer{&Conv2D{Filters: 2, KernelSize: 2, Stride: 2, NoBias: true, Init: HeNormal}}
		}, nil, true},
		{"conv same 4x4 stride 2 (asymmetric padding)", Shape{1, 7, 5}, func() []Layer {
			return []Layer{&Conv2D{Filters: 2, KernelSize: 4, Stride: 2, Padding: Same}}
		}, nil, true},
		{"maxpool 2x2 odd sizes", Shape{3, 5, 7}, func() []Layer { return []Layer{&MaxPool2D{}} }, nil, true},
		{"maxpool 3x3 stride 2 same", Shape{2, 6, 5}, func() []Layer {
			return []Layer{&MaxPool2D{Size: 3, Stride: 2, Padding: Same}}
		}, nil, true},
		{"dense bias", Vector(7), func() []Layer { return []Layer{&Dense{Units: 5}} }, nil, true},
		{"dense no bias", Vector(4), func() []Layer { return []Layer{&Dense{Units: 6, NoBias: true}} }, nil, true},
		{"flatten dense", Shape{2, 3, 3}, func() []Layer { return []Layer{&Flatten{}, &Dense{Units: 4}} }, nil, true},
		{"conv pool flatten dense (flatten in place)", Shape{1, 6, 6}, func() []Layer {
			return []Layer{&Conv2D{Filters: 2, KernelSize: 3, Padding: Same}, &MaxPool2D{}, &Flatten{}, &Dense{Units: 3}}
		}, nil, true},
		{"selu first", Shape{2, 3, 4}, func() []Layer { return []Layer{&SELU{}} }, nil, true},
		{"dense selu (in place)", Vector(6), func() []Layer { return []Layer{&Dense{Units: 8, Init: LeCunNormal}, &SELU{}} }, nil, true},
		{"relu first", Shape{2, 3, 4}, func() []Layer { return []Layer{&ReLU{}} }, nil, true},
		{"conv relu (in place)", Shape{1, 4, 4}, func() []Layer {
			return []Layer{&Conv2D{Filters: 2, KernelSize: 3, Padding: Same, Init: HeNormal}, &ReLU{}}
		}, nil, true},
		{"dense selu alphadropout", Vector(6), func() []Layer {
			return []Layer{&Dense{Units: 40, Init: LeCunNormal}, &SELU{}, &AlphaDropout{Rate: 0.3}}
		}, nil, true},
		{"alphadropout in place", Vector(6), func() []Layer {
			return []Layer{&Dense{Units: 40}, &AlphaDropout{Rate: 0.2}}
		}, nil, true},
		{"alphadropout evaluation", Vector(6), func() []Layer {
			return []Layer{&Dense{Units: 10}, &AlphaDropout{Rate: 0.2}}
		}, nil, false},
		{"dense relu dropout", Vector(6), func() []Layer {
			return []Layer{&Dense{Units: 40, Init: HeNormal}, &ReLU{}, &Dropout{Rate: 0.4}}
		}, nil, true},
		{"dense softmax", Vector(5), func() []Layer { return []Layer{&Dense{Units: 7}, &Softmax{}} }, nil, true},
		{"softmax first", Vector(6), func() []Layer { return []Layer{&Softmax{}} }, nil, true},
		{"dense + softmax cross-entropy", Vector(5), func() []Layer { return []Layer{&Dense{Units: 7}} }, &SoftmaxCrossEntropy{}, true},
		{"dense softmax + cross-entropy", Vector(5), func() []Layer { return []Layer{&Dense{Units: 7}, &Softmax{}} }, CrossEntropy{}, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const n = 3
			m := newTestModel(t, c.in, uint64(10+i), c.layers()...)
			r := testkit.Rand(uint64(100 + i))
			x := testkit.Uniform(r, n*c.in.Size(), -1.5, 1.5)
			ctx := &Context{Training: c.train, Seed: 3, Step: 5}
			checkCoords(t, m, ctx, n, x, randomObjective(r, c.loss, n, m.OutputShape().Size()), 200, 1e-6, 2e-3)
		})
	}
}

// randomObjective is loss with random labels for n samples of out
// classes, or, with a nil loss, a random linear function of the outputs.
func randomObjective(r *rand.Rand, loss Loss, n, out int) objective {
	o := objective{loss: loss}
	if loss == nil {
		o.r = testkit.Uniform(r, n*out, -1, 1)
		return o
	}
	o.labels = make([]int32, n)
	for j := range o.labels {
		o.labels[j] = int32(r.IntN(out))
	}
	return o
}

// TestLayerForwardMatchesReference compares every layer's float32 forward
// pass with the float64 reference.
func TestLayerForwardMatchesReference(t *testing.T) {
	m := newTestModel(t, Shape{2, 8, 8}, 1,
		&Conv2D{Filters: 4, KernelSize: 3, Padding: Same, Init: LeCunNormal}, &SELU{},
		&MaxPool2D{}, &Conv2D{Filters: 3, KernelSize: 3, Init: HeNormal}, &ReLU{},
		&Flatten{}, &Dense{Units: 9, Init: LeCunNormal}, &SELU{}, &AlphaDropout{Rate: 0.25},
		&Dense{Units: 6}, &Dropout{Rate: 0.3}, &Softmax{})
	r := testkit.Rand(2)
	const n = 4
	x := testkit.Uniform(r, n*m.in.Size(), 0, 1)
	for _, train := range []bool{false, true} {
		c := &Context{Training: train, Seed: 9, Step: 2}
		y := m.Forward(c, n, x)
		want := refForward(m, c, n, to64(x), refParamsOf(m))
		for i := range want {
			require.InDelta(t, want[i], y[i], 1e-5*(1+math.Abs(want[i])), "training %v, output %d", train, i)
		}
	}
}

// TestSeedNetGradient checks SeedNet end to end (all four stages of three
// convolutions, the three hidden Dense layers with alpha dropout, the
// output and the loss) on 16x16 inputs, the smallest that survive four
// poolings: the directional derivative of every parameter tensor and of
// the input. The default run uses narrow stages; the full widths
// (32/64/128/256, 512; 6 s here, a minute under qemu) run with
// SNN_LONG=1.
func TestSeedNetGradient(t *testing.T) {
	cfgs := []SeedNetConfig{
		{Height: 16, Classes: 5, Dropout: 0.1, Filters: []int{4, 6, 8, 8}, Hidden: []int{16, 16, 16}, Seed: 4},
		{Height: 16, Width: 20, Classes: 4, Activation: "relu", Dropout: 0.1, Filters: []int{3, 4, 5, 6}, Hidden: []int{12, 12, 12}, Seed: 5},
		{Height: 16, Classes: 5, SoftmaxOutput: true, Filters: []int{4, 4, 8, 8}, Hidden: []int{16, 16, 16}, Seed: 6},
	}
	if os.Getenv("SNN_LONG") != "" {
		cfgs = append(cfgs, SeedNetConfig{Height: 16, Classes: 10, Dropout: 0.05, Seed: 7})
	}
	for _, cfg := range cfgs {
		t.Run(fmt.Sprintf("%s/%v/hidden%v/softmax=%v", cfg.Activation, cfg.Filters, cfg.Hidden, cfg.SoftmaxOutput), func(t *testing.T) {
			m, err := NewSeedNet(cfg)
			require.NoError(t, err)
			const n = 2
			r := testkit.Rand(cfg.Seed)
			x := testkit.Uniform(r, n*m.in.Size(), 0, 1)
			o := objective{loss: DefaultLoss(m), labels: []int32{1, 3}}
			checkDirections(t, m, &Context{Training: true, Seed: 11, Step: 3}, n, x, o, 1e-8, 2e-3)
		})
	}
}
