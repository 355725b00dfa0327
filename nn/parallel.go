package nn

import (
	"github.com/snnkit/snn/par"
)

// Element-wise work (activations over a batch, optimizer updates) is split
// into ranges run on par's workers. An element-wise result does not depend
// on how the range is split, so the split may follow the thread count.

// ranger does the work of elements [lo, hi).
type ranger interface {
	run(lo, hi int)
}

// group is one caller's share of the workers: its par.Team and the call
// it runs. A layer embeds one, so that a parallel call allocates nothing.
type group struct {
	team    par.Team
	r       ranger
	n, size int
}

// minRange is the fewest elements worth a goroutine: below it the
// hand-off costs more than the work. Tests lower it to split small
// tensors.
var minRange = 1 << 15

// threadsOr returns n if positive, else par.Threads().
func threadsOr(n int) int {
	if n > 0 {
		return n
	}
	return par.Threads()
}

// parallel runs r over [0, n) in up to threads ranges (threads <= 0 means
// par.Threads()), each a multiple of 64 elements except the last. A panic
// in a range is raised again here once every range has returned.
func (g *group) parallel(threads, n int, r ranger) {
	parts := min(threadsOr(threads), n/minRange)
	if parts <= 1 {
		r.run(0, n)
		return
	}
	g.r, g.n = r, n
	g.size = ((n+parts-1)/parts + 63) &^ 63
	g.team.Run(g, (n+g.size-1)/g.size)
	g.r = nil
}

// RunLane runs range i.
func (g *group) RunLane(i int) {
	g.r.run(i*g.size, min((i+1)*g.size, g.n))
}
