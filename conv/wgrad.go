package conv

import (
	"sync/atomic"
)

// chunkedWeights computes the weight gradient of a batch that is one
// block: the lanes gather the tiles' output gradients (gatherDy), then
// compute dw (and db) a chunk of the column matrix's rows at a time, each
// over every tile in order. Every element of dw is the same sum as on one
// thread (the tiles and the GEMMs' depth blocks do not depend on the
// chunks), so chunks can be as many as the lanes need.
type chunkedWeights struct {
	l *layer
	b backwardCall
	// chunkRows is the rows of a chunk, a work unit; units is how many.
	chunkRows int
	units     int
	next      atomic.Int64
	// dyAll holds the output gradients of the tiles of several images,
	// gathered into d.oc-row matrices, tile i's at d.oc*i*pl.maxCols.
	dyAll  []float32
	gather gatherDy
}

func (s *chunkedWeights) call() *backwardCall { return &s.b }

func (s *chunkedWeights) grow(threads int) int {
	d, pl := &s.l.d, &s.l.pl
	s.l.growTiles(threads)
	if need := d.oc * pl.tiles(0) * pl.maxCols; len(s.dyAll) < need {
		s.dyAll = make([]float32, need)
	}
	// As few chunks as the workspace allows, a multiple of the lanes:
	// each chunk's GEMMs pack the output gradients again (four a lane
	// made the 3-px layers' chunks 1.67x faster on two threads than on
	// one, two 1.81x; one a lane, where the workspace holds the rows,
	// made the 128-to-256-channel layer's two-thread step 1.7% faster
	// than two), and a count the lanes do not divide leaves one idle.
	kx := s.b.kx
	s.chunkRows = pl.rows
	if threads > 1 {
		chunks := threads * ((kx + threads*pl.rows - 1) / (threads * pl.rows))
		s.chunkRows = (kx + chunks - 1) / chunks
	}
	s.units = (kx + s.chunkRows - 1) / s.chunkRows
	lanes := min(threads, s.units)
	s.b.opt = s.l.gemmOptions(threads, lanes, false)
	return lanes
}

func (s *chunkedWeights) start(threads, lanes int) {
	s.gather.s = s
	s.gather.units = s.l.pl.tiles(0) * s.gather.parts()
	s.gather.next.Store(0)
	runLanes(&s.gather, min(threads, s.gather.units), &s.l.team)
	s.next.Store(0)
	runLanes(s, lanes, &s.l.team)
}

func (s *chunkedWeights) end() {
	s.b = backwardCall{}
	s.gather.s = nil
}

func (s *chunkedWeights) abort() {}

func (s *chunkedWeights) runLane(i int) {
	for {
		u := int(s.next.Add(1)) - 1
		if u >= s.units || s.l.team.Failed() {
			return
		}
		s.chunk(&s.l.lanes[i], u)
	}
}

// tileDy returns tile i's output gradient as a d.oc-row matrix and its
// row stride: in place for a tile of one image, else the tile's part of
// dyAll (filled by gatherDy).
func (s *chunkedWeights) tileDy(t tile, i int) ([]float32, int) {
	d := &s.l.d
	if t.single() {
		return s.b.dy[t.img0*d.out+t.p0:], d.p
	}
	at := d.oc * i * s.l.pl.maxCols
	return s.dyAll[at : at+d.oc*t.cols()], t.cols()
}

// chunk computes chunk u of dw's columns (rows [r0, r1) of the column
// matrix), the bias gradient when the chunk holds the row of ones.
func (s *chunkedWeights) chunk(ln *lane, u int) {
	d, b := &s.l.d, &s.b
	r0 := u * s.chunkRows
	r1 := min(b.kx, r0+s.chunkRows)
	for i := 0; ; i++ {
		t, ok := s.l.pl.tile(0, i)
		if !ok {
			return
		}
		cols := t.cols()
		dyt, ldd := s.tileDy(t, i)
		col := ln.col[:(r1-r0)*cols]
		d.columns(b.x, t, r0, r1, col, cols)
		beta := float32(1)
		if i == 0 {
			beta = 0
		}
		// dw[:, r0:r1] (+)= dyt * col^T, summed over the tile's columns;
		// the row of ones gives db.
		if k := min(r1, d.k); k > r0 {
			withWorkspace(b.opt, ln).Sgemm(false, true, d.oc, k-r0, cols, 1, dyt, ldd, col, cols, beta, b.dw[r0:], d.k)
		}
		if r1 > d.k {
			withWorkspace(b.opt, ln).Sgemm(false, true, d.oc, 1, cols, 1, dyt, ldd, col[(d.k-r0)*cols:], cols, beta, b.db, 1)
		}
	}
}

// gatherDy is chunkedWeights' first phase: unit u gathers part
// u%parts() of tile u/parts()'s output gradient into dyAll.
type gatherDy struct {
	s     *chunkedWeights
	units int
	next  atomic.Int64
}

// gatherRows is the output channels of a gatherDy unit: a tile of 3 x 3
// images is copied 9 floats at a time, slow enough to share.
const gatherRows = 32

// parts is how many units gather a tile's output gradient.
func (g *gatherDy) parts() int { return (g.s.l.d.oc + gatherRows - 1) / gatherRows }

func (g *gatherDy) abort() {}

func (g *gatherDy) runLane(int) {
	s := g.s
	d := &s.l.d
	for {
		u := int(g.next.Add(1)) - 1
		if u >= g.units || s.l.team.Failed() {
			return
		}
		i, part := u/g.parts(), u%g.parts()
		t, _ := s.l.pl.tile(0, i)
		if t.single() {
			continue
		}
		dyt, ld := s.tileDy(t, i)
		o0, o1 := part*gatherRows, min(d.oc, (part+1)*gatherRows)
		d.gatherRows(s.b.dy, t.img0, t.img1, o0, o1, dyt, ld)
	}
}
