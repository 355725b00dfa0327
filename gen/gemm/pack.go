package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The packers put blocks of A and B into the order the micro-kernels read
// (see kernels.Gemm). Two shapes cover all four cases:
//
//   - copy: rows of the source are dealt out to panels of w columns
//     (B not transposed, w = NR; A transposed, w = MR);
//   - transpose: w rows of the source become one panel whose row p holds
//     column p of those rows (A not transposed, w = MR; B transposed,
//     w = NR), done 8 x 8 at a time in registers.
//
// Both handle whole panels only; package gemm packs the partial last panel
// (zero-padded) in Go.

// genCopy emits GemmCopy<w><ISA>(kc, panels, dst, src, ld):
// dst[q*kc*w + p*w + j] = src[p*ld + q*w + j] for p < kc, q < panels, j < w.
func genCopy(t tile, w int) {
	name := fmt.Sprintf("GemmCopy%d%s", w, t.name)
	TEXT(name, NOSPLIT, "func(kc, panels int, dst, src *float32, ld int)")
	Doc(fmt.Sprintf("%s deals each of kc rows of src (stride ld) out to panels", name),
		fmt.Sprintf("of %d columns: dst[q*kc*%d + p*%d + j] = src[p*ld + q*%d + j]. Nothing is checked.", w, w, w, w))
	kc := load("kc")
	panels := load("panels")
	dst := load("dst")
	src := load("src")
	ld := load("ld")
	SHLQ(U8(2), ld)
	step := GP64() // bytes between panels in dst
	IMUL3Q(U32(4*w), kc, step)

	var k reg.OpmaskVirtual
	if t.avx512() && w%16 != 0 {
		k = K()
		m := GP32()
		MOVL(U32(1<<(w%16)-1), m)
		KMOVW(m, k)
	}

	TESTQ(kc, kc)
	JE(LabelRef("done"))
	TESTQ(panels, panels)
	JE(LabelRef("done"))
	Label("row")
	s, d, q := GP64(), GP64(), GP64()
	MOVQ(src, s)
	MOVQ(dst, d)
	MOVQ(panels, q)
	Label("panel")
	copyChunk(t, w, k, s, d)
	ADDQ(U32(4*w), s)
	ADDQ(step, d)
	DECQ(q)
	JNZ(LabelRef("panel"))
	ADDQ(ld, src)
	ADDQ(U32(4*w), dst)
	DECQ(kc)
	JNZ(LabelRef("row"))
	Label("done")
	VZEROUPPER()
	RET()
}

// copyChunk copies w floats from s to d.
func copyChunk(t tile, w int, k reg.OpmaskVirtual, s, d reg.GPVirtual) {
	off := 0
	for ; off+t.lanes <= w; off += t.lanes {
		x := t.vec()
		VMOVUPS(Mem{Base: s, Disp: 4 * off}, x)
		VMOVUPS(x, Mem{Base: d, Disp: 4 * off})
	}
	rest := w - off
	switch {
	case rest == 0:
	case t.avx512():
		x := ZMM()
		VMOVUPS_Z(Mem{Base: s, Disp: 4 * off}, k, x)
		VMOVUPS(x, k, Mem{Base: d, Disp: 4 * off})
	default:
		for rest >= 4 {
			x := XMM()
			VMOVUPS(Mem{Base: s, Disp: 4 * off}, x)
			VMOVUPS(x, Mem{Base: d, Disp: 4 * off})
			off, rest = off+4, rest-4
		}
		if rest >= 2 {
			x := XMM()
			VMOVSD(Mem{Base: s, Disp: 4 * off}, x)
			VMOVSD(x, Mem{Base: d, Disp: 4 * off})
			off, rest = off+2, rest-2
		}
		if rest == 1 {
			x := XMM()
			VMOVSS(Mem{Base: s, Disp: 4 * off}, x)
			VMOVSS(x, Mem{Base: d, Disp: 4 * off})
		}
	}
}

