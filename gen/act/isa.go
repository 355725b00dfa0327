package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// isa describes what the generators need to know about one vector extension.
// Both variants use the same loop shapes; only the register width and the
// way a partial vector is loaded and stored differ.
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

// tail is the mask for a partial vector of r float32 lanes (0 < r < lanes):
// an opmask register on AVX-512, a vector of all-ones lanes on AVX2.
type tail struct {
	k reg.OpmaskVirtual
	m reg.VecVirtual
}

// avx2Mask is the sliding table behind AVX2 tail masks: eight all-ones
// lanes followed by eight zero lanes; the 8 lanes starting at 8-r have
// exactly the first r set.
var avx2Mask Mem

func init() {
	avx2Mask = GLOBL("tailmask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
}

// makeTail builds the mask for r remaining lanes (r in a GP64 register,
// 0 < r < lanes). r is not modified.
func (v isa) makeTail(r reg.Register) tail {
	if v.lanes == 16 {
		ones, bits := GP32(), GP32()
		MOVL(U32(0xffff), ones)
		BZHIL(r.(reg.GPVirtual).As32(), ones, bits)
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

// load reads a partial vector at src into dst; masked lanes read as zero and
// never fault.
func (v isa) load(t tail, src Mem, dst reg.VecVirtual) {
	if v.lanes == 16 {
		VMOVUPS_Z(src, t.k, dst)
		return
	}
	VMASKMOVPS(src, t.m, dst)
}

// loadPad reads a partial vector at src into dst with the masked lanes
// taken from pad.
func (v isa) loadPad(t tail, src Mem, pad, dst reg.VecVirtual) {
	if v.lanes == 16 {
		VMOVAPS(pad, dst)
		VMOVUPS(src, t.k, dst)
		return
	}
	VMASKMOVPS(src, t.m, dst)
	VBLENDVPS(t.m, dst, pad, dst)
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

// at is the address of vector i (in units of whole vectors) after p.
func (v isa) at(p reg.Register, i int) Mem { return Mem{Base: p, Disp: i * v.bytes()} }
