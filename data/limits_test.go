package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hugePNG is a PNG whose header declares w x h RGB pixels, followed by the
// start of its image data: a decoder that trusts the header allocates
// 4*w*h bytes before it finds the data cut short.
func hugePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, solid(8, 8, color.RGBA{10, 20, 30, 255})))
	p := b.Bytes()
	// Signature (8), then IHDR: length (4), type (4), width, height, bit
	// depth, colour type..., and a CRC of type and data.
	require.Equal(t, "IHDR", string(p[12:16]))
	require.Equal(t, []byte{8, 2}, p[24:26], "8-bit RGB")
	binary.BigEndian.PutUint32(p[16:], uint32(w))
	binary.BigEndian.PutUint32(p[20:], uint32(h))
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	idat := bytes.Index(p, []byte("IDAT"))
	require.Positive(t, idat)
	return p[:idat+4+8]
}

// hugeJPEG is a baseline JPEG whose frame header declares w x h pixels,
// cut a few bytes into its scan data.
func hugeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, solid(16, 16, color.RGBA{10, 20, 30, 255}), nil))
	p := b.Bytes()
	// SOF0: marker, length (2), precision (1), height (2), width (2).
	sof := bytes.Index(p, []byte{0xff, 0xc0})
	require.Positive(t, sof)
	require.Equal(t, []byte{8, 0, 16, 0, 16}, p[sof+4:sof+9])
	binary.BigEndian.PutUint16(p[sof+5:], uint16(h))
	binary.BigEndian.PutUint16(p[sof+7:], uint16(w))
	sos := bytes.Index(p, []byte{0xff, 0xda})
	require.Greater(t, sos, sof)
	return p[:sos+2+int(binary.BigEndian.Uint16(p[sos+2:]))+4]
}

func TestHugeImageHeaderIsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		file      []byte
		maxPixels int
		err       string
	}{
		{"png-100000x100000.png", hugePNG(t, 100000, 100000), 0, "image is 100000x100000, more than the cap of 67108864 pixels"},
		{"jpeg-65000x65000.jpg", hugeJPEG(t, 65000, 65000), 0, "image is 65000x65000, more than the cap of 67108864 pixels"},
		{"png-one-above-cap.png", hugePNG(t, 300, 200), 300*200 - 1, "image is 300x200, more than the cap of 59999 pixels"},
		{"jpeg-one-above-cap.jpg", hugeJPEG(t, 300, 200), 300*200 - 1, "image is 300x200, more than the cap of 59999 pixels"},
		{"png-just-above-default.png", hugePNG(t, 8192, 8193), 0, "image is 8192x8193, more than the cap"},
		// The PNG decoder itself refuses sizes whose byte count
		// overflows int64.
		{"png-2^31-squared.png", hugePNG(t, 1<<31-1, 1<<31-1), 0, "png: unsupported feature: dimension overflow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(path, tc.file, 0o644))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := DecodeLightnessFile(path, 4, 4, tc.maxPixels, make([]float32, 16), nil)
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), tc.err)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated")
		})
	}

	// The cap is inclusive, and a header within it reaches the decoder,
	// which finds the data cut short.
	path := filepath.Join(dir, "small.png")
	writePNG(t, path, solid(20, 17, color.White))
	dst := make([]float32, 16)
	_, err := DecodeLightnessFile(path, 4, 4, 20*17, dst, nil)
	require.NoError(t, err)
	assert.InDelta(t, 1, dst[5], 1e-6)
	_, err = DecodeLightnessFile(path, 4, 4, 20*17-1, dst, nil)
	require.ErrorContains(t, err, "image is 20x17, more than the cap of 339 pixels")
	cut := filepath.Join(dir, "cut.png")
	require.NoError(t, os.WriteFile(cut, hugePNG(t, 30, 30), 0o644))
	_, err = DecodeLightnessFile(cut, 4, 4, 0, dst, nil)
	require.ErrorContains(t, err, cut)
	assert.NotContains(t, err.Error(), "more than the cap")

	_, err = DecodeLightness(bytes.NewReader(nil), 0, 4, 0, nil, nil)
	require.ErrorContains(t, err, "size 0x4 must be positive")
}

// Files apply their Limits to every image they load.
func TestFilesApplyThePixelCap(t *testing.T) {
	root := t.TempDir()
	writePNG(t, filepath.Join(root, "a", "1.png"), solid(20, 17, color.White))
	writePNG(t, filepath.Join(root, "b", "1.png"), solid(5, 5, color.Black))
	x := make([]float32, 9)
	for _, tc := range []struct {
		lim Limits
		err string
	}{
		{Limits{}, ""},
		{Limits{MaxPixels: 20 * 17}, ""},
		{Limits{MaxPixels: 20*17 - 1}, filepath.Join(root, "a", "1.png") + ": image is 20x17, more than the cap of 339 pixels"},
	} {
		f, err := ReadClassFolders(root, 3, 3, tc.lim)
		require.NoError(t, err)
		_, err = f.Load(0, x)
		if tc.err == "" {
			require.NoError(t, err)
			continue
		}
		require.ErrorContains(t, err, tc.err)
		l := NewLoader(f, 1)
		err = l.LoadBatch([]int{1, 0}, make([]float32, 18), make([]int32, 2))
		l.Close()
		require.ErrorContains(t, err, tc.err)
	}
}

