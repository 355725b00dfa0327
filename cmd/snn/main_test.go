package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyMNIST writes an MNIST-shaped data set of n training and m test
// images (28x28, ten classes, digits drawn as bars) as IDX files.
func tinyMNIST(t *testing.T, n, m int) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, dims []int, data []byte) {
		var b bytes.Buffer
		b.Write([]byte{0, 0, 8, byte(len(dims))})
		for _, d := range dims {
			_ = binary.Write(&b, binary.BigEndian, uint32(d))
		}
		b.Write(data)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644))
	}
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", n}, {"t10k", m}} {
		px := make([]byte, s.n*28*28)
		lb := make([]byte, s.n)
		for i := 0; i < s.n; i++ {
			lb[i] = byte(i % 10)
			// Class c lights rows 2c+2 .. 2c+4.
			for r := 2*int(lb[i]) + 2; r < 2*int(lb[i])+5; r++ {
				for c := 4; c < 24; c++ {
					px[i*784+r*28+c] = byte(200 + i%50)
				}
			}
		}
		write(s.prefix+"-images-idx3-ubyte", []int{s.n, 28, 28}, px)
		write(s.prefix+"-labels-idx1-ubyte", []int{s.n}, lb)
	}
	return dir
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestFlagErrors(t *testing.T) {
	data := tinyMNIST(t, 16, 8)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"train", "-act", "tanh"}, `-act "tanh": want selu or relu`},
		{[]string{"train", "-constraint", "unit"}, `-constraint "unit": want one of`},
		{[]string{"train", "-opt", "rmsprop"}, `-opt "rmsprop"`},
		{[]string{"train", "-batch", "0"}, "-batch 0 is out of range"},
		{[]string{"train", "-size", "8"}, "-size 8 is out of range"},
		{[]string{"train", "-alpha-dropout", "1"}, "-alpha-dropout 1 is out of range"},
		{[]string{"train", "-lr", "-1"}, "-lr -1 is out of range"},
		{[]string{"train", "-epochs", "0"}, "-epochs 0 needs -max-steps"},
		{[]string{"train", "-data", data, "-folder", data}, "alternatives: give one"},
		{[]string{"train", "-places-train", "x.txt"}, "-places-train needs -places-root"},
		{[]string{"train", "-momentum", "0.9"}, "-momentum and -nesterov are for -opt sgd"},
		{[]string{"train", "-opt", "sgd", "-eps", "1e-3"}, "-eps has no meaning for -opt sgd"},
		{[]string{"train", "-centralize", "maybe"}, "want true or false"},
		{[]string{"train", "-data", t.TempDir()}, "train-images-idx3-ubyte(.gz) not found"},
		{[]string{"train", "-data", data, "-size", "20"}, "smaller than MNIST's 28x28"},
		{[]string{"train", "-data", data, "-classes", "5"}, "-classes 5 is fewer than the data set's 10"},
		{[]string{"train", "-resume", t.TempDir()}, "-resume"},
		{[]string{"eval"}, "-checkpoint is required"},
		{[]string{"eval", "-checkpoint", filepath.Join(t.TempDir(), "nope.snn")}, "no such file"},
		{[]string{"compare", "-variants", "selu,gelu"}, `unknown variant "gelu"`},
		{[]string{"plot"}, "Usage: snn plot RUNDIR"},
		{[]string{"plot", "-h"}, "Usage: snn plot RUNDIR"},
		{[]string{"plot", t.TempDir()}, "not a run folder"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			assert.NotZero(t, code)
			assert.Contains(t, stderr, tc.msg)
		})
	}
	code, _, stderr := runCLI(t, "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
	code, _, _ = runCLI(t, "train", "-h")
	assert.Equal(t, 2, code)
}

// params reads the parameters of a run folder's checkpoint.
func params(t *testing.T, dir string) []nn.Tensor {
	t.Helper()
	c, err := nn.ReadCheckpoint(filepath.Join(dir, checkpointName))
	require.NoError(t, err)
	return c.Params
}

