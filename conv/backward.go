package conv

import (
	"sync"
	"sync/atomic"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/par"
)

// backwardCall is one backward call's operands.
type backwardCall struct {
	x, w   []float32
	dy, dx []float32
	dw, db []float32
	kx     int // rows of the column matrix: d.k, +1 for the bias row with db
	dact   Activation
	dactY  []float32 // with dact: dx is multiplied by its derivative at dactY
	opt    gemm.Options
}

// backwardBlocks computes the gradients block by block: for each tile,
// the weight gradient by the column matrix's chunks times dy transposed,
// and the input gradient by the weights times dy, folded back by col2im.
// Each block's weight gradient is added to acc in block order
// (addPartial), or kept and summed afterwards (partialSum); acc is then
// transposed into dw and db.
//
// The weight gradient is computed transposed, kx x d.oc, when that GEMM
// reads the column matrix as its A where it lies (few output channels:
// kernels.Gemm.UnpackedA); as d.oc x kx it packs the whole column matrix
// as its B. With 32 output channels the layers' steps ran 1.10x (AVX2)
// and 1.13x (AVX-512) faster so; with 256 and AVX2, where A would be
// packed, 0.96x, so those stay d.oc x kx. Each element is the same sum in
// the same order either way.
type backwardBlocks struct {
	l    *layer
	b    backwardCall
	next atomic.Int64 // the next block to take
	// trans: the weight gradients are kx x d.oc, else d.oc x kx.
	trans bool
	// part[i] is lane i's block weight gradient.
	part [][]float32
	// acc is the sum of the blocks' weight gradients.
	acc []float32
	// keep: each block keeps its weight gradient in partials[b], summed
	// into dw by sum once every block is done. With few blocks per lane
	// the last blocks' ordered additions would run one after another
	// while the other lanes wait; the sum's lanes share rows of dw
	// instead, adding in the same order (the same bits).
	keep     bool
	partials [][]float32
	sum      partialSum
	// added counts the blocks whose weight gradient is in dw; it is set
	// under mu, and cond wakes the lanes waiting for their turn.
	added atomic.Int64
	mu    sync.Mutex
	cond  sync.Cond
}

func (s *backwardBlocks) call() *backwardCall { return &s.b }

func (s *backwardBlocks) grow(threads int) int {
	d, pl := &s.l.d, &s.l.pl
	lanes := min(threads, pl.blocks)
	s.keep = s.b.dw != nil && lanes > 1 && pl.blocks <= 2*lanes
	s.trans = d.ks.Gemm.UnpackedA(d.oc)
	s.l.growTiles(lanes)
	sized := func(bufs [][]float32, n int) [][]float32 {
		for len(bufs) < n {
			bufs = append(bufs, nil)
		}
		for i := range bufs[:n] {
			if len(bufs[i]) < (d.k+1)*d.oc {
				bufs[i] = make([]float32, (d.k+1)*d.oc)
			}
		}
		return bufs
	}
	switch {
	case s.keep:
		s.partials = sized(s.partials, pl.blocks)
	case s.b.dw != nil:
		s.part = sized(s.part, lanes)
	}
	if s.b.dw != nil && len(s.acc) < (d.k+1)*d.oc {
		s.acc = make([]float32, (d.k+1)*d.oc)
	}
	s.b.opt = s.l.gemmOptions(threads, lanes, false)
	return lanes
}

func (s *backwardBlocks) start(_, lanes int) {
	s.next.Store(0)
	s.added.Store(0)
	runLanes(s, lanes, &s.l.team)
	if s.keep {
		rows, _ := s.partShape()
		s.sum.s, s.sum.units = s, (rows+s.sumRows()-1)/s.sumRows()
		s.sum.next.Store(0)
		runLanes(&s.sum, min(lanes, s.sum.units), &s.l.team)
	}
	if s.b.dw != nil && s.l.pl.blocks > 0 && !s.l.team.Failed() {
		s.unpack()
	}
}

// partShape returns the rows and columns of a block's weight gradient.
func (s *backwardBlocks) partShape() (rows, cols int) {
	if s.trans {
		return s.b.kx, s.l.d.oc
	}
	return s.l.d.oc, s.b.kx
}

// unpack writes acc into dw (d.oc x d.k) and db (the bias row or column
// of acc).
func (s *backwardBlocks) unpack() {
	d, bc := &s.l.d, &s.b
	oc, k := d.oc, d.k
	if !s.trans {
		kx := bc.kx
		for o := range oc {
			copy(bc.dw[o*k:(o+1)*k], s.acc[o*kx:o*kx+k])
			if bc.db != nil {
				bc.db[o] = s.acc[o*kx+k]
			}
		}
		return
	}
	// Blocks of 16 x 16: a block's rows of acc and of dw stay in L1.
	const bs = 16
	for r0 := 0; r0 < k; r0 += bs {
		r1 := min(k, r0+bs)
		for o0 := 0; o0 < oc; o0 += bs {
			o1 := min(oc, o0+bs)
			for r := r0; r < r1; r++ {
				row := s.acc[r*oc+o0 : r*oc+o1]
				for i, v := range row {
					bc.dw[(o0+i)*k+r] = v
				}
			}
		}
	}
	if bc.db != nil {
		copy(bc.db[:oc], s.acc[k*oc:(k+1)*oc])
	}
}

func (s *backwardBlocks) end() {
	s.b = backwardCall{}
	s.sum.s = nil
}

