// Command conv generates the arm64 (NEON) data-movement kernels of package
// asm behind package conv's im2col and max-pooling: Shift, Gather and
// Pool2, the twins of gen/conv's AVX-512 and AVX2 kernels with the contract
// of kernels.Conv. They move and compare floats and never round, so their
// results are the generic twins' bit for bit.
//
// NEON has neither masked loads nor gathers, so the shapes differ from
// amd64's: Shift works row by row (zeros, a copy, zeros) instead of down
// masked columns, Gather loads through general registers one index at a
// time, and Pool2 splits even and odd columns with LD2 instead of
// permutes. Tails move single lanes (32- or 64-bit): nothing outside the
// slices is read or written.
//
// Run through `go generate ./...` from the repository root; see asm/gen.go.
package main

import . "github.com/snnkit/snn/gen/neon"

func main() {
	Generate("gen/neon/conv", func(f *File) {
		genShift(f)
		genGather(f)
		genPool2(f)
	})
}

// S is the four-lane 32-bit view of v.
func S(v V) VA { return v.S4() }

// genShift emits
//
//	func ShiftNEON(dst, src []float32, rows, w, stride, shift, lo, hi int)
//
// which sets, for s < rows and i < w,
//
//	dst[s*w+i] = src[s*stride+i+shift]  if lo <= i < hi,  0 otherwise.
//
// Each row of dst is written front to back in three runs: lo zeros, the
// hi-lo floats copied from src, w-hi zeros (see run). The caller checks
// that src holds what is read and dst rows*w floats.
//
// Register plan: R0 dst (advancing through the rows), R1 the source of the
// row's first copied column, R2 rows left, R3 w, R4 stride in bytes, R5
// shift, R6 lo, R7 hi, R8 hi-lo, R9 w-hi, R10 the source pointer of a run,
// R11 the count of a run; V0-V3 zeros, V4-V7 the floats in flight.
func genShift(f *File) {
	fn := f.Func("ShiftNEON", "func(dst, src []float32, rows, w, stride, shift, lo, hi int)",
		"ShiftNEON sets dst[s*w+i] = src[s*stride+i+shift] for lo <= i < hi and 0 for the",
		"other i < w, for every row s < rows (unchecked; see kernels.Conv).")
	dst, src, rows, w, stride, shift, lo, hi := R0, R1, R2, R3, R4, R5, R6, R7
	mid, right, ps, cnt := R8, R9, R10, R11
	fn.Load(dst, fn.Slot("dst_base"))
	fn.Load(src, fn.Slot("src_base"))
	fn.Load(rows, fn.Slot("rows"))
	fn.Load(w, fn.Slot("w"))
	fn.Load(stride, fn.Slot("stride"))
	fn.Load(shift, fn.Slot("shift"))
	fn.Load(lo, fn.Slot("lo"))
	fn.Load(hi, fn.Slot("hi"))
	fn.CBZ(rows, "done")
	fn.SUB(mid, hi, lo)
	fn.SUB(right, w, hi)
	// src moves to row 0's first copied column, src[lo+shift]: with
	// nothing to copy it may point outside the slice, and is never read.
	fn.ADD(shift, shift, lo)
	fn.LSL(shift, shift, 2)
	fn.ADD(src, src, shift)
	fn.LSL(stride, stride, 2)
	zeros := Vecs(V0, 4)
	for _, z := range zeros {
		fn.Zero(z)
	}

	fn.Label("row")
	r := runRegs{dst: dst, cnt: cnt, zeros: zeros, data: Vecs(V4, 4)}
	r.emit(fn, "left", lo, ZR)
	fn.MOV(ps, src)
	r.emit(fn, "copy", mid, ps)
	r.emit(fn, "right", right, ZR)
	fn.ADD(src, src, stride)
	fn.SUBS(rows, rows, Imm(1))
	fn.BCond(NE, "row")

	fn.Label("done")
	fn.RET()
}

