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
}

func sgemm(ks *kernels.Set, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scale(c, m, n, ldc, beta)
		return
	}
	q := call{
		g: &ks.Gemm, transA: transA, transB: transB,
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
	}
	q.kc = balanced(k, q.g.KC, 4)
	threads = min(threads, max(1, int(2*float64(m)*float64(n)*float64(k)/minFlopsPerThread)))
	if threads > 1 {
		parallel(&q, threads)
		return
	}
	q.block(0, m, 0, n)
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
	blocks := (n + limit - 1) / limit
	return min(roundUp((n+blocks-1)/blocks, unit), roundUp(limit, unit))
}

// run computes rows [r0, r1) and columns [c0, c1) of C: the BLIS loops
// around the micro-kernel (see kernels.Gemm).
func (q *call) run(ws *workspace, r0, r1, c0, c1 int) {
	g := q.g
	mr, nr := g.MR, g.NR
	mcb := balanced(r1-r0, g.MC, mr)
	ncb := balanced(c1-c0, g.NC, nr)
	for i0 := r0; i0 < r1; i0 += mcb {
		mc := min(mcb, r1-i0)
		for p0 := 0; p0 < q.k; p0 += q.kc {
			kc := min(q.kc, q.k-p0)
			beta := q.beta
			if p0 > 0 {
				beta = 1
			}
			ws.a = grow(ws.a, roundUp(mc, mr)*kc)
			q.packA(ws.a, i0, mc, p0, kc)
			for j0 := c0; j0 < c1; j0 += ncb {
				nc := min(ncb, c1-j0)
				if q.inPlaceB(kc) {
					q.inPlace(ws, i0, mc, p0, kc, j0, nc, beta)
					continue
				}
				ws.b = grow(ws.b, roundUp(nc, nr)*kc)
				q.packB(ws.b, p0, kc, j0, nc)
				q.strips(ws.a, i0, mc, kc, ws.b, nr, kc*nr, j0, nc, beta)
			}
		}
	}
}

// inPlaceB reports whether the kernel reads B where it lies instead of a
// packed copy: only when B is not transposed (its rows are what the kernel
// loads) and the depth block is so thin that packing would cost about as
// much as the multiplication.
func (q *call) inPlaceB(kc int) bool {
	if q.transB {
		return false
	}
	if kc <= 16 {
		return true
	}
	if kc*q.ldb*4 > inPlaceSpan {
		return false
	}
	// Rows ldb*4 bytes apart fall into 4096/gcd(ldb*4, 4096) different
	// L1 sets; too few, and the B rows prefetched ahead evict each other.
	g := 4096
	for x := q.ldb * 4 % 4096; x != 0; g, x = x, g%x {
	}
	return g <= inPlaceAlias
}

// inPlaceSpan is the most bytes a depth block of B in place may spread
// over (kc rows of ldb floats), inPlaceAlias the largest power of two its
// row stride in bytes may be a multiple of.
var inPlaceSpan, inPlaceAlias = 0, 512

// inPlace runs the strips on whole NR-column panels of B in place, and on
// the remaining columns packed (zero-padded) into ws.edge.
func (q *call) inPlace(ws *workspace, i0, mc, p0, kc, j0, nc int, beta float32) {
	nr := q.g.NR
	full := nc / nr * nr
	if full > 0 {
		q.strips(ws.a, i0, mc, kc, q.b[p0*q.ldb+j0:], q.ldb, nr, j0, full, beta)
	}
	if full < nc {
		ws.edge = grow(ws.edge, kc*nr)
		q.g.Copy(nr, kc, nc-full, ws.edge, q.b[p0*q.ldb+j0+full:], q.ldb)
		q.strips(ws.a, i0, mc, kc, ws.edge, nr, kc*nr, j0+full, nc-full, beta)
	}
}

// strips calls the kernel for each MR-row strip of the packed A block
// (rows [i0, i0+mc)) against nc columns of B starting at column j0.
func (q *call) strips(pa []float32, i0, mc, kc int, b []float32, ldb, panel, j0, nc int, beta float32) {
	g := q.g
	mr := g.MR
	for s := 0; s < mc; s += mr {
		c := q.c[(i0+s)*q.ldc+j0:]
		g.Kernel(kc, min(mr, mc-s), nc, pa[s*kc:(s+mr)*kc], b, ldb, panel, c, q.ldc, q.alpha, beta)
	}
}
