package act_test

import (
	"fmt"

	"github.com/snnkit/snn/act"
)

func ExampleSELU() {
	x := []float32{-2, -0.5, 0, 0.5, 2}
	y := make([]float32, len(x))
	act.SELU(y, x)
	fmt.Printf("%.4f\n", y)
	// Output: [-1.5202 -0.6918 0.0000 0.5254 2.1014]
}

func ExampleSELUGrad() {
	x := []float32{-1, 1}
	y := make([]float32, 2)
	act.SELU(y, x)
	dy := []float32{1, 1} // upstream gradient
	dx := make([]float32, 2)
	act.SELUGrad(dx, dy, y)
	fmt.Printf("%.4f\n", dx) // lambda*alpha*e^-1, lambda
	// Output: [0.6468 1.0507]
}

func ExampleExp() {
	x := []float32{0, 1, -104, 89}
	act.Exp(x, x) // in place
	fmt.Println(x)
	// Output: [1 2.7182817 0 +Inf]
}

func ExampleCentralize() {
	w := []float32{0.5, 0.25, 0.75, 0.5} // a layer's kernel, flattened
	m := act.Centralize(w)
	fmt.Println(m, w)
	// Output: 0.5 [0 -0.25 0.25 0]
}

func ExampleMeanVar() {
	m, v := act.MeanVar([]float32{1, 2, 3, 4})
	fmt.Println(m, v)
	// Output: 2.5 1.25
}

func ExampleNormalizeUnit() {
	w := []float32{0.2, 0.4, 0.6, 0.8} // one unit's incoming weights
	omega, tau := act.NormalizeUnit(w)
	fmt.Printf("before: omega %.1f tau %.2f; after: %.4f\n", omega, tau, w)
	// Output: before: omega 2.0 tau 1.20; after: [-0.6708 -0.2236 0.2236 0.6708]
}

func ExampleShift() {
	// One-pass moments of values far from 0: subtracting a shift near the
	// mean first keeps the sum of squares from swamping the variance.
	x := []float32{1000.5, 1001.5, 999.5, 1000.5}
	fmt.Println(act.Shift(x))
	// Output: 1000.5
}
