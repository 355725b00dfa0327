package conv

import (
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/internal/par"
	"github.com/snnkit/snn/kernels"
)

// Conv2D computes one convolution layer's forward and backward passes for
// batches of NCHW float32 images. It holds no weights: every call is given
// them, so one Conv2D serves any number of weight sets of its geometry.
//
// A Conv2D owns its workspace: the first call for a batch size (or thread
// count) larger than any before sizes it; later calls allocate nothing. A
// Conv2D is not safe for concurrent use; give each goroutine its own.
type Conv2D struct {
	g       Geometry
	d       dims
	threads int
	lim     limits // defaultLimits; tests lower them to exercise more cuts

	pl    plan
	lanes []lane
	wext  []float32 // weights with the bias as an extra column (see ForwardAct)
	// implicit: this forward call runs forwardImplicit; taps holds the
	// offset of each row of the column matrix in the padded input.
	implicit bool
	taps     []int
	// batched: this forward call runs forwardBatched, on images
	// [g0, g0+gn) at a time, padded into the lanes' bpad.
	batched bool
	g0, gn  int
	parts   int // lanes share each tile's output channels in this many parts
	// tiles and bands: the layout of the current call's tiles (batchTiles)
	tiles, bands int

	// tr, for stride 1, is the convolution whose forward pass is this
	// one's backward data pass (see backwardData); wt holds its weights.
	transposable bool
	tr           *Conv2D
	wt           []float32
	flip         flipper

	// The current call, read by every lane.
	op      op
	x, y    []float32
	w, bias []float32
	dy, dx  []float32
	dw, db  []float32
	kx      int // rows of the column matrix in this call: d.k, +1 for a bias row
	act     Activation
	// dact, unless Identity, is the activation whose output dactY (laid
	// out like this call's output) is: the call's output, a gradient, is
	// multiplied by its derivative there (see BackwardAct).
	dact    Activation
	dactY   []float32
	gemmOpt gemm.Options
	next    atomic.Int64 // next work unit to take (a block, unless batched)
	units   int          // work units of this runLanes
	added   atomic.Int64 // blocks whose weight gradient is in dw; set under mu
	// deferSum: each block of this backward call keeps its weight
	// gradient in partials[b], summed into dw afterwards (sumPartials).
	deferSum bool
	partials [][]float32
	// chunked: this backward call's batch is one block, whose weight
	// gradient the lanes compute chunk by chunk of the column matrix's
	// rows (wgradChunk), from the tiles' output gradients gathered in
	// dyAll; chunkRows rows a chunk.
	chunked   bool
	chunkRows int
	dyAll     []float32
	mu        sync.Mutex
	cond      sync.Cond
	team      par.Team
}

type op int

// Activation is an element-wise function ForwardAct applies to a layer's
// outputs as soon as a tile of them is complete, while it is still in cache,
// instead of a separate pass over the whole output afterwards.
type Activation int

const (
	Identity Activation = iota
	SELU                // act.SELU
	ReLU                // act.ReLU
)

const (
	opForward op = iota
	opBackward
	opTileBatch // forwardBatched: output tiles
	opGradBatch // forwardBatched: dact, an image at a time
	opSum       // sumPartials: rows of dw
	opGatherDy  // chunked: a tile's output gradient into dyAll
	opChunk     // chunked: a chunk of rows of dw
)

// lane is one goroutine's scratch.
type lane struct {
	col  []float32 // a chunk of a tile's column matrix, or of its gradient
	tmp  []float32 // a tile's output or output gradient as a d.oc-row matrix
	part []float32 // a block's weight gradient, d.oc x kx
	// pad is an image zero-padded (borders zeroed once, never written),
	// followed by ones for the bias row; off is a tile's row offsets in
	// it (forwardImplicit).
	pad []float32
	off []int
	// bpad is the batched pass's interleaved padded images (see
	// forwardBatched), followed by ones: the rows the lane's tiles read.
	bpad []float32
	// ws is the lane's GEMM packing buffers: the same ones call after
	// call, in the caches of the core the lane runs on.
	ws gemm.Workspace
}

