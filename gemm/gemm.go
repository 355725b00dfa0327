// Package gemm is snn's float32 matrix multiplication: row-major
// C = alpha*op(A)*op(B) + beta*C with BLAS semantics.
//
// It follows Goto and BLIS: blocks of A and B are packed into the order
// the register-blocked micro-kernel of kernels.Active() reads them
// (AVX-512 12x32, AVX2 6x16, or the pure-Go 4x4 twin), sized for this
// CPU's L1, L2 and L3 caches (see package kernels), and the kernel runs over
// them. Large calls are split between a persistent pool of goroutines;
// small ones stay on the calling goroutine. The result is bit-for-bit the
// same whatever the number of threads, and repeated calls allocate nothing
// once their buffers exist. It may depend on the cache sizes: the depth
// block, derived from the L1 cache, decides where the sums over k are split
// and so how they round, and CPUs with other caches may give results that
// differ in the last bits.
// Package gemm/gonumblas plugs it into gonum.
package gemm

import (
	"fmt"

	"github.com/snnkit/snn/internal/bounds"
	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/par"
)

// Options controls one call; the zero value means the defaults.
type Options struct {
	// Threads caps the goroutines this call uses; 0 means par.Threads(),
	// the one knob of every parallel call in snn.
	// Callers that already run one GEMM per goroutine (batch-parallel
	// convolution) pass 1.
	Threads int
	// Kernels is the kernel set to run; nil means kernels.Active().
	// Tests and benchmarks use it to compare instruction sets.
	Kernels *kernels.Set
	// InPlaceB, when B is not transposed, has the micro-kernel read B
	// where it lies instead of from a packed copy, whatever its size (by
	// default only thin depth blocks and small B are read in place). It
	// pays when B was just written and is still in L2, as the column
	// matrix of a convolution is, and its row stride is not a multiple of
	// 1 KiB (rows that far apart share few L1 sets). It is ignored when B
	// is transposed. The result is the same bit for bit either way.
	InPlaceB bool
	// Workspace, if not nil, holds the packing buffers of the calling
	// goroutine's part of the call (see Workspace).
	Workspace *Workspace
}

// A Workspace holds packing buffers for the GEMM calls one goroutine makes
// one after another. Without one a call takes buffers from a list shared
// by every goroutine, the last returned first: with two goroutines calling
// in turn, each call packs into buffers the other core has just written,
// whose cache lines must first come over from it. A goroutine that keeps
// its own Workspace packs into lines its core already holds. The zero
// value is ready; buffers grow to the largest call and are kept. A
// Workspace must not be used by two calls at once.
type Workspace struct{ ws workspace }

// resolve returns the kernel set and thread count a call with o uses.
func (o Options) resolve() (*kernels.Set, int) {
	ks, t := o.Kernels, o.Threads
	if ks == nil {
		ks = kernels.Active()
	}
	if t <= 0 {
		t = par.Threads()
	}
	return ks, t
}

// workspace returns the caller's packing buffers, or nil for the shared
// list's.
func (o Options) workspace() *workspace {
	if o.Workspace == nil {
		return nil
	}
	return &o.Workspace.ws
}

