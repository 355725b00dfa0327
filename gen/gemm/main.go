// Command gemm generates the amd64 GEMM micro-kernels (package asm) and the
// FMA-peak loops the GEMM benchmarks measure them against. The contract
// the kernels implement is documented on kernels.Gemm.
//
// Run through `go generate ./...` from the repository root; see asm/gen.go.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
)

// tile describes one register-blocked kernel: mr rows of C, each nv vector
// registers wide, so mr*nv accumulators stay in registers for a whole
// depth block. Each depth step loads nv vectors of B and broadcasts mr
// values of A, each broadcast feeding nv FMAs.
type tile struct {
	x86.ISA
	mr, nv int
	// rows are the strip heights with a loop of their own (ascending,
	// ending with mr): a strip of m rows runs the smallest one >= m, so
	// the edge strips of a matrix do not pay for mr rows. Every variant
	// performs, for the rows it computes, exactly the operations of the
	// full one.
	rows []int
	// prefetch is how many depth steps ahead B rows are prefetched into
	// L1 (0: none).
	prefetch int
	// prefetchC prefetches the C tile before each panel's depth loop.
	prefetchC bool
	// prefetchA is how many depth steps ahead the A micro-panel is
	// prefetched into L1 (0: none).
	prefetchA int
	// stream: the kernel also prefetches into L2 the cache lines of a
	// region it is given (the source of the next block of B), one line
	// per unrolled iteration, so that packing it later reads L2 rather
	// than memory (genKernelNext only).
	stream bool
	// pack: B is read in place and every row of a panel the kernel loads
	// is also stored, packed, to dst (genKernelPack only).
	pack bool
}

func (t tile) nr() int      { return t.Lanes * t.nv }
func (t tile) avx512() bool { return t.Lanes == 16 }

// unroll is the number of depth steps per loop iteration.
const unroll = 4

var (
	// AVX-512: 12 x 32 is 24 zmm accumulators, two B vectors and one
	// broadcast register. B rows are prefetched 16 steps (2 KiB of a
	// packed panel) ahead: the panels stream from L2. The C tile is
	// prefetched before the depth loop, which hides its latency.
	avx512 = tile{ISA: x86.AVX512, mr: 12, nv: 2, rows: []int{4, 8, 12}, prefetch: 16, prefetchC: true}
	// AVX2: 6 x 16 is 12 ymm accumulators, two B vectors and one
	// broadcast register out of 16.
	avx2 = tile{ISA: x86.AVX2, mr: 6, nv: 2, rows: []int{2, 4, 6}, prefetch: 16, prefetchC: true}
)

func main() {
	ConstraintExpr("!purego")
	for _, t := range []tile{avx512, avx2} {
		genKernel(t)
		genKernelNext(t)
		genKernelPack(t)
		genKernelRows(t)
		genKernelA(t)
		genPeak(t)
		genCopy(t, t.mr)
		genCopy(t, t.nr())
		genTranspose(t, t.mr)
		genTranspose(t, t.nr())
	}
	genPrefetch()
	for _, t := range experiments {
		genKernel(t)
	}
	Generate()
}

var experiments []tile

// load reads integer or pointer argument name into a new register.
func load(name string) reg.GPVirtual {
	r := GP64()
	Load(Param(name), r)
	return r
}

// kernel holds the registers shared by all variants of one kernel.
type kernel struct {
	t                 tile
	n, b, c           reg.GPVirtual // remaining columns, current panel, C column
	ldb, ldb3, panel  reg.GPVirtual // in bytes; nil in a row-table kernel
	ldc               reg.GPVirtual // in bytes
	alphaMem, betaMem Mem
	// table: B's rows are where the offset table says (genKernelRows),
	// not ldb apart; left counts the panels left in the current run.
	table bool
	left  reg.GPVirtual
	// unpackedA: A is read where it lies, row i at a + i*lda (lda in
	// bytes, in a register), not from a packed micro-panel
	// (genKernelA).
	unpackedA bool
	lda       reg.GPVirtual
	// w is the number of columns the current panel stores: n itself
	// (min(n, NR) is taken where needed), or in a table kernel min(n, pw)
	// for panels pw columns wide.
	w reg.GPVirtual
	// next, lines, rowLeft: the stream's next line, the lines left to
	// prefetch, and those left in the current row (t.stream).
	next, lines, rowLeft reg.GPVirtual
	// dst: where the current row of the packed panels goes (t.pack).
	dst reg.GPVirtual
}

