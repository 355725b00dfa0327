package data

import "fmt"

// Set is a labelled image data set held in memory, NCHW.
type Set struct {
	Name       string
	C, H, W    int
	NumClasses int
	X          []float32 // Len()*C*H*W pixels in [0, 1]
	Y          []int32   // Len() labels in [0, Classes)
}

// Classes is the number of classes.
func (s *Set) Classes() int { return s.NumClasses }

// Len is the number of images.
func (s *Set) Len() int { return len(s.Y) }

// ImageSize is the number of float32 values of one image.
func (s *Set) ImageSize() int { return s.C * s.H * s.W }

// Image returns image i (a view into X).
func (s *Set) Image(i int) []float32 {
	n := s.ImageSize()
	return s.X[i*n : (i+1)*n]
}

// Check verifies the invariants of a Set: sizes agree, labels are in
// range, pixels are finite.
func (s *Set) Check() error {
	if s.C <= 0 || s.H <= 0 || s.W <= 0 {
		return fmt.Errorf("%s: image shape %dx%dx%d is empty", s.Name, s.C, s.H, s.W)
	}
	if len(s.X) != len(s.Y)*s.ImageSize() {
		return fmt.Errorf("%s: %d pixel values for %d images of %dx%dx%d", s.Name, len(s.X), len(s.Y), s.C, s.H, s.W)
	}
	for i, y := range s.Y {
		if y < 0 || int(y) >= s.NumClasses {
			return fmt.Errorf("%s: label %d of image %d is outside [0, %d)", s.Name, y, i, s.NumClasses)
		}
	}
	return nil
}
