package neon

import "fmt"

// This file holds the instructions Go's arm64 assembler lacks. Each is
// written as a WORD whose encoding is assembled here from the instruction's
// fields (Arm Architecture Reference Manual, "Advanced SIMD" encodings);
// the GNU spelling goes into the comment, and the tests check both against
// binutils.

// fpSize is the sz bit of a float vector arrangement (S2, S4: 0; D2: 1).
func fpSize(op string, a Arr) uint32 {
	switch a {
	case S2, S4:
		return 0
	case D2:
		return 1
	}
	panic(fmt.Sprintf("neon: %s does not take arrangement %s", op, a))
}

// regs places Rd, Rn and Rm in their fields.
func regs(d, n, m V) uint32 { return uint32(m)<<16 | uint32(n)<<5 | uint32(d) }

// fp3 emits an instruction of the "three same" floating-point group:
// 0 Q U 01110 a sz 1 Rm opcode 1 Rn Rd; base holds U, a and opcode.
func (fn *Func) fp3(base uint32, name string, d, n, m VA) {
	sameArr(name, d, n, m)
	w := base | d.A.Q()<<30 | fpSize(name, d.A)<<22 | regs(d.V, n.V, m.V)
	fn.word(w, fmt.Sprintf("%s %s, %s, %s", name, d.gnuOp(), n.gnuOp(), m.gnuOp()))
}

// fp2 emits an instruction of the "two-register miscellaneous"
// floating-point group: 0 Q U 01110 a sz 10000 opcode 10 Rn Rd. suffix is
// appended to the GNU operands (", #0.0" for the compares with zero).
func (fn *Func) fp2(base uint32, name string, d, n VA, suffix string) {
	sameArr(name, d, n)
	w := base | d.A.Q()<<30 | fpSize(name, d.A)<<22 | regs(d.V, n.V, 0)
	fn.word(w, fmt.Sprintf("%s %s, %s%s", name, d.gnuOp(), n.gnuOp(), suffix))
}

// FADD sets d = n + m (S2, S4, D2 throughout this group).
func (fn *Func) FADD(d, n, m VA) { fn.fp3(0x0e20d400, "fadd", d, n, m) }

// FSUB sets d = n - m.
func (fn *Func) FSUB(d, n, m VA) { fn.fp3(0x0ea0d400, "fsub", d, n, m) }

// FMUL sets d = n * m.
func (fn *Func) FMUL(d, n, m VA) { fn.fp3(0x2e20dc00, "fmul", d, n, m) }

// FDIV sets d = n / m.
func (fn *Func) FDIV(d, n, m VA) { fn.fp3(0x2e20fc00, "fdiv", d, n, m) }

// FMAX sets d = max(n, m); a NaN in either operand gives NaN.
func (fn *Func) FMAX(d, n, m VA) { fn.fp3(0x0e20f400, "fmax", d, n, m) }

// FMIN sets d = min(n, m); a NaN in either operand gives NaN.
func (fn *Func) FMIN(d, n, m VA) { fn.fp3(0x0ea0f400, "fmin", d, n, m) }

// FMAXNM sets d = max(n, m), preferring the number to a quiet NaN.
func (fn *Func) FMAXNM(d, n, m VA) { fn.fp3(0x0e20c400, "fmaxnm", d, n, m) }

// FMINNM sets d = min(n, m), preferring the number to a quiet NaN.
func (fn *Func) FMINNM(d, n, m VA) { fn.fp3(0x0ea0c400, "fminnm", d, n, m) }

// FABD sets d = |n - m|.
func (fn *Func) FABD(d, n, m VA) { fn.fp3(0x2ea0d400, "fabd", d, n, m) }

// FADDP adds adjacent pairs: the low half of d gets the pair sums of n,
// the high half those of m.
func (fn *Func) FADDP(d, n, m VA) { fn.fp3(0x2e20d400, "faddp", d, n, m) }

// FCMEQ sets each lane of d to all ones where n == m, zero otherwise
// (false for NaN).
func (fn *Func) FCMEQ(d, n, m VA) { fn.fp3(0x0e20e400, "fcmeq", d, n, m) }

// FCMGE sets each lane of d to all ones where n >= m (false for NaN).
func (fn *Func) FCMGE(d, n, m VA) { fn.fp3(0x2e20e400, "fcmge", d, n, m) }

// FCMGT sets each lane of d to all ones where n > m (false for NaN).
func (fn *Func) FCMGT(d, n, m VA) { fn.fp3(0x2ea0e400, "fcmgt", d, n, m) }

// FCMGTZ sets each lane of d to all ones where n > 0 (false for NaN).
func (fn *Func) FCMGTZ(d, n VA) { fn.fp2(0x0ea0c800, "fcmgt", d, n, ", #0.0") }

