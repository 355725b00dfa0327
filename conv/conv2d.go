package conv

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/par"
)

// Conv2D computes one convolution layer's forward and backward passes for
// batches of NCHW float32 images. It holds no weights: every call is given
// them, so one Conv2D serves any number of weight sets of its geometry.
//
// A Conv2D owns its workspace: the first call for a batch size (or thread
// count) larger than any before sizes it; later calls allocate nothing. A
// Conv2D is not safe for concurrent use; give each goroutine its own.
type Conv2D struct {
	g       Geometry
	threads int
	layer

	// The strategies, one per way of computing a call (see run); each
	// keeps its own workspace from call to call.
	im2col    im2colForward
	implicit  implicitForward
	batched   batchedForward
	blocks    backwardBlocks
	chunked   chunkedWeights
	winograd  winogradForward
	winogradW winogradWeights
	whole     wholeForward

	// wext holds the weights with the bias as an extra column (see
	// forward).
	wext []float32

	// mom is ForwardMoments' partial statistics.
	mom moments

	// tr, when transposable, is the convolution whose forward pass is
	// this one's backward data pass (see backwardData); wt holds its
	// weights, which flip writes.
	transposable bool
	tr           *Conv2D
	wt           []float32
	flip         flipper
}

// Activation is an element-wise function ForwardAct applies to a layer's
// outputs as soon as a tile of them is complete, while it is still in cache,
// instead of a separate pass over the whole output afterwards.
type Activation int

const (
	Identity Activation = iota
	SELU                // act.SELU
	ReLU                // act.ReLU
)

// New returns a Conv2D for g, or the error Geometry.Check reports.
func New(g Geometry) (*Conv2D, error) {
	if err := g.Check(); err != nil {
		return nil, err
	}
	c := &Conv2D{g: g, layer: layer{d: newDims(g), lim: defaultLimits}}
	_, c.transposable = g.transposed()
	c.im2col.l = &c.layer
	c.implicit.l = &c.layer
	c.batched.l = &c.layer
	c.blocks.l = &c.layer
	c.blocks.cond.L = &c.blocks.mu
	c.chunked.l = &c.layer
	c.winograd.l = &c.layer
	c.winogradW.l = &c.layer
	c.winogradW.finish.s = &c.winogradW
	c.whole.l = &c.layer
	return c, nil
}

// Geometry returns the layer's geometry.
func (c *Conv2D) Geometry() Geometry { return c.g }

// SetThreads sets how many goroutines a call may use; n <= 0 (the default)
// means par.Threads() at the time of the call, which is GOMAXPROCS unless
// par.SetThreads says otherwise. Results do not depend on it.
func (c *Conv2D) SetThreads(n int) { c.threads = max(n, 0) }

// Threads returns the number of goroutines a call may use now.
func (c *Conv2D) Threads() int {
	if c.threads > 0 {
		return c.threads
	}
	return par.Threads()
}

// Forward computes y = conv(x, w) + bias for a batch of n images.
//
//	x    [n][InC][InH][InW]        input images
//	w    [OutC][InC][KH][KW]       filters
//	bias [OutC], or nil for none
//	y    [n][OutC][OutH][OutW]     overwritten
//
// Each output is sum over c, i, j of w[o][c][i][j] * x[c][oh*StrideH-PadTop+i][ow*StrideW-PadLeft+j]
// (zero outside the input) plus bias[o]: a cross-correlation, as in every
// deep-learning framework. Slices must have exactly these lengths; y must
// not overlap the others.
func (c *Conv2D) Forward(n int, x, w, bias, y []float32) {
	c.ForwardAct(n, x, w, bias, y, Identity)
}

// ForwardAct is Forward followed by the activation a on every output:
// y = a(conv(x, w) + bias), bit for bit what act.SELU (or act.ReLU) would
// make of Forward's y, in one pass over the output instead of two.
func (c *Conv2D) ForwardAct(n int, x, w, bias, y []float32, a Activation) {
	checkActivation(a)
	c.checkForward(n, x, w, bias, y)
	if n == 0 {
		return
	}
	c.forward(n, x, w, bias, y, a, Identity, nil, nil)
}

// checkForward panics unless a forward call's arguments have the lengths
// the layer needs.
func (c *Conv2D) checkForward(n int, x, w, bias, y []float32) {
	c.checkN(n)
	c.checkLen("x", x, n, c.d.in, "InC*InH*InW")
	c.checkLen("w", w, 1, c.d.oc*c.d.k, "OutC*InC*KH*KW")
	if bias != nil {
		c.checkLen("bias", bias, 1, c.d.oc, "OutC")
	}
	c.checkLen("y", y, n, c.d.out, "OutC*OutH*OutW")
}

