package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idxBytes builds an IDX file of unsigned bytes.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func TestReadIDX(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6}
	good := idxBytes([]int{2, 3}, data)
	for _, tc := range []struct {
		name string
		in   []byte
		err  string
	}{
		{"plain", good, ""},
		{"gzip", gz(good), ""},
		{"empty", nil, "not an IDX file"},
		{"bad magic", append([]byte{1, 2}, good[2:]...), "does not start with two zero bytes"},
		{"not bytes", append([]byte{0, 0, 0x0d}, good[3:]...), "is not unsigned byte"},
		{"short header", good[:9], "header truncated in dimension 2 of 2"},
		{"short data", good[:len(good)-1], "promises 6 bytes, found 5"},
		{"short gzip data", gz(good[:len(good)-2]), "promises 6 bytes, found 4"},
		{"no dims", []byte{0, 0, 8, 0}, "no dimensions"},
		{"huge claim", idxBytes([]int{1 << 20, 1 << 20, 1 << 20}, nil), "more than"},
		{"overflowing claim", idxBytes([]int{1 << 16, 1 << 16, 1 << 31}, nil), "more than 4294967296 bytes"},
		{"largest claim", idxBytes([]int{1<<32 - 1, 1<<32 - 1, 1<<32 - 1, 1<<32 - 1}, nil), "more than 4294967296 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx, err := ReadIDX(bytes.NewReader(tc.in))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []int{2, 3}, idx.Dims)
			assert.Equal(t, data, idx.Data)
		})
	}
}

// writeMNIST writes a small MNIST-shaped set of four IDX files.
func writeMNIST(t *testing.T, dir string, nTrain, nTest int, compress bool) {
	t.Helper()
	write := func(name string, b []byte) {
		if compress {
			name += ".gz"
			b = gz(b)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}} {
		px := make([]byte, s.n*4*5)
		for i := range px {
			px[i] = byte(i * 7)
		}
		lb := make([]byte, s.n)
		for i := range lb {
			lb[i] = byte(i % 10)
		}
		write(s.prefix+"-images-idx3-ubyte", idxBytes([]int{s.n, 4, 5}, px))
		write(s.prefix+"-labels-idx1-ubyte", idxBytes([]int{s.n}, lb))
	}
}

func TestLoadMNIST(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dir := t.TempDir()
		writeMNIST(t, dir, 12, 5, compress)
		train, test, err := LoadMNIST(dir)
		require.NoError(t, err)
		assert.Equal(t, 12, train.Len())
		assert.Equal(t, 5, test.Len())
		assert.Equal(t, [3]int{1, 4, 5}, [3]int{train.C, train.H, train.W})
		assert.Equal(t, float32(7)/255, train.X[1])
		assert.Equal(t, int32(3), train.Y[3])
		require.NoError(t, train.Check())
	}
}

func TestLoadMNISTErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, 12, 5, false)
	p := filepath.Join(dir, "train-labels-idx1-ubyte")
	b, _ := os.ReadFile(p)
	require.NoError(t, os.WriteFile(p, b[:len(b)-3], 0o644))
	_, _, err := LoadMNIST(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), p)
	assert.Contains(t, err.Error(), "truncated")

	writeMNIST(t, dir, 12, 5, false)
	require.NoError(t, os.WriteFile(p, idxBytes([]int{11}, make([]byte, 11)), 0o644))
	_, _, err = LoadMNIST(dir)
	require.ErrorContains(t, err, "has 12 images but")

	require.NoError(t, os.WriteFile(p, idxBytes([]int{12}, bytes.Repeat([]byte{10}, 12)), 0o644))
	_, _, err = LoadMNIST(dir)
	require.ErrorContains(t, err, "label 10 of image 0 is outside [0, 10)")

	require.NoError(t, os.Remove(p))
	_, _, err = LoadMNIST(dir)
	require.ErrorContains(t, err, "train-labels-idx1-ubyte(.gz) not found")
}

