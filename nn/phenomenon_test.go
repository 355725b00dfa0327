package nn

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
// batch 32; test top-1 on held-out images; docs/findings.md has the
// rest):
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
// true at its size. Later measurements weakened the rest: with three seeds
// and 500 steps (snn compare -places-like, README) MNIST on the 64x64
// canvas gave plain 89.0% and centralized 88.9% on average, and on the
// synthetic bars the stall moved from plain to centralized SELU when only
// the GEMM's rounding changed (TestPhenomenonPlacesLike, SNN_LONG=1).

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

// TestPhenomenonPlacesLike trains the full-width SeedNet on synthetic
// 28x28 bar images centred on a 64x64 canvas of zeros (the shape in which
// SELU was reported to stall), plain, centralized and with the per-unit
// SelfNormalizing constraint, for 400 steps of batch 32: about 7 minutes
// on two cores. Run it with SNN_LONG=1.
//
// Measured (test top-1 on 500 held-out images):
//
//	seed 1, the first GEMM (before packing): plain 8.8% (chance), centralized 100%
//	seed 1, the current kernels:        plain 100%, centralized 11.4% (chance), selfnorm 100%
//	seed 2, the current kernels:        plain 14.6% (chance), centralized 100%, selfnorm 100%
//
// The stall is real: a run can sit at chance for all 400 steps. But which
// of plain and centralized SELU stalls is decided by the seed and even by
// rounding (the GEMM change between the first two rows only changed the
// order of additions), so centralization is not what prevents it. The
// per-unit constraint learned every time. The test checks that, and that
// centralization keeps every kernel's mean at 0; it logs the rest.
func TestPhenomenonPlacesLike(t *testing.T) {
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
	cfg.Constraint = SelfNormalizing{}
	selfnorm, _ := phenomenonRun(t, cfg, train, test, 32, 400)
	t.Logf("plain %v, max |kernel mean|/std %.2g; centralized %v, %.2g; selfnorm %v", plain, plainDrift, cent, centDrift, selfnorm)
	assert.GreaterOrEqual(t, selfnorm.Top1, 0.9, "SELU with omega = 0, tau = 1 per unit learns")
	assert.Less(t, centDrift, 1e-5)
}
