package nn

import (
	"fmt"
)

// SeedNetConfig describes a SeedNet, the reference network of snn: stages
// of 3x3 'same' convolutions (stride 1, bias) each followed by 2x2 max
// pooling with stride 2, then Flatten, hidden Dense layers and a Dense
// output of Classes logits. The zero value of each field means the
// reference network's value.
type SeedNetConfig struct {
	Height, Width int // input size; 28 x 28 by default
	Channels      int // input channels; 1 by default
	Classes       int // 10 by default

	// Activation is "selu" (the default; LeCun-normal kernels) or "relu"
	// (He-normal kernels).
	Activation string
	// Dropout, if > 0, follows each hidden Dense layer's activation: an
	// AlphaDropout of that rate for SELU, a Dropout for ReLU.
	Dropout float64
	// Constraint, if not nil, is applied to every kernel after every
	// update (WeightCentralization: the seed's fix). It is not part of
	// the configuration's JSON form: a caller that saves the
	// configuration names its constraint itself.
	Constraint Constraint `json:"-"`
	// SoftmaxOutput ends the network with a Softmax layer, to be trained
	// with CrossEntropy (Keras' from_logits=False); by default it ends in
	// logits, trained with SoftmaxCrossEntropy.
	SoftmaxOutput bool
	// BatchNorm puts a BatchNorm (Keras' defaults) after every
	// convolution and hidden Dense layer, before its activation; those
	// layers then have no bias, the BatchNorm's beta taking its place.
	BatchNorm bool `json:",omitempty"`
	// BatchNormMomentum is the BatchNorm layers' Momentum (0: Keras'
	// 0.99). A short run may want less: at 0.99 the moving statistics
	// average about the last 100 steps, and lag weights that still move.
	BatchNormMomentum float64 `json:",omitempty"`

	// Filters lists the channels of each stage: 32, 64, 128, 256 by
	// default (four stages).
	Filters []int
	// ConvsPerStage is 3 by default.
	ConvsPerStage int
	// Hidden lists the units of the hidden Dense layers: 512, 512, 512
	// by default.
	Hidden []int

	// Seed draws the initial weights.
	Seed uint64
}

func (c SeedNetConfig) withDefaults() SeedNetConfig {
	if c.Height == 0 {
		c.Height = 28
	}
	if c.Width == 0 {
		c.Width = c.Height
	}
	if c.Channels == 0 {
		c.Channels = 1
	}
	if c.Classes == 0 {
		c.Classes = 10
	}
	if c.Activation == "" {
		c.Activation = "selu"
	}
	if c.Filters == nil {
		c.Filters = []int{32, 64, 128, 256}
	}
	if c.ConvsPerStage == 0 {
		c.ConvsPerStage = 3
	}
	if c.Hidden == nil {
		c.Hidden = []int{512, 512, 512}
	}
	return c
}

// NewSeedNet builds and initializes the SeedNet that cfg describes. The
// layers are named conv<stage>_<i>, bn<stage>_<i>, <act><stage>_<i>,
// pool<stage>, flatten, dense<i>, bn_d<i>, <act>_d<i>, dropout<i> and
// output.
func NewSeedNet(cfg SeedNetConfig) (*Model, error) {
	c := cfg.withDefaults()
	var init Initializer
	var newAct func() Layer
	switch c.Activation {
	case "selu":
		init, newAct = LeCunNormal, func() Layer { return &SELU{} }
	case "relu":
		init, newAct = HeNormal, func() Layer { return &ReLU{} }
	default:
		return nil, fmt.Errorf("nn: SeedNet: activation %q is not selu or relu", c.Activation)
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		return nil, fmt.Errorf("nn: SeedNet: dropout rate %v is not in [0, 1)", c.Dropout)
	}
	named := func(l Layer, name string) Layer {
		l.base().SetName(name)
		return l
	}
	var layers []Layer
	for s, f := range c.Filters {
		for i := range c.ConvsPerStage {
			id := fmt.Sprintf("%d_%d", s+1, i+1)
			layers = append(layers,
				named(&Conv2D{Filters: f, KernelSize: 3, Padding: Same, Init: init, Constraint: c.Constraint, NoBias: c.BatchNorm}, "conv"+id))
			if c.BatchNorm {
				layers = append(layers, named(&BatchNorm{Momentum: c.BatchNormMomentum}, "bn"+id))
			}
			layers = append(layers, named(newAct(), c.Activation+id))
		}
		layers = append(layers, named(&MaxPool2D{Size: 2}, fmt.Sprintf("pool%d", s+1)))
	}
	layers = append(layers, named(&Flatten{}, "flatten"))
	for i, u := range c.Hidden {
		id := fmt.Sprint(i + 1)
		layers = append(layers,
			named(&Dense{Units: u, Init: init, Constraint: c.Constraint, NoBias: c.BatchNorm}, "dense"+id))
		if c.BatchNorm {
			layers = append(layers, named(&BatchNorm{Momentum: c.BatchNormMomentum}, "bn_d"+id))
		}
		layers = append(layers, named(newAct(), c.Activation+"_d"+id))
		if c.Dropout > 0 {
			var d Layer = &AlphaDropout{Rate: c.Dropout}
			if c.Activation == "relu" {
				d = &Dropout{Rate: c.Dropout}
			}
			layers = append(layers, named(d, "dropout"+id))
		}
	}
	layers = append(layers, named(&Dense{Units: c.Classes, Init: init, Constraint: c.Constraint}, "output"))
	if c.SoftmaxOutput {
		layers = append(layers, named(&Softmax{}, "softmax"))
	}
	m, err := NewModel(Shape{C: c.Channels, H: c.Height, W: c.Width}, layers...)
	if err != nil {
		return nil, fmt.Errorf("SeedNet %dx%dx%d: %w", c.Channels, c.Height, c.Width, err)
	}
	m.Init(c.Seed)
	return m, nil
}