func TestLightnessKnownValues(t *testing.T) {
	for _, tc := range []struct {
		r, g, b uint8
		want    float64 // L*/100, CIE 1976 under D65
	}{
		{255, 255, 255, 1},
		{0, 0, 0, 0},
		{255, 0, 0, 0.53241},
		{0, 255, 0, 0.87735},
		{0, 0, 255, 0.32297},
		{128, 128, 128, 0.53585},
		{119, 119, 119, 0.50034},
		{1, 1, 1, 0.002741},
	} {
		assert.InDelta(t, tc.want, Lightness(tc.r, tc.g, tc.b), 2e-5, "%v", tc)
		s := func(v uint8) uint32 { return uint32(v) * 0x101 }
		assert.InDelta(t, tc.want, Lightness16(s(tc.r), s(tc.g), s(tc.b)), 2e-5, "16-bit %v", tc)
	}
	assert.InDelta(t, 0.4950, LightnessFromY(0.18), 1e-4) // 18% grey
	// Black is exactly 0 on every architecture, and greys rise
	// monotonically to white.
	assert.Equal(t, 0.0, Lightness(0, 0, 0))
	assert.Equal(t, 0.0, LightnessFromY(0))
	for v := 1; v < 256; v++ {
		lo, hi := Lightness(uint8(v-1), uint8(v-1), uint8(v-1)), Lightness(uint8(v), uint8(v), uint8(v))
		require.Greater(t, hi, lo, "grey %d", v)
	}
	assert.InDelta(t, 1, Lightness(255, 255, 255), 1e-6)
	// The two branches meet at the threshold (6/29)^3.
	const knee = 6.0 / 29 * 6 / 29 * 6 / 29
	assert.InDelta(t, LightnessFromY(knee), LightnessFromY(math.Nextafter(knee, 1)), 1e-12)
}

func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, png.Encode(f, img))
	require.NoError(t, f.Close())
}

func writeJPEG(t testing.TB, path string, img image.Image) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, jpeg.Encode(f, img, &jpeg.Options{Quality: 95}))
	require.NoError(t, f.Close())
}

