package neon

import (
	"fmt"
	"strings"
)

// Arr is the arrangement of a vector register: how many lanes of which
// width the instruction sees.
type Arr uint8

// The arrangements. 64-bit ones (B8, H4, S2, D1) use the low half of the
// register and clear the high half when written.
const (
	B8 Arr = iota
	B16
	H4
	H8
	S2
	S4
	D1
	D2
)

var arrNames = [...]struct{ goName, gnu string }{
	B8: {"B8", "8b"}, B16: {"B16", "16b"},
	H4: {"H4", "4h"}, H8: {"H8", "8h"},
	S2: {"S2", "2s"}, S4: {"S4", "4s"},
	D1: {"D1", "1d"}, D2: {"D2", "2d"},
}

// Q is the Q bit of the encoding: 1 for a full 128-bit arrangement.
func (a Arr) Q() uint32 { return uint32(a & 1) }

// ESize is the lane width in bits.
func (a Arr) ESize() int { return 8 << (a >> 1) }

// Lanes is the number of lanes.
func (a Arr) Lanes() int { return (64 << a.Q()) / a.ESize() }

// Bytes is the width of the arrangement in bytes (8 or 16).
func (a Arr) Bytes() int { return 8 << a.Q() }

func (a Arr) String() string { return arrNames[a].goName }

// V is one of the 32 SIMD&FP registers V0..V31.
type V uint8

// The vector registers, so generators can write a register plan by name.
const (
	V0 V = iota
	V1
	V2
	V3
	V4
	V5
	V6
	V7
	V8
	V9
	V10
	V11
	V12
	V13
	V14
	V15
	V16
	V17
	V18
	V19
	V20
	V21
	V22
	V23
	V24
	V25
	V26
	V27
	V28
	V29
	V30
	V31
)

func (v V) check() V {
	if v > 31 {
		panic(fmt.Sprintf("neon: vector register V%d does not exist", v))
	}
	return v
}

// A returns v with arrangement a.
func (v V) A(a Arr) VA { return VA{V: v.check(), A: a} }

// B16 and the others below are shorthands for A.
func (v V) B16() VA { return v.A(B16) }
func (v V) S2() VA  { return v.A(S2) }
func (v V) S4() VA  { return v.A(S4) }
func (v V) D2() VA  { return v.A(D2) }

// S returns lane i of v seen as 32-bit lanes.
func (v V) S(i int) VE { return VE{V: v.check(), ESize: 32, I: i}.checked() }

// D returns lane i of v seen as 64-bit lanes.
func (v V) D(i int) VE { return VE{V: v.check(), ESize: 64, I: i}.checked() }

// F is v seen as a scalar register of the given width in bits (32: Sn, 64:
// Dn), the F registers of Go's assembler.
func (v V) F(bits int) FReg {
	if bits != 32 && bits != 64 {
		panic(fmt.Sprintf("neon: scalar registers are 32 or 64 bits, not %d", bits))
	}
	return FReg{V: v.check(), Bits: bits}
}

// VA is a vector register with an arrangement: V3.S4 in Go, v3.4s in GNU.
type VA struct {
	V V
	A Arr
}

func (r VA) goOp() string  { return fmt.Sprintf("V%d.%s", r.V, r.A) }
func (r VA) gnuOp() string { return fmt.Sprintf("v%d.%s", r.V, arrNames[r.A].gnu) }

// VE is one lane of a vector register: V3.S[1] in Go, v3.s[1] in GNU.
type VE struct {
	V     V
	ESize int // 8, 16, 32 or 64
	I     int
}

func (e VE) checked() VE {
	if e.I < 0 || e.I >= 128/e.ESize {
		panic(fmt.Sprintf("neon: lane %d out of range for %d-bit lanes", e.I, e.ESize))
	}
	return e
}

func (e VE) letter() string {
	return map[int]string{8: "B", 16: "H", 32: "S", 64: "D"}[e.ESize]
}

func (e VE) goOp() string { return fmt.Sprintf("V%d.%s[%d]", e.V, e.letter(), e.I) }
func (e VE) gnuOp() string {
	return fmt.Sprintf("v%d.%s[%d]", e.V, strings.ToLower(e.letter()), e.I)
}

