package onnx_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/snnkit/snn/data"
	"github.com/snnkit/snn/nn"
	"github.com/snnkit/snn/onnx"
)

// ortVersion is the onnxruntime-node release the exported models are
// checked with.
const ortVersion = "1.30.0"

// runORTScript runs an ONNX model with onnxruntime-node on one batch:
// argv model, input file (float32, little-endian), N, C, H, W, output
// folder; it writes each output as <name>.bin.
const runORTScript = `const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const [model, input, n, c, h, w, out] = process.argv.slice(2);
  const b = fs.readFileSync(input);
  const x = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  const s = await ort.InferenceSession.create(model);
  const r = await s.run({[s.inputNames[0]]: new ort.Tensor('float32', x, [+n, +c, +h, +w])});
  for (const name of s.outputNames) {
    const d = r[name].data;
    fs.writeFileSync(out + '/' + name + '.bin', Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  }
  console.log(ort.env.versions.common);
})().catch(e => { console.error(e); process.exit(1); });
`

// ortUnavailable skips the test with a notice, or fails it under SNN_CI=1,
// where the check is required.
func ortUnavailable(t *testing.T, format string, a ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, a...)
	if os.Getenv("SNN_CI") == "1" {
		t.Fatalf("ONNX Runtime check required (SNN_CI=1): %s", msg)
	}
	t.Skipf("NOTICE: exported models not checked by ONNX Runtime: %s", msg)
}

// ortModules installs onnxruntime-node with npm into a folder under the
// temporary directory, once: later runs find it there. It returns the
// node_modules folder.
func ortModules(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			ortUnavailable(t, "%s is not installed", tool)
		}
	}
	dir := filepath.Join(os.TempDir(), "snn-onnxruntime-node-"+ortVersion)
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "onnxruntime-node", "package.json")); err == nil {
		return mods
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "snn-onnxruntime-node-install")
	require.NoError(t, err)
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", tmp, "onnxruntime-node@"+ortVersion)
	// The package ships the CPU runtime; its install script would only
	// fetch the optional CUDA binaries, from outside the npm registry.
	cmd.Env = append(os.Environ(), "ONNXRUNTIME_NODE_INSTALL=skip")
	if out, err := cmd.CombinedOutput(); err != nil {
		ortUnavailable(t, "npm install onnxruntime-node@%s: %v\n%s", ortVersion, err, out)
	}
	// Another test process may have installed it meanwhile: either copy
	// is complete.
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(mods, "onnxruntime-node", "package.json")); serr != nil {
			require.NoError(t, err)
		}
	}
	return mods
}

// runORT runs the model on n samples of shape s and returns its outputs.
func runORT(t *testing.T, mods string, model []byte, x []float32, n int, s nn.Shape) map[string][]float32 {
	t.Helper()
	dir := t.TempDir()
	mp, xp, sp := filepath.Join(dir, "model.onnx"), filepath.Join(dir, "x.bin"), filepath.Join(dir, "run.js")
	require.NoError(t, os.WriteFile(mp, model, 0o644))
	require.NoError(t, os.WriteFile(xp, floatBytes(x), 0o644))
	require.NoError(t, os.WriteFile(sp, []byte(runORTScript), 0o644))
	cmd := exec.Command("node", sp, mp, xp, fmt.Sprint(n), fmt.Sprint(s.C), fmt.Sprint(s.H), fmt.Sprint(s.W), dir)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, ortVersion, strings.TrimSpace(string(out)))
	res := map[string][]float32{}
	for _, name := range []string{onnx.LogitsName, onnx.ProbabilitiesName} {
		b, err := os.ReadFile(filepath.Join(dir, name+".bin"))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		res[name] = v
	}
	return res
}

func floatBytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// images decodes a batch of image files as snn train decodes its data
// (CIE L*, resized to size x size): the repository's PNG figures and
// pictures drawn here (gradients, rings, checkerboards), encoded as PNG
// and read back through the same decoder.
func images(t *testing.T, size int) ([]float32, int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "docs", "img", "*.png"))
	require.NoError(t, err)
	var x []float32
	dst := make([]float32, size*size)
	for _, f := range files {
		_, err := data.DecodeLightnessFile(f, size, size, 0, dst, nil)
		require.NoError(t, err)
		x = append(x, dst...)
	}
	for k := range 8 - min(len(files), 4) {
		img := image.NewRGBA(image.Rect(0, 0, 40+7*k, 36+5*k))
		b := img.Bounds()
		for y := range b.Dy() {
			for xx := range b.Dx() {
				dx, dy := float64(xx-b.Dx()/2), float64(y-b.Dy()/2)
				ring := uint8(127 + 127*math.Sin(math.Hypot(dx, dy)/float64(2+k)))
				check := uint8(255 * ((xx/(3+k) + y/(4+k)) % 2))
				img.Set(xx, y, color.RGBA{R: ring, G: uint8(255 * xx / b.Dx()), B: check, A: 255})
			}
		}
		var buf bytes.Buffer
		require.NoError(t, png.Encode(&buf, img))
		_, err := data.DecodeLightness(&buf, size, size, 0, dst, nil)
		require.NoError(t, err)
		x = append(x, dst...)
	}
	return x, len(x) / (size * size)
}

// logitsTolerance bounds |ONNX Runtime - snn| for each logit, relative to
// the largest logit magnitude of the batch (at least 1): float32 sums over
// up to 4608 products per layer, in another order, through 16 layers.
const logitsTolerance = 1e-4

// TestONNXRuntimeMatchesSnn exports SeedNet in every variant, runs it with
// ONNX Runtime on a batch of images, and requires the logits snn computes
// (the model itself in evaluation mode, BatchNorm unfolded) within
// logitsTolerance, the same top-1 class on every image, and the
// probabilities of snn's Predictor within 1e-5.
//
// A test binary of another architecture than the host's (arm64 under
// qemu-aarch64) skips it: the host's ONNX Runtime checks the same model
// in the host's own test run, and emulation makes it minutes long.
func TestONNXRuntimeMatchesSnn(t *testing.T) {
	if out, err := exec.Command("go", "env", "GOHOSTARCH").Output(); err == nil && strings.TrimSpace(string(out)) != runtime.GOARCH {
		t.Skipf("test binary is %s on a %s host (emulated); the host's own run checks the models", runtime.GOARCH, strings.TrimSpace(string(out)))
	}
	mods := ortModules(t)
	for i, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			m := build(t, v.cfg, uint64(10+i))
			x, n := images(t, v.cfg.Height)
			tensors, err := nn.NewTensors(m.InputShape(), 1, x, make([]int32, n))
			require.NoError(t, err)
			st, err := nn.ComputeStandardization(tensors, n)
			require.NoError(t, err)
			model, err := onnx.Marshal(m, onnx.Options{Standardization: &st})
			require.NoError(t, err)
			got := runORT(t, mods, model, x, n, m.InputShape())

			// snn's forward pass on the inputs standardized as training
			// standardizes them.
			sd, err := st.Apply(tensors)
			require.NoError(t, err)
			idx := make([]int, n)
			for i := range idx {
				idx[i] = i
			}
			xs := make([]float32, len(x))
			require.NoError(t, sd.Load(idx, xs, make([]int32, n)))
			want := m.Forward(&nn.Context{}, n, xs)
			k := m.OutputShape().Size()

			p, err := nn.NewPredictor(m, &st, nil)
			require.NoError(t, err)
			probs := make([]float32, n*k)
			p.Predict(x, n, probs)

			name := onnx.LogitsName
			if v.cfg.SoftmaxOutput {
				name = onnx.ProbabilitiesName
			}
			require.Len(t, got[name], n*k)
			scale, diff := 1.0, 0.0
			for _, w := range want {
				scale = math.Max(scale, math.Abs(float64(w)))
			}
			for j := range want {
				diff = math.Max(diff, math.Abs(float64(got[name][j]-want[j])))
			}
			t.Logf("%s: max |ONNX Runtime - snn| = %.3g over %d images x %d outputs (largest |output| %.3g)", name, diff, n, k, scale)
			require.LessOrEqual(t, diff, logitsTolerance*scale)
			for i := range n {
				require.Equal(t, argmax(want[i*k:(i+1)*k]), argmax(got[name][i*k:(i+1)*k]), "top-1 of image %d", i)
			}
			require.Len(t, got[onnx.ProbabilitiesName], n*k)
			pd := 0.0
			for j := range probs {
				pd = math.Max(pd, math.Abs(float64(got[onnx.ProbabilitiesName][j]-probs[j])))
			}
			t.Logf("probabilities: max |ONNX Runtime - Predictor| = %.3g", pd)
			require.LessOrEqual(t, pd, 1e-5)
		})
	}
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
