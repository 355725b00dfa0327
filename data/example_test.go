package data_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/snnkit/snn/data"
)

// Images become CIE L* lightness scaled to [0, 1]: black 0, white 1, and
// the sRGB grey that looks half as light as white, 119, about 0.5.
func ExampleLightness() {
	for _, v := range []uint8{0, 119, 255} {
		fmt.Printf("%3d -> %.3f\n", v, data.Lightness(v, v, v))
	}
	// Pure green is much lighter than pure blue.
	fmt.Printf("green %.3f, blue %.3f\n", data.Lightness(0, 255, 0), data.Lightness(0, 0, 255))
	// Output:
	//   0 -> 0.000
	// 119 -> 0.500
	// 255 -> 1.000
	// green 0.877, blue 0.323
}

// An IDX file (the format of the MNIST files): a magic number naming the
// element type (0x08, unsigned bytes) and the number of dimensions, the
// dimensions as big-endian 32-bit integers, then the data.
func ExampleReadIDX() {
	file := []byte{
		0, 0, 0x08, 3, // unsigned bytes, 3 dimensions
		0, 0, 0, 2, // two images
		0, 0, 0, 2, // of 2 rows
		0, 0, 0, 3, // of 3 columns
		0, 1, 2, 3, 4, 5,
		255, 254, 253, 252, 251, 250,
	}
	idx, err := data.ReadIDX(bytes.NewReader(file))
	if err != nil {
		panic(err)
	}
	fmt.Println(idx.Dims, idx.Data[6:9])

	_, err = data.ReadIDX(bytes.NewReader(file[:20]))
	fmt.Println(err != nil)
	// Output:
	// [2 2 3] [255 254 253]
	// true
}

// An image's size is read from its header first: one above the cap is
// refused before the decoder allocates it.
func ExampleDecodeLightness() {
	var file bytes.Buffer
	if err := png.Encode(&file, image.NewGray(image.Rect(0, 0, 640, 480))); err != nil {
		panic(err)
	}
	dst := make([]float32, 8*8)
	_, err := data.DecodeLightness(bytes.NewReader(file.Bytes()), 8, 8, 100_000, dst, nil)
	fmt.Println(err)
	_, err = data.DecodeLightness(bytes.NewReader(file.Bytes()), 8, 8, 0, dst, nil)
	fmt.Println(err, dst[0])
	// Output:
	// image is 640x480, more than the cap of 100000 pixels
	// <nil> 0
}

// Every label of a list must be below the number of classes of the
// categories file, or below Limits.MaxClasses without one: a typo is an
// error naming the line, not thousands of empty classes.
func ExampleReadPlacesList() {
	dir, err := os.MkdirTemp("", "places")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			panic(err)
		}
		return p
	}
	cats := write("categories.txt", "/a/abbey 0\n/b/beach 1\n")
	list := write("train.txt", "a/abbey/1.jpg 0\nb/beach/1.jpg 1\nb/beach/2.jpg 11\n")
	short := func(err error) string { return strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "") }

	_, err = data.ReadPlacesList(list, dir, cats, 64, 64, data.Limits{})
	fmt.Println(short(err))
	_, err = data.ReadPlacesList(list, dir, "", 64, 64, data.Limits{MaxClasses: 10})
	fmt.Println(short(err))
	f, err := data.ReadPlacesList(list, dir, "", 64, 64, data.Limits{})
	fmt.Println(f.Len(), f.Classes(), err)
	// Output:
	// train.txt:3: label 11, but categories.txt has 2 classes
	// train.txt:3: label 11 is not below the cap of 10 classes
	// 3 12 <nil>
}
