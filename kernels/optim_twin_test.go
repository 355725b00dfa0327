package kernels

import (
	"fmt"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/require"
)

// optimCase is one optimizer of the Optim family in a form the twin test
// can drive: state is the number of state arrays after w and g.
type optimCase struct {
	name  string
	state int
	run   func(o Optim, w, g []float32, s [][]float32)
}

var optimCases = []optimCase{
	{"Adam", 2, func(o Optim, w, g []float32, s [][]float32) {
		o.Adam(w, g, s[0], s[1], 3e-3, 0.9, 0.1, 0.999, 1-0.999, 1e-7, 1e-4)
	}},
	{"Adadelta", 2, func(o Optim, w, g []float32, s [][]float32) {
		o.Adadelta(w, g, s[0], s[1], 1, 0.95, 1-0.95, 1e-7, 1e-4)
	}},
	{"SGD", 1, func(o Optim, w, g []float32, s [][]float32) { o.SGD(w, g, s[0], 0.01, 0.9, 1e-3, false) }},
	{"SGD/nesterov", 1, func(o Optim, w, g []float32, s [][]float32) { o.SGD(w, g, s[0], 0.01, 0.9, 1e-3, true) }},
}

// TestOptimMatchesTwin runs a few steps of every optimizer of every set and
// of the generic twin on the same data: the contract fixes the float32
// operations, so parameters and state must agree to the bit (one ulp for
// the twin's FMA emulation), on every length around the vector widths,
// against guard pages.
func TestOptimMatchesTwin(t *testing.T) {
	r := testkit.Rand(21)
	for _, oc := range optimCases {
		for _, k := range Sets() {
			t.Run(oc.name+"/"+k.ISA, func(t *testing.T) {
				for _, n := range testkit.Lengths(40, 67, 1000) {
					w := testkit.Normal(r, n, 0, 0.1)
					wantW := append([]float32(nil), w...)
					gotW, _ := testkit.Guarded(t, n)
					copy(gotW, w)
					want, got := make([][]float32, oc.state), make([][]float32, oc.state)
					for i := range want {
						want[i] = make([]float32, n)
						_, got[i] = testkit.Guarded(t, n)
					}
					for step := 0; step < 3; step++ {
						g := testkit.Normal(r, n, 0, 1)
						oc.run(Reference().Optim, wantW, g, want)
						oc.run(k.Optim, gotW, g, got)
					}
					for i := range w {
						what := fmt.Sprintf("n=%d i=%d", n, i)
						require.LessOrEqual(t, testkit.ULP(wantW[i], gotW[i]), int64(1), "w "+what)
						for s := range want {
							require.LessOrEqual(t, testkit.ULP(want[s][i], got[s][i]), int64(1), "state %d %s", s, what)
						}
					}
				}
			})
		}
	}
}
