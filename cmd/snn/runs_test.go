package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snnkit/snn/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildSNN builds the command for the tests that run it as a process.
func buildSNN(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "snn")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// metricsSteps reads the step column of a run folder's metrics.csv and
// requires the steps to increase strictly (no duplicate rows).
func metricsSteps(t *testing.T, dir string) []int64 {
	t.Helper()
	m, err := readMetrics(filepath.Join(dir, metricsName))
	require.NoError(t, err)
	var steps []int64
	for _, row := range m.rows {
		require.Len(t, row, len(m.header))
		s, err := strconv.ParseInt(row[0], 10, 64)
		require.NoError(t, err)
		if len(steps) > 0 {
			require.Greater(t, s, steps[len(steps)-1], "metrics.csv steps %v then %d", steps, s)
		}
		steps = append(steps, s)
	}
	return steps
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	tmps, err := filepath.Glob(filepath.Join(dir, nn.TempPattern(checkpointName)))
	require.NoError(t, err)
	return tmps
}

// TestRunFolderRules: a non-empty -out needs -resume or -force; a resume
// refuses another run's checkpoint, drops metrics rows past its
// checkpoint, removes stale temporary files and warns when the data
// changed.
func TestRunFolderRules(t *testing.T) {
	skipSlowPaths(t)
	data := tinyMNIST(t, 48, 8)
	common := []string{"-data", data, "-batch", "8", "-monitor-every", "2", "-val-every", "2", "-val-samples", "8",
		"-progress", "none", "-schedule", "constant", "-epochs", "5"}
	train := func(args ...string) (int, string) {
		code, _, stderr := runCLI(t, append(append([]string{"train"}, args...), common...)...)
		return code, stderr
	}

	// A folder with an earlier run's files but no checkpoint.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, configName), []byte("{}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, metricsName), []byte("step\n1\n"), 0o644))
	code, _, stderr := runCLI(t, "train", "-resume", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "the run stopped before its first checkpoint: start it again with -force -out "+dir)
	code, stderr = train("-out", dir, "-max-steps", "4")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, dir+" is not empty (config.json, metrics.csv)")
	assert.Contains(t, stderr, "-force")
	b, err := os.ReadFile(filepath.Join(dir, metricsName))
	require.NoError(t, err)
	assert.Equal(t, "step\n1\n", string(b), "nothing is overwritten")
	code, stderr = train("-out", dir, "-max-steps", "4", "-force")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, []int64{0, 2, 4}, metricsSteps(t, dir))
	code, _, stderr = runCLI(t, "train", "-resume", dir, "-force")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "give one")

	// Another run's checkpoint copied in is refused, naming the setting.
	other := filepath.Join(t.TempDir(), "other")
	code, stderr = train("-out", other, "-max-steps", "2", "-seed", "7")
	require.Equal(t, 0, code, stderr)
	mine, err := os.ReadFile(filepath.Join(dir, checkpointName))
	require.NoError(t, err)
	theirs, err := os.ReadFile(filepath.Join(other, checkpointName))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, checkpointName), theirs, 0o644))
	code, _, stderr = runCLI(t, "train", "-resume", dir, "-max-steps", "6")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "is not this folder's run: seed 1 in config.json, 7 in the checkpoint")
	require.NoError(t, os.WriteFile(filepath.Join(dir, checkpointName), mine, 0o644))

	// A kill leaves rows past the checkpoint, a row cut short and a
	// temporary file; the data's files change.
	f, err := os.OpenFile(filepath.Join(dir, metricsName), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	m, err := readMetrics(filepath.Join(dir, metricsName))
	require.NoError(t, err)
	for _, s := range []string{"6", "8"} {
		row := append([]string{s}, m.rows[len(m.rows)-1][1:]...)
		_, err = f.WriteString(strings.Join(row, ",") + "\n")
		require.NoError(t, err)
	}
	_, err = f.WriteString("10,0,1.2")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	stale := filepath.Join(dir, ".checkpoint.snn.tmp12345")
	require.NoError(t, os.WriteFile(stale, make([]byte, 1000), 0o600))
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(data, "train-labels-idx1-ubyte"), later, later))

	code, _, stderr = runCLI(t, "train", "-resume", dir, "-max-steps", "8", "-progress", "none")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, []int64{0, 2, 4, 6, 8}, metricsSteps(t, dir))
	assert.NoFileExists(t, stale)
	assert.Contains(t, stderr, "warning: the training data changed since the checkpoint")
	assert.Contains(t, stderr, "now "+filepath.Join(data, "train-labels-idx1-ubyte"))

	// Unchanged data: no warning.
	code, _, stderr = runCLI(t, "train", "-resume", dir, "-max-steps", "10", "-progress", "none")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "warning")
	assert.Equal(t, []int64{0, 2, 4, 6, 8, 10}, metricsSteps(t, dir))
}

