package gemm

// Packing copies blocks of A and B into the order the micro-kernel reads
// them (see kernels.Gemm): transposes are resolved here, and partial
// micro-panels are zero-padded so the kernel always works on whole tiles.
// Whole panels go through the kernel set's Copy and Transpose; the partial
// last panel of a block is packed here.

// packA packs rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into
// ceil(mc/MR) micro-panels of MR*kc floats: element (i, p) of panel q at
// dst[q*MR*kc + p*MR + i].
func (q *call) packA(dst []float32, i0, mc, p0, kc int) {
	g, mr, lda := q.g, q.g.MR, q.lda
	full := mc / mr
	if q.transA {
		// A is stored k x m: row p of the storage holds column p of A.
		if full > 0 {
			g.Copy(mr, kc, full, dst, q.a[p0*lda+i0:], lda)
		}
	} else {
		for f := 0; f < full; f++ {
			g.Transpose(mr, kc, dst[f*mr*kc:(f+1)*mr*kc], q.a[(i0+f*mr)*lda+p0:], lda)
		}
	}
	if rows := mc - full*mr; rows > 0 {
		packPartial(dst[full*mr*kc:(full+1)*mr*kc], q.transA, q.a, lda, i0+full*mr, rows, p0, kc, mr)
	}
}

// packB packs rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into
// ceil(nc/NR) panels of kc*NR floats: element (p, j) of panel q at
// dst[q*NR*kc + p*NR + j].
func (q *call) packB(dst []float32, p0, kc, j0, nc int) {
	g, nr, ldb := q.g, q.g.NR, q.ldb
	full := nc / nr
	if !q.transB {
		if full > 0 {
			g.Copy(nr, kc, full, dst, q.b[p0*ldb+j0:], ldb)
		}
	} else {
		// B is stored n x k: row j of the storage holds column j of B.
		for f := 0; f < full; f++ {
			g.Transpose(nr, kc, dst[f*nr*kc:(f+1)*nr*kc], q.b[(j0+f*nr)*ldb+p0:], ldb)
		}
	}
	if cols := nc - full*nr; cols > 0 {
		packPartial(dst[full*nr*kc:(full+1)*nr*kc], !q.transB, q.b, ldb, j0+full*nr, cols, p0, kc, nr)
	}
}

// packPartial packs one panel of width w from n < w lines and zero-pads
// the rest: d[p*w + i] = s[(r0+i)*ld + p0+p] for i < n, p < kc, or, with
// byCols, d[p*w + i] = s[(p0+p)*ld + r0+i] (the lines are columns of s).
func packPartial(d []float32, byCols bool, s []float32, ld, r0, n, p0, kc, w int) {
	if byCols {
		// Line i of the panel is column r0+i of s: row p0+p holds the
		// n values of depth p side by side.
		for p := 0; p < kc; p++ {
			dp := d[p*w : p*w+w]
			copy(dp, s[(p0+p)*ld+r0:(p0+p)*ld+r0+n])
			clear(dp[n:])
		}
		return
	}
	// Line i of the panel is row r0+i of s.
	for i := 0; i < n; i++ {
		src := s[(r0+i)*ld+p0 : (r0+i)*ld+p0+kc]
		for p, v := range src {
			d[p*w+i] = v
		}
	}
	for p := 0; p < kc; p++ {
		clear(d[p*w+n : p*w+w])
	}
}
