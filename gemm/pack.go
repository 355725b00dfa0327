package gemm

// Packing copies blocks of A and B into the order the micro-kernel reads
// them (see kernels.Gemm) with the kernel set's Copy and Transpose:
// transposes are resolved here, and partial micro-panels are zero-padded
// so the kernel always works on whole tiles.

// packStrip packs rows [i0, i0+rows) (rows <= MR) and columns [p0, p0+kc)
// of op(A) into one micro-panel of MR*kc floats: element (i, p) at
// dst[p*MR + i], zero for rows <= i < MR.
func (q *call) packStrip(dst []float32, i0, rows, p0, kc int) {
	g, mr, lda := q.g, q.g.MR, q.lda
	if q.transA {
		// A is stored k x m: row p of the storage holds column p of A.
		g.Copy(mr, kc, rows, dst, q.a[p0*lda+i0:], lda)
		return
	}
	g.Transpose(mr, kc, rows, dst, q.a[i0*lda+p0:], lda)
}

// packB packs rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into
// ceil(nc/NR) panels of kc*NR floats: element (p, j) of panel q at
// dst[q*NR*kc + p*NR + j].
func (q *call) packB(dst []float32, p0, kc, j0, nc int) {
	g, nr, ldb := q.g, q.g.NR, q.ldb
	if r := &q.rows; r.off != nil {
		// Rows at offsets (SgemmRows, for kernel sets without
		// KernelRows, and the panels those with it cannot read in
		// place), copied a run at a time.
		for p := p0; p < p0+kc; p++ {
			for c := 0; c < nc; c += nr {
				d := dst[c*kc+(p-p0)*nr : c*kc+(p-p0+1)*nr]
				w := min(nr, nc-c)
				for i := 0; i < w; {
					j := j0 + c + i
					run := min(w-i, r.width-j%r.width)
					at := r.at(p, j)
					copy(d[i:i+run], q.b[at:at+run])
					i += run
				}
				clear(d[w:])
			}
		}
		return
	}
	if !q.transB {
		g.Copy(nr, kc, nc, dst, q.b[p0*ldb+j0:], ldb)
		return
	}
	// B is stored n x k: row j of the storage holds column j of B.
	for c := 0; c < nc; c += nr {
		g.Transpose(nr, kc, min(nr, nc-c), dst[c*kc:(c+nr)*kc], q.b[(j0+c)*ldb+p0:], ldb)
	}
}
