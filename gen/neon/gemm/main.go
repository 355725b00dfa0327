// Command gemm generates the arm64 (NEON) GEMM micro-kernel of package asm
// and the loop that measures the FMA ceiling it is compared with.
//
// The tile is 8 rows by 12 columns of C, held in 24 accumulators. Each
// step of the depth loop loads one column of the packed A micro-panel (8
// values, two registers) and one row of a B panel (12 values, three
// registers) and issues 24 by-element FMLAs: accumulator (i, j) gets
// B[p][4j..4j+3] times lane i of the A column. That is 96 multiply-adds per
// 80 loaded bytes (1.2 per byte), and 29 of the 32 vector registers.
//
// Run through `go generate ./...` from the repository root; see asm/gen.go.
package main

import (
	"fmt"

	. "github.com/snnkit/snn/gen/neon"
)

// The register tile: MR rows of C, NR columns (nrVecs registers per row).
const (
	mr     = 8
	nrVecs = 3
	nr     = 4 * nrVecs
)

func main() {
	Generate("gen/neon/gemm", func(f *File) {
		genKernel(f)
		genPeak(f)
		for _, w := range []int{mr, nr} {
			genCopy(f, w)
		}
		for _, w := range []int{mr, nr} {
			genTranspose(f, w)
		}
		genPrefetch(f)
	})
}

// acc is the accumulator of row i, column vector j.
func acc(i, j int) V { return V(nrVecs*i + j) }

// Register plan of the micro-kernel:
//
//	V0..V23   accumulators, acc(i, j) = V(3i+j): C[i][4j..4j+3]
//	V24..V26  one row of the B panel
//	V28, V29  one column of the A micro-panel (rows 0-3, 4-7)
//	V30       alpha in lane 0, beta in lane 1
//	V24..V26  reused for a row of C in the epilogue
//
//	R0 kc      R1 panels left   R2 a         R3 b (current panel)
//	R4 ldb*4   R5 panel*4       R6 c (current panel's first column)
//	R7 ldc*4   R8 depth counter R9 a pointer R10 b pointer
//	R11 row of C in the epilogue  R12 beta's bits shifted left by one
//	(zero exactly when beta is +0 or -0)
func genKernel(f *File) {
	fn := f.Func("GemmNEON",
		"func(kc, panels int, a, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32)",
		"GemmNEON updates panels whole 8x12 tiles of C, side by side:",
		"C[i][j] = alpha*sum(p < kc) A[i][p]*B[p][j] + beta*C[i][j], with",
		"A[i][p] = a[8p+i], B[p][j] = b[(j/12)*panel + p*ldb + j%12] and",
		"C[i][j] = c[i*ldc+j]. beta == 0 does not read C. kc and panels must",
		"be at least 1; nothing is checked (see kernels.Gemm).")
	kc, panels, a, b, ldb, panel, c, ldc := R0, R1, R2, R3, R4, R5, R6, R7
	k, ap, bp, row, betaBits := R8, R9, R10, R11, R12
	fn.Load(kc, fn.Slot("kc"))
	fn.Load(panels, fn.Slot("panels"))
	fn.Load(a, fn.Slot("a_base"))
	fn.Load(b, fn.Slot("b_base"))
	fn.Load(ldb, fn.Slot("ldb"))
	fn.Load(panel, fn.Slot("panel"))
	fn.Load(c, fn.Slot("c_base"))
	fn.Load(ldc, fn.Slot("ldc"))
	fn.LSL(ldb, ldb, 2)
	fn.LSL(panel, panel, 2)
	fn.LSL(ldc, ldc, 2)
	ab := V30
	alpha, beta := ab.S(0), ab.S(1)
	fn.LoadF(ab, fn.Slot("alpha"))
	fn.LoadF(V31, fn.Slot("beta"))
	fn.VINS(beta, V31.S(0))
	fn.Load(betaBits, fn.Slot("beta"))
	fn.LSL(betaBits, betaBits, 33) // drop the sign of the 32-bit pattern

	bRow := []V{V24, V25, V26}
	aCol := []V{V28, V29}

	fn.Label("panel")
	for i := 0; i < mr; i++ {
		for j := 0; j < nrVecs; j++ {
			zero(fn, acc(i, j))
		}
	}
	fn.MOV(ap, a)
	fn.MOV(bp, b)
	fn.MOV(k, kc)

	// The depth loop runs two steps per iteration, then one odd step.
	step := func() {
		fn.VLD1P(Regs(aCol[0], 2, S4), At(ap, 4*mr))
		fn.VLD1PR(Regs(bRow[0], nrVecs, S4), bp, ldb)
		for i := 0; i < mr; i++ {
			lane := aCol[i/4].S(i % 4)
			for j := 0; j < nrVecs; j++ {
				fn.FMLAE(acc(i, j).S4(), bRow[j].S4(), lane)
			}
		}
	}
	fn.Countdown(k, 2, "depth", func() {
		step()
		step()
	})
	fn.CBZ(k, "epilogue")
	step()

	fn.Label("epilogue")
	// Epilogue: C = alpha*acc, or beta*C + alpha*acc fused (one rounding
	// after beta*C), row by row.
	fn.MOV(row, c)
	fn.CBZ(betaBits, "store")
	for i := 0; i < mr; i++ {
		cRow := Regs(bRow[0], nrVecs, S4)
		fn.VLD1(cRow, At(row, 0))
		for j := 0; j < nrVecs; j++ {
			fn.FMULE(bRow[j].S4(), bRow[j].S4(), beta)
			fn.FMLAE(bRow[j].S4(), acc(i, j).S4(), alpha)
		}
		fn.VST1(cRow, At(row, 0))
		fn.ADD(row, row, ldc)
	}
	fn.B("next")

	fn.Label("store")
	for i := 0; i < mr; i++ {
		for j := 0; j < nrVecs; j++ {
			fn.FMULE(acc(i, j).S4(), acc(i, j).S4(), alpha)
		}
		fn.VST1(Regs(acc(i, 0), nrVecs, S4), At(row, 0))
		fn.ADD(row, row, ldc)
	}

	fn.Label("next")
	fn.ADD(b, b, panel)
	fn.ADD(c, c, Imm(4*nr))
	fn.SUBS(panels, panels, Imm(1))
	fn.BCond(NE, "panel")
	fn.RET()
}