func genKernel(t tile) {
	name := "GemmKernel" + t.Name
	TEXT(name, NOSPLIT, "func(kc, m, n int, a, b *float32, ldb, panel int, c *float32, ldc int, alpha, beta float32)")
	Doc(fmt.Sprintf("%s is the %dx%d GEMM micro-kernel: for each %d-column panel of B it", name, t.mr, t.nr(), t.nr()),
		"computes C[i][j] = alpha*sum_p a[p*MR+i]*B[p][j] + beta*C[i][j] for i < m, j < n,",
		"B[p][j] = b[(j/NR)*panel + p*ldb + j%NR], as specified on kernels.Gemm.",
		"Strides are in elements. Nothing is checked: 1 <= m <= MR, n >= 1, kc >= 1.")

	k := stridedKernel(t)
	k.strips()
}

// genKernelNext emits genKernel's kernel that also prefetches a stream
// of cache lines into L2, one per unrolled iteration, for the strips
// whose B another strip packs (kernels.Gemm.KernelNext). It is a kernel
// of its own so that the stream's bookkeeping, two instructions an
// iteration, stays out of the kernel every other call runs: with it
// there, 256 x 256 and 1024 x 1024 products read 2-3% slower (AVX2, one
// trial of 7 rounds, no more than the order the binaries ran in can
// account for on this VM; Kernel stays byte for byte what it was).
func genKernelNext(t tile) {
	t.stream = true
	name := "GemmKernelNext" + t.Name
	TEXT(name, NOSPLIT, "func(kc, m, n int, a, b *float32, ldb, panel int, c *float32, ldc int, alpha, beta float32, next *float32, lines, rowLines, skip int)")
	Doc(fmt.Sprintf("%s is %s that meanwhile prefetches into L2 the first lines", name, "GemmKernel"+t.Name),
		"of a stream, one per four depth steps: from next, rowLines lines 64 bytes apart,",
		"then skip bytes further, and again, lines lines in all, as specified on",
		"kernels.Gemm (KernelNext). Nothing is checked: lines >= 1, rowLines >= 1.")
	k := stridedKernel(t)
	k.next = load("next")
	k.lines = load("lines")
	k.rowLeft = load("rowLines")
	k.strips()
}

// genKernelPack emits genKernel's kernel for B read in place (panels NR
// apart, ldb the row stride) that also stores each row of a panel it
// loads to dst, where the panels follow each other packed (kc*NR floats
// apart), as Copy lays them out: the first strip of a block packs B for
// the others at the cost of a store per row, in a loop bound by its
// multiply-adds, instead of in a pass of its own. Only whole panels (n a
// multiple of NR). No prefetch stream.
func genKernelPack(t tile) {
	t.pack = true
	name := "GemmKernelPack" + t.Name
	TEXT(name, NOSPLIT, "func(kc, m, n int, a, b *float32, ldb int, dst, c *float32, ldc int, alpha, beta float32)")
	Doc(fmt.Sprintf("%s is %s for B in place (panel = NR) that also", name, "GemmKernel"+t.Name),
		"stores the panels of B it reads to dst, packed: dst[q*kc*NR + p*NR + j] = B[p][q*NR+j],",
		"as specified on kernels.Gemm (KernelPack). Nothing is checked: n a multiple of NR.")
	k := stridedKernel(t)
	k.dst = load("dst")
	k.strips()
}

