package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/par"
)

// bnPass is the pass a BatchNorm's lanes share.
type bnPass struct {
	backward, training bool
	n                  int
	x, y, dy, dx       []float32
}

// BatchNorm is Keras' BatchNormalization over the channels of its input
// (axis 1 of NCHW, the features of a vector). In training it normalizes
// each channel with the mean and the population variance of the batch,
// taken over every sample and position:
//
//	y = gamma*(x - mean)/sqrt(var + Epsilon) + beta
//
// and in evaluation with the moving mean and variance instead. The moving
// statistics follow the batches' as moving = Momentum*moving +
// (1-Momentum)*batch, the batch variance being the population one (as
// Keras 3 and tf.keras' unfused path take it; tf.keras' fused kernel
// applies Bessel's correction n/(n-1) to it, a difference that vanishes
// for large batches); they are updated when Backward runs in training
// mode, not by Forward, so that a step the Trainer abandons (a non-finite
// loss) leaves them as they were. gamma starts at 1, beta at 0, the moving
// mean at 0 and the moving variance at 1. Backward uses the statistics of
// the last Forward.
//
// gamma and beta are trainable parameters (neither counts as a kernel:
// no weight decay, no constraint). The moving statistics are not:
// Model.State lists them, and checkpoints save them with the parameters.
// Model.Fold merges a BatchNorm into the Conv2D or Dense before it for
// inference.
type BatchNorm struct {
	LayerBase
	Momentum float64 // 0 means 0.99
	Epsilon  float64 // 0 means 1e-3

	ch, plane        int
	gamma, beta      *Param
	movMean, movVar  []float32
	mean, istd, bvar []float32 // statistics used by the last Forward
	mom, eps         float64

	s1, s2     []float64 // per-channel sums of the vector path
	ca, cb, cc []float32 // per-channel coefficients of the vector path

	threads, lanes int
	team           par.Team
	pass           bnPass
}

func (l *BatchNorm) Kind() string { return "batchnorm" }

func (l *BatchNorm) Build(in Shape) (Shape, error) {
	l.mom, l.eps = l.Momentum, l.Epsilon
	if l.mom == 0 {
		l.mom = 0.99
	}
	if l.eps == 0 {
		l.eps = 1e-3
	}
	if !(l.mom >= 0 && l.mom < 1) || !(l.eps > 0) || math.IsInf(l.eps, 0) {
		return Shape{}, fmt.Errorf("momentum = %v, epsilon = %v: need momentum in [0, 1) and a finite epsilon > 0", l.Momentum, l.Epsilon)
	}
	l.ch, l.plane = in.C, in.H*in.W
	l.gamma = NewParam(l.name+".gamma", false, ones{}, 1, 1, in.C)
	l.beta = NewParam(l.name+".beta", false, Zeros{}, 1, 1, in.C)
	l.movMean = make([]float32, in.C)
	l.movVar = make([]float32, in.C)
	for i := range l.movVar {
		l.movVar[i] = 1
	}
	l.mean = make([]float32, in.C)
	l.istd = make([]float32, in.C)
	l.bvar = make([]float32, in.C)
	if l.plane == 1 {
		l.s1, l.s2 = make([]float64, in.C), make([]float64, in.C)
		l.ca, l.cb, l.cc = make([]float32, in.C), make([]float32, in.C), make([]float32, in.C)
	}
	return in, nil
}

func (l *BatchNorm) Params() []*Param { return []*Param{l.gamma, l.beta} }
func (l *BatchNorm) Flags() Flags     { return NeedsInput }

// State returns the moving mean and variance ("<name>.moving_mean",
// "<name>.moving_variance"), views that a checkpoint saves and restores.
func (l *BatchNorm) State() []Tensor {
	return []Tensor{
		{Name: l.name + ".moving_mean", Shape: []int{l.ch}, Data: l.movMean},
		{Name: l.name + ".moving_variance", Shape: []int{l.ch}, Data: l.movVar},
	}
}

// scale returns the per-channel affine map y = a*x + b of evaluation mode.
func (l *BatchNorm) scale(c int) (a, b float64) {
	a = float64(l.gamma.Value[c]) / math.Sqrt(float64(l.movVar[c])+l.eps)
	return a, float64(l.beta.Value[c]) - float64(l.movMean[c])*a
}

func (l *BatchNorm) plane3(s []float32, i, c int) []float32 {
	o := (i*l.ch + c) * l.plane
	return s[o : o+l.plane : o+l.plane]
}

