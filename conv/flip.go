package conv

import (
	"sync/atomic"

	"github.com/snnkit/snn/par"
)

// transposed returns the geometry of the convolution whose forward pass
// is this one's backward data pass (see backwardData), and whether there
// is one: with stride 1 and no side padded by more than the kernel size
// less one.
func (g *Geometry) transposed() (Geometry, bool) {
	if g.StrideH != 1 || g.StrideW != 1 || g.PadTop >= g.KH || g.PadBottom >= g.KH ||
		g.PadLeft >= g.KW || g.PadRight >= g.KW {
		return Geometry{}, false
	}
	tg := Geometry{
		InC: g.OutC, InH: g.OutH(), InW: g.OutW(), OutC: g.InC, KH: g.KH, KW: g.KW, StrideH: 1, StrideW: 1,
		PadTop: g.KH - 1 - g.PadTop, PadBottom: g.KH - 1 - g.PadBottom,
		PadLeft: g.KW - 1 - g.PadLeft, PadRight: g.KW - 1 - g.PadRight,
	}
	return tg, tg.Check() == nil
}

// backwardData computes dx as the forward pass of the transposed
// convolution: with stride 1,
//
//	dx[c][ih][iw] = sum over o, i, j of w[o][c][KH-1-i][KW-1-j] * dy[o][ih-(KH-1-PadTop)+i][iw-(KW-1-PadLeft)+j]
//
// a convolution of dy (OutC channels) into InC channels with the filters
// transposed and rotated by 180 degrees, and padding KH-1-PadTop and so on.
// That needs only im2col of dy, sequential writes, where the textbook
// col2im adds scattered columns back into dx.
func (c *Conv2D) backwardData(n int, dy, w, dx []float32, a Activation, x []float32) {
	g := &c.g
	if c.tr == nil {
		tg, _ := g.transposed()
		tr, err := New(tg)
		if err != nil {
			panic("conv: internal error: transposed geometry: " + err.Error())
		}
		tr.d.ks = c.d.ks
		c.tr = tr
		c.wt = make([]float32, len(w))
	}
	c.tr.lim = c.lim
	c.tr.threads = c.threads
	// Transposing and rotating the filters costs a pass over them, which
	// next to the GEMMs of a small image is not negligible: the lanes
	// share it, in blocks of input channels (rows of the result).
	c.flip.w, c.flip.wt, c.flip.g = w, c.wt, g
	c.flip.next.Store(0)
	runLanes(&c.flip, min(c.Threads(), (g.InC+flipBlock-1)/flipBlock, max(1, len(w)/flipGrain)), &c.flip.team)
	c.flip.w, c.flip.wt = nil, nil
	c.tr.forward(n, dy, c.wt, nil, dx, Identity, a, x, nil)
}

// flipGrain is about the fewest weights worth a lane of their own in flip.
const flipGrain = 1 << 14

// flipper writes wt[ci][o][KH*KW-1-t] = w[o][ci][t]: the filters of the
// transposed convolution. A work unit is flipBlock input channels, rows
// of wt. (Units of one channel, in turn between lanes, made both cores
// fetch every line of w: each holds parts of two channels' filters.)
type flipper struct {
	g     *Geometry
	w, wt []float32
	next  atomic.Int64
	team  par.Team
}

// flipBlock is the input channels of a flipper work unit.
const flipBlock = 16

func (f *flipper) abort() {}

func (f *flipper) runLane(int) {
	g := f.g
	taps := g.KH * g.KW
	ld := g.OutC * taps // from an input channel's row of wt to the next
	for {
		c0 := (int(f.next.Add(1)) - 1) * flipBlock
		if c0 >= g.InC || f.team.Failed() {
			return
		}
		c1 := min(g.InC, c0+flipBlock)
		// A channel at a time, reading a filter of every output channel
		// (lines the block's next channels then find in L1), writing a
		// row of wt in order.
		for ci := c0; ci < c1; ci++ {
			row := f.wt[ci*ld : (ci+1)*ld]
			if taps == 9 {
				flip9(row, f.w[ci*9:], g.InC*9, g.OutC)
				continue
			}
			for o := 0; o < g.OutC; o++ {
				s := f.w[(o*g.InC+ci)*taps : (o*g.InC+ci+1)*taps]
				d := row[o*taps : (o+1)*taps]
				for t, v := range s {
					d[len(d)-1-t] = v
				}
			}
		}
	}
}

// flip9 writes n 3x3 filters, reversed: dst[9*i+8-t] = src[i*ld+t]. The
// general loop of runLane spends most of its time on index arithmetic and
// bounds checks; this one checks each filter's bounds once.
func flip9(dst, src []float32, ld, n int) {
	for i := 0; i < n; i++ {
		s := src[i*ld : i*ld+9 : i*ld+9]
		d := dst[i*9 : i*9+9 : i*9+9]
		d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8] = s[8], s[7], s[6], s[5], s[4], s[3], s[2], s[1], s[0]
	}
}
