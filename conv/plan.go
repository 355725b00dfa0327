package conv

// How a batch is cut into work. The column matrix of a whole batch
// (InC*KH*KW rows, n*OutH*OutW columns) is never built: it is cut into
// tiles of columns small enough to stay in the L2 cache, and tiles are
// grouped into blocks, the units the lanes share. Both cuts depend only on
// the geometry and the batch size, never on the number of threads, so every
// GEMM has the same shape and every sum the same order whatever GOMAXPROCS
// is: that is what makes the results reproducible bit for bit.
//
// A tile is either a range of output positions of one image (large images
// are cut), or several whole images (small ones are grouped so that the
// GEMM is wide enough). A block is a run of whole images; it owns one
// partial weight gradient, added to the result in block order.
const (
	// colBudget is the most float32 one tile's column matrix should hold:
	// 512 KiB, a quarter of this machine's L2.
	colBudget = 1 << 17
	// minTileCols is the narrowest tile worth a GEMM call, whatever the
	// budget says.
	minTileCols = 64
	// minBlockCols is the fewest columns a block should hold, so that
	// adding its partial weight gradient costs little next to its GEMMs.
	minBlockCols = 512
	// minBlocks is how many blocks a batch is cut into at least (when it
	// has that many images), so that that many threads find work.
	minBlocks = 4
)

type plan struct {
	n            int // images in the batch
	p            int // output positions per image
	tilesPerImg  int // > 1: each image is cut into this many tiles
	tileCols     int // columns of a cut tile (the last one of an image may be narrower)
	imgsPerTile  int // whole images per tile when images are not cut
	imgsPerBlock int
	blocks       int
	maxCols      int // columns of the widest tile
}

// makePlan cuts a batch of n images with p output positions each and k
// rows per column (InC*KH*KW, plus one for a bias row) into tiles of about
// budget floats.
func makePlan(n, p, k, budget int) plan {
	pl := plan{n: n, p: p, tilesPerImg: 1, imgsPerTile: 1}
	if n == 0 {
		return pl
	}
	want := max(minTileCols, budget/k)
	if p > want {
		pl.tilesPerImg = (p + want - 1) / want
		// Even tiles, rounded up to a multiple of 16 columns (one AVX-512
		// vector) so that the GEMM edges fall on the image's end only.
		pl.tileCols = (p + pl.tilesPerImg - 1) / pl.tilesPerImg
		pl.tileCols = (pl.tileCols + 15) &^ 15
		pl.tilesPerImg = (p + pl.tileCols - 1) / pl.tileCols
		pl.maxCols = pl.tileCols
		pl.imgsPerBlock = max(1, (minBlockCols+p-1)/p)
	} else {
		// Group whole images, but not so many that fewer than minBlocks
		// tiles remain, unless that would make tiles narrower than
		// minTileCols.
		spread := max(n/minBlocks, (minTileCols+p-1)/p)
		pl.imgsPerTile = max(1, min(n, want/p, spread))
		pl.maxCols = pl.imgsPerTile * p
		tilesPerBlock := max(1, (minBlockCols+pl.maxCols-1)/pl.maxCols)
		pl.imgsPerBlock = tilesPerBlock * pl.imgsPerTile
	}
	// Keep at least minBlocks blocks when there are images enough, without
	// breaking up a tile.
	if capImgs := max(1, n/minBlocks); pl.imgsPerBlock > capImgs {
		pl.imgsPerBlock = max(pl.imgsPerTile, capImgs/pl.imgsPerTile*pl.imgsPerTile)
	}
	pl.blocks = (n + pl.imgsPerBlock - 1) / pl.imgsPerBlock
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
