package gemm

import "github.com/snnkit/snn/kernels"

// call is one checked Sgemm call with its blocking decided.
type call struct {
	g              *kernels.Gemm
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	// kc is the depth block. It depends on k and the kernel only, never on
	// the threads: every element of C sees the same sums in the same order
	// whatever the split.
	kc int
	// prefetchA and prefetchB: the operand is too big to stay in L2
	// between calls, so the source of its next packing is prefetched
	// (B's only when its blocks leave room for it: see run).
	prefetchA, prefetchB bool
	// shared, when set, holds all of A packed, shared by the goroutines
	// of a parallel call.
	shared *sharedA
	// inPlace asks for B in place whatever its size (Options.InPlaceB).
	forceInPlace bool
	// unpackedA: strips whose height the kernel set's KernelA takes
	// read A in place (small problems, see useUnpackedA).
	unpackedA bool
	// rows, when its off is not nil, says where B's rows are
	// (SgemmRows); ldb is then unused.
	rows rowsB
}

// rowsB is the B of SgemmRows: B[p][j] = b[off[p] + (j/width)*stride +
// j%width], with width >= n for rows in one piece.
type rowsB struct {
	off           []int
	width, stride int
	maxOff        int // the largest offset
}

// at returns where B[p][j] is in b.
func (r *rowsB) at(p, j int) int { return r.off[p] + j/r.width*r.stride + j%r.width }

// lastPanel returns the first column of the last panel KernelRows of g
// reads for columns [j0, end), cut into calls as kernelRows cuts them: the
// run the last call starts in is cut into panels from that call's start.
func (r *rowsB) lastPanel(g *kernels.Gemm, j0, end int) int {
	pw := g.RowsPanel(r.width)
	from := max(j0, (end-1)/r.width*r.width)
	return from + (end-1-from)/pw*pw
}

func sgemm(ks *kernels.Set, threads int, ws *workspace, inPlace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, rows rowsB, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scale(c, m, n, ldc, beta)
		return
	}
	if transposedC(&ks.Gemm, inPlace, transA, transB, m, n, k, beta, rows) {
		sgemmTransposed(ks, threads, ws, m, n, k, alpha, a, lda, b, ldb, c, ldc)
		return
	}
	q := call{
		g: &ks.Gemm, transA: transA, transB: transB,
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
		forceInPlace: inPlace, rows: rows,
	}
	q.kc = balanced(k, q.g.KC, 4)
	q.unpackedA = useUnpackedA(q.g, transA, m, n, k)
	q.prefetchA = m*k > cachedFloats
	q.prefetchB = k*n > cachedFloats && rows.off == nil
	threads = min(threads, max(1, int(2*float64(m)*float64(n)*float64(k)/minFlopsPerThread)))
	if threads > 1 {
		parallel(&q, threads, ws)
		return
	}
	if ws != nil {
		q.run(ws, 0, m, 0, n, 0, 1)
		return
	}
	ws = getWorkspace()
	q.run(ws, 0, m, 0, n, 0, 1)
	putWorkspace(ws)
}

// transposedC reports whether a call computes C^T = B A^T instead (see
// sgemmTransposed): B stored transposed (n x k, rows along k), A not, few
// rows of C (KernelA reads a matrix of them unpacked: kernels.Gemm.
// UnpackedA), B too large to stay in L2, deep enough that packing B would
// cost more than transposing C (k >= transposedDepth*m: packing B moves
// k*n floats, transposing C m*n), and C overwritten (beta == 0: then C^T
// holds C's bits exactly). A dense layer's forward pass over a batch, 32
// x 512 x 4096 with B its weights, ran 1.3x as fast so with AVX2 on the
// Sapphire Rapids Xeon: B read once where it lies instead of packed whole
// for 32 rows. At k = 8m the two ways ran level or transposed ahead
// (1.01-1.18x: 32 x 4096 x 256, 64 x 4096 x 512, 128 x 2048 x 1024, with
// this Xeon's caches and with Zen 3's through SNN_CACHES), at k = 4m and
// below transposed behind (0.81-0.94x); with Zen 3's caches the
// whole-image Winograd pass's transforms (k = 9, n up to 16384) took the
// path and its 3-px layers 1.45x as long.
func transposedC(g *kernels.Gemm, inPlace, transA, transB bool, m, n, k int, beta float32, rows rowsB) bool {
	return transB && !transA && beta == 0 && !inPlace && rows.off == nil &&
		g.UnpackedA(m) && !g.UnpackedA(n) && k*n > cachedFloats && k >= transposedDepth*m
}

