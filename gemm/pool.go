package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Parallel calls split C into disjoint blocks of rows or columns, one per
// goroutine: the calling goroutine computes the first and persistent
// workers the others. Every element of C is computed by exactly one
// goroutine with the same depth blocks, in the same order, as on one
// thread, so the result does not depend on the number of threads.

// task is one block of C for a worker: part of parts.
type task struct {
	j              *job
	r0, r1, c0, c1 int
	part, parts    int
}

// job is one parallel call: its blocking, the packed A its goroutines
// share and the tasks still running. Jobs are recycled so that a parallel
// call allocates nothing.
type job struct {
	q      call
	shared sharedA
	wait   sync.WaitGroup
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

var pool struct {
	sync.Mutex
	workers int
	tasks   chan task
	jobs    []*job
}

// maxWorkers bounds the pool; calls asking for more threads than this
// queue their blocks.
const maxWorkers = 255

func init() { pool.tasks = make(chan task, maxWorkers) }

// getJob returns a recycled job and makes sure at least workers workers
// are running.
func getJob(workers int) *job {
	pool.Lock()
	defer pool.Unlock()
	for ; pool.workers < min(workers, maxWorkers); pool.workers++ {
		go worker()
	}
	if n := len(pool.jobs); n > 0 {
		j := pool.jobs[n-1]
		pool.jobs[n-1] = nil
		pool.jobs = pool.jobs[:n-1]
		return j
	}
	return new(job)
}

func putJob(j *job) {
	j.q = call{}
	pool.Lock()
	pool.jobs = append(pool.jobs, j)
	pool.Unlock()
}

func worker() {
	for t := range pool.tasks {
		t.j.q.block(t.r0, t.r1, t.c0, t.c1, t.part, t.parts)
		t.j.wait.Done()
	}
}

// block computes one block of C, part of parts, with a workspace of its
// own.
func (q *call) block(r0, r1, c0, c1, part, parts int) {
	ws := getWorkspace()
	q.run(ws, r0, r1, c0, c1, part, parts)
	putWorkspace(ws)
}

// parallel runs q on threads goroutines (threads >= 2), splitting C into
// that many blocks of whole micro-tiles: by columns when A is the smaller
// operand (each block packs all of A), by rows otherwise.
func parallel(q *call, threads int) {
	j := getJob(threads - 1)
	j.q = *q
	q = &j.q
	byCols := q.m <= q.n
	if byCols && roundUp(q.m, q.g.MR)*q.k <= maxSharedA {
		j.shared.prepare(q)
		q.shared = &j.shared
	}
	size, unit := q.m, q.g.MR
	if byCols {
		size, unit = q.n, q.g.NR
	}
	units := (size + unit - 1) / unit
	threads = min(threads, units)
	bounds := func(i int) int { return min(size, i*units/threads*unit) }
	j.wait.Add(threads - 1)
	for i := 1; i < threads; i++ {
		lo, hi := bounds(i), bounds(i+1)
		if byCols {
			pool.tasks <- task{j: j, r0: 0, r1: q.m, c0: lo, c1: hi, part: i, parts: threads}
		} else {
			pool.tasks <- task{j: j, r0: lo, r1: hi, c0: 0, c1: q.n, part: i, parts: threads}
		}
	}
	if byCols {
		q.block(0, q.m, 0, bounds(1), 0, threads)
	} else {
		q.block(0, bounds(1), 0, q.n, 0, threads)
	}
	j.wait.Wait()
	putJob(j)
}