// stridedKernel starts a kernel whose B panels are ldb and panel apart
// (all but the row-table one), its arguments loaded.
func stridedKernel(t tile) *kernel {
	k := &kernel{t: t, alphaMem: x86.ParamMem("alpha"), betaMem: x86.ParamMem("beta")}
	k.loadStrided()
	return k
}

// loadStrided loads the arguments of a kernel whose B panels are ldb and
// panel apart: n, b, c and the strides, in bytes; the panel stride is NR
// floats when the kernel has no panel argument (B in place, genKernelPack).
func (k *kernel) loadStrided() {
	k.n = load("n")
	k.w = k.n
	k.b = load("b")
	k.c = load("c")
	k.ldb = load("ldb")
	SHLQ(U8(2), k.ldb)
	k.ldb3 = GP64()
	LEAQ(Mem{Base: k.ldb, Index: k.ldb, Scale: 2}, k.ldb3)
	if k.t.pack {
		k.panel = GP64()
		MOVQ(U32(4*k.t.nr()), k.panel)
	} else {
		k.panel = load("panel")
		SHLQ(U8(2), k.panel)
	}
	k.ldc = load("ldc")
	SHLQ(U8(2), k.ldc)
}

// genKernelA emits genKernel's kernel with A unpacked: row i of the strip
// at a + i*lda, for problems so small that packing A costs a tenth of the
// multiplication (a 64 x 64 x 64 GEMM). It reads exactly the rows of its
// variant (4, 8 or 12), so the caller passes strips of those heights only,
// and it does not prefetch B.
func genKernelA(t tile) {
	t.prefetch = 0
	name := "GemmKernelA" + t.Name
	TEXT(name, NOSPLIT, "func(kc, m, n int, a *float32, lda int, b *float32, ldb, panel int, c *float32, ldc int, alpha, beta float32)")
	Doc(fmt.Sprintf("%s is %s with A read in place: row i of the strip at a + i*lda", name, "GemmKernel"+t.Name),
		"(elements), the variant for m rows reading exactly its rows (4, 8 or 12 with AVX-512,",
		"2, 4 or 6 with AVX2), as specified on kernels.Gemm (KernelA). Nothing is checked.")
	k := stridedKernel(t)
	k.unpackedA = true
	k.lda = load("lda")
	SHLQ(U8(2), k.lda)
	k.strips()
}

