package conv

import "github.com/snnkit/snn/kernels"

// dims is a checked Geometry with the derived sizes the loops need.
type dims struct {
	// ks is the layer's kernel set: im2col, activations and the GEMMs
	// (through gemm.Options.Kernels) all run on it.
	ks         *kernels.Set
	c, h, w    int // input channels, height, width
	oc, kh, kw int // output channels, kernel
	sh, sw     int // strides
	pt, pl     int // top and left padding
	oh, ow     int // output height and width
	p          int // output positions per image: oh*ow
	k          int // rows of the column matrix: c*kh*kw
	in, out    int // floats per input and per output image

	// For kernel column kw, output columns [owLo[kw], owHi[kw]) read
	// inside the input row; the others read padding. Likewise output rows
	// [ohLo[kh], ohHi[kh]) for kernel row kh.
	owLo, owHi []int
	ohLo, ohHi []int

	// tab, for narrow images, maps each kernel tap and output position to
	// the input it reads (see makeTable); nil for wide ones.
	tab []int32
}

func newDims(g Geometry) dims {
	d := dims{
		ks: kernels.Active(),
		c:  g.InC, h: g.InH, w: g.InW, oc: g.OutC, kh: g.KH, kw: g.KW,
		sh: g.StrideH, sw: g.StrideW, pt: g.PadTop, pl: g.PadLeft,
		oh: g.OutH(), ow: g.OutW(),
	}
	d.p = d.oh * d.ow
	d.k = d.c * d.kh * d.kw
	d.in = d.c * d.h * d.w
	d.out = d.oc * d.p
	d.owLo, d.owHi = inside(d.kw, d.w, d.ow, d.sw, d.pl)
	d.ohLo, d.ohHi = inside(d.kh, d.h, d.oh, d.sh, d.pt)
	if d.ow < gatherMaxOW && d.kh*d.kw*d.p <= maxTable {
		d.makeTable()
	}
	return d
}

