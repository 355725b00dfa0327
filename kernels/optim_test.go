package kernels

import (
	"math"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/require"
)

// The float64 references follow Keras's formulas, not the contract's
// operation order, so they check the formulas and the float32 rounding is
// what the tolerance covers.

func TestAdamAgainstFloat64(t *testing.T) {
	r := testkit.Rand(11)
	const lr, b1, b2, eps, wd = 1e-3, 0.9, 0.999, 1e-7, 1e-4
	for _, k := range Sets() {
		for _, n := range []int{0, 1, 7, 16, 33, 1000} {
			w := testkit.Normal(r, n, 0, 0.1)
			m, v := make([]float32, n), make([]float32, n)
			w64, m64, v64 := make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range w {
				w64[i] = float64(w[i])
			}
			for step := 1; step <= 20; step++ {
				g := testkit.Normal(r, n, 0, 1)
				lrT := lr * math.Sqrt(1-math.Pow(b2, float64(step))) / (1 - math.Pow(b1, float64(step)))
				k.Optim.Adam(w, g, m, v, float32(lrT), b1, 1-b1, b2, 1-b2, eps, wd)
				for i := range w64 {
					g1 := float64(g[i]) + wd*w64[i]
					m64[i] = b1*m64[i] + (1-b1)*g1
					v64[i] = b2*v64[i] + (1-b2)*g1*g1
					w64[i] -= lrT * m64[i] / (math.Sqrt(v64[i]) + eps)
				}
			}
			for i := range w {
				require.InDelta(t, w64[i], float64(w[i]), 1e-6, "%s n=%d i=%d", k.ISA, n, i)
				require.InEpsilon(t, v64[i], float64(v[i]), 1e-4, "%s n=%d i=%d", k.ISA, n, i)
			}
		}
	}
}

func TestAdadeltaAgainstFloat64(t *testing.T) {
	r := testkit.Rand(12)
	const lr, rho, eps, wd = 1.0, 0.95, 1e-7, 0
	for _, k := range Sets() {
		n := 257
		w := testkit.Normal(r, n, 0, 0.1)
		acc, dacc := make([]float32, n), make([]float32, n)
		w64, a64, d64 := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range w {
			w64[i] = float64(w[i])
		}
		for step := 0; step < 20; step++ {
			g := testkit.Normal(r, n, 0, 1)
			k.Optim.Adadelta(w, g, acc, dacc, lr, rho, 1-rho, eps, wd)
			for i := range w64 {
				g1 := float64(g[i])
				a64[i] = rho*a64[i] + (1-rho)*g1*g1
				u := g1 * math.Sqrt(d64[i]+eps) / math.Sqrt(a64[i]+eps)
				d64[i] = rho*d64[i] + (1-rho)*u*u
				w64[i] -= lr * u
			}
		}
		for i := range w {
			require.InDelta(t, w64[i], float64(w[i]), 1e-5, "%s i=%d", k.ISA, i)
		}
	}
}

func TestSGDAgainstFloat64(t *testing.T) {
	r := testkit.Rand(13)
	for _, nesterov := range []bool{false, true} {
		for _, k := range Sets() {
			const lr, mom, wd = 0.01, 0.9, 1e-3
			n := 100
			w := testkit.Normal(r, n, 0, 0.1)
			vel := make([]float32, n)
			w64, v64 := make([]float64, n), make([]float64, n)
			for i := range w {
				w64[i] = float64(w[i])
			}
			for step := 0; step < 20; step++ {
				g := testkit.Normal(r, n, 0, 1)
				k.Optim.SGD(w, g, vel, lr, mom, wd, nesterov)
				for i := range w64 {
					g1 := float64(g[i]) + wd*w64[i]
					v64[i] = mom*v64[i] - lr*g1
					if nesterov {
						w64[i] += mom*v64[i] - lr*g1
					} else {
						w64[i] += v64[i]
					}
				}
			}
			for i := range w {
				require.InDelta(t, w64[i], float64(w[i]), 1e-5, "%s nesterov=%v i=%d", k.ISA, nesterov, i)
			}
		}
	}
}