// TestResumeIsExact trains 6 steps in one go, and 3 + 3 with a resume in
// between that extends the run, and requires the same weights bit for bit.
// (A constant rate: a cosine schedule's rates depend on the run's length,
// which the extension changes.)
func TestResumeIsExact(t *testing.T) {
	skipSlowPaths(t)
	data := tinyMNIST(t, 48, 16)
	common := []string{"-data", data, "-batch", "8", "-monitor-every", "2", "-val-every", "3", "-val-samples", "8",
		"-progress", "none", "-schedule", "constant"}
	whole, parts := t.TempDir(), t.TempDir()
	code, stdout, stderr := runCLI(t, append([]string{"train", "-out", whole, "-max-steps", "6"}, common...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "test: top-1")
	assert.True(t, strings.HasPrefix(stderr, "kernels "+kernels.Describe()+"\n"), "the first line names the kernels and why: %q", stderr)
	code, _, stderr = runCLI(t, append([]string{"train", "-out", parts, "-max-steps", "3"}, common...)...)
	require.Equal(t, 0, code, stderr)

	// The run folder is not reused by accident.
	code, _, stderr = runCLI(t, append([]string{"train", "-out", parts, "-max-steps", "3"}, common...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "already holds a run")
	// A resumed run cannot change its configuration.
	code, _, stderr = runCLI(t, "train", "-resume", parts, "-max-steps", "6", "-act", "relu")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "-act cannot change")

	// The cap on image sizes may change: it is not a training setting.
	code, _, stderr = runCLI(t, "train", "-resume", parts, "-max-steps", "6", "-progress", "none", "-max-pixels", "5000000")
	require.Equal(t, 0, code, stderr)
	a, b := params(t, whole), params(t, parts)
	require.Equal(t, len(a), len(b))
	for i := range a {
		require.Equal(t, a[i].Data, b[i].Data, "parameter %s", a[i].Name)
	}
	// metrics.csv continues rather than restarting.
	m, err := readMetrics(filepath.Join(parts, "metrics.csv"))
	require.NoError(t, err)
	steps, _ := m.column("train_loss")
	assert.Equal(t, float64(6), steps[len(steps)-1])
	for _, f := range []string{"loss.png", "accuracy.png", "activations.png", "config.json", "result.json"} {
		assert.FileExists(t, filepath.Join(parts, f))
	}

	code, stdout, stderr = runCLI(t, "eval", "-checkpoint", parts)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "(step 6) on mnist: top-1")
}

// TestInterruptSavesAndResumes runs the real binary, interrupts it with
// SIGINT during training, resumes it, and requires the weights of an
// uninterrupted run of the same configuration, bit for bit (with a
// warm-up and a cosine schedule, whose rates depend on the step).
func TestInterruptSavesAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	skipSlowPaths(t)
	bin := filepath.Join(t.TempDir(), "snn")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	data := tinyMNIST(t, 800, 16)
	flags := []string{"-data", data, "-batch", "8", "-max-steps", "60", "-schedule", "cosine", "-warmup", "10",
		"-val-samples", "0", "-monitor-every", "4", "-alpha-dropout", "0.1"}

	whole := t.TempDir()
	code, _, stderr := runCLI(t, append([]string{"train", "-out", whole, "-progress", "none"}, flags...)...)
	require.Equal(t, 0, code, stderr)

	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"train", "-out", dir, "-progress", "none"}, flags...)...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	require.NoError(t, cmd.Start())
	// Interrupt once a few monitor rows show training is under way.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(filepath.Join(dir, "metrics.csv"))
		if bytes.Count(b, []byte("\n")) >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, errOut.String())
	assert.Equal(t, 130, exit.ExitCode(), errOut.String())
	assert.Contains(t, errOut.String(), "Continue with:")
	c, err := nn.ReadCheckpoint(filepath.Join(dir, checkpointName))
	require.NoError(t, err)
	require.Greater(t, c.Step, int64(0))
	require.Less(t, c.Step, int64(60), "interrupted before the end")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err = exec.CommandContext(ctx, bin, "train", "-resume", dir, "-progress", "none").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "test: top-1")
	a, b := params(t, whole), params(t, dir)
	for i := range a {
		require.Equal(t, a[i].Data, b[i].Data, "parameter %s after an interrupted run", a[i].Name)
	}
}

func TestCompareWritesTableAndPlot(t *testing.T) {
	skipSlowPaths(t)
	data := tinyMNIST(t, 32, 16)
	out := t.TempDir()
	code, stdout, stderr := runCLI(t, "compare", "-data", data, "-out", out, "-batch", "8", "-max-steps", "4",
		"-monitor-every", "2", "-val-every", "2", "-val-samples", "16", "-progress", "none", "-variants", "relu,selu-centralize")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "| relu | 4 |")
	assert.Contains(t, stdout, "| selu-centralize | 4 |")
	assert.FileExists(t, filepath.Join(out, "compare.md"))
	assert.FileExists(t, filepath.Join(out, "compare.png"))
	assert.FileExists(t, filepath.Join(out, "relu", "activations.png"))
}

func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for several seconds")
	}
	skipSlowPaths(t)
	code, stdout, stderr := runCLI(t, "bench", "-quick")
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{"kernels: " + kernels.Describe(), "gemm blocks " + gemmBlocks(kernels.Active()) + "\n", "conv chunks " + bytesIEC(conv.ChunkBytes()) + "\n", "SELU", "elements/ns", "GFLOP/s", "SeedNet training step"} {
		assert.Contains(t, stdout, want)
	}
}

