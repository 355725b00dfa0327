package net

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seed's phenomenon: a deep SELU CNN with LeCun-normal weights and
// inputs in [0, 1] trained with Adam learns much worse unless every
// kernel is centred after every step.
//
// What we measured (full-width SeedNet, Adam 1e-3, batch 32, this
// package, 250 steps, 2000 MNIST test images; recorded in the report of
// issue 5):
//
//	MNIST 28x28, 10 outputs:        plain 82% top-1, centralized 79% (300 steps)
//	MNIST 28x28, 365 outputs:       plain 90%,       centralized 84%
//	MNIST padded to 64x64, 10 out:  plain 52%,       centralized 78%
//	MNIST padded to 64x64, 365 out: plain 38%,       centralized 64%
//
// so it appears with the 64x64 canvas (as PyTorch shows on the same
// network: 43% against 89% at step 250), not at 28x28, and it is a stall,
// not a network that never learns. Small networks on small synthetic
// images do not show it at all: both variants learn them perfectly. The
// fast test below says so and tests what is true at that size; the
// Places-like test (SNN_LONG=1, minutes) trains the full network on a
// 64x64 canvas.

// kernelStats trains a SeedNet and returns its test metrics and the
// largest |mean|/std over its kernels.
func phenomenonRun(t *testing.T, cfg SeedNetConfig, train, test *Tensors, batch int, steps int64) (Metrics, float64) {
	t.Helper()
	m, err := NewSeedNet(cfg)
	require.NoError(t, err)
	tr := NewTrainer(m, NewAdam(), cfg.Seed)
	require.NoError(t, tr.Fit(context.Background(), train, FitConfig{BatchSize: batch, MaxSteps: steps, Epochs: 1000}))
	r, err := Evaluate(m, nil, test, 64)
	require.NoError(t, err)
	worst := 0.0
	for _, p := range m.Params() {
		if p.Kernel {
			var s, s2 float64
			for _, v := range p.Value {
				s += float64(v)
				s2 += float64(v) * float64(v)
			}
			n := float64(len(p.Value))
			mean := s / n
			worst = max(worst, math.Abs(mean)/math.Sqrt(s2/n-mean*mean))
		}
	}
	return r, worst
}

// TestCentralizationPhenomenon: at this size (every stage and layer of
// SeedNet, but 4-8 channels and 16 hidden units, 16x16 images, 60 steps)
// the phenomenon does NOT appear: the plain SELU network learns the
// synthetic task as well as the centralized one. What is true and tested:
// both learn (top-1 >= 90% on held-out images, chance is 25%); without the
// constraint Adam moves the kernels' means away from zero (|mean| > 5% of
// the standard deviation in some layer), with it every kernel's mean stays
// zero to float32 rounding.
func TestCentralizationPhenomenon(t *testing.T) {
	train := synthetic(21, 256, 4, 16, 16)
	test := synthetic(22, 128, 4, 16, 16)
	for _, seed := range []uint64{1} { // seed 2 behaves alike (measured); one keeps qemu runs short
		cfg := SeedNetConfig{Height: 16, Classes: 4, Filters: []int{4, 4, 8, 8}, Hidden: []int{16, 16, 16}, Seed: seed}
		plain, plainDrift := phenomenonRun(t, cfg, train, test, 16, 60)
		cfg.Constraint = WeightCentralization{}
		cent, centDrift := phenomenonRun(t, cfg, train, test, 16, 60)
		t.Logf("seed %d: plain %v, max |kernel mean|/std %.2g; centralized %v, %.2g", seed, plain, plainDrift, cent, centDrift)
		assert.GreaterOrEqual(t, plain.Top1, 0.9, "plain SELU learns at this size")
		assert.GreaterOrEqual(t, cent.Top1, 0.9, "centralized SELU learns")
		assert.Greater(t, plainDrift, 0.05, "Adam moves the plain kernels' means")
		assert.Less(t, centDrift, 1e-5, "centralization keeps them at zero")
	}
}

// TestCentralizationPhenomenonPlacesLike trains the full-width SeedNet on
// synthetic 28x28 images centred on a 64x64 canvas (the shape in which
// plain SELU stalls on MNIST), plain and centralized, for 200 steps of
// batch 32 (3-4 minutes on two cores with the packed GEMM). Run it with
// SNN_LONG=1.
//
// Measured once here: plain 71% test top-1 (its training loss spiked near
// step 180), centralized 100%; plain led early (65% training top-1 at step
// 60 against 29%). On this synthetic task the plain network does not
// stall as it does on MNIST, so only the centralized result is asserted;
// both are logged.
func TestCentralizationPhenomenonPlacesLike(t *testing.T) {
	if os.Getenv("SNN_LONG") == "" {
		t.Skip("minutes of training; set SNN_LONG=1")
	}
	pad := func(d *Tensors) *Tensors {
		const size, off = 64, 18
		in := d.S.H
		x := make([]float32, d.Len()*size*size)
		for i := range d.Len() {
			for r := range in {
				copy(x[i*size*size+(r+off)*size+off:], d.X[(i*in+r)*in:(i*in+r+1)*in])
			}
		}
		p, err := NewTensors(Shape{1, size, size}, d.K, x, d.Y)
		require.NoError(t, err)
		return p
	}
	train := pad(synthetic(1, 4000, 10, 28, 28))
	test := pad(synthetic(2, 500, 10, 28, 28))
	cfg := SeedNetConfig{Height: 64, Classes: 10, Seed: 1}
	plain, plainDrift := phenomenonRun(t, cfg, train, test, 32, 200)
	cfg.Constraint = WeightCentralization{}
	cent, centDrift := phenomenonRun(t, cfg, train, test, 32, 200)
	t.Logf("plain %v, max |kernel mean|/std %.2g; centralized %v, %.2g", plain, plainDrift, cent, centDrift)
	assert.GreaterOrEqual(t, cent.Top1, 0.9)
	assert.Less(t, centDrift, 1e-5)
}
