package conv

import (
	"sync/atomic"

	"github.com/snnkit/snn/gemm"
)

// The whole-image Winograd pass, for 3x3 'same' layers with stride 1 on
// small images: up to 4 pixels a side the image is its only tile, F(h x
// w, 3x3); from 5 to wholeMax it is cut into two tiles a side (7 = 4+3:
// F(4x4), F(4x3), F(3x4) and F(3x3)). These are the last stages of
// networks on 28 x 28 or 32 x 32 inputs: 7, 3 or 4 pixels. The zero-padded
// patch d of a tile of mh x mw outputs is (mh+2) x (mw+2) inputs, and
// each of its output channels is
//
//	A_mh^T [ sum over c of (G_mh g_c G_mw^T) . (B_mh^T d_c B_mw) ] A_mw
//
// with F(m, 3)'s matrices (toomCook). As in the tiled pass (winograd.go),
// element e of the sums is a GEMM over the channels, M_e = U_e V_e:
// (mh+2)(mw+2) multiply-adds per tile and pair of channels where the
// direct pass does 9 mh mw (25 against 81 on 3 x 3 images, 121 against
// 441 on 7 x 7), and nothing past the edge of an odd image, where the
// tiled pass's 2 x 2 tiles cover 4 x 4 outputs for 3 x 3.
//
// Each transform is a linear map of a whole plane, the same for every
// plane: the filters' (9 weights to E values, E the sum of the tiles'),
// the inputs' (hw pixels to E; the padding's zeros drop out) and, tile by
// tile, the outputs' (a tile's elements to its outputs) are GEMMs with
// small constant matrices, and the pass is GEMMs end to end:
//
//	U (E x OutC*InC)   = Kg (E x 9)    . W^T    (W: the filters, one per row)
//	V (E x n*InC)      = Kin (E x hw)  . X^T    (X: the input planes, one per row)
//	M_e (OutC x n)     = U_e (OutC x InC) . V_e^T (V_e: row e of V as n x InC)
//	Z_t (p_t x OutC*n) = Kout_t (p_t x E_t) . M_t (tile t: its E_t rows of M, its p_t outputs)
//
// and y[img][o] is column o*n+img of Z plus the bias. U is 25/9 to 4
// times the size of the filters, too large to stay in cache between its
// GEMM and the products: a lane computes U for a block of output channels
// and elements that fits in half its core's share of L2, and at once
// those rows of the products. The batch is cut into units of at most
// wholeImgs images (V, M and Z are a unit's), in order; the lanes share a
// unit's blocks. The cuts depend on n and the caches only, and a row of a
// GEMM's result depends neither on the other rows nor on the threads: the
// results are the same bit for bit whatever the thread count. They differ
// from the direct pass's in the last bits, by more than the tiled pass's
// with tiles of 4 (larger transforms; see TestWholeAccuracy).

// wholeMax is the largest image height and width the pass takes: two
// tiles of at most wholeSide, since F(4, 3), whose rounding is already
// about 10 times the direct pass's on 128 channels (TestWholeAccuracy),
// is the largest tile; 8 pixels and more go to the tiled pass.
const wholeMax = 7

// wholeSide is the largest side of a tile.
const wholeSide = 4

// wholeImgs is the most images a unit of the pass has: 64 images of 256
// channels make V and M 2.4 MB each for 4 x 4 images, 7.9 MB for 7 x 7.
const wholeImgs = 64

// wholePoints[m] are the finite interpolation points of F(m, 3), m+1 of
// them (the last point is infinity): 0, 1, -1, then 1/2 and -2. Of the
// usual choices these round least here: with 2 instead of 1/2 for m = 3,
// or 2 and -2 for m = 4, the largest errors of TestWholeAccuracy are up to
// twice as large. With m = 2 they give Lavin and Gray's F(2, 3) up to the
// signs of a row of B^T and of G.
var wholePoints = [wholeMax + 1][]float64{
	2: {0, 1, -1},
	3: {0, 1, -1, 0.5},
	4: {0, 1, -1, 0.5, -2},
}

