package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// isa describes one vector extension: both variants emit the same loop and
// the same arithmetic; only the register width and the masked remainder
// differ. (gen/act has the same shape; a generator is a main package, so
// the few lines are repeated rather than shared.)
type isa struct {
	name  string // suffix of the generated function names
	lanes int    // float32 lanes per vector register
	vec   func() reg.VecVirtual
}

var (
	avx512 = isa{name: "AVX512", lanes: 16, vec: ZMM}
	avx2   = isa{name: "AVX2", lanes: 8, vec: YMM}
)

// bytes is the width of one vector register in bytes.
func (v isa) bytes() int { return 4 * v.lanes }

// fn names the generated function for kernel k.
func (v isa) fn(k string) string { return k + v.name }

// tail is the mask of a partial vector: an opmask register on AVX-512, a
// vector whose leading lanes are all ones on AVX2.
type tail struct {
	k reg.OpmaskVirtual
	m reg.VecVirtual
}

// avx2Mask is the sliding table behind AVX2 tail masks: eight all-ones
// lanes, then eight zero lanes; the eight lanes from 8-r on have exactly
// the first r set.
var avx2Mask Mem

func init() {
	avx2Mask = GLOBL("tailmask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		b := uint32(0)
		if i < 8 {
			b = 0xffffffff
		}
		DATA(4*i, U32(b))
	}
}

// makeTail builds the mask of r lanes (r in a GP64 register, 0 < r < lanes);
// r is not modified.
func (v isa) makeTail(r reg.GPVirtual) tail {
	if v.lanes == 16 {
		ones, bits := GP32(), GP32()
		MOVL(U32(0xffff), ones)
		BZHIL(r.As32(), ones, bits)
		k := K()
		KMOVW(bits, k)
		return tail{k: k}
	}
	idx, base := GP64(), GP64()
	MOVQ(U64(8), idx)
	SUBQ(r, idx)
	LEAQ(avx2Mask, base)
	m := YMM()
	VMOVDQU(Mem{Base: base, Index: idx, Scale: 4}, m)
	return tail{m: m}
}

// load reads the unmasked lanes at src into a new register, the others as
// zero; memory under masked lanes is not touched, so it cannot fault.
func (v isa) load(t tail, src Mem) reg.VecVirtual {
	r := v.vec()
	if v.lanes == 16 {
		VMOVUPS_Z(src, t.k, r)
	} else {
		VMASKMOVPS(src, t.m, r)
	}
	return r
}

// store writes the unmasked lanes of src to dst; memory under masked lanes
// is neither read nor written.
func (v isa) store(t tail, src reg.VecVirtual, dst Mem) {
	if v.lanes == 16 {
		VMOVUPS(src, t.k, dst)
		return
	}
	VMASKMOVPS(src, t.m, dst)
}

// broadcast loads the float32 parameter name into every lane of a new
// register.
func (v isa) broadcast(name string) reg.VecVirtual {
	r := v.vec()
	VBROADCASTSS(Load(Param(name), XMM()), r)
	return r
}