// opt returns the call's GEMM options for lane l, with l's packing buffers.
func (c *Conv2D) opt(l *lane) gemm.Options {
	o := c.gemmOpt
	o.Workspace = &l.ws
	return o
}

// New returns a Conv2D for g, or the error Geometry.Check reports.
func New(g Geometry) (*Conv2D, error) {
	if err := g.Check(); err != nil {
		return nil, err
	}
	c := &Conv2D{g: g, d: newDims(g), lim: defaultLimits}
	_, c.transposable = g.transposed()
	c.cond.L = &c.mu
	return c, nil
}

// Geometry returns the layer's geometry.
func (c *Conv2D) Geometry() Geometry { return c.g }

// SetThreads sets how many goroutines a call may use; n <= 0 (the default)
// means gemm.Threads() at the time of the call, which is GOMAXPROCS unless
// gemm.SetThreads says otherwise. Results do not depend on it.
func (c *Conv2D) SetThreads(n int) { c.threads = max(n, 0) }

// Threads returns the number of goroutines a call may use now.
func (c *Conv2D) Threads() int {
	if c.threads > 0 {
		return c.threads
	}
	return gemm.Threads()
}

// Forward computes y = conv(x, w) + bias for a batch of n images.
//
//	x    [n][InC][InH][InW]        input images
//	w    [OutC][InC][KH][KW]       filters
//	bias [OutC], or nil for none
//	y    [n][OutC][OutH][OutW]     overwritten
//
// Each output is sum over c, i, j of w[o][c][i][j] * x[c][oh*StrideH-PadTop+i][ow*StrideW-PadLeft+j]
// (zero outside the input) plus bias[o]: a cross-correlation, as in every
// deep-learning framework. Slices must have exactly these lengths; y must
// not overlap the others.
func (c *Conv2D) Forward(n int, x, w, bias, y []float32) {
	c.ForwardAct(n, x, w, bias, y, Identity)
}

// ForwardAct is Forward followed by the activation a on every output:
// y = a(conv(x, w) + bias), bit for bit what act.SELU (or act.ReLU) would
// make of Forward's y, in one pass over the output instead of two.
func (c *Conv2D) ForwardAct(n int, x, w, bias, y []float32, a Activation) {
	checkActivation(a)
	c.checkN(n)
	c.checkLen("x", x, n, c.d.in, "InC*InH*InW")
	c.checkLen("w", w, 1, c.d.oc*c.d.k, "OutC*InC*KH*KW")
	if bias != nil {
		c.checkLen("bias", bias, 1, c.d.oc, "OutC")
	}
	c.checkLen("y", y, n, c.d.out, "OutC*OutH*OutW")
	if n == 0 {
		return
	}
	c.x, c.w, c.bias, c.y, c.act = x, w, bias, y, a
	// The bias enters as a row of ones in the column matrix times an
	// extra weight column, which costs a copy of the weights per call;
	// when the weights outweigh half the batch's columns, each tile's
	// outputs start from the bias instead and the GEMMs add to them.
	// Which way depends on the geometry and n only, like every cut.
	c.kx = c.d.k
	if bias != nil && 2*(c.d.k+1) <= n*c.d.p {
		c.kx++
	}
	c.run(opForward, n)
}

// BackwardData computes the input gradient dx from the output gradient dy:
//
//	dy [n][OutC][OutH][OutW]   gradient of the loss with respect to y
//	w  [OutC][InC][KH][KW]     the weights Forward used
//	dx [n][InC][InH][InW]      overwritten
func (c *Conv2D) BackwardData(n int, dy, w, dx []float32) {
	c.Backward(n, nil, w, dy, dx, nil, nil)
}

