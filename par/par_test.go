package par

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// count records how often each lane ran.
type count struct{ hits []atomic.Int32 }

func (c *count) RunLane(i int) { c.hits[i].Add(1) }

// chain's lanes run one after another, in lane order, each waiting for the
// one before it (as conv's weight-gradient sum does); lane bad panics
// instead of taking its turn.
type chain struct {
	bad     int
	mu      sync.Mutex
	cond    sync.Cond
	turn    int
	aborted bool
	ran     atomic.Int32
}

func newChain(bad int) *chain {
	c := &chain{bad: bad}
	c.cond.L = &c.mu
	return c
}

func (c *chain) RunLane(lane int) {
	c.ran.Add(1)
	if lane == c.bad {
		panic(fmt.Sprintf("lane %d failed", lane))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.turn != lane && !c.aborted {
		c.cond.Wait()
	}
	c.turn++
	c.cond.Broadcast()
}

func (c *chain) Abort() {
	c.mu.Lock()
	c.aborted = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

func TestRunRunsEveryLaneOnce(t *testing.T) {
	var tm Team
	for _, n := range []int{0, 1, 2, 3, 5, 8, 17} {
		c := &count{hits: make([]atomic.Int32, n)}
		tm.Run(c, n)
		for i := range c.hits {
			require.Equal(t, int32(1), c.hits[i].Load(), "lanes %d, lane %d", n, i)
		}
	}
}

func TestRunWaitsForEveryLane(t *testing.T) {
	var tm Team
	for _, n := range []int{2, 3, 5} {
		c := newChain(-1)
		tm.Run(c, n)
		assert.Equal(t, n, c.turn, "lanes %d", n)
	}
}

func TestRunRaisesFirstPanic(t *testing.T) {
	var tm Team
	for _, n := range []int{1, 2, 3, 5} {
		for bad := 0; bad < n; bad++ {
			c := newChain(bad)
			assert.PanicsWithValue(t, fmt.Sprintf("lane %d failed", bad), func() { tm.Run(c, n) }, "lanes %d", n)
			assert.Equal(t, int32(n), c.ran.Load(), "lanes %d, bad %d: every lane ran and returned", n, bad)
			assert.True(t, tm.Failed())
		}
	}
	// The team works again afterwards.
	c := newChain(-1)
	tm.Run(c, 3)
	assert.Equal(t, 3, c.turn)
	assert.False(t, tm.Failed())
}

// nested's lanes each make a parallel call of their own.
type nested struct {
	teams []Team
	inner []*count
}

func (x *nested) RunLane(i int) { x.teams[i].Run(x.inner[i], len(x.inner[i].hits)) }

func TestNestedRunsDoNotDeadlock(t *testing.T) {
	for _, procs := range []int{1, 2} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			const outer, inner = 4, 3
			x := &nested{teams: make([]Team, outer)}
			for range outer {
				x.inner = append(x.inner, &count{hits: make([]atomic.Int32, inner)})
			}
			var tm Team
			tm.Run(x, outer)
			for i, c := range x.inner {
				for j := range c.hits {
					require.Equal(t, int32(1), c.hits[j].Load(), "GOMAXPROCS %d, outer lane %d, inner lane %d", procs, i, j)
				}
			}
		}()
	}
}

// With fewer processors than lanes, polling lanes must yield to the lane
// they wait for.
func TestWaitingLanesOnOneProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var tm Team
	for _, n := range []int{2, 4} {
		c := newChain(-1)
		tm.Run(c, n)
		assert.Equal(t, n, c.turn)
	}
}

func TestParkedWorkersAreReused(t *testing.T) {
	var tm Team
	tm.Run(&count{hits: make([]atomic.Int32, 3)}, 3)
	before := started()
	time.Sleep(4 * spin) // every worker stops polling and blocks
	c := &count{hits: make([]atomic.Int32, 3)}
	tm.Run(c, 3)
	for i := range c.hits {
		require.Equal(t, int32(1), c.hits[i].Load(), "lane %d", i)
	}
	assert.Equal(t, before, started(), "the parked workers took the lanes")
}

// Back-to-back calls with lanes that do nothing: a worker must be free
// again by the time its caller's next call hands out lanes.
func TestBackToBackCallsReuseWorkers(t *testing.T) {
	var tm Team
	c := &count{hits: make([]atomic.Int32, 3)}
	tm.Run(c, 3)
	before := started()
	for range 20000 {
		tm.Run(c, 3)
	}
	assert.Equal(t, before, started(), "workers started for calls that had idle ones")
}

func TestConcurrentTeams(t *testing.T) {
	const callers = 6
	var wg sync.WaitGroup
	for k := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tm Team
			for r := range 50 {
				n := 1 + (k+r)%4
				c := &count{hits: make([]atomic.Int32, n)}
				tm.Run(c, n)
				for i := range c.hits {
					if c.hits[i].Load() != 1 {
						t.Errorf("caller %d, call %d: lane %d ran %d times", k, r, i, c.hits[i].Load())
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestRunAllocatesNothing(t *testing.T) {
	if testkit.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	var tm Team
	c := &count{hits: make([]atomic.Int32, 3)}
	tm.Run(c, 3)
	assert.Zero(t, testkit.AllocsPerRun(100, func() { tm.Run(c, 3) }))
}

// busy works for d on every lane.
type busy struct{ d time.Duration }

func (b busy) RunLane(int) {
	for t0 := time.Now(); time.Since(t0) < b.d; {
	}
}

// BenchmarkRun times calls whose lanes each work for a fixed time, and
// reports the time a call takes beyond that: what handing out the lanes
// and waiting for them costs. Each call starts while the workers are
// still polling after the last one; "after-sleep" calls start after the
// workers have blocked, and pay for waking them (their ns/op includes the
// sleep; the metrics do not). On the 2-vCPU VM a blocked worker wakes in
// about 120 microseconds: by then lane 0 has ended and its goroutine has
// run lane 1 itself.
func BenchmarkRun(b *testing.B) {
	for _, work := range []time.Duration{0, 10 * time.Microsecond, 100 * time.Microsecond} {
		for _, lanes := range []int{1, 2} {
			for _, sleep := range []bool{false, true} {
				if sleep && lanes == 1 {
					continue
				}
				name := fmt.Sprintf("work=%v/lanes=%d", work, lanes)
				if sleep {
					name += "/after-sleep"
				}
				b.Run(name, func(b *testing.B) {
					var tm Team
					r := busy{work}
					var spent time.Duration
					for b.Loop() {
						if sleep {
							time.Sleep(2 * spin)
						}
						t0 := time.Now()
						tm.Run(r, lanes)
						spent += time.Since(t0)
					}
					n := float64(b.N)
					b.ReportMetric(float64(spent-time.Duration(b.N)*work)/n/1e3, "overhead-µs/call")
					b.ReportMetric(n/spent.Seconds(), "calls/s")
				})
			}
		}
	}
}
