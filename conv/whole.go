package conv

import (
	"sync/atomic"

	"github.com/snnkit/snn/gemm"
)

// The whole-image Winograd pass, F(h x w, 3x3) with the image as its
// only tile, for 3x3 'same' layers with stride 1 on images of at most
// wholeMax x wholeMax (the last stage of a network on 28 x 28 or 32 x 32
// inputs: 3 x 3 or 4 x 4 after three poolings). The zero-padded image is
// an (h+2) x (w+2) patch d, and every output channel is
//
//	A_h^T [ sum over c of (G_h g_c G_w^T) . (B_h^T d_c B_w) ] A_w
//
// with F(m, 3)'s matrices for m = h down the rows and m = w across
// (toomCook). As in the tiled pass (winograd.go), element e of the
// (h+2) x (w+2) sums is a GEMM over the channels, M_e = U_e V_e: (h+2)(w+2)
// multiply-adds per image and pair of channels where the direct pass does
// 9hw (25 against 81 for 3 x 3 images, 36 against 144 for 4 x 4), and
// nothing past the edge of an odd image, where the tiled pass's 2 x 2
// tiles cover 4 x 4 outputs for 3 x 3.
//
// With the image a single tile, each transform is a linear map of a whole
// plane, the same for every plane: the filters' (9 weights to E =
// (h+2)(w+2) values), the inputs' (hw pixels to E; the padding's zeros
// drop out) and the outputs' (E sums to hw outputs) are each one GEMM
// with a small constant matrix, and the pass is GEMMs end to end:
//
//	U (E x OutC*InC)   = Kg (E x 9)    . W^T    (W: the filters, one per row)
//	V (E x n*InC)      = Kin (E x hw)  . X^T    (X: the input planes, one per row)
//	M_e (OutC x n)     = U_e (OutC x InC) . V_e^T (V_e: row e of V as n x InC)
//	Z (hw x OutC*n)    = Kout (hw x E) . M      (M: the M_e as rows of OutC*n)
//
// and y[img][o] is column o*n+img of Z plus the bias. U is 25/9 (3 x 3
// images) or 4 (4 x 4) times the size of the filters, too large to stay
// in cache between its GEMM and the products: a lane computes U for a
// block of output channels, sized to half of its core's share of L2, and
// at once that block's rows of the E products. The batch is cut into
// units of at most wholeImgs images (V, M and Z are a unit's), in order;
// the lanes share a unit's blocks of channels. The cuts depend on n and
// the caches only, and a row of a GEMM's result depends neither on the
// other rows nor on the threads: the results are the same bit for bit
// whatever the thread count. They differ from the direct pass's in the
// last bits, by more than the tiled pass's for 4 x 4 images (larger
// transforms; see TestWholeAccuracy).

// wholeMax is the largest image height and width the pass takes: F(4, 3),
// whose rounding is already about 10 times the direct pass's on 128
// channels (TestWholeAccuracy), is as far as it goes.
const wholeMax = 4

// wholeImgs is the most images a unit of the pass has: 64 images of 256
// channels make V and M 2.4 MB each for 4 x 4 images.
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

// wholeMatrices returns the pass's constant matrices for h x w images:
// kg (E x 9), kin (E x hw) and kout (hw x E), E = (h+2)(w+2), each element
// a product of two of F(h, 3)'s and F(w, 3)'s (exact in float64) rounded
// once to float32.
func wholeMatrices(h, w int) (kg, kin, kout []float32) {
	bh, gh, ah := toomCook(h)
	bw, gw, aw := toomCook(w)
	ah2, aw2 := h+2, w+2
	e, p := ah2*aw2, h*w
	kg, kin, kout = make([]float32, e*9), make([]float32, e*p), make([]float32, p*e)
	for a := range ah2 {
		for b := range aw2 {
			row := a*aw2 + b
			for k := range 3 {
				for l := range 3 {
					kg[row*9+k*3+l] = float32(gh[a][k] * gw[b][l])
				}
			}
			for i := range h {
				for j := range w {
					// Input pixel (i, j) is row i+1, column j+1 of the padded patch.
					kin[row*p+i*w+j] = float32(bh[a][i+1] * bw[b][j+1])
					kout[(i*w+j)*e+row] = float32(ah[i][a] * aw[j][b])
				}
			}
		}
	}
	return kg, kin, kout
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
	// From 2*NR channels in and out, as for the tiled pass with vector
	// transforms: 32 with AVX2 ran 1.13-1.17x as fast as the direct pass
	// on 3 and 4 px, 64 with AVX-512 1.08-1.26x, where 32 lost (0.80-0.98x;
	// docs/performance.md, "Whole-image Winograd").
	return l.lim.whole == wholeAlways || min(d.c, d.oc) >= 2*d.ks.Gemm.NR
}