// SetThreads sets the goroutines one pass may use (0: par.Threads()).
// Channels are split among them; each channel's arithmetic is the same
// whatever the split.
func (l *BatchNorm) SetThreads(n int) { l.threads = max(n, 0) }

func (l *BatchNorm) Forward(ctx *Context, n int, x, y []float32) {
	l.run(false, ctx.Training, n, x, y, nil, nil)
}

func (l *BatchNorm) Backward(ctx *Context, n int, x, _, dy, dx []float32) {
	l.run(true, ctx.Training, n, x, nil, dy, dx)
}

// run does a pass over every channel, on lanes of whole channels when the
// batch is large enough to pay for them.
func (l *BatchNorm) run(backward, training bool, n int, x, y, dy, dx []float32) {
	l.pass = bnPass{backward: backward, training: training, n: n, x: x, y: y, dy: dy, dx: dx}
	lanes := min(threadsOr(l.threads), l.ch, n*l.ch*l.plane/minRange)
	if lanes <= 1 {
		l.channels(0, l.ch)
	} else {
		l.lanes = lanes
		l.team.Run(l, lanes)
	}
	l.pass = bnPass{}
}

// RunLane does lane i's channels.
func (l *BatchNorm) RunLane(i int) {
	l.channels(i*l.ch/l.lanes, (i+1)*l.ch/l.lanes)
}

func (l *BatchNorm) channels(c0, c1 int) {
	if l.plane == 1 {
		l.vectors(c0, c1)
		return
	}
	for c := c0; c < c1; c++ {
		if l.pass.backward {
			l.backwardChannel(c)
		} else {
			l.forwardChannel(c)
		}
	}
}

// stats records channel c's statistics for the pass and returns the
// forward pass's map y = a*x + b.
func (l *BatchNorm) stats(c int, mean, v float64) (a, b float32) {
	istd := 1 / math.Sqrt(v+l.eps)
	l.mean[c], l.istd[c], l.bvar[c] = float32(mean), float32(istd), float32(v)
	a64 := float64(l.gamma.Value[c]) * istd
	return float32(a64), float32(float64(l.beta.Value[c]) - mean*a64)
}

// grads sets channel c's parameter gradients from the sums of dy and of
// dy*(x - mean) over count values, moves the moving statistics in
// training, and returns the input gradient's map
// dx = a*dy + b*(x - mean) + cc; b and cc, the gradient through the batch
// statistics, are 0 in evaluation.
func (l *BatchNorm) grads(c int, sdy, sdyx, count float64) (a, b, cc float32) {
	istd := float64(l.istd[c])
	dgamma := sdyx * istd
	l.gamma.Grad[c], l.beta.Grad[c] = float32(dgamma), float32(sdy)
	a64 := float64(l.gamma.Value[c]) * istd
	if l.pass.training {
		if count > 0 {
			b = float32(-a64 * istd * dgamma / count)
			cc = float32(-a64 * sdy / count)
		}
		l.movMean[c] = float32(l.mom*float64(l.movMean[c]) + (1-l.mom)*float64(l.mean[c]))
		l.movVar[c] = float32(l.mom*float64(l.movVar[c]) + (1-l.mom)*float64(l.bvar[c]))
	}
	return float32(a64), b, cc
}

func (l *BatchNorm) forwardChannel(c int) {
	k := kernels.Active()
	p := &l.pass
	n := p.n
	mean, v := float64(l.movMean[c]), float64(l.movVar[c])
	if p.training && n > 0 {
		// Shifted sums, as act.MeanVar takes them.
		shift := act.Shift(l.plane3(p.x, 0, c))
		var s1, s2 float64
		for i := range n {
			a, b := k.Act.Moments(l.plane3(p.x, i, c), shift)
			s1 += a
			s2 += b
		}
		count := float64(n) * float64(l.plane)
		m := s1 / count
		mean, v = float64(shift)+m, max(s2/count-m*m, 0)
	}
	a, b := l.stats(c, mean, v)
	for i := range n {
		yp := l.plane3(p.y, i, c)
		copy(yp, l.plane3(p.x, i, c))
		k.Act.Affine(yp, a, b)
	}
}

func (l *BatchNorm) backwardChannel(c int) {
	p := &l.pass
	n := p.n
	mean := l.mean[c]
	var sdy, sdyx float64
	for i := range n {
		a, b := centredDot(l.plane3(p.dy, i, c), l.plane3(p.x, i, c), mean)
		sdy += a
		sdyx += b
	}
	a, b, cc := l.grads(c, sdy, sdyx, float64(n)*float64(l.plane))
	if p.dx == nil {
		return
	}
	for i := range n {
		d, xp, dxp := l.plane3(p.dy, i, c), l.plane3(p.x, i, c), l.plane3(p.dx, i, c)
		for j := range d {
			dxp[j] = a*d[j] + b*(xp[j]-mean) + cc
		}
	}
}

