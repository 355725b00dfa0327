package nn

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyConfig is a SeedNet with every stage and layer of the reference
// network but few channels: fast enough for the training tests.
func tinyConfig(seed uint64) SeedNetConfig {
	return SeedNetConfig{Height: 16, Classes: 4, Dropout: 0.1, Constraint: WeightCentralization{},
		Filters: []int{4, 4, 8, 8}, Hidden: []int{16, 16, 16}, Seed: seed}
}

func newTiny(t *testing.T, seed uint64) *Trainer {
	t.Helper()
	m, err := NewSeedNet(tinyConfig(seed))
	require.NoError(t, err)
	return NewTrainer(m, NewAdam(), seed)
}

// paramsOf copies every parameter of the trainer's model.
func paramsOf(tr *Trainer) [][]float32 {
	var ps [][]float32
	for _, p := range tr.Model.Params() {
		ps = append(ps, append([]float32(nil), p.Value...))
	}
	return ps
}

// requireSameBits fails unless a and b are equal bit for bit.
func requireSameBits(t *testing.T, a, b [][]float32, msg string) {
	t.Helper()
	require.Equal(t, len(a), len(b))
	for i := range a {
		require.Equal(t, len(a[i]), len(b[i]))
		for j := range a[i] {
			if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
				t.Fatalf("%s: parameter %d, element %d: %v != %v", msg, i, j, a[i][j], b[i][j])
			}
		}
	}
}

func TestTrainBatchLearnsABatch(t *testing.T) {
	cfg := tinyConfig(1)
	cfg.Dropout = 0
	m, err := NewSeedNet(cfg)
	require.NoError(t, err)
	tr := NewTrainer(m, NewAdam(), 1)
	d := synthetic(3, 16, 4, 16, 16)
	first := math.NaN()
	var last StepStats
	for range 50 {
		st, err := tr.TrainBatch(d.X, d.Y)
		require.NoError(t, err)
		if first != first {
			first = st.Loss
		}
		last = st
	}
	assert.Equal(t, int64(50), tr.Step())
	assert.Less(t, last.Loss, first/10, "50 steps on one batch should fit it")
	assert.Equal(t, 1.0, last.Top1)
}

func TestTrainBatchErrors(t *testing.T) {
	tr := newTiny(t, 1)
	x := make([]float32, 2*256)
	_, err := tr.TrainBatch(x, []int32{0, 4})
	require.ErrorContains(t, err, "label 4")
	_, err = tr.TrainBatch(nil, nil)
	require.ErrorContains(t, err, "empty batch")
	_, err = tr.TrainBatch(x[:100], []int32{0, 1})
	require.ErrorContains(t, err, "100 values for 2 samples")
	require.Equal(t, int64(0), tr.Step())
}

// fit trains a fresh tiny trainer on d for cfg and returns it.
func fit(t *testing.T, seed uint64, d Dataset, cfg FitConfig) *Trainer {
	t.Helper()
	tr := newTiny(t, seed)
	require.NoError(t, tr.Fit(context.Background(), d, cfg))
	return tr
}

// TestDeterminismAcrossGOMAXPROCS trains the same network on the same data
// with GOMAXPROCS 1 and 2 (every convolution, pooling and GEMM splits its
// work by the thread count) and requires the same weights bit for bit.
func TestDeterminismAcrossGOMAXPROCS(t *testing.T) {
	defer func(m int) { minRange = m }(minRange)
	minRange = 64 // split even this network's activations and updates
	d := synthetic(4, 40, 4, 16, 16)
	cfg := FitConfig{BatchSize: 8, Epochs: 2}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var runs [][][]float32
	for _, procs := range []int{1, 2, 1} {
		runtime.GOMAXPROCS(procs)
		runs = append(runs, paramsOf(fit(t, 5, d, cfg)))
	}
	requireSameBits(t, runs[0], runs[1], "GOMAXPROCS 1 vs 2")
	requireSameBits(t, runs[0], runs[2], "GOMAXPROCS 1, run twice")
}

