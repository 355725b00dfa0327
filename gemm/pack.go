package gemm

// Packing copies blocks of A and B into the order the micro-kernel reads
// them (see kernels.Gemm) with the kernel set's Copy and Transpose:
// transposes are resolved here, and partial micro-panels are zero-padded
// so the kernel always works on whole tiles.

// packA packs rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into
// ceil(mc/MR) micro-panels of MR*kc floats: element (i, p) of panel q at
// dst[q*MR*kc + p*MR + i].
func (q *call) packA(dst []float32, i0, mc, p0, kc int) {
	g, mr, lda := q.g, q.g.MR, q.lda
	if q.transA {
		// A is stored k x m: row p of the storage holds column p of A.
		g.Copy(mr, kc, mc, dst, q.a[p0*lda+i0:], lda)
		return
	}
	for r := 0; r < mc; r += mr {
		g.Transpose(mr, kc, min(mr, mc-r), dst[r*kc:(r+mr)*kc], q.a[(i0+r)*lda+p0:], lda)
	}
}

// packB packs rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into
// ceil(nc/NR) panels of kc*NR floats: element (p, j) of panel q at
// dst[q*NR*kc + p*NR + j].
func (q *call) packB(dst []float32, p0, kc, j0, nc int) {
	g, nr, ldb := q.g, q.g.NR, q.ldb
	if !q.transB {
		g.Copy(nr, kc, nc, dst, q.b[p0*ldb+j0:], ldb)
		return
	}
	// B is stored n x k: row j of the storage holds column j of B.
	for c := 0; c < nc; c += nr {
		g.Transpose(nr, kc, min(nr, nc-c), dst[c*kc:(c+nr)*kc], q.b[(j0+c)*ldb+p0:], ldb)
	}
}
