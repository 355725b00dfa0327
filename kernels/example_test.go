package kernels_test

import (
	"fmt"

	"github.com/snnkit/snn/kernels"
)

// Sets lists the implementation chosen at start-up first and the pure-Go
// reference last; tests run every kernel of every set against the
// reference.
func ExampleSets() {
	sets := kernels.Sets()
	fmt.Println("active first:", sets[0] == kernels.Active())
	fmt.Println("reference last:", sets[len(sets)-1].ISA)
	// Output:
	// active first: true
	// reference last: generic
}

// A kernel family is a struct of function values; the reference set's
// are plain Go, the same contract as the assembly.
func ExampleReference() {
	k := kernels.Reference()
	x := []float32{-1, 0, 2}
	y := make([]float32, len(x))
	k.Act.ReLU(y, x)
	fmt.Println(k.ISA, y)
	// Output: generic [0 0 2]
}