func solid(w, h int, c color.Color) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestDecodeLightness(t *testing.T) {
	dir := t.TempDir()
	red := color.RGBA{255, 0, 0, 255}
	writePNG(t, filepath.Join(dir, "red.png"), solid(10, 6, red))
	writeJPEG(t, filepath.Join(dir, "red.jpg"), solid(10, 6, red))
	grey := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range grey.Pix {
		grey.Pix[i] = 119
	}
	writePNG(t, filepath.Join(dir, "grey.png"), grey)
	// A left-to-right ramp keeps its order after resizing.
	ramp := image.NewGray(image.Rect(0, 0, 64, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 64; x++ {
			ramp.Pix[y*64+x] = uint8(x * 4)
		}
	}
	writePNG(t, filepath.Join(dir, "ramp.png"), ramp)

	dst := make([]float32, 16)
	_, err := DecodeLightnessFile(filepath.Join(dir, "red.png"), 4, 4, 0, dst, nil)
	require.NoError(t, err)
	for _, v := range dst {
		assert.InDelta(t, 0.53241, v, 1e-4)
	}
	_, err = DecodeLightnessFile(filepath.Join(dir, "red.jpg"), 4, 4, 0, dst, nil)
	require.NoError(t, err)
	for _, v := range dst {
		assert.InDelta(t, 0.53241, v, 0.02, "JPEG is lossy")
	}
	var scratch *image.RGBA
	scratch, err = DecodeLightnessFile(filepath.Join(dir, "grey.png"), 4, 4, 0, dst, scratch)
	require.NoError(t, err)
	for _, v := range dst {
		assert.InDelta(t, 0.50034, v, 1e-4)
	}
	_, err = DecodeLightnessFile(filepath.Join(dir, "ramp.png"), 4, 4, 0, dst, scratch)
	require.NoError(t, err)
	for y := 0; y < 4; y++ {
		for x := 1; x < 4; x++ {
			assert.Greater(t, dst[y*4+x], dst[y*4+x-1])
		}
	}

	_, err = DecodeLightnessFile(filepath.Join(dir, "red.png"), 4, 4, 0, make([]float32, 15), nil)
	require.ErrorContains(t, err, "len(dst) = 15")
	bad := filepath.Join(dir, "bad.jpg")
	b, _ := os.ReadFile(filepath.Join(dir, "red.jpg"))
	require.NoError(t, os.WriteFile(bad, b[:len(b)/3], 0o644))
	_, err = DecodeLightnessFile(bad, 4, 4, 0, dst, nil)
	require.ErrorContains(t, err, bad)
	require.NoError(t, os.WriteFile(bad, []byte("not an image"), 0o644))
	_, err = DecodeLightnessFile(bad, 4, 4, 0, dst, nil)
	require.ErrorContains(t, err, "unknown format")
}

// placesTree writes a small Places365-shaped tree: images under
// root/x/class/, a list file and a categories file.
func placesTree(t *testing.T) (root, list, cats string, want []color.Color) {
	t.Helper()
	root = t.TempDir()
	classes := []string{"/a/abbey", "/b/beach", "/c/canyon"}
	colors := []color.Color{color.RGBA{200, 30, 30, 255}, color.RGBA{30, 200, 30, 255}, color.RGBA{30, 30, 200, 255}}
	var lines, catLines bytes.Buffer
	for c, name := range classes {
		fmt.Fprintf(&catLines, "%s %d\n", name, c)
		for i := 0; i < 3; i++ {
			rel := fmt.Sprintf("%s/%08d.png", name, i+1)
			img := solid(20+i, 17, colors[c])
			writePNG(t, filepath.Join(root, rel), img)
			fmt.Fprintf(&lines, "%s %d\n", rel, c)
			want = append(want, colors[c])
		}
	}
	list = filepath.Join(root, "places365_train_standard.txt")
	cats = filepath.Join(root, "categories_places365.txt")
	require.NoError(t, os.WriteFile(list, lines.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(cats, catLines.Bytes(), 0o644))
	return root, list, cats, want
}

func lightnessOf(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return Lightness(uint8(r>>8), uint8(g>>8), uint8(b>>8))
}

func TestPlacesList(t *testing.T) {
	root, list, cats, want := placesTree(t)
	f, err := ReadPlacesList(list, root, cats, 8, 8, Limits{})
	require.NoError(t, err)
	assert.Equal(t, 9, f.Len())
	assert.Equal(t, 3, f.Classes())
	assert.Equal(t, []string{"/a/abbey", "/b/beach", "/c/canyon"}, f.ClassNames)
	x := make([]float32, 64)
	for i := 0; i < f.Len(); i++ {
		label, err := f.Load(i, x)
		require.NoError(t, err)
		assert.Equal(t, int32(i/3), label)
		assert.InDelta(t, lightnessOf(want[i]), x[10], 1e-4)
	}
}

func TestPlacesListErrors(t *testing.T) {
	root, list, _, _ := placesTree(t)
	bad := filepath.Join(root, "bad.txt")
	for _, tc := range []struct {
		content string
		err     string
	}{
		{"a/b.jpg 1\nonlyonefield\n", "bad.txt:2: want \"path label\""},
		{"a/b.jpg x\n", "bad.txt:1: label \"x\" is not a non-negative integer"},
		{"a/b.jpg -3\n", "is not a non-negative integer"},
		{"\n\n", "lists no images"},
	} {
		require.NoError(t, os.WriteFile(bad, []byte(tc.content), 0o644))
		_, err := ReadPlacesList(bad, root, "", 8, 8, Limits{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.err)
	}
	_, err := ReadPlacesList(filepath.Join(root, "missing.txt"), root, "", 8, 8, Limits{})
	require.Error(t, err)
	_, err = ReadPlacesList(list, root, "", 0, 8, Limits{})
	require.ErrorContains(t, err, "must be positive")

	// A listed file that is missing or broken fails when it is loaded,
	// naming the file.
	require.NoError(t, os.WriteFile(bad, []byte("x/missing.png 0\n"), 0o644))
	f, err := ReadPlacesList(bad, root, "", 8, 8, Limits{})
	require.NoError(t, err)
	_, err = f.Load(0, make([]float32, 64))
	require.ErrorContains(t, err, filepath.Join(root, "x/missing.png"))
}

func TestClassFolders(t *testing.T) {
	root := t.TempDir()
	writePNG(t, filepath.Join(root, "dog", "1.png"), solid(5, 5, color.White))
	writeJPEG(t, filepath.Join(root, "cat", "deep", "2.JPG"), solid(5, 5, color.Black))
	writePNG(t, filepath.Join(root, "cat", "1.png"), solid(5, 5, color.Black))
	require.NoError(t, os.WriteFile(filepath.Join(root, "cat", "notes.txt"), []byte("x"), 0o644))
	f, err := ReadClassFolders(root, 3, 3, Limits{})
	require.NoError(t, err)
	assert.Equal(t, []string{"cat", "dog"}, f.ClassNames)
	assert.Equal(t, []string{"cat/1.png", "cat/deep/2.JPG", "dog/1.png"}, f.Paths)
	assert.Equal(t, []int32{0, 0, 1}, f.Labels)
	x := make([]float32, 9)
	label, err := f.Load(2, x)
	require.NoError(t, err)
	assert.Equal(t, int32(1), label)
	assert.InDelta(t, 1, x[4], 1e-6)

	_, err = ReadClassFolders(t.TempDir(), 3, 3, Limits{})
	require.ErrorContains(t, err, "has no class folders")
	empty := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(empty, "a"), 0o755))
	_, err = ReadClassFolders(empty, 3, 3, Limits{})
	require.ErrorContains(t, err, "class folder "+filepath.Join(empty, "a")+" holds no .jpg, .jpeg or .png file")
}

func TestLoaderDeterminismAndPrefetch(t *testing.T) {
	root, list, _, _ := placesTree(t)
	f, err := ReadPlacesList(list, root, "", 6, 6, Limits{})
	require.NoError(t, err)
	batches := [][]int{{8, 0, 4, 2}, {6, 1, 3, 7}, {5}}
	collect := func(workers int, prefetch bool) ([][]float32, [][]int32) {
		l := NewLoader(f, workers)
		defer l.Close()
		var xs [][]float32
		var ys [][]int32
		for k, idx := range batches {
			x, y := make([]float32, len(idx)*36), make([]int32, len(idx))
			require.NoError(t, l.LoadBatch(idx, x, y))
			if prefetch && k+1 < len(batches) {
				l.Prefetch(batches[k+1])
			}
			xs, ys = append(xs, x), append(ys, y)
		}
		return xs, ys
	}
	x1, y1 := collect(1, false)
	x4, y4 := collect(4, true)
	assert.Equal(t, []int32{2, 0, 1, 0}, y1[0])
	assert.Equal(t, []int32{1}, y1[2])
	assert.Equal(t, x1, x4)
	assert.Equal(t, y1, y4)

	// A prefetch of other indices than the next load is ignored.
	l := NewLoader(f, 2)
	defer l.Close()
	l.Prefetch([]int{1, 2})
	x, y := make([]float32, 2*36), make([]int32, 2)
	require.NoError(t, l.LoadBatch([]int{8, 0}, x, y))
	assert.Equal(t, []int32{2, 0}, y)
	assert.Equal(t, x1[0][:72], x)
}

func TestLoaderErrors(t *testing.T) {
	root, _, _, _ := placesTree(t)
	listBad := filepath.Join(root, "l.txt")
	require.NoError(t, os.WriteFile(listBad, []byte("/a/abbey/00000001.png 0\nnope.png 1\n"), 0o644))
	f, err := ReadPlacesList(listBad, root, "", 4, 4, Limits{})
	require.NoError(t, err)
	l := NewLoader(f, 2)
	defer l.Close()
	x, y := make([]float32, 32), make([]int32, 2)
	require.ErrorContains(t, l.LoadBatch([]int{0, 1}, x, y), "nope.png")
	l.Prefetch([]int{1, 0})
	require.ErrorContains(t, l.LoadBatch([]int{1, 0}, x, y), "nope.png")
	require.ErrorContains(t, l.LoadBatch([]int{0, 2}, x, y), "index 2 outside the 2 images")
	require.ErrorContains(t, l.LoadBatch([]int{0}, x, y), "buffers of 32 values and 2 labels for 1 images")
	l.Prefetch([]int{5}) // out of range: not prefetched
	require.NoError(t, l.LoadBatch([]int{0, 0}, x, y))
}

func TestLoaderAllocatesNothing(t *testing.T) {
	set := &Set{Name: "m", C: 1, H: 4, W: 4, NumClasses: 2, X: make([]float32, 100*16), Y: make([]int32, 100)}
	l := NewLoader(set, 2)
	defer l.Close()
	idx, next := []int{1, 5, 9, 13}, []int{2, 6, 10, 14}
	x, y := make([]float32, 64), make([]int32, 4)
	step := func() {
		_ = l.LoadBatch(idx, x, y)
		l.Prefetch(next)
		idx, next = next, idx
	}
	step()
	step()
	assert.Zero(t, testing.AllocsPerRun(50, step))
}
