package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/par"
)

// BatchConstraint is a constraint that depends on the data: a Trainer
// (Trainer.BatchConstraint) applies it after the optimizer's update and
// the kernel constraints, with the step's batch.
type BatchConstraint interface {
	// ApplyBatch constrains m after update number step (1, 2, ...),
	// whose batch was x, n samples of m's input shape. It may use m's
	// buffers: the step's own outputs are no longer needed.
	ApplyBatch(m *Model, n int, x []float32, step int64)
	// String names the constraint in logs.
	String() string
}

// DataNorm is the data-dependent self-normalizing constraint: after every
// Every-th update it rescales each unit of every Conv2D and Dense layer so
// that the unit's pre-activation on the step's batch has mean 0 and
// variance 1:
//
//	w <- w / sigma_z,  b <- (b - mu_z) / sigma_z
//
// where mu_z and sigma_z are the mean and standard deviation of the unit's
// pre-activation z over the batch (over every sample and position for a
// convolution). The statistics are those of the current weights, taken
// layer by layer: layer l is measured on the output of layers < l after
// they were rescaled (statistics of the step's own forward pass are
// stale by then, and rescaling with them diverges). This is
// LSUV's and weight normalization's data-dependent initialization, done
// again during training; it costs one forward pass in evaluation mode
// (dropout off) per application, and the rescaled layer's output is
// transformed with its unit rather than recomputed. A convolution's
// statistics are summed inside its forward pass's tiles, while they are
// in cache (conv.Conv2D.ForwardMoments); a dense layer's are computed
// from its output by kernels.Act.Moments; both are float64 sums of
// blocked, shifted float32 partials in an order that does not depend on
// the thread count. Nothing is added to the model: it stays a plain
// network, and inference costs what it did.
//
// The optimizer's state is not touched: Adam's moments m and v keep the
// gradients of the weights before the rescale, so the next update moves
// each weight by about the learning rate whatever its new scale, and a
// unit shrunk by 1/sigma_z takes relatively larger steps (Adam's step is
// invariant to rescaling the loss, not the weights). Rescaling m by
// sigma_z and v by sigma_z^2, as the gradient of the rescaled weights
// would scale, would not change that: Adam's step m/sqrt(v) is the same.
// What sets a rescaled unit's relative step is its learning rate.
//
// ScaleLR sets it. In a network without DataNorm the weights grow during
// training, so that Adam's steps of about the learning rate become
// relatively smaller: an implicit decay of the learning rate, which the
// rescale removes. With ScaleLR each rescale by a = 1/sigma_z also
// multiplies the unit's factor c_u (its kernel's Param.LRScale, 1 at
// first) by a, so that c_u is the product of the unit's rescales, and the
// optimizer's step on the unit's weights is c_u times the learning rate:
// the step Adam would make on the unrescaled weights v of w = c_u*v, as
// its step does not depend on the gradient's scale. That holds for such
// scale-invariant steps (Adam, Adadelta); SGD's step scales with the
// gradient, and its equivalent factor, c_u^2, is not what ScaleLR sets.
// The biases keep their learning rate.
//
// CentreGrad makes the gradient follow the mean condition. Under it a
// unit's bias is not free: every rescale sets it to minus the unit's mean
// (b = beta - w.mean(x) for a mean input patch mean(x)), so the loss
// depends on the weights through the bias too, and the plain gradient
// leaves that path out. With CentreGrad the backward pass subtracts from
// each rescaled unit's gradient with respect to its pre-activation its
// mean over the batch (samples and positions) before the layer's weight
// and input gradients are formed from it: the gradient of the network
// with mean-only batch normalization after each rescaled unit (Salimans
// and Kingma), exact at weights just rescaled, where that network and
// this one compute the same thing. The rescaled units' bias gradients are
// then zero up to rounding, and so are Adam's moments of them: those
// biases are set by the rescale, not by the optimizer. Without it each
// update also moves a unit's weights along the mean of its inputs; where
// the inputs share a large common component (a mostly blank canvas,
// where every patch is the background or not), that direction dominates
// the unit's variance after a few updates, and the rescale that brings
// the variance back to 1 shrinks the rest of the weights with it. Only
// the Trainer's steps are centred: Model.Backward called directly is
// the plain gradient.
//
// With VarianceOnly the bias is left to the optimizer: w <- w/sigma_z
// alone, which makes the variance 1 and leaves the mean where the bias
// puts it. A unit without a bias is always rescaled that way. A unit whose
// pre-activation is constant or not finite on the batch is left as it is.
// The last layer with a kernel (the logits) is left alone unless Logits is
// set: fixing the logits' variance at 1 caps the confidence the loss can
// reach.
//
// A DataNorm keeps scratch state; use one per Trainer.
type DataNorm struct {
	// Every is the interval in updates: the constraint runs after update
	// t when t is a multiple of Every (<= 1: after every update).
	Every        int64
	VarianceOnly bool
	Logits       bool
	// ScaleLR multiplies each rescaled unit's learning-rate factor
	// (Param.LRScale of its kernel) by the rescale factor.
	ScaleLR bool
	// Warmup: the constraint also runs after every update t <= Warmup.
	// Early in training two or three updates can move a unit's variance
	// far from 1 (a wide dense layer's, by 10-20x on the 64 x 64 canvas),
	// which a rescale every Every-th update leaves in place meanwhile.
	Warmup int64
	// CentreGrad makes the backward pass subtract from each rescaled
	// unit's gradient with respect to its pre-activation its mean over
	// the batch (samples and positions), before that layer's weight and
	// input gradients are formed from it.
	CentreGrad bool

	ctx   Context
	marks []bool // centreLayers
	// mean and variance take a convolution's channel statistics from
	// its forward pass.
	mean, variance []float64
}

