package kernels

import (
	"fmt"
	"time"

	"github.com/snnkit/snn/internal/bounds"
)

// Gemm is the GEMM micro-kernel family: the register-blocked inner loop of
// package gemm for one instruction set, the shape of its register tile, the
// cache blocks this CPU's caches give that tile, and the packing helpers.
// Package gemm does everything else (argument checks, loops, threads). A
// new instruction set implements Kernel and Peak as specified here, picks
// MR and NR, and has its constructor call setBlocks for the blocks; Copy, Transpose and Prefetch can start as the generic ones of this
// package (copyPanelsGeneric, transposePanelGeneric, prefetchLengths) and be
// replaced by faster ones later. Tests in gemm_test.go check every Set
// against these contracts.
//
// # What Kernel computes
//
// Kernel(kc, m, n, a, b, ldb, panel, c, ldc, alpha, beta) updates one strip
// of C: m rows (1 <= m <= MR) and n columns (n >= 1, any number of NR-wide
// panels), with
//
//	C[i][j] = alpha * sum(p = 0..kc-1) A[i][p]*B[p][j] + beta*C[i][j]
//
// for i < m, j < n, where kc >= 1 and
//
//	A[i][p] = a[p*MR + i]                       (i < MR, p < kc)
//	B[p][j] = b[(j/NR)*panel + p*ldb + j%NR]    (p < kc, j < roundup(n, NR))
//	C[i][j] = c[i*ldc + j]                      (i < m, j < n)
//
// a is one packed micro-panel of A: kc groups of MR values, the MR rows of
// column p together. B comes as ceil(n/NR) panels of NR columns, panel
// elements apart; within a panel, row p starts ldb elements after row p-1.
// Package gemm passes either packed panels (ldb = NR, panel = kc*NR, one
// contiguous kc x NR block per panel) or B in place (ldb = B's row stride,
// panel = NR), so the kernel must honour both strides.
//
// Padding: all MR rows of a and all NR columns of every panel (also the last
// one, and also beyond column n) are readable; the kernel may compute with
// them, but results for rows >= m or columns >= n are discarded, never
// stored. Package gemm zero-pads them. Only C[i][j] with i < m and j < n is
// read or written: the rest of each row of c (up to ldc) belongs to the
// caller and must stay untouched, so partial tiles need masked or
// element-wise stores.
//
// beta == 0 means C is not read at all (NaN or Inf in C do not survive);
// otherwise C is read and scaled by beta (beta == 1 included, C*1 == C).
// Any alpha is allowed (package gemm handles alpha == 0 without calling
// Kernel, the tests do not).
//
// Alignment: none is guaranteed. Packed buffers start on a 64-byte
// boundary (and so do their later panels when MR*kc*4 and kc*NR*4 are
// multiples of 64), but B in place and C can start anywhere, so the kernel
// uses unaligned loads and stores.
//
// # Order of operations
//
// For every (i, j) the kernel keeps one accumulator, starting at zero, and
// adds A[i][p]*B[p][j] for p = 0, 1, ..., kc-1 in that order (a fused
// multiply-add where the ISA has one), then stores alpha*acc (beta == 0) or
// alpha*acc + beta*C[i][j] (again fused where possible). The sequence of
// roundings must be the same for every position of the element in the tile
// and for every m and n: package gemm splits C between threads and the
// result must not depend on where a tile's edges fall.
//
// # Lengths
//
// Kernel panics (a Go bounds check, before any assembly runs) when a, b or
// c is too short for the arguments; it checks nothing else. The assembly
// wrappers call gemmLengths (and copyLengths, transposeLengths,
// prefetchLengths for the helpers) before handing pointers over. Package
// gemm checks the user's arguments.
//
// # Blocks
//
// Package gemm runs the BLIS loops around Kernel: for each block of MC rows
// of A and each depth block of at most KC (kc depends on k and KC only),
// for each block of NC columns of B, it packs that kc x NC block of B into
// NR-column panels (or, for thin depth blocks and small B, passes B in
// place; or, for a few strips and a B too big for L2, has the first strip
// pack the block as it reads it in place, KernelPack, while the others
// prefetch the next block's source, KernelNext), and calls Kernel for each
// MR-row strip of the A block across all NC columns; A is packed strip by
// strip into MR-row micro-panels the first time a strip is used. The A
// micro-panel (MR*kc floats) stays in L1 while B panels stream past it
// from the kc x NC block held in L2, and the MC x kc block of A waits in
// L3 for the next column block. The three blocks come
// from the CPU's cache sizes and associativity, by BLIS's analytical model
// with A and B exchanged (blocking.go), when the set is built.
//
// # Edges
//
// The last strip of a block has m < MR rows and the last panel n%NR
// columns. A kernel does not have to be fast there, but strips of a few
// rows are common (32 or 64 output channels): the AVX-512 and AVX2 kernels
// have loops for 4, 8 and 12 (2, 4 and 6) rows and for one or two vectors,
// which perform, element by element, the same operations as the full tile.
type Gemm struct {
	// MR and NR are the register tile: MR rows of C, each NR columns
	// wide (NR is a whole number of vector registers).
	MR, NR int
	// KC is the depth block, MC the rows of A packed at once and NC the
	// columns of B packed at once, derived from CPU().Caches at start-up.
	KC, MC, NC int

	// Kernel updates an m x n strip of C as described above.
	Kernel func(kc, m, n int, a, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32)

	// KernelRows, when not nil, is Kernel for B in place given by a table
	// of row offsets, each row in runs of width columns that start stride
	// apart:
	//	B[p][j] = b[off[p] + (j/width)*stride + j%width]   (p < kc, j < n)
	// Each run is cut into equal panels of RowsPanel(width) <= NR columns
	// (NR when width is a multiple of it), and the kernel reads every
	// panel NR columns wide (the columns past it are computed and not
	// stored), so b must hold NR floats from the start of every panel, the
	// last one included.
	// Rows may overlap: this is how a stride-1 convolution multiplies by
	// its column matrix without writing it (each row a window of the
	// zero-padded input, a run per output row). It performs Kernel's
	// operations in Kernel's order, so it gives the bits Kernel gives on
	// the same values. Sets without it leave it nil, and package gemm
	// packs such a B instead.
	KernelRows func(kc, m, n int, a, b []float32, off []int, width, stride int, c []float32, ldc int, alpha, beta float32)

	// KernelA, when not nil, is Kernel with A read where it lies instead
	// of from a packed micro-panel: A[i][p] = a[i*lda + p] (i < m, p < kc).
	// m must be a multiple of MR/3 (the heights of the kernel's row
	// variants: each reads exactly its rows). Package gemm uses it for
	// problems too small to pay for packing A. Same operations, same
	// order, same bits as Kernel.
	KernelA func(kc, m, n int, a []float32, lda int, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32)

	// KernelNext, when not nil, is Kernel that meanwhile prefetches into
	// L2 the rows x cols floats at next (row stride ld; rows = 0: none),
	// one cache line per four depth steps, as many as the call lasts
	// for: the source of the next block of B, so that packing it reads
	// L2 instead of memory. Same operations, order and bits as Kernel;
	// the prefetches change nothing but time (they may reach a line past
	// a row's end, and never fault).
	KernelNext func(kc, m, n int, a, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32, next []float32, rows, cols, ld int)

	// KernelPack, when not nil, is Kernel for B where it lies (panels NR
	// columns apart, rows ldb apart: panel = NR, and n a multiple of NR)
	// that also stores the panels it reads to dst, packed as Copy packs
	// them:
	//	dst[q*kc*NR + p*NR + j] = B[p][q*NR + j]   (p < kc, q < n/NR, j < NR)
	// so that the first strip of a column block packs B for the others
	// with a store per row in a loop bound by its multiply-adds. Same
	// operations, order and bits as Kernel.
	KernelPack func(kc, m, n int, a, b []float32, ldb int, dst, c []float32, ldc int, alpha, beta float32)

	// Copy and Transpose fill packed panels of width w (MR for A, NR for
	// B), zero-padding a partial one.
	//
	// Copy deals kc rows of n columns of src out to ceil(n/w) panels (B
	// as stored, or A stored transposed):
	//	dst[q*kc*w + p*w + j] = src[p*ld + q*w + j]   (p < kc, q*w+j < n)
	// and dst[q*kc*w + p*w + j] = 0 for n <= q*w+j < ceil(n/w)*w.
	// Transpose packs rows <= w rows of src into one panel (A as stored,
	// or B stored transposed):
	//	dst[p*w + i] = src[i*ld + p]   (p < kc, i < rows), 0 for rows <= i < w.
	// Both panic when a slice is too short; any w works (the assembly
	// versions special-case MR and NR and fall back to Go otherwise).
	Copy      func(w, kc, n int, dst, src []float32, ld int)
	Transpose func(w, kc, rows int, dst, src []float32, ld int)

	// Prefetch hints that rows x cols floats at src (row stride ld) will
	// be read soon, to be fetched into L2 without waiting. It may do
	// nothing (the generic set cannot prefetch). Package gemm prefetches
	// the source of the next packing while kernels run.
	Prefetch func(src []float32, rows, cols, ld int)

	// Peak runs iters rounds of independent fused multiply-adds on
	// registers, PeakFlops floating-point operations per round: the
	// arithmetic ceiling benchmarks report GEMM against.
	Peak      func(iters int)
	PeakFlops int
}

