package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
	"github.com/snnkit/snn/gen/internal/ymm"
)

// The packers put blocks of A and B into the order the micro-kernels read
// (see kernels.Gemm). Two shapes cover all four cases:
//
//   - copy: rows of the source are dealt out to panels of w columns
//     (B not transposed, w = NR; A transposed, w = MR);
//   - transpose: up to w rows of the source become one panel whose row p
//     holds column p of those rows (A not transposed, w = MR; B
//     transposed, w = NR), done 8 x 8 at a time in YMM registers.
//
// Partial panels are zero-padded to w.

// genCopy emits GemmCopy<w><ISA>(kc, panels, rest, dst, src, ld):
// dst[q*kc*w + p*w + j] = src[p*ld + q*w + j] for p < kc and the j < w of
// panels whole panels, then one more panel of rest < w columns padded with
// zeros (AVX-512 only: AVX2 callers pass rest = 0). Rows are handled four
// at a time so that each panel is visited once per four rows.
func genCopy(t tile, w int) {
	name := fmt.Sprintf("GemmCopy%d%s", w, t.Name)
	TEXT(name, NOSPLIT, "func(kc, panels, rest int, dst, src *float32, ld int)")
	Doc(fmt.Sprintf("%s deals each of kc rows of src (stride ld) out to panels", name),
		fmt.Sprintf("of %d columns: dst[q*kc*%d + p*%d + j] = src[p*ld + q*%d + j], then a last", w, w, w, w),
		"panel of rest columns padded with zeros. Nothing is checked.")
	kc := load("kc")
	dst := load("dst")
	src := load("src")
	ld := load("ld")
	SHLQ(U8(2), ld)
	ld3 := GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	step := GP64() // bytes between panels in dst
	IMUL3Q(U32(4*w), kc, step)

	// Opmasks: whole chunk (w lanes) and the rest columns.
	var kw, kr [2]reg.OpmaskVirtual
	if t.avx512() {
		bits := GP64()
		MOVQ(U64(1<<w-1), bits)
		kw = masks(bits, w)
		rest := load("rest")
		ones := GP64()
		MOVQ(U64(^uint64(0)), ones)
		BZHIQ(rest, ones, ones)
		kr = masks(ones, w)
	}

	srcRow := func(s reg.GPVirtual, r int) Mem {
		switch r {
		case 0:
			return Mem{Base: s}
		case 1:
			return Mem{Base: s, Index: ld, Scale: 1}
		case 2:
			return Mem{Base: s, Index: ld, Scale: 2}
		}
		return Mem{Base: s, Index: ld3, Scale: 1}
	}
	group := func(rows int, label string) {
		s, d, q := GP64(), GP64(), GP64()
		MOVQ(src, s)
		MOVQ(dst, d)
		Load(Param("panels"), q)
		TESTQ(q, q)
		JE(LabelRef(label + "rest"))
		Label(label + "panel")
		for r := 0; r < rows; r++ {
			copyChunk(t, w, kw, srcRow(s, r), Mem{Base: d, Disp: 4 * w * r}, false)
		}
		ADDQ(U32(4*w), s)
		ADDQ(step, d)
		DECQ(q)
		JNZ(LabelRef(label + "panel"))
		Label(label + "rest")
		if t.avx512() {
			CMPQ(x86.ParamMem("rest"), U8(0))
			JE(LabelRef(label + "next"))
			for r := 0; r < rows; r++ {
				copyPartial(w, kw, kr, srcRow(s, r), Mem{Base: d, Disp: 4 * w * r})
			}
		}
		Label(label + "next")
		if rows == 4 {
			LEAQ(Mem{Base: src, Index: ld, Scale: 4}, src)
		} else {
			ADDQ(ld, src)
		}
		ADDQ(U32(4*w*rows), dst)
	}

	CMPQ(kc, U8(4))
	JL(LabelRef("single"))
	Label("four")
	group(4, "four")
	SUBQ(U8(4), kc)
	CMPQ(kc, U8(4))
	JGE(LabelRef("four"))
	Label("single")
	TESTQ(kc, kc)
	JE(LabelRef("done"))
	group(1, "one")
	DECQ(kc)
	JMP(LabelRef("single"))
	Label("done")
	VZEROUPPER()
	RET()
}

// masks splits the low 32 bits of bits into opmasks for the (up to two)
// 16-lane vectors of a w-float chunk. bits is clobbered.
func masks(bits reg.GPVirtual, w int) [2]reg.OpmaskVirtual {
	var k [2]reg.OpmaskVirtual
	for v := 0; v*16 < w; v++ {
		k[v] = K()
		KMOVW(bits.As32(), k[v])
		if (v+1)*16 < w {
			SHRQ(U8(16), bits)
		}
	}
	return k
}

