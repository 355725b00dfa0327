package nn

import "fmt"

// Shape is the shape of one sample: C channels of H x W. A vector of n
// features (the input or output of a Dense layer) is n x 1 x 1. A batch of
// samples is stored NCHW, sample after sample, each C*H*W float32.
type Shape struct{ C, H, W int }

// Vector returns the shape of n features, n x 1 x 1.
func Vector(n int) Shape { return Shape{C: n, H: 1, W: 1} }

// Size is the number of float32 of one sample: C*H*W.
func (s Shape) Size() int { return s.C * s.H * s.W }

func (s Shape) String() string {
	if s.H == 1 && s.W == 1 {
		return fmt.Sprint(s.C)
	}
	return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W)
}

func (s Shape) check() error {
	if s.C < 1 || s.H < 1 || s.W < 1 {
		return fmt.Errorf("shape %dx%dx%d: every dimension must be >= 1", s.C, s.H, s.W)
	}
	if s.C > maxElems/s.H/s.W {
		return fmt.Errorf("shape %v: more than 2^31-1 elements per sample", s)
	}
	return nil
}

// maxElems bounds the elements of one sample and of one parameter tensor.
const maxElems = 1<<31 - 1
