package act

import (
	"fmt"
	"unsafe"
)

// sameLen panics unless every slice has the length of the first; names
// are the parameter names, for the message.
func sameLen(fn string, names []string, s ...[]float32) {
	for i := 1; i < len(s); i++ {
		if len(s[i]) != len(s[0]) {
			panic(fmt.Sprintf("act.%s: len(%s) = %d, len(%s) = %d: lengths differ",
				fn, names[0], len(s[0]), names[i], len(s[i])))
		}
	}
}

// noPartialOverlap panics if out shares memory with in without being the
// very same slice: element-wise kernels read a vector before writing it,
// which is safe in place but not at an offset.
func noPartialOverlap(fn, outName, inName string, out, in []float32) {
	if len(out) == 0 || len(in) == 0 {
		return
	}
	o, i := uintptr(unsafe.Pointer(&out[0])), uintptr(unsafe.Pointer(&in[0]))
	if o == i {
		return
	}
	oe, ie := o+uintptr(len(out))*4, i+uintptr(len(in))*4
	if o < ie && i < oe {
		panic(fmt.Sprintf("act.%s: %s and %s overlap without being the same slice", fn, outName, inName))
	}
}

func unary(fn string, dst, x []float32) {
	sameLen(fn, []string{"dst", "x"}, dst, x)
	noPartialOverlap(fn, "dst", "x", dst, x)
}

func grad(fn string, dx, dy, y []float32) {
	sameLen(fn, []string{"dx", "dy", "y"}, dx, dy, y)
	noPartialOverlap(fn, "dx", "dy", dx, dy)
	noPartialOverlap(fn, "dx", "y", dx, y)
}