// BackwardWeights computes the weight and bias gradients, summed over the
// batch, from the input x that Forward saw and the output gradient dy:
//
//	x     [n][InC][InH][InW]
//	dy    [n][OutC][OutH][OutW]
//	dw    [OutC][InC][KH][KW]   overwritten
//	dbias [OutC], overwritten, or nil when there is no bias
//
// The sum over the batch is done in an order fixed by the geometry and n
// alone, so dw and dbias are the same bit for bit whatever the thread
// count. With n == 0 both are zeroed.
func (c *Conv2D) BackwardWeights(n int, x, dy, dw, dbias []float32) {
	c.Backward(n, x, nil, dy, nil, dw, dbias)
}

// Backward computes both gradients in one pass over the batch, which
// costs less than BackwardData and BackwardWeights apart (dy is read once).
// Pass nil for what is not wanted: dx (with w) for a first layer whose
// input needs no gradient, dw (with x and dbias) for frozen weights, dbias
// for a layer without bias. The slices are as in BackwardData and
// BackwardWeights.
func (c *Conv2D) Backward(n int, x, w, dy, dx, dw, dbias []float32) {
	c.BackwardAct(n, x, w, dy, dx, dw, dbias, Identity)
}

// BackwardAct is Backward for a layer whose input x is the output of the
// activation a: dx is then the gradient with respect to the activation's
// input, bit for bit what act.SELUGrad(dx, dx, x) (or act.ReLUGrad) would
// make of Backward's dx, computed as each part of dx is finished instead
// of in a second pass. With a != Identity and dx != nil, x is required.
func (c *Conv2D) BackwardAct(n int, x, w, dy, dx, dw, dbias []float32, a Activation) {
	checkActivation(a)
	c.checkN(n)
	c.checkLen("dy", dy, n, c.d.out, "OutC*OutH*OutW")
	if dx != nil {
		c.checkLen("w", w, 1, c.d.oc*c.d.k, "OutC*InC*KH*KW")
		c.checkLen("dx", dx, n, c.d.in, "InC*InH*InW")
	}
	if dbias != nil && dw == nil {
		panic("conv: dbias without dw: the bias gradient is computed with the weight gradient")
	}
	if dx != nil && a != Identity {
		c.checkLen("x", x, n, c.d.in, "InC*InH*InW")
	}
	if dw != nil {
		c.checkLen("x", x, n, c.d.in, "InC*InH*InW")
		c.checkLen("dw", dw, 1, c.d.oc*c.d.k, "OutC*InC*KH*KW")
		if dbias != nil {
			c.checkLen("dbias", dbias, 1, c.d.oc, "OutC")
		}
	}
	if n == 0 {
		clear(dw)
		clear(dbias)
		return
	}
	if dx != nil && c.transposable {
		c.backwardData(n, dy, w, dx, a, x)
		dx = nil
		if dw == nil {
			return
		}
	}
	c.x, c.w, c.dy, c.dx, c.dw, c.db = x, w, dy, dx, dw, dbias
	if dx != nil {
		c.dact, c.dactY = a, x
	}
	c.kx = c.d.k
	if dbias != nil {
		c.kx++
	}
	c.run(opBackward, n)
}

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
	if a != Identity {
		c.tr.dact, c.tr.dactY = a, x
	}
	c.tr.Forward(n, dy, c.wt, nil, dx)
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

func (c *Conv2D) checkN(n int) {
	if n < 0 {
		panic(fmt.Sprintf("conv: batch size n = %d < 0", n))
	}
}

// checkLen panics unless len(s) == n*per; what spells per.
func (c *Conv2D) checkLen(name string, s []float32, n, per int, what string) {
	if lenIs(len(s), n, per) {
		return
	}
	if n == 1 {
		panic(fmt.Sprintf("conv: len(%s) = %d, want %s = %d (layer %v)", name, len(s), what, per, c.g))
	}
	panic(fmt.Sprintf("conv: len(%s) = %d, want n*%s = %s (layer %v)", name, len(s), what, product(n, per), c.g))
}

