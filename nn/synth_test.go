package nn

import (
	"math"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/require"
)

// synthetic returns n greyscale h x w images in [0, 1] of `classes`
// classes: class k is a bright bar at angle k*pi/classes through a point
// near the centre, drawn over a dim noisy background. The position and
// width jitter per sample, so the classes are learnable but not by
// memorizing pixels.
func synthetic(seed uint64, n, classes, h, w int) *Tensors {
	r := testkit.Rand(seed)
	x := make([]float32, n*h*w)
	y := make([]int32, n)
	for i := range n {
		k := r.IntN(classes)
		y[i] = int32(k)
		theta := math.Pi * float64(k) / float64(classes)
		dx, dy := math.Cos(theta), math.Sin(theta)
		cx := float64(w)/2 + (r.Float64()-0.5)*float64(w)/4
		cy := float64(h)/2 + (r.Float64()-0.5)*float64(h)/4
		width := 1 + r.Float64()
		img := x[i*h*w : (i+1)*h*w]
		for py := range h {
			for px := range w {
				// Distance of the pixel from the bar's line.
				d := math.Abs((float64(px)-cx)*dy - (float64(py)-cy)*dx)
				v := 0.15*r.Float64() + 0.8*math.Exp(-d*d/(width*width))
				img[py*w+px] = float32(min(v, 1))
			}
		}
	}
	t, err := NewTensors(Shape{1, h, w}, classes, x, y)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSyntheticData(t *testing.T) {
	d := synthetic(1, 50, 4, 16, 16)
	require.Equal(t, 50, d.Len())
	seen := map[int32]bool{}
	for i, v := range d.X {
		require.True(t, v >= 0 && v <= 1, "pixel %d = %v", i, v)
	}
	for _, l := range d.Y {
		seen[l] = true
	}
	require.Len(t, seen, 4)
	require.Equal(t, d.X, synthetic(1, 50, 4, 16, 16).X, "not deterministic")
}