// toomCook returns F(m, 3)'s matrices, a = m+2 points: bt (a x a), g
// (a x 3) and at (m x a), such that for every d of a values and filter f
// of 3,
//
//	sum over k of f[k] d[i+k] = sum over j of at[i][j] (g f)[j] (bt d)[j]
//
// for i < m. Built by the modified Toom-Cook method: with p the finite
// points and N_j(x) the product of (x - p_l) over l != j, row j of bt
// holds N_j's coefficients, row j of g is (1, p_j, p_j^2) / N_j(p_j) and
// column j of at is (1, p_j, ..., p_j^(m-1)); the point at infinity
// (leading coefficients) adds N's coefficients (the product over all l),
// g's row (0, 0, 1) and at's column (0, ..., 0, 1).
func toomCook(m int) (bt, g, at [][]float64) {
	p := wholePoints[m]
	a := m + 2
	bt, g, at = matrix(a, a), matrix(a, 3), matrix(m, a)
	poly := func(skip int) []float64 { // the coefficients of the product of (x - p_l), l != skip
		c := []float64{1}
		for l, q := range p {
			if l == skip {
				continue
			}
			next := make([]float64, len(c)+1)
			for i, v := range c {
				next[i+1] += v
				next[i] -= q * v
			}
			c = next
		}
		return c
	}
	for j, pj := range p {
		copy(bt[j], poly(j))
		f := 1.0
		for l, q := range p {
			if l != j {
				f *= pj - q
			}
		}
		g[j][0], g[j][1], g[j][2] = 1/f, pj/f, pj*pj/f
		v := 1.0
		for i := range m {
			at[i][j] = v
			v *= pj
		}
	}
	copy(bt[a-1], poly(-1))
	g[a-1][2] = 1
	at[m-1][a-1] = 1
	return bt, g, at
}

func matrix(r, c int) [][]float64 {
	m := make([][]float64, r)
	for i := range m {
		m[i] = make([]float64, c)
	}
	return m
}

// wholeSegments cuts a side of n pixels into the tiles' sides: one for
// up to wholeSide pixels, else two as even as can be (5 = 3+2, 7 = 4+3).
func wholeSegments(n int) []int {
	if n <= wholeSide {
		return []int{n}
	}
	return []int{(n + 1) / 2, n / 2}
}

// wholeTile is one tile of the pass's images: E = (mh+2)(mw+2) rows of
// U, V and M from e0 on, and its mh*mw outputs, rows z0 on of Z; its part
// of kout (mh*mw x E) starts at ko.
type wholeTile struct {
	e0, e, z0, p, ko int
}

// wholeLayout is the constant part of the pass for h x w images: the
// tiles, the matrices kg (E x 9), kin (E x hw) and the tiles' kout, with
// E the sum of the tiles' E, and zrow[q], the row of Z of output q.
type wholeLayout struct {
	tiles         []wholeTile
	e             int
	kg, kin, kout []float32
	zrow          []int
}

// newWholeLayout returns the layout for h x w images. Each element of
// the matrices is a product of two of F(mh, 3)'s and F(mw, 3)'s (exact
// in float64) rounded once to float32; kin's columns for pixels outside a
// tile's patch are zero.
func newWholeLayout(h, w int) *wholeLayout {
	l := &wholeLayout{zrow: make([]int, h*w)}
	p := h * w
	r0, z0 := 0, 0
	for _, mh := range wholeSegments(h) {
		bh, gh, ah := toomCook(mh)
		c0 := 0
		for _, mw := range wholeSegments(w) {
			bw, gw, aw := toomCook(mw)
			t := wholeTile{e0: l.e, e: (mh + 2) * (mw + 2), z0: z0, p: mh * mw, ko: len(l.kout)}
			l.kg = append(l.kg, make([]float32, t.e*9)...)
			l.kin = append(l.kin, make([]float32, t.e*p)...)
			l.kout = append(l.kout, make([]float32, t.p*t.e)...)
			kg, kin, kout := l.kg[t.e0*9:], l.kin[t.e0*p:], l.kout[t.ko:]
			for a := range mh + 2 {
				for b := range mw + 2 {
					row := a*(mw+2) + b
					for k := range 3 {
						for j := range 3 {
							kg[row*9+k*3+j] = float32(gh[a][k] * gw[b][j])
						}
					}
					// Patch row i is input row r0-1+i; the padding's are zero.
					for i := range mh + 2 {
						for j := range mw + 2 {
							y, x := r0-1+i, c0-1+j
							if y >= 0 && y < h && x >= 0 && x < w {
								kin[row*p+y*w+x] = float32(bh[a][i] * bw[b][j])
							}
						}
					}
					for i := range mh {
						for j := range mw {
							kout[(i*mw+j)*t.e+row] = float32(ah[i][a] * aw[j][b])
						}
					}
				}
			}
			for i := range mh {
				for j := range mw {
					l.zrow[(r0+i)*w+c0+j] = t.z0 + i*mw + j
				}
			}
			l.e += t.e
			z0 += t.p
			l.tiles = append(l.tiles, t)
			c0 += mw
		}
		r0 += mh
	}
	return l
}

// Modes of limits.whole.
const (
	wholeAuto   = 0
	wholeAlways = 1
	wholeNever  = -1
)