// gemmLengths panics unless a, b and c are long enough for a Kernel call
// with these arguments; assembly wrappers call it before touching memory.
// No size is multiplied out where it could wrap around int's range.
func (g *Gemm) gemmLengths(kc, m, n int, a, b []float32, ldb, panel int, c []float32, ldc int) {
	g.bcLengths(kc, m, n, b, ldb, panel, c, ldc)
	if kc > len(a)/g.MR {
		panic(fmt.Sprintf("snn/kernels: gemm kernel: len(a) = %d < kc*MR = %s, with kc = %d", len(a), bounds.Product(kc, g.MR), kc))
	}
}

// nextLengths panics unless next holds rows rows of cols floats, ld
// apart (nothing is asked of it when rows is 0).
func nextLengths(next []float32, rows, cols, ld int) {
	if rows == 0 {
		return
	}
	if rows < 0 || cols < 1 || ld < cols || !bounds.Fits(rows, cols, ld, len(next)) {
		panic(fmt.Sprintf("snn/kernels: gemm kernel: prefetch region of %d rows x %d floats, %d apart, does not fit in %d floats",
			rows, cols, ld, len(next)))
	}
}

// packLengths is gemmLengths for KernelPack: B in place, n a multiple
// of NR, and kc*n floats in dst.
func (g *Gemm) packLengths(kc, m, n int, a, b []float32, ldb int, dst, c []float32, ldc int) {
	if n%g.NR != 0 || ldb < n {
		panic(fmt.Sprintf("snn/kernels: gemm pack kernel called with n=%d ldb=%d (n a multiple of NR=%d, ldb >= n)", n, ldb, g.NR))
	}
	g.gemmLengths(kc, m, n, a, b, ldb, g.NR, c, ldc)
	if !bounds.Fits(kc, n, n, len(dst)) {
		panic(fmt.Sprintf("snn/kernels: gemm pack kernel: len(dst) = %d < kc*n = %s", len(dst), bounds.Product(kc, n)))
	}
}