// runRegs are the registers of a Shift run: the store pointer, the count,
// four zero registers and four for the floats copied.
type runRegs struct {
	dst, cnt    R
	zeros, data []V
}

// emit writes n floats at dst, advancing it: zeros when from is ZR,
// otherwise floats copied from from (advanced too). 16 floats move per
// iteration (four-register VLD1/VST1); the remainder r < 16 moves as 8, 4,
// 2 and 1 floats as its bits say, the last two as 64- and 32-bit lanes, so
// nothing past the run is touched. After the loop cnt is r-16, whose low
// four bits are r's.
func (rr runRegs) emit(fn *Func, name string, n, from R) {
	fn.CBZ(n, name+"_done")
	fn.MOV(rr.cnt, n)
	move := func(k int) {
		if from == ZR {
			fn.StoreVecs(rr.dst, rr.zeros[:k])
			return
		}
		fn.LoadVecs(from, rr.data[:k])
		fn.StoreVecs(rr.dst, rr.data[:k])
	}
	fn.SUBS(rr.cnt, rr.cnt, Imm(4*Lanes))
	fn.BCond(LT, name+"_rest")
	fn.Label(name)
	move(4)
	fn.SUBS(rr.cnt, rr.cnt, Imm(4*Lanes))
	fn.BCond(GE, name)
	fn.Label(name + "_rest")
	fn.TBZ(3, rr.cnt, name+"_4")
	move(2)
	fn.Label(name + "_4")
	fn.TBZ(2, rr.cnt, name+"_2")
	move(1)
	fn.Label(name + "_2")
	v := rr.data[0]
	if from == ZR {
		v = rr.zeros[0]
	}
	fn.TBZ(1, rr.cnt, name+"_1")
	if from != ZR {
		fn.VLD1LaneP(v.D(0), At(from, 8))
	}
	fn.VST1LaneP(v.D(0), At(rr.dst, 8))
	fn.Label(name + "_1")
	fn.TBZ(0, rr.cnt, name+"_done")
	if from != ZR {
		fn.VLD1LaneP(v.S(0), At(from, 4))
	}
	fn.VST1LaneP(v.S(0), At(rr.dst, 4))
	fn.Label(name + "_done")
}

