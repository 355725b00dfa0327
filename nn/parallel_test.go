package nn

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type countRanges struct {
	hits  []atomic.Int32
	calls atomic.Int32
	bad   int // a range holding this element panics
}

func (c *countRanges) run(lo, hi int) {
	c.calls.Add(1)
	if c.bad >= lo && c.bad < hi {
		panic(fmt.Sprintf("element %d", c.bad))
	}
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

func TestParallelCoversEachElementOnce(t *testing.T) {
	defer func(m int) { minRange = m }(minRange)
	minRange = 100
	var g group
	for _, n := range []int{0, 1, 99, 100, 199, 200, 201, 1000, 4097} {
		for _, threads := range []int{1, 2, 3, 8} {
			c := &countRanges{hits: make([]atomic.Int32, n), bad: -1}
			g.parallel(threads, n, c)
			for i := range c.hits {
				require.Equal(t, int32(1), c.hits[i].Load(), "n %d, threads %d, element %d", n, threads, i)
			}
			assert.LessOrEqual(t, int(c.calls.Load()), max(1, min(threads, n/minRange)))
		}
	}
}

func TestParallelRaisesPanics(t *testing.T) {
	defer func(m int) { minRange = m }(minRange)
	minRange = 100
	var g group
	for _, bad := range []int{0, 999} { // in the caller's range, in a worker's
		c := &countRanges{hits: make([]atomic.Int32, 1000), bad: bad}
		assert.PanicsWithValue(t, fmt.Sprintf("element %d", bad), func() { g.parallel(4, 1000, c) })
	}
	// The group works again afterwards.
	c := &countRanges{hits: make([]atomic.Int32, 1000), bad: -1}
	g.parallel(4, 1000, c)
	assert.Equal(t, int32(1), c.hits[999].Load())
}
