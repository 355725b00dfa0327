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
	if d.sh != 1 || d.sw != 1 || c.pl.imgsPerTile != 1 || c.lim.implicit == implicitNever {
		return false
	}
	if c.lim.implicit == implicitAlways {
		return true
	}
	// The kernel reads the padded image in place only when its panels
	// do not straddle output rows.
	return active.Gemm.KernelRows != nil && d.ow%active.Gemm.NR == 0 && d.ow >= c.lim.implicitOW
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
	if c.taps == nil {
		c.taps = make([]int, d.k)
		for r := range c.taps {
			ch, t := r/(d.kh*d.kw), r%(d.kh*d.kw)
			c.taps[r] = ch*hp*wp + t/d.kw*wp + t%d.kw
		}
	}
	cols := c.implicitRows() * wp
	for i := range c.lanes[:lanes] {
		l := &c.lanes[i]
		if need := d.c*hp*wp + cols; len(l.pad) < need {
			l.pad = make([]float32, need)
			fill(l.pad[d.c*hp*wp:], 1)
		}
		if len(l.off) < d.k+1 {
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
			beta := c.startTile(y, d.p, cols)
			for r0 := 0; r0 < c.kx; r0 += c.pl.rows {
				r1 := min(c.kx, r0+c.pl.rows)
				c.gemmOpt.SgemmRows(d.oc, cols, r1-r0, 1, a[r0:], lda, l.pad, l.off[r0:r1], d.ow, wp, beta, y, d.p)
				beta = 1
			}
			c.finishTile(y, at, cols)
		}
	}
}
