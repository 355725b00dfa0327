package conv

import (
	"sync/atomic"
)

// The Winograd forward pass, F(2x2, 3x3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", CVPR 2016), for 3x3
// layers with stride 1 and one pixel of zero padding on every side. Each
// 2x2 block of an output channel (a tile) is
//
//	A^T [ sum over c of (G w_c G^T) . (B^T d_c B) ] A
//
// with d_c the 4x4 input patch around the tile in channel c, w_c the 3x3
// filter, . the element-wise product and
//
//	B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//	A^T = [1 1 1 0; 0 1 -1 -1]
//
// Element e of the 4x4 sums is, over all tiles, a matrix product of its
// own: M_e = U_e V_e, U_e the OutC x InC transformed filters and V_e the
// InC x tiles transformed inputs. The 16 GEMMs do 16 multiply-adds per
// tile, input and output channel where the direct convolution does 36;
// the transforms are additions only (and halvings of the filters), whose
// cost grows with the channels where the GEMMs' grows with their product.
// So it pays on layers with many channels (docs/performance.md, "Winograd
// F(2x2, 3x3)"), and the results differ from the direct convolution's in
// the last bits. The input and output transforms (and the weight
// gradient's of dy) are the kernel set's (kernels.Conv: vector code on
// x86), a row of tiles per call; the filters' are Go here.
//
// A work unit is a group of whole images, or a band of rows of tiles of
// one large image (see winogradCut): its tiles' V and M are a lane's
// scratch, the GEMMs read V and write M, and the output transform writes
// the unit's part of y. Units depend on the geometry and n only, and
// every tile's sums are the same whichever unit and lane compute it: the
// results are the same bit for bit whatever the thread count.

// Modes of limits.winograd.
const (
	winogradAuto   = 0
	winogradAlways = 1
	winogradNever  = -1
)

// winogradMinSize is the smallest output height and width with which the
// auto mode takes the Winograd pass: the transforms' work per row of
// tiles is too little below.
const winogradMinSize = 8

// winogradFits reports whether the geometry is one the Winograd pass
// computes: 3x3, stride 1, one pixel of padding on each side.
func (d *dims) winogradFits() bool {
	return d.kh == 3 && d.kw == 3 && d.sh == 1 && d.sw == 1 && d.pt == 1 && d.pl == 1 &&
		d.oh == d.h && d.ow == d.w
}

// useWinograd reports whether a forward call takes the Winograd pass.
func (l *layer) useWinograd() bool {
	d := &l.d
	if !d.winogradFits() || l.lim.winograd == winogradNever {
		return false
	}
	if l.lim.winograd == winogradAlways {
		return true
	}
	// The transforms cost the same whatever the GEMM kernels' width, and
	// the GEMMs less the wider the kernels: the channels from which the
	// GEMMs' savings outweigh the transforms grow with NR. Go transforms
	// need 4*NR; vector ones, on rows of tiles as wide as they take, 2*NR
	// (32 for AVX2, 64 for AVX-512, measured: docs/performance.md).
	// Odd sizes compute a row and a column of outputs for nothing.
	need := 4 * d.ks.Gemm.NR
	if r := d.ks.Conv.WinogradRow; r > 0 && (d.ow+1)/2 >= r {
		need = 2 * d.ks.Gemm.NR
	}
	return min(d.c, d.oc) >= need && min(d.oh, d.ow) >= winogradMinSize && d.oh%2 == 0 && d.ow%2 == 0
}

// winogradCut is how a batch is cut into the Winograd pass's work units:
// groups of imgs whole images, or, for an image of more tiles than
// lim.winogradTiles, bands of rows rows of tiles of one image (bands
// per image), so that a lane's V and M stay that size whatever the image.
type winogradCut struct {
	n, th        int // images, rows of tiles per image
	imgs         int // images per unit
	rows, bands  int // rows of tiles per unit, units per image (1 for whole images)
	units, tiles int // units, and the most tiles a unit has
}