// lenIs reports whether got == n*per for n >= 0 and per >= 1, without
// computing n*per, which a huge n would overflow (and could wrap to got).
func lenIs(got, n, per int) bool {
	return got%per == 0 && got/per == n
}

// product spells n*per and its value, or that it exceeds every int.
func product(n, per int) string {
	if hi, lo := bits.Mul64(uint64(n), uint64(per)); hi != 0 || lo > math.MaxInt {
		return fmt.Sprintf("%d*%d, more than the largest int", n, per)
	}
	return fmt.Sprintf("%d*%d = %d", n, per, n*per)
}

// run plans the batch, sizes the workspace and runs the lanes.
func (c *Conv2D) run(o op, n int) {
	if c.pl.n != n {
		c.pl = makePlan(n, c.d.p, c.d.k+1, c.lim)
	}
	threads := c.Threads()
	lanes := min(threads, c.pl.blocks)
	c.gemmOpt = gemm.Options{Threads: max(1, threads/lanes), Kernels: c.d.ks, InPlaceB: o == opForward}
	c.implicit = o == opForward && c.useImplicit()
	c.batched = o == opForward && c.useBatched()
	// A batch of one block shares its weight gradient between lanes by
	// chunks of rows (wgradChunked), when no input gradient is wanted
	// along with it.
	c.chunked = o == opBackward && c.dw != nil && c.dx == nil && c.pl.blocks == 1
	if c.chunked {
		lanes = threads
	}
	// With few blocks per lane, the last blocks' ordered additions to dw
	// would run one after another while the other lanes wait: those
	// calls keep every block's gradient and sum them by rows of dw, all
	// lanes at once, in the same order (the same bits).
	c.deferSum = !c.chunked && o == opBackward && c.dw != nil && lanes > 1 && c.pl.blocks <= 2*lanes
	c.grow(lanes, o)
	c.op = o
	c.next.Store(0)
	c.added.Store(0)
	if o == opForward && c.kx > c.d.k {
		k := c.d.k
		for r := 0; r < c.d.oc; r++ {
			copy(c.wext[r*(k+1):r*(k+1)+k], c.w[r*k:(r+1)*k])
			c.wext[r*(k+1)+k] = c.bias[r]
		}
	}
	switch {
	case c.batched:
		c.forwardBatched(n, threads)
	case c.chunked:
		c.wgradChunked(threads)
	default:
		c.units = c.pl.blocks
		runLanes(c, lanes, &c.team)
	}
	if c.deferSum {
		c.op, c.units = opSum, (c.d.oc+sumRows-1)/sumRows
		c.next.Store(0)
		runLanes(c, min(lanes, c.units), &c.team)
	}
	c.x, c.w, c.bias, c.y, c.dy, c.dx, c.dw, c.db = nil, nil, nil, nil, nil, nil, nil, nil
	c.act, c.dact, c.dactY = Identity, Identity, nil
}

// grow makes the workspace large enough for this call; it allocates only
// when the plan or the thread count outgrows what earlier calls needed.
func (c *Conv2D) grow(lanes int, o op) {
	k1 := c.d.k + 1
	for len(c.lanes) < lanes {
		c.lanes = append(c.lanes, lane{})
	}
	for i := range c.lanes[:lanes] {
		l := &c.lanes[i]
		if need := c.pl.rows * colStride(c.pl.maxCols); len(l.col) < need {
			l.col = make([]float32, need)
		}
		if len(l.tmp) < c.d.oc*c.pl.maxCols {
			l.tmp = make([]float32, c.d.oc*c.pl.maxCols)
		}
		if o == opBackward && c.dw != nil && !c.deferSum && !c.chunked && len(l.part) < c.d.oc*k1 {
			l.part = make([]float32, c.d.oc*k1)
		}
	}
	if c.deferSum {
		for len(c.partials) < c.pl.blocks {
			c.partials = append(c.partials, nil)
		}
		for b := range c.partials[:c.pl.blocks] {
			if len(c.partials[b]) < c.d.oc*k1 {
				c.partials[b] = make([]float32, c.d.oc*k1)
			}
		}
	}
	if c.chunked {
		if need := c.d.oc * c.pl.tiles(0) * c.pl.maxCols; len(c.dyAll) < need {
			c.dyAll = make([]float32, need)
		}
	}
	if o == opForward && c.kx > c.d.k && len(c.wext) < c.d.oc*k1 {
		c.wext = make([]float32, c.d.oc*k1)
	}
	if c.implicit {
		c.growImplicit(lanes)
	}
}

