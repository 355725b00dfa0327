package nn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/snnkit/snn/kernels"
)

// Checkpoint sections (Checkpoint.Sections) that make a checkpoint usable
// without the program that trained it.
const (
	// SeedNetSection holds the network's SeedNetConfig as JSON, with
	// Classes set to the number of logits.
	SeedNetSection = "nn/seednet"
	// ClassNamesSection holds the class names as a JSON list of strings,
	// by class index (it may be shorter than the number of logits).
	ClassNamesSection = "nn/classes"
)

// Trained is a network rebuilt from a checkpoint for inference: its
// architecture, its weights, the input standardization of its run and the
// names of its classes.
type Trained struct {
	// Model is the SeedNet with the checkpoint's parameters and state
	// (BatchNorm layers are still there; Fold merges them).
	Model *Model
	Arch  SeedNetConfig
	// Standardization is nil when the run fed its inputs unstandardized.
	Standardization *Standardization
	// ClassNames is nil when the checkpoint names no class.
	ClassNames []string
}

// ReadTrained rebuilds the network a checkpoint holds. arch describes it;
// when nil it is read from the checkpoint's SeedNetSection, whose absence
// is then an error. The number of classes is taken from the output
// layer's weights when arch leaves it 0.
func ReadTrained(c *Checkpoint, arch *SeedNetConfig) (*Trained, error) {
	var a SeedNetConfig
	if arch != nil {
		a = *arch
	} else {
		b, ok := c.Sections[SeedNetSection]
		if !ok {
			return nil, fmt.Errorf("nn: the checkpoint has no %s section describing its network", SeedNetSection)
		}
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("nn: the checkpoint's %s section: %w", SeedNetSection, err)
		}
	}
	if a.Classes == 0 {
		for _, t := range c.Params {
			if t.Name == "output.kernel" && len(t.Shape) == 2 {
				a.Classes = t.Shape[0]
			}
		}
	}
	a.Constraint = nil
	m, err := NewSeedNet(a)
	if err != nil {
		return nil, err
	}
	if err := m.LoadParams(c.Params); err != nil {
		return nil, err
	}
	tr := &Trained{Model: m, Arch: a}
	st, ok, err := StandardizationFrom(c.Extra)
	if err != nil {
		return nil, err
	}
	if ok {
		if len(st.Mean) != m.InputShape().C {
			return nil, fmt.Errorf("nn: the checkpoint standardizes %d channels, the network takes %d", len(st.Mean), m.InputShape().C)
		}
		tr.Standardization = &st
	}
	if b, ok := c.Sections[ClassNamesSection]; ok {
		if err := json.Unmarshal(b, &tr.ClassNames); err != nil {
			return nil, fmt.Errorf("nn: the checkpoint's %s section: %w", ClassNamesSection, err)
		}
		if len(tr.ClassNames) > m.OutputShape().Size() {
			return nil, fmt.Errorf("nn: the checkpoint names %d classes, the network has %d outputs", len(tr.ClassNames), m.OutputShape().Size())
		}
	}
	return tr, nil
}

// Load reads a checkpoint that describes its network (SeedNetSection, as
// snn train writes) and returns a Predictor for it.
func Load(path string) (*Predictor, error) {
	c, err := ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	tr, err := ReadTrained(c, nil)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return tr.Predictor()
}

// Predictor returns a Predictor of the network as it is now (later changes
// to t.Model do not reach it).
func (t *Trained) Predictor() (*Predictor, error) {
	return NewPredictor(t.Model, t.Standardization, t.ClassNames)
}

// Predictor answers queries about a trained network: class probabilities or
// logits for batches of inputs. It is safe for concurrent use.
//
// A Predictor keeps one copy of the weights (the model folded by
// Model.Fold, so BatchNorm costs nothing) and a free list of per-call
// contexts: a context is a model sharing those weights, with its own
// activation buffers and a buffer for the standardized input. A call takes
// a context, or builds one when every context is in use, and returns it
// when done; calls never wait for one another. So a Predictor holds as many
// contexts as it has seen calls at the same time, each the size of every
// layer's output for the largest batch it has run, and keeps them until it
// is dropped.
// Once a context has run a batch of some size, calls with that size or
// less allocate nothing.
type Predictor struct {
	tmpl      *Model
	in        Shape
	classes   int
	names     []string
	st        *Standardization
	a, b      []float32 // the standardization as x*a + b per channel
	probsLast bool      // the network ends with a Softmax layer

	mu   sync.Mutex
	free []*predictContext
}

type predictContext struct {
	m   *Model
	x   []float32 // the standardized input
	ctx Context   // evaluation mode; kept here so that no call allocates one
}

// NewPredictor returns a Predictor of m's current weights and state; st,
// if not nil, standardizes each input first (as the data of m's training
// run was), and names, if not nil, names the classes by index.
func NewPredictor(m *Model, st *Standardization, names []string) (*Predictor, error) {
	f, err := m.Fold()
	if err != nil {
		return nil, err
	}
	out := f.OutputShape()
	if out.H != 1 || out.W != 1 {
		return nil, fmt.Errorf("nn: NewPredictor: the model's output %v is not a vector", out)
	}
	if len(names) > out.C {
		return nil, fmt.Errorf("nn: NewPredictor: %d class names for %d outputs", len(names), out.C)
	}
	p := &Predictor{tmpl: f, in: f.InputShape(), classes: out.C, names: append([]string(nil), names...)}
	if st != nil {
		if len(st.Mean) != p.in.C || len(st.Std) != p.in.C {
			return nil, fmt.Errorf("nn: NewPredictor: standardization of %d channels for inputs of %d", len(st.Mean), p.in.C)
		}
		c := Standardization{Mean: append([]float64(nil), st.Mean...), Std: append([]float64(nil), st.Std...)}
		p.st = &c
		// The very coefficients Standardization.Apply uses in training.
		for i := range st.Mean {
			p.a = append(p.a, float32(1/st.Std[i]))
			p.b = append(p.b, float32(-st.Mean[i]/st.Std[i]))
		}
	}
	_, p.probsLast = f.layers[len(f.layers)-1].(*Softmax)
	return p, nil
}

