package net

import (
	"sync"

	"github.com/snnkit/snn/gemm"
)

// Element-wise work (activations over a batch, optimizer updates) is split
// into ranges run on a pool of goroutines started once and reused. An
// element-wise result does not depend on how the range is split, so the
// split may follow the thread count.

// ranger does the work of elements [lo, hi).
type ranger interface {
	run(lo, hi int)
}

// group is one caller's share of the pool: its WaitGroup and the first
// panic of a range, raised again in the caller. A layer embeds one, so
// that a parallel call allocates nothing.
type group struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	panic any
}

type rangeTask struct {
	r      ranger
	lo, hi int
	g      *group
}

var pool struct {
	mu      sync.Mutex
	started int
	tasks   chan rangeTask
}

func init() { pool.tasks = make(chan rangeTask) }

// minRange is the fewest elements worth a goroutine: below it the
// hand-off costs more than the work. Tests lower it to split small
// tensors.
var minRange = 1 << 15

// threadsOr returns n if positive, else gemm.Threads().
func threadsOr(n int) int {
	if n > 0 {
		return n
	}
	return gemm.Threads()
}

// parallel runs r over [0, n) in up to threads ranges (threads <= 0 means
// gemm.Threads()), each a multiple of 64 elements except the last.
func (g *group) parallel(threads, n int, r ranger) {
	parts := min(threadsOr(threads), n/minRange)
	if parts <= 1 {
		r.run(0, n)
		return
	}
	size := ((n+parts-1)/parts + 63) &^ 63
	pool.mu.Lock()
	for pool.started < parts-1 {
		pool.started++
		go work()
	}
	pool.mu.Unlock()
	g.panic = nil
	k := 0
	for lo := size; lo < n; lo += size {
		k++
	}
	g.wg.Add(k)
	for lo := size; lo < n; lo += size {
		pool.tasks <- rangeTask{r: r, lo: lo, hi: min(lo+size, n), g: g}
	}
	g.do(r, 0, min(size, n))
	g.wg.Wait()
	if g.panic != nil {
		p := g.panic
		g.panic = nil
		panic(p)
	}
}

func (g *group) do(r ranger, lo, hi int) {
	defer func() {
		if p := recover(); p != nil {
			g.mu.Lock()
			if g.panic == nil {
				g.panic = p
			}
			g.mu.Unlock()
		}
	}()
	r.run(lo, hi)
}

func work() {
	for t := range pool.tasks {
		t.g.do(t.r, t.lo, t.hi)
		t.g.wg.Done()
	}
}
