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
	return d
}

// rowSpan describes the part of output row oh that the columns [p0, p1)
// cover: output columns [a, b).
func (d *dims) rowSpan(oh, p0, p1 int) (a, b int) {
	a, b = 0, d.ow
	if oh == p0/d.ow {
		a = p0 % d.ow
	}
	if oh == (p1-1)/d.ow {
		b = (p1-1)%d.ow + 1
	}
	return a, b
}

// im2col writes the column matrix of output positions [p0, p1) of one image
// x: row r = (c*kh + i)*kw + j of the matrix, at dst[r*ld+off:], holds input
// (c, oh*sh-pt+i, ow*sw-pl+j) for each position (oh, ow), or 0 in the
// padding. Rows are written left to right, so the writes are sequential.
func (d *dims) im2col(x []float32, p0, p1 int, dst []float32, ld, off int) {
	n := p1 - p0
	oh0, oh1 := p0/d.ow, (p1-1)/d.ow
	r := 0
	for c := 0; c < d.c; c++ {
		plane := x[c*d.h*d.w : (c+1)*d.h*d.w]
		for i := 0; i < d.kh; i++ {
			for j := 0; j < d.kw; j++ {
				row := dst[r*ld+off : r*ld+off+n]
				r++
				lo, hi := d.owLo[j], d.owHi[j]
				q := 0
				for oh := oh0; oh <= oh1; oh++ {
					a, b := d.rowSpan(oh, p0, p1)
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
					src := plane[ih*d.w : (ih+1)*d.w]
					out := seg[s-a : e-a]
					iw := s*d.sw - d.pl + j
					if d.sw == 1 {
						copy(out, src[iw:iw+len(out)])
						continue
					}
					for t := range out {
						out[t] = src[iw]
						iw += d.sw
					}
				}
			}
		}
	}
}

// col2im adds the column matrix of output positions [p0, p1), laid out as
// im2col writes it, back into the input image dx: the adjoint of im2col.
func (d *dims) col2im(src []float32, ld, off, p0, p1 int, dx []float32) {
	n := p1 - p0
	oh0, oh1 := p0/d.ow, (p1-1)/d.ow
	r := 0
	for c := 0; c < d.c; c++ {
		plane := dx[c*d.h*d.w : (c+1)*d.h*d.w]
		for i := 0; i < d.kh; i++ {
			for j := 0; j < d.kw; j++ {
				row := src[r*ld+off : r*ld+off+n]
				r++
				lo, hi := d.owLo[j], d.owHi[j]
				q := 0
				for oh := oh0; oh <= oh1; oh++ {
					a, b := d.rowSpan(oh, p0, p1)
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