func TestPlacesListLabelsAreBounded(t *testing.T) {
	root, _, cats, _ := placesTree(t)
	list := filepath.Join(root, "list.txt")
	catsFile := func(name, content string) string {
		p := filepath.Join(root, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	for _, tc := range []struct {
		name    string
		list    string
		cats    string
		lim     Limits
		err     string
		classes int
	}{
		{"one-digit typo", "a.png 3\nb.png 36500000\n", "", Limits{}, "list.txt:2: label 36500000 is not below the cap of 100000 classes", 0},
		{"past int32", "a.png 4294967297\n", "", Limits{}, "list.txt:1: label 4294967297 is not below the cap", 0},
		{"past int64", "a.png 99999999999999999999\n", "", Limits{}, "list.txt:1: label \"99999999999999999999\" is not a non-negative integer", 0},
		{"last below the default cap", "a.png 99999\n", "", Limits{}, "", 100000},
		{"at the default cap", "a.png 100000\n", "", Limits{}, "list.txt:1: label 100000 is not below the cap of 100000 classes", 0},
		{"own cap", "a.png 1\nb.png 5\n", "", Limits{MaxClasses: 5}, "list.txt:2: label 5 is not below the cap of 5 classes", 0},
		{"within its own cap", "a.png 1\nb.png 4\n", "", Limits{MaxClasses: 5}, "", 5},
		{"categories fix the classes", "a.png 0\n", cats, Limits{}, "", 3},
		{"label past the categories", "a.png 0\nb.png 2\nc.png 3\n", cats, Limits{}, "list.txt:3: label 3, but " + cats + " has 3 classes", 0},
		{"category past the cap", "a.png 0\n", catsFile("cap.txt", "/a/a 0\n/b/b 7\n"), Limits{MaxClasses: 7}, "cap.txt:2: class index 7 is not below the cap of 7 classes", 0},
		{"category twice", "a.png 0\n", catsFile("twice.txt", "/a/a 0\n/b/b 1\n/c/c 1\n"), Limits{}, "twice.txt:3: class index 1 again (first at " + filepath.Join(root, "twice.txt") + ":2)", 0},
		{"category missing", "a.png 0\n", catsFile("missing.txt", "/a/a 0\n\n/c/c 2\n"), Limits{}, "missing.txt: class index 1 is missing, but " + filepath.Join(root, "missing.txt") + ":3 has index 2", 0},
		{"no categories", "a.png 0\n", catsFile("none.txt", "\n"), Limits{}, "none.txt lists no classes", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(list, []byte(tc.list), 0o644))
			f, err := ReadPlacesList(list, root, tc.cats, 8, 8, tc.lim)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.classes, f.Classes())
			if tc.cats != "" {
				assert.Len(t, f.ClassNames, tc.classes)
			}
		})
	}
}

func TestEmptyClassFolderIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string // below the root; a name ending in / is a folder
		err   string   // a folder or file below the root, or a message
	}{
		{"empty first", []string{"a/", "b/1.png"}, "a"},
		{"empty between", []string{"a/1.png", "b/", "c/1.png"}, "b"},
		{"only other files", []string{"a/1.png", "b/notes.txt", "b/deep/x.gif"}, "b"},
		{"empty last", []string{"a/1.png", "z/deep/"}, "z"},
		{"all present", []string{"a/1.png", "b/deep/2.png"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, p := range tc.files {
				full := filepath.Join(root, p)
				switch {
				case strings.HasSuffix(p, "/"):
					require.NoError(t, os.MkdirAll(full, 0o755))
				case strings.HasSuffix(p, ".png"):
					writePNG(t, full, solid(3, 3, color.White))
				default:
					require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
					require.NoError(t, os.WriteFile(full, []byte("x"), 0o644))
				}
			}
			f, err := ReadClassFolders(root, 3, 3, Limits{})
			if tc.err == "" {
				require.NoError(t, err)
				assert.Equal(t, []int32{0, 1}, f.Labels)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf("class folder %s holds no .jpg, .jpeg or .png file", filepath.Join(root, tc.err)))
		})
	}

	root := t.TempDir()
	for _, c := range []string{"a", "b", "c"} {
		writePNG(t, filepath.Join(root, c, "1.png"), solid(3, 3, color.White))
	}
	_, err := ReadClassFolders(root, 3, 3, Limits{MaxClasses: 2})
	require.ErrorContains(t, err, "has 3 class folders, more than the cap of 2 classes")
	_, err = ReadClassFolders(root, 3, 3, Limits{MaxClasses: 3})
	require.NoError(t, err)
}
