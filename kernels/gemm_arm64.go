//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

// The NEON micro-kernel keeps an 8x12 tile of C in 24 of the 32 vector
// registers (gen/neon/gemm); its cache blocks come from the CPU's caches
// when the set is built (see blocking). On arm64 they are read from sysfs,
// for cpu0: on a big.LITTLE part that may be a little core's.
var neonGemm = Gemm{
	MR: 8, NR: 12,
	Peak:      asm.GemmPeakNEON,
	PeakFlops: 24 * 4 * 2,
}

func gemmNEON() Gemm {
	g := neonGemm
	g.setBlocks(CPU().Caches)
	g.Kernel = gemmKernelNEON
	g.Copy = copyNEON
	g.Transpose = transposeNEON
	g.Prefetch = prefetchNEON
	return g
}

// gemmKernelNEON runs the assembly on whole tiles in place. A tile cut by
// m < MR or by the last columns is computed whole into a scratch tile on
// the stack (its C part copied in first when beta != 0) and only its valid
// part is copied out: the assembly never touches C outside the strip, and
// every element goes through the same roundings wherever its tile falls.
func gemmKernelNEON(kc, m, n int, a, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32) {
	const mr, nr = 8, 12
	neonGemm.gemmLengths(kc, m, n, a, b, ldb, panel, c, ldc)
	full := 0
	if m == mr {
		full = n / nr
		if full > 0 {
			asm.GemmNEON(kc, full, a, b, ldb, panel, c, ldc, alpha, beta)
		}
	}
	var tile [mr * nr]float32
	for p := full; p*nr < n; p++ {
		j0 := p * nr
		w := min(nr, n-j0)
		if beta != 0 {
			for i := 0; i < m; i++ {
				copy(tile[i*nr:i*nr+w], c[i*ldc+j0:i*ldc+j0+w])
			}
		}
		asm.GemmNEON(kc, 1, a, b[p*panel:], ldb, panel, tile[:], nr, alpha, beta)
		for i := 0; i < m; i++ {
			copy(c[i*ldc+j0:i*ldc+j0+w], tile[i*nr:i*nr+w])
		}
	}
}

// copyNEON packs whole panels of width 8 or 12 in assembly and the partial
// last one (and any other width) in Go.
func copyNEON(w, kc, n int, dst, src []float32, ld int) {
	copyLengths(w, kc, n, dst, src, ld)
	if kc == 0 || n == 0 {
		return
	}
	var c func(kc, panels int, dst, src *float32, ld int)
	switch w {
	case 8:
		c = asm.GemmCopy8NEON
	case 12:
		c = asm.GemmCopy12NEON
	default:
		copyPanelsGeneric(w, kc, n, dst, src, ld)
		return
	}
	full := n / w
	if full > 0 {
		c(kc, full, &dst[0], &src[0], ld)
	}
	if full*w < n {
		copyPanelsGeneric(w, kc, n-full*w, dst[full*w*kc:], src[full*w:], ld)
	}
}

// transposeNEON packs a whole panel of width 8 or 12 in assembly, four
// columns at a time, and the last kc%4 columns, partial panels and other
// widths in Go.
func transposeNEON(w, kc, rows int, dst, src []float32, ld int) {
	transposeLengths(w, kc, rows, dst, src, ld)
	if kc == 0 {
		return
	}
	var t func(kc4 int, dst, src *float32, ld int)
	switch {
	case rows == w && w == 8:
		t = asm.GemmTranspose8NEON
	case rows == w && w == 12:
		t = asm.GemmTranspose12NEON
	default:
		transposePanelGeneric(w, kc, rows, dst, src, ld)
		return
	}
	kc4 := kc &^ 3
	if kc4 > 0 {
		t(kc4, &dst[0], &src[0], ld)
	}
	for p := kc4; p < kc; p++ {
		for i := 0; i < w; i++ {
			dst[p*w+i] = src[i*ld+p]
		}
	}
}

func prefetchNEON(src []float32, rows, cols, ld int) {
	prefetchLengths(src, rows, cols, ld)
	if rows > 0 && cols > 0 {
		asm.GemmPrefetchNEON(&src[0], rows, cols, ld)
	}
}
