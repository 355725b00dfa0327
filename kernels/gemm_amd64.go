//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

// The register tiles; the cache blocks come from this CPU's caches when a
// set is built (see blocking). Before they did, this machine's fixed blocks
// (KC 512, MC 3072, NC 480 for both sets, with 48 KiB of L1d and 2 MiB of
// L2) were tuned on the GEMM shapes of the root benchmarks: KC 512 beat 384
// and 256 by a few percent on the deep convolution shapes, NC and MC
// mattered less than the noise.
var (
	avx512Gemm = Gemm{
		MR: 12, NR: 32,
		Peak:      asm.GemmPeakAVX512,
		PeakFlops: 24 * 16 * 2,
	}
	avx2Gemm = Gemm{
		MR: 6, NR: 16,
		Peak:      asm.GemmPeakAVX2,
		PeakFlops: 12 * 8 * 2,
	}
)

func gemmAVX512() Gemm {
	return withKernels(avx512Gemm, gemmKernels{
		kernel: asm.GemmKernelAVX512, kernelA: asm.GemmKernelAAVX512, kernelRows: asm.GemmKernelRowsAVX512,
		kernelNext: asm.GemmKernelNextAVX512, kernelPack: asm.GemmKernelPackAVX512,
		copyMR: asm.GemmCopy12AVX512, copyNR: asm.GemmCopy32AVX512, partialCopy: true,
		transMR: asm.GemmTranspose12AVX512, transNR: asm.GemmTranspose32AVX512,
	})
}

func gemmAVX2() Gemm {
	return withKernels(avx2Gemm, gemmKernels{
		kernel: asm.GemmKernelAVX2, kernelA: asm.GemmKernelAAVX2, kernelRows: asm.GemmKernelRowsAVX2,
		kernelNext: asm.GemmKernelNextAVX2, kernelPack: asm.GemmKernelPackAVX2,
		copyMR: asm.GemmCopy6AVX2, copyNR: asm.GemmCopy16AVX2,
		transMR: asm.GemmTranspose6AVX2, transNR: asm.GemmTranspose16AVX2,
	})
}

// gemmKernels are one set's assembly GEMM functions.
type gemmKernels struct {
	kernel     func(kc, m, n int, a, b *float32, ldb, panel int, c *float32, ldc int, alpha, beta float32)
	kernelNext func(kc, m, n int, a, b *float32, ldb, panel int, c *float32, ldc int, alpha, beta float32, next *float32, lines, rowLines, skip int)
	kernelPack func(kc, m, n int, a, b *float32, ldb int, dst, c *float32, ldc int, alpha, beta float32)
	kernelA    func(kc, m, n int, a *float32, lda int, b *float32, ldb, panel int, c *float32, ldc int, alpha, beta float32)
	kernelRows func(kc, m, n int, a, b *float32, off *int, run, skip, pw int, c *float32, ldc int, alpha, beta float32)
	// The packing kernels for panels MR and NR wide; with partialCopy
	// the copies take a partial last panel too.
	copyMR, copyNR   asmCopy
	partialCopy      bool
	transMR, transNR asmTranspose
}

