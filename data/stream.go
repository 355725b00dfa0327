package data

import (
	"context"
	"fmt"
	"runtime"
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

// Load copies image i into x.
func (s *Set) Load(i int, x []float32) (int32, error) {
	copy(x, s.Image(i))
	return s.Y[i], nil
}

// Batch is one batch delivered by a Stream. X holds N images, Y their
// labels; Index numbers the batch within the epoch. Give it back with
// Release once done with it.
type Batch struct {
	Index int
	N     int
	X     []float32
	Y     []int32

	wg  sync.WaitGroup
	err error
	mu  sync.Mutex
	s   *Stream
}

// Release returns the batch's memory to the stream for a later batch.
func (b *Batch) Release() { b.s.free <- b }

// Stream decodes the batches of one epoch ahead of the trainer, in
// parallel: a batch's images are decoded by all workers at once, up to
// depth batches ahead of the one being consumed, and batches come out in
// order. Each image lands in its own slot, so the content of every batch
// is the same whatever the number of workers.
type Stream struct {
	ready  chan *Batch
	free   chan *Batch
	cancel context.CancelFunc
	done   sync.WaitGroup
}

type job struct {
	b    *Batch
	slot int
	idx  int
}

// NewStream starts decoding the batches of order (indices into src;
// batch k holds order[k*size : (k+1)*size], the last one may be short)
// with the given number of decoding goroutines (0: GOMAXPROCS) and depth
// batches prepared ahead (at least 1). Close it when done, even early.
func NewStream(ctx context.Context, src Source, order []int, size, workers, depth int) (*Stream, error) {
	if size <= 0 {
		return nil, fmt.Errorf("batch size %d must be positive", size)
	}
	for _, i := range order {
		if i < 0 || i >= src.Len() {
			return nil, fmt.Errorf("index %d outside the %d images of the source", i, src.Len())
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	depth = max(depth, 1)
	c, h, w := src.Shape()
	per := c * h * w
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{ready: make(chan *Batch, depth), free: make(chan *Batch, depth+1), cancel: cancel}
	for i := 0; i < depth+1; i++ {
		s.free <- &Batch{X: make([]float32, size*per), Y: make([]int32, size), s: s}
	}
	jobs := make(chan job, size)
	for i := 0; i < workers; i++ {
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			for j := range jobs {
				label, err := src.Load(j.idx, j.b.X[j.slot*per:(j.slot+1)*per])
				j.b.Y[j.slot] = label
				if err != nil {
					j.b.mu.Lock()
					if j.b.err == nil {
						j.b.err = err
					}
					j.b.mu.Unlock()
				}
				j.b.wg.Done()
			}
		}()
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		defer close(jobs)
		defer close(s.ready)
		for k := 0; k*size < len(order); k++ {
			var b *Batch
			select {
			case b = <-s.free:
			case <-ctx.Done():
				return
			}
			idx := order[k*size : min((k+1)*size, len(order))]
			b.Index, b.N, b.err = k, len(idx), nil
			b.X, b.Y = b.X[:cap(b.X)][:len(idx)*per], b.Y[:cap(b.Y)][:len(idx)]
			b.wg.Add(len(idx))
			for slot, i := range idx {
				select {
				case jobs <- job{b: b, slot: slot, idx: i}:
				case <-ctx.Done():
					b.wg.Add(slot - len(idx)) // the jobs never sent
					return
				}
			}
			select {
			case s.ready <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	return s, nil
}

// Next returns the next batch in order, or nil at the end of the epoch.
// An image that failed to decode makes it return that error.
func (s *Stream) Next() (*Batch, error) {
	b, ok := <-s.ready
	if !ok {
		return nil, nil
	}
	b.wg.Wait()
	if b.err != nil {
		err := b.err
		b.Release()
		return nil, err
	}
	return b, nil
}

// Close stops the decoding goroutines and waits for them.
func (s *Stream) Close() {
	s.cancel()
	// Drain so that a producer blocked on ready can see the cancellation.
	go func() {
		for range s.ready {
		}
	}()
	s.done.Wait()
}
