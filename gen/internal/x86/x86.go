// Package x86 holds what the amd64 generators share: the description of
// AVX-512 and AVX2 as vector widths, the masked loads and stores of a
// partial last vector, and the loop over whole and partial vectors.
package x86

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// ISA describes one vector extension: the generators emit the same loops
// and arithmetic for both; only the register width and the masked
// remainder differ.
type ISA struct {
	Name  string // suffix of the generated function names
	Lanes int    // float32 lanes per vector register
	Vec   func() reg.VecVirtual
}

var (
	AVX512 = ISA{Name: "AVX512", Lanes: 16, Vec: ZMM}
	AVX2   = ISA{Name: "AVX2", Lanes: 8, Vec: YMM}
)

// Bytes is the width of one vector register in bytes.
func (v ISA) Bytes() int { return 4 * v.Lanes }

// Fn names the generated function for kernel k.
func (v ISA) Fn(k string) string { return k + v.Name }

// At is the address of vector i (in units of whole vectors) after p.
func (v ISA) At(p reg.Register, i int) Mem { return Mem{Base: p, Disp: i * v.Bytes()} }

// Regs returns n new vector registers.
func (v ISA) Regs(n int) []reg.VecVirtual {
	r := make([]reg.VecVirtual, n)
	for i := range r {
		r[i] = v.Vec()
	}
	return r
}

// Tail is the mask of a partial vector of r float32 lanes (0 < r < lanes):
// an opmask register on AVX-512, a vector whose first r lanes are all ones
// on AVX2.
type Tail struct {
	K reg.OpmaskVirtual
	M reg.VecVirtual
}

// MaskOnes is the number of all-ones int32 lanes at the start of
// SlidingMask, followed by as many zero lanes: the lanes from MaskOnes-r on
// have exactly the first r of any window set (0 <= r <= MaskOnes), which
// covers the tail of two AVX2 vectors at once.
const MaskOnes = 16

// SlidingMask is the table behind AVX2 masks. Every generated file that
// imports this package gets its own (file-local) copy.
var SlidingMask Mem

func init() {
	SlidingMask = GLOBL("tailmask", RODATA|NOPTR)
	for i := 0; i < 2*MaskOnes; i++ {
		b := uint32(0)
		if i < MaskOnes {
			b = 0xffffffff
		}
		DATA(4*i, U32(b))
	}
}

// MakeTail builds the mask of r lanes (r a GP64 virtual register, as Avo's
// Load hands it back, 0 < r < lanes); r is not modified.
func (v ISA) MakeTail(r reg.Register) Tail {
	if v.Lanes == 16 {
		ones, bits := GP32(), GP32()
		MOVL(U32(0xffff), ones)
		BZHIL(r.(reg.GPVirtual).As32(), ones, bits)
		k := K()
		KMOVW(bits, k)
		return Tail{K: k}
	}
	return Tail{M: FirstLanes8(r)}
}

// FirstLanes8 loads the AVX2 mask whose first n int32 lanes are all ones
// and the others zero (n in a GP64 register, 0 <= n <= 8; not modified),
// from SlidingMask.
func FirstLanes8(n reg.Register) reg.VecVirtual { return LanesPast8(n, 0) }

// LanesPast8 loads the AVX2 mask whose first k = n-skip int32 lanes are all
// ones (none for k <= 0, all eight for k >= 8), for n in a GP64 register
// (not modified): the mask of the lanes of a vector that starts skip
// elements into n. It needs -8 <= k <= 16.
func LanesPast8(n reg.Register, skip int) reg.VecVirtual {
	idx, base := GP64(), GP64()
	MOVQ(U64(uint64(MaskOnes+skip)), idx)
	SUBQ(n, idx)
	LEAQ(SlidingMask, base)
	m := YMM()
	VMOVDQU(Mem{Base: base, Index: idx, Scale: 4}, m)
	return m
}

// LoadTail reads the unmasked lanes at src into dst, the others as zero;
// memory under masked lanes is not touched, so it cannot fault.
func (v ISA) LoadTail(t Tail, src Mem, dst reg.VecVirtual) {
	if v.Lanes == 16 {
		VMOVUPS_Z(src, t.K, dst)
		return
	}
	VMASKMOVPS(src, t.M, dst)
}

// LoadTailPad reads the unmasked lanes at src into dst and takes the
// masked ones from pad.
func (v ISA) LoadTailPad(t Tail, src Mem, pad, dst reg.VecVirtual) {
	if v.Lanes == 16 {
		VMOVAPS(pad, dst)
		VMOVUPS(src, t.K, dst)
		return
	}
	VMASKMOVPS(src, t.M, dst)
	VBLENDVPS(t.M, dst, pad, dst)
}

// StoreTail writes the unmasked lanes of src to dst; memory under masked
// lanes is neither read nor written.
func (v ISA) StoreTail(t Tail, src reg.VecVirtual, dst Mem) {
	if v.Lanes == 16 {
		VMOVUPS(src, t.K, dst)
		return
	}
	VMASKMOVPS(src, t.M, dst)
}

// BroadcastParam loads the float32 parameter name into every lane of a
// new register, straight from its stack slot.
func (v ISA) BroadcastParam(name string) reg.VecVirtual {
	r := v.Vec()
	VBROADCASTSS(ParamMem(name), r)
	return r
}

// ParamMem returns the stack slot of argument name, for instructions that
// read it from memory. Loading a float32 argument with Avo's Load emits
// a legacy-SSE MOVSS, and a legacy-SSE instruction run while the upper
// halves of the ymm/zmm registers are in use costs Intel cores an
// AVX-SSE transition (kernels' TestNoLegacySSEInWideCode checks the
// generated files for them).
func ParamMem(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
