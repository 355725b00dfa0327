package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// mnistFiles are the file names of the four IDX files, without the
// optional .gz.
var mnistFiles = [4]string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

// LoadMNIST reads the MNIST training and test sets from the four IDX files
// in dir (gzip-compressed or not: the names may end in .gz). Pixels are
// scaled to [0, 1].
func LoadMNIST(dir string) (train, test *Set, err error) {
	var paths [4]string
	for i, name := range mnistFiles {
		p := filepath.Join(dir, name)
		switch {
		case fileExists(p):
			paths[i] = p
		case fileExists(p + ".gz"):
			paths[i] = p + ".gz"
		default:
			return nil, nil, fmt.Errorf("MNIST: %s(.gz) not found in %s", name, dir)
		}
	}
	train, err = loadIDXPair("mnist-train", paths[0], paths[1], 10)
	if err != nil {
		return nil, nil, err
	}
	test, err = loadIDXPair("mnist-test", paths[2], paths[3], 10)
	if err != nil {
		return nil, nil, err
	}
	if test.H != train.H || test.W != train.W {
		return nil, nil, fmt.Errorf("MNIST: test images are %dx%d, training images %dx%d", test.H, test.W, train.H, train.W)
	}
	return train, test, nil
}

// loadIDXPair reads an image file ([n][h][w] bytes) and a label file ([n]
// bytes) into a Set.
func loadIDXPair(name, imagesPath, labelsPath string, classes int) (*Set, error) {
	im, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	lb, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(im.Dims) != 3 {
		return nil, fmt.Errorf("%s: images have dimensions %v, want [n h w]", imagesPath, im.Dims)
	}
	if len(lb.Dims) != 1 {
		return nil, fmt.Errorf("%s: labels have dimensions %v, want [n]", labelsPath, lb.Dims)
	}
	if im.Dims[0] != lb.Dims[0] {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", imagesPath, im.Dims[0], labelsPath, lb.Dims[0])
	}
	s := &Set{Name: name, C: 1, H: im.Dims[1], W: im.Dims[2], NumClasses: classes,
		X: make([]float32, len(im.Data)), Y: make([]int32, len(lb.Data))}
	for i, b := range im.Data {
		s.X[i] = float32(b) / 255
	}
	for i, b := range lb.Data {
		if int(b) >= classes {
			return nil, fmt.Errorf("%s: label %d of image %d is outside [0, %d)", labelsPath, b, i, classes)
		}
		s.Y[i] = int32(b)
	}
	if err := s.Check(); err != nil {
		return nil, errors.New(err.Error())
	}
	return s, nil
}