// FCMGEZ sets each lane of d to all ones where n >= 0 (false for NaN).
func (fn *Func) FCMGEZ(d, n VA) { fn.fp2(0x2ea0c800, "fcmge", d, n, ", #0.0") }

// FCMEQZ sets each lane of d to all ones where n == 0 (false for NaN).
func (fn *Func) FCMEQZ(d, n VA) { fn.fp2(0x0ea0d800, "fcmeq", d, n, ", #0.0") }

// FCMLTZ sets each lane of d to all ones where n < 0 (false for NaN).
func (fn *Func) FCMLTZ(d, n VA) { fn.fp2(0x0ea0e800, "fcmlt", d, n, ", #0.0") }

// FABS sets d = |n|.
func (fn *Func) FABS(d, n VA) { fn.fp2(0x0ea0f800, "fabs", d, n, "") }

// FNEG sets d = -n.
func (fn *Func) FNEG(d, n VA) { fn.fp2(0x2ea0f800, "fneg", d, n, "") }

// FSQRT sets d = sqrt(n).
func (fn *Func) FSQRT(d, n VA) { fn.fp2(0x2ea1f800, "fsqrt", d, n, "") }

// FRINTN rounds n to an integral value, ties to even.
func (fn *Func) FRINTN(d, n VA) { fn.fp2(0x0e218800, "frintn", d, n, "") }

// FRINTM rounds n to an integral value toward minus infinity.
func (fn *Func) FRINTM(d, n VA) { fn.fp2(0x0e219800, "frintm", d, n, "") }

// FRINTP rounds n to an integral value toward plus infinity.
func (fn *Func) FRINTP(d, n VA) { fn.fp2(0x0ea18800, "frintp", d, n, "") }

// FRINTZ rounds n to an integral value toward zero.
func (fn *Func) FRINTZ(d, n VA) { fn.fp2(0x0ea19800, "frintz", d, n, "") }

// FRINTA rounds n to an integral value, ties away from zero.
func (fn *Func) FRINTA(d, n VA) { fn.fp2(0x2e218800, "frinta", d, n, "") }

// FCVTNS converts n to signed integers, rounding to nearest (ties to
// even), saturating.
func (fn *Func) FCVTNS(d, n VA) { fn.fp2(0x0e21a800, "fcvtns", d, n, "") }

// FCVTMS converts n to signed integers, rounding toward minus infinity.
func (fn *Func) FCVTMS(d, n VA) { fn.fp2(0x0e21b800, "fcvtms", d, n, "") }

// FCVTZS converts n to signed integers, rounding toward zero.
func (fn *Func) FCVTZS(d, n VA) { fn.fp2(0x0ea1b800, "fcvtzs", d, n, "") }

// SCVTF converts the signed integer lanes of n to floats.
func (fn *Func) SCVTF(d, n VA) { fn.fp2(0x0e21d800, "scvtf", d, n, "") }

// UCVTF converts the unsigned integer lanes of n to floats.
func (fn *Func) UCVTF(d, n VA) { fn.fp2(0x2e21d800, "ucvtf", d, n, "") }

// FRECPE sets d to an estimate of 1/n.
func (fn *Func) FRECPE(d, n VA) { fn.fp2(0x0ea1d800, "frecpe", d, n, "") }

// FRECPS sets d = 2 - n*m, the Newton step for a reciprocal.
func (fn *Func) FRECPS(d, n, m VA) { fn.fp3(0x0e20fc00, "frecps", d, n, m) }

// FCVTL widens the two float32 lanes of n (S2) to float64 lanes of d (D2).
func (fn *Func) FCVTL(d, n VA) { fn.widen(0, "fcvtl", d, n) }

// FCVTL2 widens the high two float32 lanes of n (S4) to d (D2).
func (fn *Func) FCVTL2(d, n VA) { fn.widen(1, "fcvtl2", d, n) }

func (fn *Func) widen(q uint32, name string, d, n VA) {
	if d.A != D2 || n.A != [2]Arr{S2, S4}[q] {
		panic(fmt.Sprintf("neon: %s %s from %s", name, d.A, n.A))
	}
	fn.word(0x0e617800|q<<30|regs(d.V, n.V, 0), fmt.Sprintf("%s %s, %s", name, d.gnuOp(), n.gnuOp()))
}

// FCVTN narrows the float64 lanes of n (D2) to the low float32 lanes of d
// (S2), clearing the high half.
func (fn *Func) FCVTN(d, n VA) { fn.narrow(0, "fcvtn", d, n) }

// FCVTN2 narrows the float64 lanes of n (D2) into the high float32 lanes
// of d (S4), keeping the low half.
func (fn *Func) FCVTN2(d, n VA) { fn.narrow(1, "fcvtn2", d, n) }

