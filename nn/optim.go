package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snn/kernels"
)

// Optimizer updates parameters from their gradients, one fused pass over
// each parameter (kernels.Optim: assembly where the CPU has it).
//
// A Trainer calls Bind once with the model's parameters, then Update after
// every backward pass with t, the 1-based count of updates. L2 weight decay
// applies to kernels only. A parameter's LRScale multiplies the learning
// rate unit by unit (for Adam, the bias-corrected one).
type Optimizer interface {
	String() string
	// Bind allocates the state for params (zero).
	Bind(params []*Param)
	// Update applies update number t (1, 2, ...) to the parameters Bind
	// was given.
	Update(t int64)
	LearningRate() float64
	SetLearningRate(lr float64)
	// Hyper lists the hyper-parameters by name, for logs and checkpoints.
	Hyper() []Hyper
	// Slots returns the state, named "<param>/<slot>", in a fixed order:
	// checkpoints save and restore it in place.
	Slots() []Tensor
}

// Hyper is one named hyper-parameter.
type Hyper struct {
	Name  string
	Value float64
}

// Tensor is a named float32 array with its shape.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// slots allocates named state arrays per parameter, and runs an update
// over each parameter in ranges on several goroutines.
type slots struct {
	params  []*Param
	state   [][][]float32 // [param][slot]
	names   []string
	threads int
	g       group
	cur     int // the parameter being updated
}

// SetThreads sets the goroutines one update may use (0: par.Threads()).
func (s *slots) SetThreads(n int) { s.threads = max(n, 0) }

// each runs r over every parameter in turn, s.cur naming it.
func (s *slots) each(r ranger) {
	for i, p := range s.params {
		if n := len(p.LRScale); n != 0 && n != p.Units() {
			panic(fmt.Sprintf("nn: parameter %s: LRScale has %d values for %d units", p.Name, n, p.Units()))
		}
		s.cur = i
		s.g.parallel(s.threads, len(p.Value), r)
	}
}

// spanner runs an optimizer's kernel over [lo, hi) of the current
// parameter with its learning rate multiplied by scale.
type spanner interface {
	span(lo, hi int, scale float32)
}

// split runs r over [lo, hi) of the current parameter: in one piece with
// scale 1 if it has no LRScale, else piece by piece at unit boundaries,
// each with its unit's factor. Where [lo, hi) starts and ends depends on
// the thread count; the factor each value gets does not.
func (s *slots) split(lo, hi int, r spanner) {
	p := s.params[s.cur]
	if len(p.LRScale) == 0 {
		r.span(lo, hi, 1)
		return
	}
	f := p.FanIn()
	for lo < hi {
		u := lo / f
		end := min(hi, (u+1)*f)
		r.span(lo, end, p.LRScale[u])
		lo = end
	}
}

func (s *slots) bind(params []*Param, names ...string) {
	s.params, s.names = params, names
	s.state = make([][][]float32, len(params))
	for i, p := range params {
		s.state[i] = make([][]float32, len(names))
		for j := range names {
			s.state[i][j] = make([]float32, len(p.Value))
		}
	}
}

func (s *slots) tensors() []Tensor {
	var t []Tensor
	for i, p := range s.params {
		for j, name := range s.names {
			t = append(t, Tensor{Name: p.Name + "/" + name, Shape: p.Shape, Data: s.state[i][j]})
		}
	}
	return t
}

func (s *slots) bound(who string) {
	if s.state == nil {
		panic("nn: " + who + ".Update before Bind")
	}
}

func decay(p *Param, wd float32) float32 {
	if p.Kernel {
		return wd
	}
	return 0
}