// withKernels returns base with its blocks derived from this CPU's caches
// and f's assembly behind Go's length checks, which run first: the
// assembly trusts the lengths.
func withKernels(base Gemm, f gemmKernels) Gemm {
	g := base
	g.setBlocks(CPU().Caches)
	g.Kernel = func(kc, m, n int, a, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32) {
		base.gemmLengths(kc, m, n, a, b, ldb, panel, c, ldc)
		f.kernel(kc, m, n, &a[0], &b[0], ldb, panel, &c[0], ldc, alpha, beta)
	}
	g.KernelNext = func(kc, m, n int, a, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32, next []float32, rows, cols, ld int) {
		base.gemmLengths(kc, m, n, a, b, ldb, panel, c, ldc)
		nextLengths(next, rows, cols, ld)
		if rows == 0 {
			f.kernel(kc, m, n, &a[0], &b[0], ldb, panel, &c[0], ldc, alpha, beta)
			return
		}
		// A row of cols floats starting anywhere in a line covers at
		// most ceil(cols/16)+1 lines.
		rowLines := (cols+15)/16 + 1
		f.kernelNext(kc, m, n, &a[0], &b[0], ldb, panel, &c[0], ldc, alpha, beta, &next[0], rows*rowLines, rowLines, 4*ld-64*rowLines)
	}
	g.KernelPack = func(kc, m, n int, a, b []float32, ldb int, dst, c []float32, ldc int, alpha, beta float32) {
		base.packLengths(kc, m, n, a, b, ldb, dst, c, ldc)
		f.kernelPack(kc, m, n, &a[0], &b[0], ldb, &dst[0], &c[0], ldc, alpha, beta)
	}
	g.KernelA = func(kc, m, n int, a []float32, lda int, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32) {
		base.aLengths(kc, m, n, a, lda, b, ldb, panel, c, ldc)
		f.kernelA(kc, m, n, &a[0], lda, &b[0], ldb, panel, &c[0], ldc, alpha, beta)
	}
	g.KernelRows = func(kc, m, n int, a, b []float32, off []int, width, stride int, c []float32, ldc int, alpha, beta float32) {
		base.rowsLengths(kc, m, n, a, b, off, width, stride, c, ldc)
		run, skip, pw := rowsArgs(&base, width, stride)
		f.kernelRows(kc, m, n, &a[0], &b[0], &off[0], run, skip, pw, &c[0], ldc, alpha, beta)
	}
	g.Copy = copier(base.MR, base.NR, f.partialCopy, f.copyMR, f.copyNR)
	g.Transpose = transposer(base.MR, base.NR, f.transMR, f.transNR)
	g.Prefetch = prefetch
	return g
}

type asmCopy = func(kc, panels, rest int, dst, src *float32, ld int)
type asmTranspose = func(kc, rows int, dst, src *float32, ld int)

// copier returns a Copy running the assembly for widths mr and nr and the
// Go loop for any other. With partial false the assembly takes whole
// panels only and the last, partial one is packed in Go.
func copier(mr, nr int, partial bool, cmr, cnr asmCopy) func(w, kc, n int, dst, src []float32, ld int) {
	return func(w, kc, n int, dst, src []float32, ld int) {
		copyLengths(w, kc, n, dst, src, ld)
		if kc == 0 || n == 0 {
			return
		}
		var c asmCopy
		switch w {
		case mr:
			c = cmr
		case nr:
			c = cnr
		default:
			copyPanelsGeneric(w, kc, n, dst, src, ld)
			return
		}
		full := n / w
		if partial || n%w == 0 {
			c(kc, full, n%w, &dst[0], &src[0], ld)
			return
		}
		if full > 0 {
			c(kc, full, 0, &dst[0], &src[0], ld)
		}
		copyPanelsGeneric(w, kc, n-full*w, dst[full*w*kc:], src[full*w:], ld)
	}
}

// transposer returns a Transpose running the assembly for widths mr and
// nr, and the Go loop otherwise.
func transposer(mr, nr int, tmr, tnr asmTranspose) func(w, kc, rows int, dst, src []float32, ld int) {
	return func(w, kc, rows int, dst, src []float32, ld int) {
		transposeLengths(w, kc, rows, dst, src, ld)
		if kc == 0 {
			return
		}
		if rows == 0 {
			clear(dst[:kc*w])
			return
		}
		switch w {
		case mr:
			tmr(kc, rows, &dst[0], &src[0], ld)
		case nr:
			tnr(kc, rows, &dst[0], &src[0], ld)
		default:
			transposePanelGeneric(w, kc, rows, dst, src, ld)
		}
	}
}

func prefetch(src []float32, rows, cols, ld int) {
	prefetchLengths(src, rows, cols, ld)
	if rows > 0 && cols > 0 {
		asm.GemmPrefetch(&src[0], rows, cols, ld)
	}
}
