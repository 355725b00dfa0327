package net

import (
	"math"
	"testing"

	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/require"
)

// passAll observes every layer and never stops the pass: with it, Model
// runs each layer on its own.
type passAll struct{}

func (passAll) observe(int, []float32) bool { return true }

// TestConvActivationFusion checks that a convolution followed by SELU or
// ReLU runs fused in a plain forward pass, and that the fused pass gives
// the same output, bit for bit, as the layers run one by one.
func TestConvActivationFusion(t *testing.T) {
	m, err := NewModel(Shape{C: 2, H: 9, W: 11},
		&Conv2D{Filters: 4, KernelSize: 3, Padding: Same, Init: LeCunNormal},
		&SELU{},
		&Conv2D{Filters: 5, KernelSize: 3, Init: HeNormal},
		&ReLU{},
		&MaxPool2D{},
		&Conv2D{Filters: 6, KernelSize: 1},
		&Flatten{},
		&Dense{Units: 3},
		&SELU{},
	)
	require.NoError(t, err)
	require.Equal(t, []conv.Activation{conv.SELU, 0, conv.ReLU, 0, 0, 0, 0, 0, 0}, m.fuse)
	m.Init(4)
	for _, n := range []int{1, 6} {
		x := testkit.Uniform(testkit.Rand(uint64(n)), n*2*9*11, -2, 2)
		c := &Context{}
		fused := append([]float32(nil), m.Forward(c, n, x)...)
		apart, stop := m.forward(c, n, x, passAll{})
		require.Equal(t, -1, stop)
		require.Equal(t, len(fused), len(apart))
		for i := range fused {
			require.Equal(t, math.Float32bits(apart[i]), math.Float32bits(fused[i]), "n=%d output %d", n, i)
		}
	}
}
