package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInspectErrors(t *testing.T) {
	empty := t.TempDir()
	corrupt := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(corrupt, checkpointName), []byte("not a checkpoint"), 0o644))
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"inspect"}, 2, "-run is required"},
		{[]string{"inspect", "-run", filepath.Join(empty, "nope")}, 1, "no such file"},
		{[]string{"inspect", "-run", empty}, 1, checkpointName},
		{[]string{"inspect", "-run", corrupt}, 1, "-run " + corrupt},
		{[]string{"inspect", "-run", empty, "-n", "0"}, 1, "-n 0"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}

// TestInspectCommand trains two steps with the selfnorm constraint and
// inspects the run: a row per Conv2D and Dense layer, on the table and in
// the CSV, with omega = 0 and tau = 1 on every unit.
func TestInspectCommand(t *testing.T) {
	skipSlowPaths(t)
	data := tinyMNIST(t, 32, 16)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "train", "-data", data, "-out", dir, "-batch", "8", "-max-steps", "2",
		"-constraint", "selfnorm", "-standardize", "on", "-val-samples", "0", "-monitor-every", "0", "-progress", "none")
	require.Equal(t, 0, code, stderr)
	file := filepath.Join(t.TempDir(), "inspect.csv")
	code, stdout, stderr := runCLI(t, "inspect", "-run", dir, "-n", "12", "-batch", "5", "-csv", file)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "(step 2, selu 1x28x28, constraint selfnorm, standardize on): 12 test images of mnist")
	for _, s := range []string{"pred_var", "conv1_1", "conv4_3", "dense3", "output"} {
		assert.Contains(t, stdout, s)
	}
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 1+12+4, "header, 12 conv and 4 dense layers")
	head := recs[0]
	col := func(name string) int { return slices.Index(head, name) }
	assert.Equal(t, []string{"conv1_3", "conv2d", "selu1_3", "pool1"}, recs[3][:4])
	for _, r := range recs[1:] {
		omega, err := strconv.ParseFloat(r[col("omega")], 64)
		require.NoError(t, err)
		tau, err := strconv.ParseFloat(r[col("tau")], 64)
		require.NoError(t, err)
		assert.InDelta(t, 0, omega, 1e-5, r[0])
		assert.InDelta(t, 1, tau, 1e-5, r[0])
		v, err := strconv.ParseFloat(r[col("pre_var")], 64)
		require.NoError(t, err)
		assert.Greater(t, v, 0.0, r[0])
	}
	assert.Equal(t, "", recs[len(recs)-1][col("act_var")], "no activation after the output layer")
}
