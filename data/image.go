package data

import (
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // JPEG decoding for image.Decode
	_ "image/png"  // PNG decoding for image.Decode
	"io"
	"os"

	xdraw "golang.org/x/image/draw"
)

// DecodeLightness decodes a JPEG or PNG image, resizes it to h x w
// (bilinear, with the filter widened when shrinking so it does not alias)
// and writes its CIE L* lightness scaled to [0, 1] into dst, row-major.
// dst must hold h*w values. scratch, if not nil and big enough, is reused
// for the resized colour image.
func DecodeLightness(r io.Reader, h, w int, dst []float32, scratch *image.RGBA) (*image.RGBA, error) {
	if len(dst) != h*w {
		return scratch, fmt.Errorf("DecodeLightness: len(dst) = %d, want %d x %d", len(dst), h, w)
	}
	src, _, err := image.Decode(r)
	if err != nil {
		return scratch, err
	}
	b := src.Bounds()
	if b.Empty() {
		return scratch, fmt.Errorf("image is empty (%v)", b)
	}
	rect := image.Rect(0, 0, w, h)
	if scratch == nil || cap(scratch.Pix) < 4*h*w {
		scratch = image.NewRGBA(rect)
	} else {
		scratch.Pix, scratch.Stride, scratch.Rect = scratch.Pix[:4*h*w], 4*w, rect
	}
	if b.Dx() == w && b.Dy() == h {
		draw.Draw(scratch, rect, src, b.Min, draw.Src)
	} else {
		xdraw.BiLinear.Scale(scratch, rect, src, b, draw.Src, nil)
	}
	for y := 0; y < h; y++ {
		row := scratch.Pix[y*scratch.Stride:]
		for x := 0; x < w; x++ {
			p := row[4*x:]
			dst[y*w+x] = float32(Lightness(p[0], p[1], p[2]))
		}
	}
	return scratch, nil
}

// DecodeLightnessFile is DecodeLightness on a file; errors name the file.
func DecodeLightnessFile(path string, h, w int, dst []float32, scratch *image.RGBA) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return scratch, err
	}
	defer f.Close()
	scratch, err = DecodeLightness(f, h, w, dst, scratch)
	if err != nil {
		return scratch, fmt.Errorf("%s: %w", path, err)
	}
	return scratch, nil
}
