package conv

import (
	"sync/atomic"

	"github.com/snnkit/snn/kernels"
)

// The weight gradient of a layer that takes the Winograd pass, by the same
// algorithm run backwards. The forward pass is y_tile = A^T M A with
// M_e = sum over c of U_e[o][c] V_e[c][tile] and U = G g G^T, so
//
//	dM    = A dy_tile A^T                  (4x4 from the tile's 2x2 of dy)
//	dU_e  = sum over tiles of dM_e V_e^T    (16 GEMMs, OutC x InC, depth tiles)
//	dg    = G^T dU G                        (3x3 from 4x4)
//
// with A = [1 0; 1 1; 1 -1; 0 -1] (A^T's transpose) and G^T = [1 1/2 1/2 0;
// 0 1/2 -1/2 0; 0 1/2 1/2 1]. The GEMMs have depth tiles, where the direct
// gradient's have 4*tiles: 2.25x fewer multiply-adds here too.
//
// The work units are the forward pass's (winogradCut); they are summed
// into winogradParts partial dU, unit ranges fixed by the cut alone and
// each added in unit order by whichever lane takes it, then the partials
// in order: the results are the same bit for bit whatever the thread
// count. They differ from the direct gradient's in the last bits.

// winogradParts is how many partial sums of dU a call keeps at most: the
// lanes that can share the GEMMs, against 16*OutC*InC floats each.
const winogradParts = minBlocks

// winogradWeights computes dw (and db) for a layer that takes the
// Winograd pass.
type winogradWeights struct {
	l    *layer
	b    backwardCall
	next atomic.Int64 // the next partial to compute, then the next block of dw's rows
	// part[p] is partial p of dU: 16 matrices of OutC x InC,
	// winogradPlane(OutC*InC) apart.
	part [][]float32
	// pad[i] is lane i's zero-padded input plane, as winogradForward's;
	// dyPad[i] its 2*ceil(OutH/2) x 2*ceil(OutW/2) output gradient plane,
	// zero past an odd plane's edge.
	pad, dyPad [][]float32
	finish     winogradWeightsFinish
}

func (s *winogradWeights) call() *backwardCall { return &s.b }

// parts returns how many partials a call on cut has.
func (s *winogradWeights) parts(cut *winogradCut) int { return min(cut.units, winogradParts) }

func (s *winogradWeights) grow(threads int) int {
	d := &s.l.d
	cut := s.l.winogradCut(s.l.pl.n)
	parts := s.parts(&cut)
	lanes := min(threads, parts)
	// V in col, the transformed output gradient in tmp.
	s.l.growLanes(lanes, 16*winogradPlane(d.c*cut.tiles), 16*winogradPlane(d.oc*cut.tiles))
	us := winogradPlane(d.oc * d.c)
	for len(s.part) < parts {
		s.part = append(s.part, nil)
	}
	for p := range s.part[:parts] {
		if len(s.part[p]) < 16*us {
			s.part[p] = make([]float32, 16*us)
		}
	}
	th, tw := (d.oh+1)/2, (d.ow+1)/2
	s.pad = d.growPads(s.pad, lanes)
	for len(s.dyPad) < lanes {
		s.dyPad = append(s.dyPad, make([]float32, 4*th*tw))
	}
	s.b.opt = s.l.gemmOptions(threads, lanes, false)
	return lanes
}

func (s *winogradWeights) start(threads, lanes int) {
	s.next.Store(0)
	runLanes(s, lanes, &s.l.team)
	// Then dw from the partials, rows of it shared between the lanes.
	d := &s.l.d
	s.next.Store(0)
	s.finish.s = s
	runLanes(&s.finish, min(threads, max(1, d.oc*d.c/flipGrain)), &s.l.team)
	if s.b.db != nil {
		s.biasGradient()
	}
}

func (s *winogradWeights) end() { s.b = backwardCall{} }

func (s *winogradWeights) abort() {}

func (s *winogradWeights) runLane(i int) {
	cut := s.l.winogradCut(s.l.pl.n)
	parts := s.parts(&cut)
	for {
		p := int(s.next.Add(1)) - 1
		if p >= parts || s.l.team.Failed() {
			return
		}
		for u := p * cut.units / parts; u < (p+1)*cut.units/parts; u++ {
			i0, i1, ty0, ty1 := cut.unit(u)
			s.unit(i, p, u == p*cut.units/parts, i0, i1, ty0, ty1)
		}
	}
}

