package data

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"testing"
)

// BenchmarkPlacesStream decodes Places365-sized JPEGs (256x256 colour, as
// in the "small" release) to 64x64 lightness through a Stream, and reports
// the loader's own rate, to compare with the trainer's images/s.
func BenchmarkPlacesStream(b *testing.B) {
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
	f, err := ReadClassFolders(dir, 64, 64)
	if err != nil {
		b.Fatal(err)
	}
	order := make([]int, files)
	for i := range order {
		order[i] = i
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			images := 0
			for b.Loop() {
				s, err := NewStream(context.Background(), f, order, 32, workers, 2)
				if err != nil {
					b.Fatal(err)
				}
				for {
					bt, err := s.Next()
					if err != nil {
						b.Fatal(err)
					}
					if bt == nil {
						break
					}
					images += bt.N
					bt.Release()
				}
				s.Close()
			}
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