// peakChains is the number of independent FMLA chains of the peak loop:
// as many as the micro-kernel's accumulators.
const peakChains = mr * nrVecs

// genPeak emits the FMA ceiling: iters rounds of peakChains independent
// four-lane FMLAs (8*peakChains flops per round), the instruction mix of
// the micro-kernel without its loads.
func genPeak(f *File) {
	fn := f.Func("GemmPeakNEON", "func(iters int)",
		"GemmPeakNEON runs iters rounds of 24 independent four-lane FMLAs",
		"(192 flops per round): the arithmetic ceiling of GemmNEON.")
	n := R0
	fn.Load(n, fn.Slot("iters"))
	fn.CMP(n, Imm(0))
	fn.BCond(LE, "done")
	for i := 0; i < peakChains; i++ {
		zero(fn, V(i))
	}
	// 0.999 and 1e-3: the chains grow by about 1e-3 per round and stay
	// far from overflow and subnormals.
	fn.MOVW(R1, 0x3f7fbe77)
	fn.VDUP(V30.S4(), R1)
	fn.MOVW(R1, 0x3a83126f)
	fn.VDUP(V31.S4(), R1)
	fn.Label("round")
	for i := 0; i < peakChains; i++ {
		fn.FMLAE(V(i).S4(), V30.S4(), V31.S(i%4))
	}
	fn.SUBS(n, n, Imm(1))
	fn.BCond(NE, "round")
	fn.Label("done")
	fn.RET()
}

// zero clears v.
func zero(fn *Func, v V) { fn.Zero(v) }

// genCopy emits GemmCopy<w>NEON, the packer that deals kc rows of src out
// to panels of width w (8: A stored transposed; 12: B as stored):
//
//	dst[q*kc*w + p*w + j] = src[p*ld + q*w + j]   (p < kc, q < panels, j < w)
//
// Panel by panel, it walks down the rows of src (register post-increment
// by ld) and writes dst contiguously, four rows per iteration.
//
// Register plan: R0 kc, R1 panels left, R2 dst, R3 src (current panel),
// R4 ld*4, R5 rows left, R6 src walker; V0.. four rows of w/4 registers.
func genCopy(f *File, w int) {
	name := fmt.Sprintf("GemmCopy%dNEON", w)
	fn := f.Func(name, "func(kc, panels int, dst, src *float32, ld int)",
		name+" packs panels whole panels of width "+fmt.Sprint(w)+" from kc rows of src",
		"(see kernels.Gemm.Copy); kc and panels must be at least 1, nothing is",
		"checked.")
	kc, panels, dst, src, ld, rows, s := R0, R1, R2, R3, R4, R5, R6
	fn.Load(kc, fn.Slot("kc"))
	fn.Load(panels, fn.Slot("panels"))
	fn.Load(dst, fn.Slot("dst"))
	fn.Load(src, fn.Slot("src"))
	fn.Load(ld, fn.Slot("ld"))
	fn.LSL(ld, ld, 2)
	nv := w / 4
	fn.Label("panel")
	fn.MOV(s, src)
	fn.MOV(rows, kc)
	fn.Countdown(rows, 4, "rows4", func() {
		for r := 0; r < 4; r++ {
			fn.VLD1PR(Regs(V(r*nv), nv, S4), s, ld)
		}
		fn.StoreVecs(dst, Vecs(V0, 4*nv))
	})
	fn.CBZ(rows, "next")
	fn.Label("rows1")
	fn.VLD1PR(Regs(V0, nv, S4), s, ld)
	fn.StoreVecs(dst, Vecs(V0, nv))
	fn.SUBS(rows, rows, Imm(1))
	fn.BCond(NE, "rows1")
	fn.Label("next")
	fn.ADD(src, src, Imm(4*w))
	fn.SUBS(panels, panels, Imm(1))
	fn.BCond(NE, "panel")
	fn.RET()
}

