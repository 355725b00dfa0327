package par

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestThreadsSetting(t *testing.T) {
	defer SetThreads(0)
	SetThreads(3)
	assert.Equal(t, 3, Threads())
	SetThreads(-1)
	assert.Equal(t, runtime.GOMAXPROCS(0), Threads())
	SetThreads(0)
	assert.Equal(t, runtime.GOMAXPROCS(0), Threads())
}
