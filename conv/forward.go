package conv

import (
	"sync/atomic"

	"github.com/snnkit/snn/gemm"
)

// forwardCall is one forward call's operands, which every forward
// strategy reads.
type forwardCall struct {
	d    *dims
	x, y []float32
	bias []float32
	// a (row stride lda) is the GEMMs' A: the weights, or the weights
	// with the bias as an extra column when the column matrix has a row
	// of ones, kx rows of it (d.k, or d.k+1 with the ones).
	a     []float32
	lda   int
	kx    int
	act   Activation
	dact  Activation // unless Identity, y is multiplied by its derivative,
	dactY []float32  // where its output is dactY (laid out like y)
	// mom, if not nil, takes the statistics of the outputs before the
	// activation (ForwardMoments).
	mom *moments
	opt gemm.Options
}

// startTile starts cols columns of output channels [o0, o1) at y (row
// stride ldy, channel o0 first) from the bias when the GEMMs are to add to
// it, and returns their first beta.
func (f *forwardCall) startTile(y []float32, ldy, cols, o0, o1 int) (beta float32) {
	if f.bias == nil || f.kx > f.d.k {
		return 0
	}
	for o, v := range f.bias[o0:o1] {
		fill(y[o*ldy:o*ldy+cols], v)
	}
	return 1
}

// finishTile applies the call's activations to the finished outputs of one
// image's tile: cols columns of each output channel, the first at y[0] and
// at f.y[at] (y is f.y[at:]).
func (f *forwardCall) finishTile(y []float32, at, cols int) {
	d := f.d
	for o := 0; f.act != Identity && o < d.oc; o++ {
		f.activate(y[o*d.p : o*d.p+cols])
	}
	for o := 0; f.dact != Identity && o < d.oc; o++ {
		f.activateGrad(y[o*d.p:o*d.p+cols], f.dactY[at+o*d.p:at+o*d.p+cols])
	}
}

// activate applies the call's activation to s in place.
func (f *forwardCall) activate(s []float32) {
	switch f.act {
	case SELU:
		f.d.ks.Act.SELU(s, s)
	case ReLU:
		f.d.ks.Act.ReLU(s, s)
	}
}

// activateGrad multiplies the gradient g in place by the derivative of the
// call's dact where that activation's output is y.
func (f *forwardCall) activateGrad(g, y []float32) { applyGrad(f.d.ks, f.dact, g, y) }

// im2colForward is the forward pass through the column matrix: for each
// tile of a block, chunks of rows written by im2col and multiplied by the
// weights, the GEMMs reading them in place.
type im2colForward struct {
	l    *layer
	f    forwardCall
	next atomic.Int64 // the next block to take
}

func (s *im2colForward) call() *forwardCall { return &s.f }

func (s *im2colForward) grow(threads int) int {
	lanes := min(threads, s.l.pl.blocks)
	s.l.growTiles(lanes)
	s.f.opt = s.l.gemmOptions(threads, lanes, true)
	return lanes
}

func (s *im2colForward) start(_, lanes int) {
	s.next.Store(0)
	runLanes(s, lanes, &s.l.team)
}

func (s *im2colForward) end() { s.f = forwardCall{} }

func (s *im2colForward) abort() {}

func (s *im2colForward) runLane(i int) {
	for {
		b := int(s.next.Add(1)) - 1
		if b >= s.l.pl.blocks || s.l.team.Failed() {
			return
		}
		s.block(&s.l.lanes[i], b)
	}
}

// block computes the outputs of block b's tiles.
func (s *im2colForward) block(ln *lane, b int) {
	d, f, pl := &s.l.d, &s.f, &s.l.pl
	for i := 0; ; i++ {
		t, ok := pl.tile(b, i)
		if !ok {
			return
		}
		cols := t.cols()
		// The tile's outputs: for one image a d.oc x cols window of it,
		// row stride d.p, which the GEMMs write in place; for several a
		// matrix scattered to them at the end.
		y, ldy := f.y[t.img0*d.out+t.p0:], d.p
		if !t.single() {
			y, ldy = ln.tmp[:d.oc*cols], cols
		}
		beta := f.startTile(y, ldy, cols, 0, d.oc)
		// The GEMMs read the chunk in place, fresh in L2, rather than
		// packing it again; its rows are colStride apart.
		ld := colStride(cols)
		for r0 := 0; r0 < f.kx; r0 += pl.rows {
			r1 := min(f.kx, r0+pl.rows)
			col := ln.col[:(r1-r0)*ld]
			d.columns(f.x, t, r0, r1, col, ld)
			withWorkspace(f.opt, ln).Sgemm(false, false, d.oc, cols, r1-r0, 1, f.a[r0:], f.lda, col, ld, beta, y, ldy)
			beta = 1
		}
		if f.mom != nil {
			for o := range d.oc {
				f.mom.add(d.ks, b, o, 0, y[o*ldy:o*ldy+cols])
			}
		}
		if t.single() {
			f.finishTile(y, t.img0*d.out+t.p0, cols)
		} else {
			f.activate(y[:d.oc*cols])
			d.scatter(y, cols, t.img0, t.img1, f.y)
			if f.dact != Identity {
				f.activateGrad(f.y[t.img0*d.out:t.img1*d.out], f.dactY[t.img0*d.out:t.img1*d.out])
			}
		}
	}
}

// columns writes rows [r0, r1) of tile t's column matrix (t.cols()
// columns) of the images x into col, row stride ld; row d.k, when asked
// for, is ones: it multiplies the bias.
func (d *dims) columns(x []float32, t tile, r0, r1 int, col []float32, ld int) {
	k1 := min(r1, d.k)
	if t.single() {
		d.im2col(x[t.img0*d.in:(t.img0+1)*d.in], t.p0, t.p1, col, ld, 0, r0, k1)
	} else {
		for img := t.img0; img < t.img1; img++ {
			d.im2col(x[img*d.in:(img+1)*d.in], 0, d.p, col, ld, (img-t.img0)*d.p, r0, k1)
		}
	}
	if r1 > d.k {
		fill(col[(d.k-r0)*ld:(d.k-r0)*ld+t.cols()], 1)
	}
}
