package kernels

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDescribe(t *testing.T) {
	d := Describe()
	t.Log(d)
	assert.Contains(t, d, ISA()+" (")
	assert.NotEmpty(t, Why())
	if len(archSets) == 0 {
		assert.Equal(t, whyNot(Generic), Why(), "with no assembly sets the reason is the build's")
	}
}

func TestAvailable(t *testing.T) {
	all := Available()
	require.NotEmpty(t, all)
	assert.Equal(t, Availability{ISA: Generic, Runs: true}, all[len(all)-1])
	var runs []string
	for _, a := range all {
		if a.Runs {
			runs = append(runs, a.ISA)
			assert.Empty(t, a.Why)
		} else {
			assert.Contains(t, a.Why, "lacks", a.ISA)
		}
	}
	var want []string
	for _, s := range runnable {
		want = append(want, s.ISA)
	}
	assert.Equal(t, want, runs, "Available agrees with the dispatch")
}
