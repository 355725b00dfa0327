package nn

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/snnkit/snn/internal/bounds"
)

// maxFloats is the most float32 a buffer may hold: 2^48 bytes, the
// address space of amd64 and arm64, or what int can count. Sizes are
// checked against it before a make, which would otherwise die with a
// runtime error that names nothing.
const maxFloats = (math.MaxInt >> 2) & (1<<46 - 1)

// samples panics unless s holds exactly n samples of size floats, n >= 0.
// n*size is never computed where it could wrap around int's range: a
// huge n would otherwise pass with a short slice.
func samples(fn, name string, n int, s []float32, size int) {
	if n < 0 {
		panic(fmt.Sprintf("nn: %s: n = %d < 0", fn, n))
	}
	if !bounds.IsProduct(len(s), n, size) {
		panic(fmt.Sprintf("nn: %s: n = %d samples of %d floats are %s floats, len(%s) = %d",
			fn, n, size, bounds.Product(n, size), name, len(s)))
	}
}

// sameLen panics unless a and b have the same length.
func sameLen(fn, aName string, a []float32, bName string, b []float32) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("nn: %s: len(%s) = %d, len(%s) = %d: lengths differ", fn, aName, len(a), bName, len(b)))
	}
}

// floats returns n*size when a buffer of that many floats can exist.
func floats(n, size int) (int, bool) {
	p, ok := bounds.Mul(n, size)
	return p, ok && p <= maxFloats
}

// inUse is a flag set while a Model or a Trainer runs a call, so that a
// second goroutine entering at the same time panics with a message
// instead of corrupting buffers (or crashing in a worker pool).
type inUse struct{ busy atomic.Bool }

// enterHook, when not nil, runs right after a successful enter: tests
// block in it to hold the flag while another goroutine tries to enter.
var enterHook func(what string)

func (u *inUse) enter(what string) {
	if !u.busy.CompareAndSwap(false, true) {
		panic(fmt.Sprintf("nn: %s used from two goroutines at once; a %s is not safe for concurrent use", what, what))
	}
	if enterHook != nil {
		enterHook(what)
	}
}

func (u *inUse) leave() { u.busy.Store(false) }
