package conv

// The implicit forward pass. With stride 1, row r = (c, i, j) of an
// image's column matrix is a window of the zero-padded input: output
// (oh, ow) reads padded input (c, oh+i, ow+j), so the row for output rows
// oh0.. is the padded image from taps[r] + oh0*wp on (taps[r] =
// c*hp*wp + i*wp + j, hp x wp the padded size), in runs of OutW floats
// that start wp apart. gemm.SgemmRows multiplies by such rows where they
// lie, so the column matrix is never written (writing it is what im2col
// spends its time on), and its output goes straight to y.
//
// The GEMMs see the same rows in the same chunks as forwardBlock's, so the
// results are the same bit for bit.

// useImplicit reports whether this forward call takes the implicit path.
func (c *Conv2D) useImplicit() bool {
	d := &c.d
	// A lane holds the padded image and a row of ones: a plane of it
	// as large as an image may be is too large for that.
	hp, wp := d.padded()
	if d.sh != 1 || d.sw != 1 || c.pl.imgsPerTile != 1 || c.lim.implicit == implicitNever || !fits(d.c+1, hp, wp) {
		return false
	}
	if c.lim.implicit == implicitAlways {
		return true
	}
	// The kernel reads the padded image in place only when its panels
	// do not straddle output rows: rows of whole panels, or rows of one
	// narrower panel (read whole: KW-1 columns and a few more are
	// computed for nothing).
	nr := c.d.ks.Gemm.NR
	return c.d.ks.Gemm.KernelRows != nil && (d.ow%nr == 0 || d.ow < nr) && d.ow >= c.lim.implicitOW
}

// padded returns the padded image's height and width.
func (d *dims) padded() (hp, wp int) { return d.oh + d.kh - 1, d.ow + d.kw - 1 }

// implicitRows is the number of output rows in one tile: about as many
// columns as forwardBlock's tiles have.
func (c *Conv2D) implicitRows() int {
	return max(1, min(c.d.oh, c.pl.maxCols/c.d.ow))
}

func (c *Conv2D) growImplicit(lanes int) {
	d := &c.d
	hp, wp := d.padded()
	c.growOffsets(lanes)
	// The ones for the bias row, and a panel's width more: a row
	// narrower than a panel is read a whole panel wide.
	cols := c.implicitRows()*wp + c.d.ks.Gemm.NR
	for i := range c.lanes[:lanes] {
		l := &c.lanes[i]
		if need := d.c*hp*wp + cols; len(l.pad) < need {
			l.pad = make([]float32, need)
			fill(l.pad[d.c*hp*wp:], 1)
		}
	}
}

// growOffsets makes the tap offsets and the lanes' row tables, which both
// implicit passes use.
func (c *Conv2D) growOffsets(lanes int) {
	d := &c.d
	hp, wp := d.padded()
	if c.taps == nil {
		c.taps = make([]int, d.k)
		for r := range c.taps {
			ch, t := r/(d.kh*d.kw), r%(d.kh*d.kw)
			c.taps[r] = ch*hp*wp + t/d.kw*wp + t%d.kw
		}
	}
	for i := range c.lanes[:lanes] {
		if l := &c.lanes[i]; len(l.off) < d.k+1 {
			l.off = make([]int, d.k+1)
		}
	}
}

// forwardImplicit computes the outputs of block b's images.
func (c *Conv2D) forwardImplicit(l *lane, b int) {
	d := &c.d
	a, lda := c.weights()
	hp, wp := d.padded()
	plane := hp * wp
	l.off[d.k] = d.c * plane // the bias row: the ones after the image
	rows := c.implicitRows()
	i0, i1 := c.pl.images(b)
	for img := i0; img < i1; img++ {
		x := c.x[img*d.in : (img+1)*d.in]
		for ch := 0; ch < d.c; ch++ {
			for ih := 0; ih < d.h; ih++ {
				o := ch*plane + (ih+d.pt)*wp + d.pl
				copy(l.pad[o:o+d.w], x[(ch*d.h+ih)*d.w:])
			}
		}
		for oh0 := 0; oh0 < d.oh; oh0 += rows {
			oh1 := min(d.oh, oh0+rows)
			cols := (oh1 - oh0) * d.ow
			for r, t := range c.taps {
				l.off[r] = t + oh0*wp
			}
			at := img*d.out + oh0*d.ow
			y := c.y[at:]
			beta := c.startTile(y, d.p, cols, 0, d.oc)
			for r0 := 0; r0 < c.kx; r0 += c.pl.rows {
				r1 := min(c.kx, r0+c.pl.rows)
				c.opt(l).SgemmRows(d.oc, cols, r1-r0, 1, a[r0:], lda, l.pad, l.off[r0:r1], d.ow, wp, beta, y, d.p)
				beta = 1
			}
			c.finishTile(y, at, cols)
		}
	}
}