// Adam is Keras' Adam: moments m and v with decay rates Beta1 and Beta2,
// the bias-corrected step lr*sqrt(1-Beta2^t)/(1-Beta1^t), and Epsilon added
// outside the square root:
//
//	m = Beta1*m + (1-Beta1)*g
//	v = Beta2*v + (1-Beta2)*g^2
//	w = w - lr_t * m/(sqrt(v) + Epsilon)
//
// with g the gradient plus WeightDecay*w for kernels (L2 weight decay: a
// Keras kernel_regularizer l2(l) is WeightDecay = 2*l). Use NewAdam for
// Keras' defaults.
type Adam struct {
	LR, Beta1, Beta2, Epsilon, WeightDecay float64

	s                          slots
	lrT, b1, c1, b2, c2, e, wd float32
}

// NewAdam returns Adam with Keras' defaults: learning rate 1e-3, betas 0.9
// and 0.999, epsilon 1e-7, no weight decay.
func NewAdam() *Adam { return &Adam{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7} }

func (o *Adam) String() string             { return "adam" }
func (o *Adam) Bind(params []*Param)       { o.s.bind(params, "m", "v") }
func (o *Adam) LearningRate() float64      { return o.LR }
func (o *Adam) SetLearningRate(lr float64) { o.LR = lr }
func (o *Adam) Slots() []Tensor            { return o.s.tensors() }
func (o *Adam) Hyper() []Hyper {
	return []Hyper{{"learning_rate", o.LR}, {"beta_1", o.Beta1}, {"beta_2", o.Beta2}, {"epsilon", o.Epsilon}, {"weight_decay", o.WeightDecay}}
}

// Update implements Optimizer.
func (o *Adam) Update(t int64) {
	o.s.bound("Adam")
	// The bias-corrected step in float64, rounded once.
	ft := float64(t)
	o.lrT = float32(o.LR * math.Sqrt(1-math.Pow(o.Beta2, ft)) / (1 - math.Pow(o.Beta1, ft)))
	o.b1, o.b2 = float32(o.Beta1), float32(o.Beta2)
	o.c1, o.c2 = float32(1-o.Beta1), float32(1-o.Beta2)
	o.e, o.wd = float32(o.Epsilon), float32(o.WeightDecay)
	o.s.each(o)
}

// SetThreads sets the goroutines one update may use (0: par.Threads()).
func (o *Adam) SetThreads(n int) { o.s.SetThreads(n) }

func (o *Adam) run(lo, hi int) { o.s.split(lo, hi, o) }

func (o *Adam) span(lo, hi int, scale float32) {
	p, st := o.s.params[o.s.cur], o.s.state[o.s.cur]
	kernels.Active().Optim.Adam(p.Value[lo:hi], p.Grad[lo:hi], st[0][lo:hi], st[1][lo:hi],
		o.lrT*scale, o.b1, o.c1, o.b2, o.c2, o.e, decay(p, o.wd))
}

// Adadelta is Keras' Adadelta:
//
//	acc  = Rho*acc + (1-Rho)*g^2
//	u    = g * sqrt(dacc + Epsilon) / sqrt(acc + Epsilon)
//	dacc = Rho*dacc + (1-Rho)*u^2
//	w    = w - lr*u
//
// NewAdadelta gives Keras' current defaults (lr 1e-3); the original Keras
// and the paper used lr 1.0.
type Adadelta struct {
	LR, Rho, Epsilon, WeightDecay float64

	s                 slots
	lr, rho, c, e, wd float32
}

// NewAdadelta returns Adadelta with Keras' defaults: learning rate 1e-3,
// rho 0.95, epsilon 1e-7.
func NewAdadelta() *Adadelta { return &Adadelta{LR: 1e-3, Rho: 0.95, Epsilon: 1e-7} }

func (o *Adadelta) String() string             { return "adadelta" }
func (o *Adadelta) Bind(params []*Param)       { o.s.bind(params, "accum_grad", "accum_var") }
func (o *Adadelta) LearningRate() float64      { return o.LR }
func (o *Adadelta) SetLearningRate(lr float64) { o.LR = lr }
func (o *Adadelta) Slots() []Tensor            { return o.s.tensors() }
func (o *Adadelta) Hyper() []Hyper {
	return []Hyper{{"learning_rate", o.LR}, {"rho", o.Rho}, {"epsilon", o.Epsilon}, {"weight_decay", o.WeightDecay}}
}