// transposedDepth is the least depth per row of C for transposedC; tests
// lower it to run the transposed path on small shapes.
var transposedDepth = 8

// sgemmTransposed computes C = alpha*A*B^T (B stored n x k) as C^T =
// alpha*B*A^T into the workspace, then writes its transpose to C. Each
// element is the same sum in the same order as the direct call's (the
// same products, the same depth blocks, alpha the same way), so the bits
// are the same.
func sgemmTransposed(ks *kernels.Set, threads int, ws *workspace, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, c []float32, ldc int) {
	own := ws == nil
	if own {
		ws = getWorkspace()
	}
	ws.t = grow(ws.t, n*m)
	t := ws.t
	sgemm(ks, threads, ws, false, false, true, n, m, k, alpha, b, ldb, a, lda, rowsB{}, 0, t, m)
	// Blocks of 8 rows of C^T at a time: 8 floats of each of C's rows.
	const blk = 8
	for j0 := 0; j0 < n; j0 += blk {
		j1 := min(n, j0+blk)
		for i := range m {
			row := c[i*ldc+j0 : i*ldc+j1]
			for j := range row {
				row[j] = t[(j0+j)*m+i]
			}
		}
	}
	if own {
		putWorkspace(ws)
	}
}

// useUnpackedA reports whether KernelA reads A where it lies: A not
// transposed, and n small enough (kernels.Gemm.UnpackedA) or the problem
// small (at most 64 KiB of A and 256 columns, where packing A would be a
// sizeable part of the work: a tenth of a 64 x 64 x 64 product). A
// convolution's weight gradient, 145 rows of its column matrix x 32
// output channels x 1024 columns, ran 1.25x faster so with AVX2, and 256
// x 256 x 256 products 1.11x with AVX-512.
func useUnpackedA(g *kernels.Gemm, transA bool, m, n, k int) bool {
	return !transA && g.KernelA != nil && (g.UnpackedA(n) || m*k <= 1<<14 && n <= 256)
}

// cachedFloats is the size of an operand (in floats) beyond which it is
// not expected to be in L2 when a call starts: half of a core's share of
// this CPU's L2 (1 MiB on a 2 MiB L2).
var cachedFloats = cachedFor(kernels.CPU().Caches)

// cachedFor returns cachedFloats for a core with caches c, at least 64 KiB
// for an L2 unknown or tiny.
func cachedFor(c kernels.Caches) int {
	return max(c.L2PerCore()/2/4, 1<<14)
}

// minFlopsPerThread is the least work worth handing to another goroutine:
// waking a parked worker costs microseconds, and a block this size takes
// tens of them. Tests lower it to split small problems.
var minFlopsPerThread = float64(4 << 20)

// scale sets C = beta*C (C = 0 when beta == 0, NaN included).
func scale(c []float32, m, n, ldc int, beta float32) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

func roundUp(x, unit int) int { return (x + unit - 1) / unit * unit }

// balanced returns the block size that covers n in the fewest blocks of at
// most limit (a multiple of unit), as evenly as whole units allow.
func balanced(n, limit, unit int) int {
	if n <= limit {
		return roundUp(n, unit)
	}
	blocks := (n + limit - 1) / limit
	return min(roundUp((n+blocks-1)/blocks, unit), roundUp(limit, unit))
}