// TestResumeIsExact interrupts training mid-epoch (by MaxSteps and by
// cancelling the context), restores a fresh trainer from the checkpoint
// and requires the weights of an uninterrupted run bit for bit. The
// network has alpha dropout, so the masks must resume exactly too.
func TestResumeIsExact(t *testing.T) {
	d := synthetic(6, 44, 4, 16, 16) // 6 batches of 8 per epoch, the last of 4
	cfg := FitConfig{BatchSize: 8, Epochs: 3}
	want := paramsOf(fit(t, 7, d, cfg))

	t.Run("MaxSteps", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ckpt")
		first := cfg
		first.MaxSteps, first.CheckpointPath = 8, path // stops in epoch 1, batch 2
		tr := fit(t, 7, d, first)
		require.Equal(t, int64(8), tr.Step())

		resumed := newTiny(t, 99) // other initial weights and seed: all must come from the file
		_, err := resumed.Load(path)
		require.NoError(t, err)
		require.Equal(t, int64(1), resumed.Epoch())
		require.Equal(t, int64(2), resumed.Batch())
		require.NoError(t, resumed.Fit(context.Background(), d, cfg))
		require.Equal(t, int64(18), resumed.Step())
		requireSameBits(t, want, paramsOf(resumed), "resumed after MaxSteps")
	})

	t.Run("cancel", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ckpt")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := cfg
		c.CheckpointPath = path
		c.OnStep = func(s StepStats) error {
			if s.Step == 11 {
				cancel() // as Ctrl-C would, during step 12's wait
			}
			return nil
		}
		tr := newTiny(t, 7)
		err := tr.Fit(ctx, d, c)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, int64(11), tr.Step())

		resumed := newTiny(t, 98)
		_, err = resumed.Load(path)
		require.NoError(t, err)
		require.NoError(t, resumed.Fit(context.Background(), d, cfg))
		requireSameBits(t, want, paramsOf(resumed), "resumed after cancel")
	})
}

func TestNonFiniteLossNamesTheLayer(t *testing.T) {
	d := synthetic(8, 32, 4, 16, 16)
	path := filepath.Join(t.TempDir(), "ckpt")
	tr := newTiny(t, 9)
	conv := tr.Model.Param("conv2_2.kernel")
	require.NotNil(t, conv)
	var before [][]float32
	err := tr.Fit(context.Background(), d, FitConfig{
		BatchSize: 8, Epochs: 10, CheckpointPath: path, CheckpointEvery: 2,
		OnStep: func(s StepStats) error {
			if s.Step == 3 {
				// A weight blows up between two checkpoints.
				conv.Value[5] = float32(math.Inf(1))
				before = paramsOf(tr)
			}
			return nil
		},
	})
	var nf *NonFiniteError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, int64(3), nf.Step)
	assert.Equal(t, "conv2_2", nf.Name)
	assert.Equal(t, 9, nf.Layer)
	assert.Contains(t, err.Error(), "step 4")
	assert.Contains(t, err.Error(), "conv2_2")
	requireSameBits(t, before, paramsOf(tr), "the failed step must not be applied")
	c, err := ReadCheckpoint(path)
	require.NoError(t, err)
	assert.Equal(t, int64(2), c.Step, "the last good checkpoint stays")
}

func TestNonFiniteInputAndLoss(t *testing.T) {
	tr := newTiny(t, 1)
	d := synthetic(8, 4, 4, 16, 16)
	x := append([]float32(nil), d.X...)
	x[17] = float32(math.NaN())
	_, err := tr.TrainBatch(x, d.Y)
	var nf *NonFiniteError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, -1, nf.Layer)
	assert.Contains(t, err.Error(), "input batch")
}

func TestSaveRefusesNonFiniteWeights(t *testing.T) {
	tr := newTiny(t, 1)
	path := filepath.Join(t.TempDir(), "ckpt")
	require.NoError(t, tr.Save(path, nil))
	tr.Model.Param("dense2.bias").Value[3] = float32(math.NaN())
	err := tr.Save(path, nil)
	require.ErrorContains(t, err, "dense2.bias")
	_, err = ReadCheckpoint(path)
	require.NoError(t, err, "the old checkpoint stays")
}

