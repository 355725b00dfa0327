package conv

import (
	"sync/atomic"
	"testing"

	"github.com/snnkit/snn/par"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flagRunner records which lanes ran and whether it was told to abort;
// lane bad panics. (par's tests cover the lanes themselves; this checks
// that runLanes hands a laneRunner's methods through.)
type flagRunner struct {
	bad     int
	ran     [4]atomic.Bool
	aborted atomic.Bool
}

func (r *flagRunner) runLane(lane int) {
	r.ran[lane].Store(true)
	if lane == r.bad {
		panic("lane failed")
	}
}

func (r *flagRunner) abort() { r.aborted.Store(true) }

func TestRunLanes(t *testing.T) {
	var tm par.Team
	for _, bad := range []int{-1, 0, 2} {
		r := &flagRunner{bad: bad}
		run := func() { runLanes(r, 3, &tm) }
		if bad < 0 {
			run()
		} else {
			require.Equal(t, "lane failed", panicMessage(run), "bad %d", bad)
		}
		for i := range 3 {
			assert.True(t, r.ran[i].Load(), "bad %d: lane %d ran", bad, i)
		}
		assert.False(t, r.ran[3].Load(), "bad %d: a fourth lane ran", bad)
		assert.Equal(t, bad >= 0, r.aborted.Load(), "bad %d: abort called", bad)
	}
}