// Sgemm is the package-level Sgemm with these options.
func (o Options) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	check("Sgemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	ks, t := o.resolve()
	sgemm(ks, t, o.workspace(), o.InPlaceB, transA, transB, m, n, k, alpha, a, lda, b, ldb, rowsB{}, beta, c, ldc)
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// where op(A) is m x k and op(B) is k x n. With transA false A is m x k with
// row stride lda; with transA true A is stored as k x m (its transpose).
// Likewise B is k x n (ldb), or n x k when transB.
//
// As in BLAS, beta == 0 overwrites C without reading it (NaN in C does not
// survive), and alpha == 0 or k == 0 only scales C by beta. Elements of C
// beyond column n of each row are never touched.
//
// Bad arguments (negative sizes, a leading dimension smaller than a row,
// a slice too short for its matrix) panic with a message naming the
// argument before any element is read or written. This holds for every
// int value: sizes and strides are compared with the slices' lengths by
// division, so no product of them wraps around int's range.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	Options{}.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmRows computes C = alpha*A*B + beta*C where A is m x k (row stride
// lda), C is m x n (row stride ldc) and B is k x n with its rows anywhere
// in b, each in runs of width floats, stride apart:
//
//	B[p][j] = b[boff[p] + (j/width)*stride + j%width]
//
// (width >= n: row p is simply b[boff[p] : boff[p]+n]). The rows may
// overlap, repeat or go backwards. This is how a stride-1 convolution
// multiplies its filters by its column matrix without writing it (an
// implicit im2col): row (c, i, j) of the matrix for output rows
// oh0.. is the zero-padded input from channel c, row oh0+i, column j on,
// in runs of the output's width, the padded width apart.
//
// The result is bit for bit what Sgemm(false, false, ...) gives with the
// rows copied into a k x n matrix, for every thread count. Kernel sets
// with KernelRows read B where it lies when width >= n or their
// RowsPanel(width) is at least 3/4 of NR (width a multiple of NR; 28 as
// two panels of 14 for NR 16, or one of 28 for NR 32); otherwise B is
// packed. InPlaceB does not apply.
// Bad arguments panic as in Sgemm; boff must hold k offsets, each the
// start of a row inside b.
func (o Options) SgemmRows(m, n, k int, alpha float32, a []float32, lda int,
	b []float32, boff []int, width, stride int, beta float32, c []float32, ldc int) {
	const fn = "SgemmRows"
	checkSizes(fn, m, n, k)
	checkMatrix(fn, "a", "lda", a, dim{"m", m}, dim{"k", k}, lda)
	checkMatrix(fn, "c", "ldc", c, dim{"m", m}, dim{"n", n}, ldc)
	if len(boff) < k {
		panic(fmt.Sprintf("gemm: SgemmRows: len(boff) = %d < k = %d", len(boff), k))
	}
	if width < 1 || (width < n && stride < width) {
		panic(fmt.Sprintf("gemm: SgemmRows: runs of width = %d, stride = %d: want width >= 1 and stride >= width", width, stride))
	}
	if width >= n {
		width, stride = max(n, 1), 0
	}
	maxOff := 0
	if n > 0 && k > 0 {
		// The last float of a row, relative to its start, unless that is
		// beyond int's range, where no offset puts the row inside b.
		runs, rest := (n-1)/width, (n-1)%width
		if runs > 0 && stride > (len(b)-1-rest)/runs {
			panic(fmt.Sprintf("gemm: SgemmRows: a row of n = %d floats in runs of width = %d, stride = %d apart spans %s floats, more than len(b) = %d",
				n, width, stride, bounds.Span(runs+1, rest+1, stride), len(b)))
		}
		last := runs*stride + rest
		for p, off := range boff[:k] {
			if off < 0 || off > len(b)-1-last {
				panic(fmt.Sprintf("gemm: SgemmRows: boff[%d] = %d: row %d (n = %d floats in runs of width = %d, stride = %d apart) is not inside b (len %d)",
					p, off, p, n, width, stride, len(b)))
			}
			maxOff = max(maxOff, off)
		}
	}
	ks, t := o.resolve()
	sgemm(ks, t, o.workspace(), false, false, false, m, n, k, alpha, a, lda, b, 0, rowsB{off: boff[:k], width: width, stride: stride, maxOff: maxOff}, beta, c, ldc)
}

func check(fn string, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkSizes(fn, m, n, k)
	ar, ac := dim{"m", m}, dim{"k", k}
	if transA {
		ar, ac = ac, ar
	}
	br, bc := dim{"k", k}, dim{"n", n}
	if transB {
		br, bc = bc, br
	}
	checkMatrix(fn, "a", "lda", a, ar, ac, lda)
	checkMatrix(fn, "b", "ldb", b, br, bc, ldb)
	checkMatrix(fn, "c", "ldc", c, dim{"m", m}, dim{"n", n}, ldc)
}

func checkSizes(fn string, m, n, k int) {
	for _, d := range []dim{{"m", m}, {"n", n}, {"k", k}} {
		if d.v < 0 {
			panic(fmt.Sprintf("gemm: %s: %s = %d < 0", fn, d.name, d.v))
		}
	}
}

// dim is a size argument, named for messages.
type dim struct {
	name string
	v    int
}

// checkMatrix checks that s holds an r x c row-major matrix with stride
// ld, without computing (r-1)*ld + c: a huge r or ld would wrap it around
// and pass a short slice.
func checkMatrix(fn, name, ldName string, s []float32, r, c dim, ld int) {
	if ld < max(1, c.v) {
		panic(fmt.Sprintf("gemm: %s: %s = %d < max(1, %s = %d)", fn, ldName, ld, c.name, c.v))
	}
	if !bounds.Fits(r.v, c.v, ld, len(s)) {
		panic(fmt.Sprintf("gemm: %s: len(%s) = %d < (%s-1)*%s+%s = %s, with %s = %d, %s = %d, %s = %d",
			fn, name, len(s), r.name, ldName, c.name, bounds.Span(r.v, c.v, ld), r.name, r.v, c.name, c.v, ldName, ld))
	}
}
