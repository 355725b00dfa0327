package nn

import (
	"fmt"
	"math"
)

// Initializer draws a kernel's initial values. fanIn and fanOut are the
// kernel's fans as Keras counts them: a Dense layer's inputs and units, a
// convolution's InC*KH*KW and OutC*KH*KW. Biases start at zero.
type Initializer interface {
	Init(w []float32, fanIn, fanOut int, r *RNG)
}

// FanMode selects the fan that VarianceScaling divides by.
type FanMode int

const (
	FanIn FanMode = iota
	FanOut
	FanAvg // (fanIn + fanOut) / 2
)

// Distribution selects what VarianceScaling draws from.
type Distribution int

const (
	// TruncatedNormal redraws values beyond two standard deviations; the
	// standard deviation is corrected by 0.87962566103423978 (the
	// standard deviation of a unit normal truncated at +-2) so that the
	// drawn values have the intended variance.
	TruncatedNormal Distribution = iota
	// UntruncatedNormal is a plain normal.
	UntruncatedNormal
	// Uniform draws from [-limit, limit] with limit = sqrt(3*variance).
	Uniform
)

// VarianceScaling is Keras' VarianceScaling initializer: values with
// variance Scale/fan.
type VarianceScaling struct {
	Scale        float64
	Mode         FanMode
	Distribution Distribution
}

// The initializers Keras names, with Keras' definitions.
var (
	// LeCunNormal: truncated normal, standard deviation
	// sqrt(1/fanIn)/0.87962566103423978. The initializer of SELU networks.
	LeCunNormal = VarianceScaling{Scale: 1, Mode: FanIn, Distribution: TruncatedNormal}
	// HeNormal: truncated normal, standard deviation
	// sqrt(2/fanIn)/0.87962566103423978. The initializer of ReLU networks.
	HeNormal = VarianceScaling{Scale: 2, Mode: FanIn, Distribution: TruncatedNormal}
	// GlorotUniform: uniform in +-sqrt(6/(fanIn+fanOut)), Keras' default.
	GlorotUniform = VarianceScaling{Scale: 1, Mode: FanAvg, Distribution: Uniform}
)

// truncatedStd is the standard deviation of a unit normal truncated to
// [-2, 2], the constant Keras divides by.
const truncatedStd = 0.87962566103423978

// Init fills w.
func (v VarianceScaling) Init(w []float32, fanIn, fanOut int, r *RNG) {
	fan := float64(fanIn)
	switch v.Mode {
	case FanOut:
		fan = float64(fanOut)
	case FanAvg:
		fan = float64(fanIn+fanOut) / 2
	}
	variance := v.Scale / max(1, fan)
	switch v.Distribution {
	case TruncatedNormal:
		std := math.Sqrt(variance) / truncatedStd
		for i := range w {
			z := r.Normal()
			for math.Abs(z) > 2 {
				z = r.Normal()
			}
			w[i] = float32(z * std)
		}
	case UntruncatedNormal:
		std := math.Sqrt(variance)
		for i := range w {
			w[i] = float32(r.Normal() * std)
		}
	case Uniform:
		limit := math.Sqrt(3 * variance)
		for i := range w {
			w[i] = float32((2*r.Float64() - 1) * limit)
		}
	default:
		panic(fmt.Sprintf("nn: VarianceScaling.Distribution = %d is not a distribution", v.Distribution))
	}
}

// Zeros initializes to zero.
type Zeros struct{}

// Init fills w with zeros.
func (Zeros) Init(w []float32, _, _ int, _ *RNG) { clear(w) }
