package nn

import (
	"fmt"

	"github.com/snnkit/snn/conv"
)

// Conv2D is a 2-D convolution layer with square kernels: Filters outputs,
// KernelSize x KernelSize windows moved by Stride, 'valid' or 'same'
// padding, and a bias per filter. It runs on package conv.
type Conv2D struct {
	LayerBase
	Filters    int
	KernelSize int
	Stride     int // 0 means 1
	Padding    Padding
	NoBias     bool
	// Init draws the kernel; nil means GlorotUniform (Keras' default).
	Init Initializer
	// Constraint is the kernel's constraint (Param.Constraint).
	Constraint Constraint

	g             conv.Geometry
	c             *conv.Conv2D
	w, b          *Param
	inSz, outSize int // floats per sample
}

func (l *Conv2D) Kind() string { return "conv2d" }

func (l *Conv2D) Build(in Shape) (Shape, error) {
	if l.Filters < 1 || l.KernelSize < 1 || l.Stride < 0 {
		return Shape{}, fmt.Errorf("filters = %d, kernel size = %d, stride = %d: need filters and kernel size >= 1, stride >= 0",
			l.Filters, l.KernelSize, l.Stride)
	}
	s := max(l.Stride, 1)
	if l.Padding == Same {
		l.g = conv.Same(in.C, in.H, in.W, l.Filters, l.KernelSize, s)
	} else {
		l.g = conv.Valid(in.C, in.H, in.W, l.Filters, l.KernelSize, s)
	}
	c, err := conv.New(l.g)
	if err != nil {
		return Shape{}, err
	}
	l.c = c
	k2 := l.KernelSize * l.KernelSize
	init := l.Init
	if init == nil {
		init = GlorotUniform
	}
	l.w = NewParam(l.name+".kernel", true, init, in.C*k2, l.Filters*k2, l.Filters, in.C, l.KernelSize, l.KernelSize)
	l.w.Constraint = l.Constraint
	if !l.NoBias {
		l.b = NewParam(l.name+".bias", false, Zeros{}, 1, 1, l.Filters)
	}
	out := Shape{C: l.Filters, H: l.g.OutH(), W: l.g.OutW()}
	l.inSz, l.outSize = in.Size(), out.Size()
	return out, nil
}

func (l *Conv2D) Params() []*Param {
	if l.b == nil {
		return []*Param{l.w}
	}
	return []*Param{l.w, l.b}
}

func (l *Conv2D) Flags() Flags { return NeedsInput }

// Geometry is the convolution's geometry (after Build).
func (l *Conv2D) Geometry() conv.Geometry { return l.g }

// SetThreads sets the goroutines one pass may use (0: par.Threads()).
func (l *Conv2D) SetThreads(n int) { l.c.SetThreads(n) }

func (l *Conv2D) bias() ([]float32, []float32) {
	if l.b == nil {
		return nil, nil
	}
	return l.b.Value, l.b.Grad
}

func (l *Conv2D) Forward(_ *Context, n int, x, y []float32) {
	samples("Conv2D.Forward", "x", n, x, l.inSz)
	samples("Conv2D.Forward", "y", n, y, l.outSize)
	l.forwardAct(n, x, y, conv.Identity)
}

// forwardAct is Forward followed by the activation a, in one pass.
func (l *Conv2D) forwardAct(n int, x, y []float32, a conv.Activation) {
	b, _ := l.bias()
	l.c.ForwardAct(n, x, l.w.Value, b, y, a)
}

func (l *Conv2D) Backward(_ *Context, n int, x, _, dy, dx []float32) {
	samples("Conv2D.Backward", "x", n, x, l.inSz)
	samples("Conv2D.Backward", "dy", n, dy, l.outSize)
	if dx != nil {
		samples("Conv2D.Backward", "dx", n, dx, l.inSz)
	}
	l.backwardAct(n, x, dy, dx, conv.Identity)
}

// backwardAct is Backward for an input x made by the activation a, whose
// derivative it applies to dx (conv.Conv2D.BackwardAct).
func (l *Conv2D) backwardAct(n int, x, dy, dx []float32, a conv.Activation) {
	_, db := l.bias()
	var w []float32
	if dx != nil {
		w = l.w.Value
	}
	l.c.BackwardAct(n, x, w, dy, dx, l.w.Grad, db, a)
}

// MaxPool2D is max-pooling over Size x Size windows moved by Stride
// (0 means Size), with 'valid' (the default) or 'same' padding.
type MaxPool2D struct {
	LayerBase
	Size    int // 0 means 2
	Stride  int // 0 means Size
	Padding Padding

	p             *conv.MaxPool2D
	argmax        []int32
	inSz, outSize int // floats per sample
}

func (l *MaxPool2D) Kind() string { return "maxpool2d" }

// Window returns the pooling window's side and stride with the defaults
// applied: Size 0 is 2, Stride 0 is the window's side.
func (l *MaxPool2D) Window() (size, stride int) {
	size, stride = l.Size, l.Stride
	if size == 0 {
		size = 2
	}
	if stride == 0 {
		stride = size
	}
	return size, stride
}

func (l *MaxPool2D) Build(in Shape) (Shape, error) {
	if l.Size < 0 || l.Stride < 0 {
		return Shape{}, fmt.Errorf("size = %d, stride = %d: must be >= 0", l.Size, l.Stride)
	}
	k, s := l.Window()
	var g conv.PoolGeometry
	if l.Padding == Same {
		g = conv.PoolSame(in.C, in.H, in.W, k, s)
	} else {
		g = conv.Pool(in.C, in.H, in.W, k, s)
	}
	p, err := conv.NewMaxPool2D(g)
	if err != nil {
		return Shape{}, err
	}
	l.p = p
	out := Shape{C: in.C, H: g.OutH(), W: g.OutW()}
	l.inSz, l.outSize = in.Size(), out.Size()
	return out, nil
}

func (l *MaxPool2D) Params() []*Param { return nil }
func (l *MaxPool2D) Flags() Flags     { return 0 }

// SetThreads sets the goroutines one pass may use (0: par.Threads()).
func (l *MaxPool2D) SetThreads(n int) { l.p.SetThreads(n) }

func (l *MaxPool2D) Forward(c *Context, n int, x, y []float32) {
	samples("MaxPool2D.Forward", "x", n, x, l.inSz)
	samples("MaxPool2D.Forward", "y", n, y, l.outSize)
	if !c.Training {
		l.p.Forward(n, x, y, nil)
		return
	}
	if len(l.argmax) < len(y) {
		l.argmax = make([]int32, len(y))
	}
	l.p.Forward(n, x, y, l.argmax[:len(y)])
}

func (l *MaxPool2D) Backward(_ *Context, n int, _, _, dy, dx []float32) {
	if dx == nil {
		return
	}
	samples("MaxPool2D.Backward", "dy", n, dy, l.outSize)
	samples("MaxPool2D.Backward", "dx", n, dx, l.inSz)
	if len(l.argmax) < len(dy) {
		panic("nn: MaxPool2D.Backward: no training Forward has run on a batch that large")
	}
	l.p.Backward(n, dy, l.argmax[:len(dy)], dx)
}

// backwardAct is Backward for an input x made by the activation a, whose
// derivative it applies to dx (conv.MaxPool2D.BackwardAct).
func (l *MaxPool2D) backwardAct(n int, x, dy, dx []float32, a conv.Activation) {
	l.p.BackwardAct(n, dy, l.argmax[:len(dy)], dx, a, x)
}