// BackwardData computes the input gradient dx from the output gradient dy:
//
//	dy [n][OutC][OutH][OutW]   gradient of the loss with respect to y
//	w  [OutC][InC][KH][KW]     the weights Forward used
//	dx [n][InC][InH][InW]      overwritten
func (c *Conv2D) BackwardData(n int, dy, w, dx []float32) {
	c.Backward(n, nil, w, dy, dx, nil, nil)
}

// BackwardWeights computes the weight and bias gradients, summed over the
// batch, from the input x that Forward saw and the output gradient dy:
//
//	x     [n][InC][InH][InW]
//	dy    [n][OutC][OutH][OutW]
//	dw    [OutC][InC][KH][KW]   overwritten
//	dbias [OutC], overwritten, or nil when there is no bias
//
// The sum over the batch is done in an order fixed by the geometry and n
// alone, so dw and dbias are the same bit for bit whatever the thread
// count. With n == 0 both are zeroed.
func (c *Conv2D) BackwardWeights(n int, x, dy, dw, dbias []float32) {
	c.Backward(n, x, nil, dy, nil, dw, dbias)
}

// Backward computes both gradients in one pass over the batch, which
// costs less than BackwardData and BackwardWeights apart (dy is read once).
// Pass nil for what is not wanted: dx (with w) for a first layer whose
// input needs no gradient, dw (with x and dbias) for frozen weights, dbias
// for a layer without bias. The slices are as in BackwardData and
// BackwardWeights.
func (c *Conv2D) Backward(n int, x, w, dy, dx, dw, dbias []float32) {
	c.BackwardAct(n, x, w, dy, dx, dw, dbias, Identity)
}

// BackwardAct is Backward for a layer whose input x is the output of the
// activation a: dx is then the gradient with respect to the activation's
// input, bit for bit what act.SELUGrad(dx, dx, x) (or act.ReLUGrad) would
// make of Backward's dx, computed as each part of dx is finished instead
// of in a second pass. With a != Identity and dx != nil, x is required.
func (c *Conv2D) BackwardAct(n int, x, w, dy, dx, dw, dbias []float32, a Activation) {
	checkActivation(a)
	c.checkN(n)
	c.checkLen("dy", dy, n, c.d.out, "OutC*OutH*OutW")
	if dx != nil {
		c.checkLen("w", w, 1, c.d.oc*c.d.k, "OutC*InC*KH*KW")
		c.checkLen("dx", dx, n, c.d.in, "InC*InH*InW")
	}
	if dbias != nil && dw == nil {
		panic("conv: dbias without dw: the bias gradient is computed with the weight gradient")
	}
	if dx != nil && a != Identity {
		c.checkLen("x", x, n, c.d.in, "InC*InH*InW")
	}
	if dw != nil {
		c.checkLen("x", x, n, c.d.in, "InC*InH*InW")
		c.checkLen("dw", dw, 1, c.d.oc*c.d.k, "OutC*InC*KH*KW")
		if dbias != nil {
			c.checkLen("dbias", dbias, 1, c.d.oc, "OutC")
		}
	}
	if n == 0 {
		clear(dw)
		clear(dbias)
		return
	}
	if dx != nil && c.transposable {
		c.backwardData(n, dy, w, dx, a, x)
		dx = nil
		if dw == nil {
			return
		}
	}
	c.backward(n, x, w, dy, dx, dw, dbias, a)
}

// A strategy is one way of computing a call. It holds the call's operands
// and its own workspace, and runs as lanes (see laneRunner).
type strategy interface {
	// grow makes the workspace large enough for a call on threads
	// goroutines and returns how many lanes the call runs on.
	grow(threads int) (lanes int)
	// start runs the call's lanes, in one phase or several.
	start(threads, lanes int)
	// end forgets the call's operands.
	end()
}

// run computes a call with s: it sizes the workspace, then runs the lanes.
func (c *Conv2D) run(s strategy) {
	threads := c.Threads()
	s.start(threads, s.grow(threads))
	s.end()
}

