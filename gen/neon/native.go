package neon

import (
	"fmt"
	"strings"
)

// This file holds the instructions Go's arm64 assembler knows. Each method
// takes Arm operand order (destination first) and writes Go's order.

func sameArr(op string, rs ...VA) {
	for _, r := range rs[1:] {
		if r.A != rs[0].A {
			panic(fmt.Sprintf("neon: %s: arrangements %s and %s differ", op, rs[0].A, r.A))
		}
	}
}

func wantArr(op string, r VA, ok ...Arr) {
	for _, a := range ok {
		if r.A == a {
			return
		}
	}
	panic(fmt.Sprintf("neon: %s does not take arrangement %s", op, r.A))
}

// gpFor is the GNU name of r as the general register that moves lanes of
// arrangement a: w for lanes up to 32 bits, x for 64.
func gpFor(r R, esize int) string {
	if esize == 64 {
		return r.gnuOp()
	}
	return r.gnuW()
}

// ---- loads and stores ----

func noOffset(op string, m Mem) {
	if m.Off != 0 {
		panic(fmt.Sprintf("neon: %s has no offset addressing (offset %d)", op, m.Off))
	}
}

// VLD1 loads the consecutive registers l from m (no offset).
func (fn *Func) VLD1(l []VA, m Mem) {
	ls := list(l).check()
	noOffset("VLD1", m)
	fn.native(fmt.Sprintf("VLD1\t%s, %s", m.goOp(), ls.goOp()), fmt.Sprintf("ld1 %s, %s", ls.gnuOp(), m.gnuOp()))
}

// VLD1P loads l from m.Base and then adds m.Off, which must be the size of
// the list, to m.Base.
func (fn *Func) VLD1P(l []VA, m Mem) {
	ls := list(l).check()
	postInc("VLD1.P", m, ls.bytes())
	fn.native(fmt.Sprintf("VLD1.P\t%d(%s), %s", m.Off, m.Base.base().goOp(), ls.goOp()),
		fmt.Sprintf("ld1 %s, [%s], #%d", ls.gnuOp(), m.Base.base().gnuOp(), m.Off))
}

// VLD1PR loads l from base and then adds the register inc to base.
func (fn *Func) VLD1PR(l []VA, base, inc R) {
	ls := list(l).check()
	fn.native(fmt.Sprintf("VLD1.P\t(%s)(%s), %s", base.base().goOp(), inc.goOp(), ls.goOp()),
		fmt.Sprintf("ld1 %s, [%s], %s", ls.gnuOp(), base.gnuOp(), inc.gnuOp()))
}

// VST1 stores the consecutive registers l to m (no offset).
func (fn *Func) VST1(l []VA, m Mem) {
	ls := list(l).check()
	noOffset("VST1", m)
	fn.native(fmt.Sprintf("VST1\t%s, %s", ls.goOp(), m.goOp()), fmt.Sprintf("st1 %s, %s", ls.gnuOp(), m.gnuOp()))
}

// VST1P stores l to m.Base and then adds m.Off (the size of the list).
func (fn *Func) VST1P(l []VA, m Mem) {
	ls := list(l).check()
	postInc("VST1.P", m, ls.bytes())
	fn.native(fmt.Sprintf("VST1.P\t%s, %d(%s)", ls.goOp(), m.Off, m.Base.base().goOp()),
		fmt.Sprintf("st1 %s, [%s], #%d", ls.gnuOp(), m.Base.base().gnuOp(), m.Off))
}

// VST1PR stores l to base and then adds the register inc to base.
func (fn *Func) VST1PR(l []VA, base, inc R) {
	ls := list(l).check()
	fn.native(fmt.Sprintf("VST1.P\t%s, (%s)(%s)", ls.goOp(), base.base().goOp(), inc.goOp()),
		fmt.Sprintf("st1 %s, [%s], %s", ls.gnuOp(), base.gnuOp(), inc.gnuOp()))
}

func postInc(op string, m Mem, size int) {
	if m.Off != size {
		panic(fmt.Sprintf("neon: %s post-increment must be the access size %d, not %d", op, size, m.Off))
	}
}