// skipSlowPaths skips tests that run the command as a process or measure
// speed where that proves nothing and costs minutes: on the generic
// kernels (the pure-Go GEMM makes each SeedNet step seconds long; the
// kernels themselves are tested in their packages), and when the test
// binary is not the host's own architecture (arm64 under qemu-aarch64),
// where a built binary would not even run.
func skipSlowPaths(t *testing.T) {
	t.Helper()
	if kernels.ISA() == kernels.Generic {
		t.Skip("the generic kernels: minutes of SeedNet steps that test nothing of the command")
	}
	out, err := exec.Command("go", "env", "GOHOSTARCH").Output()
	if err != nil {
		t.Skipf("cannot ask go for the host architecture: %v", err)
	}
	if host := strings.TrimSpace(string(out)); host != runtime.GOARCH {
		t.Skipf("test binary is %s on a %s host (emulated)", runtime.GOARCH, host)
	}
}

// placesTree writes a Places365-format collection of small PNG images:
// train and val lists, a categories file, and images whose brightness
// depends on the class.
func placesTree(t *testing.T, perClass int) (root, train, val, cats string) {
	t.Helper()
	root = t.TempDir()
	classes := []string{"/a/abbey", "/b/beach", "/c/canyon"}
	var tr, va, ca bytes.Buffer
	for c, name := range classes {
		fmt.Fprintf(&ca, "%s %d\n", name, c)
		for i := 0; i < perClass; i++ {
			img := image.NewGray(image.Rect(0, 0, 24, 20))
			for p := range img.Pix {
				img.Pix[p] = uint8(60*c + 40 + (p*7+i)%30)
			}
			rel := fmt.Sprintf("%s/%08d.png", name, i+1)
			path := filepath.Join(root, rel)
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			f, err := os.Create(path)
			require.NoError(t, err)
			require.NoError(t, png.Encode(f, img))
			require.NoError(t, f.Close())
			if i%4 == 3 {
				fmt.Fprintf(&va, "%s %d\n", rel, c)
			} else {
				fmt.Fprintf(&tr, "%s %d\n", rel, c)
			}
		}
	}
	train, val, cats = filepath.Join(root, "train.txt"), filepath.Join(root, "val.txt"), filepath.Join(root, "categories.txt")
	require.NoError(t, os.WriteFile(train, tr.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(val, va.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(cats, ca.Bytes(), 0o644))
	return root, train, val, cats
}

func TestPlacesEndToEnd(t *testing.T) {
	skipSlowPaths(t)
	root, train, val, cats := placesTree(t, 8)
	out := t.TempDir()
	code, stdout, stderr := runCLI(t, "train", "-places-train", train, "-places-val", val, "-places-root", root,
		"-places-categories", cats, "-size", "16", "-batch", "4", "-max-steps", "4", "-monitor-every", "2",
		"-val-every", "2", "-out", out, "-progress", "none")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "data places365: 18 training images, 6 test images")
	assert.Contains(t, stderr, "input standardization from 18 training images")
	assert.Contains(t, stdout, "test: top-1")
	code, stdout, stderr = runCLI(t, "eval", "-checkpoint", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "on places365: top-1")

	// A broken image in the list fails the run, naming the file.
	bad := filepath.Join(root, "a", "abbey", "00000001.png")
	require.NoError(t, os.WriteFile(bad, []byte("not a png"), 0o644))
	code, _, stderr = runCLI(t, "train", "-places-train", train, "-places-root", root, "-size", "16", "-batch", "4",
		"-max-steps", "2", "-out", t.TempDir(), "-progress", "none", "-standardize", "off")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, bad)
}

func TestRunTitle(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Act: "relu", Constraint: "none", Standardize: "off"}, "mnist relu"},
		{Config{Act: "selu", Constraint: "centralize", Standardize: "off"}, "mnist selu + centralize"},
		{Config{Act: "selu", Constraint: "selfnorm", Standardize: "on"}, "mnist selu + selfnorm + standardized inputs"},
		{Config{Act: "selu", Constraint: "centralize", Standardize: "on", AlphaDropout: 0.1}, "mnist selu + centralize + standardized inputs + dropout 0.1"},
	} {
		assert.Equal(t, tc.want, runTitle(tc.cfg, "mnist"))
	}
}

func TestValidationInterval(t *testing.T) {
	for _, tc := range []struct{ every, perEpoch, total, want int64 }{
		{0, 1875, 1875, 468},  // one epoch: four times
		{0, 1875, 3750, 468},  // two epochs: four times each
		{0, 1875, 500, 125},   // a short run: four times in it
		{0, 1875, 0, 468},     // no limit known
		{0, 2, 2, 1},          // never 0
		{100, 1875, 500, 100}, // -val-every wins
	} {
		assert.Equal(t, tc.want, validationInterval(tc.every, tc.perEpoch, tc.total), "%+v", tc)
	}
}