// failFrom is a writer whose Write fails from call number from on, as
// on a full disk, after writing part of the bytes.
type failFrom struct {
	w           io.Writer
	calls, from int
}

func (f *failFrom) Write(p []byte) (int, error) {
	f.calls++
	if f.calls >= f.from {
		n, _ := f.w.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.w.Write(p)
}

// TestMetricsDiskFull: metrics.csv fails mid-run as on a full disk. The
// run saves the weights of its last step and names that checkpoint, once;
// resumed, it ends with the weights of a run that never failed.
func TestMetricsDiskFull(t *testing.T) {
	skipSlowPaths(t)
	data := tinyMNIST(t, 400, 8)
	common := []string{"-data", data, "-batch", "8", "-max-steps", "12", "-monitor-every", "2", "-val-samples", "0",
		"-progress", "none", "-schedule", "cosine", "-alpha-dropout", "0.1"}
	whole := t.TempDir()
	code, _, stderr := runCLI(t, append([]string{"train", "-out", whole}, common...)...)
	require.Equal(t, 0, code, stderr)
	defer func(f func(*os.File) io.Writer) { metricsWriter = f }(metricsWriter)
	for _, tc := range []struct {
		name string
		from int
		want string // the message about the checkpoint
	}{
		// The header fails: nothing was trained, there is no checkpoint.
		{"header", 1, ""},
		// The header, row 0 (flushed by step 1) and row 2 (by step 3)
		// are written; row 4 fails when step 5 flushes it.
		{"rows", 4, "the last good checkpoint is %s (step 5)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			metricsWriter = func(f *os.File) io.Writer { return &failFrom{w: f, from: tc.from} }
			dir := t.TempDir()
			ckpt := filepath.Join(dir, checkpointName)
			code, _, stderr := runCLI(t, append([]string{"train", "-out", dir}, common...)...)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, metricsName+": no space left on device")
			if tc.want == "" {
				assert.NotContains(t, stderr, "checkpoint")
				assert.NoFileExists(t, ckpt)
				return
			}
			msg := strings.Replace(tc.want, "%s", ckpt, 1)
			assert.Equal(t, 1, strings.Count(stderr, "checkpoint is"), "one message about the checkpoint: %s", stderr)
			assert.Contains(t, stderr, msg)
			c, err := nn.ReadCheckpoint(ckpt)
			require.NoError(t, err)
			assert.Equal(t, int64(5), c.Step)

			metricsWriter = func(f *os.File) io.Writer { return f }
			code, _, stderr = runCLI(t, "train", "-resume", dir, "-progress", "none")
			require.Equal(t, 0, code, stderr)
			a, b := params(t, whole), params(t, dir)
			for i := range a {
				require.Equal(t, a[i].Data, b[i].Data, "parameter %s", a[i].Name)
			}
			steps := metricsSteps(t, dir)
			assert.Equal(t, int64(12), steps[len(steps)-1])
		})
	}
}

