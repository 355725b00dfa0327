// Package par runs one call's work on several goroutines: lane 0 in the
// caller, the others on workers that gemm, conv and nn share. It also holds
// snn's one thread knob, SetThreads, which all three read. Workers are
// started once and reused, so a parallel call starts no goroutine and
// allocates nothing.
//
// A worker that has finished its lane stays awake for a while, polling for
// the next one, before it blocks. Waking a blocked goroutine means waking an
// idle CPU, which takes about 120 microseconds on the 2-vCPU VM we measure
// on (BenchmarkRun): more than many of the calls it would share, such as
// the convolutions of small images, last. A training step makes a parallel
// call every few hundred microseconds, so the workers seldom sleep during
// one; between steps they do. The caller waits for its lanes the same way.
//
// Workers are never fewer than the lanes waiting for one: a call that finds
// no idle worker starts one. So a lane may itself make parallel calls (a
// convolution lane calling a parallel GEMM) without any risk of deadlock.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A Runner is a call's work: RunLane(i) is called once for each lane i of
// the call, concurrently. Lanes usually take work units from a counter of
// their own; which lane runs a unit must not change its result.
type Runner interface {
	RunLane(lane int)
}

// An Aborter is a Runner whose lanes may wait for one another: after a lane
// panics, Abort is called to wake the lanes waiting for it.
type Aborter interface {
	Abort()
}

// A Team is what a caller's lanes share besides the work: how many are
// still running and the first panic among them. The zero value is ready;
// a layer keeps one and reuses it call after call. A Team runs one call at
// a time.
type Team struct {
	running atomic.Int32
	failed  atomic.Bool
	done    sync.WaitGroup
	mu      sync.Mutex
	panic   any
}

// Run calls r.RunLane(i) for i in [0, n): lane 0 in the calling goroutine,
// the others on workers; nothing when n < 1. It returns when every lane
// has returned. If lanes panic, the first panic is raised again here, once
// all have returned; Failed reports it to the other lanes meanwhile.
func (t *Team) Run(r Runner, n int) {
	t.failed.Store(false)
	t.panic = nil
	if n < 1 {
		return
	}
	if n > 1 {
		t.running.Store(int32(n - 1))
		t.done.Add(n - 1)
		for i := 1; i < n; i++ {
			start(task{r: r, lane: i, t: t})
		}
	}
	t.runLane(r, 0)
	if n > 1 {
		t.wait()
	}
	if t.failed.Load() {
		p := t.panic
		t.panic = nil
		panic(p)
	}
}

// Failed reports whether a lane of the current call has panicked: lanes
// check it between work units and stop early.
func (t *Team) Failed() bool { return t.failed.Load() }

func (t *Team) runLane(r Runner, lane int) {
	defer func() {
		if p := recover(); p != nil {
			t.mu.Lock()
			if !t.failed.Load() {
				t.panic = p
				t.failed.Store(true)
			}
			t.mu.Unlock()
			if a, ok := r.(Aborter); ok {
				a.Abort()
			}
		}
	}()
	r.RunLane(lane)
}

// wait returns when the workers' lanes have returned: it polls for a while
// (the lanes of a balanced call end together), then blocks.
func (t *Team) wait() {
	Poll(func() bool { return t.running.Load() == 0 })
	t.done.Wait()
}

// spin is how long an idle worker, or a caller waiting for its lanes,
// polls before it blocks: a little longer than a wake-up takes here, and
// than the gap between a training step's parallel calls.
const spin = 500 * time.Microsecond

// Poll calls ready until it returns true or a while (half a millisecond)
// has passed, and reports whether ready did. It yields the processor
// between calls, so that polling never keeps other goroutines (the lane
// being waited for, with GOMAXPROCS lower than the lanes) from running.
// Lanes that wait for one another poll before they block, as the workers
// do: blocking costs the wake-up this package exists to avoid.
func Poll(ready func() bool) bool {
	var t0 time.Time
	for i := 0; ; i++ {
		if ready() {
			return true
		}
		if i%16 == 0 {
			if i == 0 {
				t0 = time.Now()
			} else if time.Since(t0) > spin {
				return false
			}
		}
		runtime.Gosched()
	}
}

// task is one lane of a call for a worker.
type task struct {
	r    Runner
	lane int
	t    *Team
}

// A worker's state. A caller hands a task to an idle worker by moving it
// from polling or parked to claimed, writing the task, then setting
// running (and, for a parked one, waking it).
const (
	polling = iota
	parked
	claimed
	running
)

type worker struct {
	state atomic.Int32
	task  task
	wake  chan struct{}
}

// pool is every worker ever started; the list only grows and is replaced,
// never changed in place, so callers read it without the lock.
var pool struct {
	mu      sync.Mutex
	workers atomic.Pointer[[]*worker]
}

// start hands tk to an idle worker, preferring one still polling, or to a
// new worker when none is idle.
func start(tk task) {
	if ws := pool.workers.Load(); ws != nil {
		for _, w := range *ws {
			if w.state.CompareAndSwap(polling, claimed) {
				w.task = tk
				w.state.Store(running)
				return
			}
		}
		for _, w := range *ws {
			if w.state.CompareAndSwap(parked, claimed) {
				w.task = tk
				w.state.Store(running)
				w.wake <- struct{}{}
				return
			}
		}
	}
	w := &worker{wake: make(chan struct{}, 1), task: tk}
	w.state.Store(running)
	pool.mu.Lock()
	var ws []*worker
	if old := pool.workers.Load(); old != nil {
		ws = append(ws, *old...)
	}
	ws = append(ws, w)
	pool.workers.Store(&ws)
	pool.mu.Unlock()
	go w.loop()
}

func (w *worker) loop() {
	for {
		tk := w.task
		w.task = task{}
		tk.t.runLane(tk.r, tk.lane)
		// Idle before the caller can see the lane done: its next call
		// must find this worker free, not start another (which would
		// allocate, and grow the pool call after call).
		w.state.Store(polling)
		tk.t.running.Add(-1)
		tk.t.done.Done()
		w.idle()
	}
}

// idle returns when the worker, polling, has been given its next task.
func (w *worker) idle() {
	for {
		if Poll(func() bool { return w.state.Load() == running }) {
			return
		}
		if w.state.CompareAndSwap(polling, parked) {
			<-w.wake
			return
		}
		// Claimed while giving up: the task is about to be set.
	}
}

// started returns how many workers have been started, for tests.
func started() int {
	if ws := pool.workers.Load(); ws != nil {
		return len(*ws)
	}
	return 0
}
