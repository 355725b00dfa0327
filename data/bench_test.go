package data

import (
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"testing"
)

// BenchmarkPlacesLoader decodes Places365-sized JPEGs (256x256 colour, as
// in the "small" release) to 64x64 lightness through a Loader, and reports
// the loader's own rate, to compare with the trainer's images/s.
func BenchmarkPlacesLoader(b *testing.B) {
	dir := b.TempDir()
	const files = 64
	for i := 0; i < files; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 256, 256))
		for y := 0; y < 256; y++ {
			for x := 0; x < 256; x++ {
				img.Set(x, y, color.RGBA{uint8(x + i), uint8(y * 3), uint8(x ^ y), 255})
			}
		}
		writeJPEG(b, filepath.Join(dir, "c", fmt.Sprintf("%03d.jpg", i)), img)
	}
	f, err := ReadClassFolders(dir, 64, 64, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			l := NewLoader(f, workers)
			defer l.Close()
			x, y := make([]float32, 32*64*64), make([]int32, 32)
			idx := make([]int, 32)
			images := 0
			for k := 0; b.Loop(); k++ {
				for j := range idx {
					idx[j] = (k*32 + j) % files
				}
				if err := l.LoadBatch(idx, x, y); err != nil {
					b.Fatal(err)
				}
				images += len(idx)
			}
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
