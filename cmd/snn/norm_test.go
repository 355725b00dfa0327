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
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			assert.NotZero(t, code)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}

// TestNormVariantsRun runs every BatchNorm and DataNorm variant of compare
// for a few steps next to plain SELU: each trains without diverging, each
// configuration says what it ran, the DataNorm runs end with other weights
// than plain SELU's, the BatchNorm runs checkpoint moved moving statistics,
// and eval runs on a BatchNorm checkpoint.
func TestNormVariantsRun(t *testing.T) {
	skipSlowPaths(t)
	data := tinyMNIST(t, 32, 16)
	out := t.TempDir()
	names := []string{"selu-datanorm", "selu-datanorm-standardized", "selu-datanorm-variance-standardized", "relu-batchnorm", "selu-batchnorm"}
	code, stdout, stderr := runCLI(t, "compare", "-data", data, "-out", out, "-batch", "8", "-max-steps", "4",
		"-monitor-every", "2", "-val-every", "2", "-val-samples", "16", "-progress", "none",
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
			assert.False(t, cfg.BatchNorm, name)
			require.Equal(t, len(plain), len(ps), name)
			if !strings.Contains(name, "standardized") {
				assert.NotEqual(t, plain[0].Data, ps[0].Data, "%s: DataNorm changed the weights", name)
			}
			continue
		}
		assert.True(t, cfg.BatchNorm, name)
		assert.Zero(t, cfg.DataNorm, name)
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
}