func laneGNU(e VE) string {
	return fmt.Sprintf("{v%d.%s}[%d]", e.V, strings.ToLower(e.letter()), e.I)
}

// VLD1Lane loads one lane from m (no offset); the other lanes keep their
// value.
func (fn *Func) VLD1Lane(e VE, m Mem) {
	noOffset("VLD1", m)
	fn.native(fmt.Sprintf("VLD1\t%s, %s", m.goOp(), e.goOp()), fmt.Sprintf("ld1 %s, %s", laneGNU(e), m.gnuOp()))
}

// VLD1LaneP loads one lane from m.Base and adds m.Off (the lane size).
func (fn *Func) VLD1LaneP(e VE, m Mem) {
	postInc("VLD1.P", m, e.ESize/8)
	fn.native(fmt.Sprintf("VLD1.P\t%d(%s), %s", m.Off, m.Base.base().goOp(), e.goOp()),
		fmt.Sprintf("ld1 %s, [%s], #%d", laneGNU(e), m.Base.base().gnuOp(), m.Off))
}

// VST1Lane stores one lane to m (no offset).
func (fn *Func) VST1Lane(e VE, m Mem) {
	noOffset("VST1", m)
	fn.native(fmt.Sprintf("VST1\t%s, %s", e.goOp(), m.goOp()), fmt.Sprintf("st1 %s, %s", laneGNU(e), m.gnuOp()))
}

// VST1LaneP stores one lane to m.Base and adds m.Off (the lane size).
func (fn *Func) VST1LaneP(e VE, m Mem) {
	postInc("VST1.P", m, e.ESize/8)
	fn.native(fmt.Sprintf("VST1.P\t%s, %d(%s)", e.goOp(), m.Off, m.Base.base().goOp()),
		fmt.Sprintf("st1 %s, [%s], #%d", laneGNU(e), m.Base.base().gnuOp(), m.Off))
}

// VLD1R loads one element from m (no offset) into every lane of d.
func (fn *Func) VLD1R(d VA, m Mem) {
	noOffset("VLD1R", m)
	fn.native(fmt.Sprintf("VLD1R\t%s, [%s]", m.goOp(), d.goOp()), fmt.Sprintf("ld1r {%s}, %s", d.gnuOp(), m.gnuOp()))
}

// VLD1RP loads one element into every lane of d and adds m.Off (the
// element size) to m.Base.
func (fn *Func) VLD1RP(d VA, m Mem) {
	postInc("VLD1R.P", m, d.A.ESize()/8)
	fn.native(fmt.Sprintf("VLD1R.P\t%d(%s), [%s]", m.Off, m.Base.base().goOp(), d.goOp()),
		fmt.Sprintf("ld1r {%s}, [%s], #%d", d.gnuOp(), m.Base.base().gnuOp(), m.Off))
}

// VLD2P loads 2*Lanes elements from m.Base de-interleaving them (elements
// 0, 2, 4, ... to l[0], 1, 3, 5, ... to l[1]) and then adds m.Off, which
// must be the size of the pair, to m.Base.
func (fn *Func) VLD2P(l []VA, m Mem) {
	ls := list(l).check()
	if len(ls) != 2 || ls[0].A == D1 {
		panic(fmt.Sprintf("neon: VLD2 takes two registers, not D1, not %s", ls.goOp()))
	}
	postInc("VLD2.P", m, ls.bytes())
	fn.native(fmt.Sprintf("VLD2.P\t%d(%s), %s", m.Off, m.Base.base().goOp(), ls.goOp()),
		fmt.Sprintf("ld2 %s, [%s], #%d", ls.gnuOp(), m.Base.base().gnuOp(), m.Off))
}

// PRFM hints that the cache line holding m will be used; op names the
// kind, level and policy the way both assemblers spell it (PLDL2KEEP:
// prefetch for load into L2, keep). m.Off must be a multiple of 8.
func (fn *Func) PRFM(m Mem, op string) {
	if m.Off < 0 || m.Off%8 != 0 {
		panic(fmt.Sprintf("neon: PRFM offset %d", m.Off))
	}
	fn.native(fmt.Sprintf("PRFM\t%s, %s", m.goOp(), op), fmt.Sprintf("prfm %s, %s", strings.ToLower(op), m.gnuOp()))
}