// winogradCut cuts a batch of n images: about lim.winogradTiles tiles a
// unit, and at least minBlocks units when there are the images for them,
// so that that many threads find work (the transforms of a unit run on
// one lane). The cut depends on the geometry and n only.
func (l *layer) winogradCut(n int) winogradCut {
	d := &l.d
	th, tw := (d.oh+1)/2, (d.ow+1)/2
	c := winogradCut{n: n, th: th, imgs: 1, rows: th, bands: 1}
	if th*tw <= l.lim.winogradTiles {
		c.imgs = max(1, min((n+minBlocks-1)/minBlocks, l.lim.winogradTiles/(th*tw)))
	} else {
		c.rows = max(1, l.lim.winogradTiles/tw)
		c.bands = (th + c.rows - 1) / c.rows
	}
	c.units = (n + c.imgs - 1) / c.imgs * c.bands
	c.tiles = c.imgs * c.rows * tw
	return c
}

// unit returns the images [i0, i1) and the rows of tiles [ty0, ty1) of
// unit u.
func (c *winogradCut) unit(u int) (i0, i1, ty0, ty1 int) {
	i0 = u / c.bands * c.imgs
	ty0 = u % c.bands * c.rows
	return i0, min(c.n, i0+c.imgs), ty0, min(c.th, ty0+c.rows)
}

// winogradForward is the Winograd pass.
type winogradForward struct {
	l    *layer
	f    forwardCall
	next atomic.Int64 // the next block of filters to transform, then the next unit
	// u holds the transformed filters: 16 matrices of OutC x InC, which
	// filters computes.
	u       []float32
	filters winogradFilters
	// pad[i] is lane i's zero-padded input plane, h+3 rows of
	// winogradPadWidth: one row and column of zeros before the plane, up
	// to two rows and at least two columns after. Only its inside is ever
	// written, so the borders stay zero.
	pad [][]float32
}

// winogradPlane is the stride between the 16 matrices of n floats of U, V
// or M: n rounded up to 4 KiB, plus a cache line. Matrices a multiple of
// 4 KiB apart would put the 16 elements of a tile in the same L1 (and
// often L2) sets; the transforms write or read all 16 at once.
func winogradPlane(n int) int { return (n+1023)&^1023 + 16 }

func (s *winogradForward) call() *forwardCall { return &s.f }

func (s *winogradForward) grow(threads int) int {
	d := &s.l.d
	cut := s.l.winogradCut(s.l.pl.n)
	lanes := min(threads, cut.units)
	// V in col; M in tmp, then two rows of output for odd sizes and
	// short rows (see winogradRowTiles).
	s.l.growLanes(lanes, 16*winogradPlane(d.c*cut.tiles), 16*winogradPlane(d.oc*cut.tiles)+d.winogradOutScratch())
	if need := 16 * winogradPlane(d.oc*d.c); len(s.u) < need {
		s.u = make([]float32, need)
	}
	s.pad = d.growPads(s.pad, lanes)
	s.f.opt = s.l.gemmOptions(threads, lanes, false)
	return lanes
}

func (s *winogradForward) start(threads, lanes int) {
	// The filters first, rows of U shared between the lanes; then the
	// units.
	d := &s.l.d
	s.next.Store(0)
	s.filters.s = s
	runLanes(&s.filters, min(threads, max(1, d.oc*d.c/flipGrain)), &s.l.team)
	s.next.Store(0)
	runLanes(s, lanes, &s.l.team)
}

func (s *winogradForward) end() { s.f = forwardCall{} }

func (s *winogradForward) abort() {}

func (s *winogradForward) runLane(i int) {
	cut := s.l.winogradCut(s.l.pl.n)
	for {
		u := int(s.next.Add(1)) - 1
		if u >= cut.units || s.l.team.Failed() {
			return
		}
		i0, i1, ty0, ty1 := cut.unit(u)
		s.unit(i, u, i0, i1, ty0, ty1)
	}
}

// winogradFilters computes U from the weights, output channels in blocks
// of flipBlock shared by lanes.
type winogradFilters struct{ s *winogradForward }

func (w *winogradFilters) abort() {}