// vectors does channels [c0, c1) of a batch of vectors (one value per
// sample and channel): its loops run along each sample's row, where the
// per-channel ones would call a kernel for every element. Sums are
// float64, shifted by the first sample.
func (l *BatchNorm) vectors(c0, c1 int) {
	p := &l.pass
	n, ch := p.n, l.ch
	s1, s2 := l.s1[c0:c1], l.s2[c0:c1]
	ca, cb, cc := l.ca[c0:c1], l.cb[c0:c1], l.cc[c0:c1]
	mean := l.mean[c0:c1]
	clear(s1)
	clear(s2)
	row := func(s []float32, i int) []float32 { return s[i*ch+c0 : i*ch+c1] }
	if !p.backward {
		if p.training && n > 0 {
			first := row(p.x, 0)
			for i := range n {
				for j, v := range row(p.x, i) {
					d := float64(v) - float64(first[j])
					s1[j] += d
					s2[j] += d * d
				}
			}
		}
		for j := range s1 {
			c := c0 + j
			m, v := float64(l.movMean[c]), float64(l.movVar[c])
			if p.training && n > 0 {
				d := s1[j] / float64(n)
				m, v = float64(p.x[c])+d, max(s2[j]/float64(n)-d*d, 0)
			}
			ca[j], cb[j] = l.stats(c, m, v)
		}
		for i := range n {
			y := row(p.y, i)
			for j, v := range row(p.x, i) {
				y[j] = ca[j]*v + cb[j]
			}
		}
		return
	}
	for i := range n {
		x := row(p.x, i)
		for j, d := range row(p.dy, i) {
			s1[j] += float64(d)
			s2[j] += float64(d) * float64(x[j]-mean[j])
		}
	}
	for j := range s1 {
		ca[j], cb[j], cc[j] = l.grads(c0+j, s1[j], s2[j], float64(n))
	}
	if p.dx == nil {
		return
	}
	for i := range n {
		x, dx := row(p.x, i), row(p.dx, i)
		for j, d := range row(p.dy, i) {
			dx[j] = ca[j]*d + cb[j]*(x[j]-mean[j]) + cc[j]
		}
	}
}

// centredDot returns the sums of dy[i] and dy[i]*(x[i]-mean): float32
// partials of at most 128 terms, added in float64 (the blocking of
// kernels.Act.Sum), in an order fixed by the length alone.
func centredDot(dy, x []float32, mean float32) (sdy, sdyx float64) {
	x = x[:len(dy)]
	for len(dy) > 0 {
		k := min(len(dy), 128)
		var a0, a1, b0, b1 float32
		j := 0
		for ; j+1 < k; j += 2 {
			a0 += dy[j]
			a1 += dy[j+1]
			b0 += dy[j] * (x[j] - mean)
			b1 += dy[j+1] * (x[j+1] - mean)
		}
		if j < k {
			a0 += dy[j]
			b0 += dy[j] * (x[j] - mean)
		}
		sdy += float64(a0) + float64(a1)
		sdyx += float64(b0) + float64(b1)
		dy, x = dy[k:], x[k:]
	}
	return sdy, sdyx
}

// ones initializes to 1 (BatchNorm's gamma).
type ones struct{}

func (ones) Init(w []float32, _, _ int, _ *RNG) {
	for i := range w {
		w[i] = 1
	}
}

// stateful is a layer with non-trainable state that checkpoints keep.
type stateful interface {
	State() []Tensor
}

// State returns the non-trainable tensors of every layer in order (the
// moving statistics of BatchNorm layers), as views: checkpoints save them
// after the parameters, and LoadParams and Trainer.Restore set them.
func (m *Model) State() []Tensor {
	var ts []Tensor
	for _, l := range m.layers {
		if s, ok := l.(stateful); ok {
			ts = append(ts, s.State()...)
		}
	}
	return ts
}

// savedTensors lists what a checkpoint's Params hold: every parameter,
// then the state, as views.
func (m *Model) savedTensors() []Tensor {
	ts := make([]Tensor, 0, len(m.params))
	for _, p := range m.params {
		ts = append(ts, Tensor{Name: p.Name, Shape: p.Shape, Data: p.Value})
	}
	return append(ts, m.State()...)
}