// TestDivergingRunWritesResult: a run at a rate that makes it diverge
// still writes result.json (its non-finite statistics as null) and keeps
// NaN and Inf out of metrics.csv; the message names no checkpoint that
// does not exist.
func TestDivergingRunWritesResult(t *testing.T) {
	skipSlowPaths(t)
	data := tinyMNIST(t, 64, 8)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "train", "-data", data, "-out", dir, "-batch", "8", "-max-steps", "30", "-monitor-every", "2",
		"-val-samples", "0", "-opt", "sgd", "-lr", "10", "-schedule", "constant", "-progress", "none")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "loss is NaN")
	assert.Equal(t, 1, strings.Count(stderr, "loss is NaN"), "the error is printed once: %s", stderr)
	assert.Contains(t, stderr, "no checkpoint was written")
	assert.NotContains(t, stderr, "last good checkpoint")
	b, err := os.ReadFile(filepath.Join(dir, resultName))
	require.NoError(t, err, "result.json is written")
	var res struct {
		Steps     int64
		NonFinite string
		Var       map[string]*float64
	}
	require.NoError(t, json.Unmarshal(b, &res))
	assert.Contains(t, res.NonFinite, "loss is NaN")
	nulls := 0
	for _, v := range res.Var {
		if v == nil {
			nulls++
		}
	}
	assert.Positive(t, nulls, "non-finite variances are null: %s", b)
	m, err := os.ReadFile(filepath.Join(dir, metricsName))
	require.NoError(t, err)
	assert.NotContains(t, strings.ToLower(string(m)), "inf")
	assert.NotContains(t, strings.ToLower(string(m)), "nan")
}

func TestResultJSONNonFinite(t *testing.T) {
	r := runResult{Steps: 3, Test: nn.Metrics{N: 4, Loss: math.Inf(1), Top1: 0.5}, ImagesPerSec: math.NaN(),
		Var: map[string]float64{"a": math.Inf(1), "b": 2}, VarMin: map[string]float64{"a": math.Inf(-1)}}
	path := filepath.Join(t.TempDir(), resultName)
	require.NoError(t, writeJSON(path, &r))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Nil(t, got["ImagesPerSec"])
	assert.Equal(t, map[string]any{"N": 4.0, "Loss": nil, "Top1": 0.5, "Top5": 0.0}, got["Test"])
	assert.Equal(t, map[string]any{"a": nil, "b": 2.0}, got["Var"])
	assert.Equal(t, map[string]any{"a": nil}, got["VarMin"])
	assert.Equal(t, 3.0, got["Steps"])
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		assert.Empty(t, fmtF(v))
	}
	assert.Equal(t, "1.5", fmtF(1.5))
}

func TestInfFlagsAreRefused(t *testing.T) {
	for _, tc := range []struct{ flag, value string }{
		{"-lr", "Inf"}, {"-lr", "+Inf"}, {"-weight-decay", "inf"}, {"-eps", "Inf"}, {"-lr", "NaN"},
		{"-checkpoint-every", "-1"}, {"-checkpoint-interval", "-1s"},
	} {
		t.Run(tc.flag+tc.value, func(t *testing.T) {
			code, _, stderr := runCLI(t, "train", tc.flag, tc.value)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tc.flag+" ")
			assert.Contains(t, stderr, "out of range")
		})
	}
}

// TestSecondInterruptExits: the first signal cancels, the second exits.
func TestSecondInterruptExits(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	exited := make(chan struct{})
	var out syncBuffer
	ctx, done := interrupts(sigs, &out, func() { close(exited) })
	defer done()
	sigs <- os.Interrupt
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the first interrupt does not cancel")
	}
	select {
	case <-exited:
		t.Fatal("the first interrupt exits")
	case <-time.After(50 * time.Millisecond):
	}
	sigs <- os.Interrupt
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the second interrupt does not exit")
	}
	assert.Contains(t, out.String(), "interrupt again to quit at once")

	// done stops watching: no exit after it.
	sigs2 := make(chan os.Signal, 2)
	_, done2 := interrupts(sigs2, io.Discard, func() { t.Error("exit after done") })
	done2()
	sigs2 <- os.Interrupt
	sigs2 <- os.Interrupt
	time.Sleep(50 * time.Millisecond)
}