// InputShape is the shape of one input sample.
func (p *Predictor) InputShape() Shape { return p.in }

// Classes is the number of outputs per sample.
func (p *Predictor) Classes() int { return p.classes }

// ClassName returns the name of class k, or "" if the network's checkpoint
// named none.
func (p *Predictor) ClassName(k int) string {
	if k >= 0 && k < len(p.names) {
		return p.names[k]
	}
	return ""
}

// Standardization returns the input standardization Predict applies, and
// whether there is one.
func (p *Predictor) Standardization() (Standardization, bool) {
	if p.st == nil {
		return Standardization{}, false
	}
	return *p.st, true
}

// Model returns the folded model a Predictor runs: for reading (its layers
// and weights), not for running, since Predict calls share its weights.
func (p *Predictor) Model() *Model { return p.tmpl }

// Predict writes the class probabilities of n samples x into out
// ([n][Classes()]). x holds the samples as the data package decodes them
// ([n][C][H][W] of InputShape(), not standardized: Predict standardizes a
// copy). Bad lengths panic.
func (p *Predictor) Predict(x []float32, n int, out []float32) {
	p.run("Predict", x, n, out, true)
}

// Logits writes the network's outputs for n samples x into out, as
// Predict does but without the final softmax (for a network that ends in
// a Softmax layer, those are its probabilities).
func (p *Predictor) Logits(x []float32, n int, out []float32) {
	p.run("Logits", x, n, out, false)
}

func (p *Predictor) run(what string, x []float32, n int, out []float32, probs bool) {
	if n < 0 {
		panic(fmt.Sprintf("nn: Predictor.%s: n = %d < 0", what, n))
	}
	size := p.in.Size()
	if n > math.MaxInt32/size || len(x) != n*size {
		panic(fmt.Sprintf("nn: Predictor.%s: len(x) = %d, want n*%v = %d*%d", what, len(x), p.in, n, size))
	}
	if len(out) != n*p.classes {
		panic(fmt.Sprintf("nn: Predictor.%s: len(out) = %d, want n*%d = %d", what, len(out), p.classes, n*p.classes))
	}
	if n == 0 {
		return
	}
	c := p.get()
	defer p.put(c)
	in := x
	if p.a != nil {
		if cap(c.x) < len(x) {
			c.x = make([]float32, len(x))
		}
		in = c.x[:len(x)]
		copy(in, x)
		plane := p.in.H * p.in.W
		k := kernels.Active()
		for i := range n {
			for ch := range p.in.C {
				o := (i*p.in.C + ch) * plane
				k.Act.Affine(in[o:o+plane], p.a[ch], p.b[ch])
			}
		}
	}
	y := c.m.Forward(&c.ctx, n, in)
	copy(out, y)
	if probs && !p.probsLast {
		for i := range n {
			probabilities(out[i*p.classes : (i+1)*p.classes])
		}
	}
}

// probabilities turns logits into probabilities in place, in float64 from the
// largest logit down, so that no exponential overflows.
func probabilities(v []float32) {
	m := float32(math.Inf(-1))
	for _, x := range v {
		m = max(m, x)
	}
	var s float64
	for _, x := range v {
		s += math.Exp(float64(x - m))
	}
	for i, x := range v {
		v[i] = float32(math.Exp(float64(x-m)) / s)
	}
}

func (p *Predictor) get() *predictContext {
	p.mu.Lock()
	if k := len(p.free); k > 0 {
		c := p.free[k-1]
		p.free = p.free[:k-1]
		p.mu.Unlock()
		return c
	}
	p.mu.Unlock()
	c, err := p.newContext()
	if err != nil {
		// The template was built from these very layers: a failure
		// here is a bug, not bad input.
		panic(err)
	}
	return c
}

func (p *Predictor) put(c *predictContext) {
	p.mu.Lock()
	p.free = append(p.free, c)
	p.mu.Unlock()
}

// newContext builds a model of the template's layers that reads the
// template's weights.
func (p *Predictor) newContext() (*predictContext, error) {
	var layers []Layer
	for _, l := range p.tmpl.layers {
		c, err := cloneLayer(l)
		if err != nil {
			return nil, err
		}
		layers = append(layers, c)
	}
	m, err := NewModel(p.in, layers...)
	if err != nil {
		return nil, err
	}
	if len(m.params) != len(p.tmpl.params) {
		return nil, errors.New("nn: Predictor: a context's parameters differ from the model's")
	}
	for i, q := range m.params {
		// Inference reads the weights and never writes them, nor any
		// gradient.
		q.Value, q.Grad = p.tmpl.params[i].Value, nil
	}
	m.SetThreads(p.tmpl.threads)
	return &predictContext{m: m}, nil
}