// run computes rows [r0, r1) and columns [c0, c1) of C: the BLIS loops
// around the micro-kernel (see kernels.Gemm).
//
// Packing reads A and B from memory once per block; to keep the core busy
// meanwhile, the source of the next packing is prefetched while the
// kernels run: the next strip of A while A is packed strip by strip in the
// first column block, the next block of B a slice per strip.
func (q *call) run(ws *workspace, r0, r1, c0, c1, part, parts int) {
	g := q.g
	mr, nr := g.MR, g.NR
	mcb := balanced(r1-r0, g.MC, mr)
	fused := q.fusesB(mcb)
	cols := q.blockCols(q.inPlaceB(q.kc))
	if fused {
		// The packed block and the next one's source side by side in
		// the share of L2 the model gives B.
		cols = min(cols, max(nr, g.KC*g.NC/(2*q.kc)/nr*nr))
	}
	ncb := balanced(c1-c0, cols, nr)
	prefetchB := q.prefetchesB(ncb)
	for i0 := r0; i0 < r1; i0 += mcb {
		mc := min(mcb, r1-i0)
		for p0 := 0; p0 < q.k; p0 += q.kc {
			kc := min(q.kc, q.k-p0)
			st := step{i0: i0, mc: mc, p0: p0, kc: kc, beta: q.beta, packA: true}
			if p0 > 0 {
				st.beta = 1
			}
			// Goroutines sharing A start their strips at different
			// points, so that they pack different strips at once.
			strips := (mc + mr - 1) / mr
			st.first = part * strips / parts
			pa := q.blockA(ws, i0, mc, p0, kc)
			for j0 := c0; j0 < c1; j0 += ncb {
				st.j0, st.nc = j0, min(ncb, c1-j0)
				if prefetchB {
					st.next = q.nextB(p0, kc, j0+ncb, ncb, c0, c1)
				}
				if q.inPlaceB(kc) {
					q.inPlace(ws, pa, st)
				} else if fused {
					// The first strip packs the whole panels as it reads
					// them; a partial last one is packed here.
					ws.b = grow(ws.b, roundUp(st.nc, nr)*kc)
					st.fuse = st.nc / nr * nr
					if st.fuse < st.nc {
						q.packB(ws.b[st.fuse*kc:], p0, kc, j0+st.fuse, st.nc-st.fuse)
					}
					st.b, st.ldb, st.panel = ws.b, nr, kc*nr
					q.strips(pa, st)
				} else {
					ws.b = grow(ws.b, roundUp(st.nc, nr)*kc)
					q.packB(ws.b, p0, kc, j0, st.nc)
					st.b, st.ldb, st.panel = ws.b, nr, kc*nr
					q.strips(pa, st)
				}
				st.packA = false
			}
		}
	}
}

// blockCols is the most columns of B a block takes: NC, or with B read
// in place, as many more for depth blocks shallower than KC as keep the
// block at the KC x NC floats the cache model gives B, up to
// maxBlockCols. A block is a kernel call per strip: with depth 9 (a
// one-channel image's column matrix) and NC 304, a call did so little
// that a one-channel convolution's forward pass ran 1.13x faster with
// blocks from Zen 3's caches and 1.46x from a 256 KiB L2's (SNN_CACHES on
// the Xeon, AVX2). Packed, larger blocks of a shallow B lost instead
// (0.91-0.94x on 64 x 32768 x 288 with the Xeon's caches).
func (q *call) blockCols(inPlace bool) int {
	g := q.g
	if !inPlace {
		return g.NC
	}
	return min(max(g.NC, g.KC*g.NC/q.kc/g.NR*g.NR), max(g.NC, maxBlockCols))
}

// maxBlockCols bounds blockCols: 16384 measured the same.
const maxBlockCols = 4096

// prefetchesB reports whether run prefetches the source of the next block
// of B, with blocks ncb columns wide: only for a B too big for L2 whose
// next block's source fits there beside the packed block, in the share of
// L2 the cache model gives B (KC x NC floats). A prefetch beyond that
// evicts the block the kernels are reading: with AVX2 on the Sapphire
// Rapids Xeon, 256 x 2048 x 2304 (blocks of 464 x 688, 1.3 MB each in a
// 2 MiB L2) ran 1.05-1.09x as fast without it.
func (q *call) prefetchesB(ncb int) bool {
	return q.prefetchB && 2*q.kc*ncb <= q.g.KC*q.g.NC
}

// fusesB reports whether the strips of row blocks of mcb rows pack B
// themselves: the first strip of a column block reads B where it lies
// and stores the panels as it goes (KernelPack), and the others, reading
// them packed, prefetch the source of the next block into L2 (KernelNext),
// the column blocks narrowed so that both fit there. Then packing costs a
// store per row inside a loop bound by its multiply-adds, and reads L2,
// instead of a pass of its own from memory. Only for B not transposed and
// too big for L2, few strips (with many, packing is a small part of the
// work, and the first strip's slower start is not repaid: deep_fwd, 43
// strips, lost 4-12%), and rows of B that do not crowd a few L1 sets
// (fusedRowsFit). On the Sapphire Rapids Xeon 32 x 512 x 4096 ran 1.15x
// as fast with AVX2 and 1.28x with AVX-512, 40 x 1000 x 3000 1.11x and
// 1.18x; 32 x 4096 x 4096, whose rows all fall into one L1 set, 0.85x
// before fusedRowsFit left it out. The rule is cautious: 16 x 8192 x 512,
// as crowded, gained 1.12x in the same trial.
func (q *call) fusesB(mcb int) bool {
	g := q.g
	return g.KernelPack != nil && g.KernelNext != nil && !q.transB && q.rows.off == nil &&
		!q.forceInPlace && !q.unpackedA && q.prefetchB &&
		(mcb+g.MR-1)/g.MR <= fusedStrips && fusedRowsFit(kernels.CPU().Caches, q.ldb, q.kc)
}

