//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

// The blocks keep one A micro-panel (MR x KC) in the 48 KiB L1d and the
// packed KC x NC block of B in about half of the 2 MiB L2.
var (
	avx512Gemm = Gemm{
		MR: 12, NR: 32,
		KC: 384, MC: 1536, NC: 960,
		Peak:      asm.GemmPeakAVX512,
		PeakFlops: 24 * 16 * 2,
	}
	avx2Gemm = Gemm{
		MR: 6, NR: 16,
		KC: 384, MC: 1536, NC: 960,
		Peak:      asm.GemmPeakAVX2,
		PeakFlops: 12 * 8 * 2,
	}
)

func gemmAVX512() Gemm {
	g := avx512Gemm
	g.Kernel = func(kc, m, n int, a, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32) {
		avx512Gemm.gemmLengths(kc, m, n, a, b, ldb, panel, c, ldc)
		asm.GemmKernelAVX512(kc, m, n, &a[0], &b[0], ldb, panel, &c[0], ldc, alpha, beta)
	}
	g.Copy = copier(12, 32, asm.GemmCopy12AVX512, asm.GemmCopy32AVX512)
	g.Transpose = transposer(12, 32, asm.GemmTranspose12AVX512, asm.GemmTranspose32AVX512)
	return g
}

func gemmAVX2() Gemm {
	g := avx2Gemm
	g.Kernel = func(kc, m, n int, a, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32) {
		avx2Gemm.gemmLengths(kc, m, n, a, b, ldb, panel, c, ldc)
		asm.GemmKernelAVX2(kc, m, n, &a[0], &b[0], ldb, panel, &c[0], ldc, alpha, beta)
	}
	g.Copy = copier(6, 16, asm.GemmCopy6AVX2, asm.GemmCopy16AVX2)
	g.Transpose = transposer(6, 16, asm.GemmTranspose6AVX2, asm.GemmTranspose16AVX2)
	return g
}

type asmCopy = func(kc, panels int, dst, src *float32, ld int)
type asmTranspose = func(kc int, dst, src *float32, ld int)

// copier returns a Copy running the assembly for widths mr and nr and the
// Go loop for any other.
func copier(mr, nr int, cmr, cnr asmCopy) func(w, kc, panels int, dst, src []float32, ld int) {
	return func(w, kc, panels int, dst, src []float32, ld int) {
		copyLengths(w, kc, panels, dst, src, ld)
		if kc == 0 || panels == 0 {
			return
		}
		switch w {
		case mr:
			cmr(kc, panels, &dst[0], &src[0], ld)
		case nr:
			cnr(kc, panels, &dst[0], &src[0], ld)
		default:
			copyPanelsGeneric(w, kc, panels, dst, src, ld)
		}
	}
}

// transposer returns a Transpose running the assembly for widths mr and
// nr, and the Go loop otherwise.
func transposer(mr, nr int, tmr, tnr asmTranspose) func(w, kc int, dst, src []float32, ld int) {
	return func(w, kc int, dst, src []float32, ld int) {
		transposeLengths(w, kc, dst, src, ld)
		if kc == 0 {
			return
		}
		switch w {
		case mr:
			tmr(kc, &dst[0], &src[0], ld)
		case nr:
			tnr(kc, &dst[0], &src[0], ld)
		default:
			transposePanelGeneric(w, kc, dst, src, ld)
		}
	}
}