// ---- moves between registers ----

// VDUP copies the general register r into every lane of d.
func (fn *Func) VDUP(d VA, r R) {
	if d.A == D1 {
		panic("neon: VDUP does not take D1")
	}
	fn.native(fmt.Sprintf("VDUP\t%s, %s", r.goOp(), d.goOp()), fmt.Sprintf("dup %s, %s", d.gnuOp(), gpFor(r, d.A.ESize())))
}

// VDUPLane copies lane e into every lane of d.
func (fn *Func) VDUPLane(d VA, e VE) {
	if d.A.ESize() != e.ESize || d.A == D1 {
		panic(fmt.Sprintf("neon: VDUP %s from %d-bit lane", d.A, e.ESize))
	}
	fn.native(fmt.Sprintf("VDUP\t%s, %s", e.goOp(), d.goOp()), fmt.Sprintf("dup %s, %s", d.gnuOp(), e.gnuOp()))
}

// VMOV copies the whole register n to d (B8 or B16).
func (fn *Func) VMOV(d, n VA) {
	sameArr("VMOV", d, n)
	wantArr("VMOV", d, B8, B16)
	fn.native(fmt.Sprintf("VMOV\t%s, %s", n.goOp(), d.goOp()), fmt.Sprintf("mov %s, %s", d.gnuOp(), n.gnuOp()))
}

// VINS copies lane n to lane d; the other lanes of d keep their value.
func (fn *Func) VINS(d, n VE) {
	if d.ESize != n.ESize {
		panic("neon: VINS lanes of different widths")
	}
	fn.native(fmt.Sprintf("VMOV\t%s, %s", n.goOp(), d.goOp()), fmt.Sprintf("mov %s, %s", d.gnuOp(), n.gnuOp()))
}

// VMOVToR copies lane e (zero-extended) to the general register d.
func (fn *Func) VMOVToR(d R, e VE) {
	if e.ESize < 32 {
		panic("neon: VMOVToR takes 32- or 64-bit lanes")
	}
	fn.native(fmt.Sprintf("VMOV\t%s, %s", e.goOp(), d.goOp()), fmt.Sprintf("mov %s, %s", gpFor(d, e.ESize), e.gnuOp()))
}

// VMOVFromR copies the general register r to lane e.
func (fn *Func) VMOVFromR(e VE, r R) {
	fn.native(fmt.Sprintf("VMOV\t%s, %s", r.goOp(), e.goOp()), fmt.Sprintf("mov %s, %s", e.gnuOp(), gpFor(r, e.ESize)))
}

// VMOVI sets every byte of d (B8 or B16) to imm.
func (fn *Func) VMOVI(d VA, imm uint8) {
	wantArr("VMOVI", d, B8, B16)
	fn.native(fmt.Sprintf("VMOVI\t$%d, %s", imm, d.goOp()), fmt.Sprintf("movi %s, #%d", d.gnuOp(), imm))
}

// FMOV copies the scalar register n to d (the same width).
func (fn *Func) FMOV(d, n FReg) {
	if d.Bits != n.Bits {
		panic("neon: FMOV between widths")
	}
	op := map[int]string{32: "FMOVS", 64: "FMOVD"}[d.Bits]
	fn.native(fmt.Sprintf("%s\t%s, %s", op, n.goOp(), d.goOp()), fmt.Sprintf("fmov %s, %s", d.gnuOp(), n.gnuOp()))
}

// ---- vector arithmetic Go knows ----

// three emits a three-register vector instruction: Go "OP m, n, d",
// GNU "op d, n, m".
func (fn *Func) three(goOp, gnuOp string, d, n, m VA) {
	sameArr(goOp, d, n, m)
	fn.native(fmt.Sprintf("%s\t%s, %s, %s", goOp, m.goOp(), n.goOp(), d.goOp()),
		fmt.Sprintf("%s %s, %s, %s", gnuOp, d.gnuOp(), n.gnuOp(), m.gnuOp()))
}