// Update implements Optimizer.
func (o *Adadelta) Update(int64) {
	o.s.bound("Adadelta")
	o.lr, o.rho, o.c = float32(o.LR), float32(o.Rho), float32(1-o.Rho)
	o.e, o.wd = float32(o.Epsilon), float32(o.WeightDecay)
	o.s.each(o)
}

// SetThreads sets the goroutines one update may use (0: par.Threads()).
func (o *Adadelta) SetThreads(n int) { o.s.SetThreads(n) }

func (o *Adadelta) run(lo, hi int) { o.s.split(lo, hi, o) }

func (o *Adadelta) span(lo, hi int, scale float32) {
	p, st := o.s.params[o.s.cur], o.s.state[o.s.cur]
	kernels.Active().Optim.Adadelta(p.Value[lo:hi], p.Grad[lo:hi], st[0][lo:hi], st[1][lo:hi],
		o.lr*scale, o.rho, o.c, o.e, decay(p, o.wd))
}

// SGD is Keras' SGD with momentum and optional Nesterov momentum:
//
//	vel = Momentum*vel - lr*g
//	w   = w + vel                       (classical)
//	w   = w + Momentum*vel - lr*g       (Nesterov)
type SGD struct {
	LR, Momentum, WeightDecay float64
	Nesterov                  bool

	s           slots
	lr, mom, wd float32
}

// NewSGD returns SGD with Keras' defaults: learning rate 0.01, no momentum.
func NewSGD() *SGD { return &SGD{LR: 0.01} }

func (o *SGD) String() string             { return "sgd" }
func (o *SGD) Bind(params []*Param)       { o.s.bind(params, "momentum") }
func (o *SGD) LearningRate() float64      { return o.LR }
func (o *SGD) SetLearningRate(lr float64) { o.LR = lr }
func (o *SGD) Slots() []Tensor            { return o.s.tensors() }
func (o *SGD) Hyper() []Hyper {
	n := 0.0
	if o.Nesterov {
		n = 1
	}
	return []Hyper{{"learning_rate", o.LR}, {"momentum", o.Momentum}, {"nesterov", n}, {"weight_decay", o.WeightDecay}}
}

// Update implements Optimizer.
func (o *SGD) Update(int64) {
	o.s.bound("SGD")
	o.lr, o.mom, o.wd = float32(o.LR), float32(o.Momentum), float32(o.WeightDecay)
	o.s.each(o)
}

// SetThreads sets the goroutines one update may use (0: par.Threads()).
func (o *SGD) SetThreads(n int) { o.s.SetThreads(n) }

func (o *SGD) run(lo, hi int) { o.s.split(lo, hi, o) }

func (o *SGD) span(lo, hi int, scale float32) {
	p, st := o.s.params[o.s.cur], o.s.state[o.s.cur]
	kernels.Active().Optim.SGD(p.Value[lo:hi], p.Grad[lo:hi], st[0][lo:hi], o.lr*scale, o.mom, decay(p, o.wd), o.Nesterov)
}

// NewOptimizer returns the optimizer of the given name ("adam",
// "adadelta", "sgd") with Keras' defaults, the learning rate set to lr if
// lr > 0.
func NewOptimizer(name string, lr float64) (Optimizer, error) {
	var o Optimizer
	switch name {
	case "adam":
		o = NewAdam()
	case "adadelta":
		o = NewAdadelta()
	case "sgd":
		o = NewSGD()
	default:
		return nil, fmt.Errorf("nn: unknown optimizer %q (adam, adadelta, sgd)", name)
	}
	if lr > 0 {
		o.SetLearningRate(lr)
	}
	return o, nil
}
