package inspect_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/snnkit/snn/nn"
	"github.com/snnkit/snn/nn/inspect"
)

// A Dense unit with omega = 0 and tau = 1 on inputs that come in correlated
// pairs: it adds the pairs' common parts up instead of averaging them out,
// so its pre-activation variance is 1.5 times what the independence
// argument predicts.
func ExampleMeasure() {
	const in, n = 4, 100000
	m, err := nn.NewModel(nn.Vector(in), &nn.Dense{Units: 1}, &nn.SELU{}, &nn.Dense{Units: 2})
	if err != nil {
		panic(err)
	}
	m.Init(1)
	w := m.Param("dense_1.kernel")
	copy(w.Unit(0), []float32{0.5, 0.5, -0.5, -0.5})
	// x_1, x_2 = g + e_i and x_3, x_4 = h + e_i: every Var(x_i) is 2, and
	// Var(z) = (2*0.5)^2 Var(g) + (2*0.5)^2 Var(h) + sum_i 0.25 Var(e_i) = 3.
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*in)
	for s := range n {
		g, h := r.NormFloat64(), r.NormFloat64()
		for i, f := range []float64{g, g, h, h} {
			x[s*in+i] = float32(f + r.NormFloat64())
		}
	}
	ds, err := nn.NewTensors(nn.Vector(in), 2, x, make([]int32, n))
	if err != nil {
		panic(err)
	}
	rows, err := inspect.Measure(m, ds, n, 256)
	if err != nil {
		panic(err)
	}
	r0 := rows[0]
	fmt.Printf("%s (then %s): omega %.2f, tau %.2f, predicted %.1f, measured %.1f, ratio %.2f\n",
		r0.Layer, r0.Act, r0.Omega, r0.Tau, r0.PredVar, r0.PreVar, r0.Ratio)
	// Output:
	// dense_1 (then selu_1): omega 0.00, tau 1.00, predicted 2.0, measured 3.0, ratio 1.51
}
