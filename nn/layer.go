package nn

import "unsafe"

// Layer is one stage of a Model: it maps a batch of n samples of its input
// shape to n samples of its output shape, and back-propagates gradients.
//
// A Model calls Build once with the layer's input shape, then Forward and
// Backward for every batch with buffers it owns: x and y hold n samples of
// the input and output shapes, dy and dx their gradients. Layers never keep
// x, y, dy or dx between calls. Backward overwrites the gradients of the
// layer's parameters (the gradient of the batch's mean loss, dy being
// already divided by n) and writes dx, unless dx is nil (the input of the
// first layer needs no gradient).
//
// Layers defined outside this package embed LayerBase, which names them.
type Layer interface {
	// Kind is the layer type in lower case ("conv2d", "selu"); default
	// names are built from it.
	Kind() string
	// Build prepares the layer for samples of shape in and returns the
	// shape of its output. It creates the parameters (uninitialized:
	// Model.Init draws them).
	Build(in Shape) (out Shape, err error)
	// Params returns the trainable parameters, kernel before bias; nil if
	// none.
	Params() []*Param
	// Flags says how the layer uses its buffers.
	Flags() Flags
	// Forward computes y from x for a batch of n samples.
	Forward(c *Context, n int, x, y []float32)
	// Backward computes dx and the parameter gradients from dy.
	Backward(c *Context, n int, x, y, dy, dx []float32)

	base() *LayerBase
}

// Flags describe how a layer uses its buffers, so that a Model can share
// them: an element-wise layer may overwrite its input with its output when
// nothing else needs that input.
type Flags uint

const (
	// InPlace: Forward works with y the same slice as x, and Backward
	// with dx the same slice as dy.
	InPlace Flags = 1 << iota
	// NeedsInput: Backward reads x.
	NeedsInput
	// NeedsOutput: Backward reads y.
	NeedsOutput
)

// LayerBase holds a layer's name and position; every Layer embeds it.
type LayerBase struct {
	name  string
	index int
}

func (b *LayerBase) base() *LayerBase { return b }

// Name is the layer's name, unique in its Model: given with SetName, or
// kind_k for the k-th layer of its kind ("conv2d_3").
func (b *LayerBase) Name() string { return b.name }

// SetName names the layer; call it before the Model is built.
func (b *LayerBase) SetName(name string) { b.name = name }

// Index is the layer's position in its Model, from 0.
func (b *LayerBase) Index() int { return b.index }

// Context is what a forward or backward pass knows besides its buffers.
type Context struct {
	// Training selects training behaviour (dropout on). Evaluation and
	// prediction run with Training false.
	Training bool
	// Seed and Step select the random stream of the pass: dropout masks
	// are a function of (Seed, Step, layer index, element), so a resumed
	// run draws the very masks an uninterrupted one would.
	Seed uint64
	Step int64
}

// Padding selects a convolution's or pooling's border handling.
type Padding int

const (
	// Valid uses no padding: windows lie inside the input (Keras'
	// default, and the zero value).
	Valid Padding = iota
	// Same pads (zeros for convolutions, -Inf for pooling) so that the
	// output is ceil(input/stride), as Keras and TensorFlow define it.
	Same
)

func (p Padding) String() string {
	if p == Same {
		return "same"
	}
	return "valid"
}

// sameSlice reports whether a and b start at the same element (a layer
// running in place).
func sameSlice(a, b []float32) bool {
	return len(a) > 0 && len(b) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}