// strips dispatches on m to the strip loops and returns.
func (k *kernel) strips() {
	t := k.t
	for _, r := range t.rows[:len(t.rows)-1] {
		CMPQ(x86.ParamMem("m"), U32(r))
		JLE(LabelRef(fmt.Sprintf("rows%d", r)))
	}
	// The tallest variant comes first: larger m falls through to it.
	for i := len(t.rows) - 1; i >= 0; i-- {
		k.strip(t.rows[i])
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// genKernelRows emits the kernel for B given by a table of row offsets
// (an implicit im2col: each row of the column matrix of a stride-1
// convolution is a window of the zero-padded input), each row in runs of
// run panels of pw <= NR columns: after every run panels, B moves skip
// bytes further than the next panel. A panel narrower than NR still loads
// NR columns (the rest is computed and not stored). It performs the
// operations of genKernel's kernel in the same order. It does not
// prefetch B: its rows overlap, so a panel's depth block is a few cache
// lines per input channel, and the input they come from stays in L2.
func genKernelRows(t tile) {
	t.prefetch = 0
	name := "GemmKernelRows" + t.Name
	TEXT(name, NOSPLIT, "func(kc, m, n int, a, b *float32, off *int, run, skip, pw int, c *float32, ldc int, alpha, beta float32)")
	Doc(fmt.Sprintf("%s is %s with B's rows at offsets: for each panel of B it",
		name, "GemmKernel"+t.Name),
		"computes C[i][j] = alpha*sum_p a[p*MR+i]*B[p][j] + beta*C[i][j] for i < m, j < n,",
		"B[p][j] = b[off[p] + (j/W)*W + (j/W)*skip/4 + j%W] with W = run*pw, reading",
		fmt.Sprintf("%d columns from each panel's start, as specified on kernels.Gemm (KernelRows).", t.nr()),
		fmt.Sprintf("Nothing is checked: 1 <= m <= MR, n >= 1, kc >= 1, run >= 1, 1 <= pw <= %d.", t.nr()))
	k := kernel{t: t, alphaMem: x86.ParamMem("alpha"), betaMem: x86.ParamMem("beta"), table: true}
	k.n = load("n")
	k.b = load("b")
	k.c = load("c")
	k.ldc = load("ldc")
	SHLQ(U8(2), k.ldc)
	k.left = load("run")
	k.w = GP64()
	k.strips()
}

// strip emits the panel loop for strips of at most r rows: each panel runs
// the widest body, except a last panel narrow enough for fewer vectors.
func (k *kernel) strip(r int) {
	t := k.t
	Label(fmt.Sprintf("rows%d", r))
	Label(fmt.Sprintf("panel%d", r))
	if k.table {
		MOVQ(x86.ParamMem("pw"), k.w)
		CMPQ(k.n, k.w)
		CMOVQLT(k.n, k.w)
	}
	for nv := 1; nv < t.nv; nv++ {
		CMPQ(k.w, U32(nv*t.Lanes))
		JLE(LabelRef(fmt.Sprintf("body%dx%d", r, nv)))
	}
	for nv := t.nv; nv >= 1; nv-- {
		k.body(r, nv)
	}
	Label(fmt.Sprintf("next%d", r))
	if k.table {
		pw := GP64()
		MOVQ(x86.ParamMem("pw"), pw)
		SUBQ(pw, k.n)
		SHLQ(U8(2), pw)
		ADDQ(pw, k.b)
		ADDQ(pw, k.c)
		DECQ(k.left)
		JNZ(LabelRef(fmt.Sprintf("inrun%d", r)))
		ADDQ(x86.ParamMem("skip"), k.b)
		MOVQ(x86.ParamMem("run"), k.left)
		Label(fmt.Sprintf("inrun%d", r))
		TESTQ(k.n, k.n)
	} else {
		ADDQ(k.panel, k.b)
		ADDQ(U32(4*t.nr()), k.c)
		SUBQ(U32(t.nr()), k.n)
	}
	JG(LabelRef(fmt.Sprintf("panel%d", r)))
	JMP(LabelRef("done"))
}

// body emits one panel of r rows and nv vectors: the depth loop and the
// store of the tile, then a jump to the strip's next panel.
func (k *kernel) body(r, nv int) {
	t := k.t
	id := fmt.Sprintf("%dx%d", r, nv)
	next := fmt.Sprintf("next%d", r)
	Label("body" + id)

	acc := make([][]reg.VecVirtual, r)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, nv)
		for v := range acc[i] {
			acc[i][v] = t.Vec()
			VXORPS(acc[i][v], acc[i][v], acc[i][v])
		}
	}
	if t.prefetchC {
		crow := GP64()
		MOVQ(k.c, crow)
		for i := 0; i < r; i++ {
			for v := 0; v < nv*t.Bytes(); v += 64 {
				PREFETCHT0(Mem{Base: crow, Disp: v})
			}
			if i+1 < r {
				ADDQ(k.ldc, crow)
			}
		}
	}
	pa := load("a")
	// aRows are base pointers for A's rows in the unpacked kernel: row i
	// is at aRows[i/3] + (i%3)*lda.
	var aRows []reg.GPVirtual
	if k.unpackedA {
		aRows = []reg.GPVirtual{pa}
		for len(aRows)*3 < r {
			next := GP64()
			LEAQ(Mem{Base: aRows[len(aRows)-1], Index: k.lda, Scale: 2}, next)
			ADDQ(k.lda, next)
			aRows = append(aRows, next)
		}
	}
	// aMem is A's value for row i, u depth steps after the current one.
	aMem := func(i, u int) Mem {
		if !k.unpackedA {
			return Mem{Base: pa, Disp: 4 * (t.mr*u + i)}
		}
		m := Mem{Base: aRows[i/3], Disp: 4 * u}
		if i%3 > 0 {
			m.Index, m.Scale = k.lda, uint8(i%3)
		}
		return m
	}
	// advanceA moves A past steps depth steps.
	advanceA := func(steps int) {
		if !k.unpackedA {
			ADDQ(U32(4*t.mr*steps), pa)
			return
		}
		for _, p := range aRows {
			ADDQ(U32(4*steps), p)
		}
	}
	pb := k.b // the table kernel does not move it within a panel
	if !k.table {
		pb = GP64()
		MOVQ(k.b, pb)
	}
	var pf, po reg.GPVirtual
	if k.table {
		// po walks the offset table as pa walks A.
		po = load("off")
	}
	if t.prefetch > 0 {
		// pf runs t.prefetch rows ahead of pb.
		pf = GP64()
		IMUL3Q(U32(t.prefetch), k.ldb, pf)
		ADDQ(pb, pf)
	}
	cnt := load("kc")

	// step emits the FMAs of one depth step: B row at brow (pf at the
	// same offset), A values at pa+disp.
	step := func(brow Mem, u int) {
		if t.prefetch > 0 {
			for v := 0; v < nv*t.Bytes(); v += 64 {
				m := brow
				m.Base = pf
				m.Disp += v
				PREFETCHT0(m)
			}
		}
		bv := make([]reg.VecVirtual, nv)
		for v := range bv {
			bv[v] = t.Vec()
			m := brow
			m.Disp += v * t.Bytes()
			VMOVUPS(m, bv[v])
			if t.pack {
				VMOVUPS(bv[v], Mem{Base: k.dst, Disp: 4*t.nr()*u + t.Bytes()*v})
			}
		}
		for i := 0; i < r; i++ {
			x := t.Vec()
			VBROADCASTSS(aMem(i, u), x)
			for v := range bv {
				VFMADD231PS(bv[v], x, acc[i][v])
			}
		}
	}
	// row returns where B's row u depth steps after the current one is.
	row := func(u int) Mem {
		if k.table {
			o := GP64()
			MOVQ(Mem{Base: po, Disp: 8 * u}, o)
			return Mem{Base: pb, Index: o, Scale: 4}
		}
		return []Mem{
			{Base: pb},
			{Base: pb, Index: k.ldb, Scale: 1},
			{Base: pb, Index: k.ldb, Scale: 2},
			{Base: pb, Index: k.ldb3, Scale: 1},
		}[u]
	}
	// advance moves past one or unroll depth steps of B.
	advance := func(steps int) {
		switch {
		case k.table:
			ADDQ(U32(8*steps), po)
		case steps == unroll:
			LEAQ(Mem{Base: pb, Index: k.ldb, Scale: unroll}, pb)
			if t.prefetch > 0 {
				LEAQ(Mem{Base: pf, Index: k.ldb, Scale: unroll}, pf)
			}
		default:
			ADDQ(k.ldb, pb)
			if t.prefetch > 0 {
				ADDQ(k.ldb, pf)
			}
		}
	}

	CMPQ(cnt, U32(unroll))
	JL(LabelRef("single" + id))
	Label("unrolled" + id)
	for u := 0; u < unroll; u++ {
		step(row(u), u)
	}
	if t.prefetchA > 0 {
		// The unrolled steps read 4*mr*unroll bytes of A: prefetch as
		// many, prefetchA steps ahead.
		for off := 0; off < 4*t.mr*unroll; off += 64 {
			PREFETCHT0(Mem{Base: pa, Disp: 4*t.mr*t.prefetchA + off})
		}
	}
	if t.stream {
		// The next line of the stream, into L2; at the end of a row,
		// on to the next row.
		DECQ(k.lines)
		JS(LabelRef("streamed" + id))
		PREFETCHT1(Mem{Base: k.next})
		ADDQ(U32(64), k.next)
		DECQ(k.rowLeft)
		JNZ(LabelRef("streamed" + id))
		ADDQ(x86.ParamMem("skip"), k.next)
		MOVQ(x86.ParamMem("rowLines"), k.rowLeft)
		Label("streamed" + id)
	}
	advanceA(unroll)
	advance(unroll)
	if t.pack {
		ADDQ(U32(4*t.nr()*unroll), k.dst)
	}
	SUBQ(U32(unroll), cnt)
	CMPQ(cnt, U32(unroll))
	JGE(LabelRef("unrolled" + id))

	Label("single" + id)
	TESTQ(cnt, cnt)
	JE(LabelRef("store" + id))
	step(row(0), 0)
	advanceA(1)
	advance(1)
	if t.pack {
		ADDQ(U32(4*t.nr()), k.dst)
	}
	DECQ(cnt)
	JMP(LabelRef("single" + id))

	Label("store" + id)
	if t.avx512() {
		k.store512(acc, id, next)
	} else {
		k.store256(acc, id, next)
	}
}

