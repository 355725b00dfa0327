package nn

// Param is one trainable tensor of a layer and its gradient.
//
// A kernel (the weights of a Conv2D or Dense layer) is stored unit by unit:
// the weights feeding output unit u are the contiguous run Unit(u), FanIn()
// values long. For a Conv2D that is filter u over InC x KH x KW
// ([OutC][InC][KH][KW], PyTorch's layout); for a Dense layer it is row u of
// the [Units][In] matrix (the transpose of Keras' [In][Units] kernel).
// Per-unit constraints (MaxNorm, per-unit centralization, or the omega/tau
// constraint of a self-normalizing network) work on these runs.
type Param struct {
	// Name is "<layer>.kernel" or "<layer>.bias"; checkpoints match
	// parameters by it.
	Name string
	// Shape lists the dimensions, outermost first: [OutC InC KH KW],
	// [Units In] or [Units].
	Shape []int
	// Value holds the parameters, Grad the gradient of the last backward
	// pass (the gradient of the batch's mean loss; overwritten, not
	// accumulated, by every pass).
	Value, Grad []float32
	// Kernel is true for weights, false for biases: weight decay and
	// constraints apply to kernels only, as Keras' kernel_regularizer and
	// kernel_constraint do.
	Kernel bool
	// Constraint, if not nil, is applied after every optimizer step.
	Constraint Constraint
	// LRScale, if not empty, holds one factor per unit (Units() values):
	// the optimizers multiply the learning rate of the values of Unit(u)
	// by LRScale[u]. Empty means 1 for every unit. DataNorm.ScaleLR keeps
	// it for kernels, and checkpoints save and restore it.
	LRScale []float32

	fanIn, fanOut int
	init          Initializer
}

// NewParam returns a parameter of the given shape (zeros) with its gradient;
// init, fanIn and fanOut are what Model.Init draws it with. Layers call it
// in Build.
func NewParam(name string, kernel bool, init Initializer, fanIn, fanOut int, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Param{
		Name: name, Shape: shape, Value: make([]float32, n), Grad: make([]float32, n),
		Kernel: kernel, fanIn: fanIn, fanOut: fanOut, init: init,
	}
}

// Units is the number of output units, Shape[0].
func (p *Param) Units() int { return p.Shape[0] }

// FanIn is the number of inputs of one unit: len(Value)/Units().
func (p *Param) FanIn() int { return len(p.Value) / p.Shape[0] }

// Unit returns the weights feeding unit u (a view into Value).
func (p *Param) Unit(u int) []float32 {
	f := p.FanIn()
	return p.Value[u*f : (u+1)*f : (u+1)*f]
}

// UnitGrad returns the gradient of the weights feeding unit u.
func (p *Param) UnitGrad(u int) []float32 {
	f := p.FanIn()
	return p.Grad[u*f : (u+1)*f : (u+1)*f]
}