// FReg is a vector register used as a scalar float: F3 in Go, s3 or d3 in
// GNU.
type FReg struct {
	V    V
	Bits int
}

func (f FReg) goOp() string { return fmt.Sprintf("F%d", f.V) }
func (f FReg) gnuOp() string {
	if f.Bits == 32 {
		return fmt.Sprintf("s%d", f.V)
	}
	return fmt.Sprintf("d%d", f.V)
}

// R is a general-purpose register, R0..R30. Instructions use its 64-bit view
// (Xn) unless their name says W (32 bits).
type R uint8

// The general registers a kernel may use. R18 (platform register), R26
// (closure context), R27 (the assembler's temporary), R28 (g), R29 (frame
// pointer) and R30 (link register) are not offered.
const (
	R0 R = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
	R16
	R17
	_
	R19
	R20
	R21
	R22
	R23
	R24
	R25
)

// ZR is the zero register: it reads as 0 and discards what is written. It
// is an operand of data-processing instructions, never a base address
// (there its number means SP).
const ZR R = 31

func (r R) check() R {
	if (r > 25 && r != ZR) || r == 18 {
		panic(fmt.Sprintf("neon: R%d is reserved or does not exist", r))
	}
	return r
}

func (r R) goOp() string {
	if r.check() == ZR {
		return "ZR"
	}
	return fmt.Sprintf("R%d", r)
}

func (r R) gnuOp() string {
	if r.check() == ZR {
		return "xzr"
	}
	return fmt.Sprintf("x%d", r)
}

func (r R) gnuW() string {
	if r.check() == ZR {
		return "wzr"
	}
	return fmt.Sprintf("w%d", r)
}

// base is r as the base register of an address.
func (r R) base() R {
	if r == ZR {
		panic("neon: ZR cannot be a base address")
	}
	return r.check()
}

// Imm is an immediate operand.
type Imm int64

func (i Imm) goOp() string  { return fmt.Sprintf("$%d", int64(i)) }
func (i Imm) gnuOp() string { return fmt.Sprintf("#%d", int64(i)) }

// Mem is a memory operand: Base plus a byte offset. For the post-indexed
// forms (the P methods) Off is the increment added to Base after the
// access, and the access itself is at Base.
type Mem struct {
	Base R
	Off  int
}

// At returns the address off bytes after r.
func At(r R, off int) Mem { return Mem{Base: r, Off: off} }

func (m Mem) goOp() string {
	if m.Off == 0 {
		return fmt.Sprintf("(%s)", m.Base.base().goOp())
	}
	return fmt.Sprintf("%d(%s)", m.Off, m.Base.base().goOp())
}

func (m Mem) gnuOp() string {
	if m.Off == 0 {
		return fmt.Sprintf("[%s]", m.Base.base().gnuOp())
	}
	return fmt.Sprintf("[%s, #%d]", m.Base.base().gnuOp(), m.Off)
}

// list is a register list of consecutive registers with one arrangement,
// as the structure loads and stores take it.
type list []VA

func (l list) check() list {
	if len(l) < 1 || len(l) > 4 {
		panic(fmt.Sprintf("neon: a register list holds 1 to 4 registers, not %d", len(l)))
	}
	for i := 1; i < len(l); i++ {
		if l[i].A != l[0].A || l[i].V != (l[0].V+V(i))%32 {
			panic(fmt.Sprintf("neon: register list %s is not consecutive with one arrangement", l.goOp()))
		}
	}
	return l
}

func (l list) bytes() int { return len(l) * l[0].A.Bytes() }

func (l list) goOp() string {
	s := make([]string, len(l))
	for i, r := range l {
		s[i] = r.goOp()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func (l list) gnuOp() string {
	s := make([]string, len(l))
	for i, r := range l {
		s[i] = r.gnuOp()
	}
	return "{" + strings.Join(s, ", ") + "}"
}

// Regs returns n consecutive registers from first with arrangement a: the
// register list of a multi-register load or store.
func Regs(first V, n int, a Arr) []VA {
	l := make([]VA, n)
	for i := range l {
		l[i] = VA{V: (first + V(i)) % 32, A: a}
	}
	return list(l).check()
}