// TestTrainBatchAllocatesNothing: after the first step, a training step
// (forward, loss, backward, Adam, centralization) allocates nothing.
func TestTrainBatchAllocatesNothing(t *testing.T) {
	if testkit.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	defer func(m int) { minRange = m }(minRange)
	minRange = 64 // the parallel ranges too
	for _, opt := range []Optimizer{NewAdam(), NewAdadelta(), &SGD{LR: 0.01, Momentum: 0.9, Nesterov: true}} {
		m, err := NewSeedNet(tinyConfig(1))
		require.NoError(t, err)
		tr := NewTrainer(m, opt, 1)
		d := synthetic(3, 8, 4, 16, 16)
		_, err = tr.TrainBatch(d.X, d.Y)
		require.NoError(t, err)
		allocs := testkit.AllocsPerRun(5, func() {
			if _, err := tr.TrainBatch(d.X, d.Y); err != nil {
				panic(err)
			}
		})
		assert.Zero(t, allocs, "%v", opt)
	}
}

func TestFitCallbacksAndValidation(t *testing.T) {
	train := synthetic(10, 30, 4, 16, 16)
	val := synthetic(11, 12, 4, 16, 16)
	var steps []StepStats
	var vals []int64
	tr := newTiny(t, 2)
	err := tr.Fit(context.Background(), train, FitConfig{
		BatchSize: 8, Epochs: 2, DropLast: true, Validation: val,
		OnStep:     func(s StepStats) error { steps = append(steps, s); return nil },
		OnValidate: func(step int64, m Metrics) error { vals = append(vals, step); assert.Equal(t, 12, m.N); return nil },
	})
	require.NoError(t, err)
	require.Len(t, steps, 6) // 30/8 = 3 full batches per epoch
	for i, s := range steps {
		assert.Equal(t, int64(i+1), s.Step)
		assert.Equal(t, int64(i/3), s.Epoch)
		assert.Equal(t, int64(i%3), s.Batch)
		assert.Equal(t, 8, s.N)
		assert.Equal(t, 1e-3, s.LR)
		assert.Positive(t, s.ImagesPerSec())
	}
	assert.Equal(t, []int64{3, 6}, vals)

	stop := errors.New("stop")
	err = tr.Fit(context.Background(), train, FitConfig{BatchSize: 8, Epochs: 5, OnStep: func(StepStats) error { return stop }})
	require.ErrorIs(t, err, stop)
	require.ErrorContains(t, tr.Fit(context.Background(), train, FitConfig{BatchSize: 0, Epochs: 1}), "BatchSize")
	require.ErrorContains(t, tr.Fit(context.Background(), train, FitConfig{BatchSize: 8}), "Epochs or MaxSteps")
	require.ErrorContains(t, tr.Fit(context.Background(), synthetic(1, 8, 4, 12, 12), FitConfig{BatchSize: 8, Epochs: 1}), "shape")
}

// prefetchLog records what Fit announces.
type prefetchLog struct {
	*Tensors
	loads, prefetches [][]int
}

func (p *prefetchLog) Load(idx []int, x []float32, labels []int32) error {
	p.loads = append(p.loads, append([]int(nil), idx...))
	return p.Tensors.Load(idx, x, labels)
}

func (p *prefetchLog) Prefetch(idx []int) {
	p.prefetches = append(p.prefetches, append([]int(nil), idx...))
}

func TestFitOrderAndPrefetch(t *testing.T) {
	d := &prefetchLog{Tensors: synthetic(12, 20, 4, 16, 16)}
	tr := newTiny(t, 3)
	require.NoError(t, tr.Fit(context.Background(), d, FitConfig{BatchSize: 8, Epochs: 2}))
	require.Len(t, d.loads, 6)
	// Every epoch is a permutation, in the order Permutation gives.
	for e := range 2 {
		perm := make([]int, 20)
		Permutation(tr.Seed(), int64(e), perm)
		var got []int
		for _, b := range d.loads[3*e : 3*e+3] {
			got = append(got, b...)
		}
		assert.Equal(t, perm, got, "epoch %d", e)
	}
	// Each prefetch announces the next load, across the epoch boundary.
	require.Len(t, d.prefetches, 6)
	for i := range 5 {
		assert.Equal(t, d.loads[i+1], d.prefetches[i])
	}
}

