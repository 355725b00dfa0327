package nn

import (
	"fmt"

	"github.com/snnkit/snn/internal/bounds"
)

// Dataset is a set of labelled samples of one shape, addressed by index.
// The command line's loaders (MNIST IDX files, Places365 lists, folders of
// images) implement it; Tensors holds one in memory.
type Dataset interface {
	// Len is the number of samples.
	Len() int
	// Shape is the shape of one sample.
	Shape() Shape
	// Classes is the number of classes; labels lie in [0, Classes()).
	Classes() int
	// Load writes samples idx[0], idx[1], ... into x ([len(idx)][Shape])
	// and their labels into labels (len(idx)). The buffers belong to the
	// caller and are reused for every batch. Load must give the same
	// values for the same index every time: the trainer's determinism
	// rests on it.
	Load(idx []int, x []float32, labels []int32) error
}

// Prefetcher is implemented by data sets that can prepare samples ahead of
// Load (decoding images on other goroutines). After loading a batch, Fit
// announces the indices of the next one; the slice is only valid during
// the call.
type Prefetcher interface {
	Prefetch(idx []int)
}

// Tensors is a data set held in memory: X holds Len() samples of shape S,
// Y their labels.
type Tensors struct {
	X []float32
	Y []int32
	S Shape
	K int // classes
}

// NewTensors checks that x holds len(y) samples of shape s and that every
// label lies in [0, classes).
func NewTensors(s Shape, classes int, x []float32, y []int32) (*Tensors, error) {
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("nn: data set %w", err)
	}
	if classes < 1 {
		return nil, fmt.Errorf("nn: data set of %d classes", classes)
	}
	if !bounds.IsProduct(len(x), len(y), s.Size()) {
		return nil, fmt.Errorf("nn: data set: %d values are not %d samples of %v", len(x), len(y), s)
	}
	for i, l := range y {
		if l < 0 || int(l) >= classes {
			return nil, fmt.Errorf("nn: data set: label %d of sample %d is outside [0, %d)", l, i, classes)
		}
	}
	return &Tensors{X: x, Y: y, S: s, K: classes}, nil
}

func (t *Tensors) Len() int     { return len(t.Y) }
func (t *Tensors) Shape() Shape { return t.S }
func (t *Tensors) Classes() int { return t.K }

// Load implements Dataset. A Tensors built without NewTensors is checked
// here: X must hold len(Y) samples of shape S.
func (t *Tensors) Load(idx []int, x []float32, labels []int32) error {
	if err := t.S.check(); err != nil {
		return fmt.Errorf("nn: Tensors.Load: S: %w", err)
	}
	sz := t.S.Size()
	if !bounds.IsProduct(len(t.X), len(t.Y), sz) {
		return fmt.Errorf("nn: Tensors.Load: len(X) = %d is not len(Y) = %d samples of %v", len(t.X), len(t.Y), t.S)
	}
	if !bounds.IsProduct(len(x), len(idx), sz) || len(labels) != len(idx) {
		return fmt.Errorf("nn: Tensors.Load: buffers of %d values and %d labels for %d samples of %v", len(x), len(labels), len(idx), t.S)
	}
	for i, j := range idx {
		if j < 0 || j >= len(t.Y) {
			return fmt.Errorf("nn: Tensors.Load: index %d outside [0, %d)", j, len(t.Y))
		}
		copy(x[i*sz:(i+1)*sz], t.X[j*sz:(j+1)*sz])
		labels[i] = t.Y[j]
	}
	return nil
}

// Batches is how Fit walks a data set: epoch e visits the samples in the
// order Permutation(Seed, e) gives, cut into batches of Size (the last one
// smaller unless DropLast).
type Batches struct {
	Seed     uint64
	N, Size  int
	DropLast bool
}

// PerEpoch is the number of batches of one epoch.
func (b Batches) PerEpoch() int {
	if b.Size < 1 || b.N < 1 {
		return 0
	}
	if b.DropLast || b.N%b.Size == 0 {
		return b.N / b.Size
	}
	return b.N/b.Size + 1
}

// Batch returns the indices of batch i of an epoch whose order is perm (a
// sub-slice of perm). It panics unless 0 <= i < PerEpoch() and perm holds
// N indices.
func (b Batches) Batch(perm []int, i int) []int {
	if per := b.PerEpoch(); i < 0 || i >= per {
		panic(fmt.Sprintf("nn: Batches.Batch: i = %d is outside [0, %d) (N = %d, Size = %d)", i, per, b.N, b.Size))
	}
	if len(perm) < b.N {
		panic(fmt.Sprintf("nn: Batches.Batch: len(perm) = %d < N = %d", len(perm), b.N))
	}
	// i < PerEpoch: i*Size < N, and the end is at most N.
	lo := i * b.Size
	return perm[lo : lo+min(b.Size, b.N-lo)]
}