// useWhole reports whether a forward call takes the whole-image pass.
func (l *layer) useWhole() bool {
	d := &l.d
	if !d.winogradFits() || d.oh > wholeMax || d.ow > wholeMax || d.oh < 2 || d.ow < 2 ||
		l.lim.whole == wholeNever || l.lim.winograd == winogradNever {
		return false
	}
	// From 2*NR channels in and out on images of one tile, as for the
	// tiled pass with vector transforms (measured on the Sapphire Rapids
	// Xeon, both sets): 32 with AVX2 ran 1.13-1.17x as
	// fast as the direct pass on 3 and 4 px, 64 with AVX-512 1.08-1.26x,
	// where 32 lost (0.80-0.98x). Two tiles a side cost more transforms
	// per output: from 4*NR, where AVX2 ran 0.99-1.30x with 64 channels
	// and 1.30-1.74x with 128 and more, AVX-512 1.08-1.34x with 128, 64
	// losing (0.82-0.95x; docs/performance.md, "Whole-image Winograd").
	need := 2 * d.ks.Gemm.NR
	if max(d.oh, d.ow) > wholeSide {
		need *= 2
	}
	return l.lim.whole == wholeAlways || min(d.c, d.oc) >= need
}

// wholeForward is the whole-image Winograd pass.
type wholeForward struct {
	l *layer
	f forwardCall
	// lay is the tiles and constant matrices; v, m and z a unit's V, M
	// (E rows) and Z (hw rows), vPlane, mPlane and zPlane apart; u[i]
	// lane i's U of a block of ob output channels and eb elements, rows
	// uPlane apart.
	lay                            *wholeLayout
	v, m, z                        []float32
	u                              [][]float32
	ob, eb, units                  int
	uPlane, vPlane, mPlane, zPlane int
	// The unit being computed: images [i0, i0+imgs).
	i0, imgs int
	phase    int // wholeProducts, wholeFinish or wholeMoments
	next     atomic.Int64
}

// Phases of a unit that the lanes share.
const (
	wholeProducts = iota // U and the products for a block of output channels and elements at a time
	wholeFinish          // y from Z: bias and activations, an image at a time
	wholeMoments         // the statistics (ForwardMoments), a channel at a time
)

func (s *wholeForward) call() *forwardCall { return &s.f }

func (s *wholeForward) grow(threads int) int {
	d := &s.l.d
	if s.lay == nil {
		s.lay = newWholeLayout(d.oh, d.ow)
	}
	e := s.lay.e
	imgs := min(s.l.pl.n, wholeImgs)
	s.ob, s.eb = s.l.wholeBlock(e)
	s.units = (d.oc + s.ob - 1) / s.ob * ((e + s.eb - 1) / s.eb)
	s.uPlane = winogradPlane(s.ob * d.c)
	s.vPlane = winogradPlane(imgs * d.c)
	s.mPlane = winogradPlane(d.oc * imgs)
	s.zPlane = winogradPlane(d.oc * imgs)
	s.v = growTo(s.v, e*s.vPlane)
	s.m = growTo(s.m, e*s.mPlane)
	s.z = growTo(s.z, d.p*s.zPlane)
	lanes := min(threads, s.units)
	s.l.growLanes(lanes, 0, 0)
	for len(s.u) < lanes {
		s.u = append(s.u, nil)
	}
	for i := range s.u[:lanes] {
		s.u[i] = growTo(s.u[i], s.eb*s.uPlane)
	}
	s.f.opt = s.l.gemmOptions(threads, 1, false)
	return lanes
}

// growTo returns b if it holds n floats, else a new slice of n.
func growTo(b []float32, n int) []float32 {
	if len(b) < n {
		return make([]float32, n)
	}
	return b
}

func (s *wholeForward) start(threads, lanes int) {
	d, f := &s.l.d, &s.f
	o := withWorkspace(f.opt, &s.l.lanes[0])
	n := s.l.pl.n
	for s.i0 = 0; s.i0 < n && !s.l.team.Failed(); s.i0 += wholeImgs {
		s.imgs = min(wholeImgs, n-s.i0)
		x := f.x[s.i0*d.in : (s.i0+s.imgs)*d.in]
		o.Sgemm(false, true, s.lay.e, s.imgs*d.c, d.p, 1, s.lay.kin, d.p, x, d.p, 0, s.v, s.vPlane)
		s.phase = wholeProducts
		s.next.Store(0)
		runLanes(s, lanes, &s.l.team)
		for _, t := range s.lay.tiles {
			o.Sgemm(false, false, t.p, d.oc*s.imgs, t.e, 1, s.lay.kout[t.ko:], t.e, s.m[t.e0*s.mPlane:], s.mPlane, 0, s.z[t.z0*s.zPlane:], s.zPlane)
		}
		s.phase = wholeFinish
		s.next.Store(0)
		runLanes(s, min(lanes, s.imgs), &s.l.team)
		if f.mom != nil {
			s.phase = wholeMoments
			s.next.Store(0)
			runLanes(s, min(lanes, d.oc), &s.l.team)
		}
	}
}

