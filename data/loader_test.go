package data

import (
	"fmt"
	"image/color"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadChecksItsArguments(t *testing.T) {
	set := &Set{Name: "s", C: 1, H: 2, W: 2, NumClasses: 2, X: make([]float32, 3*4), Y: []int32{0, 1, 0}}
	root := t.TempDir()
	writePNG(t, filepath.Join(root, "a", "1.png"), solid(3, 3, color.White))
	files, err := ReadClassFolders(root, 2, 2, Limits{})
	require.NoError(t, err)
	for _, src := range []Source{set, files} {
		n := src.Len()
		for _, i := range []int{-1, n, 1 << 62} {
			_, err := src.Load(i, make([]float32, 4))
			require.ErrorContains(t, err, fmt.Sprintf("Load: index %d outside the %d images", i, n))
		}
		for _, size := range []int{0, 3, 5} {
			_, err := src.Load(0, make([]float32, size))
			require.ErrorContains(t, err, fmt.Sprintf("= %d, want", size))
		}
		_, err := src.Load(n-1, make([]float32, 4))
		require.NoError(t, err)
	}
}
