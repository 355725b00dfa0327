package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/kernels"
)

// Scope says which weights a SelfNormalizing constraint normalizes
// together.
type Scope int

const (
	// PerUnit normalizes each unit's incoming weights (a Dense row, a
	// Conv2D filter over InC x KH x KW) on its own.
	PerUnit Scope = iota
	// WholeTensor centres the whole kernel (as WeightCentralization does)
	// and scales it so that the units' tau average 1.
	WholeTensor
)

// SelfNormalizing keeps kernels at the self-normalizing fixed point of
// Klambauer et al.: for every unit, omega = sum of its incoming weights = 0
// and tau = sum of their squares = 1, the condition under which a SELU
// layer maps inputs of mean 0 and variance 1 to outputs of mean 0 and
// variance 1. Applied after every optimizer step, it projects each unit
// back onto that set: w <- (w - mean(w)) / |w - mean(w)|. LeCun-normal
// initialization satisfies it in expectation, which is why a SELU network
// starts self-normalized and can drift away from it during training.
//
// Scope WholeTensor applies the omega part to the whole tensor and the tau
// part on average. OmegaOnly keeps every unit's omega at 0 and leaves tau
// free (UnitCentralization).
type SelfNormalizing struct {
	Scope     Scope
	OmegaOnly bool
}

// Apply projects p's kernel.
func (c SelfNormalizing) Apply(p *Param) {
	switch {
	case c.Scope == WholeTensor:
		act.Centralize(p.Value)
		if c.OmegaOnly {
			return
		}
		_, v := act.MeanVar(p.Value) // mean is ~0 now: v*n is the sum of squares
		ss := float64(v) * float64(len(p.Value))
		if ss > 0 && !math.IsInf(ss, 0) {
			kernels.Active().Act.Affine(p.Value, float32(math.Sqrt(float64(p.Units())/ss)), 0)
		}
	case c.OmegaOnly:
		for u := range p.Units() {
			act.Centralize(p.Unit(u))
		}
	default:
		for u := range p.Units() {
			act.NormalizeUnit(p.Unit(u))
		}
	}
}

func (c SelfNormalizing) String() string {
	s := "selfnorm"
	if c.Scope == WholeTensor {
		s += "-tensor"
	}
	if c.OmegaOnly {
		s += "-omega"
	}
	return s
}

// ParseConstraint maps a constraint's name (as String gives it, and as
// the command line takes it) to the constraint: "none" (nil),
// "centralize", "centralize-units", "selfnorm", "selfnorm-tensor",
// "selfnorm-omega", "selfnorm-tensor-omega", or "maxnorm(M)".
func ParseConstraint(name string) (Constraint, error) {
	switch name {
	case "none", "":
		return nil, nil
	case "centralize":
		return WeightCentralization{}, nil
	case "centralize-units":
		return UnitCentralization{}, nil
	case "selfnorm":
		return SelfNormalizing{}, nil
	case "selfnorm-tensor":
		return SelfNormalizing{Scope: WholeTensor}, nil
	case "selfnorm-omega":
		return SelfNormalizing{OmegaOnly: true}, nil
	case "selfnorm-tensor-omega":
		return SelfNormalizing{Scope: WholeTensor, OmegaOnly: true}, nil
	}
	var m float64
	if _, err := fmt.Sscanf(name, "maxnorm(%g)", &m); err == nil && m > 0 {
		return MaxNorm{Max: float32(m)}, nil
	}
	return nil, fmt.Errorf("nn: unknown constraint %q (none, centralize, centralize-units, selfnorm, selfnorm-tensor, selfnorm-omega, maxnorm(M))", name)
}