// VFMLA sets d += n*m lane by lane with one rounding (S2, S4, D2).
func (fn *Func) VFMLA(d, n, m VA) {
	wantArr("VFMLA", d, S2, S4, D2)
	fn.three("VFMLA", "fmla", d, n, m)
}

// VFMLS sets d -= n*m lane by lane with one rounding (S2, S4, D2).
func (fn *Func) VFMLS(d, n, m VA) {
	wantArr("VFMLS", d, S2, S4, D2)
	fn.three("VFMLS", "fmls", d, n, m)
}

// VEOR sets d = n XOR m (B8 or B16).
func (fn *Func) VEOR(d, n, m VA) { wantArr("VEOR", d, B8, B16); fn.three("VEOR", "eor", d, n, m) }

// VAND sets d = n AND m (B8 or B16).
func (fn *Func) VAND(d, n, m VA) { wantArr("VAND", d, B8, B16); fn.three("VAND", "and", d, n, m) }

// VORR sets d = n OR m (B8 or B16).
func (fn *Func) VORR(d, n, m VA) { wantArr("VORR", d, B8, B16); fn.three("VORR", "orr", d, n, m) }

// VBSL selects bitwise: d = (d AND n) OR (NOT d AND m); d is the mask.
func (fn *Func) VBSL(d, n, m VA) { wantArr("VBSL", d, B8, B16); fn.three("VBSL", "bsl", d, n, m) }

// VBIT inserts n where m is set: d = (d AND NOT m) OR (n AND m).
func (fn *Func) VBIT(d, n, m VA) { wantArr("VBIT", d, B8, B16); fn.three("VBIT", "bit", d, n, m) }

// VBIF inserts n where m is clear: d = (d AND m) OR (n AND NOT m).
func (fn *Func) VBIF(d, n, m VA) { wantArr("VBIF", d, B8, B16); fn.three("VBIF", "bif", d, n, m) }

// VADD is the integer lane-wise d = n + m.
func (fn *Func) VADD(d, n, m VA) {
	if d.A == D1 {
		panic("neon: VADD does not take D1")
	}
	fn.three("VADD", "add", d, n, m)
}

// VSUB is the integer lane-wise d = n - m.
func (fn *Func) VSUB(d, n, m VA) {
	if d.A == D1 {
		panic("neon: VSUB does not take D1")
	}
	fn.three("VSUB", "sub", d, n, m)
}

func (fn *Func) shift(goOp, gnuOp string, d, n VA, s, lo, hi int) {
	sameArr(goOp, d, n)
	if d.A == D1 || s < lo || s > hi {
		panic(fmt.Sprintf("neon: %s %s by %d", goOp, d.A, s))
	}
	fn.native(fmt.Sprintf("%s\t$%d, %s, %s", goOp, s, n.goOp(), d.goOp()),
		fmt.Sprintf("%s %s, %s, #%d", gnuOp, d.gnuOp(), n.gnuOp(), s))
}

// VSHL shifts every integer lane of n left by s (0 <= s < lane width).
func (fn *Func) VSHL(d, n VA, s int) { fn.shift("VSHL", "shl", d, n, s, 0, d.A.ESize()-1) }

// VUSHR shifts every lane of n right by s, filling with zeros
// (1 <= s <= lane width).
func (fn *Func) VUSHR(d, n VA, s int) { fn.shift("VUSHR", "ushr", d, n, s, 1, d.A.ESize()) }

// VSRI shifts n right by s and inserts it into d, keeping d's top s bits.
func (fn *Func) VSRI(d, n VA, s int) { fn.shift("VSRI", "sri", d, n, s, 1, d.A.ESize()) }

// VSLI shifts n left by s and inserts it into d, keeping d's low s bits.
func (fn *Func) VSLI(d, n VA, s int) { fn.shift("VSLI", "sli", d, n, s, 0, d.A.ESize()-1) }

// VZIP1 interleaves the low halves of n and m.
func (fn *Func) VZIP1(d, n, m VA) { fn.three("VZIP1", "zip1", d, n, m) }

// VZIP2 interleaves the high halves of n and m.
func (fn *Func) VZIP2(d, n, m VA) { fn.three("VZIP2", "zip2", d, n, m) }