// fusedStrips is the most strips a row block may have for fusesB; tests
// set it to 0 to compare with the unfused loops.
var fusedStrips = 8

// fusedRowsFit reports whether the rows of B a packing kernel has in
// flight, ld floats apart (up to depth kc: the row it loads and the
// fusedAhead it prefetches), fit in the L1 sets they fall into, with two
// ways of each left for A's micro-panel and C. Rows ld*4 bytes apart
// fall into way/gcd(ld*4, way) sets of an L1 way of way bytes (at most
// way/64): rows 2 KiB apart into 2 sets, 16 KiB apart into one.
func fusedRowsFit(c kernels.Caches, ld, kc int) bool {
	ways := c.L1DWays
	if ways <= 0 {
		ways = 8
	}
	way := 4096
	if c.L1D > 0 {
		way = c.L1D / ways
	}
	g := way
	for x := ld * 4 % way; x != 0; g, x = x, g%x {
	}
	sets := max(1, way/max(g, 64))
	inFlight := min(kc, fusedAhead)
	return (inFlight+sets-1)/sets <= ways-2
}

// fusedAhead is how many rows of B the packing kernels have in flight:
// they prefetch 16 rows ahead of the 4 they load an iteration.
const fusedAhead = 20

// step is one column block of the loops: rows [i0, i0+mc), depths
// [p0, p0+kc), columns [j0, j0+nc) of C, with B's panels at b.
type step struct {
	i0, mc, p0, kc, j0, nc int
	beta                   float32
	b                      []float32
	ldb, panel             int
	// off, when not nil, is the offset table of B's rows (KernelRows),
	// used instead of ldb and panel.
	off []int
	// packA: pack each strip of A before its first use (the first column
	// block of a depth block).
	packA bool
	// fuse, when not 0, is how many columns (whole panels) the first
	// strip packs to b as it reads them where they lie (fusesB); the
	// other strips stream next into L2.
	fuse int
	// first is the strip the loop over strips starts at (then wraps).
	first int
	// next is the source of the next block of B, prefetched a slice per
	// strip: rows of the storage of B, each cols floats.
	next region
}

// maxBurst is the most cache lines prefetched at once before a kernel
// call: a long burst of prefetches stalls the core as much as the misses
// it is meant to hide.
var maxBurst = 512

// lines is about how many cache lines r covers.
func (r region) lines() int { return r.rows * (r.cols/16 + 1) }

// region is a rows x cols part of a matrix stored at s with row stride ld.
type region struct {
	s              []float32
	rows, cols, ld int
}

// blockA returns where the A block of rows [i0, i0+mc) and depths
// [p0, p0+kc) is packed: in the workspace, or in the shared buffer.
func (q *call) blockA(ws *workspace, i0, mc, p0, kc int) []float32 {
	size := roundUp(mc, q.g.MR) * kc
	if q.shared != nil {
		off := i0*q.k + roundUp(mc, q.g.MR)*p0
		return q.shared.buf[off : off+size]
	}
	ws.a = grow(ws.a, size)
	return ws.a
}

// nextB returns the part of B's storage the next column block (starting
// at column j, or at c0 of the next depth block) reads.
func (q *call) nextB(p0, kc, j, ncb, c0, c1 int) region {
	if j >= c1 {
		p0 += kc
		j = c0
		if p0 >= q.k {
			return region{}
		}
		kc = min(kc, q.k-p0)
	}
	nc := min(ncb, c1-j)
	if q.transB {
		return region{s: q.b[j*q.ldb+p0:], rows: nc, cols: kc, ld: q.ldb}
	}
	return region{s: q.b[p0*q.ldb+j:], rows: kc, cols: nc, ld: q.ldb}
}

