package conv

import "sync/atomic"

// The implicit forward pass. With stride 1, row r = (c, i, j) of an
// image's column matrix is a window of the zero-padded input: output
// (oh, ow) reads padded input (c, oh+i, ow+j), so the row for output rows
// oh0.. is the padded image from taps[r] + oh0*wp on (taps[r] =
// c*hp*wp + i*wp + j, hp x wp the padded size), in runs of OutW floats
// that start wp apart. gemm.SgemmRows multiplies by such rows where they
// lie, so the column matrix is never written (writing it is what im2col
// spends its time on), and its output goes straight to y.
//
// The GEMMs see the same rows in the same chunks as im2colForward's, so
// the results are the same bit for bit.

// useImplicit reports whether a forward call on the current plan takes
// the implicit pass.
func (l *layer) useImplicit() bool {
	d := &l.d
	// A lane holds the padded image and a row of ones: a plane of it
	// as large as an image may be is too large for that.
	hp, wp := d.padded()
	if d.sh != 1 || d.sw != 1 || l.pl.imgsPerTile != 1 || l.lim.implicit == implicitNever || !fits(d.c+1, hp, wp) {
		return false
	}
	if l.lim.implicit == implicitAlways {
		return true
	}
	// The kernel reads the padded image in place when its panels do not
	// straddle output rows: rows of whole panels, or rows cut evenly into
	// narrower ones (each read a whole panel wide: KW-1 columns and a few
	// more are computed for nothing), at least 3/4 of a panel, as
	// gemm.SgemmRows wants them for reading in place. 28-wide rows are
	// one panel of AVX-512 and two of 14 of AVX2.
	g := &d.ks.Gemm
	return g.KernelRows != nil && 4*g.RowsPanel(d.ow) >= 3*g.NR && d.ow >= l.lim.implicitOW
}

// padded returns the padded image's height and width.
func (d *dims) padded() (hp, wp int) { return d.oh + d.kh - 1, d.ow + d.kw - 1 }

// implicitForward is the implicit pass over single images: each lane pads
// the images of a block into its own pad, then multiplies by rows of it.
type implicitForward struct {
	l    *layer
	f    forwardCall
	next atomic.Int64 // the next block to take
	// pad[i] is lane i's zero-padded image (borders zeroed once, never
	// written), followed by ones for the bias row.
	pad [][]float32
}

// rows is the number of output rows in one tile: about as many columns
// as im2colForward's tiles have.
func (s *implicitForward) rows() int {
	return max(1, min(s.l.d.oh, s.l.pl.maxCols/s.l.d.ow))
}

func (s *implicitForward) call() *forwardCall { return &s.f }

func (s *implicitForward) grow(threads int) int {
	d := &s.l.d
	lanes := min(threads, s.l.pl.blocks)
	s.l.growLanes(lanes, 0, 0)
	s.l.growOffsets(lanes)
	hp, wp := d.padded()
	// The ones for the bias row, and a panel's width more: a row
	// narrower than a panel is read a whole panel wide.
	cols := s.rows()*wp + d.ks.Gemm.NR
	for len(s.pad) < lanes {
		s.pad = append(s.pad, nil)
	}
	for i := range s.pad[:lanes] {
		if need := d.c*hp*wp + cols; len(s.pad[i]) < need {
			s.pad[i] = make([]float32, need)
			fill(s.pad[i][d.c*hp*wp:], 1)
		}
	}
	s.f.opt = s.l.gemmOptions(threads, lanes, true)
	return lanes
}

func (s *implicitForward) start(_, lanes int) {
	s.next.Store(0)
	runLanes(s, lanes, &s.l.team)
}

func (s *implicitForward) end() { s.f = forwardCall{} }

func (s *implicitForward) abort() {}

func (s *implicitForward) runLane(i int) {
	for {
		b := int(s.next.Add(1)) - 1
		if b >= s.l.pl.blocks || s.l.team.Failed() {
			return
		}
		s.block(&s.l.lanes[i], s.pad[i], b)
	}
}

// block computes the outputs of block b's images, padding each into pad.
func (s *implicitForward) block(ln *lane, pad []float32, b int) {
	d, f := &s.l.d, &s.f
	hp, wp := d.padded()
	plane := hp * wp
	ln.off[d.k] = d.c * plane // the bias row: the ones after the image
	rows := s.rows()
	i0, i1 := s.l.pl.images(b)
	for img := i0; img < i1; img++ {
		x := f.x[img*d.in : (img+1)*d.in]
		for ch := 0; ch < d.c; ch++ {
			for ih := 0; ih < d.h; ih++ {
				o := ch*plane + (ih+d.pt)*wp + d.pl
				copy(pad[o:o+d.w], x[(ch*d.h+ih)*d.w:])
			}
		}
		for oh0 := 0; oh0 < d.oh; oh0 += rows {
			oh1 := min(d.oh, oh0+rows)
			cols := (oh1 - oh0) * d.ow
			for r, t := range s.l.taps {
				ln.off[r] = t + oh0*wp
			}
			at := img*d.out + oh0*d.ow
			y := f.y[at:]
			beta := f.startTile(y, d.p, cols, 0, d.oc)
			for r0 := 0; r0 < f.kx; r0 += s.l.pl.rows {
				r1 := min(f.kx, r0+s.l.pl.rows)
				withWorkspace(f.opt, ln).SgemmRows(d.oc, cols, r1-r0, 1, f.a[r0:], f.lda, pad, ln.off[r0:r1], d.ow, wp, beta, y, d.p)
				beta = 1
			}
			if f.mom != nil {
				for o := range d.oc {
					f.mom.add(d.ks, b, o, 0, y[o*d.p:o*d.p+cols])
				}
			}
			f.finishTile(y, at, cols)
		}
	}
}