// abort wakes the lanes waiting in addPartial after a lane panicked.
func (c *Conv2D) abort() {
	c.mu.Lock()
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *Conv2D) runLane(i int) {
	l := &c.lanes[i]
	if c.op == opTileBatch {
		c.runTiles(l, i)
		return
	}
	for {
		b := int(c.next.Add(1)) - 1
		if b >= c.units || c.team.Failed() {
			return
		}
		switch {
		case c.op == opSum:
			c.sumPartials(b)
		case c.op == opGatherDy:
			c.gatherDy(b)
		case c.op == opChunk:
			c.wgradChunk(l, b)
		case c.op == opGradBatch:
			at := (c.g0 + b) * c.d.out
			c.activateGrad(c.y[at:at+c.d.out], c.dactY[at:at+c.d.out])
		case c.implicit:
			c.forwardImplicit(l, b)
		case c.op == opForward:
			c.forwardBlock(l, b)
		default:
			c.backwardBlock(l, b)
		}
	}
}

// columns writes rows [r0, r1) of tile t's column matrix (t.cols()
// columns) into col, row stride ld; row d.k, when asked for, is ones: it
// multiplies the bias.
func (c *Conv2D) columns(t tile, r0, r1 int, col []float32, ld int) {
	d := &c.d
	k1 := min(r1, d.k)
	if t.single() {
		d.im2col(c.x[t.img0*d.in:(t.img0+1)*d.in], t.p0, t.p1, col, ld, 0, r0, k1)
	} else {
		for img := t.img0; img < t.img1; img++ {
			d.im2col(c.x[img*d.in:(img+1)*d.in], 0, d.p, col, ld, (img-t.img0)*d.p, r0, k1)
		}
	}
	if r1 > d.k {
		fill(col[(d.k-r0)*ld:(d.k-r0)*ld+t.cols()], 1)
	}
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

// weights returns the forward GEMMs' A: the weights, with the bias as an
// extra column when the column matrix has a row of ones.
func (c *Conv2D) weights() (a []float32, lda int) {
	if c.kx > c.d.k {
		return c.wext, c.d.k + 1
	}
	return c.w, c.d.k
}

// startTile starts cols columns of output channels [o0, o1) at y (row
// stride ldy, channel o0 first) from the bias when the GEMMs are to add to
// it, and returns their first beta.
func (c *Conv2D) startTile(y []float32, ldy, cols, o0, o1 int) (beta float32) {
	if c.bias == nil || c.kx > c.d.k {
		return 0
	}
	for o, v := range c.bias[o0:o1] {
		fill(y[o*ldy:o*ldy+cols], v)
	}
	return 1
}

// finishTile applies the call's activations to the finished outputs of one
// image's tile: cols columns of each output channel, the first at y[0] and
// at c.y[at] (y is c.y[at:]).
func (c *Conv2D) finishTile(y []float32, at, cols int) {
	d := &c.d
	for o := 0; c.act != Identity && o < d.oc; o++ {
		c.activate(y[o*d.p : o*d.p+cols])
	}
	for o := 0; c.dact != Identity && o < d.oc; o++ {
		c.activateGrad(y[o*d.p:o*d.p+cols], c.dactY[at+o*d.p:at+o*d.p+cols])
	}
}

func (c *Conv2D) forwardBlock(l *lane, b int) {
	d := &c.d
	a, lda := c.weights()
	for i := 0; ; i++ {
		t, ok := c.pl.tile(b, i)
		if !ok {
			return
		}
		cols := t.cols()
		// The tile's outputs: for one image a d.oc x cols window of it,
		// row stride d.p, which the GEMMs write in place; for several a
		// matrix scattered to them at the end.
		y, ldy := c.y[t.img0*d.out+t.p0:], d.p
		if !t.single() {
			y, ldy = l.tmp[:d.oc*cols], cols
		}
		beta := c.startTile(y, ldy, cols, 0, d.oc)
		// The GEMMs read the chunk in place, fresh in L2, rather than
		// packing it again; its rows are colStride apart.
		ld := colStride(cols)
		for r0 := 0; r0 < c.kx; r0 += c.pl.rows {
			r1 := min(c.kx, r0+c.pl.rows)
			col := l.col[:(r1-r0)*ld]
			c.columns(t, r0, r1, col, ld)
			c.opt(l).Sgemm(false, false, d.oc, cols, r1-r0, 1, a[r0:], lda, col, ld, beta, y, ldy)
			beta = 1
		}
		if t.single() {
			c.finishTile(y, t.img0*d.out+t.p0, cols)
		} else {
			c.activate(y[:d.oc*cols])
			d.scatter(y, cols, t.img0, t.img1, c.y)
			if c.dact != Identity {
				c.activateGrad(c.y[t.img0*d.out:t.img1*d.out], c.dactY[t.img0*d.out:t.img1*d.out])
			}
		}
	}
}

func checkActivation(a Activation) {
	if a < Identity || a > ReLU {
		panic(fmt.Sprintf("conv: unknown activation %d", a))
	}
}

// activateGrad multiplies the gradient g in place by the derivative of the
// call's dact where that activation's output is y.
func (c *Conv2D) activateGrad(g, y []float32) { applyGrad(c.d.ks, c.dact, g, y) }

// applyGrad multiplies the gradient g in place by the derivative of a
// where a's output is y.
func applyGrad(ks *kernels.Set, a Activation, g, y []float32) {
	switch a {
	case SELU:
		ks.Act.SELUGrad(g, g, y)
	case ReLU:
		ks.Act.ReLUGrad(g, g, y)
	}
}

// activate applies the call's activation to s in place.
func (c *Conv2D) activate(s []float32) {
	switch c.act {
	case SELU:
		c.d.ks.Act.SELU(s, s)
	case ReLU:
		c.d.ks.Act.ReLU(s, s)
	}
}

func (c *Conv2D) backwardBlock(l *lane, b int) {
	d := &c.d
	if c.dx != nil {
		i0, i1 := c.pl.images(b)
		clear(c.dx[i0*d.in : i1*d.in])
	}
	rows := c.kx
	if c.dw == nil {
		rows = d.k
	}
	part := l.part
	if c.deferSum {
		part = c.partials[b]
	}
	for i := 0; ; i++ {
		t, ok := c.pl.tile(b, i)
		if !ok {
			break
		}
		cols := t.cols()
		// dyt is the tile's output gradient as a d.oc x cols matrix.
		dyt, ldd := c.dy[t.img0*d.out+t.p0:], d.p
		if !t.single() {
			dyt, ldd = l.tmp[:d.oc*cols], cols
			d.gather(c.dy, t.img0, t.img1, dyt, cols)
		}
		for r0 := 0; r0 < rows; r0 += c.pl.rows {
			r1 := min(rows, r0+c.pl.rows)
			if c.dw != nil {
				col := l.col[:(r1-r0)*cols]
				c.columns(t, r0, r1, col, cols)
				beta := float32(1)
				if i == 0 {
					beta = 0
				}
				// part[:, r0:r1] (+)= dyt * col^T, summed over the tile's
				// columns.
				c.opt(l).Sgemm(false, true, d.oc, r1-r0, cols, 1, dyt, ldd, col, cols, beta, part[r0:], c.kx)
			}
			if r1 = min(r1, d.k); c.dx != nil && r1 > r0 {
				// dcol = w[:, r0:r1]^T * dyt, then folded back into dx.
				dcol := l.col[:(r1-r0)*cols]
				c.opt(l).Sgemm(true, false, r1-r0, cols, d.oc, 1, c.w[r0:], d.k, dyt, ldd, 0, dcol, cols)
				if t.single() {
					d.col2im(dcol, cols, 0, t.p0, t.p1, r0, r1, c.dx[t.img0*d.in:(t.img0+1)*d.in])
				} else {
					for img := t.img0; img < t.img1; img++ {
						d.col2im(dcol, cols, (img-t.img0)*d.p, 0, d.p, r0, r1, c.dx[img*d.in:(img+1)*d.in])
					}
				}
			}
		}
	}
	if c.dx != nil && c.dact != Identity {
		// col2im has added the last of the block's images' gradients.
		i0, i1 := c.pl.images(b)
		c.activateGrad(c.dx[i0*d.in:i1*d.in], c.dactY[i0*d.in:i1*d.in])
	}
	if c.dw != nil && !c.deferSum {
		c.addPartial(part, b)
	}
}

// addPartial adds block b's weight gradient to dw and dbias after blocks
// 0..b-1 have added theirs: the sum's order is the block order, whichever
// lane computed which block. Lanes take blocks in increasing order, so the
// lane holding the lowest block not yet added never waits.
func (c *Conv2D) addPartial(part []float32, b int) {
	// The turn usually comes within microseconds (blocks take about as
	// long as one another): poll before blocking, whose wake-up costs more.
	turn := func() bool { return c.added.Load() == int64(b) || c.team.Failed() }
	if !par.Poll(turn) {
		c.mu.Lock()
		for !turn() {
			c.cond.Wait()
		}
		c.mu.Unlock()
	}
	if c.team.Failed() {
		return
	}

	c.addRows(part, b, 0, c.d.oc)

	c.mu.Lock()
	c.added.Add(1)
	c.cond.Broadcast()
	c.mu.Unlock()
}

// addRows adds rows [o0, o1) of block b's weight gradient part (d.oc x kx,
// the bias gradient in its last column when kx > d.k) to dw and db, or
// copies them there for block 0.
func (c *Conv2D) addRows(part []float32, b, o0, o1 int) {
	k, kx := c.d.k, c.kx
	for o := o0; o < o1; o++ {
		src := part[o*kx : o*kx+k]
		dst := c.dw[o*k : (o+1)*k]
		if b == 0 {
			copy(dst, src)
		} else {
			c.d.ks.Act.Add(dst, src)
		}
		if c.db != nil {
			if b == 0 {
				c.db[o] = part[o*kx+k]
			} else {
				c.db[o] += part[o*kx+k]
			}
		}
	}
}

// sumRows is how many rows of dw a unit of sumPartials sums.
const sumRows = 8

// sumPartials sums unit u's rows of every block's weight gradient into dw
// and db, in block order: element for element the additions addPartial
// makes.
func (c *Conv2D) sumPartials(u int) {
	o0, o1 := u*sumRows, min(c.d.oc, (u+1)*sumRows)
	for b := range c.pl.blocks {
		c.addRows(c.partials[b], b, o0, o1)
	}
}

// wgradChunked computes the weight gradient of a batch that is one block:
// the lanes gather the tiles' output gradients, then compute dw (and db)
// a chunk of the column matrix's rows at a time, each over every tile in
// order. Every element of dw is the same sum as on one thread (the tiles
// and the GEMMs' depth blocks do not depend on the chunks), so chunks can
// be as many as the lanes need.
func (c *Conv2D) wgradChunked(threads int) {
	c.op, c.units = opGatherDy, c.pl.tiles(0)*c.gatherParts()
	c.next.Store(0)
	runLanes(c, min(threads, c.units, len(c.lanes)), &c.team)
	// As few chunks as the workspace allows, a multiple of the lanes:
	// each chunk's GEMMs pack the output gradients again (four a lane
	// made the 3-px layers' chunks 1.67x faster on two threads than on
	// one, two 1.81x; one a lane, where the workspace holds the rows,
	// made the 128-to-256-channel layer's two-thread step 1.7% faster
	// than two), and a count the lanes do not divide leaves one idle.
	c.chunkRows = c.pl.rows
	if threads > 1 {
		chunks := threads * ((c.kx + threads*c.pl.rows - 1) / (threads * c.pl.rows))
		c.chunkRows = (c.kx + chunks - 1) / chunks
	}
	c.op, c.units = opChunk, (c.kx+c.chunkRows-1)/c.chunkRows
	lanes := min(threads, c.units, len(c.lanes))
	c.gemmOpt.Threads = max(1, threads/lanes)
	c.next.Store(0)
	runLanes(c, lanes, &c.team)
}

// tileDy returns tile i's output gradient as a d.oc-row matrix and its
// row stride: in place for a tile of one image, else the tile's part of
// dyAll (filled by gatherDy).
func (c *Conv2D) tileDy(t tile, i int) ([]float32, int) {
	d := &c.d
	if t.single() {
		return c.dy[t.img0*d.out+t.p0:], d.p
	}
	at := d.oc * i * c.pl.maxCols
	return c.dyAll[at : at+d.oc*t.cols()], t.cols()
}

// gatherParts is how many work units gather a tile's output gradient,
// gatherRows channels each: a tile of 3 x 3 images is copied 9 floats at
// a time, slow enough to share.
func (c *Conv2D) gatherParts() int { return (c.d.oc + gatherRows - 1) / gatherRows }

const gatherRows = 32

// gatherDy gathers part u%gatherParts of tile u/gatherParts's output
// gradient into dyAll.
func (c *Conv2D) gatherDy(u int) {
	i, part := u/c.gatherParts(), u%c.gatherParts()
	t, _ := c.pl.tile(0, i)
	if t.single() {
		return
	}
	dyt, ld := c.tileDy(t, i)
	o0, o1 := part*gatherRows, min(c.d.oc, (part+1)*gatherRows)
	c.d.gatherRows(c.dy, t.img0, t.img1, o0, o1, dyt, ld)
}

// wgradChunk computes chunk u of dw's columns (rows [r0, r1) of the
// column matrix), the bias gradient when the chunk holds the row of ones.
func (c *Conv2D) wgradChunk(l *lane, u int) {
	d := &c.d
	r0 := u * c.chunkRows
	r1 := min(c.kx, r0+c.chunkRows)
	for i := 0; ; i++ {
		t, ok := c.pl.tile(0, i)
		if !ok {
			return
		}
		cols := t.cols()
		dyt, ldd := c.tileDy(t, i)
		col := l.col[:(r1-r0)*cols]
		c.columns(t, r0, r1, col, cols)
		beta := float32(1)
		if i == 0 {
			beta = 0
		}
		// dw[:, r0:r1] (+)= dyt * col^T, summed over the tile's columns;
		// the row of ones gives db.
		if k := min(r1, d.k); k > r0 {
			c.opt(l).Sgemm(false, true, d.oc, k-r0, cols, 1, dyt, ldd, col, cols, beta, c.dw[r0:], d.k)
		}
		if r1 > d.k {
			c.opt(l).Sgemm(false, true, d.oc, 1, cols, 1, dyt, ldd, col[(d.k-r0)*cols:], cols, beta, c.db, 1)
		}
	}
}