func (w *winogradFilters) runLane(int) {
	s := w.s
	d, f := &s.l.d, &s.f
	plane := winogradPlane(d.oc * d.c)
	for {
		o0 := (int(s.next.Add(1)) - 1) * flipBlock
		if o0 >= d.oc || s.l.team.Failed() {
			return
		}
		for o := o0; o < min(d.oc, o0+flipBlock); o++ {
			winogradFilterRow(s.u[o*d.c:], plane, f.a[o*f.lda:o*f.lda+9*d.c])
		}
	}
}

// winogradFilterRow writes G g G^T for the c = len(w)/9 filters g of one
// output channel: element e of filter i to u[e*plane+i].
func winogradFilterRow(u []float32, plane int, w []float32) {
	c := len(w) / 9
	var rows [16][]float32
	for e := range rows {
		rows[e] = u[e*plane : e*plane+c]
	}
	for i := range c {
		g := w[9*i : 9*i+9 : 9*i+9]
		// G g: 4 rows of 3.
		var t [12]float32
		for j := range 3 {
			a, b, cc := g[j], g[3+j], g[6+j]
			t[j], t[3+j], t[6+j], t[9+j] = a, (a+b+cc)*0.5, (a-b+cc)*0.5, cc
		}
		// (G g) G^T: 4 rows of 4.
		for r := range 4 {
			a, b, cc := t[3*r], t[3*r+1], t[3*r+2]
			rows[4*r][i] = a
			rows[4*r+1][i] = (a + b + cc) * 0.5
			rows[4*r+2][i] = (a - b + cc) * 0.5
			rows[4*r+3][i] = cc
		}
	}
}

// unit computes the rows of tiles [ty0, ty1) of the images [i0, i1) on
// lane i: work unit u.
func (s *winogradForward) unit(i, u, i0, i1, ty0, ty1 int) {
	d, f, ln := &s.l.d, &s.f, &s.l.lanes[i]
	tw := (d.ow + 1) / 2
	per := (ty1 - ty0) * tw // tiles of one image in the unit
	tiles := (i1 - i0) * per
	vs, ms, us := winogradPlane(d.c*tiles), winogradPlane(d.oc*tiles), winogradPlane(d.oc*d.c)
	v := ln.col[:16*vs]
	m := ln.tmp[:16*ms]
	out := ln.tmp[16*ms : 16*ms+d.winogradOutScratch()]
	d.winogradInputs(v, vs, s.pad[i], f.x, i0, i1, ty0, ty1)
	oy0, oy1 := 2*ty0, min(d.oh, 2*ty1) // the output rows the tiles write
	o := withWorkspace(f.opt, ln)
	for e := range 16 {
		o.Sgemm(false, false, d.oc, tiles, d.c, 1, s.u[e*us:], d.c, v[e*vs:], tiles, 0, m[e*ms:], tiles)
	}
	// A channel at a time again, reading each row of M in order.
	for oc := range d.oc {
		var b float32
		if f.bias != nil {
			b = f.bias[oc]
		}
		for img := i0; img < i1; img++ {
			at := img*d.out + oc*d.p
			yc := f.y[at+oy0*d.ow : at+oy1*d.ow]
			d.winogradOutput(yc, oy1-oy0, m[oc*tiles+(img-i0)*per:], ms, b, out)
			if f.mom != nil {
				f.mom.add(d.ks, u, oc, 0, yc)
			}
		}
	}
	for img := i0; img < i1; img++ {
		at := img*d.out + oy0*d.ow
		f.finishTile(f.y[at:(img+1)*d.out], at, (oy1-oy0)*d.ow)
	}
}

// winogradRowTiles returns how many tiles a transform call computes for
// a row of the layer's tiles: the row's, or the kernel set's whole group
// when the row is shorter (kernels.Conv.WinogradGroup: one group costs
// about what the row alone would). The extra tiles' V go to the slots of
// the tiles after the row, which later calls overwrite (V is written in
// order) or past the last row, into the plane's slack; their M is read
// from there and their outputs go to scratch.
func (d *dims) winogradRowTiles() int {
	tw := (d.ow + 1) / 2
	if g := d.ks.Conv.WinogradGroup; tw < g {
		return g
	}
	return tw
}

