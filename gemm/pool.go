package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/snnkit/snn/par"
)

// Parallel calls split C into disjoint blocks of rows or columns, one per
// goroutine: the calling goroutine computes the first and par's workers
// the others. Every element of C is computed by exactly one
// goroutine with the same depth blocks, in the same order, as on one
// thread, so the result does not depend on the number of threads.

// job is one parallel call: its blocking, the packed A its goroutines
// share and how C is split among them. Jobs are recycled so that a
// parallel call allocates nothing.
type job struct {
	q      call
	shared sharedA
	team   par.Team
	byCols bool
	// C's rows (or columns, byCols) are split at whole micro-tiles:
	// lane i gets units [i*units/parts, (i+1)*units/parts) of unit each.
	size, unit, units, parts int
	// ws[i] is lane i's packing buffers, kept with the job (a caller
	// usually gets back the job it returned, so its lanes their buffers);
	// lane 0 runs in the caller and uses the caller's own when it has one.
	ws     []*workspace
	caller *workspace
}

// sharedA is the packed A of a call split by columns, where every goroutine
// needs all of A: each micro-panel is packed once, by the first goroutine
// that needs it, into a buffer holding all of A (blocks of A are not
// reused, so no goroutine ever waits for another to finish with one).
// Goroutines visit the strips of a block starting at different points, so
// they pack different strips at the same time.
type sharedA struct {
	buf []float32
	// state of each strip: 2*epoch+1 while being packed, 2*epoch+2 once
	// packed in this call; anything lower is from an earlier call.
	state []atomic.Uint64
	epoch uint64
}

// maxSharedA is the largest packed A (in floats, 4 MiB) worth sharing:
// beyond it the packed A falls out of the caches between its uses, and
// each goroutine packs its own blocks into a buffer reused block after
// block.
const maxSharedA = 1 << 20

// prepare sizes the buffer for q and starts a new epoch.
func (sa *sharedA) prepare(q *call) {
	sa.buf = grow(sa.buf, roundUp(q.m, q.g.MR)*q.k)
	n := q.stripsA()
	if len(sa.state) < n {
		sa.state = make([]atomic.Uint64, n)
	}
	sa.epoch++
}

// stripsA is the number of micro-panels of A over all depth blocks.
func (q *call) stripsA() int { return (q.m + q.g.MR - 1) / q.g.MR * ((q.k + q.kc - 1) / q.kc) }

// ensure makes sure strip id (rows i0.. of A, depths p0..) is packed into
// dst, packing it unless another goroutine already does.
func (sa *sharedA) ensure(q *call, id int, dst []float32, i0, rows, p0, kc int) {
	st := &sa.state[id]
	packed := 2*sa.epoch + 2
	for {
		v := st.Load()
		switch {
		case v == packed:
			return
		case v < packed-1 && st.CompareAndSwap(v, packed-1):
			q.packStrip(dst, i0, rows, p0, kc)
			st.Store(packed)
			return
		case v == packed-1:
			runtime.Gosched() // being packed by another goroutine
		}
	}
}

// jobs holds finished calls' jobs for the next calls.
var jobs freeList[job]

// maxThreads bounds a call's goroutines.
const maxThreads = 256

// getJob returns a recycled job.
func getJob() *job { return jobs.get() }

func putJob(j *job) {
	j.q = call{}
	j.caller = nil
	jobs.put(j)
}

// freeList is a last-in first-out list of values to reuse, safe for
// concurrent use; get makes a new value when the list is empty.
type freeList[T any] struct {
	sync.Mutex
	items []*T
}

func (l *freeList[T]) get() *T {
	l.Lock()
	defer l.Unlock()
	if n := len(l.items); n > 0 {
		x := l.items[n-1]
		l.items[n-1] = nil
		l.items = l.items[:n-1]
		return x
	}
	return new(T)
}

func (l *freeList[T]) put(x *T) {
	l.Lock()
	l.items = append(l.items, x)
	l.Unlock()
}

// bounds returns where lane i's rows (or columns) of C start.
func (j *job) bounds(i int) int { return min(j.size, i*j.units/j.parts*j.unit) }

// RunLane computes lane i's block of C, with a workspace of its own.
func (j *job) RunLane(i int) {
	lo, hi := j.bounds(i), j.bounds(i+1)
	ws := j.ws[i]
	if i == 0 && j.caller != nil {
		ws = j.caller
	}
	if j.byCols {
		j.q.run(ws, 0, j.q.m, lo, hi, i, j.parts)
	} else {
		j.q.run(ws, lo, hi, 0, j.q.n, i, j.parts)
	}
}

// parallel runs q on threads goroutines (threads >= 2), splitting C into
// that many blocks of whole micro-tiles: by columns when A is the smaller
// operand (each block packs all of A), by rows otherwise.
func parallel(q *call, threads int, caller *workspace) {
	j := getJob()
	j.caller = caller
	j.q = *q
	q = &j.q
	j.byCols = q.m <= q.n
	if j.byCols && roundUp(q.m, q.g.MR)*q.k <= maxSharedA {
		j.shared.prepare(q)
		q.shared = &j.shared
	}
	j.size, j.unit = q.m, q.g.MR
	if j.byCols {
		j.size, j.unit = q.n, q.g.NR
	}
	j.units = (j.size + j.unit - 1) / j.unit
	j.parts = min(threads, j.units, maxThreads)
	for len(j.ws) < j.parts {
		j.ws = append(j.ws, new(workspace))
	}
	j.team.Run(j, j.parts)
	putJob(j)
}