// inside returns, for each kernel offset j < k of one dimension, the
// outputs [lo[j], hi[j]) whose input o*stride-pad+j lies in [0, in).
func inside(k, in, out, stride, pad int) (lo, hi []int) {
	lo, hi = make([]int, k), make([]int, k)
	for j := range k {
		l := 0
		if pad > j {
			l = (pad - j + stride - 1) / stride
		}
		h := 0
		if last := in - 1 + pad - j; last >= 0 {
			h = last/stride + 1
		}
		lo[j] = min(l, out)
		hi[j] = max(lo[j], min(h, out))
	}
	return lo, hi
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

// im2col writes rows [r0, r1) of the column matrix of output positions
// [p0, p1) of one image x: row r = (c*kh + i)*kw + j of the matrix, at
// dst[(r-r0)*ld+off:], holds input (c, oh*sh-pt+i, ow*sw-pl+j) for each
// position (oh, ow), or 0 in the padding. Narrow images go through the
// gather table, the others through Shift (rows of the image copied
// sideways); both write every row left to right.
func (d *dims) im2col(x []float32, p0, p1 int, dst []float32, ld, off, r0, r1 int) {
	taps := d.kh * d.kw
	hw := d.h * d.w
	if d.tab != nil && p0 == 0 && p1 == d.p {
		// Whole channels in one call; a chunk may start or end inside one.
		r := r0
		for r < r1 {
			c, t := r/taps, r%taps
			if t == 0 && r+taps <= r1 {
				planes := (r1 - r) / taps
				d.ks.Conv.Gather(dst[(r-r0)*ld+off:], ld, x[c*hw:], hw, planes, d.tab, taps, d.p)
				r += planes * taps
				continue
			}
			t1 := min(taps, t+r1-r)
			d.ks.Conv.Gather(dst[(r-r0)*ld+off:], ld, x[c*hw:], hw, 1, d.tab[t*d.p:], t1-t, d.p)
			r += t1 - t
		}
		return
	}
	n := p1 - p0
	sp := d.span(p0, p1)
	if d.sw == 1 && sp.a0 == 0 && sp.b1 == d.ow {
		d.im2colRows(x, sp.oh0, sp.oh1+1, dst, ld, off, r0, r1)
		return
	}
	for r := r0; r < r1; r++ {
		c, t := r/taps, r%taps
		plane := x[c*hw : (c+1)*hw]
		row := dst[(r-r0)*ld+off : (r-r0)*ld+off+n]
		if d.sw != 1 {
			d.im2colStrided(plane, t/d.kw, t%d.kw, sp, row)
			continue
		}
		d.im2colRow(plane, t/d.kw, t%d.kw, sp, row)
	}
}

// im2colRows is im2col for horizontal stride 1 and the whole output rows
// [oh0, oh1): each row of the column matrix is one Shift of the input rows
// that exist for its kernel row, between zeros. It is im2colRow without the
// partial first and last rows, in one loop over channels and taps, which
// the many short rows of a tile make worth it.
func (d *dims) im2colRows(x []float32, oh0, oh1 int, dst []float32, ld, off, r0, r1 int) {
	taps, hw, ow := d.kh*d.kw, d.h*d.w, d.ow
	n := (oh1 - oh0) * ow
	for r := r0; r < r1; {
		c, t := r/taps, r%taps
		plane := x[c*hw : (c+1)*hw]
		for ; t < taps && r < r1; t, r = t+1, r+1 {
			i, j := t/d.kw, t%d.kw
			in0 := min(max(oh0, d.ohLo[i]), oh1)
			in1 := max(min(oh1, d.ohHi[i]), in0)
			row := dst[(r-r0)*ld+off : (r-r0)*ld+off+n]
			a, b := (in0-oh0)*ow, (in1-oh0)*ow
			if a > 0 {
				clear(row[:a])
			}
			if b > a {
				ih := in0*d.sh - d.pt + i
				d.ks.Conv.Shift(row[a:b], plane[ih*d.w:], in1-in0, ow, d.sh*d.w, j-d.pl, d.owLo[j], d.owHi[j])
			}
			if b < n {
				clear(row[b:])
			}
		}
	}
}

// im2colRow writes one row of the column matrix, kernel tap (i, j) of one
// channel plane, for the output positions of span sp.
func (d *dims) im2colRow(plane []float32, i, j int, sp span, row []float32) {
	ow := d.ow
	q, oh := 0, sp.oh0
	if a, b := sp.row(oh, ow); b-a < ow {
		d.segment(plane, i, j, oh, a, b, row[:b-a])
		q, oh = b-a, oh+1
	}
	end := sp.oh1 + 1 // whole rows are [oh, end)
	if sp.b1 < ow && sp.oh1 >= oh {
		end = sp.oh1
	}
	// Rows above and below the input are zeros; one Shift copies the
	// rows inside it.
	in0 := min(max(oh, d.ohLo[i]), end)
	in1 := max(min(end, d.ohHi[i]), in0)
	clear(row[q : q+(in0-oh)*ow])
	q += (in0 - oh) * ow
	if in1 > in0 {
		ih := in0*d.sh - d.pt + i
		d.ks.Conv.Shift(row[q:q+(in1-in0)*ow], plane[ih*d.w:], in1-in0, ow, d.sh*d.w, j-d.pl, d.owLo[j], d.owHi[j])
		q += (in1 - in0) * ow
	}
	clear(row[q : q+(end-in1)*ow])
	q += (end - in1) * ow
	if end <= sp.oh1 {
		d.segment(plane, i, j, end, 0, sp.b1, row[q:q+sp.b1])
	}
}

// segment writes output columns [a, b) of output row oh of tap (i, j) to
// out.
func (d *dims) segment(plane []float32, i, j, oh, a, b int, out []float32) {
	if oh < d.ohLo[i] || oh >= d.ohHi[i] {
		clear(out)
		return
	}
	ih := oh*d.sh - d.pt + i
	lo := min(max(d.owLo[j]-a, 0), b-a)
	hi := max(min(max(d.owHi[j]-a, 0), b-a), lo)
	d.ks.Conv.Shift(out, plane[ih*d.w:], 1, b-a, 0, a-d.pl+j, lo, hi)
}

// im2colStrided is im2colRow for a horizontal stride above 1, in Go.
func (d *dims) im2colStrided(plane []float32, i, j int, sp span, row []float32) {
	lo, hi := d.owLo[j], d.owHi[j]
	q := 0
	for oh := sp.oh0; oh <= sp.oh1; oh++ {
		a, b := sp.row(oh, d.ow)
		seg := row[q : q+b-a]
		q += b - a
		ih := oh*d.sh - d.pt + i
		s, e := max(a, lo), min(b, hi)
		if ih < 0 || ih >= d.h || s >= e {
			clear(seg)
			continue
		}
		clear(seg[:s-a])
		clear(seg[e-a:])
		out := seg[s-a : e-a]
		iw := ih*d.w + s*d.sw - d.pl + j
		for t := range out {
			out[t] = plane[iw]
			iw += d.sw
		}
	}
}

// gatherMaxOW is the widest output for which im2col gathers through a
// table: on narrow rows the segments are too short for Shift.
const gatherMaxOW = 16

// maxTable bounds the gather table's entries.
const maxTable = 1 << 20

// makeTable fills d.tab: for kernel tap t = i*kw+j and output position p,
// the offset in the channel plane of the input it reads, or -1 (a zero)
// for padding.
func (d *dims) makeTable() {
	d.tab = make([]int32, d.kh*d.kw*d.p)
	for i := 0; i < d.kh; i++ {
		for j := 0; j < d.kw; j++ {
			row := d.tab[(i*d.kw+j)*d.p:]
			for oh := 0; oh < d.oh; oh++ {
				for ow := 0; ow < d.ow; ow++ {
					ih, iw := oh*d.sh-d.pt+i, ow*d.sw-d.pl+j
					v := int32(-1)
					if ih >= 0 && ih < d.h && iw >= 0 && iw < d.w {
						v = int32(ih*d.w + iw)
					}
					row[oh*d.ow+ow] = v
				}
			}
		}
	}
}

// col2im adds rows [r0, r1) of the column matrix of output positions
// [p0, p1), laid out as im2col writes them, back into the input image dx:
// the adjoint of im2col.
func (d *dims) col2im(src []float32, ld, off, p0, p1, r0, r1 int, dx []float32) {
	n := p1 - p0
	sp := d.span(p0, p1)
	taps := d.kh * d.kw
	for r := r0; r < r1; r++ {
		c, t := r/taps, r%taps
		i, j := t/d.kw, t%d.kw
		plane := dx[c*d.h*d.w : (c+1)*d.h*d.w]
		row := src[(r-r0)*ld+off : (r-r0)*ld+off+n]
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
				d.ks.Act.Add(dst[iw:iw+len(in)], in)
				continue
			}
			for _, v := range in {
				dst[iw] += v
				iw += d.sw
			}
		}
	}
}

// gather copies the output-shaped tensor t (NCHW, d.oc channels) of images
// [i0, i1) into a matrix of d.oc rows and (i1-i0)*d.p columns, row stride
// ld: image j's positions follow image j-1's in every row.
func (d *dims) gather(t []float32, i0, i1 int, m []float32, ld int) {
	d.gatherRows(t, i0, i1, 0, d.oc, m, ld)
}

// gatherRows is gather for rows (channels) [o0, o1) of m only.
func (d *dims) gatherRows(t []float32, i0, i1, o0, o1 int, m []float32, ld int) {
	for img := i0; img < i1; img++ {
		off := (img - i0) * d.p
		src := t[img*d.out : (img+1)*d.out]
		for o := o0; o < o1; o++ {
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

// fill sets every element of s to v: a few stores, then copies of what is
// already set, each twice as long as the last (copy is vectorized, a loop
// of stores is not).
func fill(s []float32, v float32) {
	n := min(len(s), 16)
	for i := range n {
		s[i] = v
	}
	for n < len(s) {
		n += copy(s[n:], s[:n])
	}
}