func TestCheckpointFileErrors(t *testing.T) {
	tr := newTiny(t, 1)
	d := synthetic(1, 8, 4, 16, 16)
	_, err := tr.TrainBatch(d.X, d.Y)
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt")
	require.NoError(t, tr.Save(path, func(c *Checkpoint) {
		c.Sections = map[string][]byte{"config": []byte(`{"act":"selu"}`)}
		c.Extra = []Tensor{{Name: "standardize/mean", Shape: []int{1}, Data: []float32{0.13}}}
	}))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file may remain")

	c, err := ReadCheckpoint(path)
	require.NoError(t, err)
	assert.Equal(t, int64(1), c.Step)
	assert.Equal(t, `{"act":"selu"}`, string(c.Sections["config"]))
	assert.Equal(t, []Tensor{{Name: "standardize/mean", Shape: []int{1}, Data: []float32{0.13}}}, c.Extra)
	assert.Equal(t, []float32{0.13}, c.ExtraTensor("standardize/mean").Data)
	assert.Nil(t, c.ExtraTensor("standardize/std"))
	assert.Equal(t, "adam", c.Optimizer)
	requireSameBits(t, paramsOf(tr), func() [][]float32 {
		var ps [][]float32
		for _, p := range c.Params {
			ps = append(ps, p.Data)
		}
		return ps
	}(), "round trip")

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	write := func(b []byte) string {
		p := filepath.Join(t.TempDir(), "bad")
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	for _, tc := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "not an snn checkpoint"},
		{"other file", []byte("hello, world, this is not it"), "not an snn checkpoint"},
		{"header only", raw[:14], "truncated"},
		{"truncated", raw[:len(raw)/2], "truncated"},
		{"one byte short", raw[:len(raw)-1], "truncated"},
		{"appended", append(append([]byte(nil), raw...), 0), "truncated or extended"},
		{"flipped bit", func() []byte { b := append([]byte(nil), raw...); b[len(b)/2] ^= 4; return b }(), "checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCheckpoint(write(tc.data))
			require.ErrorIs(t, err, ErrCorrupt)
			require.ErrorContains(t, err, tc.msg)
		})
	}
	newer := append([]byte(nil), raw...)
	newer[8] = 2
	_, err = ReadCheckpoint(write(newer))
	require.ErrorContains(t, err, "format version 2")
	_, err = ReadCheckpoint(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestRestoreMismatch(t *testing.T) {
	tr := newTiny(t, 1)
	c := tr.Checkpoint()

	cfg := tinyConfig(1)
	cfg.Hidden = []int{16, 16, 8}
	m, err := NewSeedNet(cfg)
	require.NoError(t, err)
	other := NewTrainer(m, NewAdam(), 1)
	require.ErrorContains(t, other.Restore(c), "dense3.kernel")

	m, err = NewSeedNet(tinyConfig(1))
	require.NoError(t, err)
	sgd := NewTrainer(m, NewSGD(), 1)
	require.ErrorContains(t, sgd.Restore(c), `optimizer "adam"`)

	// The parameters alone load into a model of the same architecture.
	m, err = NewSeedNet(tinyConfig(2))
	require.NoError(t, err)
	require.NoError(t, m.LoadParams(c.Params))
	requireSameBits(t, paramsOf(tr), paramsOf(NewTrainer(m, NewAdam(), 0)), "LoadParams")
	require.ErrorContains(t, other.Model.LoadParams(c.Params), "dense3.kernel")

	// A failed restore changes nothing.
	before := paramsOf(other)
	_ = other.Restore(c)
	requireSameBits(t, before, paramsOf(other), "failed restore")
}