// VUZP1 concatenates the even-numbered lanes of n and then of m.
func (fn *Func) VUZP1(d, n, m VA) { noD1("VUZP1", d); fn.three("VUZP1", "uzp1", d, n, m) }

// VUZP2 concatenates the odd-numbered lanes of n and then of m.
func (fn *Func) VUZP2(d, n, m VA) { noD1("VUZP2", d); fn.three("VUZP2", "uzp2", d, n, m) }

func noD1(op string, r VA) {
	if r.A == D1 {
		panic(fmt.Sprintf("neon: %s does not take D1", op))
	}
}

// VEXT extracts a vector from the pair m:n starting at byte idx of n.
func (fn *Func) VEXT(d, n, m VA, idx int) {
	sameArr("VEXT", d, n, m)
	wantArr("VEXT", d, B8, B16)
	if idx < 0 || idx >= d.A.Lanes() {
		panic(fmt.Sprintf("neon: VEXT index %d", idx))
	}
	fn.native(fmt.Sprintf("VEXT\t$%d, %s, %s, %s", idx, m.goOp(), n.goOp(), d.goOp()),
		fmt.Sprintf("ext %s, %s, %s, #%d", d.gnuOp(), n.gnuOp(), m.gnuOp(), idx))
}

// ---- frame access ----

// Load reads an integer or pointer argument into r.
func (fn *Func) Load(r R, s Slot) {
	switch s.Size {
	case 8:
		fn.native(fmt.Sprintf("MOVD\t%s, %s", s.goOp(), r.goOp()), "")
	case 4:
		fn.native(fmt.Sprintf("MOVWU\t%s, %s", s.goOp(), r.goOp()), "")
	default:
		panic(fmt.Sprintf("neon: Load of a %d-byte slot", s.Size))
	}
}

// LoadF reads a float32 or float64 argument into the low lane of v (the
// other lanes are cleared).
func (fn *Func) LoadF(v V, s Slot) {
	op := map[int]string{4: "FMOVS", 8: "FMOVD"}[s.Size]
	if op == "" {
		panic(fmt.Sprintf("neon: LoadF of a %d-byte slot", s.Size))
	}
	fn.native(fmt.Sprintf("%s\t%s, %s", op, s.goOp(), v.F(s.Size*8).goOp()), "")
}

// StoreF writes the low lane of v to a float32 or float64 result.
func (fn *Func) StoreF(s Slot, v V) {
	op := map[int]string{4: "FMOVS", 8: "FMOVD"}[s.Size]
	if op == "" {
		panic(fmt.Sprintf("neon: StoreF of a %d-byte slot", s.Size))
	}
	fn.native(fmt.Sprintf("%s\t%s, %s", op, v.F(s.Size*8).goOp(), s.goOp()), "")
}

// ---- general-register loads and stores ----

// postIndex checks a post-index increment: within [lo, hi], a multiple of
// scale, and a base register that is not also a data register (the
// architecture leaves that unpredictable when the base is written back).
func postIndex(op string, m Mem, lo, hi, scale int, data ...R) {
	if m.Off < lo || m.Off > hi || m.Off%scale != 0 {
		panic(fmt.Sprintf("neon: %s post-increment %d", op, m.Off))
	}
	for _, r := range data {
		if r == m.Base {
			panic(fmt.Sprintf("neon: %s transfers its base register %s", op, r.goOp()))
		}
	}
}

// LDRSWP loads the 32-bit word at m.Base, sign-extended to 64 bits, into d
// and then adds m.Off (-256 to 255) to m.Base.
func (fn *Func) LDRSWP(d R, m Mem) {
	postIndex("LDRSW", m, -256, 255, 1, d)
	fn.native(fmt.Sprintf("MOVW.P\t%d(%s), %s", m.Off, m.Base.base().goOp(), d.goOp()),
		fmt.Sprintf("ldrsw %s, [%s], #%d", d.gnuOp(), m.Base.base().gnuOp(), m.Off))
}

