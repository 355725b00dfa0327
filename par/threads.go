package par

import (
	"runtime"
	"sync/atomic"
)

// threads is the most goroutines one call may use; 0 means GOMAXPROCS.
var threads atomic.Int64

// SetThreads is snn's one thread knob: it limits the goroutines that one
// call of gemm, conv or nn uses to n, unless the call's own options or the
// layer's SetThreads say otherwise. n <= 0 restores the default, GOMAXPROCS
// at the time of each call. Results do not depend on it.
func SetThreads(n int) {
	threads.Store(int64(max(n, 0)))
}

// Threads returns the number of goroutines a call may use now.
func Threads() int {
	if n := int(threads.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}