// forward computes y = act(conv(x, w) + bias), then multiplies y by the
// derivative of dact where that activation's output is dactY (laid out
// like y), unless dact is Identity. With mom, the tiles add their outputs'
// statistics to its slots (see ForwardMoments).
func (c *Conv2D) forward(n int, x, w, bias, y []float32, act, dact Activation, dactY []float32, mom *moments) {
	c.replan(n)
	k := c.d.k
	f := forwardCall{d: &c.d, x: x, y: y, bias: bias, a: w, lda: k, kx: k, act: act, dact: dact, dactY: dactY, mom: mom}
	// The bias enters as a row of ones in the column matrix times an
	// extra weight column, which costs a copy of the weights per call;
	// when the weights outweigh half the batch's columns, each tile's
	// outputs start from the bias instead and the GEMMs add to them.
	// Which way depends on the geometry and n only, like every cut. The
	// Winograd passes add the bias in their output transforms.
	s := c.chooseForward()
	ownBias := s == forwardStrategy(&c.winograd) || s == forwardStrategy(&c.whole)
	if !ownBias && bias != nil && 2*(k+1) <= n*c.d.p {
		if len(c.wext) < c.d.oc*(k+1) {
			c.wext = make([]float32, c.d.oc*(k+1))
		}
		for r := 0; r < c.d.oc; r++ {
			copy(c.wext[r*(k+1):r*(k+1)+k], w[r*k:(r+1)*k])
			c.wext[r*(k+1)+k] = bias[r]
		}
		f.a, f.lda, f.kx = c.wext, k+1, k+1
	}
	*s.call() = f
	c.run(s)
}

// A forwardStrategy is a strategy for forward calls.
type forwardStrategy interface {
	strategy
	// call returns the strategy's operands, set before it runs.
	call() *forwardCall
}

// chooseForward returns the strategy of a forward call on the current
// plan: a Winograd pass where one applies (see useWhole and useWinograd), the
// implicit passes where they apply (see useImplicit and useBatched), else
// im2col.
func (c *Conv2D) chooseForward() forwardStrategy {
	switch {
	case c.useWhole():
		return &c.whole
	case c.useWinograd():
		return &c.winograd
	case c.useBatched():
		return &c.batched
	case c.useImplicit():
		return &c.implicit
	}
	return &c.im2col
}

// backward computes the weight gradient (with dw) and, with dx, the input
// gradient by col2im, times the derivative of a at x.
func (c *Conv2D) backward(n int, x, w, dy, dx, dw, db []float32, a Activation) {
	c.replan(n)
	b := backwardCall{x: x, w: w, dy: dy, dx: dx, dw: dw, db: db, kx: c.d.k}
	if db != nil {
		b.kx++
	}
	if dx != nil {
		b.dact, b.dactY = a, x
	}
	s := c.chooseBackward(dx != nil, dw != nil)
	*s.call() = b
	c.run(s)
}

// A backwardStrategy is a strategy for backward calls.
type backwardStrategy interface {
	strategy
	// call returns the strategy's operands, set before it runs.
	call() *backwardCall
}

// chooseBackward returns the strategy of a backward call on the current
// plan with an input gradient (dx) and a weight gradient (dw) or not: the
// Winograd pass's layers compute dw by it (their dx comes from the
// transposed layer's forward pass); a batch of one block shares its
// weight gradient between lanes by chunks of rows when no input gradient
// is wanted along with it; every other call goes by blocks.
func (c *Conv2D) chooseBackward(dx, dw bool) backwardStrategy {
	if dw && !dx && c.useWinograd() {
		return &c.winogradW
	}
	if dw && !dx && c.pl.blocks == 1 {
		return &c.chunked
	}
	return &c.blocks
}

func (c *Conv2D) checkN(n int) {
	if n < 0 {
		panic(fmt.Sprintf("conv: batch size n = %d < 0", n))
	}
}

// checkLen panics unless len(s) == n*per; what spells per.
func (c *Conv2D) checkLen(name string, s []float32, n, per int, what string) {
	if lenIs(len(s), n, per) {
		return
	}
	if n == 1 {
		panic(fmt.Sprintf("conv: len(%s) = %d, want %s = %d (layer %v)", name, len(s), what, per, c.g))
	}
	panic(fmt.Sprintf("conv: len(%s) = %d, want n*%s = %s (layer %v)", name, len(s), what, product(n, per), c.g))
}

// lenIs reports whether got == n*per for n >= 0 and per >= 1, without
// computing n*per, which a huge n would overflow (and could wrap to got).
func lenIs(got, n, per int) bool {
	return got%per == 0 && got/per == n
}

// product spells n*per and its value, or that it exceeds every int.
func product(n, per int) string {
	if hi, lo := bits.Mul64(uint64(n), uint64(per)); hi != 0 || lo > math.MaxInt {
		return fmt.Sprintf("%d*%d, more than the largest int", n, per)
	}
	return fmt.Sprintf("%d*%d = %d", n, per, n*per)
}

func checkActivation(a Activation) {
	if a < Identity || a > ReLU {
		panic(fmt.Sprintf("conv: unknown activation %d", a))
	}
}

// applyGrad multiplies the gradient g in place by the derivative of a
// where a's output is y.
func applyGrad(ks *kernels.Set, a Activation, g, y []float32) {
	switch a {
	case SELU:
		ks.Act.SELUGrad(g, g, y)
	case ReLU:
		ks.Act.ReLUGrad(g, g, y)
	}
}
