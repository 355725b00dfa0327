package conv

// dims is a checked Geometry with the derived sizes the loops need.
type dims struct {
	c, h, w    int // input channels, height, width
	oc, kh, kw int // output channels, kernel
	sh, sw     int // strides
	pt, pl     int // top and left padding
	oh, ow     int // output height and width
	p          int // output positions per image: oh*ow
	k          int // rows of the column matrix: c*kh*kw
	in, out    int // floats per input and per output image

	// For kernel column kw, output columns [owLo[kw], owHi[kw]) read
	// inside the input row; the others read padding.
	owLo, owHi []int

	// tab, for narrow images, maps each kernel tap and output position to
	// the input it reads (see makeTable); nil for wide ones.
	tab []int32
}

func newDims(g Geometry) dims {
	d := dims{
		c: g.InC, h: g.InH, w: g.InW, oc: g.OutC, kh: g.KH, kw: g.KW,
		sh: g.StrideH, sw: g.StrideW, pt: g.PadTop, pl: g.PadLeft,
		oh: g.OutH(), ow: g.OutW(),
	}
	d.p = d.oh * d.ow
	d.k = d.c * d.kh * d.kw
	d.in = d.c * d.h * d.w
	d.out = d.oc * d.p
	d.owLo = make([]int, d.kw)
	d.owHi = make([]int, d.kw)
	for kw := range d.kw {
		// iw = ow*sw - pl + kw must lie in [0, w).
		lo := 0
		if d.pl > kw {
			lo = (d.pl - kw + d.sw - 1) / d.sw
		}
		hi := 0
		if last := d.w - 1 + d.pl - kw; last >= 0 {
			hi = last/d.sw + 1
		}
		d.owLo[kw] = min(lo, d.ow)
		d.owHi[kw] = max(d.owLo[kw], min(hi, d.ow))
	}
	if d.ow < gatherMaxOW && d.kh*d.kw*d.p <= maxTable {
		d.makeTable()
	}
	return d
}

// span is the part of the output that the columns [p0, p1) of one image
// cover: output rows oh0..oh1 (inclusive), starting at column a0 in row oh0
// and ending before column b1 in row oh1; the rows between are whole.
type span struct{ oh0, oh1, a0, b1 int }

func (d *dims) span(p0, p1 int) span {
	return span{oh0: p0 / d.ow, oh1: (p1 - 1) / d.ow, a0: p0 % d.ow, b1: (p1-1)%d.ow + 1}
}

// row returns the output columns [a, b) of row oh within the span.
func (s *span) row(oh, ow int) (a, b int) {
	a, b = 0, ow
	if oh == s.oh0 {
		a = s.a0
	}
	if oh == s.oh1 {
		b = s.b1
	}
	return a, b
}

// im2col writes the column matrix of output positions [p0, p1) of one image
// x: row r = (c*kh + i)*kw + j of the matrix, at dst[r*ld+off:], holds input
// (c, oh*sh-pt+i, ow*sw-pl+j) for each position (oh, ow), or 0 in the
// padding. Rows are written left to right, so the writes are sequential.
// scratch holds at least d.h*d.w+1 floats for the gather path.
func (d *dims) im2col(x []float32, p0, p1 int, dst []float32, ld, off int, scratch []float32) {
	if d.tab != nil && p0 == 0 && p1 == d.p {
		d.im2colGather(x, dst, ld, off, scratch)
		return
	}
	n := p1 - p0
	sp := d.span(p0, p1)
	r := 0
	for c := 0; c < d.c; c++ {
		plane := x[c*d.h*d.w : (c+1)*d.h*d.w]
		for i := 0; i < d.kh; i++ {
			for j := 0; j < d.kw; j++ {
				row := dst[r*ld+off : r*ld+off+n]
				r++
				lo, hi := d.owLo[j], d.owHi[j]
				q := 0
				for oh := sp.oh0; oh <= sp.oh1; oh++ {
					a, b := sp.row(oh, d.ow)
					seg := row[q : q+b-a]
					q += b - a
					ih := oh*d.sh - d.pt + i
					s, e := max(a, lo), min(b, hi)
					if ih < 0 || ih >= d.h || s >= e {
						zero(seg)
						continue
					}
					zero(seg[:s-a])
					zero(seg[e-a:])
					out := seg[s-a : e-a]
					iw := ih*d.w + s*d.sw - d.pl + j
					if d.sw == 1 {
						copy(out, plane[iw:iw+len(out)])
						continue
					}
					for t := range out {
						out[t] = plane[iw]
						iw += d.sw
					}
				}
			}
		}
	}
}