// copyChunk copies w floats from s to d: whole vectors, then (AVX-512) a
// masked one or (AVX2) smaller moves.
func copyChunk(t tile, w int, kw [2]reg.OpmaskVirtual, s, d Mem, _ bool) {
	off := 0
	for ; off+t.Lanes <= w; off += t.Lanes {
		x := t.Vec()
		VMOVUPS(s.Offset(4*off), x)
		VMOVUPS(x, d.Offset(4*off))
	}
	rest := w - off
	switch {
	case rest == 0:
	case t.avx512():
		x := ZMM()
		k := kw[off/16]
		VMOVUPS_Z(s.Offset(4*off), k, x)
		VMOVUPS(x, k, d.Offset(4*off))
	default:
		for rest >= 4 {
			x := XMM()
			VMOVUPS(s.Offset(4*off), x)
			VMOVUPS(x, d.Offset(4*off))
			off, rest = off+4, rest-4
		}
		if rest >= 2 {
			x := XMM()
			VMOVSD(s.Offset(4*off), x)
			VMOVSD(x, d.Offset(4*off))
			off, rest = off+2, rest-2
		}
		if rest == 1 {
			x := XMM()
			VMOVSS(s.Offset(4*off), x)
			VMOVSS(x, d.Offset(4*off))
		}
	}
}

// copyPartial copies the columns under kr of a w-float chunk and stores
// the whole chunk (kw), zeros beyond them (AVX-512).
func copyPartial(w int, kw, kr [2]reg.OpmaskVirtual, s, d Mem) {
	for v := 0; v*16 < w; v++ {
		x := ZMM()
		VMOVUPS_Z(s.Offset(64*v), kr[v], x)
		if (v+1)*16 <= w {
			VMOVUPS(x, d.Offset(64*v))
		} else {
			VMOVUPS(x, kw[v], d.Offset(64*v))
		}
	}
}

// genTranspose emits GemmTranspose<w><ISA>(kc, rows, dst, src, ld):
// dst[p*w + i] = src[i*ld + p] for p < kc, i < rows <= w, and zero for
// rows <= i < w. Blocks of 8 depths are transposed 8 rows at a time in
// YMM registers (unpack, shuffle, lane permute: 24 shuffles per 64
// floats); the last kc%8 depths go one float at a time.
func genTranspose(t tile, w int) {
	name := fmt.Sprintf("GemmTranspose%d%s", w, t.Name)
	TEXT(name, NOSPLIT, "func(kc, rows int, dst, src *float32, ld int)")
	Doc(fmt.Sprintf("%s packs rows <= %d rows of src (stride ld) into one panel:", name, w),
		fmt.Sprintf("dst[p*%d + i] = src[i*ld + p], zero for i >= rows. Nothing is checked.", w))
	kc := load("kc")
	rows := load("rows")
	dst := load("dst")
	src := load("src")
	ld := load("ld")
	SHLQ(U8(2), ld)
	ld3 := GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)

	// Whole panels (rows == w) skip the per-row checks.
	CMPQ(kc, U8(8))
	JL(LabelRef("tail"))
	CMPQ(rows, U8(w))
	JE(LabelRef("fullblock"))
	for _, full := range []bool{false, true} {
		label := "block"
		if full {
			label = "fullblock"
		}
		Label(label)
		row := GP64()
		MOVQ(src, row)
		for g := 0; g < w; g += 8 {
			var check reg.GPVirtual
			if !full {
				check = rows
			}
			transpose8(min(8, w-g), g, check, row, ld, ld3, dst, 4*g, 4*w)
			if g+8 < w {
				LEAQ(Mem{Base: row, Index: ld, Scale: 8}, row)
			}
		}
		ADDQ(U8(32), src)
		ADDQ(U32(4*8*w), dst)
		SUBQ(U8(8), kc)
		CMPQ(kc, U8(8))
		JGE(LabelRef(label))
		JMP(LabelRef("tail"))
	}

	Label("tail")
	TESTQ(kc, kc)
	JE(LabelRef("done"))
	r := GP64()
	MOVQ(src, r)
	for i := 0; i < w; i++ {
		x := GP32()
		XORL(x, x)
		CMPQ(rows, U8(i))
		JLE(LabelRef(fmt.Sprintf("tailstore%d", i)))
		MOVL(Mem{Base: r}, x)
		if i+1 < w {
			ADDQ(ld, r)
		}
		Label(fmt.Sprintf("tailstore%d", i))
		MOVL(x, Mem{Base: dst, Disp: 4 * i})
	}
	ADDQ(U8(4), src)
	ADDQ(U32(4*w), dst)
	DECQ(kc)
	JMP(LabelRef("tail"))
	Label("done")
	VZEROUPPER()
	RET()
}

