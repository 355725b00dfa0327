package conv

import (
	"sync"
	"sync/atomic"
)

// A laneRunner is one call's work, shared by lanes: runLane(i) is called
// once for every lane i in [0, lanes). Lanes pick work units from a shared
// counter; which lane runs a unit never changes its result, only which
// scratch buffers it uses.
type laneRunner interface {
	runLane(lane int)
	// abort wakes lanes that wait for one another: a lane has panicked.
	abort()
}

// team is what a call's lanes share besides the work: the WaitGroup the
// caller waits on and the first panic of a lane, re-raised in the caller.
// It lives in the layer and is reused, so a call allocates nothing.
type team struct {
	wg     sync.WaitGroup
	failed atomic.Bool
	mu     sync.Mutex
	panic  any
}

type task struct {
	r    laneRunner
	lane int
	t    *team
}

// workers are goroutines started once and reused by every call: a parallel
// call sends lanes 1.. as tasks and runs lane 0 itself. The set only grows,
// to the most lanes-1 any call asked for; idle workers block on the
// channel.
var workers struct {
	mu      sync.Mutex
	started int
	tasks   chan task
}

func init() { workers.tasks = make(chan task) }

// runLanes runs r on lanes lanes and returns when all are done. If a lane
// panics, the others are told to stop and the first panic is raised again
// here, in the caller's goroutine, once every lane has returned.
func runLanes(r laneRunner, lanes int, t *team) {
	t.failed.Store(false)
	t.panic = nil
	if lanes > 1 {
		workers.mu.Lock()
		for workers.started < lanes-1 {
			workers.started++
			go work()
		}
		workers.mu.Unlock()
		t.wg.Add(lanes - 1)
		for i := 1; i < lanes; i++ {
			workers.tasks <- task{r: r, lane: i, t: t}
		}
	}
	runLane(r, 0, t)
	t.wg.Wait()
	if t.failed.Load() {
		panic(t.panic)
	}
}

func work() {
	for tk := range workers.tasks {
		runLane(tk.r, tk.lane, tk.t)
		tk.t.wg.Done()
	}
}

func runLane(r laneRunner, lane int, t *team) {
	defer func() {
		if p := recover(); p != nil {
			t.mu.Lock()
			if !t.failed.Load() {
				t.panic = p
				t.failed.Store(true)
			}
			t.mu.Unlock()
			r.abort()
		}
	}()
	r.runLane(lane)
}