// syncBuffer is a bytes.Buffer that a process's output goroutine may write
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// countingSet counts Loads and cancels a context at the given one.
type countingSet struct {
	nn.Dataset
	loads, cancelAt int
	cancel          func()
}

func (c *countingSet) Load(idx []int, x []float32, labels []int32) error {
	c.loads++
	if c.loads == c.cancelAt {
		c.cancel()
	}
	return c.Dataset.Load(idx, x, labels)
}

// TestStandardizationStopsOnCancel: Ctrl-C during the input statistics
// stops them at the next batch.
func TestStandardizationStopsOnCancel(t *testing.T) {
	x := make([]float32, 2000*4*4)
	for i := range x {
		x[i] = float32(i % 7)
	}
	tens, err := nn.NewTensors(nn.Shape{C: 1, H: 4, W: 4}, 2, x, make([]int32, 2000))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	set := &countingSet{Dataset: tens, cancelAt: 2, cancel: cancel}
	_, err = standardization(ctx, Config{Standardize: "on"}, &dataSets{train: set}, nil, io.Discard)
	require.ErrorIs(t, err, errInterrupted)
	assert.Equal(t, 2, set.loads, "8 batches of 256; stopped after the second")
}

// TestEvalStopsOnInterrupt runs snn eval as a process on a large test
// set and interrupts it: it stops at once with status 130.
func TestEvalStopsOnInterrupt(t *testing.T) {
	skipSlowPaths(t)
	bin := buildSNN(t)
	run := t.TempDir()
	code, _, stderr := runCLI(t, "train", "-data", tinyMNIST(t, 16, 8), "-out", run, "-batch", "8", "-max-steps", "1",
		"-val-samples", "0", "-monitor-every", "0", "-progress", "none")
	require.Equal(t, 0, code, stderr)

	big := tinyMNIST(t, 16, 20000) // minutes of evaluation
	cmd := exec.Command(bin, "eval", "-checkpoint", run, "-data", big)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	var errOut syncBuffer
	require.NoError(t, cmd.Start())
	started := make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			_, _ = errOut.Write([]byte(sc.Text() + "\n"))
			if strings.HasPrefix(sc.Text(), "evaluating ") {
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("eval did not start")
	}
	time.Sleep(300 * time.Millisecond) // well inside the evaluation
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("eval ignored the interrupt")
	}
	pw.Close()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 130, exit.ExitCode())
	<-scanned
	assert.Contains(t, errOut.String(), "the evaluation was stopped")
}

