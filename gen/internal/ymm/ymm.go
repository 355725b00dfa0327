// Package ymm holds YMM register sequences that more than one amd64
// generator emits. Unlike package x86 it declares no data, so importing it
// adds nothing to a generated file but the instructions used.
package ymm

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Transpose8Halves does the first two stages of an 8 x 8 float32 transpose
// in YMM registers: given rows in[0..7], it returns s where s[d] (d < 4)
// holds element d of rows 0-3 in its low half and element d+4 of rows
// 0-3 in its high half, and s[4+d] the same for rows 4-7. Column d of the
// block is then the low halves of s[d] and s[4+d], column d+4 their high
// halves (VPERM2F128 with 0x20 or 0x31).
func Transpose8Halves(in []reg.VecVirtual) []reg.VecVirtual {
	// t[2j] interleaves rows 2j and 2j+1 (elements 0,1 | 4,5), t[2j+1]
	// the same for elements 2,3 | 6,7.
	t := make([]reg.VecVirtual, 8)
	for j := 0; j < 4; j++ {
		t[2*j], t[2*j+1] = YMM(), YMM()
		VUNPCKLPS(in[2*j+1], in[2*j], t[2*j])
		VUNPCKHPS(in[2*j+1], in[2*j], t[2*j+1])
	}
	s := make([]reg.VecVirtual, 8)
	for half := 0; half < 2; half++ {
		for d := 0; d < 4; d++ {
			imm := uint8(0x44)
			if d%2 == 1 {
				imm = 0xee
			}
			s[4*half+d] = YMM()
			VSHUFPS(U8(imm), t[4*half+2+d/2], t[4*half+d/2], s[4*half+d])
		}
	}
	return s
}