func (d *DataNorm) String() string {
	s := "datanorm"
	if d.VarianceOnly {
		s += "-variance"
	}
	if d.Logits {
		s += "-logits"
	}
	if d.ScaleLR {
		s += "-lr"
	}
	if d.CentreGrad {
		s += "-centre"
	}
	if d.Warmup > 0 {
		return fmt.Sprintf("%s(%d, every step to %d)", s, max(d.Every, 1), d.Warmup)
	}
	return fmt.Sprintf("%s(%d)", s, max(d.Every, 1))
}

// ApplyBatch implements BatchConstraint.
func (d *DataNorm) ApplyBatch(m *Model, n int, x []float32, step int64) {
	if d.Every > 1 && step%d.Every != 0 && step > d.Warmup {
		return
	}
	d.Normalize(m, n, x)
}

// Normalize rescales m's units on the batch x of n samples, whatever the
// step.
func (d *DataNorm) Normalize(m *Model, n int, x []float32) {
	samples("DataNorm", "x", n, x, m.in.Size())
	if n == 0 {
		return
	}
	stop := d.stop(m)
	if stop < 0 {
		return
	}
	m.reserve("DataNorm", n)
	if d.ScaleLR {
		for _, l := range m.layers[:stop+1] {
			if w := kernelOf(l); w != nil {
				lrScale(w)
			}
		}
	}
	d.ctx = Context{}
	in := x
	for i := 0; i <= stop; i++ {
		y := m.output(i, n)
		l := m.layers[i]
		if c, ok := l.(*Conv2D); ok {
			d.convNorm(c, n, in, y)
		} else {
			l.Forward(&d.ctx, n, in, y)
			if kernelOf(l) != nil {
				d.unitNorm(l, n, y, nil, nil)
			}
		}
		in = y
	}
}

// stop is the index of the last layer d rescales, -1 if none: the last
// layer with a kernel, or the one before it unless Logits is set.
func (d *DataNorm) stop(m *Model) int {
	last := -1
	for i, l := range m.layers {
		if kernelOf(l) != nil {
			last = i
		}
	}
	if d.Logits || last < 0 {
		return last
	}
	for i := last - 1; i >= 0; i-- {
		if kernelOf(m.layers[i]) != nil {
			return i
		}
	}
	return -1 // one layer with a kernel, and it is the logits
}

// centreLayers marks the layers whose gradient the backward pass centres
// (CentreGrad), nil if none. The marks are d's, reused step after step.
func (d *DataNorm) centreLayers(m *Model) []bool {
	if !d.CentreGrad {
		return nil
	}
	stop := d.stop(m)
	if stop < 0 {
		return nil
	}
	if len(d.marks) != len(m.layers) {
		d.marks = make([]bool, len(m.layers))
	}
	for i := range m.layers {
		d.marks[i] = i <= stop && kernelOf(m.layers[i]) != nil
	}
	return d.marks
}

// centrer subtracts from dy, the gradient of n samples of a layer with
// the given number of units (NCHW, or n x units), each unit's mean over
// the samples and positions, the units split between lanes (each unit's
// result does not depend on the split). The sums are float64 over
// float32 blocks, in an order fixed by the shape. A Model keeps one.
type centrer struct {
	team            par.Team
	units, n, parts int
	dy              []float32
}

func (c *centrer) centre(threads, units, n int, dy []float32) {
	c.units, c.n, c.dy = units, n, dy
	c.parts = min(threadsOr(threads), len(dy)/minRange, units)
	if c.parts <= 1 {
		c.run(0, units)
	} else {
		c.team.Run(c, c.parts)
	}
	c.dy = nil
}