// TestKillAndResume kills training (SIGKILL) at a random moment after
// its first checkpoint within the epoch, resumes it, and requires the
// checkpoint of an uninterrupted run byte for byte, a metrics.csv without
// duplicate steps, and no temporary file left. A few rounds in the short
// suite, 20 with SNN_LONG=1.
func TestKillAndResume(t *testing.T) {
	skipSlowPaths(t)
	rounds := 3
	if os.Getenv("SNN_LONG") == "1" {
		rounds = 20
	}
	bin := buildSNN(t)
	data := tinyMNIST(t, 800, 8) // 100 steps per epoch: every checkpoint is within it
	flags := []string{"-data", data, "-batch", "8", "-max-steps", "16", "-checkpoint-every", "2",
		"-schedule", "cosine", "-warmup", "5", "-alpha-dropout", "0.1",
		"-monitor-every", "3", "-val-every", "5", "-val-samples", "8", "-progress", "none"}
	whole := t.TempDir()
	code, _, stderr := runCLI(t, append([]string{"train", "-out", whole}, flags...)...)
	require.Equal(t, 0, code, stderr)
	want, err := os.ReadFile(filepath.Join(whole, checkpointName))
	require.NoError(t, err)
	wantSteps := metricsSteps(t, whole)

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	killed := 0
	for round := range rounds {
		dir := t.TempDir()
		ckpt := filepath.Join(dir, checkpointName)
		cmd := exec.Command(bin, append([]string{"train", "-out", dir}, flags...)...)
		var errOut syncBuffer
		cmd.Stderr = &errOut
		require.NoError(t, cmd.Start())
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		var first int64 = -1
		deadline := time.Now().Add(2 * time.Minute)
		for first < 0 && time.Now().Before(deadline) {
			if c, err := nn.ReadCheckpoint(ckpt); err == nil {
				first = c.Step
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		require.GreaterOrEqual(t, first, int64(0), "no checkpoint: %s", errOut.String())
		require.Less(t, first, int64(16), "the first checkpoint is within the epoch, before the end")
		time.Sleep(time.Duration(r.IntN(1500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := <-waited
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() {
			killed++
			c, err := nn.ReadCheckpoint(ckpt)
			require.NoError(t, err, "round %d: the checkpoint a kill leaves is intact", round)
			t.Logf("round %d: killed after step %d's checkpoint", round, c.Step)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			out, err := exec.CommandContext(ctx, bin, "train", "-resume", dir, "-progress", "none").CombinedOutput()
			cancel()
			require.NoError(t, err, "round %d: %s", round, out)
		} else {
			require.NoError(t, err, "round %d: %s", round, errOut.String())
			t.Logf("round %d: finished before the kill", round)
		}
		got, err := os.ReadFile(ckpt)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "round %d: the checkpoint differs from the uninterrupted run's", round)
		// The rows up to the checkpoint were on disk with it; the
		// resumed run wrote the others once.
		assert.Equal(t, wantSteps, metricsSteps(t, dir), "round %d", round)
		assert.Empty(t, tempFiles(t, dir), "round %d", round)
	}
	assert.Positive(t, killed, "no round was killed mid-run")
}

// TestProgressStopsWhereTheRunStopped: a run that fails or is
// interrupted does not draw its bar full.
func TestProgressStopsWhereTheRunStopped(t *testing.T) {
	for _, finished := range []bool{false, true} {
		var out bytes.Buffer
		p := newProgress("bar", &out, 10, 0)
		for s := int64(1); s <= 3; s++ {
			p.step(nn.StepStats{Step: s, N: 8, Compute: time.Millisecond})
		}
		time.Sleep(250 * time.Millisecond) // past the bar's throttle
		p.step(nn.StepStats{Step: 4, N: 8, Compute: time.Millisecond})
		p.done(finished)
		assert.Contains(t, out.String(), "3/10")
		assert.Equal(t, finished, strings.Contains(out.String(), "10/10"), "finished %v: %q", finished, out.String())
	}
}

// TestInspectAndEvalStopOnCancel: eval and inspect, given a cancelled
// context (Ctrl-C), stop at their first batch and report an interrupt.
func TestInspectAndEvalStopOnCancel(t *testing.T) {
	skipSlowPaths(t)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "train", "-data", tinyMNIST(t, 16, 64), "-out", dir, "-batch", "8", "-max-steps", "1",
		"-val-samples", "0", "-monitor-every", "0", "-progress", "none")
	require.Equal(t, 0, code, stderr)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	err := cmdInspect(ctx, []string{"-run", dir}, &out, &out)
	require.ErrorIs(t, err, errInterrupted)
	assert.ErrorContains(t, err, "measurement was stopped")
	err = cmdEval(ctx, []string{"-checkpoint", dir}, &out, &out)
	require.ErrorIs(t, err, errInterrupted)
	assert.ErrorContains(t, err, "evaluation was stopped")
}
