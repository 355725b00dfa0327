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
// What we measured with this package (full-width SeedNet, Adam 1e-3,
// batch 32; test top-1 on held-out images; recorded in the report of
// issue 5):
//
//	MNIST 28x28, 10 outputs, 300 steps:           plain 82%, centralized 79%
//	MNIST 28x28, 365 outputs, 250 steps:          plain 90%, centralized 84%
//	MNIST on a 64x64 canvas, 10 outputs, 250:     plain 52%, centralized 78%
//	MNIST on a 64x64 canvas, 365 outputs, 250:    plain 38%, centralized 64%
//	synthetic bars, 14x14 on 32x32, 400 steps:    plain 100%, centralized 100%
//	synthetic bars, 28x28 on 64x64, 400 steps:    plain 8.8% (chance), centralized 100%
//
// So it needs the 64x64 canvas (PyTorch shows the same on MNIST there: 43%
// against 89% at step 250); at 28x28 and on small images it does not
// appear. Narrow networks (4-8 channels in the first stage) learn even the
// 64x64 canvas either way. The fast test below says so and tests what is
// true at its size; the Places-like test (SNN_LONG=1, minutes) trains the
// full network on the 64x64 canvas, where the phenomenon is clear.

// phenomenonRun trains a SeedNet and returns its test metrics and the
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
// synthetic 28x28 bar images centred on a 64x64 canvas of zeros (the shape
// in which plain SELU stalls on MNIST), plain and centralized, for 400
// steps of batch 32: about 7 minutes on two cores with the packed GEMM.
// Run it with SNN_LONG=1.
//
// Measured: the plain network stays at chance (8.8% test top-1; its loss
// wanders around log(10) and spikes to 34 near step 360), the centralized
// one leaves the plateau near step 200 and reaches 100% (59% training
// top-1 around step 240, 91% around step 320). Where the centralized run
// leaves the plateau depends on rounding (an earlier GEMM had it still at
// chance at step 200), hence 400 steps.
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
	plain, plainDrift := phenomenonRun(t, cfg, train, test, 32, 400)
	cfg.Constraint = WeightCentralization{}
	cent, centDrift := phenomenonRun(t, cfg, train, test, 32, 400)
	t.Logf("plain %v, max |kernel mean|/std %.2g; centralized %v, %.2g", plain, plainDrift, cent, centDrift)
	assert.LessOrEqual(t, plain.Top1, 0.3, "plain SELU stays near chance (10%)")
	assert.GreaterOrEqual(t, cent.Top1, 0.9, "centralized SELU learns")
	assert.Less(t, centDrift, 1e-5)
}