// bcLengths checks a Kernel call's sizes and B's and C's lengths.
func (g *Gemm) bcLengths(kc, m, n int, b []float32, ldb, panel int, c []float32, ldc int) {
	if kc < 1 || m < 1 || m > g.MR || n < 1 || ldb < 0 || panel < 0 || ldc < n {
		panic(fmt.Sprintf("snn/kernels: gemm kernel called with kc=%d m=%d n=%d ldb=%d panel=%d ldc=%d (MR=%d)",
			kc, m, n, ldb, panel, ldc, g.MR))
	}
	panels := (n-1)/g.NR + 1
	if !bounds.Fits2(panels-1, panel, kc-1, ldb, g.NR, len(b)) {
		panic(fmt.Sprintf("snn/kernels: gemm kernel: len(b) = %d < (panels-1)*panel+(kc-1)*ldb+NR = %s, with n = %d, panel = %d, kc = %d, ldb = %d",
			len(b), bounds.Dot(panels-1, panel, kc-1, ldb, g.NR, 1), n, panel, kc, ldb))
	}
	if !bounds.Fits(m, n, ldc, len(c)) {
		panic(fmt.Sprintf("snn/kernels: gemm kernel: len(c) = %d < (m-1)*ldc+n = %s, with m = %d, n = %d, ldc = %d",
			len(c), bounds.Span(m, n, ldc), m, n, ldc))
	}
}

