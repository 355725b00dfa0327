package gemm

// Packing copies blocks of A and B into the order the micro-kernel reads
// them (see kernels.Gemm): transposes are resolved here, and partial
// micro-panels are zero-padded so the kernel always works on whole tiles.

// packA packs rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into
// ceil(mc/mr) micro-panels of mr*kc floats: element (i, p) of panel q at
// dst[q*mr*kc + p*mr + i].
func packA(dst []float32, transA bool, a []float32, lda, i0, mc, p0, kc, mr int) {
	for q := 0; q*mr < mc; q++ {
		rows := min(mr, mc-q*mr)
		d := dst[q*mr*kc : (q+1)*mr*kc]
		r0 := i0 + q*mr
		if !transA {
			// Row i of A is contiguous: read it once, scatter with stride mr.
			for i := 0; i < rows; i++ {
				src := a[(r0+i)*lda+p0 : (r0+i)*lda+p0+kc]
				for p, v := range src {
					d[p*mr+i] = v
				}
			}
			for i := rows; i < mr; i++ {
				for p := 0; p < kc; p++ {
					d[p*mr+i] = 0
				}
			}
			continue
		}
		// A is stored k x m: the mr values of column p are contiguous.
		for p := 0; p < kc; p++ {
			src := a[(p0+p)*lda+r0 : (p0+p)*lda+r0+rows]
			dp := d[p*mr : p*mr+mr]
			copy(dp, src)
			clear(dp[rows:])
		}
	}
}

// packB packs rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into
// ceil(nc/nr) panels of kc*nr floats: element (p, j) of panel q at
// dst[q*nr*kc + p*nr + j].
func packB(dst []float32, transB bool, b []float32, ldb, p0, kc, j0, nc, nr int) {
	for q := 0; q*nr < nc; q++ {
		cols := min(nr, nc-q*nr)
		d := dst[q*nr*kc : (q+1)*nr*kc]
		c0 := j0 + q*nr
		if !transB {
			for p := 0; p < kc; p++ {
				dp := d[p*nr : p*nr+nr]
				copy(dp, b[(p0+p)*ldb+c0:(p0+p)*ldb+c0+cols])
				clear(dp[cols:])
			}
			continue
		}
		// B is stored n x k: column j of op(B) is row j of b.
		for j := 0; j < cols; j++ {
			src := b[(c0+j)*ldb+p0 : (c0+j)*ldb+p0+kc]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kc; p++ {
				d[p*nr+j] = 0
			}
		}
	}
}
