// Command conv generates the amd64 assembly of the data-movement kernels
// behind package conv's im2col (package asm): Shift, which copies rows of
// an image shifted sideways with zero padding, and Gather, which builds
// columns of narrow images through an index table.
//
// Run through `go generate ./...` from the repository root; see asm/gen.go.
package main

import (
	"strconv"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
	"github.com/snnkit/snn/gen/internal/ymm"
)

// isa is an x86.ISA with this generator's own helpers.
type isa struct{ x86.ISA }

// laneIdx holds the int32 lane numbers 0..15; an ISA loads its first lanes.
var laneIdx Mem

// evens and odds pick the even and the odd lanes of two vectors of 16
// (VPERMI2PS indices); iota2 is 0, 2, 4, ... 30.
var evens, odds, iota2 Mem

func init() {
	laneIdx = GLOBL("convIota", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(i)))
	}
	evens = GLOBL("convEvens", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(2*i)))
	}
	odds = GLOBL("convOdds", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(2*i+1)))
	}
	iota2 = evens
}

// broadcast fills a vector's int32 lanes with the low 32 bits of r.
func (v isa) broadcast(r reg.Register) reg.VecVirtual {
	x := v.Vec()
	if v.Lanes == 16 {
		VPBROADCASTD(r.(reg.GPVirtual).As32(), x)
		return x
	}
	t := XMM()
	// VEX-encoded: a legacy-SSE MOVQ here, with the upper halves of the
	// ymm registers in use, cost about 100 ns per call on the Xeon.
	VMOVQ(r, t)
	VPBROADCASTD(t, x)
	return x
}

func main() {
	ConstraintExpr("!purego")
	for _, v := range []isa{{x86.AVX512}, {x86.AVX2}} {
		genShift(v)
		genGather(v)
		genPool2(v)
	}
	genUnpack()
	genWinogradIn()
	genWinogradOut()
	genWinogradDy()
	Generate()
}

// genUnpack emits
//
//	func UnpackAVX2(dst *float32, ldd int, src *float32, lds, rows, cols int)
//
// which sets dst[i*ldd+j] = src[j*lds+i] for i < rows (a multiple of 8)
// and j < cols: the columns of an interleaved matrix written out as rows
// (conv's batched pass, G images interleaved per output position, writes
// each image's outputs this way). It works on 8 x 8 blocks in YMM
// registers, and the last cols%8 columns of each block of rows through
// masked stores. AVX2 only: AVX-512 machines run it too.
func genUnpack() {
	TEXT("UnpackAVX2", NOSPLIT, "func(dst *float32, ldd int, src *float32, lds, rows, cols int)")
	dst, src := Load(Param("dst"), GP64()), Load(Param("src"), GP64())
	ldd, lds := Load(Param("ldd"), GP64()), Load(Param("lds"), GP64())
	rows := Load(Param("rows"), GP64())
	SHLQ(U8(2), ldd)
	SHLQ(U8(2), lds)
	ldd3, lds3 := GP64(), GP64()
	LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, ldd3)
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)

	Label("rows")
	CMPQ(rows, U8(8))
	JL(LabelRef("done"))
	s, d, j := GP64(), GP64(), GP64()
	MOVQ(src, s)
	MOVQ(dst, d)
	Load(Param("cols"), j)

	// in[k] is source row k of a block (8 lanes: 8 rows of dst).
	load := func(n reg.Register) []reg.VecVirtual {
		s4 := GP64()
		LEAQ(Mem{Base: s, Index: lds, Scale: 4}, s4)
		in := make([]reg.VecVirtual, 8)
		for k := range in {
			in[k] = YMM()
			base := s
			if k >= 4 {
				base = s4
			}
			m := []Mem{{Base: base}, {Base: base, Index: lds, Scale: 1}, {Base: base, Index: lds, Scale: 2}, {Base: base, Index: lds3, Scale: 1}}[k%4]
			if n == nil {
				VMOVUPS(m, in[k])
				continue
			}
			// Only the first n rows exist.
			zero, next := "tz"+strconv.Itoa(k), "tl"+strconv.Itoa(k)
			CMPQ(n, U8(k))
			JLE(LabelRef(zero))
			VMOVUPS(m, in[k])
			JMP(LabelRef(next))
			Label(zero)
			VXORPS(in[k], in[k], in[k])
			Label(next)
		}
		return in
	}
	// transpose returns out[m] = (in[0][m], ..., in[7][m]).
	transpose := func(in []reg.VecVirtual) []reg.VecVirtual {
		sh := ymm.Transpose8Halves(in)
		out := make([]reg.VecVirtual, 8)
		for m := range out {
			out[m] = YMM()
			VPERM2F128(U8(0x20+0x11*uint8(m/4)), sh[4+m%4], sh[m%4], out[m])
		}
		return out
	}
	store := func(out []reg.VecVirtual, mask reg.VecVirtual) {
		d4 := GP64()
		LEAQ(Mem{Base: d, Index: ldd, Scale: 4}, d4)
		for m, x := range out {
			base := d
			if m >= 4 {
				base = d4
			}
			dm := []Mem{{Base: base}, {Base: base, Index: ldd, Scale: 1}, {Base: base, Index: ldd, Scale: 2}, {Base: base, Index: ldd3, Scale: 1}}[m%4]
			if mask == nil {
				VMOVUPS(x, dm)
			} else {
				VMASKMOVPS(x, mask, dm)
			}
		}
	}

	Label("cols")
	CMPQ(j, U8(8))
	JL(LabelRef("tail"))
	store(transpose(load(nil)), nil)
	LEAQ(Mem{Base: s, Index: lds, Scale: 8}, s)
	ADDQ(U8(32), d)
	SUBQ(U8(8), j)
	JMP(LabelRef("cols"))

	Label("tail")
	TESTQ(j, j)
	JE(LabelRef("next"))
	store(transpose(load(j)), x86.FirstLanes8(j))

	Label("next")
	ADDQ(U8(32), src)
	LEAQ(Mem{Base: dst, Index: ldd, Scale: 8}, dst)
	SUBQ(U8(8), rows)
	JMP(LabelRef("rows"))
	Label("done")
	VZEROUPPER()
	RET()
}