// STRWP stores the low 32 bits of s at m.Base and then adds m.Off (-256 to
// 255) to m.Base.
func (fn *Func) STRWP(s R, m Mem) {
	postIndex("STR", m, -256, 255, 1, s)
	fn.native(fmt.Sprintf("MOVW.P\t%s, %d(%s)", s.goOp(), m.Off, m.Base.base().goOp()),
		fmt.Sprintf("str %s, [%s], #%d", s.gnuW(), m.Base.base().gnuOp(), m.Off))
}

// LDRWIdx loads the 32-bit word at base + 4*idx, zero-extended, into d.
func (fn *Func) LDRWIdx(d, base, idx R) {
	fn.native(fmt.Sprintf("MOVWU\t(%s)(%s<<2), %s", base.base().goOp(), idx.goOp(), d.goOp()),
		fmt.Sprintf("ldr %s, [%s, %s, lsl #2]", d.gnuW(), base.base().gnuOp(), idx.gnuOp()))
}

// LDPSWP loads the two 32-bit words at m.Base, sign-extended, into d1 and
// d2, and then adds m.Off (a multiple of 4 from -256 to 252) to m.Base.
func (fn *Func) LDPSWP(d1, d2 R, m Mem) {
	if d1 == d2 {
		panic("neon: LDPSW into one register twice")
	}
	postIndex("LDPSW", m, -256, 252, 4, d1, d2)
	fn.native(fmt.Sprintf("LDPSW.P\t%d(%s), (%s, %s)", m.Off, m.Base.base().goOp(), d1.goOp(), d2.goOp()),
		fmt.Sprintf("ldpsw %s, %s, [%s], #%d", d1.gnuOp(), d2.gnuOp(), m.Base.base().gnuOp(), m.Off))
}

// STPWP stores the low 32 bits of s1 and then of s2 at m.Base and adds
// m.Off (a multiple of 4 from -256 to 252) to m.Base.
func (fn *Func) STPWP(s1, s2 R, m Mem) {
	postIndex("STPW", m, -256, 252, 4, s1, s2)
	fn.native(fmt.Sprintf("STPW.P\t(%s, %s), %d(%s)", s1.goOp(), s2.goOp(), m.Off, m.Base.base().goOp()),
		fmt.Sprintf("stp %s, %s, [%s], #%d", s1.gnuW(), s2.gnuW(), m.Base.base().gnuOp(), m.Off))
}

// ---- general registers and control flow ----

// Src is the second source of an integer instruction: a register or an
// immediate.
type Src interface {
	goOp() string
	gnuOp() string
}

// MOVD sets d to the 64-bit immediate i.
func (fn *Func) MOVD(d R, i Imm) {
	gnu := ""
	if i >= 0 && i < 1<<16 {
		gnu = fmt.Sprintf("mov %s, #%d", d.gnuOp(), i)
	}
	fn.native(fmt.Sprintf("MOVD\t%s, %s", i.goOp(), d.goOp()), gnu)
}

// MOVW sets d to the 32-bit immediate i, zero-extended (the bits of a
// float32 constant, for instance).
func (fn *Func) MOVW(d R, i uint32) {
	gnu := ""
	if i < 1<<16 {
		gnu = fmt.Sprintf("mov %s, #%d", d.gnuW(), i)
	}
	fn.native(fmt.Sprintf("MOVW\t$0x%x, %s", i, d.goOp()), gnu)
}

// MOV copies the general register n to d.
func (fn *Func) MOV(d, n R) {
	fn.native(fmt.Sprintf("MOVD\t%s, %s", n.goOp(), d.goOp()), fmt.Sprintf("mov %s, %s", d.gnuOp(), n.gnuOp()))
}

func (fn *Func) arith(goOp, gnuOp string, d, n R, m Src) {
	fn.native(fmt.Sprintf("%s\t%s, %s, %s", goOp, m.goOp(), n.goOp(), d.goOp()),
		fmt.Sprintf("%s %s, %s, %s", gnuOp, d.gnuOp(), n.gnuOp(), m.gnuOp()))
}

// ADD sets d = n + m.
func (fn *Func) ADD(d, n R, m Src) { fn.arith("ADD", "add", d, n, m) }

// SUB sets d = n - m.
func (fn *Func) SUB(d, n R, m Src) { fn.arith("SUB", "sub", d, n, m) }

