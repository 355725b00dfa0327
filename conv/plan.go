package conv

import "github.com/snnkit/snn/kernels"

// How a batch is cut into work. The column matrix of a whole batch
// (InC*KH*KW rows, n*OutH*OutW columns) is never built. Its columns are cut
// into tiles, and each tile's rows into chunks: a chunk is what im2col
// writes and one GEMM call reads, small enough to stay in the L2 cache.
// Tiles are grouped into blocks, the units the lanes share.
//
// Tiles are wide because every GEMM call packs its weight operand again:
// that costs OutC*rows floats per call, against 2*OutC*rows*cols flops, so
// narrow tiles would spend their time packing weights. Chunks keep the
// column matrix in cache instead, and the GEMMs of one tile's chunks add
// into the same output (or write disjoint parts of the weight gradient).
//
// Every cut depends only on the geometry and the batch size, never on the
// number of threads, so every GEMM has the same shape and every sum the
// same order whatever GOMAXPROCS is: that is what makes the results
// reproducible bit for bit.
//
// A tile is either a range of output positions of one image (large images
// are cut), or several whole images (small ones are grouped). A block is a
// run of whole images; it owns one partial weight gradient, added to the
// result in block order.

// limits are the sizes the cuts aim at. Tests use tiny ones, so that small
// geometries exercise every kind of cut.
type limits struct {
	tileCols     int // the widest tile (up to 4x wider for matrices of few rows)
	groupBelow   int // images with fewer output positions are grouped into tiles
	budget       int // floats of one chunk of the column matrix
	minRows      int // the fewest rows of a chunk, whatever the budget says
	blockCols    int // a large batch gets a block per blockCols columns...
	minBlockCols int // ...and a small one minBlocks blocks, of at least this many
	// implicit says when the forward pass of a stride-1 layer whose tiles
	// are single images skips im2col (see implicitForward): implicitAuto
	// when the GEMM kernels read B by row offsets and output rows are at
	// least implicitOW wide (each row of a tile carries KW-1 columns
	// computed for nothing), or always, or never.
	implicit   int
	implicitOW int
	// batchCols is about the width of a tile of the batched pass, up to
	// twice that while the tile's output (OutC times its columns, which
	// a lane keeps until it unpacks them) stays within batchOut floats
	// (see batchTiles).
	batchCols int
	batchOut  int
	// winograd says when a layer's passes are Winograd's (see
	// useWinograd): winogradAuto, winogradAlways or winogradNever;
	// winogradTiles is about how many tiles its work units have.
	winograd      int
	winogradTiles int
	// whole says when a layer's forward passes are the whole-image
	// Winograd pass (see useWhole): wholeAuto, wholeAlways or
	// wholeNever.
	whole int
}

const (
	implicitAuto   = 0
	implicitAlways = 1
	implicitNever  = -1
)

// defaultLimits are the limits for the caches of the CPU snn runs on.
var defaultLimits = limitsFor(kernels.CPU().Caches)

// limitsFor returns the limits for a core with caches c. A chunk of the
// column matrix and a batched tile's output each get half of the core's
// share of L2: the other half keeps the packed weights and the GEMM's
// block of A, and whatever else the pass touches, from evicting them.
// Everything else is fixed: the widths are set by the GEMM kernels' panels
// and the work per call, not by cache sizes.
//
// The cut of the rows into chunks decides where the sums over a column's
// rows are split, so results may differ in the last bits between CPUs whose
// L2 caches differ (as with GEMM's depth block); never between thread
// counts on one CPU.
func limitsFor(c kernels.Caches) limits {
	lim := limits{
		tileCols:     1024,
		groupBelow:   512, // wider images fill a GEMM alone, without gather and scatter
		minRows:      32,
		blockCols:    2048,
		minBlockCols: 128,
		implicitOW:   24,
		batchCols:    2048,
		// The GEMMs' width: 16 matrices of InC x 512 and OutC x 512 are
		// 8 MiB for 128 channels, which the GEMMs read and write at
		// about the speed of 4 times as many.
		winogradTiles: 512,
	}
	const f32 = 4
	half := min(max(c.L2PerCore()/2/f32, minBudget), maxBudget)
	lim.budget, lim.batchOut = half, half
	return lim
}

// ChunkBytes is the size in bytes of the largest piece of a column matrix
// (or of a batched tile's output) that a layer builds and multiplies at
// once: half of a core's share of the L2 cache of the CPU snn runs on
// (kernels.CPU), within fixed bounds. Where the chunks cut a column decides
// where its sums are split, so it is one of the sizes results may depend on
// in their last bits.
func ChunkBytes() int { return defaultLimits.budget * 4 }

// The bounds of the cache budgets, in floats: an L2 too small or unknown
// still gets chunks of useful size (minRows also holds), and beyond
// maxBudget larger chunks bought nothing on a 2 MiB L2 (4 MiB chunks ran
// at the speed of 1 MiB ones).
const minBudget, maxBudget = 1 << 15, 1 << 19

