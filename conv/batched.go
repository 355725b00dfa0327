package conv

import "sync/atomic"

// The batched forward pass, for images too narrow to fill GEMM panels
// with their own output rows. nr images (nr = the GEMM kernel's NR) are
// interleaved: bpad[c][ih][iw][g] is padded input (c, ih, iw) of image g0+g,
// so every output position is one whole panel of nr columns, and row
// (c, i, j) of the column matrix for output rows oh0.. is bpad from
// nr*(taps[r] + oh0*wp) on, in runs of nr*OutW floats, nr*wp apart: again
// gemm.SgemmRows, with the output interleaved the same way in a lane's
// tmp, then written out image by image. Same chunks, same sums: bit for
// bit the im2col result.

// useBatched reports whether a forward call on the current plan takes the
// batched pass.
func (l *layer) useBatched() bool {
	d := &l.d
	hp, wp := d.padded()
	if d.sh != 1 || d.sw != 1 || l.pl.imgsPerTile == 1 || l.lim.implicit == implicitNever || !fits(d.c+1, hp, wp, d.ks.Gemm.NR) {
		return false
	}
	return l.lim.implicit == implicitAlways || d.ks.Gemm.KernelRows != nil
}

// batchTiles lays out the output rows of the batched pass for a call on
// lanes lanes, and returns the number of tiles, of bands, and the rows of
// the tallest tile.
//
// A tile is at most lim.batchCols columns wide (unless one row is wider),
// or up to twice that while its output stays within lim.batchOut floats:
// a layer with few output channels gets wider tiles, so fewer GEMM calls
// (each packs the weights) and output pieces for the same bytes (14-px
// layers, 32 and 64 channels: a tile of 7 rows rather than 4 and 3 made
// two-thread steps 4-7% faster, one-thread steps 2-4%).
//
// With a tile for every lane, the rows are cut into one band per lane, as
// even as whole rows allow, and each band into the same number of tiles:
// lane j computes the tiles of band j (runLane), so each core reads the
// padded rows of its band and writes the same output lines call after
// call. (With lanes taking tiles in turn, the kernel ran ~10% slower on
// two cores than on one, and the output of 14-px layers was written in
// pieces a line apart by both.) Otherwise there is one band, the tiles as
// even as whole rows allow, which the lanes share (with the output
// channels: see batchedForward).
func (l *layer) batchTiles(lanes int) (tiles, bands, rows int) {
	oh := l.d.oh
	cols := max(l.lim.batchCols, min(2*l.lim.batchCols, l.lim.batchOut/l.d.oc))
	most := max(1, min(oh, cols/(l.d.ow*l.d.ks.Gemm.NR)))
	tiles = (oh + most - 1) / most
	if lanes > 1 && tiles >= lanes {
		tall := (oh + lanes - 1) / lanes
		per := (tall + most - 1) / most
		return lanes * per, lanes, (tall + per - 1) / per
	}
	return tiles, 1, (oh + tiles - 1) / tiles
}

// batchTile returns the output rows [oh0, oh1) of tile t of the layout
// batchTiles returned: tile t%per of band t/per, per = tiles/bands. The
// taller bands and tiles come first, so that lanes taking one band's
// tiles in order end together (14 rows cut into four tiles make 4, 4, 3
// and 3: two lanes take 7 rows each, where 4, 4, 4 and 2 left one idle
// for a seventh of the pass). A tile may be empty (oh0 == oh1) when a
// band has fewer rows than tiles.
func (l *layer) batchTile(t, tiles, bands int) (oh0, oh1 int) {
	per := tiles / bands
	b0, b1 := evenPart(l.d.oh, bands, t/per)
	r0, r1 := evenPart(b1-b0, per, t%per)
	return b0 + r0, b0 + r1
}

// evenPart returns part j of [0, n) cut into parts parts as evenly as
// whole numbers allow, the larger parts first.
func evenPart(n, parts, j int) (lo, hi int) {
	base, extra := n/parts, n%parts
	lo = j*base + min(j, extra)
	hi = lo + base
	if j < extra {
		hi++
	}
	return lo, hi
}