// genGather emits
//
//	func GatherNEON(dst []float32, ld int, src []float32, plane, planes int, idx []int32, rows, w int)
//
// which sets, for q < planes, r < rows and i < w, with t = idx[r*w+i],
//
//	dst[(q*rows+r)*ld+i] = src[q*plane+t]  if 0 <= t < plane,  0 otherwise.
//
// NEON has no gather: each float goes through a general register. An
// index is loaded sign-extended, so one unsigned compare with plane
// rejects negative and too large ones alike; a rejected index is replaced
// by 0 before the load (the address stays in the plane) and the loaded
// word by 0 after it. Indices are loaded and floats stored in pairs (LDPSW,
// STPW), four per iteration, then one at a time. The caller checks that src
// holds planes*plane floats, idx rows*w indices and dst
// (planes*rows-1)*ld+w floats.
//
// Register plan: R0 dst (row start), R1 ld in bytes, R2 src (the plane),
// R3 plane, R4 planes left, R5 idx, R6 rows, R7 w, R8 the index pointer,
// R9 rows left, R10 the store pointer, R11 columns left, R12 plane in
// bytes, R13-R16 indices, R17 and R19-R21 the floats (as 32-bit words).
func genGather(f *File) {
	fn := f.Func("GatherNEON", "func(dst []float32, ld int, src []float32, plane, planes int, idx []int32, rows, w int)",
		"GatherNEON sets dst[(q*rows+r)*ld+i] = src[q*plane+idx[r*w+i]], or 0 where the index",
		"is outside [0, plane), for q < planes, r < rows and i < w (unchecked; see kernels.Conv).")
	dst, ld, src, n, planes, idx0, rows, w := R0, R1, R2, R3, R4, R5, R6, R7
	idx, r, pd, c, planeBytes := R8, R9, R10, R11, R12
	t := []R{R13, R14, R15, R16}
	v := []R{R17, R19, R20, R21}
	fn.Load(dst, fn.Slot("dst_base"))
	fn.Load(ld, fn.Slot("ld"))
	fn.Load(src, fn.Slot("src_base"))
	fn.Load(n, fn.Slot("plane"))
	fn.Load(planes, fn.Slot("planes"))
	fn.Load(idx0, fn.Slot("idx_base"))
	fn.Load(rows, fn.Slot("rows"))
	fn.Load(w, fn.Slot("w"))
	fn.CBZ(planes, "done")
	fn.CBZ(rows, "done")
	fn.CBZ(w, "done")
	fn.LSL(ld, ld, 2)
	fn.LSL(planeBytes, n, 2)
	// An empty plane rejects every index, but the replacement index 0
	// still needs a readable word: read idx's first instead (the value is
	// dropped, and planeBytes = 0 keeps src there).
	fn.CMP(n, Imm(0))
	fn.CSEL(EQ, src, idx0, src)

	// one gathers the float of index register t into v; the flags of its
	// compare must survive until the second select.
	one := func(t, v R) {
		fn.CMP(t, n)
		fn.CSEL(LO, t, t, ZR)
		fn.LDRWIdx(v, src, t)
		fn.CSEL(LO, v, v, ZR)
	}

	fn.Label("plane")
	fn.MOV(idx, idx0)
	fn.MOV(r, rows)
	fn.Label("row")
	fn.MOV(pd, dst)
	fn.MOV(c, w)
	fn.Countdown(c, 4, "quad", func() {
		fn.LDPSWP(t[0], t[1], At(idx, 8))
		fn.LDPSWP(t[2], t[3], At(idx, 8))
		for k := range t {
			one(t[k], v[k])
		}
		fn.STPWP(v[0], v[1], At(pd, 8))
		fn.STPWP(v[2], v[3], At(pd, 8))
	})
	fn.Countdown(c, 1, "single", func() {
		fn.LDRSWP(t[0], At(idx, 4))
		one(t[0], v[0])
		fn.STRWP(v[0], At(pd, 4))
	})
	fn.ADD(dst, dst, ld)
	fn.SUBS(r, r, Imm(1))
	fn.BCond(NE, "row")
	fn.ADD(src, src, planeBytes)
	fn.SUBS(planes, planes, Imm(1))
	fn.BCond(NE, "plane")

	fn.Label("done")
	fn.RET()
}

// pool2Vec is the register set of one vector of four Pool2 outputs.
type pool2Vec struct {
	best, b, c, d V // the window's cells; best starts as the first
	off           V // the winner's cell offset, then its plane offset
	eq, m         V // best == best, then the replace mask
}

// pool2Vecs returns the register sets of u vectors: V8k.. for vector k.
func pool2Vecs(u int) []pool2Vec {
	ps := make([]pool2Vec, u)
	for k := range ps {
		b := V(8 * k)
		ps[k] = pool2Vec{best: b, b: b + 1, c: b + 2, d: b + 3, off: b + 4, eq: b + 5, m: b + 6}
	}
	return ps
}

// pool2Consts are the vectors Pool2 keeps in registers: the offsets of
// the window's cells x[2o][2p+1], x[2o+1][2p], x[2o+1][2p+1] from its
// corner (1, w, w+1), and the corner offsets of the current vector.
type pool2Consts struct {
	offB, offC, offD V
	step             V // corner offsets advance by 8 per vector of outputs
	corner           V
}