// abort wakes the lanes waiting in addPartial after a lane panicked.
func (s *backwardBlocks) abort() {
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *backwardBlocks) runLane(i int) {
	for {
		b := int(s.next.Add(1)) - 1
		if b >= s.l.pl.blocks || s.l.team.Failed() {
			return
		}
		var part []float32
		switch {
		case s.keep:
			part = s.partials[b]
		case s.b.dw != nil:
			part = s.part[i]
		}
		s.block(&s.l.lanes[i], part, b)
	}
}

// block computes block b's part of the gradients, with lane ln's scratch
// and, for the weight gradient, part.
func (s *backwardBlocks) block(ln *lane, part []float32, b int) {
	d, bc, pl := &s.l.d, &s.b, &s.l.pl
	if bc.dx != nil {
		i0, i1 := pl.images(b)
		clear(bc.dx[i0*d.in : i1*d.in])
	}
	rows := bc.kx
	if bc.dw == nil {
		rows = d.k
	}
	for i := 0; ; i++ {
		t, ok := pl.tile(b, i)
		if !ok {
			break
		}
		cols := t.cols()
		// dyt is the tile's output gradient as a d.oc x cols matrix.
		dyt, ldd := bc.dy[t.img0*d.out+t.p0:], d.p
		if !t.single() {
			dyt, ldd = ln.tmp[:d.oc*cols], cols
			d.gather(bc.dy, t.img0, t.img1, dyt, cols)
		}
		for r0 := 0; r0 < rows; r0 += pl.rows {
			r1 := min(rows, r0+pl.rows)
			if bc.dw != nil {
				col := ln.col[:(r1-r0)*cols]
				d.columns(bc.x, t, r0, r1, col, cols)
				beta := float32(1)
				if i == 0 {
					beta = 0
				}
				// The gradient's rows r0:r1 of kx (+)= col * dyt^T (or its
				// columns, dyt * col^T), summed over the tile's columns.
				if s.trans {
					withWorkspace(bc.opt, ln).Sgemm(false, true, r1-r0, d.oc, cols, 1, col, cols, dyt, ldd, beta, part[r0*d.oc:], d.oc)
				} else {
					withWorkspace(bc.opt, ln).Sgemm(false, true, d.oc, r1-r0, cols, 1, dyt, ldd, col, cols, beta, part[r0:], bc.kx)
				}
			}
			if r1 = min(r1, d.k); bc.dx != nil && r1 > r0 {
				// dcol = w[:, r0:r1]^T * dyt, then folded back into dx.
				dcol := ln.col[:(r1-r0)*cols]
				withWorkspace(bc.opt, ln).Sgemm(true, false, r1-r0, cols, d.oc, 1, bc.w[r0:], d.k, dyt, ldd, 0, dcol, cols)
				if t.single() {
					d.col2im(dcol, cols, 0, t.p0, t.p1, r0, r1, bc.dx[t.img0*d.in:(t.img0+1)*d.in])
				} else {
					for img := t.img0; img < t.img1; img++ {
						d.col2im(dcol, cols, (img-t.img0)*d.p, 0, d.p, r0, r1, bc.dx[img*d.in:(img+1)*d.in])
					}
				}
			}
		}
	}
	if bc.dx != nil && bc.dact != Identity {
		// col2im has added the last of the block's images' gradients.
		i0, i1 := pl.images(b)
		applyGrad(d.ks, bc.dact, bc.dx[i0*d.in:i1*d.in], bc.dactY[i0*d.in:i1*d.in])
	}
	if bc.dw != nil && !s.keep {
		s.addPartial(part, b)
	}
}

// addPartial adds block b's weight gradient to acc after blocks 0..b-1
// have added theirs: the sum's order is the block order, whichever lane
// computed which block. Lanes take blocks in increasing order, so the
// lane holding the lowest block not yet added never waits.
func (s *backwardBlocks) addPartial(part []float32, b int) {
	// The turn usually comes within microseconds (blocks take about as
	// long as one another): poll before blocking, whose wake-up costs more.
	turn := func() bool { return s.added.Load() == int64(b) || s.l.team.Failed() }
	if !par.Poll(turn) {
		s.mu.Lock()
		for !turn() {
			s.cond.Wait()
		}
		s.mu.Unlock()
	}
	if s.l.team.Failed() {
		return
	}

	rows, _ := s.partShape()
	s.addRows(part, b, 0, rows)

	s.mu.Lock()
	s.added.Add(1)
	s.cond.Broadcast()
	s.mu.Unlock()
}

// addRows adds rows [r0, r1) of block b's weight gradient part to acc,
// or copies them there for block 0.
func (s *backwardBlocks) addRows(part []float32, b, r0, r1 int) {
	_, cols := s.partShape()
	src, dst := part[r0*cols:r1*cols], s.acc[r0*cols:r1*cols]
	if b == 0 {
		copy(dst, src)
		return
	}
	s.l.d.ks.Act.Add(dst, src)
}

// sumRows is how many rows of acc a unit of partialSum sums: about 2048
// floats.
func (s *backwardBlocks) sumRows() int {
	_, cols := s.partShape()
	return max(1, 2048/cols)
}

// partialSum is backwardBlocks' second phase when the blocks keep their
// weight gradients: a unit sums sumRows rows of every block's into acc,
// in block order, element for element the additions addPartial makes.
type partialSum struct {
	s     *backwardBlocks
	units int
	next  atomic.Int64
}

func (p *partialSum) abort() {}

func (p *partialSum) runLane(int) {
	s := p.s
	for {
		u := int(p.next.Add(1)) - 1
		if u >= p.units || s.l.team.Failed() {
			return
		}
		rows, _ := s.partShape()
		per := s.sumRows()
		r0, r1 := u*per, min(rows, (u+1)*per)
		for b := range s.l.pl.blocks {
			s.addRows(s.partials[b], b, r0, r1)
		}
	}
}