// winogradPadWidth is the row width of a zero-padded input plane: w+3,
// or what a row of winogradRowTiles tiles reads if that is more.
func (d *dims) winogradPadWidth() int { return max(d.w+3, 2*d.winogradRowTiles()+2) }

// winogradOutScratch is the scratch winogradOutput needs: two rows of
// outputs of a row of tiles, as wide as winogradRowTiles.
func (d *dims) winogradOutScratch() int { return 2 * max(d.ow+1, 2*d.winogradRowTiles()) }

// growPads returns pads with at least lanes padded planes of h+3 rows of
// winogradPadWidth. A plane of another size (the width depends on the
// kernel set's group) is replaced, not reused: its borders would not be
// the zeros of this layout.
func (d *dims) growPads(pads [][]float32, lanes int) [][]float32 {
	size := (d.h + 3) * d.winogradPadWidth()
	for len(pads) < lanes {
		pads = append(pads, nil)
	}
	for i := range pads[:lanes] {
		if len(pads[i]) != size {
			pads[i] = make([]float32, size)
		}
	}
	return pads
}

// winogradInputs writes V for the rows of tiles [ty0, ty1) of the images
// [i0, i1) of x into v (16 matrices plane floats apart, row c of each the
// tiles of channel c in order, with room past the last row for
// winogradRowTiles), through pad, a zero-padded plane (see
// winogradForward.pad). A channel at a time, so that each row of V is
// written in order.
func (d *dims) winogradInputs(v []float32, plane int, pad, x []float32, i0, i1, ty0, ty1 int) {
	tw := (d.ow + 1) / 2
	per := (ty1 - ty0) * tw
	tiles := (i1 - i0) * per
	wp, call := d.winogradPadWidth(), d.winogradRowTiles()
	y0, y1 := max(0, 2*ty0-1), min(d.h, 2*ty1+1) // the input rows the tiles read
	for ch := range d.c {
		for img := i0; img < i1; img++ {
			x := x[img*d.in+ch*d.h*d.w : img*d.in+(ch+1)*d.h*d.w]
			for y := y0; y < y1; y++ {
				copy(pad[(y+1)*wp+1:(y+1)*wp+1+d.w], x[y*d.w:(y+1)*d.w])
			}
			vc := v[ch*tiles+(img-i0)*per:]
			for ty := range ty1 - ty0 {
				// B^T d B for a row of tiles: the kernel set's transform.
				d.ks.Conv.WinogradIn(vc[ty*tw:], plane, pad[2*(ty0+ty)*wp:], wp, call)
			}
		}
	}
}

// winogradOutput writes A^T M A + bias for every tile of h rows of output
// plane y, element e of tile t being m[e*plane+t]; tiles past an odd
// plane's edge lose their last row or column, and the extra tiles of
// short rows (winogradRowTiles) all of them: those rows go through out
// (winogradOutScratch floats). A row of tiles per call of the kernel
// set's transform.
func (d *dims) winogradOutput(y []float32, h int, m []float32, plane int, bias float32, out []float32) {
	w := d.ow
	th, tw := (h+1)/2, (w+1)/2
	call := d.winogradRowTiles()
	top, bot := out[:2*call], out[2*call:4*call]
	direct := h%2 == 0 && w%2 == 0 && call == tw
	for ty := range th {
		if direct {
			// Straight into y's rows.
			d.ks.Conv.WinogradOut(y[2*ty*w:(2*ty+1)*w], y[(2*ty+1)*w:(2*ty+2)*w], m[ty*tw:], plane, tw, bias)
			continue
		}
		d.ks.Conv.WinogradOut(top, bot, m[ty*tw:], plane, call, bias)
		copy(y[2*ty*w:(2*ty+1)*w], top)
		if 2*ty+1 < h {
			copy(y[(2*ty+1)*w:(2*ty+2)*w], bot)
		}
	}
}