// minBlocks is how many blocks a batch is cut into at least when it has
// the images and columns for it, so that that many threads find work.
const minBlocks = 4

type plan struct {
	n            int // images in the batch
	p            int // output positions per image
	k            int // rows of the column matrix, bias row included
	tilesPerImg  int // > 1: each image is cut into this many tiles
	tileCols     int // columns of a cut tile (the last one of an image may be narrower)
	imgsPerTile  int // whole images per tile when images are not cut
	imgsPerBlock int
	blocks       int
	maxCols      int // columns of the widest tile
	rows         int // rows of a chunk (the last may have fewer)
}

// makePlan cuts a batch of n images with p output positions each and k
// rows per column (InC*KH*KW, plus one for a bias row).
func makePlan(n, p, k int, lim limits) plan {
	pl := plan{n: n, p: p, k: k, tilesPerImg: 1, imgsPerTile: 1}
	if n == 0 {
		return pl
	}
	total := n * p
	nb := max(1, min(n, max(total/lim.blockCols, min(minBlocks, total/lim.minBlockCols))))
	// A thin matrix (the first layer's ten rows) fits its budget with
	// wider tiles: fewer GEMM calls, each as cheap to feed.
	wide := max(lim.tileCols, min(4*lim.tileCols, lim.budget/k))
	if p < lim.groupBelow && total <= wide {
		// A batch that fits one tile is one block: its weight gradient is
		// split between lanes by rows of the column matrix instead (see
		// chunkedWeights), with no partial sums to add. (Two tiles or more
		// are faster in blocks, each packing its output gradient once.)
		nb = 1
	}
	if p >= lim.groupBelow {
		// Images that fill tiles alone get a block each: blocks of
		// several would leave lanes idle at the end of a batch that does
		// not divide evenly (32 images of 28x28 made 11 blocks of 3 and
		// one lane of two idle for a twelfth of every pass), and a
		// block's partial weight gradient (OutC*k floats) is small next
		// to an image's work (2*OutC*k*p flops, p >= groupBelow).
		nb = n
	}
	pl.imgsPerBlock = (n + nb - 1) / nb
	pl.blocks = (n + pl.imgsPerBlock - 1) / pl.imgsPerBlock
	if p > wide {
		pl.tilesPerImg = (p + wide - 1) / wide
		// Even tiles, rounded up to a multiple of 16 columns (one AVX-512
		// vector) so that the GEMM edges fall on the image's end only.
		pl.tileCols = (p + pl.tilesPerImg - 1) / pl.tilesPerImg
		pl.tileCols = (pl.tileCols + 15) &^ 15
		pl.tilesPerImg = (p + pl.tileCols - 1) / pl.tileCols
		pl.maxCols = pl.tileCols
	} else {
		if p < lim.groupBelow {
			pl.imgsPerTile = min(pl.imgsPerBlock, max(1, wide/p))
		}
		pl.maxCols = pl.imgsPerTile * p
	}
	rows := min(k, max(lim.minRows, lim.budget/pl.maxCols))
	chunks := (k + rows - 1) / rows
	pl.rows = (k + chunks - 1) / chunks // balanced
	return pl
}

// tile is a set of columns: output positions [p0, p1) of image img0 when
// img1 == img0+1, or all positions of images [img0, img1).
type tile struct {
	img0, img1 int
	p0, p1     int
}

func (t tile) single() bool { return t.img1 == t.img0+1 }

// cols is the tile's column count.
func (t tile) cols() int { return (t.img1 - t.img0) * (t.p1 - t.p0) }

// images returns the images [i0, i1) of block b.
func (pl *plan) images(b int) (i0, i1 int) {
	i0 = b * pl.imgsPerBlock
	return i0, min(pl.n, i0+pl.imgsPerBlock)
}

// tiles returns the number of tiles of block b.
func (pl *plan) tiles(b int) int {
	i0, i1 := pl.images(b)
	if pl.tilesPerImg > 1 {
		return (i1 - i0) * pl.tilesPerImg
	}
	return (i1 - i0 + pl.imgsPerTile - 1) / pl.imgsPerTile
}

// tile returns tile i of block b, and false past the block's last tile.
func (pl *plan) tile(b, i int) (tile, bool) {
	i0, i1 := pl.images(b)
	if pl.tilesPerImg > 1 {
		img := i0 + i/pl.tilesPerImg
		if img >= i1 {
			return tile{}, false
		}
		p0 := (i % pl.tilesPerImg) * pl.tileCols
		return tile{img0: img, img1: img + 1, p0: p0, p1: min(pl.p, p0+pl.tileCols)}, true
	}
	img := i0 + i*pl.imgsPerTile
	if img >= i1 {
		return tile{}, false
	}
	return tile{img0: img, img1: min(i1, img+pl.imgsPerTile), p0: 0, p1: pl.p}, true
}
