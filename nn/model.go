package nn

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/internal/bounds"
)

// Model is a sequential network: layers applied one after the other to
// batches of samples of one input shape.
//
// A Model owns the buffers of every layer's output and of the gradients,
// sized for the largest batch it has seen: the first pass with a batch
// larger than any before allocates, later ones do not. Element-wise layers
// (activations, dropout, Flatten) write over their input when no other
// layer needs it. A SELU or ReLU next to a convolution runs inside it: the
// convolution before it applies the activation to each tile of its output
// as it writes it, and a convolution or pooling after it applies the
// derivative to the input gradient as it writes that; the results are the
// same bit for bit as the layers run apart.
//
// A Model is not safe for concurrent use: its passes share the buffers.
// Forward, Backward, Predict and a Trainer's steps panic when they find
// another of them running on the same Model.
type Model struct {
	in     Shape
	layers []Layer
	shapes []Shape // shapes[i] is layer i's output
	params []*Param

	inPlace []bool // layer i writes its output over its input
	// fuse[i], unless conv.Identity, is the activation of layer i+1,
	// which convolution layer i applies itself as it writes its output
	// (conv.Conv2D.ForwardAct): one pass over the output instead of two.
	fuse []conv.Activation
	// bfuse[i], unless conv.Identity, is the activation of layer i-1,
	// whose output layer i (a convolution or a pooling) reads: layer i's
	// backward pass returns the gradient with respect to the activation's
	// input (conv.Conv2D.BackwardAct), and layer i-1's is skipped.
	bfuse []conv.Activation
	// centre[i], if true, makes the backward pass subtract from each unit
	// of layer i (a Conv2D or Dense) its mean gradient over the batch
	// before the layer's own backward pass (DataNorm.CentreGrad).
	centre  []bool
	centrer centrer
	cap     int // batch size the buffers hold
	outs    [][]float32
	grads   [2][]float32
	threads int
	use     inUse
}

// NewModel builds the layers for samples of shape in. Layers without a
// name are named kind_k, k counting layers of that kind from 1. The
// parameters are zero until Init draws them.
func NewModel(in Shape, layers ...Layer) (*Model, error) {
	if err := in.check(); err != nil {
		return nil, fmt.Errorf("nn: input %w", err)
	}
	if len(layers) == 0 {
		return nil, errors.New("nn: a model needs at least one layer")
	}
	m := &Model{in: in, layers: layers}
	counts := map[string]int{}
	names := map[string]bool{}
	for i, l := range layers {
		if l == nil {
			return nil, fmt.Errorf("nn: layer %d is nil", i)
		}
		b := l.base()
		if b.name == "" {
			counts[l.Kind()]++
			b.name = fmt.Sprintf("%s_%d", l.Kind(), counts[l.Kind()])
		}
		if names[b.name] {
			return nil, fmt.Errorf("nn: two layers are named %q", b.name)
		}
		names[b.name] = true
		b.index = i
	}
	s := in
	for i, l := range layers {
		out, err := l.Build(s)
		if err == nil {
			err = out.check()
		}
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d (%s, input %v): %w", i, l.base().name, s, err)
		}
		m.shapes = append(m.shapes, out)
		m.params = append(m.params, l.Params()...)
		ip := l.Flags()&InPlace != 0 && l.Flags()&NeedsInput == 0 && i > 0 &&
			layers[i-1].Flags()&NeedsOutput == 0 && out.Size() == s.Size()
		m.inPlace = append(m.inPlace, ip)
		s = out
	}
	m.fuse = make([]conv.Activation, len(layers))
	m.bfuse = make([]conv.Activation, len(layers))
	for i := 0; i+1 < len(layers); i++ {
		a := activationOf(layers[i+1])
		if !m.inPlace[i+1] || a == conv.Identity {
			continue
		}
		if _, ok := layers[i].(*Conv2D); ok {
			m.fuse[i] = a
		}
		if i+2 < len(layers) {
			if _, ok := layers[i+2].(actBackward); ok {
				m.bfuse[i+2] = a
			}
		}
	}
	return m, nil
}

// actBackward is a layer that can apply the derivative of the activation
// before it to its input gradient.
type actBackward interface {
	backwardAct(n int, x, dy, dx []float32, a conv.Activation)
}

