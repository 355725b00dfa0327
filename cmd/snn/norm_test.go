package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snnkit/snn/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"train", "-datanorm", "-1"}, "-datanorm -1 is out of range"},
		{[]string{"train", "-datanorm-variance"}, "-datanorm-variance and -datanorm-logits need -datanorm N"},
		{[]string{"train", "-datanorm-logits"}, "need -datanorm N"},
		{[]string{"train", "-datanorm-lr"}, "-datanorm-lr needs -datanorm N"},
		{[]string{"train", "-datanorm", "0", "-datanorm-lr"}, "-datanorm-lr needs -datanorm N"},
		{[]string{"train", "-datanorm-warmup", "10"}, "-datanorm-warmup needs -datanorm N"},
		{[]string{"train", "-datanorm-centre"}, "-datanorm-centre needs -datanorm N"},
		{[]string{"train", "-batchnorm-momentum", "0.9"}, "-batchnorm-momentum needs -batchnorm"},
		{[]string{"train", "-batchnorm", "-batchnorm-momentum", "1"}, "-batchnorm-momentum 1 is out of range"},
		{[]string{"train", "-batchnorm", "-batchnorm-momentum", "-0.5"}, "-batchnorm-momentum -0.5 is out of range"},
		{[]string{"train", "-datanorm", "4", "-datanorm-warmup", "-1"}, "-datanorm-warmup -1 is out of range"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			// Should the check be lost, the run stays tiny: one step on
			// a folder that holds no data, in a folder of the test's.
			args := append(tc.args, "-max-steps", "1", "-data", t.TempDir(), "-out", filepath.Join(t.TempDir(), "run"))
			code, _, stderr := runCLI(t, args...)
			assert.NotZero(t, code)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}

