package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingLoad is a data set whose Load fails from the given call on, as an
// image that disappears mid-run does.
type failingLoad struct {
	Dataset
	calls, failAt int
}

func (f *failingLoad) Load(idx []int, x []float32, labels []int32) error {
	f.calls++
	if f.calls >= f.failAt {
		return errors.New("image 17 vanished")
	}
	return f.Dataset.Load(idx, x, labels)
}

// badLabel is a data set whose batch number failAt holds a label outside
// the classes.
type badLabel struct {
	Dataset
	calls, failAt int
}

func (b *badLabel) Load(idx []int, x []float32, labels []int32) error {
	b.calls++
	err := b.Dataset.Load(idx, x, labels)
	if b.calls == b.failAt {
		labels[0] = 1000
	}
	return err
}

// TestFitSavesOnError: whatever stops Fit after its loop has started
// (a batch that fails to load, a bad label, a failing OnStep, OnValidate
// or monitor) first checkpoints the last completed step, and resuming
// from it ends with the weights of an uninterrupted run.
func TestFitSavesOnError(t *testing.T) {
	d := synthetic(6, 44, 4, 16, 16)
	val := synthetic(7, 8, 4, 16, 16)
	cfg := FitConfig{BatchSize: 8, Epochs: 2}
	want := paramsOf(fit(t, 7, d, cfg))
	boom := errors.New("metrics.csv: no space left on device")
	for _, tc := range []struct {
		name     string
		data     func() Dataset
		change   func(*FitConfig)
		steps    int64 // done when Fit fails
		contains string
	}{
		// The monitor loads its batch first: call 1.
		{"load", func() Dataset { return &failingLoad{Dataset: d, failAt: 6} }, nil, 4, "image 17 vanished"},
		{"label", func() Dataset { return &badLabel{Dataset: d, failAt: 4} }, nil, 2, "label 1000"},
		{"OnStep", nil, func(c *FitConfig) {
			c.OnStep = func(s StepStats) error {
				if s.Step == 5 {
					return boom
				}
				return nil
			}
		}, 5, boom.Error()},
		{"OnValidate", nil, func(c *FitConfig) {
			c.Validation, c.ValidateEvery = val, 3
			c.OnValidate = func(step int64, _ Metrics) error {
				if step == 6 {
					return boom
				}
				return nil
			}
		}, 6, boom.Error()},
		{"monitor", nil, func(c *FitConfig) {
			c.Monitor.OnReport = func(r *Report) error {
				if r.Step == 4 {
					return boom
				}
				return nil
			}
		}, 4, boom.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ckpt")
			c := cfg
			c.CheckpointPath = path
			c.Monitor = &Monitor{Every: 2}
			if tc.change != nil {
				tc.change(&c)
			}
			ds := Dataset(d)
			if tc.data != nil {
				ds = tc.data()
			}
			tr := newTiny(t, 7)
			err := tr.Fit(context.Background(), ds, c)
			require.ErrorContains(t, err, tc.contains)
			require.Equal(t, tc.steps, tr.Step())
			ck, err := ReadCheckpoint(path)
			require.NoError(t, err, "a checkpoint of the last completed step")
			assert.Equal(t, tc.steps, ck.Step)

			resumed := newTiny(t, 98)
			_, err = resumed.Load(path)
			require.NoError(t, err)
			require.NoError(t, resumed.Fit(context.Background(), d, cfg))
			requireSameBits(t, want, paramsOf(resumed), "resumed after "+tc.name)
		})
	}
}

// fullDisk is a temporary file that takes room bytes, then fails as a
// full disk does.
type fullDisk struct {
	*os.File
	room int
}