// zero clears s; a loop, not clear(), because the segments are often a
// float or two and a call to memclr costs more than that.
func zero(s []float32) {
	for i := range s {
		s[i] = 0
	}
}

// gatherMaxOW is the widest output for which im2col gathers through a
// table: narrow rows make the segment loop spend its time on bookkeeping.
const gatherMaxOW = 16

// maxTable bounds the gather table's entries.
const maxTable = 1 << 20

// makeTable fills d.tab: for kernel tap t = i*kw+j and output position p,
// the offset in the channel plane of the input it reads, or h*w (a zero
// past the plane's end in the scratch copy) for padding.
func (d *dims) makeTable() {
	hw := d.h * d.w
	d.tab = make([]int32, d.kh*d.kw*d.p)
	for i := 0; i < d.kh; i++ {
		for j := 0; j < d.kw; j++ {
			row := d.tab[(i*d.kw+j)*d.p:]
			for oh := 0; oh < d.oh; oh++ {
				for ow := 0; ow < d.ow; ow++ {
					ih, iw := oh*d.sh-d.pt+i, ow*d.sw-d.pl+j
					v := int32(hw)
					if ih >= 0 && ih < d.h && iw >= 0 && iw < d.w {
						v = int32(ih*d.w + iw)
					}
					row[oh*d.ow+ow] = v
				}
			}
		}
	}
}

// im2colGather is im2col of a whole image through d.tab: each channel plane
// is copied next to a zero, and every column entry is one indexed load.
func (d *dims) im2colGather(x, dst []float32, ld, off int, scratch []float32) {
	hw := d.h * d.w
	taps := d.kh * d.kw
	src := scratch[:hw+1]
	src[hw] = 0
	for c := 0; c < d.c; c++ {
		copy(src, x[c*hw:(c+1)*hw])
		for t := 0; t < taps; t++ {
			idx := d.tab[t*d.p : (t+1)*d.p]
			r := c*taps + t
			row := dst[r*ld+off : r*ld+off+len(idx)]
			for p, i := range idx {
				row[p] = src[i]
			}
		}
	}
}

// col2im adds the column matrix of output positions [p0, p1), laid out as
// im2col writes it, back into the input image dx: the adjoint of im2col.
func (d *dims) col2im(src []float32, ld, off, p0, p1 int, dx []float32) {
	n := p1 - p0
	sp := d.span(p0, p1)
	r := 0
	for c := 0; c < d.c; c++ {
		plane := dx[c*d.h*d.w : (c+1)*d.h*d.w]
		for i := 0; i < d.kh; i++ {
			for j := 0; j < d.kw; j++ {
				row := src[r*ld+off : r*ld+off+n]
				r++
				lo, hi := d.owLo[j], d.owHi[j]
				q := 0
				for oh := sp.oh0; oh <= sp.oh1; oh++ {
					a, b := sp.row(oh, d.ow)
					seg := row[q : q+b-a]
					q += b - a
					ih := oh*d.sh - d.pt + i
					s, e := max(a, lo), min(b, hi)
					if ih < 0 || ih >= d.h || s >= e {
						continue
					}
					dst := plane[ih*d.w : (ih+1)*d.w]
					in := seg[s-a : e-a]
					iw := s*d.sw - d.pl + j
					if d.sw == 1 {
						addTo(dst[iw:iw+len(in)], in)
						continue
					}
					for _, v := range in {
						dst[iw] += v
						iw += d.sw
					}
				}
			}
		}
	}
}

// addTo sets dst[i] += src[i].
func addTo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

// gather copies the output-shaped tensor t (NCHW, d.oc channels) of images
// [i0, i1) into a matrix of d.oc rows and (i1-i0)*d.p columns, row stride
// ld: image j's positions follow image j-1's in every row.
func (d *dims) gather(t []float32, i0, i1 int, m []float32, ld int) {
	for img := i0; img < i1; img++ {
		off := (img - i0) * d.p
		src := t[img*d.out : (img+1)*d.out]
		for o := 0; o < d.oc; o++ {
			copy(m[o*ld+off:o*ld+off+d.p], src[o*d.p:(o+1)*d.p])
		}
	}
}

// scatter is the inverse of gather: it writes the matrix m back into the
// images [i0, i1) of the output-shaped tensor t.
func (d *dims) scatter(m []float32, ld int, i0, i1 int, t []float32) {
	for img := i0; img < i1; img++ {
		off := (img - i0) * d.p
		dst := t[img*d.out : (img+1)*d.out]
		for o := 0; o < d.oc; o++ {
			copy(dst[o*d.p:(o+1)*d.p], m[o*ld+off:o*ld+off+d.p])
		}
	}
}

// fill sets every element of s to v.
func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}
