package conv_test

import (
	"fmt"

	"github.com/snnkit/snn/conv"
)

func ExampleSame() {
	g := conv.Same(1, 28, 28, 32, 3, 1) // the first layer of SeedNet
	fmt.Println(g)
	fmt.Println("weights:", g.WeightSize(), "per image in/out:", g.InSize(), g.OutSize())
	// Output:
	// 1x28x28 -> 32x28x28, kernel 3x3, stride 1x1, pad t1 b1 l1 r1
	// weights: 288 per image in/out: 784 25088
}

func ExampleConv2D_Forward() {
	// One 3x3 image, one 2x2 filter, no padding: a 2x2 output.
	c, err := conv.New(conv.Valid(1, 3, 3, 1, 2, 1))
	if err != nil {
		panic(err)
	}
	x := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	w := []float32{
		1, 0,
		0, -1,
	}
	bias := []float32{10}
	y := make([]float32, 4)
	c.Forward(1, x, w, bias, y)
	fmt.Println(y)
	// Output: [6 6 6 6]
}

func ExampleConv2D_Backward() {
	g := conv.Same(1, 3, 3, 2, 3, 1) // 1 -> 2 channels, 3x3 images
	c, err := conv.New(g)
	if err != nil {
		panic(err)
	}
	const n = 2
	x := make([]float32, n*g.InSize())
	for i := range x {
		x[i] = float32(i % 3)
	}
	w := make([]float32, g.WeightSize())
	w[4] = 1   // filter 0: identity
	w[9+4] = 2 // filter 1: twice the identity
	dy := make([]float32, n*g.OutSize())
	for i := range dy {
		dy[i] = 1
	}
	dx := make([]float32, len(x))
	dw := make([]float32, len(w))
	dbias := make([]float32, g.OutC)
	c.Backward(n, x, w, dy, dx, dw, dbias)
	fmt.Println("dx:", dx[:9])
	fmt.Println("dw centre taps:", dw[4], dw[9+4])
	fmt.Println("dbias:", dbias)
	// Output:
	// dx: [3 3 3 3 3 3 3 3 3]
	// dw centre taps: 18 18
	// dbias: [18 18]
}

func ExampleMaxPool2D() {
	p, err := conv.NewMaxPool2D(conv.Pool(1, 4, 4, 2, 2))
	if err != nil {
		panic(err)
	}
	x := []float32{
		1, 3, 0, 0,
		2, 0, 5, 5,
		0, 0, 1, 1,
		4, 0, 1, 1,
	}
	y := make([]float32, 4)
	argmax := make([]int32, 4)
	p.Forward(1, x, y, argmax)
	fmt.Println(y, argmax)

	dx := make([]float32, len(x))
	p.Backward(1, []float32{10, 20, 30, 40}, argmax, dx)
	fmt.Println(dx)
	// Output:
	// [3 5 4 1] [1 6 12 10]
	// [0 10 0 0 0 0 20 0 0 0 40 0 30 0 0 0]
}

func ExampleConv2D_ForwardAct() {
	// y = 2*x[i][j] - x[i+1][j+1] on a 3x3 image, with ReLU applied to
	// each output as the layer writes it (no second pass over y).
	c, err := conv.New(conv.Valid(1, 3, 3, 1, 2, 1))
	if err != nil {
		panic(err)
	}
	x := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	w := []float32{
		2, 0,
		0, -1,
	}
	y := make([]float32, 4)
	c.ForwardAct(1, x, w, nil, y, conv.ReLU)
	fmt.Println(y)
	// Output: [0 0 0 1]
}

func ExampleConv2D_ForwardMoments() {
	// Two 3x3 images, one filter that copies its input (its centre tap),
	// plus a bias of 10.
	g := conv.Same(1, 3, 3, 1, 3, 1)
	c, err := conv.New(g)
	if err != nil {
		panic(err)
	}
	const n = 2
	x := make([]float32, n*g.InSize())
	for i := range x {
		x[i] = float32(i) // 0, 1, ..., 17
	}
	w := make([]float32, g.WeightSize())
	w[4] = 1
	y := make([]float32, n*g.OutSize())
	mean, variance := make([]float64, g.OutC), make([]float64, g.OutC)
	c.ForwardMoments(n, x, w, []float32{10}, y, mean, variance)
	fmt.Println(y)
	fmt.Printf("mean %.4g, variance %.4g\n", mean[0], variance[0])
	// Output:
	// [10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27]
	// mean 18.5, variance 26.92
}

// ChunkBytes depends on the CPU: half of a core's share of its L2 cache,
// kept between 128 KiB and 2 MiB.
func ExampleChunkBytes() {
	b := conv.ChunkBytes()
	fmt.Println(b >= 128<<10 && b <= 2<<20)
	// Output: true
}
