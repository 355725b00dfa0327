package data_test

import (
	"bytes"
	"fmt"

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