// activationOf returns the conv.Activation that l computes, or
// conv.Identity if l is not one.
func activationOf(l Layer) conv.Activation {
	switch l.(type) {
	case *SELU:
		return conv.SELU
	case *ReLU:
		return conv.ReLU
	}
	return conv.Identity
}

// Init draws every parameter: kernels from their layer's initializer,
// biases zero. Each parameter has its own random stream, a function of the
// seed, the layer's index and the parameter's, so a model's weights do not
// depend on the layers after it.
func (m *Model) Init(seed uint64) {
	for i, l := range m.layers {
		for j, p := range l.Params() {
			if p.init == nil {
				continue
			}
			r := NewRNG(streamKey(seed, purposeInit, uint64(i), uint64(j)))
			p.init.Init(p.Value, p.fanIn, p.fanOut, &r)
		}
	}
}

// InputShape is the shape of one input sample.
func (m *Model) InputShape() Shape { return m.in }

// OutputShape is the shape of one output sample.
func (m *Model) OutputShape() Shape { return m.shapes[len(m.shapes)-1] }

// Layers returns the layers in order.
func (m *Model) Layers() []Layer { return m.layers }

// Shape returns the output shape of layer i.
func (m *Model) Shape(i int) Shape { return m.shapes[i] }

// Params returns every trainable parameter, in layer order.
func (m *Model) Params() []*Param { return m.params }

// Param returns the parameter with the given name, or nil.
func (m *Model) Param(name string) *Param {
	for _, p := range m.params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// NumParams is the number of trainable float32 values.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += len(p.Value)
	}
	return n
}

// SetKernelConstraint sets the constraint of every kernel (nil removes
// them).
func (m *Model) SetKernelConstraint(c Constraint) {
	for _, p := range m.params {
		if p.Kernel {
			p.Constraint = c
		}
	}
}

// SetThreads sets how many goroutines the convolutions, poolings and GEMMs
// of one pass may use; n <= 0 means par.Threads() at the time of each call
// (GOMAXPROCS by default). Results do not depend on it.
func (m *Model) SetThreads(n int) {
	m.threads = max(n, 0)
	for _, l := range m.layers {
		if t, ok := l.(interface{ SetThreads(int) }); ok {
			t.SetThreads(m.threads)
		}
	}
}

// Threads returns what SetThreads set (0: the default).
func (m *Model) Threads() int { return m.threads }

// Summary describes the layers, their output shapes and parameter counts.
func (m *Model) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "input %v\n", m.in)
	for i, l := range m.layers {
		n := 0
		for _, p := range l.Params() {
			n += len(p.Value)
		}
		fmt.Fprintf(&b, "%-16s %-13s %-12v %d\n", l.base().name, l.Kind(), m.shapes[i], n)
	}
	fmt.Fprintf(&b, "parameters: %d\n", m.NumParams())
	return b.String()
}

// reserve sizes the buffers for batches of n samples; fn names the
// caller in the panic when no buffer can hold them.
func (m *Model) reserve(fn string, n int) {
	if n <= m.cap {
		return
	}
	g := 0
	for i := range m.layers {
		size := m.shapes[i].Size()
		if i > 0 {
			g = max(g, m.shapes[i-1].Size())
		}
		if _, ok := floats(n, max(size, g)); !ok {
			panic(fmt.Sprintf("nn: %s: n = %d samples of layer %d's output (%v) are %s floats, more than a buffer holds",
				fn, n, i, m.shapes[i], bounds.Product(n, size)))
		}
	}
	m.outs = make([][]float32, len(m.layers))
	for i := range m.layers {
		if m.inPlace[i] {
			m.outs[i] = m.outs[i-1]
		} else {
			m.outs[i] = make([]float32, n*m.shapes[i].Size())
		}
	}
	for i := range m.grads {
		m.grads[i] = make([]float32, n*g)
	}
	m.cap = n
}

// Forward runs the layers on a batch of n samples x ([n][C][H][W] of the
// input shape) and returns the output, [n][OutputShape], a view into the
// model's buffers valid until the next pass.
func (m *Model) Forward(c *Context, n int, x []float32) []float32 {
	m.use.enter("Model")
	defer m.use.leave()
	return m.forwardBatch("Forward", c, n, x)
}