// wholeForward is the whole-image Winograd pass.
type wholeForward struct {
	l *layer
	f forwardCall
	// kg, kin and kout are the constant matrices (wholeMatrices); v, m
	// and z a unit's V, M (E rows) and Z (hw rows), vPlane, mPlane and
	// zPlane apart; u[i] lane i's U of a block of ob output channels,
	// E rows uPlane apart.
	kg, kin, kout                  []float32
	v, m, z                        []float32
	u                              [][]float32
	e, ob                          int
	uPlane, vPlane, mPlane, zPlane int
	// The unit being computed: images [i0, i0+imgs).
	i0, imgs int
	phase    int // wholeProducts or wholeFinish
	next     atomic.Int64
}

// Phases of a unit that the lanes share.
const (
	wholeProducts = iota // U and the E products for a block of output channels at a time
	wholeFinish          // y from Z: bias, activation, statistics, an image at a time
)

func (s *wholeForward) call() *forwardCall { return &s.f }

func (s *wholeForward) grow(threads int) int {
	d := &s.l.d
	if s.kg == nil {
		s.kg, s.kin, s.kout = wholeMatrices(d.oh, d.ow)
		s.e = (d.oh + 2) * (d.ow + 2)
	}
	imgs := min(s.l.pl.n, wholeImgs)
	s.ob = s.l.wholeBlock()
	s.uPlane = winogradPlane(s.ob * d.c)
	s.vPlane = winogradPlane(imgs * d.c)
	s.mPlane = winogradPlane(d.oc * imgs)
	s.zPlane = winogradPlane(d.oc * imgs)
	s.v = growTo(s.v, s.e*s.vPlane)
	s.m = growTo(s.m, s.e*s.mPlane)
	s.z = growTo(s.z, d.p*s.zPlane)
	lanes := min(threads, (d.oc+s.ob-1)/s.ob)
	s.l.growLanes(lanes, 0, 0)
	for len(s.u) < lanes {
		s.u = append(s.u, nil)
	}
	for i := range s.u[:lanes] {
		s.u[i] = growTo(s.u[i], s.e*s.uPlane)
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
		o.Sgemm(false, true, s.e, s.imgs*d.c, d.p, 1, s.kin, d.p, x, d.p, 0, s.v, s.vPlane)
		s.phase = wholeProducts
		s.next.Store(0)
		runLanes(s, min(lanes, (d.oc+s.ob-1)/s.ob), &s.l.team)
		o.Sgemm(false, false, d.p, d.oc*s.imgs, s.e, 1, s.kout, s.e, s.m, s.mPlane, 0, s.z, s.zPlane)
		s.phase = wholeFinish
		s.next.Store(0)
		runLanes(s, min(lanes, s.imgs), &s.l.team)
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
			if j*s.ob >= d.oc {
				return
			}
			s.products(o, s.u[i], j*s.ob, min(d.oc, (j+1)*s.ob))
		case wholeFinish:
			if j >= s.imgs {
				return
			}
			s.finish(j)
		}
	}
}

// products computes U for output channels [o0, o1) into u, then their
// rows of the E products. Rows of f.a are OutC filters of InC*9 weights,
// OutC*InC rows of 9 (forward leaves the bias out of f.a for this pass).
func (s *wholeForward) products(o gemm.Options, u []float32, o0, o1 int) {
	d, f := &s.l.d, &s.f
	o.Sgemm(false, true, s.e, (o1-o0)*d.c, 9, 1, s.kg, 9, f.a[o0*d.k:o1*d.k], 9, 0, u, s.uPlane)
	for e := range s.e {
		o.Sgemm(false, true, o1-o0, s.imgs, d.c, 1, u[e*s.uPlane:], d.c, s.v[e*s.vPlane:], d.c, 0, s.m[e*s.mPlane+o0*s.imgs:], s.imgs)
	}
}

// wholeBlock returns how many output channels a lane's block of U has:
// what fits in lim.budget floats (half of a core's share of L2), in
// multiples of the GEMM kernels' MR, at least 2*MR (fewer make too many
// small GEMMs: 6 channels a block ran 1.3 times as long as 12 to 48 with
// AVX2 on a 2 MiB L2), at most all of them.
func (l *layer) wholeBlock() int {
	d := &l.d
	mr := d.ks.Gemm.MR
	e := (d.oh + 2) * (d.ow + 2)
	return min(d.oc, max(2*mr, l.lim.budget/(e*d.c)/mr*mr))
}

// finish writes image j of the unit from Z: each output is a column of
// Z plus the bias; then the statistics and the activations.
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
		for q := range out {
			out[q] = s.z[q*s.zPlane+col] + b
		}
		if f.mom != nil {
			f.mom.add(d.ks, img, oc, 0, out)
		}
	}
	// The image's channels are contiguous: one call each, rather than
	// finishTile's one a channel (planes of 9 floats here).
	f.activate(y)
	if f.dact != Identity {
		f.activateGrad(y, f.dactY[img*d.out:(img+1)*d.out])
	}
}