// betaZero jumps to label when beta is +0 or -0 (C is then not read).
func (k *kernel) betaZero(label string) {
	bits := GP32()
	MOVL(k.betaMem, bits)
	TESTL(U32(0x7fffffff), bits)
	JE(LabelRef(label))
}

// rows emits body(i, crow) for each row i of acc that is < m, crow
// pointing at C's row i, then jumps to next.
func (k *kernel) rows(acc [][]reg.VecVirtual, next string, body func(i int, crow reg.GPVirtual)) {
	crow := GP64()
	MOVQ(k.c, crow)
	for i := range acc {
		if i > 0 {
			CMPQ(x86.ParamMem("m"), U32(i))
			JLE(LabelRef(next))
			ADDQ(k.ldc, crow)
		}
		body(i, crow)
	}
	JMP(LabelRef(next))
}

func (k *kernel) mem(crow reg.GPVirtual, v int) Mem {
	return Mem{Base: crow, Disp: v * k.t.Bytes()}
}

// store512 writes the accumulators under opmasks that cover the first
// min(n, NR) columns: full tiles and edge tiles take the same path.
func (k *kernel) store512(acc [][]reg.VecVirtual, id, next string) {
	t := k.t
	nv := len(acc[0])
	// BZHI reads only the low byte of the count: clamp it to NR first.
	w := GP64()
	MOVQ(U32(t.nr()), w)
	CMPQ(k.w, w)
	CMOVQLT(k.w, w)
	ones := GP64()
	MOVQ(U64(^uint64(0)), ones)
	BZHIQ(w, ones, ones)
	mask := make([]reg.OpmaskVirtual, nv)
	for v := range mask {
		mask[v] = K()
		KMOVW(ones.As32(), mask[v])
		if v+1 < nv {
			SHRQ(U8(16), ones)
		}
	}
	alpha, beta := t.Vec(), t.Vec()
	VBROADCASTSS(k.alphaMem, alpha)
	VBROADCASTSS(k.betaMem, beta)

	k.betaZero("zero" + id)
	k.rows(acc, next, func(i int, crow reg.GPVirtual) {
		for v := range mask {
			x := t.Vec()
			VMOVUPS_Z(k.mem(crow, v), mask[v], x)
			VMULPS(beta, x, x)
			VFMADD231PS(alpha, acc[i][v], x)
			VMOVUPS(x, mask[v], k.mem(crow, v))
		}
	})
	Label("zero" + id)
	k.rows(acc, next, func(i int, crow reg.GPVirtual) {
		for v := range mask {
			VMULPS(alpha, acc[i][v], acc[i][v])
			VMOVUPS(acc[i][v], mask[v], k.mem(crow, v))
		}
	})
}

