package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/kernels"
)

// Constraint projects a kernel after every optimizer step, as Keras'
// kernel_constraint does. A per-unit constraint works on p.Unit(u) for u in
// [0, p.Units()): a Dense unit's weight row, a Conv2D filter over
// InC x KH x KW.
type Constraint interface {
	Apply(p *Param)
	// String names the constraint in logs and checkpoints.
	String() string
}

// WeightCentralization subtracts the mean of the whole kernel tensor from
// every weight: W <- W - mean(W). It is the constraint without which a deep
// SELU CNN with LeCun-normal weights fails to learn.
type WeightCentralization struct{}

// Apply centralizes p.Value.
func (WeightCentralization) Apply(p *Param) { act.Centralize(p.Value) }

func (WeightCentralization) String() string { return "centralize" }

// UnitCentralization subtracts from each unit's weights their own mean, so
// that every unit's incoming weights sum to zero (omega = 0).
type UnitCentralization struct{}

// Apply centralizes every unit of p.
func (UnitCentralization) Apply(p *Param) {
	for u := range p.Units() {
		act.Centralize(p.Unit(u))
	}
}

func (UnitCentralization) String() string { return "centralize-units" }

// MaxNorm is Keras' MaxNorm: each unit's weight vector w is scaled by
// min(|w|, Max)/(1e-7 + |w|), so no unit's L2 norm exceeds Max.
type MaxNorm struct {
	Max float32
}

// Apply rescales every unit of p.
func (c MaxNorm) Apply(p *Param) {
	if !(c.Max > 0) {
		panic(fmt.Sprintf("nn: MaxNorm.Max = %v, must be > 0", c.Max))
	}
	k := kernels.Active()
	for u := range p.Units() {
		w := p.Unit(u)
		_, s2 := k.Act.Moments(w, 0)
		norm := math.Sqrt(s2)
		scale := min(norm, float64(c.Max)) / (1e-7 + norm)
		k.Act.Affine(w, float32(scale), 0)
	}
}

func (c MaxNorm) String() string { return fmt.Sprintf("maxnorm(%g)", c.Max) }
