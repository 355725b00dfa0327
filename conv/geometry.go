package conv

import (
	"errors"
	"fmt"
	"math"
)

// Geometry is the shape of one 2-D convolution layer: what one input image
// holds, the filters, the stride and the zero padding. The batch size is not
// part of it; every call names it.
//
// Padding is given per side, so the asymmetric padding of 'same' with an
// even kernel or a stride above 1 is expressible; Same and Valid build the
// common cases.
type Geometry struct {
	InC, InH, InW int // input channels, height and width; all >= 1
	OutC          int // output channels (filters); >= 1
	KH, KW        int // kernel height and width; >= 1

	StrideH, StrideW int // >= 1

	// Zero padding added around each input channel plane; all >= 0.
	PadTop, PadBottom, PadLeft, PadRight int
}

// Same returns the geometry of a k x k convolution with the given stride
// and 'same' zero padding as Keras and TensorFlow define it: the output is
// ceil(inH/stride) x ceil(inW/stride), and the total padding of each
// dimension, max((out-1)*stride + k - in, 0), is split with the smaller half
// on the top (left) and the larger on the bottom (right). For an odd k and
// stride 1 that is (k-1)/2 on every side.
func Same(inC, inH, inW, outC, k, stride int) Geometry {
	g := Geometry{InC: inC, InH: inH, InW: inW, OutC: outC, KH: k, KW: k, StrideH: stride, StrideW: stride}
	if stride >= 1 {
		g.PadTop, g.PadBottom = samePad(inH, k, stride)
		g.PadLeft, g.PadRight = samePad(inW, k, stride)
	}
	return g
}

// Valid returns the geometry of a k x k convolution with the given stride
// and no padding: the output is floor((in-k)/stride)+1 in each dimension.
func Valid(inC, inH, inW, outC, k, stride int) Geometry {
	return Geometry{InC: inC, InH: inH, InW: inW, OutC: outC, KH: k, KW: k, StrideH: stride, StrideW: stride}
}

// samePad splits the 'same' padding of one dimension.
func samePad(in, k, stride int) (lo, hi int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}

// OutH is the output height: (InH+PadTop+PadBottom-KH)/StrideH + 1.
func (g Geometry) OutH() int { return outSize(g.InH, g.PadTop+g.PadBottom, g.KH, g.StrideH) }

// OutW is the output width: (InW+PadLeft+PadRight-KW)/StrideW + 1.
func (g Geometry) OutW() int { return outSize(g.InW, g.PadLeft+g.PadRight, g.KW, g.StrideW) }

func outSize(in, pad, k, stride int) int {
	if stride < 1 || in+pad < k {
		return 0
	}
	return (in+pad-k)/stride + 1
}

// InSize is the number of float32 in one input image: InC*InH*InW.
func (g Geometry) InSize() int { return g.InC * g.InH * g.InW }

// OutSize is the number of float32 in one output image: OutC*OutH*OutW.
func (g Geometry) OutSize() int { return g.OutC * g.OutH() * g.OutW() }

// WeightSize is the number of float32 in the weights: OutC*InC*KH*KW.
func (g Geometry) WeightSize() int { return g.OutC * g.InC * g.KH * g.KW }

// FLOPs is the floating-point work of one image's forward pass, counting a
// multiply-add as two: 2*OutC*OutH*OutW*InC*KH*KW. BackwardData and
// BackwardWeights cost as much again each.
func (g Geometry) FLOPs() float64 {
	return 2 * float64(g.OutC) * float64(g.OutH()) * float64(g.OutW()) * float64(g.InC) * float64(g.KH) * float64(g.KW)
}

// maxDim bounds every dimension and product so that no index computed from
// a geometry can overflow, even on a 32-bit platform.
const maxDim = math.MaxInt32

// Check reports the first thing wrong with g, naming the field, or nil.
func (g Geometry) Check() error {
	for _, f := range []struct {
		name string
		v    int
		min  int
	}{
		{"InC", g.InC, 1}, {"InH", g.InH, 1}, {"InW", g.InW, 1}, {"OutC", g.OutC, 1},
		{"KH", g.KH, 1}, {"KW", g.KW, 1}, {"StrideH", g.StrideH, 1}, {"StrideW", g.StrideW, 1},
		{"PadTop", g.PadTop, 0}, {"PadBottom", g.PadBottom, 0}, {"PadLeft", g.PadLeft, 0}, {"PadRight", g.PadRight, 0},
	} {
		if f.v < f.min {
			return fmt.Errorf("conv: Geometry.%s = %d, must be >= %d", f.name, f.v, f.min)
		}
		if f.v > maxDim {
			return fmt.Errorf("conv: Geometry.%s = %d is too large", f.name, f.v)
		}
	}
	if g.InH+g.PadTop+g.PadBottom < g.KH {
		return fmt.Errorf("conv: kernel height KH = %d exceeds the padded input height %d (InH %d + PadTop %d + PadBottom %d)",
			g.KH, g.InH+g.PadTop+g.PadBottom, g.InH, g.PadTop, g.PadBottom)
	}
	if g.InW+g.PadLeft+g.PadRight < g.KW {
		return fmt.Errorf("conv: kernel width KW = %d exceeds the padded input width %d (InW %d + PadLeft %d + PadRight %d)",
			g.KW, g.InW+g.PadLeft+g.PadRight, g.InW, g.PadLeft, g.PadRight)
	}
	if !fits(g.InC, g.InH, g.InW) || !fits(g.OutC, g.OutH(), g.OutW()) || !fits(g.OutC, g.InC, g.KH, g.KW) {
		return errors.New("conv: geometry too large: an image or the weights exceed 2^31-1 elements")
	}
	return nil
}

// fits reports whether the product of the factors is at most maxDim.
func fits(f ...int) bool {
	p := 1
	for _, v := range f {
		if v > maxDim/p {
			return false
		}
		p *= v
	}
	return true
}

func (g Geometry) String() string {
	return fmt.Sprintf("%dx%dx%d -> %dx%dx%d, kernel %dx%d, stride %dx%d, pad t%d b%d l%d r%d",
		g.InC, g.InH, g.InW, g.OutC, g.OutH(), g.OutW(), g.KH, g.KW, g.StrideH, g.StrideW,
		g.PadTop, g.PadBottom, g.PadLeft, g.PadRight)
}