func (f *fullDisk) Write(p []byte) (int, error) {
	if len(p) > f.room {
		n, _ := f.File.Write(p[:f.room])
		f.room = 0
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.room -= len(p)
	return f.File.Write(p)
}

// TestCheckpointDiskFull: a checkpoint that cannot be written leaves the
// previous one intact and no temporary file behind, and Fit's error says
// both what stopped it and that saving failed.
func TestCheckpointDiskFull(t *testing.T) {
	d := synthetic(6, 44, 4, 16, 16)
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.snn")
	tr := newTiny(t, 7)
	require.NoError(t, tr.Fit(context.Background(), d, FitConfig{BatchSize: 8, MaxSteps: 3, CheckpointPath: path}))
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	defer func(f func(string, string) (tempFile, error)) { createTemp = f }(createTemp)
	for _, room := range []int{0, 100, len(good) - 20, len(good) - 1} {
		t.Run(fmt.Sprint(room), func(t *testing.T) {
			createTemp = func(dir, pattern string) (tempFile, error) {
				f, err := os.CreateTemp(dir, pattern)
				if err != nil {
					return nil, err
				}
				return &fullDisk{File: f, room: room}, nil
			}
			tr := newTiny(t, 7)
			_, err := tr.Load(path)
			require.NoError(t, err)
			stop := errors.New("stop")
			err = tr.Fit(context.Background(), d, FitConfig{BatchSize: 8, MaxSteps: 10, CheckpointPath: path,
				OnStep: func(s StepStats) error {
					if s.Step == 5 {
						return stop
					}
					return nil
				}})
			require.ErrorIs(t, err, stop)
			require.ErrorContains(t, err, "saving step 5 failed too")
			require.ErrorContains(t, err, "no space left on device")
			now, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			require.Equal(t, good, now, "the last good checkpoint is untouched")
			tmps, gerr := filepath.Glob(filepath.Join(dir, TempPattern(path)))
			require.NoError(t, gerr)
			assert.Empty(t, tmps, "no temporary file is left behind")
		})
	}

	// A checkpoint that fails by itself (at step 6, every 3 steps) stops
	// Fit with the write error.
	createTemp = func(dir, pattern string) (tempFile, error) {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		return &fullDisk{File: f, room: 64}, nil
	}
	tr = newTiny(t, 7)
	_, err = tr.Load(path)
	require.NoError(t, err)
	err = tr.Fit(context.Background(), d, FitConfig{BatchSize: 8, MaxSteps: 20, CheckpointPath: path, CheckpointEvery: 3})
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.Equal(t, int64(6), tr.Step())
}

// TestCheckpointIntervals: CheckpointEvery counts steps within an epoch
// too, and CheckpointInterval adds checkpoints by time.
func TestCheckpointIntervals(t *testing.T) {
	d := synthetic(6, 44, 4, 16, 16) // 6 batches per epoch
	for _, tc := range []struct {
		every    int64
		interval time.Duration
		want     []int64
	}{
		{0, 0, []int64{6, 8}}, // the end of the epoch, and the end
		{3, 0, []int64{3, 6, 8}},
		{5, 0, []int64{5, 8}},
		{0, time.Nanosecond, []int64{1, 2, 3, 4, 5, 6, 7, 8, 8}},
		{0, time.Hour, []int64{6, 8}},
	} {
		t.Run(fmt.Sprint(tc.every, tc.interval), func(t *testing.T) {
			var steps []int64
			tr := newTiny(t, 7)
			require.NoError(t, tr.Fit(context.Background(), d, FitConfig{
				BatchSize: 8, MaxSteps: 8, CheckpointPath: filepath.Join(t.TempDir(), "ckpt"),
				CheckpointEvery: tc.every, CheckpointInterval: tc.interval,
				Checkpoint: func(c *Checkpoint) { steps = append(steps, c.Step) },
			}))
			assert.Equal(t, tc.want, steps)
		})
	}
}

// TestCheckpointMode: checkpoints are 0644 like the other files of a run
// folder, not os.CreateTemp's 0600.
func TestCheckpointMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ckpt")
	require.NoError(t, newTiny(t, 1).Save(path, nil))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}

// TestMonitorVarianceDoesNotOverflow: outputs around 1e22, whose variance
// exceeds float32's range, are reported with a finite variance.
func TestMonitorVarianceDoesNotOverflow(t *testing.T) {
	tr := newTiny(t, 4)
	m := tr.Model
	batch := synthetic(3, 6, 4, 16, 16)
	for i := range batch.X {
		batch.X[i] = (batch.X[i] - 0.5) * 1e22
	}
	mon := &Monitor{X: batch.X, N: 6}
	r, err := mon.Measure(m, 0)
	require.NoError(t, err)
	_, vars := refStats(m, batch.X, 6)
	for i := range m.Layers() {
		want := vars[i]
		lr := r.Layers[i]
		require.False(t, math.IsInf(lr.Var, 0) || math.IsNaN(lr.Var), "%s: variance %v", lr.Name, lr.Var)
		assert.InEpsilon(t, want, lr.Var, 1e-4, lr.Name)
	}
	require.Greater(t, r.Layers[0].Var, float64(math.MaxFloat32), "the test reaches beyond float32")
}

func ExampleTempPattern() {
	path := filepath.Join("runs", "a", "checkpoint.snn")
	fmt.Println(TempPattern(path))
	// A program resuming from path removes what a killed writer left.
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), TempPattern(path)))
	for _, p := range stale {
		os.Remove(p)
	}
	// Output: .checkpoint.snn.tmp*
}
