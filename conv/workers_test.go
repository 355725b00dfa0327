package conv

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/snnkit/snn/internal/par"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chain is a laneRunner whose lanes wait for one another like addPartial
// does; lane bad panics instead of doing its part.
type chain struct {
	bad     int
	mu      sync.Mutex
	cond    sync.Cond
	turn    int
	aborted bool
	ran     atomic.Int64
}

func (c *chain) runLane(lane int) {
	c.ran.Add(1)
	if lane == c.bad {
		panic("lane failed")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.turn != lane && !c.aborted {
		c.cond.Wait()
	}
	c.turn++
	c.cond.Broadcast()
}

func (c *chain) abort() {
	c.mu.Lock()
	c.aborted = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

func TestRunLanes(t *testing.T) {
	var tm par.Team
	for _, lanes := range []int{1, 2, 3, 5} {
		c := &chain{bad: -1}
		c.cond.L = &c.mu
		runLanes(c, lanes, &tm)
		assert.Equal(t, int64(lanes), c.ran.Load())
		assert.Equal(t, lanes, c.turn)

		for bad := 0; bad < lanes; bad++ {
			c := &chain{bad: bad}
			c.cond.L = &c.mu
			msg := panicMessage(func() { runLanes(c, lanes, &tm) })
			require.Equal(t, "lane failed", msg, "lanes %d, bad %d", lanes, bad)
			assert.Equal(t, int64(lanes), c.ran.Load(), "every lane ran and returned")
		}
	}
}