// aSource returns the part of A's storage strip s (rows i0+s.. of A) of a
// depth block reads.
func (q *call) aSource(i0, mc, p0, kc, s int) region {
	rows := min(q.g.MR, mc-s)
	if q.transA {
		return region{s: q.a[p0*q.lda+i0+s:], rows: kc, cols: rows, ld: q.lda}
	}
	return region{s: q.a[(i0+s)*q.lda+p0:], rows: rows, cols: kc, ld: q.lda}
}

// prefetch hints rows [lo, hi) of r.
func (q *call) prefetch(r region, lo, hi int) {
	if hi > lo && r.cols > 0 {
		q.g.Prefetch(r.s[lo*r.ld:], hi-lo, r.cols, r.ld)
	}
}

// inPlaceB reports whether the kernel reads B where it lies instead of a
// packed copy: only when B is not transposed (its rows are what the kernel
// loads), the depth block is so thin that packing would cost about as
// much as the multiplication (or its rows close together), and the rows do
// not all fall into a few L1 sets; or when the caller asked for it.
func (q *call) inPlaceB(kc int) bool {
	if r := &q.rows; r.off != nil {
		return q.g.KernelRows != nil && rowsInPlace(q.g, r.width, q.n)
	}
	if q.transB {
		return false
	}
	if q.forceInPlace {
		return true
	}
	if kc > 16 && kc*q.ldb*4 > inPlaceSpan {
		return false
	}
	// Rows ldb*4 bytes apart fall into 4096/gcd(ldb*4, 4096) different
	// L1 sets; too few, and the B rows prefetched ahead evict each other
	// (and, with C's rows as far apart, the C tile).
	g := 4096
	for x := q.ldb * 4 % 4096; x != 0; g, x = x, g%x {
	}
	return g <= inPlaceAlias
}

// rowsInPlace reports whether KernelRows of g reads a B of n columns in
// runs of width in place: rows in one piece, or runs cut into panels at
// least 3/4 of NR wide (the kernel computes NR columns of each). Narrower
// panels would compute more columns for nothing than packing costs.
func rowsInPlace(g *kernels.Gemm, width, n int) bool {
	return width >= n || 4*g.RowsPanel(width) >= 3*g.NR
}

// inPlaceSpan is the most bytes a depth block of B in place may spread
// over (kc rows of ldb floats), inPlaceAlias the largest power of two its
// row stride in bytes may be a multiple of.
var inPlaceSpan, inPlaceAlias = 64 << 10, 512

// inPlace runs the strips on whole NR-column panels of B in place, and on
// the remaining columns packed (zero-padded) into ws.edge.
func (q *call) inPlace(ws *workspace, pa []float32, st step) {
	nr := q.g.NR
	full := st.nc / nr * nr
	nc, j0 := st.nc, st.j0
	if r := &q.rows; r.off != nil && r.width < q.n && q.g.RowsPanel(r.width) < nr {
		// Runs cut into panels narrower than NR (or narrower than a panel
		// themselves), each read NR wide. The panels go in place as long
		// as NR floats from their start are inside b for every row; the
		// last few may not be, and are packed.
		full = nc
		for full > 0 {
			last := r.lastPanel(q.g, j0, j0+full)
			if r.maxOff+r.at(0, last)-r.off[0]+nr <= len(q.b) {
				break
			}
			full = last - j0
		}
	}
	if full > 0 {
		if q.rows.off != nil {
			st.off, st.nc = q.rows.off[st.p0:st.p0+st.kc], full
		} else {
			st.b, st.ldb, st.panel, st.nc = q.b[st.p0*q.ldb+j0:], q.ldb, nr, full
		}
		q.strips(pa, st)
		st.packA = false
	}
	if full < nc {
		ws.edge = grow(ws.edge, st.kc*nr)
		q.packB(ws.edge, st.p0, st.kc, j0+full, nc-full)
		st.b, st.off, st.ldb, st.panel, st.j0, st.nc = ws.edge, nil, nr, st.kc*nr, j0+full, nc-full
		st.next = region{}
		q.strips(pa, st)
	}
}