// genTranspose emits GemmTranspose<w><ISA>(kc, dst, src, ld):
// dst[p*w + i] = src[i*ld + p] for p < kc, i < w. Blocks of 8 depths are
// transposed 8 rows at a time in YMM registers (unpack, shuffle, lane
// permute: 24 shuffles per 64 floats); the last kc%8 depths go one float
// at a time.
func genTranspose(t tile, w int) {
	name := fmt.Sprintf("GemmTranspose%d%s", w, t.name)
	TEXT(name, NOSPLIT, "func(kc int, dst, src *float32, ld int)")
	Doc(fmt.Sprintf("%s packs %d rows of src (stride ld) into one panel:", name, w),
		fmt.Sprintf("dst[p*%d + i] = src[i*ld + p]. Nothing is checked.", w))
	kc := load("kc")
	dst := load("dst")
	src := load("src")
	ld := load("ld")
	SHLQ(U8(2), ld)
	ld3 := GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)

	CMPQ(kc, U8(8))
	JL(LabelRef("tail"))
	Label("block")
	row := GP64()
	MOVQ(src, row)
	for g := 0; g < w; g += 8 {
		rows := min(8, w-g)
		transpose8(rows, row, ld, ld3, dst, 4*g, 4*w)
		if g+8 < w {
			LEAQ(Mem{Base: row, Index: ld, Scale: 8}, row)
		}
	}
	ADDQ(U8(32), src)
	ADDQ(U32(4*8*w), dst)
	SUBQ(U8(8), kc)
	CMPQ(kc, U8(8))
	JGE(LabelRef("block"))

	Label("tail")
	TESTQ(kc, kc)
	JE(LabelRef("done"))
	r := GP64()
	MOVQ(src, r)
	for i := 0; i < w; i++ {
		x := GP32()
		MOVL(Mem{Base: r}, x)
		MOVL(x, Mem{Base: dst, Disp: 4 * i})
		if i+1 < w {
			ADDQ(ld, r)
		}
	}
	ADDQ(U8(4), src)
	ADDQ(U32(4*w), dst)
	DECQ(kc)
	JMP(LabelRef("tail"))
	Label("done")
	VZEROUPPER()
	RET()
}

// transpose8 transposes an 8 x 8 block: rows (<= 8) rows of 8 floats
// from row (stride ld bytes; ld3 = 3*ld) to 8 output rows at dst+disp,
// dst+disp+stride, ..., each receiving rows floats. Missing rows are zero.
func transpose8(rows int, row, ld, ld3, dst reg.GPVirtual, disp, stride int) {
	in := make([]reg.VecVirtual, 8)
	for i := range in {
		in[i] = YMM()
		if i >= rows {
			VXORPS(in[i], in[i], in[i])
			continue
		}
		var m Mem
		switch i % 4 {
		case 0:
			m = Mem{Base: row}
		case 1:
			m = Mem{Base: row, Index: ld, Scale: 1}
		case 2:
			m = Mem{Base: row, Index: ld, Scale: 2}
		case 3:
			m = Mem{Base: row, Index: ld3, Scale: 1}
		}
		if i >= 4 {
			// Rows 4..7 through a pointer 4 rows further.
			if i == 4 {
				hi := GP64()
				LEAQ(Mem{Base: row, Index: ld, Scale: 4}, hi)
				row = hi
				m.Base = hi
			} else {
				m.Base = row
			}
		}
		VMOVUPS(m, in[i])
	}
	// t[2j] interleaves rows 2j and 2j+1 (depths 0,1 | 4,5), t[2j+1]
	// the same for depths 2,3 | 6,7.
	t := make([]reg.VecVirtual, 8)
	for j := 0; j < 4; j++ {
		t[2*j], t[2*j+1] = YMM(), YMM()
		VUNPCKLPS(in[2*j+1], in[2*j], t[2*j])
		VUNPCKHPS(in[2*j+1], in[2*j], t[2*j+1])
	}
	// s[d] holds depth d of rows 0..3 (low lane: d, high lane: d+4);
	// s[4+d] the same for rows 4..7.
	s := make([]reg.VecVirtual, 8)
	for half := 0; half < 2; half++ {
		a, b, c, d := t[4*half], t[4*half+2], t[4*half+1], t[4*half+3]
		for k, pair := range [][2]reg.VecVirtual{{a, b}, {a, b}, {c, d}, {c, d}} {
			x := YMM()
			imm := uint8(0x44)
			if k%2 == 1 {
				imm = 0xee
			}
			VSHUFPS(U8(imm), pair[1], pair[0], x)
			s[4*half+k] = x
		}
	}
	for d := 0; d < 8; d++ {
		lo, hi := s[d%4], s[4+d%4]
		lane := d / 4
		out := Mem{Base: dst, Disp: disp + d*stride}
		switch {
		case rows == 8:
			x := YMM()
			VPERM2F128(U8(0x20+0x11*lane), hi, lo, x)
			VMOVUPS(x, out)
		case rows <= 4:
			// Only s[0..3] matter: depth d sits in lane d/4 of s[d%4].
			var x reg.Register = lo.AsX()
			if lane == 1 {
				h := XMM()
				VEXTRACTF128(U8(1), lo, h)
				x = h
			}
			storeFloats(x, rows, out)
		default:
			x := YMM()
			VPERM2F128(U8(0x20+0x11*lane), hi, lo, x)
			VMOVUPS(x.AsX(), out)
			h := XMM()
			VEXTRACTF128(U8(1), x, h)
			out.Disp += 16
			storeFloats(h, rows-4, out)
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