// batchedForward is the batched pass, nr images at a time (nr = the GEMM
// kernel's NR): each lane interleaves the input rows it needs into its
// own bpad, then computes tiles of output rows (runLane).
type batchedForward struct {
	l *layer
	f forwardCall
	// The layout of the call's tiles (batchTiles). With fewer tiles than
	// threads, the lanes share a tile's output channels in parts parts:
	// each packs and streams only its part of the weights (a GEMM split
	// by columns would stream all of them on every core). A work unit
	// is a part of a tile.
	tiles, bands, parts int
	units               int
	next                atomic.Int64
	// g0 and gn: the images [g0, g0+gn) the lanes are on.
	g0, gn int
	// bpad[i] is lane i's interleaved padded images, followed by ones:
	// the rows its tiles read.
	bpad [][]float32
	grad imageGrad
}

func (s *batchedForward) call() *forwardCall { return &s.f }

func (s *batchedForward) grow(threads int) int {
	d := &s.l.d
	nr := d.ks.Gemm.NR
	hp, wp := d.padded()
	plane := hp * wp
	tiles, bands, rows := s.l.batchTiles(threads)
	s.tiles, s.bands, s.parts = tiles, bands, 1
	if tiles < threads {
		s.parts = min((threads+tiles-1)/tiles, max(1, d.oc/d.ks.Gemm.MR))
	}
	s.units = tiles * s.parts
	lanes := min(threads, s.units) // with bands, one a lane
	s.l.growLanes(lanes, d.h*d.w*nr, d.oc*rows*d.ow*nr)
	s.l.growOffsets(lanes)
	for len(s.bpad) < lanes {
		s.bpad = append(s.bpad, nil)
	}
	for i := range s.bpad[:lanes] {
		if len(s.bpad[i]) < (d.c+1)*plane*nr {
			s.bpad[i] = make([]float32, (d.c+1)*plane*nr)
			fill(s.bpad[i][d.c*plane*nr:], 1)
		}
	}
	s.f.opt = s.l.gemmOptions(threads, lanes, true)
	return lanes
}

// start runs the pass on the batch, nr images at a time.
func (s *batchedForward) start(threads, lanes int) {
	nr := s.l.d.ks.Gemm.NR
	n := s.l.pl.n
	for s.g0 = 0; s.g0 < n; s.g0 += nr {
		s.gn = min(nr, n-s.g0)
		s.next.Store(0)
		runLanes(s, lanes, &s.l.team)
		if s.f.dact != Identity {
			// Tiles write each image's outputs in short pieces; the
			// derivative is applied to whole images afterwards.
			s.grad.l, s.grad.f, s.grad.i0, s.grad.n = s.l, &s.f, s.g0, s.gn
			s.grad.next.Store(0)
			runLanes(&s.grad, min(threads, s.gn), &s.l.team)
		}
	}
}

func (s *batchedForward) end() {
	s.f = forwardCall{}
	s.grad.f = nil
}

func (s *batchedForward) abort() {}

// runLane is lane i's share of the pass on the current images. With
// bands, the lane interleaves the input rows that band i reads into its
// own bpad and computes the band's tiles in order. Otherwise it
// interleaves every input row and takes tiles, or parts of their output
// channels, as they come.
//
// Every lane that computes tiles pads for itself, though lanes without
// bands repeat the same copies: a padding pass shared by the lanes
// before the tiles took as long on two cores as on one (it moves more
// bytes than it computes), and every tile then read padded rows half of
// which the other core had written.
func (s *batchedForward) runLane(i int) {
	d := &s.l.d
	ln, bpad := &s.l.lanes[i], s.bpad[i]
	if s.bands > 1 {
		b0, b1 := evenPart(d.oh, s.bands, i)
		s.padRows(ln, bpad, max(0, b0-d.pt), min(d.h, b1+d.kh-1-d.pt))
		per := s.tiles / s.bands
		for u := i * per; u < (i+1)*per && !s.l.team.Failed(); u++ {
			s.tile(ln, bpad, u)
		}
		return
	}
	padded := false
	for {
		u := int(s.next.Add(1)) - 1
		if u >= s.units || s.l.team.Failed() {
			return
		}
		if !padded {
			s.padRows(ln, bpad, 0, d.h)
			padded = true
		}
		s.tile(ln, bpad, u)
	}
}