// store256 writes the accumulators with plain moves when all nv vectors of
// the tile are inside n, and with VMASKMOVPS (which neither reads nor
// writes masked lanes) otherwise.
func (k *kernel) store256(acc [][]reg.VecVirtual, id, next string) {
	t := k.t
	nv := len(acc[0])
	alpha, beta := t.Vec(), t.Vec()
	VBROADCASTSS(k.alphaMem, alpha)
	VBROADCASTSS(k.betaMem, beta)

	CMPQ(k.w, U32(nv*t.Lanes))
	JL(LabelRef("partial" + id))
	k.betaZero("wholezero" + id)
	k.rows(acc, next, func(i int, crow reg.GPVirtual) {
		for v := 0; v < nv; v++ {
			x := t.Vec()
			VMULPS(k.mem(crow, v), beta, x)
			VFMADD231PS(alpha, acc[i][v], x)
			VMOVUPS(x, k.mem(crow, v))
		}
	})
	Label("wholezero" + id)
	k.rows(acc, next, func(i int, crow reg.GPVirtual) {
		for v := 0; v < nv; v++ {
			VMULPS(alpha, acc[i][v], acc[i][v])
			VMOVUPS(acc[i][v], k.mem(crow, v))
		}
	})

	// Lane l of vector v is column 8v+l: it is kept when l < n-8v, which
	// the window of x86.SlidingMask starting at 16-(n-8v) = 16+8v-n says
	// (1 <= n-8v <= 15 here).
	Label("partial" + id)
	base := GP64()
	LEAQ(x86.SlidingMask, base)
	NEGQ(k.w)
	LEAQ(Mem{Base: base, Index: k.w, Scale: 4, Disp: 4 * x86.MaskOnes}, base)
	NEGQ(k.w)
	// Only 16 registers: the masks are reloaded per use rather than held.
	mask := func(v int) reg.VecVirtual {
		m := t.Vec()
		VMOVDQU(Mem{Base: base, Disp: 4 * 8 * v}, m)
		return m
	}
	k.betaZero("partialzero" + id)
	k.rows(acc, next, func(i int, crow reg.GPVirtual) {
		for v := 0; v < nv; v++ {
			m, x := mask(v), t.Vec()
			VMASKMOVPS(k.mem(crow, v), m, x)
			VMULPS(x, beta, x)
			VFMADD231PS(alpha, acc[i][v], x)
			VMASKMOVPS(x, m, k.mem(crow, v))
		}
	})
	Label("partialzero" + id)
	k.rows(acc, next, func(i int, crow reg.GPVirtual) {
		for v := 0; v < nv; v++ {
			m := mask(v)
			VMULPS(alpha, acc[i][v], acc[i][v])
			VMASKMOVPS(acc[i][v], m, k.mem(crow, v))
		}
	})
}

// peakAccs is the number of independent FMA chains in the peak loops: well
// above latency times throughput (4 cycles x 2 ports).
func (t tile) peakAccs() int {
	if t.avx512() {
		return 24
	}
	return 12
}

func genPeak(t tile) {
	name := "GemmPeak" + t.Name
	TEXT(name, NOSPLIT, "func(iters int)")
	Doc(fmt.Sprintf("%s runs iters rounds of %d independent vector FMAs (%d flops a round):",
		name, t.peakAccs(), 2*t.Lanes*t.peakAccs()),
		"the arithmetic ceiling of this core for the GEMM benchmarks.")
	iters := Load(Param("iters"), GP64())
	accs := make([]reg.VecVirtual, t.peakAccs())
	for i := range accs {
		accs[i] = t.Vec()
		VXORPS(accs[i], accs[i], accs[i])
	}
	x, y := t.Vec(), t.Vec()
	VXORPS(x, x, x)
	VXORPS(y, y, y)
	TESTQ(iters, iters)
	JLE(LabelRef("done"))
	Label("loop")
	for _, a := range accs {
		VFMADD231PS(x, y, a)
	}
	DECQ(iters)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}
