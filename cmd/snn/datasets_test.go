package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bad data stops a run with an error that names the file, the folder or
// the line, before any training step.
func TestBadDataStopsTheRun(t *testing.T) {
	root, train, _, cats := placesTree(t, 4) // 9 training images of 24x20
	typo := filepath.Join(root, "typo.txt")
	b, err := os.ReadFile(train)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(typo, append(b, "a/abbey/00000001.png 36500000\n"...), 0o644))
	folders := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(folders, "abbey"), 0o755))
	png, err := os.ReadFile(filepath.Join(root, "b", "beach", "00000001.png"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(folders, "beach"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(folders, "beach", "1.png"), png, 0o644))
	places := []string{"-places-train", train, "-places-root", root}
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"image above the cap", append(places, "-max-pixels", "479"), ".png: image is 24x20, more than the cap of 479 pixels"},
		{"negative cap", append(places, "-max-pixels", "-1"), "-max-pixels -1 is out of range"},
		{"typo in a label", []string{"-places-train", typo, "-places-root", root}, "typo.txt:10: label 36500000 is not below the cap of 100000 classes"},
		{"label past the categories", []string{"-places-train", typo, "-places-root", root, "-places-categories", cats}, "typo.txt:10: label 36500000, but " + cats + " has 3 classes"},
		{"empty class folder", []string{"-folder", folders}, "class folder " + filepath.Join(folders, "abbey") + " holds no .jpg, .jpeg or .png file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"train", "-size", "16", "-batch", "2", "-max-steps", "1", "-standardize", "off",
				"-out", t.TempDir(), "-progress", "none"}, tc.args...)
			code, _, stderr := runCLI(t, args...)
			assert.Equal(t, 1, code, stderr)
			assert.Contains(t, stderr, tc.msg)
			assert.NotContains(t, stderr, "step 1")
		})
	}
	// Within the cap, the same run trains.
	code, _, stderr := runCLI(t, append([]string{"train", "-size", "16", "-batch", "2", "-max-steps", "1", "-standardize", "off",
		"-out", t.TempDir(), "-progress", "none", "-max-pixels", "480"}, places...)...)
	assert.Equal(t, 0, code, stderr)
}