// unit adds the unit of the rows of tiles [ty0, ty1) of the images
// [i0, i1) to partial p (sets it, when first) on lane i.
func (s *winogradWeights) unit(i, p int, first bool, i0, i1, ty0, ty1 int) {
	d, b, ln := &s.l.d, &s.b, &s.l.lanes[i]
	th, tw := (d.oh+1)/2, (d.ow+1)/2
	per := (ty1 - ty0) * tw
	tiles := (i1 - i0) * per
	vs, gs, us := winogradPlane(d.c*tiles), winogradPlane(d.oc*tiles), winogradPlane(d.oc*d.c)
	v := ln.col[:16*vs]
	g := ln.tmp[:16*gs]
	d.winogradInputs(v, vs, s.pad[i], b.x, i0, i1, ty0, ty1)
	pad := s.dyPad[i]
	even := d.oh%2 == 0 && d.ow%2 == 0
	for oc := range d.oc {
		for img := i0; img < i1; img++ {
			plane := b.dy[img*d.out+oc*d.p : img*d.out+(oc+1)*d.p]
			if !even {
				// Zero past the edge: the outputs the tiles do not have.
				// Only the unit's rows are copied.
				for y := 2 * ty0; y < min(d.oh, 2*ty1); y++ {
					copy(pad[y*2*tw:y*2*tw+d.ow], plane[y*d.ow:(y+1)*d.ow])
				}
				plane = pad[:4*th*tw]
			}
			winogradGradient(&d.ks.Conv, g[oc*tiles+(img-i0)*per:], gs, plane[2*ty0*2*tw:], ty1-ty0, 2*tw)
		}
	}
	beta := float32(1)
	if first {
		beta = 0
	}
	o := withWorkspace(b.opt, ln)
	part := s.part[p]
	for e := range 16 {
		o.Sgemm(false, true, d.oc, d.c, tiles, 1, g[e*gs:], tiles, v[e*vs:], tiles, beta, part[e*us:], d.c)
	}
}

// winogradGradient writes A dy A^T for th rows of tiles of an output
// gradient plane w wide (w even): element e of tile t to g[e*plane+t],
// tiles in row-major order. A row of tiles per call of the kernel set's
// transform.
func winogradGradient(ks *kernels.Conv, g []float32, plane int, dy []float32, th, w int) {
	tw := w / 2
	for ty := range th {
		ks.WinogradDy(g[ty*tw:], plane, dy[2*ty*w:(2*ty+1)*w], dy[(2*ty+1)*w:(2*ty+2)*w], tw)
	}
}

// winogradWeightsFinish sums the partials of dU in order and writes
// dw = G^T dU G, output channels in blocks of flipBlock shared by lanes.
type winogradWeightsFinish struct{ s *winogradWeights }

func (f *winogradWeightsFinish) abort() {}

func (f *winogradWeightsFinish) runLane(int) {
	s := f.s
	d := &s.l.d
	cut := s.l.winogradCut(s.l.pl.n)
	parts := s.parts(&cut)
	us := winogradPlane(d.oc * d.c)
	for {
		o0 := (int(s.next.Add(1)) - 1) * flipBlock
		if o0 >= d.oc || s.l.team.Failed() {
			return
		}
		o1 := min(d.oc, o0+flipBlock)
		// The partials' rows of these channels, summed into the first.
		acc := s.part[0]
		for p := 1; p < parts; p++ {
			for e := range 16 {
				a := acc[e*us+o0*d.c : e*us+o1*d.c]
				for j, v := range s.part[p][e*us+o0*d.c : e*us+o1*d.c][:len(a)] {
					a[j] += v
				}
			}
		}
		for o := o0; o < o1; o++ {
			winogradFilterGradient(s.b.dw[o*9*d.c:(o+1)*9*d.c], acc[o*d.c:], us)
		}
	}
}

// winogradFilterGradient writes G^T dU G for the c = len(dw)/9 filters of
// one output channel, element e of filter i's dU being du[e*plane+i].
func winogradFilterGradient(dw, du []float32, plane int) {
	c := len(dw) / 9
	var rows [16][]float32
	for e := range rows {
		rows[e] = du[e*plane : e*plane+c]
	}
	for i := range c {
		// G^T dU: 3 rows of 4.
		var t [12]float32
		for j := range 4 {
			a, b, cc, dd := rows[j][i], rows[4+j][i], rows[8+j][i], rows[12+j][i]
			t[j], t[4+j], t[8+j] = a+(b+cc)*0.5, (b-cc)*0.5, (b+cc)*0.5+dd
		}
		// (G^T dU) G: 3 x 3.
		g := dw[9*i : 9*i+9 : 9*i+9]
		for r := range 3 {
			a, b, cc, dd := t[4*r], t[4*r+1], t[4*r+2], t[4*r+3]
			g[3*r], g[3*r+1], g[3*r+2] = a+(b+cc)*0.5, (b-cc)*0.5, (b+cc)*0.5+dd
		}
	}
}

// biasGradient writes db, each channel's sum of dy over the batch: one
// lane, images in order, each plane summed by the kernel set's Sum.
func (s *winogradWeights) biasGradient() {
	d, b := &s.l.d, &s.b
	for oc := range d.oc {
		var sum float64
		for img := range s.l.pl.n {
			sum += d.ks.Act.Sum(b.dy[img*d.out+oc*d.p : img*d.out+(oc+1)*d.p])
		}
		b.db[oc] = float32(sum)
	}
}