// forwardBatch is Forward with the caller already holding m.
func (m *Model) forwardBatch(fn string, c *Context, n int, x []float32) []float32 {
	samples(fn, "x", n, x, m.in.Size())
	m.reserve(fn, n)
	out, _ := m.forward(c, n, x, nil)
	return out
}

// observer sees each layer's output right after the layer computed it
// (in-place layers overwrite their input later); returning false stops the
// pass.
type observer interface {
	observe(layer int, y []float32) bool
}

func (m *Model) output(i, n int) []float32 { return m.outs[i][:n*m.shapes[i].Size()] }

func (m *Model) input(i, n int, x []float32) []float32 {
	if i == 0 {
		return x
	}
	return m.output(i-1, n)
}

// forward runs the layers; it returns the output, or the index of the
// layer at which obs stopped it.
//
// Without an observer, a convolution followed by its activation runs as one
// layer (see Model.fuse), with the same results bit for bit; an observer
// sees every layer's own output, so it gets them apart.
func (m *Model) forward(c *Context, n int, x []float32, obs observer) ([]float32, int) {
	in := x
	for i := 0; i < len(m.layers); i++ {
		l := m.layers[i]
		y := m.output(i, n)
		if obs == nil && m.fuse[i] != conv.Identity {
			// Layer i+1 works in place: its output is y too.
			l.(*Conv2D).forwardAct(n, in, y, m.fuse[i])
			in = y
			i++
			continue
		}
		l.Forward(c, n, in, y)
		if obs != nil && !obs.observe(i, y) {
			return nil, i
		}
		in = y
	}
	return in, -1
}

// Backward back-propagates dOut, the gradient of the loss with respect to
// the output of the last Forward (same c, n and x), through every layer:
// it overwrites the gradient of every parameter and, if dx is not nil,
// writes the gradient with respect to x into dx. dOut may be overwritten.
func (m *Model) Backward(c *Context, n int, x, dOut, dx []float32) {
	m.use.enter("Model")
	defer m.use.leave()
	m.backward(c, n, x, dOut, dx)
}

// backward is Backward with the caller already holding m.
func (m *Model) backward(c *Context, n int, x, dOut, dx []float32) {
	samples("Backward", "x", n, x, m.in.Size())
	if n > m.cap {
		panic(fmt.Sprintf("nn: Backward: n = %d, but Forward has not run on a batch that large", n))
	}
	samples("Backward", "dOut", n, dOut, m.OutputShape().Size())
	if dx != nil && len(dx) != len(x) {
		panic(fmt.Sprintf("nn: Backward: len(dx) = %d, want len(x) = %d", len(dx), len(x)))
	}
	dy, cur := dOut, -1 // cur: the gradient buffer holding dy, -1 for dOut
	for i := len(m.layers) - 1; i >= 0; i-- {
		var d []float32
		switch {
		case i == 0:
			d = dx
		case m.inPlace[i]:
			d = dy
		default:
			cur = (cur + 1) & 1
			d = m.grads[cur][:n*m.shapes[i-1].Size()]
		}
		if i < len(m.centre) && m.centre[i] {
			m.centrer.centre(m.threads, kernelOf(m.layers[i]).Units(), n, dy)
		}
		if a := m.bfuse[i]; a != conv.Identity {
			// Layer i-1, in place, would have turned d into its own
			// input's gradient in d: layer i does it as it goes.
			m.layers[i].(actBackward).backwardAct(n, m.input(i, n, x), dy, d, a)
			dy = d
			i--
			continue
		}
		m.layers[i].Backward(c, n, m.input(i, n, x), m.output(i, n), dy, d)
		dy = d
	}
}

// firstNonFinite is the observer that stops at the first layer whose
// output holds a NaN or an infinity.
type firstNonFinite struct{}

func (firstNonFinite) observe(_ int, y []float32) bool { return finite(y) }

// finite reports whether every element of x is finite. A float64 sum of
// float32 values cannot overflow, so it is finite exactly when they all
// are.
func finite(x []float32) bool {
	if len(x) == 0 {
		return true
	}
	s := float64(act.Mean(x))
	return !math.IsNaN(s) && !math.IsInf(s, 0)
}
