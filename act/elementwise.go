package act

import "github.com/snnkit/snn/kernels"

// The SELU constants lambda and alpha (Klambauer et al., 2017).
const (
	Lambda = kernels.SELULambda
	Alpha  = kernels.SELUAlpha
)

// SELU sets dst[i] = Lambda*x[i] for x[i] > 0 and Lambda*Alpha*expm1(x[i])
// for x[i] < 0. The negative branch is a vectorized expm1 (range reduction,
// a degree-6 polynomial, 2^n scaling), within 2 ulp of the exact value and
// exact to the last bit near 0 in relative terms: it never computes
// exp(x)-1. NaN gives NaN, -Inf gives -Lambda*Alpha, -0 gives -0.
//
// dst and x must have the same length; dst may be x (in place) but must
// not otherwise overlap it.
func SELU(dst, x []float32) {
	unary("SELU", dst, x)
	active.Act.SELU(dst, x)
}

// SELUGrad sets dx[i] = dy[i]*SELU'(x[i]) from the forward output
// y = SELU(x), without a second exponential: Lambda where y[i] > 0,
// y[i] + Lambda*Alpha elsewhere (at x = 0 that is the left derivative).
//
// All three slices must have the same length; dx may be dy or y.
func SELUGrad(dx, dy, y []float32) {
	grad("SELUGrad", dx, dy, y)
	active.Act.SELUGrad(dx, dy, y)
}

// ReLU sets dst[i] = max(x[i], 0). NaN and -0 pass unchanged.
// dst and x must have the same length; dst may be x.
func ReLU(dst, x []float32) {
	unary("ReLU", dst, x)
	active.Act.ReLU(dst, x)
}

// ReLUGrad sets dx[i] = dy[i] where the forward output y[i] > 0, else 0.
// All three slices must have the same length; dx may be dy or y.
func ReLUGrad(dx, dy, y []float32) {
	grad("ReLUGrad", dx, dy, y)
	active.Act.ReLUGrad(dx, dy, y)
}

// Exp sets dst[i] = e^x[i], within 2 ulp where the result is a normal
// float32. Results overflow to +Inf above about 88.72, are subnormal below
// about -87.34 and round to 0 below about -103.97; NaN gives NaN.
// dst and x must have the same length; dst may be x.
func Exp(dst, x []float32) {
	unary("Exp", dst, x)
	active.Act.Exp(dst, x)
}
