package kernels

import (
	"math"
	"sync/atomic"
)

// The generic GEMM kernel: a 4 x 4 tile of scalar accumulators, which the
// Go compiler keeps in registers on amd64 (16 X registers) and arm64 (32 V
// registers). It is the twin the assembly kernels are tested against, and
// what arm64 runs until a NEON kernel exists. Its cache blocks come from
// the CPU's caches as every set's do.
var genericGemm = Gemm{
	MR: 4, NR: 4,
	Peak:      gemmPeakGeneric,
	PeakFlops: 2 * 12,
}

func gemmGeneric() Gemm {
	g := genericGemm
	g.setBlocks(CPU().Caches)
	g.Kernel = gemmKernelGeneric
	g.Copy = copyPanelsGeneric
	g.Transpose = transposePanelGeneric
	g.Prefetch = prefetchLengths // Go has no prefetch: check and return
	return g
}

func gemmKernelGeneric(kc, m, n int, a, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32) {
	genericGemm.gemmLengths(kc, m, n, a, b, ldb, panel, c, ldc)
	a = a[:kc*4]
	for j0 := 0; j0 < n; j0 += 4 {
		bp := b[(j0/4)*panel:]
		var c00, c01, c02, c03 float32
		var c10, c11, c12, c13 float32
		var c20, c21, c22, c23 float32
		var c30, c31, c32, c33 float32
		for p := 0; p < kc; p++ {
			ap := a[p*4 : p*4+4 : p*4+4]
			bq := bp[p*ldb : p*ldb+4 : p*ldb+4]
			a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
			b0, b1, b2, b3 := bq[0], bq[1], bq[2], bq[3]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
		tile := [16]float32{
			c00, c01, c02, c03,
			c10, c11, c12, c13,
			c20, c21, c22, c23,
			c30, c31, c32, c33,
		}
		w := min(4, n-j0)
		for i := 0; i < m; i++ {
			row := c[i*ldc+j0 : i*ldc+j0+w]
			acc := tile[i*4 : i*4+w]
			if beta == 0 {
				for j, v := range acc {
					row[j] = alpha * v
				}
			} else {
				for j, v := range acc {
					row[j] = alpha*v + beta*row[j]
				}
			}
		}
	}
}

// peakSink keeps the generic peak loop from being optimized away.
var peakSink atomic.Uint32

// gemmPeakGeneric runs twelve independent multiply-add chains: enough to
// cover the latency of scalar multiply and add on both amd64 and arm64
// while staying in registers.
func gemmPeakGeneric(iters int) {
	m, d := float32(0.999), float32(1e-3)
	s0, s1, s2, s3, s4, s5 := float32(0), float32(1), float32(2), float32(3), float32(4), float32(5)
	s6, s7, s8, s9, s10, s11 := float32(6), float32(7), float32(8), float32(9), float32(10), float32(11)
	for ; iters > 0; iters-- {
		s0, s1, s2, s3, s4, s5 = s0*m+d, s1*m+d, s2*m+d, s3*m+d, s4*m+d, s5*m+d
		s6, s7, s8, s9, s10, s11 = s6*m+d, s7*m+d, s8*m+d, s9*m+d, s10*m+d, s11*m+d
	}
	peakSink.Store(math.Float32bits(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7 + s8 + s9 + s10 + s11))
}

func copyPanelsGeneric(w, kc, n int, dst, src []float32, ld int) {
	copyLengths(w, kc, n, dst, src, ld)
	if n == 0 {
		return
	}
	full := n / w * w
	for p := 0; p < kc; p++ {
		row := src[p*ld : p*ld+n]
		d := dst[p*w:]
		for j := 0; j < full; j += w {
			copy(d[j*kc:j*kc+w], row[j:j+w])
		}
		if full < n {
			dp := d[full*kc : full*kc+w]
			copy(dp, row[full:])
			clear(dp[n-full:])
		}
	}
}

func transposePanelGeneric(w, kc, rows int, dst, src []float32, ld int) {
	transposeLengths(w, kc, rows, dst, src, ld)
	if kc == 0 {
		return
	}
	dst = dst[:kc*w]
	for i := 0; i < rows; i++ {
		row := src[i*ld : i*ld+kc]
		for p, v := range row {
			dst[p*w+i] = v
		}
	}
	if rows < w {
		for p := 0; p < kc; p++ {
			clear(dst[p*w+rows : p*w+w])
		}
	}
}