// transpose8 transposes an 8 x 8 block: rows g..g+n-1 (n <= 8) of the
// source, 8 floats each from row (stride ld bytes; ld3 = 3*ld), into 8
// output rows at dst+disp, dst+disp+stride, ..., each receiving n floats.
// Source rows at or beyond rows are not read and count as zero; with rows
// nil all n rows are read.
func transpose8(n, g int, rows, row, ld, ld3, dst reg.GPVirtual, disp, stride int) {
	in := make([]reg.VecVirtual, 8)
	hi := row
	for i := range in {
		in[i] = YMM()
		if i >= n {
			VXORPS(in[i], in[i], in[i])
			continue
		}
		if i == 4 {
			// Rows 4..7 through a pointer 4 rows further.
			hi = GP64()
			LEAQ(Mem{Base: row, Index: ld, Scale: 4}, hi)
		}
		base := row
		if i >= 4 {
			base = hi
		}
		m := []Mem{
			{Base: base},
			{Base: base, Index: ld, Scale: 1},
			{Base: base, Index: ld, Scale: 2},
			{Base: base, Index: ld3, Scale: 1},
		}[i%4]
		if rows == nil {
			VMOVUPS(m, in[i])
			continue
		}
		skip := fmt.Sprintf("zero%d_%d", g, i)
		done := fmt.Sprintf("loaded%d_%d", g, i)
		CMPQ(rows, U8(g+i))
		JLE(LabelRef(skip))
		VMOVUPS(m, in[i])
		JMP(LabelRef(done))
		Label(skip)
		VXORPS(in[i], in[i], in[i])
		Label(done)
	}
	// s[d] holds depth d of rows 0..3 (low lane: d, high lane: d+4);
	// s[4+d] the same for rows 4..7.
	s := ymm.Transpose8Halves(in)
	for d := 0; d < 8; d++ {
		lo, hi := s[d%4], s[4+d%4]
		lane := d / 4
		out := Mem{Base: dst, Disp: disp + d*stride}
		switch {
		case n == 8:
			x := YMM()
			VPERM2F128(U8(0x20+0x11*lane), hi, lo, x)
			VMOVUPS(x, out)
		case n <= 4:
			// Only s[0..3] matter: depth d sits in lane d/4 of s[d%4].
			var x reg.Register = lo.AsX()
			if lane == 1 {
				h := XMM()
				VEXTRACTF128(U8(1), lo, h)
				x = h
			}
			storeFloats(x, n, out)
		default:
			x := YMM()
			VPERM2F128(U8(0x20+0x11*lane), hi, lo, x)
			VMOVUPS(x.AsX(), out)
			h := XMM()
			VEXTRACTF128(U8(1), x, h)
			storeFloats(h, n-4, out.Offset(16))
		}
	}
}

// storeFloats stores the low n (1..4) floats of x at m.
func storeFloats(x reg.Register, n int, m Mem) {
	switch n {
	case 4:
		VMOVUPS(x, m)
	case 3:
		VMOVSD(x, m)
		VEXTRACTPS(U8(2), x, m.Offset(8))
	case 2:
		VMOVSD(x, m)
	case 1:
		VMOVSS(x, m)
	}
}

// genPrefetch emits GemmPrefetch(src, rows, cols, ld): PREFETCHT1 on every
// cache line of a rows x cols block of floats with row stride ld, so that
// it travels to L2 while other work runs.
func genPrefetch() {
	TEXT("GemmPrefetch", NOSPLIT, "func(src *float32, rows, cols, ld int)")
	Doc("GemmPrefetch asks for every cache line of rows x cols floats at src (row",
		"stride ld) to be fetched into L2. Nothing is checked; prefetches never fault.")
	src := load("src")
	rows := load("rows")
	cols := load("cols")
	ld := load("ld")
	SHLQ(U8(2), ld)
	SHLQ(U8(2), cols)
	// Each row from its first byte to its last, one line at a time; the
	// last line is covered by aligning the end down to where it starts.
	TESTQ(rows, rows)
	JE(LabelRef("done"))
	Label("row")
	p, end := GP64(), GP64()
	MOVQ(src, p)
	LEAQ(Mem{Base: src, Index: cols, Scale: 1, Disp: -1}, end)
	Label("line")
	PREFETCHT1(Mem{Base: p})
	ADDQ(U8(64), p)
	CMPQ(p, end)
	JBE(LabelRef("line"))
	// p passed end: fetch the line holding the row's last byte too, in
	// case the row started mid-line.
	PREFETCHT1(Mem{Base: end})
	ADDQ(ld, src)
	DECQ(rows)
	JNZ(LabelRef("row"))
	Label("done")
	RET()
}