// strips calls the kernel for each MR-row strip of the A block against
// the column block of st, packing each strip of A first when st.packA.
func (q *call) strips(pa []float32, st step) {
	g := q.g
	mr := g.MR
	n := (st.mc + mr - 1) / mr
	if st.fuse == 0 && st.next.lines() > maxBurst*n {
		st.next = region{} // too much to spread over these few strips
	}
	for i := 0; i < n; i++ {
		s := (st.first + i) % n * mr
		a := pa[s*st.kc : (s+mr)*st.kc]
		rows := min(mr, st.mc-s)
		if q.unpackedA && rows%(mr/3) == 0 && st.off == nil {
			// A read where it lies: nothing to pack.
			c := q.c[(st.i0+s)*q.ldc+st.j0:]
			g.KernelA(st.kc, rows, st.nc, q.a[(st.i0+s)*q.lda+st.p0:], q.lda, st.b, st.ldb, st.panel, c, q.ldc, q.alpha, st.beta)
			continue
		}
		if st.packA {
			if q.prefetchA && i+1 < n {
				nxt := q.aSource(st.i0, st.mc, st.p0, st.kc, (st.first+i+1)%n*mr)
				if nxt.lines() <= maxBurst {
					q.prefetch(nxt, 0, nxt.rows)
				}
			}
			if q.shared != nil {
				id := (st.i0+s)/mr*((q.k+q.kc-1)/q.kc) + st.p0/q.kc
				q.shared.ensure(q, id, a, st.i0+s, min(mr, st.mc-s), st.p0, st.kc)
			} else {
				q.packStrip(a, st.i0+s, min(mr, st.mc-s), st.p0, st.kc)
			}
		}
		c := q.c[(st.i0+s)*q.ldc+st.j0:]
		if st.fuse > 0 {
			q.fusedStrip(a, st, i, n, rows, c)
			continue
		}
		q.prefetch(st.next, i*st.next.rows/n, (i+1)*st.next.rows/n)
		if st.off != nil {
			q.kernelRows(a, st, min(mr, st.mc-s), c)
		} else {
			g.Kernel(st.kc, min(mr, st.mc-s), st.nc, a, st.b, st.ldb, st.panel, c, q.ldc, q.alpha, st.beta)
		}
	}
}

// fusedStrip runs strip i of n of a block whose first strip packs B
// (st.fuse): the first packs the whole panels from B where it lies and
// multiplies the packed partial one, the others each prefetch their share
// of the next block's source while they multiply.
func (q *call) fusedStrip(a []float32, st step, i, n, rows int, c []float32) {
	g := q.g
	nr := g.NR
	if i == 0 {
		g.KernelPack(st.kc, rows, st.fuse, a, q.b[st.p0*q.ldb+st.j0:], q.ldb, st.b[:st.fuse*st.kc], c, q.ldc, q.alpha, st.beta)
		if st.fuse < st.nc {
			g.Kernel(st.kc, rows, st.nc-st.fuse, a, st.b[st.fuse*st.kc:], nr, st.kc*nr, c[st.fuse:], q.ldc, q.alpha, st.beta)
		}
		return
	}
	r := st.next
	lo, hi := (i-1)*r.rows/(n-1), i*r.rows/(n-1)
	if hi == lo || r.cols == 0 {
		g.Kernel(st.kc, rows, st.nc, a, st.b, nr, st.kc*nr, c, q.ldc, q.alpha, st.beta)
		return
	}
	g.KernelNext(st.kc, rows, st.nc, a, st.b, nr, st.kc*nr, c, q.ldc, q.alpha, st.beta, r.s[lo*r.ld:], hi-lo, r.cols, r.ld)
}

// kernelRows runs KernelRows on the columns of st for a strip of m rows
// at c (whole panels, see inPlaceB): a first call up to the end of the run
// st.j0 is in, when it starts inside one, then one for the rest.
func (q *call) kernelRows(a []float32, st step, m int, c []float32) {
	r := &q.rows
	end := st.j0 + st.nc
	if r.width >= q.n { // rows in one piece
		w := roundUp(st.nc, q.g.NR)
		q.g.KernelRows(st.kc, m, st.nc, a, q.b[st.j0:], st.off, w, w, c, q.ldc, q.alpha, st.beta)
		return
	}
	for j := st.j0; j < end; {
		next := end
		if j%r.width != 0 {
			next = min(end, (j/r.width+1)*r.width)
		}
		q.g.KernelRows(st.kc, m, next-j, a, q.b[r.at(0, j)-r.off[0]:], st.off, r.width, r.stride, c[j-st.j0:], q.ldc, q.alpha, st.beta)
		j = next
	}
}
