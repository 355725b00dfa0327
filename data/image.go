package data

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // JPEG decoding for image.Decode
	_ "image/png"  // PNG decoding for image.Decode
	"io"
	"os"

	xdraw "golang.org/x/image/draw"
)

// DefaultMaxPixels is the largest image, in pixels, the decoders accept
// when no other cap is given: 8192 x 8192. A decoder holds 4 to 8 bytes a
// pixel (8 for 16-bit PNG), so up to 512 MiB per decoding goroutine at
// this size; a header claiming more is refused before the decoder
// allocates anything.
const DefaultMaxPixels = 1 << 26

// DecodeLightness decodes a JPEG or PNG image, resizes it to h x w
// (bilinear, with the filter widened when shrinking so it does not alias)
// and writes its CIE L* lightness scaled to [0, 1] into dst, row-major.
// dst must hold h*w values. An image whose header declares more than
// maxPixels pixels (DefaultMaxPixels when maxPixels <= 0) is an error,
// found from the header alone. scratch, if not nil and big enough, is
// reused for the resized colour image.
func DecodeLightness(r io.Reader, h, w, maxPixels int, dst []float32, scratch *image.RGBA) (*image.RGBA, error) {
	if h <= 0 || w <= 0 {
		return scratch, fmt.Errorf("DecodeLightness: size %dx%d must be positive", h, w)
	}
	if w > len(dst)/h || len(dst) != h*w {
		return scratch, fmt.Errorf("DecodeLightness: len(dst) = %d, want %d x %d", len(dst), h, w)
	}
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	// The header is read twice: once to size the image, then again by
	// the decoder, from the bytes kept here followed by the rest of r.
	var head bytes.Buffer
	cfg, _, err := image.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return scratch, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return scratch, fmt.Errorf("image is empty (%dx%d)", cfg.Width, cfg.Height)
	}
	if cfg.Width > maxPixels/cfg.Height {
		return scratch, fmt.Errorf("image is %dx%d, more than the cap of %d pixels", cfg.Width, cfg.Height, maxPixels)
	}
	src, _, err := image.Decode(io.MultiReader(&head, r))
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
func DecodeLightnessFile(path string, h, w, maxPixels int, dst []float32, scratch *image.RGBA) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return scratch, err
	}
	defer f.Close()
	scratch, err = DecodeLightness(f, h, w, maxPixels, dst, scratch)
	if err != nil {
		return scratch, fmt.Errorf("%s: %w", path, err)
	}
	return scratch, nil
}
