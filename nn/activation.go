package nn

import (
	"math"

	"github.com/snnkit/snn/act"
)

// SELU is the scaled exponential linear unit, Lambda*x for x > 0 and
// Lambda*Alpha*(e^x - 1) below (act.SELU).
type SELU struct {
	LayerBase
	elementwise
}

func (l *SELU) Kind() string                  { return "selu" }
func (l *SELU) Build(in Shape) (Shape, error) { return in, nil }
func (l *SELU) Params() []*Param              { return nil }
func (l *SELU) Flags() Flags                  { return InPlace | NeedsOutput }

func (l *SELU) Forward(_ *Context, _ int, x, y []float32) {
	sameLen("SELU.Forward", "y", y, "x", x)
	l.apply(opSELU, y, x, nil)
}

func (l *SELU) Backward(_ *Context, _ int, _, y, dy, dx []float32) {
	if dx != nil {
		sameLen("SELU.Backward", "dy", dy, "y", y)
		sameLen("SELU.Backward", "dx", dx, "y", y)
		l.apply(opSELUGrad, dx, dy, y)
	}
}

// ReLU is max(x, 0) (act.ReLU).
type ReLU struct {
	LayerBase
	elementwise
}

func (l *ReLU) Kind() string                  { return "relu" }
func (l *ReLU) Build(in Shape) (Shape, error) { return in, nil }
func (l *ReLU) Params() []*Param              { return nil }
func (l *ReLU) Flags() Flags                  { return InPlace | NeedsOutput }

func (l *ReLU) Forward(_ *Context, _ int, x, y []float32) {
	sameLen("ReLU.Forward", "y", y, "x", x)
	l.apply(opReLU, y, x, nil)
}

func (l *ReLU) Backward(_ *Context, _ int, _, y, dy, dx []float32) {
	if dx != nil {
		sameLen("ReLU.Backward", "dy", dy, "y", y)
		sameLen("ReLU.Backward", "dx", dx, "y", y)
		l.apply(opReLUGrad, dx, dy, y)
	}
}

// elementwise runs an activation or its gradient over a batch on several
// goroutines.
type elementwise struct {
	threads int
	g       group
	op      int
	dst, a  []float32
	b       []float32
}

const (
	opSELU = iota
	opSELUGrad
	opReLU
	opReLUGrad
)

// SetThreads sets the goroutines one pass may use (0: par.Threads()).
func (e *elementwise) SetThreads(n int) { e.threads = max(n, 0) }

func (e *elementwise) apply(op int, dst, a, b []float32) {
	e.op, e.dst, e.a, e.b = op, dst, a, b
	e.g.parallel(e.threads, len(a), e)
	e.dst, e.a, e.b = nil, nil, nil
}

func (e *elementwise) run(lo, hi int) {
	switch e.op {
	case opSELU:
		act.SELU(e.dst[lo:hi], e.a[lo:hi])
	case opSELUGrad:
		act.SELUGrad(e.dst[lo:hi], e.a[lo:hi], e.b[lo:hi])
	case opReLU:
		act.ReLU(e.dst[lo:hi], e.a[lo:hi])
	case opReLUGrad:
		act.ReLUGrad(e.dst[lo:hi], e.a[lo:hi], e.b[lo:hi])
	}
}

// Softmax turns each sample's vector into probabilities,
// y_j = e^(x_j - max x) / sum_k e^(x_k - max x). Train it with the
// CrossEntropy loss (Keras' from_logits=False); a network ending in logits
// uses SoftmaxCrossEntropy instead, which is cheaper and more accurate.
type Softmax struct {
	LayerBase
	size int // floats per sample
}

func (l *Softmax) Kind() string { return "softmax" }
func (l *Softmax) Build(in Shape) (Shape, error) {
	l.size = in.Size()
	return in, nil
}

// rowSize returns the floats per sample of a pass over n samples in s:
// the built shape's, or else len(s)/n. It panics unless s holds n of
// them.
func (l *Softmax) rowSize(fn, name string, n int, s []float32) int {
	k := l.size
	if k == 0 && n > 0 {
		k = len(s) / n
	}
	samples(fn, name, n, s, k)
	return k
}
func (l *Softmax) Params() []*Param { return nil }
func (l *Softmax) Flags() Flags     { return InPlace | NeedsOutput }

func (l *Softmax) Forward(_ *Context, n int, x, y []float32) {
	k := l.rowSize("Softmax.Forward", "x", n, x)
	sameLen("Softmax.Forward", "y", y, "x", x)
	for i := range n {
		softmaxRow(y[i*k:(i+1)*k], x[i*k:(i+1)*k])
	}
}

// softmaxRow writes the softmax of x into y (which may be x) and returns
// the maximum m of x and the sum s of the e^(x_j-m), in float64; log(s) + m
// is the log-sum-exp of x. A row with a NaN or an infinity gives NaN.
func softmaxRow(y, x []float32) (m float32, s float64) {
	m = float32(math.Inf(-1))
	for _, v := range x {
		if v > m || v != v {
			m = v
		}
	}
	if math.IsInf(float64(m), 0) || m != m {
		// All -Inf, or a NaN or +Inf: no shift makes it finite. Let the
		// NaN through so the trainer reports it.
		for i := range y {
			y[i] = float32(math.NaN())
		}
		return m, math.NaN()
	}
	for i, v := range x {
		y[i] = v - m
	}
	act.Exp(y, y)
	for _, v := range y {
		s += float64(v)
	}
	inv := float32(1 / s)
	for i := range y {
		y[i] *= inv
	}
	return m, s
}

func (l *Softmax) Backward(_ *Context, n int, _, y, dy, dx []float32) {
	if dx == nil {
		return
	}
	k := l.rowSize("Softmax.Backward", "y", n, y)
	sameLen("Softmax.Backward", "dy", dy, "y", y)
	sameLen("Softmax.Backward", "dx", dx, "y", y)
	for i := range n {
		yr, dyr, dxr := y[i*k:(i+1)*k], dy[i*k:(i+1)*k], dx[i*k:(i+1)*k]
		var dot float64
		for j, v := range yr {
			dot += float64(v) * float64(dyr[j])
		}
		d := float32(dot)
		for j, v := range yr {
			dxr[j] = v * (dyr[j] - d)
		}
	}
}
