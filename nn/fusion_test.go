package nn

import (
	"fmt"
	"testing"

	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/require"
)

// passAll observes every layer and never stops the pass: with it, Model
// runs each layer on its own.
type passAll struct{}

func (passAll) observe(int, []float32) bool { return true }

func fusionModel(t *testing.T) *Model {
	m, err := NewModel(Shape{C: 2, H: 9, W: 11},
		&Conv2D{Filters: 4, KernelSize: 3, Padding: Same, Init: LeCunNormal},
		&SELU{},
		&Conv2D{Filters: 5, KernelSize: 3, Init: HeNormal},
		&ReLU{},
		&MaxPool2D{},
		&Conv2D{Filters: 6, KernelSize: 1, Padding: Same},
		&SELU{},
		&Conv2D{Filters: 3, KernelSize: 3, Stride: 2, Padding: Same}, // backward by col2im
		&Flatten{},
		&Dense{Units: 3},
		&SELU{},
	)
	require.NoError(t, err)
	m.Init(4)
	return m
}

// TestConvActivationFusion checks that a convolution next to SELU or ReLU
// runs fused with it, forward (the activation after the convolution) and
// backward (the activation before it), and that the results are the same,
// bit for bit, as the layers run one by one.
func TestConvActivationFusion(t *testing.T) {
	m := fusionModel(t)
	require.Equal(t, []conv.Activation{conv.SELU, 0, conv.ReLU, 0, 0, conv.SELU, 0, 0, 0, 0, 0}, m.fuse)
	require.Equal(t, []conv.Activation{0, 0, conv.SELU, 0, conv.ReLU, 0, 0, conv.SELU, 0, 0, 0}, m.bfuse)
	apart := fusionModel(t)
	clear(apart.fuse)
	clear(apart.bfuse)
	for _, n := range []int{1, 6} {
		x := testkit.Uniform(testkit.Rand(uint64(n)), n*2*9*11, -2, 2)
		c := &Context{Training: true}
		out := append([]float32(nil), m.Forward(c, n, x)...)
		// With an observer the layers run apart even when fused.
		obs, stop := m.forward(c, n, x, passAll{})
		require.Equal(t, -1, stop)
		requireSameBits(t, [][]float32{obs}, [][]float32{out}, fmt.Sprintf("n=%d output, observed", n))
		requireSameBits(t, [][]float32{apart.Forward(c, n, x)}, [][]float32{out}, fmt.Sprintf("n=%d output, layers apart", n))

		dOut := testkit.Uniform(testkit.Rand(9), len(out), -1, 1)
		dx, dxApart := make([]float32, len(x)), make([]float32, len(x))
		m.Backward(c, n, x, append([]float32(nil), dOut...), dx)
		apart.Backward(c, n, x, dOut, dxApart)
		requireSameBits(t, [][]float32{dxApart}, [][]float32{dx}, fmt.Sprintf("n=%d dx", n))
		for i, p := range m.params {
			requireSameBits(t, [][]float32{apart.params[i].Grad}, [][]float32{p.Grad}, fmt.Sprintf("n=%d %s gradient", n, p.Name))
		}
	}
}