// The batched forward pass, for images too narrow to fill GEMM panels
// with their own output rows. nr images (nr = the GEMM kernel's NR) are
// interleaved: bpad[c][ih][iw][g] is padded input (c, ih, iw) of image g0+g,
// so every output position is one whole panel of nr columns, and row
// (c, i, j) of the column matrix for output rows oh0.. is bpad from
// nr*(taps[r] + oh0*wp) on, in runs of nr*OutW floats, nr*wp apart: again
// gemm.SgemmRows, with the output interleaved the same way in a lane's
// tmp, then written out image by image. Same chunks, same sums: bit for
// bit the im2col result.

// useBatched reports whether this forward call takes the batched path.
func (c *Conv2D) useBatched() bool {
	d := &c.d
	hp, wp := d.padded()
	if d.sh != 1 || d.sw != 1 || c.pl.imgsPerTile == 1 || c.lim.implicit == implicitNever || !fits(d.c+1, hp, wp, d.ks.Gemm.NR) {
		return false
	}
	return c.lim.implicit == implicitAlways || c.d.ks.Gemm.KernelRows != nil
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
// lane j computes the tiles of band j (runTiles), so each core reads the
// padded rows of its band and writes the same output lines call after
// call. (With lanes taking tiles in turn, the kernel ran ~10% slower on
// two cores than on one, and the output of 14-px layers was written in
// pieces a line apart by both.) Otherwise there is one band, the tiles as
// even as whole rows allow, which the lanes share (with the output
// channels: see forwardBatched).
func (c *Conv2D) batchTiles(lanes int) (tiles, bands, rows int) {
	oh := c.d.oh
	cols := max(c.lim.batchCols, min(2*c.lim.batchCols, c.lim.batchOut/c.d.oc))
	most := max(1, min(oh, cols/(c.d.ow*c.d.ks.Gemm.NR)))
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
func (c *Conv2D) batchTile(t, tiles, bands int) (oh0, oh1 int) {
	per := tiles / bands
	b0, b1 := evenPart(c.d.oh, bands, t/per)
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

func (c *Conv2D) growBatched(threads int) {
	d := &c.d
	nr := c.d.ks.Gemm.NR
	hp, wp := d.padded()
	plane := hp * wp
	_, _, rows := c.batchTiles(threads)
	cols := rows * d.ow * nr
	for i := range c.lanes {
		l := &c.lanes[i]
		if len(l.bpad) < (d.c+1)*plane*nr {
			l.bpad = make([]float32, (d.c+1)*plane*nr)
			fill(l.bpad[d.c*plane*nr:], 1)
		}
		if len(l.tmp) < d.oc*cols {
			l.tmp = make([]float32, d.oc*cols)
		}
		if len(l.col) < d.h*d.w*nr {
			l.col = make([]float32, d.h*d.w*nr)
		}
	}
	c.growOffsets(len(c.lanes))
}

// forwardBatched runs the batched pass on the batch, nr images at a time:
// each lane interleaves the input rows it needs into its bpad, then
// computes tiles of output rows (runTiles).
func (c *Conv2D) forwardBatched(n, threads int) {
	d := &c.d
	nr := c.d.ks.Gemm.NR
	tiles, bands, _ := c.batchTiles(threads)
	for len(c.lanes) < threads {
		c.lanes = append(c.lanes, lane{})
	}
	c.growBatched(threads)
	c.tiles, c.bands = tiles, bands
	// With fewer tiles than threads, the lanes share a tile's output
	// channels: each packs and streams only its part of the weights
	// (a GEMM split by columns would stream all of them on every core).
	c.parts = 1
	if tiles < threads {
		c.parts = min((threads+tiles-1)/tiles, max(1, d.oc/c.d.ks.Gemm.MR))
	}
	lanes := min(threads, tiles*c.parts) // with bands, one a lane
	c.gemmOpt.Threads = max(1, threads/lanes)
	for c.g0 = 0; c.g0 < n; c.g0 += nr {
		c.gn = min(nr, n-c.g0)
		c.op, c.units = opTileBatch, tiles*c.parts
		c.next.Store(0)
		runLanes(c, lanes, &c.team)
		if c.dact != Identity {
			// Tiles write each image's outputs in short pieces; the
			// derivative is applied to whole images afterwards.
			c.op, c.units = opGradBatch, c.gn
			c.next.Store(0)
			runLanes(c, min(threads, c.gn), &c.team)
		}
	}
}

// runTiles is lane i's share of the batched pass on the current images.
// With bands, the lane interleaves the input rows that band i reads into
// its own bpad and computes the band's tiles in order. Otherwise it
// interleaves every input row and takes tiles, or parts of their output
// channels, as they come.
//
// Every lane that computes tiles pads for itself, though lanes without
// bands repeat the same copies: a padding pass shared by the lanes
// before the tiles took as long on two cores as on one (it moves more
// bytes than it computes), and every tile then read padded rows half of
// which the other core had written.
func (c *Conv2D) runTiles(l *lane, i int) {
	d := &c.d
	if c.bands > 1 {
		b0, b1 := evenPart(d.oh, c.bands, i)
		c.padRows(l, max(0, b0-d.pt), min(d.h, b1+d.kh-1-d.pt))
		per := c.tiles / c.bands
		for u := i * per; u < (i+1)*per && !c.team.Failed(); u++ {
			c.tileBatch(l, u)
		}
		return
	}
	padded := false
	for {
		u := int(c.next.Add(1)) - 1
		if u >= c.units || c.team.Failed() {
			return
		}
		if !padded {
			c.padRows(l, 0, d.h)
			padded = true
		}
		c.tileBatch(l, u)
	}
}

// padRows interleaves input rows [ih0, ih1) of every channel of the
// current images into the lane's bpad: a channel's rows into the lane's
// scratch in one Transpose (whose vector loop works on eight columns at
// a time, more than a narrow row has), then row by row to their padded
// place. Padding is never written: it stays zero.
func (c *Conv2D) padRows(l *lane, ih0, ih1 int) {
	d := &c.d
	nr := c.d.ks.Gemm.NR
	hp, wp := d.padded()
	hw, n := d.h*d.w, (ih1-ih0)*d.w
	rows := l.col[:n*nr]
	for ch := 0; ch < d.c; ch++ {
		d.ks.Gemm.Transpose(nr, n, c.gn, rows, c.x[c.g0*d.in+ch*hw+ih0*d.w:], d.in)
		for ih := ih0; ih < ih1; ih++ {
			at := ((ch*hp+ih+d.pt)*wp + d.pl) * nr
			copy(l.bpad[at:at+d.w*nr], rows[(ih-ih0)*d.w*nr:])
		}
	}
}

// tileBatch computes unit u: part u%c.parts of the output channels, for
// the output rows of tile u/c.parts (batchTile) of the current images.
func (c *Conv2D) tileBatch(l *lane, u int) {
	d := &c.d
	nr := c.d.ks.Gemm.NR
	a, lda := c.weights()
	hp, wp := d.padded()
	oh0, oh1 := c.batchTile(u/c.parts, c.tiles, c.bands)
	if oh0 == oh1 {
		return
	}
	cols := (oh1 - oh0) * d.ow * nr
	// Parts have as even numbers of rows as they can, each perhaps ending
	// in a short micro-tile: cut at whole micro-tiles (12 rows with
	// AVX-512), 64 rows made parts of 36 and 28, one lane's a fifth
	// longer than the other's.
	o0, o1 := evenPart(d.oc, c.parts, u%c.parts)
	for r, tap := range c.taps {
		l.off[r] = (tap + oh0*wp) * nr
	}
	l.off[d.k] = d.c * hp * wp * nr // the ones
	y := l.tmp[o0*cols : o1*cols]
	beta := c.startTile(y, cols, cols, o0, o1)
	for r0 := 0; r0 < c.kx; r0 += c.pl.rows {
		r1 := min(c.kx, r0+c.pl.rows)
		c.opt(l).SgemmRows(o1-o0, cols, r1-r0, 1, a[o0*lda+r0:], lda, l.bpad, l.off[r0:r1], d.ow*nr, wp*nr, beta, y, cols)
		beta = 1
	}
	c.activate(y)
	// Image g's outputs of channel o are column g of y[o]'s positions.
	for o := o0; o < o1; o++ {
		d.ks.Conv.Unpack(c.y[c.g0*d.out+o*d.p+oh0*d.ow:], d.out, y[(o-o0)*cols:(o-o0+1)*cols], nr, c.gn, cols/nr)
	}
}