func (fn *Func) narrow(q uint32, name string, d, n VA) {
	if n.A != D2 || d.A != [2]Arr{S2, S4}[q] {
		panic(fmt.Sprintf("neon: %s %s from %s", name, d.A, n.A))
	}
	fn.word(0x0e616800|q<<30|regs(d.V, n.V, 0), fmt.Sprintf("%s %s, %s", name, d.gnuOp(), n.gnuOp()))
}

// elem emits a by-element instruction:
// 0 Q U 01111 1 sz L M Rm opcode H 0 Rn Rd, where the lane index is H:L
// for 32-bit lanes (Rm may be any of V0..V31, its top bit in M) and H for
// 64-bit lanes.
func (fn *Func) elem(base uint32, name string, d, n VA, m VE) {
	sameArr(name, d, n)
	sz := fpSize(name, d.A)
	if m.ESize != d.A.ESize() {
		panic(fmt.Sprintf("neon: %s %s by a %d-bit lane", name, d.A, m.ESize))
	}
	var h, l uint32
	if sz == 0 {
		h, l = uint32(m.I>>1), uint32(m.I&1)
	} else {
		h = uint32(m.I)
	}
	w := base | d.A.Q()<<30 | sz<<22 | l<<21 | uint32(m.V)<<16 | h<<11 | regs(d.V, n.V, 0)
	fn.word(w, fmt.Sprintf("%s %s, %s, %s", name, d.gnuOp(), n.gnuOp(), m.gnuOp()))
}

// FMLAE sets d += n * m[i] (one rounding), m a lane of any register.
func (fn *Func) FMLAE(d, n VA, m VE) { fn.elem(0x0f801000, "fmla", d, n, m) }

// FMLSE sets d -= n * m[i] (one rounding).
func (fn *Func) FMLSE(d, n VA, m VE) { fn.elem(0x0f805000, "fmls", d, n, m) }

// FMULE sets d = n * m[i].
func (fn *Func) FMULE(d, n VA, m VE) { fn.elem(0x0f809000, "fmul", d, n, m) }

// FADDPS adds the two lanes of n (S2 or D2) into the scalar d.
func (fn *Func) FADDPS(d FReg, n VA) {
	sz := map[Arr]uint32{S2: 0, D2: 1}
	s, ok := sz[n.A]
	if !ok || d.Bits != n.A.ESize() {
		panic(fmt.Sprintf("neon: faddp %d-bit scalar from %s", d.Bits, n.A))
	}
	fn.word(0x7e30d800|s<<22|regs(d.V, n.V, 0), fmt.Sprintf("faddp %s, %s", d.gnuOp(), n.gnuOp()))
}

// intSize is the size field of an integer arrangement.
func intSize(op string, a Arr, allowD bool) uint32 {
	if a == D1 || (a == D2 && !allowD) {
		panic(fmt.Sprintf("neon: %s does not take arrangement %s", op, a))
	}
	return uint32(a >> 1)
}

// BIC sets d = n AND NOT m (B8 or B16).
func (fn *Func) BIC(d, n, m VA) {
	sameArr("bic", d, n, m)
	wantArr("bic", d, B8, B16)
	fn.word(0x0e601c00|d.A.Q()<<30|regs(d.V, n.V, m.V), fmt.Sprintf("bic %s, %s, %s", d.gnuOp(), n.gnuOp(), m.gnuOp()))
}

// NOT sets d = NOT n (B8 or B16).
func (fn *Func) NOT(d, n VA) {
	sameArr("not", d, n)
	wantArr("not", d, B8, B16)
	fn.word(0x2e205800|d.A.Q()<<30|regs(d.V, n.V, 0), fmt.Sprintf("not %s, %s", d.gnuOp(), n.gnuOp()))
}

// CMGT sets each lane of d to all ones where the signed integer n > m.
func (fn *Func) CMGT(d, n, m VA) {
	sameArr("cmgt", d, n, m)
	w := 0x0e203400 | d.A.Q()<<30 | intSize("cmgt", d.A, true)<<22 | regs(d.V, n.V, m.V)
	fn.word(w, fmt.Sprintf("cmgt %s, %s, %s", d.gnuOp(), n.gnuOp(), m.gnuOp()))
}

// SSHR shifts every signed integer lane of n right by s, copying the sign
// bit (1 <= s <= lane width).
func (fn *Func) SSHR(d, n VA, s int) {
	sameArr("sshr", d, n)
	intSize("sshr", d.A, true)
	e := d.A.ESize()
	if s < 1 || s > e {
		panic(fmt.Sprintf("neon: sshr %s by %d", d.A, s))
	}
	w := 0x0f000400 | d.A.Q()<<30 | uint32(2*e-s)<<16 | regs(d.V, n.V, 0)
	fn.word(w, fmt.Sprintf("sshr %s, %s, #%d", d.gnuOp(), n.gnuOp(), s))
}
