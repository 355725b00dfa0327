package data

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// Source is a labelled image collection that can decode any image on its
// own: *Files decodes from disk, *Set copies from memory.
type Source interface {
	Len() int
	Classes() int
	Shape() (c, h, w int)
	// Load writes image i into x (c*h*w values) and returns its label.
	// It must be safe for concurrent use.
	Load(i int, x []float32) (int32, error)
}

// Shape is the shape of one image of the Set.
func (s *Set) Shape() (c, h, w int) { return s.C, s.H, s.W }

// Load copies image i into x, which must hold exactly one image.
func (s *Set) Load(i int, x []float32) (int32, error) {
	if i < 0 || i >= s.Len() {
		return 0, fmt.Errorf("%s: Load: index %d outside the %d images", s.Name, i, s.Len())
	}
	if len(x) != s.ImageSize() {
		return 0, fmt.Errorf("%s: Load: len(x) = %d, want one image of %d values", s.Name, len(x), s.ImageSize())
	}
	copy(x, s.Image(i))
	return s.Y[i], nil
}

// Loader loads batches of a Source on several goroutines, and can decode
// the next batch in the background while the caller trains on the current
// one: Prefetch(next) starts it, and the following LoadBatch of the same
// indices takes the prepared images instead of decoding them. Each image
// goes to its own slot, so a batch's content never depends on the number
// of workers. A Loader is used by one caller at a time; after the first
// batches it allocates nothing.
type Loader struct {
	src     Source
	per     int
	workers int

	reqs chan batchReq // to the dispatcher, one per batch
	jobs chan loadJob  // to the workers, one per image

	cur    batchState // a batch LoadBatch waits for
	pre    batchState // the prefetched batch
	preIdx []int
	preX   []float32
	preY   []int32
}

// batchState tracks one batch in flight: the images left and the first
// error.
type batchState struct {
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

func (b *batchState) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
}

type batchReq struct {
	idx    []int
	x      []float32
	labels []int32
	st     *batchState
}

type loadJob struct {
	i     int
	x     []float32
	label *int32
	st    *batchState
}

// NewLoader starts workers decoding goroutines (0: GOMAXPROCS) for src.
// Close stops them.
func NewLoader(src Source, workers int) *Loader {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	c, h, w := src.Shape()
	l := &Loader{src: src, per: c * h * w, workers: workers,
		reqs: make(chan batchReq, 1), jobs: make(chan loadJob, 2*workers)}
	go func() {
		defer close(l.jobs)
		for r := range l.reqs {
			for k, i := range r.idx {
				l.jobs <- loadJob{i: i, x: r.x[k*l.per : (k+1)*l.per], label: &r.labels[k], st: r.st}
			}
		}
	}()
	for k := 0; k < workers; k++ {
		go func() {
			for j := range l.jobs {
				label, err := src.Load(j.i, j.x)
				*j.label = label
				if err != nil {
					j.st.fail(err)
				}
				j.st.wg.Done()
			}
		}()
	}
	return l
}

// Close stops the decoding goroutines, after any prefetch in flight.
func (l *Loader) Close() {
	l.pre.wg.Wait()
	close(l.reqs)
}

// Source is the collection the Loader reads.
func (l *Loader) Source() Source { return l.src }

func (l *Loader) check(idx []int, x []float32, labels []int32) error {
	if len(x) != len(idx)*l.per || len(labels) != len(idx) {
		return fmt.Errorf("data: LoadBatch: buffers of %d values and %d labels for %d images of %d values",
			len(x), len(labels), len(idx), l.per)
	}
	for _, i := range idx {
		if i < 0 || i >= l.src.Len() {
			return fmt.Errorf("data: LoadBatch: index %d outside the %d images", i, l.src.Len())
		}
	}
	return nil
}

// start hands a batch to the dispatcher; st.wg counts its images down.
func (l *Loader) start(idx []int, x []float32, labels []int32, st *batchState) {
	st.err = nil
	st.wg.Add(len(idx))
	l.reqs <- batchReq{idx: idx, x: x, labels: labels, st: st}
}

// LoadBatch writes images idx[0], idx[1], ... into x and their labels into
// labels, decoding in parallel, or copying them from the prefetched batch
// when it holds exactly these indices.
func (l *Loader) LoadBatch(idx []int, x []float32, labels []int32) error {
	if err := l.check(idx, x, labels); err != nil {
		return err
	}
	l.pre.wg.Wait()
	if len(l.preIdx) > 0 && slices.Equal(l.preIdx, idx) {
		l.preIdx = l.preIdx[:0]
		if l.pre.err != nil {
			return l.pre.err
		}
		copy(x, l.preX)
		copy(labels, l.preY)
		return nil
	}
	l.start(idx, x, labels, &l.cur)
	l.cur.wg.Wait()
	return l.cur.err
}

// Prefetch starts decoding images idx in the background, for the next
// LoadBatch. idx is copied: the caller may reuse it. A batch with an index
// outside the source is not prefetched; LoadBatch reports it.
func (l *Loader) Prefetch(idx []int) {
	l.pre.wg.Wait()
	l.preIdx = l.preIdx[:0]
	for _, i := range idx {
		if i < 0 || i >= l.src.Len() {
			return
		}
	}
	l.preIdx = append(l.preIdx, idx...)
	if cap(l.preX) < len(idx)*l.per {
		l.preX = make([]float32, len(idx)*l.per)
		l.preY = make([]int32, len(idx))
	}
	l.preX, l.preY = l.preX[:len(idx)*l.per], l.preY[:len(idx)]
	l.start(l.preIdx, l.preX, l.preY, &l.pre)
}