// RunLane centres lane i's units.
func (c *centrer) RunLane(i int) {
	c.run(i*c.units/c.parts, (i+1)*c.units/c.parts)
}

// run centres units [lo, hi).
func (c *centrer) run(lo, hi int) {
	units, n, dy := c.units, c.n, c.dy
	plane := len(dy) / (n * units)
	k := kernels.Active()
	count := float64(n) * float64(plane)
	if plane == 1 {
		for u := lo; u < hi; u++ {
			var s float64
			for i := range n {
				s += float64(dy[i*units+u])
			}
			mean := float32(s / count)
			for i := range n {
				dy[i*units+u] -= mean
			}
		}
		return
	}
	for u := lo; u < hi; u++ {
		var s float64
		for i := range n {
			o := (i*units + u) * plane
			s += k.Act.Sum(dy[o : o+plane])
		}
		mean := float32(s / count)
		for i := range n {
			o := (i*units + u) * plane
			k.Act.Affine(dy[o:o+plane], 1, -mean)
		}
	}
}

// kernelOf returns the kernel of a Conv2D or Dense layer, nil for others.
func kernelOf(l Layer) *Param {
	switch l := l.(type) {
	case *Conv2D:
		return l.w
	case *Dense:
		return l.w
	}
	return nil
}

// biasOf returns the bias of a Conv2D or Dense layer (nil if it has none).
// Params would allocate.
func biasOf(l Layer) *Param {
	switch l := l.(type) {
	case *Conv2D:
		return l.b
	case *Dense:
		return l.b
	}
	return nil
}

// lrScale gives w an LRScale of ones if it has none.
func lrScale(w *Param) {
	switch len(w.LRScale) {
	case w.Units():
	case 0:
		w.LRScale = make([]float32, w.Units())
		for u := range w.LRScale {
			w.LRScale[u] = 1
		}
	default:
		panic(fmt.Sprintf("nn: DataNorm: parameter %s: LRScale has %d values for %d units", w.Name, len(w.LRScale), w.Units()))
	}
}

// convNorm computes the output y of the convolution l on the input x of
// n samples, with each channel's statistics summed inside the forward
// pass's tiles, then rescales l's units from them (unitNorm).
func (d *DataNorm) convNorm(l *Conv2D, n int, x, y []float32) {
	samples("DataNorm", "x", n, x, l.inSz)
	samples("DataNorm", "y", n, y, l.outSize)
	units := l.w.Units()
	if len(d.mean) < units {
		d.mean, d.variance = make([]float64, units), make([]float64, units)
	}
	mean, variance := d.mean[:units], d.variance[:units]
	b, _ := l.bias()
	l.c.ForwardMoments(n, x, l.w.Value, b, y, mean, variance)
	d.unitNorm(l, n, y, mean, variance)
}

// unitNorm rescales the units of l (a Conv2D or Dense) from its output y
// on n samples, and transforms y as the rescale does. The units' means and
// variances over the batch are means and variances, or, when those are
// nil, computed here from y.
func (d *DataNorm) unitNorm(l Layer, n int, y []float32, means, variances []float64) {
	w, b := kernelOf(l), biasOf(l)
	units := w.Units()
	plane := len(y) / (n * units)
	count := float64(n) * float64(plane)
	k := kernels.Active()
	at := func(i, u int) []float32 {
		o := (i*units + u) * plane
		return y[o : o+plane : o+plane]
	}
	for u := range units {
		var mean, v float64
		if means != nil {
			mean, v = means[u], variances[u]
		} else {
			shift := act.Shift(at(0, u))
			var s1, s2 float64
			for i := range n {
				a, b := k.Act.Moments(at(i, u), shift)
				s1 += a
				s2 += b
			}
			mm := s1 / count
			mean, v = float64(shift)+mm, s2/count-mm*mm
		}
		if !(v > 0) || math.IsInf(v, 0) || math.IsNaN(mean) {
			continue
		}
		a := 1 / math.Sqrt(v)
		k.Act.Affine(w.Unit(u), float32(a), 0)
		if d.ScaleLR {
			w.LRScale[u] = float32(float64(w.LRScale[u]) * a)
		}
		var off float64 // z <- a*z + off
		switch {
		case b == nil:
		case d.VarianceOnly:
			bias := float64(b.Value[u])
			off = bias * (1 - a)
		default:
			bias := float64(b.Value[u])
			b.Value[u] = float32((bias - mean) * a)
			off = -mean * a
		}
		for i := range n {
			k.Act.Affine(at(i, u), float32(a), float32(off))
		}
	}
}
