package conv

import (
	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/par"
)

// layer is what a Conv2D's strategies share: the checked geometry, the
// cut of the current batch, and the lanes' scratch.
type layer struct {
	d     dims
	lim   limits // defaultLimits; tests lower them to exercise more cuts
	pl    plan
	lanes []lane
	// taps holds the offset of each row of the column matrix in the
	// padded input (the implicit passes; see growOffsets).
	taps []int
	team par.Team
}

// lane is one goroutine's scratch, whichever strategy runs.
type lane struct {
	col []float32 // a chunk of a tile's column matrix, or of its gradient
	tmp []float32 // a tile's output or output gradient as a d.oc-row matrix
	off []int     // a tile's row offsets in a padded image (implicit passes)
	// ws is the lane's GEMM packing buffers: the same ones call after
	// call, in the caches of the core the lane runs on.
	ws gemm.Workspace
}

// replan cuts a batch of n images, unless the last call had n too.
func (l *layer) replan(n int) {
	if l.pl.n != n {
		l.pl = makePlan(n, l.d.p, l.d.k+1, l.lim)
	}
}

// gemmOptions returns the GEMM options of a call on threads goroutines
// run as lanes lanes: the layer's kernel set, and the spare threads.
func (l *layer) gemmOptions(threads, lanes int, inPlaceB bool) gemm.Options {
	return gemm.Options{Threads: max(1, threads/lanes), Kernels: l.d.ks, InPlaceB: inPlaceB}
}

// growLanes makes at least lanes lanes, the first lanes of them with col
// and tmp at least this long.
func (l *layer) growLanes(lanes, col, tmp int) {
	for len(l.lanes) < lanes {
		l.lanes = append(l.lanes, lane{})
	}
	for i := range l.lanes[:lanes] {
		ln := &l.lanes[i]
		if len(ln.col) < col {
			ln.col = make([]float32, col)
		}
		if len(ln.tmp) < tmp {
			ln.tmp = make([]float32, tmp)
		}
	}
}

// growTiles is growLanes for the tiles of the plan: a chunk of the widest
// tile's column matrix, and its output.
func (l *layer) growTiles(lanes int) {
	l.growLanes(lanes, l.pl.rows*colStride(l.pl.maxCols), l.d.oc*l.pl.maxCols)
}

// growOffsets makes the tap offsets and the lanes' row tables, which both
// implicit passes use.
func (l *layer) growOffsets(lanes int) {
	d := &l.d
	hp, wp := d.padded()
	if l.taps == nil {
		l.taps = make([]int, d.k)
		for r := range l.taps {
			ch, t := r/(d.kh*d.kw), r%(d.kh*d.kw)
			l.taps[r] = ch*hp*wp + t/d.kw*wp + t%d.kw
		}
	}
	for i := range l.lanes[:lanes] {
		if ln := &l.lanes[i]; len(ln.off) < d.k+1 {
			ln.off = make([]int, d.k+1)
		}
	}
}

// withWorkspace returns o with lane ln's packing buffers.
func withWorkspace(o gemm.Options, ln *lane) gemm.Options {
	o.Workspace = &ln.ws
	return o
}

// colStride is the row stride of a forward chunk of cols columns, which
// the GEMM reads in place: a whole number of cache lines, and not a
// multiple of 1 KiB, so that the rows of a B panel spread over the L1
// sets instead of evicting each other.
func colStride(cols int) int {
	ld := (cols + 15) &^ 15
	if ld%256 == 0 {
		ld += 16
	}
	return ld
}