// pool2Select picks the first maximum of each vector's window (the first
// NaN, if any) into best, with its cell offset plus the corner's into off,
// and advances the corner per vector; the u chains interleave.
//
// The running maximum is replaced where a cell is greater or unordered
// and the maximum is not NaN: m = (best == best) AND NOT (best >= cell),
// 3 instructions, then 2 BITs. The first cell's offset is m AND 1.
func pool2Select(fn *Func, k pool2Consts, vs []pool2Vec) {
	u := len(vs)
	cells := func(p pool2Vec) [3]V { return [3]V{p.b, p.c, p.d} }
	offs := [3]V{k.offB, k.offC, k.offD}
	for i := 0; i < 3; i++ {
		Each(u, func(j int) { fn.FCMEQ(S(vs[j].eq), S(vs[j].best), S(vs[j].best)) })
		Each(u, func(j int) { fn.FCMGE(S(vs[j].m), S(vs[j].best), S(cells(vs[j])[i])) })
		Each(u, func(j int) { fn.BIC(vs[j].m.B16(), vs[j].eq.B16(), vs[j].m.B16()) })
		Each(u, func(j int) { fn.VBIT(vs[j].best.B16(), cells(vs[j])[i].B16(), vs[j].m.B16()) })
		if i == 0 {
			Each(u, func(j int) { fn.VAND(vs[j].off.B16(), vs[j].m.B16(), offs[i].B16()) })
		} else {
			Each(u, func(j int) { fn.VBIT(vs[j].off.B16(), offs[i].B16(), vs[j].m.B16()) })
		}
	}
	for _, p := range vs {
		fn.VADD(S(p.off), S(p.off), S(k.corner))
		fn.VADD(S(k.corner), S(k.corner), S(k.step))
	}
}