// padRows interleaves input rows [ih0, ih1) of every channel of the
// current images into bpad: a channel's rows into the lane's scratch in
// one Transpose (whose vector loop works on eight columns at a time, more
// than a narrow row has), then row by row to their padded place. Padding
// is never written: it stays zero.
func (s *batchedForward) padRows(ln *lane, bpad []float32, ih0, ih1 int) {
	d := &s.l.d
	nr := d.ks.Gemm.NR
	hp, wp := d.padded()
	hw, n := d.h*d.w, (ih1-ih0)*d.w
	rows := ln.col[:n*nr]
	for ch := 0; ch < d.c; ch++ {
		d.ks.Gemm.Transpose(nr, n, s.gn, rows, s.f.x[s.g0*d.in+ch*hw+ih0*d.w:], d.in)
		for ih := ih0; ih < ih1; ih++ {
			at := ((ch*hp+ih+d.pt)*wp + d.pl) * nr
			copy(bpad[at:at+d.w*nr], rows[(ih-ih0)*d.w*nr:])
		}
	}
}

// tile computes unit u: part u%parts of the output channels, for the
// output rows of tile u/parts (batchTile) of the current images.
func (s *batchedForward) tile(ln *lane, bpad []float32, u int) {
	d, f := &s.l.d, &s.f
	nr := d.ks.Gemm.NR
	hp, wp := d.padded()
	oh0, oh1 := s.l.batchTile(u/s.parts, s.tiles, s.bands)
	if oh0 == oh1 {
		return
	}
	cols := (oh1 - oh0) * d.ow * nr
	// Parts have as even numbers of rows as they can, each perhaps ending
	// in a short micro-tile: cut at whole micro-tiles (12 rows with
	// AVX-512), 64 rows made parts of 36 and 28, one lane's a fifth
	// longer than the other's.
	o0, o1 := evenPart(d.oc, s.parts, u%s.parts)
	for r, tap := range s.l.taps {
		ln.off[r] = (tap + oh0*wp) * nr
	}
	ln.off[d.k] = d.c * hp * wp * nr // the ones
	y := ln.tmp[o0*cols : o1*cols]
	beta := f.startTile(y, cols, cols, o0, o1)
	for r0 := 0; r0 < f.kx; r0 += s.l.pl.rows {
		r1 := min(f.kx, r0+s.l.pl.rows)
		withWorkspace(f.opt, ln).SgemmRows(o1-o0, cols, r1-r0, 1, f.a[o0*f.lda+r0:], f.lda, bpad, ln.off[r0:r1], d.ow*nr, wp*nr, beta, y, cols)
		beta = 1
	}
	if f.mom != nil && s.gn == nr {
		// A row of the interleaved output holds that row of all nr
		// images: one piece, whatever the tile's other rows.
		row := d.ow * nr
		for o := o0; o < o1; o++ {
			for r := oh0; r < oh1; r++ {
				at := (o-o0)*cols + (r-oh0)*row
				f.mom.add(d.ks, 0, o, r, y[at:at+row])
			}
		}
	}
	f.activate(y)
	// Image g's outputs of channel o are column g of y[o]'s positions.
	for o := o0; o < o1; o++ {
		d.ks.Conv.Unpack(f.y[s.g0*d.out+o*d.p+oh0*d.ow:], d.out, y[(o-o0)*cols:(o-o0+1)*cols], nr, s.gn, cols/nr)
	}
	if f.mom != nil && s.gn < nr {
		// The interleaved rows hold stale columns past the last image:
		// the pieces are the rows just written out, image by image.
		for o := o0; o < o1; o++ {
			for g := s.g0; g < s.g0+s.gn; g++ {
				for r := oh0; r < oh1; r++ {
					at := g*d.out + o*d.p + r*d.ow
					f.mom.add(d.ks, 0, o, r, f.y[at:at+d.ow])
				}
			}
		}
	}
}

// imageGrad is the batched pass's second phase: the derivative of the
// call's dact applied to images [i0, i0+n), an image a unit.
type imageGrad struct {
	l     *layer
	f     *forwardCall
	i0, n int
	next  atomic.Int64
}

func (g *imageGrad) abort() {}

func (g *imageGrad) runLane(int) {
	out := g.l.d.out
	for {
		img := g.i0 + int(g.next.Add(1)) - 1
		if img >= g.i0+g.n || g.l.team.Failed() {
			return
		}
		at := img * out
		g.f.activateGrad(g.f.y[at:at+out], g.f.dactY[at:at+out])
	}
}