// aLengths is gemmLengths for KernelA: m a multiple of MR/3, and m rows
// of kc floats, lda apart, in a.
func (g *Gemm) aLengths(kc, m, n int, a []float32, lda int, b []float32, ldb, panel int, c []float32, ldc int) {
	if m < 1 || m%(g.MR/3) != 0 || lda < kc {
		panic(fmt.Sprintf("snn/kernels: gemm A kernel called with m=%d lda=%d kc=%d (m a multiple of %d)", m, lda, kc, g.MR/3))
	}
	g.bcLengths(kc, m, n, b, ldb, panel, c, ldc)
	if !bounds.Fits(m, kc, lda, len(a)) {
		panic(fmt.Sprintf("snn/kernels: gemm A kernel: len(a) = %d < (m-1)*lda+kc = %s, with m = %d, kc = %d, lda = %d",
			len(a), bounds.Span(m, kc, lda), m, kc, lda))
	}
}

// rowsLengths is gemmLengths for KernelRows: off must hold kc offsets,
// each the start of roundup(n, NR) floats of b in runs of width, stride
// apart.
func (g *Gemm) rowsLengths(kc, m, n int, a, b []float32, off []int, width, stride int, c []float32, ldc int) {
	g.gemmLengths(kc, m, n, a, b, 0, 0, c, ldc)
	if width < 1 || stride < width {
		panic(fmt.Sprintf("snn/kernels: gemm rows kernel: runs of width %d, stride %d (NR=%d)", width, stride, g.NR))
	}
	if len(off) < kc {
		panic(fmt.Sprintf("snn/kernels: gemm rows kernel: len(off) = %d < kc = %d", len(off), kc))
	}
	// The last panel starts at column j, in run j/width, and is read NR
	// wide: the row spans last+1 floats.
	pw := g.RowsPanel(width)
	j := (n - 1) / pw * pw
	if !bounds.Fits2(j/width, stride, 0, 0, j%width+g.NR, len(b)) {
		panic(fmt.Sprintf("snn/kernels: gemm rows kernel: a row of n = %d floats in runs of width = %d, stride = %d apart spans %s floats, more than len(b) = %d",
			n, width, stride, bounds.Dot(j/width, stride, j%width+g.NR, 1), len(b)))
	}
	last := j/width*stride + j%width + g.NR - 1
	for p, o := range off[:kc] {
		if o < 0 || o > len(b)-1-last {
			panic(fmt.Sprintf("snn/kernels: gemm rows kernel: off[%d] = %d: its last panel, at %s, ends past len(b) = %d", p, o, bounds.Dot(o, 1, last-g.NR+1, 1), len(b)))
		}
	}
}

// rowsArgs returns the assembly's run (panels per run), skip (bytes from
// a run's end to the next one's start) and pw (columns per panel) for runs
// of width, stride apart.
func rowsArgs(g *Gemm, width, stride int) (run, skip, pw int) {
	pw = g.RowsPanel(width)
	return width / pw, 4 * (stride - width), pw
}

// UnpackedA reports whether package gemm has KernelA read A (not
// transposed) where it lies in every product of n columns, whatever its
// size: at most 8 panels, so that each strip of A is used for a few
// panels only, and packing it would be a sizeable part of the work
// (gemm does the same for small products). Callers free to choose which
// operand is A (a weight gradient is W^T's product as well as W's) ask
// it.
func (g *Gemm) UnpackedA(n int) bool { return g.KernelA != nil && n <= 8*g.NR }