// genTranspose emits GemmTranspose<w>NEON, the packer that turns w rows of
// src into one panel (8: A as stored; 12: B stored transposed):
//
//	dst[p*w + i] = src[i*ld + p]   (p < kc4, i < w)
//
// for the first kc4 columns, kc4 a multiple of 4 (the caller packs the
// last kc%4 columns). Each step loads a 4-column strip of the w rows and
// transposes it in 4x4 blocks with ZIP1/ZIP2; the result is 4 rows of the
// panel, 16*w contiguous bytes.
//
// Register plan: R0 columns left, R1 dst, R2 src (current strip), R3
// ld*4, R4 src walker; V0..V(w-1) the rows, V12..V15 the interleaved
// halves, V16.. the panel rows (4 x w/4 registers).
func genTranspose(f *File, w int) {
	name := fmt.Sprintf("GemmTranspose%dNEON", w)
	fn := f.Func(name, "func(kc4 int, dst, src *float32, ld int)",
		name+" packs the first kc4 columns of "+fmt.Sprint(w)+" rows of src into a panel",
		"(see kernels.Gemm.Transpose); kc4 must be a positive multiple of 4,",
		"nothing is checked.")
	cols, dst, src, ld, s := R0, R1, R2, R3, R4
	fn.Load(cols, fn.Slot("kc4"))
	fn.Load(dst, fn.Slot("dst"))
	fn.Load(src, fn.Slot("src"))
	fn.Load(ld, fn.Slot("ld"))
	fn.LSL(ld, ld, 2)
	nb := w / 4
	out := func(k, b int) V { return V16 + V(k*nb+b) }
	fn.Label("strip")
	fn.MOV(s, src)
	for i := 0; i < w; i++ {
		fn.VLD1PR(Regs(V(i), 1, S4), s, ld)
	}
	for b := 0; b < nb; b++ {
		r := Vecs(V(4*b), 4)
		z := Vecs(V12, 4)
		fn.VZIP1(z[0].S4(), r[0].S4(), r[2].S4())
		fn.VZIP2(z[1].S4(), r[0].S4(), r[2].S4())
		fn.VZIP1(z[2].S4(), r[1].S4(), r[3].S4())
		fn.VZIP2(z[3].S4(), r[1].S4(), r[3].S4())
		fn.VZIP1(out(0, b).S4(), z[0].S4(), z[2].S4())
		fn.VZIP2(out(1, b).S4(), z[0].S4(), z[2].S4())
		fn.VZIP1(out(2, b).S4(), z[1].S4(), z[3].S4())
		fn.VZIP2(out(3, b).S4(), z[1].S4(), z[3].S4())
	}
	fn.StoreVecs(dst, Vecs(V16, 4*nb))
	fn.ADD(src, src, Imm(16))
	fn.SUBS(cols, cols, Imm(4))
	fn.BCond(NE, "strip")
	fn.RET()
}

// genPrefetch emits GemmPrefetchNEON: a PRFM PLDL2KEEP for every 64-byte
// line touched by rows rows of cols floats (row stride ld), so the source
// of the next packing streams into L2 while the kernels run.
//
// Register plan: R0 the row, R1 rows left, R2 cols*4, R3 ld*4, R4 the line,
// R5 the end of the row.
func genPrefetch(f *File) {
	fn := f.Func("GemmPrefetchNEON", "func(src *float32, rows, cols, ld int)",
		"GemmPrefetchNEON hints that rows x cols floats at src (row stride ld)",
		"will be read soon; rows and cols must be at least 1, nothing is checked.")
	row, rows, cols, ld, line, end := R0, R1, R2, R3, R4, R5
	fn.Load(row, fn.Slot("src"))
	fn.Load(rows, fn.Slot("rows"))
	fn.Load(cols, fn.Slot("cols"))
	fn.Load(ld, fn.Slot("ld"))
	fn.LSL(cols, cols, 2)
	fn.LSL(ld, ld, 2)
	fn.Label("row")
	fn.AND(line, row, Imm(-64))
	fn.ADD(end, row, cols)
	fn.Label("line")
	fn.PRFM(At(line, 0), "PLDL2KEEP")
	fn.ADD(line, line, Imm(64))
	fn.CMP(line, end)
	fn.BCond(LO, "line")
	fn.ADD(row, row, ld)
	fn.SUBS(rows, rows, Imm(1))
	fn.BCond(NE, "row")
	fn.RET()
}