// genPool2 emits
//
//	func Pool2NEON(y []float32, am []int32, x []float32, planes, h, w int)
//
// 2x2 max-pooling with stride 2 and no padding over planes planes of h x w
// floats: output (o, p) of a plane is the first maximum of x[2o][2p],
// x[2o][2p+1], x[2o+1][2p], x[2o+1][2p+1] (the first NaN, if any), and am
// gets its offset in the plane unless am is nil. An odd last row or column
// is not read. The caller checks the lengths.
//
// Each output row takes 8 outputs per iteration (two vectors; LD2 loads 8
// floats of an input row split into even and odd columns), then 4, then 1
// to 3, whose input pairs load as 64-bit lanes and split with UZP1/UZP2.
//
// Register plan: R0 y, R1 am, R2 x (the output row's first input row), R3
// planes left, R4 h, R5 w, R6 h/2, R7 w/2, R8 w in bytes, R9 the odd row
// skipped after a plane, R10 output rows left, R11 outputs left in the
// row, R12 and R13 the two input rows, R14 scratch, R15 2w in bytes; V0-V6
// and V8-V14 the two vectors (pool2Vec), V16-V19 the tail's input pairs,
// V24 the corner offsets, V25 those of the row's first vector, V26 0 2 4
// 6, V27 2w, V28 8, V29 w+1, V30 w, V31 1.
func genPool2(f *File) {
	fn := f.Func("Pool2NEON", "func(y []float32, am []int32, x []float32, planes, h, w int)",
		"Pool2NEON is 2x2 max-pooling with stride 2 and argmax over planes planes of",
		"h x w floats (unchecked; see kernels.Conv).")
	y, am, x, planes, h, w := R0, R1, R2, R3, R4, R5
	oh, ow, rowBytes, skip, r, c, p0, p1, tmp, twoRows := R6, R7, R8, R9, R10, R11, R12, R13, R14, R15
	fn.Load(y, fn.Slot("y_base"))
	fn.Load(am, fn.Slot("am_base"))
	fn.Load(x, fn.Slot("x_base"))
	fn.Load(planes, fn.Slot("planes"))
	fn.Load(h, fn.Slot("h"))
	fn.Load(w, fn.Slot("w"))
	fn.CBZ(planes, "done")
	fn.LSR(oh, h, 1)
	fn.CBZ(oh, "done")
	fn.LSR(ow, w, 1)
	fn.CBZ(ow, "done")
	fn.LSL(rowBytes, w, 2)
	fn.ADD(twoRows, rowBytes, rowBytes)
	fn.AND(skip, h, Imm(1))
	fn.MUL(skip, skip, rowBytes)

	k := pool2Consts{offB: V31, offC: V30, offD: V29, step: V28, corner: V24}
	rowStep, iota2, rowCorner := V27, V26, V25
	fn.MOVD(tmp, Imm(1))
	fn.VDUP(S(k.offB), tmp)
	fn.VDUP(S(k.offC), w)
	fn.ADD(tmp, w, Imm(1))
	fn.VDUP(S(k.offD), tmp)
	fn.MOVD(tmp, Imm(2*Lanes))
	fn.VDUP(S(k.step), tmp)
	fn.ADD(tmp, w, w)
	fn.VDUP(S(rowStep), tmp)
	for i := 0; i < Lanes; i++ {
		fn.MOVD(tmp, Imm(2*i))
		fn.VMOVFromR(iota2.S(i), tmp)
	}

	vs := pool2Vecs(2)
	// vectors emits the loads, selection and stores of len(ws) whole
	// vectors of outputs.
	vectors := func(ws []pool2Vec, label string) {
		for _, p := range ws {
			fn.VLD2P([]VA{S(p.best), S(p.b)}, At(p0, 2*VecBytes))
		}
		for _, p := range ws {
			fn.VLD2P([]VA{S(p.c), S(p.d)}, At(p1, 2*VecBytes))
		}
		pool2Select(fn, k, ws)
		for _, p := range ws {
			fn.VST1P([]VA{S(p.best)}, At(y, VecBytes))
		}
		fn.CBZ(am, label)
		for _, p := range ws {
			fn.VST1P([]VA{S(p.off)}, At(am, VecBytes))
		}
		fn.Label(label)
	}

	fn.Label("plane")
	fn.VMOV(rowCorner.B16(), iota2.B16())
	fn.MOV(r, oh)
	fn.Label("row")
	fn.MOV(p0, x)
	fn.ADD(p1, x, rowBytes)
	fn.MOV(c, ow)
	fn.VMOV(k.corner.B16(), rowCorner.B16())
	fn.Countdown(c, 2*Lanes, "pair", func() { vectors(vs, "pair_noam") })
	fn.Countdown(c, Lanes, "quad", func() { vectors(vs[:1], "quad_noam") })
	fn.CBZ(c, "rowdone")

	// 1 to 3 outputs: their input pairs, as 64-bit lanes of two registers
	// per row, then split into even and odd columns. The lanes past them
	// hold stale values and are never stored.
	pairs := func(p R, lo, hi V, label string) {
		fn.VLD1LaneP(lo.D(0), At(p, 8))
		fn.CMP(c, Imm(2))
		fn.BCond(LT, label)
		fn.VLD1LaneP(lo.D(1), At(p, 8))
		fn.BCond(EQ, label)
		fn.VLD1LaneP(hi.D(0), At(p, 8))
		fn.Label(label)
	}
	t := vs[0]
	pairs(p0, V16, V17, "tail_row0")
	pairs(p1, V18, V19, "tail_row1")
	fn.VUZP1(S(t.best), S(V16), S(V17))
	fn.VUZP2(S(t.b), S(V16), S(V17))
	fn.VUZP1(S(t.c), S(V18), S(V19))
	fn.VUZP2(S(t.d), S(V18), S(V19))
	pool2Select(fn, k, vs[:1])
	fn.StoreTail(y, c, t.best, "tail_y")
	fn.CBZ(am, "rowdone")
	fn.StoreTail(am, c, t.off, "tail_am")

	fn.Label("rowdone")
	fn.ADD(x, x, twoRows)
	fn.VADD(S(rowCorner), S(rowCorner), S(rowStep))
	fn.SUBS(r, r, Imm(1))
	fn.BCond(NE, "row")
	fn.ADD(x, x, skip)
	fn.SUBS(planes, planes, Imm(1))
	fn.BCond(NE, "plane")

	fn.Label("done")
	fn.RET()
}