// genShift emits
//
//	func Shift<ISA>(dst, src []float32, rows, w, stride, shift, lo, hi int)
//
// which sets, for s < rows and i < w,
//
//	dst[s*w+i] = src[s*stride+i+shift]  if lo <= i < hi,  0 otherwise.
//
// It works down the columns: for each vector of columns the masks (which
// lanes read, which lanes exist) are the same in every row, so they are
// made once and the inner loop is a masked load and a masked store per
// row. Lanes outside [lo, hi) may address memory outside src: they are
// masked, so they neither fault nor read. The caller checks that the lanes
// inside stay inside src and that dst holds rows*w floats.
func genShift(v isa) {
	TEXT("Shift"+v.Name, NOSPLIT, "func(dst, src []float32, rows, w, stride, shift, lo, hi int)")
	Doc("Shift"+v.Name+" sets dst[s*w+i] = src[s*stride+i+shift] for lo <= i < hi and 0 for the",
		"other i < w, for every row s < rows (unchecked; see kernels.Conv).")
	dst := Load(Param("dst").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	rows := Load(Param("rows"), GP64())
	w := Load(Param("w"), GP64())
	stride := Load(Param("stride"), GP64())
	shift := Load(Param("shift"), GP64())
	lo := Load(Param("lo"), GP64())
	hi := Load(Param("hi"), GP64())

	TESTQ(rows, rows)
	JE(LabelRef("done"))
	TESTQ(w, w)
	JE(LabelRef("done"))

	SHLQ(U8(2), stride) // bytes
	// src now points at column 0's source, which may lie before the
	// slice: only lanes inside [lo, hi) are ever read.
	LEAQ(Mem{Base: src, Index: shift, Scale: 4}, src)
	rowBytes := GP64()
	MOVQ(w, rowBytes)
	SHLQ(U8(2), rowBytes)

	wv := v.broadcast(w)
	hiv := v.broadcast(hi)
	iotav := v.Vec()
	if v.Lanes == 16 {
		VMOVDQU32(laneIdx, iotav)
	} else {
		VMOVDQU(laneIdx, iotav)
	}
	var lov reg.VecVirtual
	if v.Lanes == 16 {
		lov = v.broadcast(lo)
	} else {
		// AVX2 compares only for greater-than: i >= lo is i > lo-1.
		lom1 := GP64()
		LEAQ(Mem{Base: lo, Disp: -1}, lom1)
		lov = v.broadcast(lom1)
	}

	if v.Lanes == 16 {
		v.shiftRows(src, dst, rows, w, stride, lo, hi, rowBytes, iotav, lov)
	} else {
		v.shiftRows2(src, dst, rows, w, stride, lo, hi, rowBytes, iotav, lov, hiv)
	}

	j := GP64()
	XORQ(j, j)
	Label("column")
	CMPQ(j, w)
	JGE(LabelRef("done"))

	// l holds the column numbers j..j+lanes-1.
	jv := v.broadcast(j)
	l := v.Vec()
	VPADDD(iotav, jv, l)

	ps, pd, r := GP64(), GP64(), GP64()
	LEAQ(Mem{Base: src, Index: j, Scale: 4}, ps)
	LEAQ(Mem{Base: dst, Index: j, Scale: 4}, pd)
	MOVQ(rows, r)

	x := v.Vec()
	end := GP64()
	LEAQ(Mem{Base: j, Disp: v.Lanes}, end)
	CMPQ(j, lo)
	JL(LabelRef("masked"))
	CMPQ(end, hi)
	JLE(LabelRef("plain"))

	Label("masked")
	if v.Lanes == 16 {
		kst, kld := K(), K()
		VPCMPD(U8(1), wv, l, kst)       // kst = l < w
		VPCMPD(U8(5), lov, l, kst, kld) // kld = kst & (l >= lo)
		VPCMPD(U8(1), hiv, l, kld, kld) // kld &= l < hi
		Label("row")
		VMOVUPS_Z(Mem{Base: ps}, kld, x)
		VMOVUPS(x, kst, Mem{Base: pd})
		ADDQ(stride, ps)
		ADDQ(rowBytes, pd)
		DECQ(r)
		JNZ(LabelRef("row"))
		JMP(LabelRef("nextcol"))
	} else {
		mst, mld, t := v.Vec(), v.Vec(), v.Vec()
		VPCMPGTD(l, wv, mst)  // w > l
		VPCMPGTD(lov, l, t)   // l > lo-1
		VPCMPGTD(l, hiv, mld) // hi > l
		VPAND(t, mld, mld)
		// VMASKMOVPS stores are slow: use a plain store when every lane
		// of the vector is a column.
		CMPQ(end, w)
		JG(LabelRef("row"))
		Label("loadrow")
		VMASKMOVPS(Mem{Base: ps}, mld, x)
		VMOVUPS(x, Mem{Base: pd})
		ADDQ(stride, ps)
		ADDQ(rowBytes, pd)
		DECQ(r)
		JNZ(LabelRef("loadrow"))
		JMP(LabelRef("nextcol"))
		Label("row")
		VMASKMOVPS(Mem{Base: ps}, mld, x)
		VMASKMOVPS(x, mst, Mem{Base: pd})
		ADDQ(stride, ps)
		ADDQ(rowBytes, pd)
		DECQ(r)
		JNZ(LabelRef("row"))
		JMP(LabelRef("nextcol"))
	}

	// A vector of columns that lies inside [lo, hi) needs no mask.
	Label("plain")
	Label("plainrow")
	VMOVUPS(Mem{Base: ps}, x)
	VMOVUPS(x, Mem{Base: pd})
	ADDQ(stride, ps)
	ADDQ(rowBytes, pd)
	DECQ(r)
	JNZ(LabelRef("plainrow"))

	Label("nextcol")
	ADDQ(U32(v.Lanes), j)
	JMP(LabelRef("column"))

	Label("done")
	VZEROUPPER()
	RET()
}

// shiftRows is Shift row by row, for rows of two or more whole vectors
// whose first vector holds lo and last vector hi, as im2col's rows of wide
// images are: a masked first vector, plain ones, a masked last one, so that
// each row is written front to back. Other calls jump on to the
// column-major loop.
func (v isa) shiftRows(src, dst, rows, w, stride, lo, hi, rowBytes reg.Register, iotav, lov reg.VecVirtual) {
	lastCol := GP64()
	MOVQ(w, lastCol)
	SUBQ(U32(v.Lanes), lastCol)
	CMPQ(w, U32(2*v.Lanes))
	JB(LabelRef("columns"))
	TESTQ(U32(v.Lanes-1), w)
	JNE(LabelRef("columns"))
	CMPQ(lo, U32(v.Lanes))
	JGE(LabelRef("columns"))
	CMPQ(hi, lastCol)
	JLE(LabelRef("columns"))

	first, last := K(), K()
	VPCMPD(U8(5), lov, iotav, first) // lane >= lo
	hl := GP64()
	MOVQ(hi, hl)
	SUBQ(lastCol, hl)
	hlv := v.broadcast(hl)
	VPCMPD(U8(1), hlv, iotav, last) // lastCol+lane < hi

	ps, pd, r, j := GP64(), GP64(), GP64(), GP64()
	MOVQ(src, ps)
	MOVQ(dst, pd)
	MOVQ(rows, r)
	x := v.Vec()
	Label("rowsrow")
	VMOVUPS_Z(Mem{Base: ps}, first, x)
	VMOVUPS(x, Mem{Base: pd})
	MOVQ(U32(v.Lanes), j)
	Label("rowsmid")
	CMPQ(j, lastCol)
	JGE(LabelRef("rowslast"))
	VMOVUPS(Mem{Base: ps, Index: j, Scale: 4}, x)
	VMOVUPS(x, Mem{Base: pd, Index: j, Scale: 4})
	ADDQ(U32(v.Lanes), j)
	JMP(LabelRef("rowsmid"))
	Label("rowslast")
	VMOVUPS_Z(Mem{Base: ps, Index: lastCol, Scale: 4}, last, x)
	VMOVUPS(x, Mem{Base: pd, Index: lastCol, Scale: 4})
	ADDQ(stride, ps)
	ADDQ(rowBytes, pd)
	DECQ(r)
	JNZ(LabelRef("rowsrow"))
	JMP(LabelRef("done"))
	Label("columns")
}

// shiftRows2 is Shift row by row for AVX2 and rows of at least one whole
// vector: the column-major loop goes down each column of vectors, which
// writes every cache line of dst in pieces far apart in time, and rows
// that end inside a vector take masked stores (VMASKMOVPS, slow on Intel
// and microcoded on AMD). Here each row is written front to back with
// plain stores: vectors inside [lo, hi) are plain loads, the others
// masked loads (masked-off lanes read as 0, neither reading nor faulting),
// and a row whose width is not a whole number of vectors has one more
// vector at w-8, which overlaps the one before it with the same values.
// That vector is stored first: stored after the vector it overlaps, it
// made the copy 25x slower on the Sapphire Rapids Xeon (w = 20 and 28:
// 0.19-0.26 floats/ns against 5-6 for whole vectors). Narrower rows jump
// on to the column-major loop.
func (v isa) shiftRows2(src, dst, rows, w, stride, lo, hi, rowBytes reg.Register, iotav, lom1v, hiv reg.VecVirtual) {
	CMPQ(w, U32(v.Lanes))
	JB(LabelRef("columns"))
	lastCol := GP64()
	MOVQ(w, lastCol)
	SUBQ(U32(v.Lanes), lastCol)
	ps, pd, r, j := GP64(), GP64(), GP64(), GP64()
	MOVQ(src, ps)
	MOVQ(dst, pd)
	MOVQ(rows, r)
	t8 := GP64()
	MOVQ(U32(v.Lanes), t8)
	eight := v.broadcast(t8) // the next vector's lane numbers are 8 more
	l := v.Vec()

	// vector copies the 8 columns from j (l holds their numbers).
	vector := func(id string) {
		x := v.Vec()
		end := GP64()
		LEAQ(Mem{Base: j, Disp: v.Lanes}, end)
		CMPQ(j, lo)
		JL(LabelRef("rowsmasked" + id))
		CMPQ(end, hi)
		JG(LabelRef("rowsmasked" + id))
		VMOVUPS(Mem{Base: ps, Index: j, Scale: 4}, x)
		JMP(LabelRef("rowsstore" + id))
		Label("rowsmasked" + id)
		m, t := v.Vec(), v.Vec()
		VPCMPGTD(lom1v, l, t) // l > lo-1
		VPCMPGTD(l, hiv, m)   // hi > l
		VPAND(t, m, m)
		VMASKMOVPS(Mem{Base: ps, Index: j, Scale: 4}, m, x)
		Label("rowsstore" + id)
		VMOVUPS(x, Mem{Base: pd, Index: j, Scale: 4})
	}

	// tailv holds the lane numbers of the vector at w-8.
	tailv := v.broadcast(lastCol)
	VPADDD(iotav, tailv, tailv)

	// The common case, im2col's rows: the first vector holds lo, the
	// last one hi, and every vector between them is copied whole. Their
	// masks are made once. (hi >= 8 and lo < 8 <= lastCol keep the
	// first vector's lanes below hi and the last one's at or above lo.)
	CMPQ(w, U32(2*v.Lanes))
	JB(LabelRef("rowsrow"))
	CMPQ(lo, U32(v.Lanes))
	JGE(LabelRef("rowsrow"))
	// The whole vectors are at 8, 16, ... below lastCol: the last one
	// ends at ((lastCol-1) &^ 7) + 8, which hi must reach.
	end := GP64()
	LEAQ(Mem{Base: lastCol, Disp: -1}, end)
	ANDQ(I32(-v.Lanes), end)
	ADDQ(U32(v.Lanes), end)
	CMPQ(hi, end)
	JL(LabelRef("rowsrow"))
	first, last, t := v.Vec(), v.Vec(), v.Vec()
	VPCMPGTD(lom1v, iotav, first) // lane > lo-1
	VPCMPGTD(tailv, hiv, last)    // hi > lastCol+lane
	x := v.Vec()
	Label("fastrow")
	// The last vector goes first: see above.
	VMASKMOVPS(Mem{Base: ps, Index: lastCol, Scale: 4}, last, x)
	VMOVUPS(x, Mem{Base: pd, Index: lastCol, Scale: 4})
	VMASKMOVPS(Mem{Base: ps}, first, x)
	VMOVUPS(x, Mem{Base: pd})
	MOVQ(U32(v.Lanes), j)
	Label("fastvec")
	CMPQ(j, lastCol)
	JGE(LabelRef("fastnext"))
	VMOVUPS(Mem{Base: ps, Index: j, Scale: 4}, t)
	VMOVUPS(t, Mem{Base: pd, Index: j, Scale: 4})
	ADDQ(U32(v.Lanes), j)
	JMP(LabelRef("fastvec"))
	Label("fastnext")
	ADDQ(stride, ps)
	ADDQ(rowBytes, pd)
	DECQ(r)
	JNZ(LabelRef("fastrow"))
	JMP(LabelRef("done"))

	Label("rowsrow")
	TESTQ(U32(v.Lanes-1), w)
	JE(LabelRef("rowshead"))
	MOVQ(lastCol, j)
	VMOVDQA(tailv, l)
	vector("tail")
	Label("rowshead")
	XORQ(j, j)
	VMOVDQA(iotav, l)
	Label("rowsvec")
	CMPQ(j, lastCol)
	JG(LabelRef("rowsnext"))
	vector("")
	ADDQ(U32(v.Lanes), j)
	VPADDD(eight, l, l)
	JMP(LabelRef("rowsvec"))
	Label("rowsnext")
	ADDQ(stride, ps)
	ADDQ(rowBytes, pd)
	DECQ(r)
	JNZ(LabelRef("rowsrow"))
	JMP(LabelRef("done"))
	Label("columns")
}

// genGather emits
//
//	func Gather<ISA>(dst []float32, ld int, src []float32, plane, planes int, idx []int32, rows, w int)
//
// which sets, for q < planes, r < rows and i < w, with t = idx[r*w+i],
//
//	dst[(q*rows+r)*ld+i] = src[q*plane+t]  if 0 <= t < plane,  0 otherwise:
//
// the same rows of indices applied to planes consecutive planes of src.
// Indices are checked in the kernel (one compare per vector), so no index
// reads outside its plane; the caller checks that src holds planes*plane
// floats, idx rows*w indices and dst (planes*rows-1)*ld+w floats.
func genGather(v isa) {
	TEXT("Gather"+v.Name, NOSPLIT, "func(dst []float32, ld int, src []float32, plane, planes int, idx []int32, rows, w int)")
	Doc("Gather"+v.Name+" sets dst[(q*rows+r)*ld+i] = src[q*plane+idx[r*w+i]], or 0 where the index",
		"is outside [0, plane), for q < planes, r < rows and i < w (unchecked; see kernels.Conv).")
	dst := Load(Param("dst").Base(), GP64())
	ld := Load(Param("ld"), GP64())
	src := Load(Param("src").Base(), GP64())
	n := Load(Param("plane"), GP64())
	planes := Load(Param("planes"), GP64())
	idx0 := Load(Param("idx").Base(), GP64())
	rows := Load(Param("rows"), GP64())
	w := Load(Param("w"), GP64())

	TESTQ(planes, planes)
	JE(LabelRef("done"))
	TESTQ(rows, rows)
	JE(LabelRef("done"))
	TESTQ(w, w)
	JE(LabelRef("done"))

	planeBytes := GP64()
	MOVQ(n, planeBytes)
	SHLQ(U8(2), planeBytes)
	// Indices are int32: a plane longer than 2^31-1 cannot be indexed past
	// that, so the bound saturates there (and stays a positive int32 for
	// AVX2's signed compares).
	lim := GP64()
	MOVQ(U32(0x7fffffff), lim)
	CMPQ(n, lim)
	CMOVQGT(lim, n)
	nv := v.broadcast(n)
	var m1 reg.VecVirtual
	if v.Lanes == 8 {
		m1 = v.Vec()
		VPCMPEQD(m1, m1, m1) // -1 in every lane
	}
	SHLQ(U8(2), ld)

	idx, r, pd, c := GP64(), GP64(), GP64(), GP64()
	Label("plane")
	MOVQ(idx0, idx)
	MOVQ(rows, r)

	Label("row")
	MOVQ(dst, pd)
	MOVQ(w, c)

	Label("full")
	CMPQ(c, U32(v.Lanes))
	JB(LabelRef("tail"))
	v.gatherOne(src, nv, m1, Mem{Base: idx}, Mem{Base: pd}, nil)
	ADDQ(U32(v.Bytes()), idx)
	ADDQ(U32(v.Bytes()), pd)
	SUBQ(U32(v.Lanes), c)
	JMP(LabelRef("full"))

	Label("tail")
	TESTQ(c, c)
	JE(LabelRef("next"))
	v.gatherOne(src, nv, m1, Mem{Base: idx}, Mem{Base: pd}, c)
	LEAQ(Mem{Base: idx, Index: c, Scale: 4}, idx)

	Label("next")
	ADDQ(ld, dst)
	DECQ(r)
	JNZ(LabelRef("row"))
	ADDQ(planeBytes, src)
	DECQ(planes)
	JNZ(LabelRef("plane"))

	Label("done")
	VZEROUPPER()
	RET()
}

// gatherOne gathers one vector of indices at in into out; with rest != nil
// only its first rest lanes (0 < rest < lanes) exist.
func (v isa) gatherOne(src reg.Register, nv, m1 reg.VecVirtual, in, out Mem, rest reg.GPVirtual) {
	iv, x := v.Vec(), v.Vec()
	if v.Lanes == 16 {
		k := K()
		if rest == nil {
			VMOVDQU32(in, iv)
			VPCMPUD(U8(1), nv, iv, k) // k = idx < n, unsigned: negatives fail
		} else {
			kt := v.MakeTail(rest).K
			VMOVDQU32_Z(in, kt, iv)
			VPCMPUD(U8(1), nv, iv, kt, k)
			VXORPS(x, x, x)
			VGATHERDPS(Mem{Base: src, Index: iv, Scale: 4}, k, x)
			VMOVUPS(x, kt, out)
			return
		}
		VXORPS(x, x, x)
		VGATHERDPS(Mem{Base: src, Index: iv, Scale: 4}, k, x)
		VMOVUPS(x, out)
		return
	}
	m, t := v.Vec(), v.Vec()
	var tm reg.VecVirtual
	if rest == nil {
		VMOVDQU(in, iv)
	} else {
		tm = x86.FirstLanes8(rest)
		VPMASKMOVD(in, tm, iv)
	}
	VPCMPGTD(iv, nv, m) // n > idx
	VPCMPGTD(m1, iv, t) // idx > -1
	VPAND(t, m, m)
	if tm != nil {
		VPAND(tm, m, m)
	}
	VXORPS(x, x, x)
	VGATHERDPS(m, Mem{Base: src, Index: iv, Scale: 4}, x)
	if tm == nil {
		VMOVUPS(x, out)
	} else {
		VMASKMOVPS(x, tm, out)
	}
}

// genPool2 emits
//
//	func Pool2<ISA>(y []float32, am []int32, x []float32, planes, h, w int)
//
// 2x2 max-pooling with stride 2 and no padding over planes planes of h x w
// floats: output (o, p) of a plane is the first maximum of its window in
// the order x[2o][2p], x[2o][2p+1], x[2o+1][2p], x[2o+1][2p+1] (the first
// NaN, if any), and am gets its offset in the plane, unless am is nil.
// Outputs are (h/2) x (w/2) per plane; an odd last row or column is not
// read. The caller checks the lengths.
//
// A vector of lanes outputs reads two vectors of each input row and splits
// them into even and odd columns; the running maximum is replaced where a
// candidate is greater or unordered, unless the maximum is already NaN.
func genPool2(v isa) {
	TEXT("Pool2"+v.Name, NOSPLIT, "func(y []float32, am []int32, x []float32, planes, h, w int)")
	Doc("Pool2"+v.Name+" is 2x2 max-pooling with stride 2 and argmax over planes planes of",
		"h x w floats (unchecked; see kernels.Conv).")
	// Counters the loops reload live on the stack: the loop body needs
	// most general registers.
	planesLeft, ohMem, owMem, skipMem := AllocLocal(8), AllocLocal(8), AllocLocal(8), AllocLocal(8)

	y := Load(Param("y").Base(), GP64())
	am := Load(Param("am").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	t := Load(Param("planes"), GP64())
	MOVQ(t, planesLeft)
	TESTQ(t, t)
	JE(LabelRef("done"))
	h := Load(Param("h"), GP64())
	w := Load(Param("w"), GP64())
	MOVQ(h, t)
	SHRQ(U8(1), t)
	MOVQ(t, ohMem)
	TESTQ(t, t)
	JE(LabelRef("done"))
	MOVQ(w, t)
	SHRQ(U8(1), t)
	MOVQ(t, owMem)
	TESTQ(t, t)
	JE(LabelRef("done"))

	rowBytes := GP64()
	MOVQ(w, rowBytes)
	SHLQ(U8(2), rowBytes)
	// After the last output row of a plane, an odd input row is skipped.
	ANDQ(U8(1), h)
	IMULQ(rowBytes, h)
	MOVQ(h, skipMem)

	// Offsets of the window's cells in the plane, relative to its corner,
	// and the corners' step from one output row to the next (2w) and from
	// one vector of outputs to the next (2*lanes).
	one := GP64()
	MOVQ(U64(1), one)
	offB := v.broadcast(one)
	offC := v.broadcast(w)
	wp1 := GP64()
	LEAQ(Mem{Base: w, Disp: 1}, wp1)
	offD := v.broadcast(wp1)
	twoW := GP64()
	LEAQ(Mem{Base: w, Index: w, Scale: 1}, twoW)
	rowStep := v.broadcast(twoW)
	MOVQ(U64(uint64(2*v.Lanes)), t)
	step := v.broadcast(t)
	iota2v := v.Vec()
	if v.Lanes == 16 {
		VMOVDQU32(iota2, iota2v)
	} else {
		VMOVDQU(iota2, iota2v)
	}
	pv := pool2Regs{offB: offB, offC: offC, offD: offD, step: step}
	if v.Lanes == 16 {
		pv.evens, pv.odds = v.Vec(), v.Vec()
		VMOVDQU32(evens, pv.evens)
		VMOVDQU32(odds, pv.odds)
	}

	r, c, rx := GP64(), GP64(), GP64()
	rowCorner, corner := v.Vec(), v.Vec()
	Label("plane")
	MOVQ(ohMem, r)
	// rowCorner holds each lane's window corner offset in the plane.
	v.move(iota2v, rowCorner)

	Label("row")
	MOVQ(owMem, c)
	MOVQ(x, rx)
	v.move(rowCorner, corner)

	Label("chunk")
	CMPQ(c, U32(v.Lanes))
	JB(LabelRef("tail"))
	v.pool2Vector(pv, rx, rowBytes, y, am, corner, nil)
	ADDQ(U32(2*v.Bytes()), rx)
	ADDQ(U32(v.Bytes()), y)
	TESTQ(am, am)
	JE(LabelRef("noam"))
	ADDQ(U32(v.Bytes()), am)
	Label("noam")
	SUBQ(U32(v.Lanes), c)
	JE(LabelRef("rowdone"))
	JMP(LabelRef("chunk"))

	Label("tail")
	v.pool2Vector(pv, rx, rowBytes, y, am, corner, c)
	LEAQ(Mem{Base: y, Index: c, Scale: 4}, y)
	TESTQ(am, am)
	JE(LabelRef("rowdone"))
	LEAQ(Mem{Base: am, Index: c, Scale: 4}, am)

	Label("rowdone")
	LEAQ(Mem{Base: x, Index: rowBytes, Scale: 2}, x)
	VPADDD(rowStep, rowCorner, rowCorner)
	DECQ(r)
	JNZ(LabelRef("row"))
	ADDQ(skipMem, x)
	DECQ(planesLeft)
	JNZ(LabelRef("plane"))

	Label("done")
	VZEROUPPER()
	RET()
}

// move copies a vector register.
func (v isa) move(src, dst reg.VecVirtual) {
	if v.Lanes == 16 {
		VMOVDQA32(src, dst)
		return
	}
	VMOVDQA(src, dst)
}

// pool2Regs are the vectors pool2Vector keeps across calls: the cell
// offsets of a window (x[2o][2p+1], x[2o+1][2p], x[2o+1][2p+1]), the step
// of the corner offsets per vector, and the AVX-512 split indices.
type pool2Regs struct {
	offB, offC, offD, step reg.VecVirtual
	evens, odds            reg.VecVirtual
}

// labels numbers the labels pool2Vector emits, unique per file.
var labels int

// pool2Vector pools one vector of outputs whose windows start at rx (row
// 2o) and rx+rowBytes (row 2o+1), stores them at y and their argmax
// (corner + cell offset) at am when am is not nil, and advances corner.
// With rest != nil only rest outputs (0 < rest < lanes) exist.
func (v isa) pool2Vector(pv pool2Regs, rx, rowBytes, y, am reg.Register, corner reg.VecVirtual, rest reg.GPVirtual) {
	at := func(row, vec int) Mem {
		m := Mem{Base: rx, Disp: vec * v.Bytes()}
		if row == 1 {
			m.Index, m.Scale = rowBytes, 1
		}
		return m
	}
	// Masks for a partial vector: 2*rest input floats per row (the first
	// vector's lanes, then the second's), rest outputs.
	var kin [2]reg.OpmaskVirtual
	var kout reg.OpmaskVirtual
	var mk [2]reg.VecVirtual
	var mout reg.VecVirtual
	if rest != nil {
		t := GP64()
		LEAQ(Mem{Base: rest, Index: rest, Scale: 1}, t)
		if v.Lanes == 16 {
			ones, bits := GP32(), GP32()
			MOVL(U32(0xffffffff), ones)
			BZHIL(t.As32(), ones, bits)
			kin[0], kin[1] = K(), K()
			KMOVW(bits, kin[0])
			SHRL(U8(16), bits)
			KMOVW(bits, kin[1])
			MOVL(U32(0xffff), ones)
			BZHIL(rest.As32(), ones, bits)
			kout = K()
			KMOVW(bits, kout)
		} else {
			n0, n1, eight := GP64(), GP64(), GP64()
			MOVQ(U64(8), eight)
			MOVQ(t, n0)
			CMPQ(n0, eight)
			CMOVQGT(eight, n0)
			MOVQ(t, n1)
			SUBQ(n0, n1)
			mk[0], mk[1], mout = x86.FirstLanes8(n0), x86.FirstLanes8(n1), x86.FirstLanes8(rest)
		}
	}
	var in [2][2]reg.VecVirtual
	for row := 0; row < 2; row++ {
		for vec := 0; vec < 2; vec++ {
			r := v.Vec()
			switch {
			case rest == nil:
				VMOVUPS(at(row, vec), r)
			case v.Lanes == 16:
				VMOVUPS_Z(at(row, vec), kin[vec], r)
			default:
				VMASKMOVPS(at(row, vec), mk[vec], r)
			}
			in[row][vec] = r
		}
	}
	// Split each row into its even and odd columns: the four cells.
	var cell [4]reg.VecVirtual
	for row := 0; row < 2; row++ {
		a, b := in[row][0], in[row][1]
		e, o := v.Vec(), v.Vec()
		if v.Lanes == 16 {
			VMOVDQA32(pv.evens, e)
			VPERMI2PS(b, a, e)
			VMOVDQA32(pv.odds, o)
			VPERMI2PS(b, a, o)
		} else {
			VSHUFPS(U8(0x88), b, a, e)
			VPERMPD(U8(0xd8), e, e)
			VSHUFPS(U8(0xdd), b, a, o)
			VPERMPD(U8(0xd8), o, o)
		}
		cell[2*row], cell[2*row+1] = e, o
	}
	best, off := cell[0], v.Vec()
	if v.Lanes == 16 {
		VPXORD(off, off, off)
	} else {
		VPXOR(off, off, off)
	}
	for i, offc := range []reg.VecVirtual{pv.offB, pv.offC, pv.offD} {
		c := cell[i+1]
		if v.Lanes == 16 {
			k := K()
			VCMPPS(U8(6), best, c, k)       // c > best, or unordered
			VCMPPS(U8(7), best, best, k, k) // ... unless best is NaN
			VMOVAPS(c, k, best)
			VMOVDQA32(offc, k, off)
			continue
		}
		m, ord := v.Vec(), v.Vec()
		VCMPPS(U8(6), best, c, m)      // c > best, or unordered
		VCMPPS(U8(7), best, best, ord) // ... unless best is NaN
		VANDPS(ord, m, m)
		VBLENDVPS(m, c, best, best)
		VBLENDVPS(m, offc, off, off)
	}
	VPADDD(corner, off, off)
	VPADDD(pv.step, corner, corner)
	switch {
	case rest == nil:
		VMOVUPS(best, Mem{Base: y})
	case v.Lanes == 16:
		VMOVUPS(best, kout, Mem{Base: y})
	default:
		VMASKMOVPS(best, mout, Mem{Base: y})
	}
	skip := "noarg" + strconv.Itoa(labels)
	labels++
	TESTQ(am, am)
	JE(LabelRef(skip))
	switch {
	case rest == nil && v.Lanes == 16:
		VMOVDQU32(off, Mem{Base: am})
	case rest == nil:
		VMOVDQU(off, Mem{Base: am})
	case v.Lanes == 16:
		VMOVDQU32(off, kout, Mem{Base: am})
	default:
		VPMASKMOVD(off, mout, Mem{Base: am})
	}
	Label(skip)
}
