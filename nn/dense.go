package nn

import (
	"fmt"

	"github.com/snnkit/snn/gemm"
)

// Dense is a fully connected layer: y = x W^T + b for input vectors of In
// features and Units outputs, W stored [Units][In] (one row per unit).
// Its input must be a vector (use Flatten after convolutions). It runs on
// gemm.Sgemm.
type Dense struct {
	LayerBase
	Units  int
	NoBias bool
	// Init draws the kernel; nil means GlorotUniform (Keras' default).
	Init Initializer
	// Constraint is the kernel's constraint (Param.Constraint).
	Constraint Constraint

	in   int
	w, b *Param
	opt  gemm.Options
}

func (l *Dense) Kind() string { return "dense" }

func (l *Dense) Build(in Shape) (Shape, error) {
	if l.Units < 1 {
		return Shape{}, fmt.Errorf("units = %d, must be >= 1", l.Units)
	}
	if in.H != 1 || in.W != 1 {
		return Shape{}, fmt.Errorf("input %v is not a vector: put a Flatten layer before Dense", in)
	}
	if l.Units > maxElems/in.C {
		return Shape{}, fmt.Errorf("%d x %d weights exceed 2^31-1", l.Units, in.C)
	}
	l.in = in.C
	init := l.Init
	if init == nil {
		init = GlorotUniform
	}
	l.w = NewParam(l.name+".kernel", true, init, in.C, l.Units, l.Units, in.C)
	l.w.Constraint = l.Constraint
	if !l.NoBias {
		l.b = NewParam(l.name+".bias", false, Zeros{}, 1, 1, l.Units)
	}
	return Vector(l.Units), nil
}

func (l *Dense) Params() []*Param {
	if l.b == nil {
		return []*Param{l.w}
	}
	return []*Param{l.w, l.b}
}

func (l *Dense) Flags() Flags { return NeedsInput }

// SetThreads sets the goroutines one GEMM may use (0: par.Threads()).
func (l *Dense) SetThreads(n int) { l.opt.Threads = max(n, 0) }

func (l *Dense) Forward(_ *Context, n int, x, y []float32) {
	samples("Dense.Forward", "x", n, x, l.in)
	samples("Dense.Forward", "y", n, y, l.Units)
	u := l.Units
	beta := float32(0)
	if l.b != nil {
		for i := range n {
			copy(y[i*u:(i+1)*u], l.b.Value)
		}
		beta = 1
	}
	l.opt.Sgemm(false, true, n, u, l.in, 1, x, l.in, l.w.Value, l.in, beta, y, u)
}

func (l *Dense) Backward(_ *Context, n int, x, _, dy, dx []float32) {
	samples("Dense.Backward", "x", n, x, l.in)
	samples("Dense.Backward", "dy", n, dy, l.Units)
	if dx != nil {
		samples("Dense.Backward", "dx", n, dx, l.in)
	}
	u := l.Units
	// dW = dy^T x, summed over the batch by the GEMM.
	l.opt.Sgemm(true, false, u, l.in, n, 1, dy, u, x, l.in, 0, l.w.Grad, l.in)
	if l.b != nil {
		db := l.b.Grad
		clear(db)
		for i := range n {
			addTo(db, dy[i*u:(i+1)*u])
		}
	}
	if dx != nil {
		l.opt.Sgemm(false, false, n, l.in, u, 1, dy, u, l.w.Value, l.in, 0, dx, l.in)
	}
}

// addTo sets dst[i] += src[i].
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// Flatten turns C x H x W samples into vectors of C*H*W features, in NCHW
// order. It moves no data when the model lets it share its input's buffer.
type Flatten struct{ LayerBase }

func (l *Flatten) Kind() string { return "flatten" }

func (l *Flatten) Build(in Shape) (Shape, error) { return Vector(in.Size()), nil }
func (l *Flatten) Params() []*Param              { return nil }
func (l *Flatten) Flags() Flags                  { return InPlace }

func (l *Flatten) Forward(_ *Context, _ int, x, y []float32) {
	sameLen("Flatten.Forward", "y", y, "x", x)
	if !sameSlice(x, y) {
		copy(y, x)
	}
}

func (l *Flatten) Backward(_ *Context, _ int, _, _, dy, dx []float32) {
	if dx != nil {
		sameLen("Flatten.Backward", "dx", dx, "dy", dy)
	}
	if dx != nil && !sameSlice(dx, dy) {
		copy(dx, dy)
	}
}