// RowsPanel returns the width of the panels KernelRows cuts runs of width
// columns into: width itself up to NR, else its largest divisor of at
// most NR, i.e. the fewest equal panels. A 28-column run is two panels of
// 14 for an NR of 16 (the kernel computes 16 columns of each, 87.5% of
// them used), one of 28 for an NR of 32; a prime width over NR is cut
// into single columns, which callers would rather pack. It looks at NR
// candidates at most, whatever the width.
func (g *Gemm) RowsPanel(width int) int {
	if width <= g.NR {
		return max(width, 1)
	}
	for pw := g.NR; pw > 1; pw-- {
		if width%pw == 0 {
			return pw
		}
	}
	return 1
}

// PeakGFLOPS measures g's FMA peak on the calling goroutine's core now:
// the best of three runs of about 10 ms each. The clock of a shared or
// virtual machine drifts, so benchmarks measure it next to what they
// report against it.
func PeakGFLOPS(g *Gemm) float64 {
	iters := 1 << 8
	for {
		start := time.Now()
		g.Peak(iters)
		if time.Since(start) > 2*time.Millisecond {
			break
		}
		iters *= 2
	}
	iters *= 5
	best := 0.0
	for range 3 {
		start := time.Now()
		g.Peak(iters)
		best = max(best, float64(iters)*float64(g.PeakFlops)/time.Since(start).Seconds()/1e9)
	}
	return best
}

// copyLengths panics unless dst and src are long enough for Copy.
func copyLengths(w, kc, n int, dst, src []float32, ld int) {
	if w < 1 || kc < 0 || n < 0 || ld < n {
		panic(fmt.Sprintf("snn/kernels: gemm Copy called with w=%d kc=%d n=%d ld=%d", w, kc, n, ld))
	}
	if kc == 0 || n == 0 {
		return
	}
	panels := (n-1)/w + 1
	if pw, ok := bounds.Mul(panels, w); !ok || kc > len(dst)/pw {
		panic(fmt.Sprintf("snn/kernels: gemm Copy: len(dst) = %d < ceil(n/w)*w*kc = %s, with n = %d, w = %d, kc = %d",
			len(dst), bounds.Product(panels, w, kc), n, w, kc))
	}
	if !bounds.Fits(kc, n, ld, len(src)) {
		panic(fmt.Sprintf("snn/kernels: gemm Copy: len(src) = %d < (kc-1)*ld+n = %s, with kc = %d, n = %d, ld = %d",
			len(src), bounds.Span(kc, n, ld), kc, n, ld))
	}
}

// transposeLengths panics unless dst and src are long enough for
// Transpose.
func transposeLengths(w, kc, rows int, dst, src []float32, ld int) {
	if w < 1 || kc < 0 || rows < 0 || rows > w || (rows > 1 && ld < kc) {
		panic(fmt.Sprintf("snn/kernels: gemm Transpose called with w=%d kc=%d rows=%d ld=%d", w, kc, rows, ld))
	}
	if kc == 0 {
		return
	}
	if kc > len(dst)/w {
		panic(fmt.Sprintf("snn/kernels: gemm Transpose: len(dst) = %d < kc*w = %s, with kc = %d", len(dst), bounds.Product(kc, w), kc))
	}
	if !bounds.Fits(rows, kc, ld, len(src)) {
		panic(fmt.Sprintf("snn/kernels: gemm Transpose: len(src) = %d < (rows-1)*ld+kc = %s, with rows = %d, kc = %d, ld = %d",
			len(src), bounds.Span(rows, kc, ld), rows, kc, ld))
	}
}

// prefetchLengths panics unless src holds the region Prefetch is given.
func prefetchLengths(src []float32, rows, cols, ld int) {
	if rows < 0 || cols < 0 || (rows > 1 && ld < cols) {
		panic(fmt.Sprintf("snn/kernels: gemm Prefetch called with rows=%d cols=%d ld=%d", rows, cols, ld))
	}
	if !bounds.Fits(rows, cols, ld, len(src)) {
		panic(fmt.Sprintf("snn/kernels: gemm Prefetch: len(src) = %d < (rows-1)*ld+cols = %s, with rows = %d, cols = %d, ld = %d",
			len(src), bounds.Span(rows, cols, ld), rows, cols, ld))
	}
}
