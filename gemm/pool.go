package gemm

import "sync"

// Parallel calls split C into disjoint blocks of rows or columns, one per
// goroutine: the calling goroutine computes the first and persistent
// workers the others. Every element of C is computed by exactly one
// goroutine with the same depth blocks, in the same order, as on one
// thread, so the result does not depend on the number of threads.

// task is one block of C for a worker.
type task struct {
	j              *job
	r0, r1, c0, c1 int
}

// job is one parallel call: its blocking and the tasks still running.
// Jobs are recycled so that a parallel call allocates nothing.
type job struct {
	q    call
	wait sync.WaitGroup
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
		t.j.q.block(t.r0, t.r1, t.c0, t.c1)
		t.j.wait.Done()
	}
}

// block computes one block of C with a workspace of its own.
func (q *call) block(r0, r1, c0, c1 int) {
	ws := getWorkspace()
	q.run(ws, r0, r1, c0, c1)
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
			pool.tasks <- task{j: j, r0: 0, r1: q.m, c0: lo, c1: hi}
		} else {
			pool.tasks <- task{j: j, r0: lo, r1: hi, c0: 0, c1: q.n}
		}
	}
	if byCols {
		q.block(0, q.m, 0, bounds(1))
	} else {
		q.block(0, bounds(1), 0, q.n)
	}
	j.wait.Wait()
	putJob(j)
}