// SUBS sets d = n - m and the flags.
func (fn *Func) SUBS(d, n R, m Src) { fn.arith("SUBS", "subs", d, n, m) }

// AND sets d = n AND m (m a register or a bitmask immediate).
func (fn *Func) AND(d, n R, m Src) { fn.arith("AND", "and", d, n, m) }

// LSL sets d = n << s.
func (fn *Func) LSL(d, n R, s int) {
	fn.native(fmt.Sprintf("LSL\t$%d, %s, %s", s, n.goOp(), d.goOp()), fmt.Sprintf("lsl %s, %s, #%d", d.gnuOp(), n.gnuOp(), s))
}

// LSR sets d = n >> s, filling with zeros.
func (fn *Func) LSR(d, n R, s int) {
	fn.native(fmt.Sprintf("LSR\t$%d, %s, %s", s, n.goOp(), d.goOp()), fmt.Sprintf("lsr %s, %s, #%d", d.gnuOp(), n.gnuOp(), s))
}

// MUL sets d = n * m.
func (fn *Func) MUL(d, n, m R) {
	fn.native(fmt.Sprintf("MUL\t%s, %s, %s", m.goOp(), n.goOp(), d.goOp()), fmt.Sprintf("mul %s, %s, %s", d.gnuOp(), n.gnuOp(), m.gnuOp()))
}

// CMP sets the flags from n - m.
func (fn *Func) CMP(n R, m Src) {
	fn.native(fmt.Sprintf("CMP\t%s, %s", m.goOp(), n.goOp()), fmt.Sprintf("cmp %s, %s", n.gnuOp(), m.gnuOp()))
}

// Cond is a condition code of a conditional branch or select.
type Cond string

// The condition codes (LO/HS: unsigned below / above-or-equal).
const (
	EQ Cond = "EQ"
	NE Cond = "NE"
	LT Cond = "LT"
	LE Cond = "LE"
	GT Cond = "GT"
	GE Cond = "GE"
	LO Cond = "LO"
	LS Cond = "LS"
	HI Cond = "HI"
	HS Cond = "HS"
)

// CSEL sets d = n if c holds, m otherwise.
func (fn *Func) CSEL(c Cond, d, n, m R) {
	fn.native(fmt.Sprintf("CSEL\t%s, %s, %s, %s", c, n.goOp(), m.goOp(), d.goOp()),
		fmt.Sprintf("csel %s, %s, %s, %s", d.gnuOp(), n.gnuOp(), m.gnuOp(), strings.ToLower(string(c))))
}

func isBranch(op string) bool {
	switch op {
	case "B", "CBZ", "CBNZ", "TBZ", "TBNZ":
		return true
	}
	switch Cond(strings.TrimPrefix(op, "B")) {
	case EQ, NE, LT, LE, GT, GE, LO, LS, HI, HS:
		return op[0] == 'B'
	}
	return false
}

// B branches to label.
func (fn *Func) B(label string) { fn.native("B\t"+label, "") }

// BCond branches to label when c holds.
func (fn *Func) BCond(c Cond, label string) { fn.native(fmt.Sprintf("B%s\t%s", c, label), "") }

// CBZ branches to label when r is zero.
func (fn *Func) CBZ(r R, label string) { fn.native(fmt.Sprintf("CBZ\t%s, %s", r.goOp(), label), "") }

// CBNZ branches to label when r is not zero.
func (fn *Func) CBNZ(r R, label string) { fn.native(fmt.Sprintf("CBNZ\t%s, %s", r.goOp(), label), "") }

// TBZ branches to label when bit b of r is zero.
func (fn *Func) TBZ(b int, r R, label string) {
	fn.native(fmt.Sprintf("TBZ\t$%d, %s, %s", b, r.goOp(), label), "")
}

// TBNZ branches to label when bit b of r is set.
func (fn *Func) TBNZ(b int, r R, label string) {
	fn.native(fmt.Sprintf("TBNZ\t$%d, %s, %s", b, r.goOp(), label), "")
}

// RET returns.
func (fn *Func) RET() { fn.native("RET", "ret") }