func (s *wholeForward) end() { s.f = forwardCall{} }

func (s *wholeForward) abort() {}

func (s *wholeForward) runLane(i int) {
	d, f := &s.l.d, &s.f
	o := withWorkspace(f.opt, &s.l.lanes[i])
	o.Threads = 1
	for {
		j := int(s.next.Add(1)) - 1
		if s.l.team.Failed() {
			return
		}
		switch s.phase {
		case wholeProducts:
			if j >= s.units {
				return
			}
			e := s.lay.e
			neb := (e + s.eb - 1) / s.eb
			o0, e0 := j/neb*s.ob, j%neb*s.eb
			s.products(o, s.u[i], o0, min(d.oc, o0+s.ob), e0, min(e, e0+s.eb))
		case wholeFinish:
			if j >= s.imgs {
				return
			}
			s.finish(j)
		case wholeMoments:
			if j >= d.oc {
				return
			}
			// The unit's slot of channel j, image after image.
			for img := s.i0; img < s.i0+s.imgs; img++ {
				at := img*d.out + j*d.p
				f.mom.add(d.ks, s.i0/wholeImgs, j, 0, f.y[at:at+d.p])
			}
		}
	}
}

// products computes U's elements [e0, e1) for output channels [o0, o1)
// into u, then those channels' rows of M_e for those elements. Rows of
// f.a are OutC filters of InC*9 weights, OutC*InC rows of 9 (forward
// leaves the bias out of f.a for this pass).
func (s *wholeForward) products(o gemm.Options, u []float32, o0, o1, e0, e1 int) {
	d, f := &s.l.d, &s.f
	o.Sgemm(false, true, e1-e0, (o1-o0)*d.c, 9, 1, s.lay.kg[e0*9:], 9, f.a[o0*d.k:o1*d.k], 9, 0, u, s.uPlane)
	for e := e0; e < e1; e++ {
		o.Sgemm(false, true, o1-o0, s.imgs, d.c, 1, u[(e-e0)*s.uPlane:], d.c, s.v[e*s.vPlane:], d.c, 0, s.m[e*s.mPlane+o0*s.imgs:], s.imgs)
	}
}

// wholeBlock returns the blocks of U a lane computes at once, its work
// units: ob output channels, at most wholeChannels (fewer make too many
// small GEMMs: 6 channels a block ran 1.3 times as long as 12 to 48 with
// AVX2 on the Sapphire Rapids Xeon), by eb of the e elements, as many as
// fit in lim.budget floats (half of a core's share of L2), in blocks as
// even as can be. Where fewer than wholeElements elements would fit, the
// channels shrink first, to no fewer than wholeChannelStep: with a 256
// KiB L2's budget (SNN_CACHES on the Xeon, AVX2) blocks of 48 channels by
// 2 elements ran the 256-channel 3-px layer forward at 0.62x the speed of
// blocks of 12 by 9.
func (l *layer) wholeBlock(e int) (ob, eb int) {
	d := &l.d
	ob = min(d.oc, wholeChannels)
	if want := min(e, wholeElements); l.lim.budget/(ob*d.c) < want {
		// A small L2: fewer channels rather than fewer elements. Each
		// block's U is a GEMM of eb rows that packs the block's filters,
		// so a block of 2 elements packs them for 2 rows of work.
		ob = min(ob, max(wholeChannelStep, l.lim.budget/(want*d.c)/wholeChannelStep*wholeChannelStep))
	}
	eb = min(e, max(1, l.lim.budget/(ob*d.c)))
	blocks := (e + eb - 1) / eb
	return ob, (e + blocks - 1) / blocks
}

// wholeChannels is the most output channels of a block of U: a multiple
// of every kernel set's MR (4, 6, 8, 12). On a small L2 blocks shrink in
// steps of wholeChannelStep channels (two strips of 6, one of 12) to keep
// wholeElements elements a block.
const wholeChannels, wholeChannelStep, wholeElements = 48, 12, 8

// finish writes image j of the unit from Z: each output is a column of
// Z plus the bias; then the activations.
func (s *wholeForward) finish(j int) {
	d, f := &s.l.d, &s.f
	img := s.i0 + j
	y := f.y[img*d.out : (img+1)*d.out]
	for oc := range d.oc {
		var b float32
		if f.bias != nil {
			b = f.bias[oc]
		}
		col := oc*s.imgs + j
		out := y[oc*d.p : (oc+1)*d.p]
		for q, r := range s.lay.zrow {
			out[q] = s.z[r*s.zPlane+col] + b
		}
	}
	// The image's channels are contiguous: one call each, rather than
	// finishTile's one a channel (planes of 9 floats here).
	f.activate(y)
	if f.dact != Identity {
		f.activateGrad(y, f.dactY[img*d.out:(img+1)*d.out])
	}
}
