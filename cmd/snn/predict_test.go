package main

import (
	"encoding/binary"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/snnkit/snn/data"
	"github.com/snnkit/snn/internal/onnxpb"
	"github.com/snnkit/snn/nn"
)

type predictDoc struct {
	Checkpoint string       `json:"checkpoint"`
	Images     []prediction `json:"images"`
}

func predictJSON(t *testing.T, args ...string) (int, predictDoc, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"predict", "-json"}, args...)...)
	var doc predictDoc
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	return code, doc, stderr
}

// trainedPlaces trains a few steps on a Places365-format tree and returns
// the tree and the run folder.
func trainedPlaces(t *testing.T) (root, cats, run string) {
	t.Helper()
	root, train, _, cats := placesTree(t, 6)
	run = t.TempDir()
	code, _, stderr := runCLI(t, "train", "-places-train", train, "-places-root", root, "-places-categories", cats,
		"-size", "16", "-batch", "4", "-max-steps", "3", "-monitor-every", "0", "-val-samples", "0",
		"-out", run, "-progress", "none")
	require.Equal(t, 0, code, stderr)
	return root, cats, run
}

func TestPredictPlaces(t *testing.T) {
	skipSlowPaths(t)
	root, cats, run := trainedPlaces(t)
	folder := filepath.Join(root, "b")
	one := filepath.Join(root, "a", "abbey", "00000002.png")

	code, stdout, stderr := runCLI(t, "predict", "-checkpoint", run, "-top", "2", one)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^`+one+`\n  1\. +\d+\.\d{3}%  /[abc]/[a-z]+ \(\d\)\n  2\. `, stdout)

	code, doc, stderr := predictJSON(t, "-checkpoint", filepath.Join(run, checkpointName), "-top", "5", "-batch", "4", one, folder)
	require.Equal(t, 0, code, stderr)
	require.Len(t, doc.Images, 7, "one file and the six of the folder")
	assert.Equal(t, one, doc.Images[0].File)
	assert.Equal(t, filepath.Join(folder, "beach", "00000001.png"), doc.Images[1].File)

	// Every answer is what the Go API computes on the image decoded as
	// the data package decodes training images.
	p, err := nn.Load(filepath.Join(run, checkpointName))
	require.NoError(t, err)
	x := make([]float32, 16*16)
	probs := make([]float32, p.Classes())
	for _, r := range doc.Images {
		require.Empty(t, r.Error)
		require.Len(t, r.Top, 3, "-top 5 of 3 classes")
		_, err := data.DecodeLightnessFile(r.File, 16, 16, 0, x, nil)
		require.NoError(t, err)
		p.Predict(x, 1, probs)
		sum := 0.0
		for i, c := range r.Top {
			assert.InDelta(t, probs[c.Class], c.Probability, 1e-5, "%s class %d", r.File, c.Class)
			assert.Equal(t, []string{"/a/abbey", "/b/beach", "/c/canyon"}[c.Class], c.Name)
			if i > 0 {
				assert.LessOrEqual(t, c.Probability, r.Top[i-1].Probability)
			}
			sum += c.Probability
		}
		assert.InDelta(t, 1, sum, 1e-5)
	}

	good := make([]float32, p.Classes())
	_, err = data.DecodeLightnessFile(one, 16, 16, 0, x, nil)
	require.NoError(t, err)
	p.Predict(x, 1, good)

	t.Run("bad inputs", func(t *testing.T) {
		dir := t.TempDir()
		missing := filepath.Join(dir, "missing.png")
		text := filepath.Join(dir, "notes.png")
		require.NoError(t, os.WriteFile(text, []byte("not an image"), 0o644))
		code, doc, stderr := predictJSON(t, "-checkpoint", run, "-top", "3", missing, one, text)
		assert.Equal(t, 1, code)
		require.Len(t, doc.Images, 3)
		assert.Contains(t, doc.Images[0].Error, missing)
		assert.Contains(t, doc.Images[0].Error, "no such file")
		assert.Empty(t, doc.Images[1].Error, "the good file is still answered")
		require.Len(t, doc.Images[1].Top, 3)
		for _, c := range doc.Images[1].Top {
			assert.InDelta(t, good[c.Class], c.Probability, 1e-5, "the good file's own answer")
		}
		assert.Contains(t, doc.Images[2].Error, text)
		assert.Contains(t, doc.Images[2].Error, "unknown format")
		assert.Contains(t, stderr, "snn predict: "+doc.Images[0].Error)
		assert.Contains(t, stderr, "snn: 2 of 3 images could not be read")

		// Text output still answers the good file.
		code, stdout, _ := runCLI(t, "predict", "-checkpoint", run, text, one)
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, one+"\n  1. ")
		assert.NotContains(t, stdout, text)
	})

	t.Run("corrupt checkpoint", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(run, checkpointName))
		require.NoError(t, err)
		b[len(b)/3] ^= 0x40
		bad := filepath.Join(t.TempDir(), "bad.snn")
		require.NoError(t, os.WriteFile(bad, b, 0o644))
		code, stdout, stderr := runCLI(t, "predict", "-checkpoint", bad, one)
		assert.Equal(t, 1, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, bad)
		assert.Contains(t, stderr, "corrupt checkpoint")
	})

	t.Run("checkpoint without inference sections", func(t *testing.T) {
		// As snn train wrote them before it recorded the architecture
		// and the class names: both come from the run's configuration.
		c, err := nn.ReadCheckpoint(filepath.Join(run, checkpointName))
		require.NoError(t, err)
		delete(c.Sections, nn.SeedNetSection)
		delete(c.Sections, nn.ClassNamesSection)
		old := filepath.Join(t.TempDir(), "old.snn")
		require.NoError(t, nn.WriteCheckpoint(old, c))
		code, got, stderr := predictJSON(t, "-checkpoint", old, one)
		require.Equal(t, 0, code, stderr)
		require.Len(t, got.Images[0].Top, 3)
		for i, c := range got.Images[0].Top {
			// doc's answer came from a batch of 4: the sums of a batch of
			// one run in another order.
			want := doc.Images[0].Top[i]
			assert.Equal(t, want.Class, c.Class)
			assert.Equal(t, want.Name, c.Name)
			assert.InDelta(t, want.Probability, c.Probability, 1e-5)
		}

		require.NoError(t, os.Rename(cats, cats+".moved"))
		defer os.Rename(cats+".moved", cats)
		code, got, stderr = predictJSON(t, "-checkpoint", old, one)
		require.Equal(t, 0, code, stderr)
		for _, c := range got.Images[0].Top {
			assert.Empty(t, c.Name, "no names without the categories file")
		}
	})

	t.Run("export", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "seednet.onnx")
		code, stdout, stderr := runCLI(t, "export", "-checkpoint", run, "-onnx", out)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, out+": ONNX opset 17, input 1x16x16, 3 classes")
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		var mp onnxpb.ModelProto
		require.NoError(t, proto.Unmarshal(b, &mp))
		g := mp.GetGraph()
		assert.Equal(t, "Sub", g.GetNode()[0].GetOpType(), "the run standardized its inputs")
		mean := g.GetInitializer()[0]
		assert.Equal(t, "input_mean", mean.GetName())
		st, _ := p.Standardization()
		assert.Equal(t, math.Float32bits(float32(st.Mean[0])), binary.LittleEndian.Uint32(mean.GetRawData()))
		require.Len(t, mp.GetMetadataProps(), 1)
		assert.Equal(t, `["/a/abbey","/b/beach","/c/canyon"]`, mp.GetMetadataProps()[0].GetValue())
		assert.Contains(t, mp.GetDocString(), "SeedNet 1x16x16 -> 3 classes, selu")
		entries, err := os.ReadDir(filepath.Dir(out))
		require.NoError(t, err)
		assert.Len(t, entries, 1, "no temporary file left")
		fi, err := os.Stat(out)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "the model is shared like the checkpoint")

		code, _, stderr = runCLI(t, "export", "-checkpoint", run)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "-checkpoint and -onnx are required")
		code, _, stderr = runCLI(t, "export", "-checkpoint", filepath.Join(root, "nope.snn"), "-onnx", out)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "nope.snn")
	})

	t.Run("usage", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{[]string{"predict", one}, "-checkpoint is required"},
			{[]string{"predict", "-checkpoint", run}, "give at least one image or folder"},
			{[]string{"predict", "-checkpoint", run, "-top", "0", one}, "-top 0: want 1 or more"},
		} {
			code, _, stderr := runCLI(t, tc.args...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.msg)
		}
		empty := t.TempDir()
		code, _, stderr := runCLI(t, "predict", "-checkpoint", run, empty)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, empty+" holds no .jpg, .jpeg or .png file")
	})
}

// TestPredictMNIST writes MNIST images as PNG files and requires predict
// to answer them as the run's own test set is answered: same pixels, same
// padding, same standardization.
func TestPredictMNIST(t *testing.T) {
	skipSlowPaths(t)
	dir := tinyMNIST(t, 24, 6)
	run := t.TempDir()
	code, _, stderr := runCLI(t, "train", "-data", dir, "-size", "32", "-batch", "8", "-max-steps", "2",
		"-monitor-every", "0", "-val-samples", "0", "-out", run, "-progress", "none")
	require.Equal(t, 0, code, stderr)
	_, test, err := data.LoadMNIST(dir)
	require.NoError(t, err)
	padded := pad(test, 32)
	p, err := nn.Load(filepath.Join(run, checkpointName))
	require.NoError(t, err)
	pngs := t.TempDir()
	var files []string
	for i := range test.Len() {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for j, v := range test.Image(i) {
			img.Pix[j] = uint8(math.Round(float64(v) * 255))
		}
		path := filepath.Join(pngs, string(rune('a'+i))+".png")
		f, err := os.Create(path)
		require.NoError(t, err)
		require.NoError(t, png.Encode(f, img))
		require.NoError(t, f.Close())
		files = append(files, path)
	}
	code, doc, stderr := predictJSON(t, append([]string{"-checkpoint", run, "-top", "10"}, files...)...)
	require.Equal(t, 0, code, stderr)
	probs := make([]float32, p.Classes())
	for i, r := range doc.Images {
		p.Predict(padded.Image(i), 1, probs)
		require.Len(t, r.Top, 10)
		for _, c := range r.Top {
			assert.Empty(t, c.Name, "MNIST's classes are their indices")
			assert.InDelta(t, probs[c.Class], c.Probability, 1e-5, "image %d class %d", i, c.Class)
		}
	}
}