// TestNormVariantsRun runs every BatchNorm and DataNorm variant of compare
// for a few steps next to plain SELU: each trains without diverging, each
// configuration says what it ran, the DataNorm runs end with other weights
// than plain SELU's, the BatchNorm runs checkpoint moved moving statistics,
// and eval runs on a BatchNorm checkpoint. -datanorm-warmup and
// -datanorm-centre reach the DataNorm variants only (the others would
// refuse them).
func TestNormVariantsRun(t *testing.T) {
	skipSlowPaths(t)
	data := tinyMNIST(t, 32, 16)
	out := t.TempDir()
	names := []string{"selu-datanorm", "selu-datanorm-standardized", "selu-datanorm-variance-standardized",
		"selu-datanorm-lr", "selu-datanorm-lr-standardized", "selu-datanorm-centre", "relu-batchnorm", "selu-batchnorm"}
	code, stdout, stderr := runCLI(t, "compare", "-data", data, "-out", out, "-batch", "8", "-max-steps", "4",
		"-monitor-every", "2", "-val-every", "2", "-val-samples", "16", "-progress", "none", "-datanorm-warmup", "2", "-datanorm-centre", "-batchnorm-momentum", "0.9",
		"-variants", "selu,"+strings.Join(names, ","))
	require.Equal(t, 0, code, stderr)
	plain := params(t, filepath.Join(out, "selu"))
	for _, name := range names {
		assert.Contains(t, stdout, "| "+name+" | 4 |")
		var cfg Config
		b, err := os.ReadFile(filepath.Join(out, name, "config.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &cfg))
		ps := params(t, filepath.Join(out, name))
		if strings.Contains(name, "datanorm") {
			assert.Equal(t, int64(datanormEvery), cfg.DataNorm, name)
			assert.Equal(t, strings.Contains(name, "variance"), cfg.DataNormVariance, name)
			assert.Equal(t, strings.Contains(name, "-lr") || strings.Contains(name, "-centre"), cfg.DataNormLR, name)
			assert.Equal(t, int64(2), cfg.DataNormWarmup, name)
			assert.True(t, cfg.DataNormCentre, name)
			assert.Zero(t, cfg.BatchNormMomentum, "%s: -batchnorm-momentum is for the BatchNorm variants", name)
			c, err := nn.ReadCheckpoint(filepath.Join(out, name, checkpointName))
			require.NoError(t, err)
			assert.Equal(t, cfg.DataNormLR, len(c.LRScales) > 0, "%s: the checkpoint holds learning-rate factors", name)
			assert.False(t, cfg.BatchNorm, name)
			require.Equal(t, len(plain), len(ps), name)
			if !strings.Contains(name, "standardized") {
				assert.NotEqual(t, plain[0].Data, ps[0].Data, "%s: DataNorm changed the weights", name)
			}
			continue
		}
		assert.True(t, cfg.BatchNorm, name)
		assert.Equal(t, 0.9, cfg.BatchNormMomentum, "%s: -batchnorm-momentum reaches the BatchNorm variants", name)
		assert.Zero(t, cfg.DataNorm, name)
		assert.Zero(t, cfg.DataNormWarmup, "%s: -datanorm-warmup is for the DataNorm variants", name)
		assert.False(t, cfg.DataNormCentre, "%s: -datanorm-centre is for the DataNorm variants", name)
		var mv *nn.Tensor
		for i := range ps {
			if ps[i].Name == "bn1_1.moving_variance" {
				mv = &ps[i]
			}
		}
		require.NotNil(t, mv, "%s: the checkpoint holds the moving statistics", name)
		assert.NotEqual(t, float32(1), mv.Data[0], name)
	}
	code, stdout, stderr = runCLI(t, "eval", "-checkpoint", filepath.Join(out, "selu-batchnorm"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "(step 4) on mnist: top-1")
}

func TestNormTitle(t *testing.T) {
	c := defaults()
	assert.Equal(t, "", normTitle(c))
	c.BatchNorm = true
	assert.Equal(t, " + batchnorm", normTitle(c))
	c = defaults()
	c.DataNorm, c.DataNormVariance, c.DataNormLogits = 4, true, true
	assert.Equal(t, " + datanorm every 4 (variance only) (logits too)", normTitle(c))
	c = defaults()
	c.DataNorm, c.DataNormLR = 2, true
	assert.Equal(t, " + datanorm every 2 (learning rates scaled)", normTitle(c))
	c.DataNormWarmup = 100
	assert.Equal(t, " + datanorm every 2 (learning rates scaled) (every step to step 100)", normTitle(c))
	c.DataNormCentre = true
	assert.Equal(t, " + datanorm every 2 (learning rates scaled) (gradients centred) (every step to step 100)", normTitle(c))
}

// TestNormVariantConfigs: each normalization variant of compare sets the
// configuration its name says, from any configuration, and runs only when
// asked for by name.
func TestNormVariantConfigs(t *testing.T) {
	type want struct {
		batchnorm                  bool
		datanorm                   int64
		variance, lr, standardized bool
		centre                     bool
		warmup                     int64
	}
	cases := map[string]want{
		"selu-datanorm":                       {datanorm: datanormEvery},
		"selu-datanorm-standardized":          {datanorm: datanormEvery, standardized: true},
		"selu-datanorm-variance-standardized": {datanorm: datanormEvery, variance: true, standardized: true},
		"selu-datanorm-lr":                    {datanorm: datanormEvery, lr: true},
		"selu-datanorm-lr-standardized":       {datanorm: datanormEvery, lr: true, standardized: true},
		"selu-datanorm-centre":                {datanorm: datanormEvery, lr: true, centre: true, warmup: datanormWarmup},
		"relu-batchnorm":                      {batchnorm: true},
		"selu-batchnorm":                      {batchnorm: true},
		"selu":                                {},
	}
	all := append(append([]variant(nil), variants...), extraVariants...)
	found := 0
	for _, v := range all {
		w, ok := cases[v.name]
		if !ok {
			continue
		}
		found++
		t.Run(v.name, func(t *testing.T) {
			for i, from := range []Config{defaults(), func() Config {
				c := defaults()
				c.BatchNorm, c.DataNorm, c.DataNormVariance, c.DataNormLogits, c.DataNormLR = true, 7, true, true, true
				c.DataNormCentre = true // as -datanorm-centre sets it
				return c
			}()} {
				v.apply(&from)
				assert.Equal(t, w.warmup, from.DataNormWarmup, "warm-up")
				if i == 0 || w.datanorm == 0 {
					assert.Equal(t, w.centre, from.DataNormCentre, "gradients centred")
				} else {
					assert.True(t, from.DataNormCentre, "-datanorm-centre reaches every DataNorm variant")
				}
				assert.Equal(t, w.batchnorm, from.BatchNorm)
				assert.Equal(t, w.datanorm, from.DataNorm)
				assert.Equal(t, w.variance, from.DataNormVariance)
				assert.Equal(t, w.lr, from.DataNormLR)
				assert.False(t, from.DataNormLogits)
				assert.Equal(t, w.standardized, from.Standardize == "on")
				require.NoError(t, from.finish(), "the variant's configuration is valid")
			}
		})
	}
	assert.Equal(t, len(cases), found, "every variant of the table exists")
	for _, name := range []string{"selu-datanorm-lr", "selu-datanorm-lr-standardized", "selu-datanorm-centre"} {
		assert.Contains(t, variantNames(extraVariants), name)
		assert.NotContains(t, variantNames(variants), name, "runs only when asked for")
	}
}

// TestDataNormLRResumeIsExact trains 6 steps with -datanorm 1 -datanorm-lr
// in one go, and 3 + 3 with a resume in between, and requires the same
// weights and learning-rate factors bit for bit.
func TestDataNormLRResumeIsExact(t *testing.T) {
	skipSlowPaths(t)
	data := tinyMNIST(t, 48, 16)
	common := []string{"-data", data, "-batch", "8", "-monitor-every", "2", "-val-every", "3", "-val-samples", "8",
		"-progress", "none", "-schedule", "constant", "-datanorm", "1", "-datanorm-lr"}
	whole, parts := t.TempDir(), t.TempDir()
	code, _, stderr := runCLI(t, append([]string{"train", "-out", whole, "-max-steps", "6"}, common...)...)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI(t, append([]string{"train", "-out", parts, "-max-steps", "3"}, common...)...)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI(t, "train", "-resume", parts, "-max-steps", "6", "-progress", "none")
	require.Equal(t, 0, code, stderr)

	b, err := os.ReadFile(filepath.Join(parts, "config.json"))
	require.NoError(t, err)
	var cfg Config
	require.NoError(t, json.Unmarshal(b, &cfg))
	assert.True(t, cfg.DataNormLR)
	a, err := nn.ReadCheckpoint(filepath.Join(whole, checkpointName))
	require.NoError(t, err)
	p, err := nn.ReadCheckpoint(filepath.Join(parts, checkpointName))
	require.NoError(t, err)
	require.NotEmpty(t, a.LRScales)
	assert.Equal(t, a.LRScales, p.LRScales, "learning-rate factors")
	require.Equal(t, len(a.Params), len(p.Params))
	for i := range a.Params {
		require.Equal(t, a.Params[i].Data, p.Params[i].Data, "parameter %s", a.Params[i].Name)
	}
}
