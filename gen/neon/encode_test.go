package neon

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests emit every instruction form over many register, arrangement
// and lane combinations and check them against two independent
// assemblers: GNU as (binutils-aarch64-linux-gnu) assembles the GNU
// spelling of each instruction, and its words must equal the WORD
// encodings computed here and the words Go's own assembler produces for
// the native mnemonics (which also checks that the Go operand order is
// the reversal the methods claim).

const tries = 24 // random operand combinations per form

var (
	fpArrs   = []Arr{S2, S4, D2}
	intArrs  = []Arr{B8, B16, H4, H8, S2, S4, D2}
	allArrs  = []Arr{B8, B16, H4, H8, S2, S4, D1, D2}
	byteArrs = []Arr{B8, B16}
	gpRegs   = []R{R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13, R14, R15, R16, R17, R19, R20, R21, R22, R23, R24, R25}
)

type gen struct{ r *rand.Rand }

func (g gen) v() V                { return V(g.r.IntN(32)) }
func (g gen) gp() R               { return gpRegs[g.r.IntN(len(gpRegs))] }
func (g gen) arr(as []Arr) Arr    { return as[g.r.IntN(len(as))] }
func (g gen) va(a Arr) VA         { return g.v().A(a) }
func (g gen) lane(esize int) VE   { return VE{V: g.v(), ESize: esize, I: g.r.IntN(128 / esize)} }
func (g gen) anyLane() VE         { return g.lane(8 << g.r.IntN(4)) }
func (g gen) list(a Arr) []VA     { return Regs(g.v(), 1+g.r.IntN(4), a) }
func (g gen) intn(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

// gps returns n distinct general registers.
func (g gen) gps(n int) []R {
	p := g.r.Perm(len(gpRegs))
	rs := make([]R, n)
	for i := range rs {
		rs[i] = gpRegs[p[i]]
	}
	return rs
}

// forms emits one instruction of every form with random operands.
var forms = map[string]func(fn *Func, g gen){
	// Written as WORDs.
	"fp3": func(fn *Func, g gen) {
		a := g.arr(fpArrs)
		d, n, m := g.va(a), g.va(a), g.va(a)
		for _, op := range []func(d, n, m VA){fn.FADD, fn.FSUB, fn.FMUL, fn.FDIV, fn.FMAX, fn.FMIN,
			fn.FMAXNM, fn.FMINNM, fn.FABD, fn.FADDP, fn.FCMEQ, fn.FCMGE, fn.FCMGT, fn.FRECPS} {
			op(d, n, m)
		}
	},
	"fp2": func(fn *Func, g gen) {
		a := g.arr(fpArrs)
		d, n := g.va(a), g.va(a)
		for _, op := range []func(d, n VA){fn.FCMGTZ, fn.FCMGEZ, fn.FCMEQZ, fn.FCMLTZ, fn.FABS, fn.FNEG,
			fn.FSQRT, fn.FRINTN, fn.FRINTM, fn.FRINTP, fn.FRINTZ, fn.FRINTA, fn.FCVTNS, fn.FCVTMS,
			fn.FCVTZS, fn.SCVTF, fn.UCVTF, fn.FRECPE} {
			op(d, n)
		}
	},
	"fcvtl/n": func(fn *Func, g gen) {
		fn.FCVTL(g.va(D2), g.va(S2))
		fn.FCVTL2(g.va(D2), g.va(S4))
		fn.FCVTN(g.va(S2), g.va(D2))
		fn.FCVTN2(g.va(S4), g.va(D2))
	},
	"by element": func(fn *Func, g gen) {
		a := g.arr(fpArrs)
		d, n, m := g.va(a), g.va(a), g.lane(a.ESize())
		fn.FMLAE(d, n, m)
		fn.FMLSE(d, n, m)
		fn.FMULE(d, n, m)
	},
	"faddp scalar": func(fn *Func, g gen) {
		fn.FADDPS(g.v().F(32), g.va(S2))
		fn.FADDPS(g.v().F(64), g.va(D2))
	},
	"integer words": func(fn *Func, g gen) {
		b := g.arr(byteArrs)
		fn.BIC(g.va(b), g.va(b), g.va(b))
		fn.NOT(g.va(b), g.va(b))
		a := g.arr(intArrs)
		fn.CMGT(g.va(a), g.va(a), g.va(a))
		fn.SSHR(g.va(a), g.va(a), g.intn(1, a.ESize()))
	},

	// Native Go mnemonics.
	"ld1/st1": func(fn *Func, g gen) {
		a, b := g.arr(allArrs), g.gp()
		l := g.list(a)
		fn.VLD1(l, At(b, 0))
		fn.VST1(l, At(b, 0))
		fn.VLD1P(l, At(b, list(l).bytes()))
		fn.VST1P(l, At(b, list(l).bytes()))
		fn.VLD1PR(l, b, g.gp())
		fn.VST1PR(l, b, g.gp())
		op := []string{"PLDL1KEEP", "PLDL2KEEP", "PLDL2STRM", "PSTL1KEEP", "PLDL3KEEP"}[g.r.IntN(5)]
		fn.PRFM(At(b, 8*g.r.IntN(64)), op)
	},
	"lanes": func(fn *Func, g gen) {
		e, b := g.anyLane(), g.gp()
		fn.VLD1Lane(e, At(b, 0))
		fn.VST1Lane(e, At(b, 0))
		fn.VLD1LaneP(e, At(b, e.ESize/8))
		fn.VST1LaneP(e, At(b, e.ESize/8))
	},
	"ld2/uzp": func(fn *Func, g gen) {
		a := g.arr(fpArrs)
		if g.r.IntN(2) == 0 {
			a = g.arr(intArrs)
		}
		l := Regs(g.v(), 2, a)
		fn.VLD2P(l, At(g.gp(), list(l).bytes()))
		fn.VUZP1(g.va(a), g.va(a), g.va(a))
		fn.VUZP2(g.va(a), g.va(a), g.va(a))
	},
	"scalar memory": func(fn *Func, g gen) {
		r := g.gps(3)
		fn.LDRSWP(r[0], At(r[1], 4*g.intn(-64, 63)))
		fn.STRWP(r[0], At(r[1], g.intn(-256, 255)))
		fn.LDRWIdx(r[0], r[1], r[2])
		fn.LDRWIdx(r[0], r[0], r[0])
		fn.LDPSWP(r[0], r[1], At(r[2], 4*g.intn(-64, 63)))
		fn.STPWP(r[0], r[1], At(r[2], 4*g.intn(-64, 63)))
		fn.STPWP(r[0], r[0], At(r[2], 8))
		fn.CSEL([]Cond{LO, HS, EQ}[g.r.IntN(3)], r[0], r[1], ZR)
		fn.CSEL(LO, r[0], ZR, r[1])
	},
	"ld1r": func(fn *Func, g gen) {
		a := g.arr(allArrs)
		fn.VLD1R(g.va(a), At(g.gp(), 0))
		fn.VLD1RP(g.va(a), At(g.gp(), a.ESize()/8))
	},
	"moves": func(fn *Func, g gen) {
		a := g.arr(intArrs)
		fn.VDUP(g.va(a), g.gp())
		fn.VDUPLane(g.va(a), g.lane(a.ESize()))
		b := g.arr(byteArrs)
		fn.VMOV(g.va(b), g.va(b))
		fn.VMOVI(g.va(b), uint8(g.r.IntN(256)))
		e := g.anyLane()
		fn.VINS(VE{V: g.v(), ESize: e.ESize, I: g.r.IntN(128 / e.ESize)}, e)
		fn.VMOVToR(g.gp(), g.lane(32<<g.r.IntN(2)))
		fn.VMOVFromR(g.anyLane(), g.gp())
		fn.FMOV(g.v().F(32), g.v().F(32))
		fn.FMOV(g.v().F(64), g.v().F(64))
	},
	"vector ops": func(fn *Func, g gen) {
		f := g.arr(fpArrs)
		fn.VFMLA(g.va(f), g.va(f), g.va(f))
		fn.VFMLS(g.va(f), g.va(f), g.va(f))
		b := g.arr(byteArrs)
		for _, op := range []func(d, n, m VA){fn.VEOR, fn.VAND, fn.VORR, fn.VBSL, fn.VBIT, fn.VBIF} {
			op(g.va(b), g.va(b), g.va(b))
		}
		fn.VEXT(g.va(b), g.va(b), g.va(b), g.r.IntN(b.Lanes()))
		a := g.arr(intArrs)
		for _, op := range []func(d, n, m VA){fn.VADD, fn.VSUB, fn.VZIP1, fn.VZIP2} {
			op(g.va(a), g.va(a), g.va(a))
		}
		e := a.ESize()
		fn.VSHL(g.va(a), g.va(a), g.intn(0, e-1))
		fn.VUSHR(g.va(a), g.va(a), g.intn(1, e))
		fn.VSRI(g.va(a), g.va(a), g.intn(1, e))
		fn.VSLI(g.va(a), g.va(a), g.intn(0, e-1))
	},
	"general": func(fn *Func, g gen) {
		fn.MOVD(g.gp(), Imm(g.r.IntN(1<<16)))
		fn.MOVW(g.gp(), uint32(g.r.IntN(1<<16)))
		fn.MOV(g.gp(), g.gp())
		fn.ADD(g.gp(), g.gp(), g.gp())
		fn.ADD(g.gp(), g.gp(), Imm(g.r.IntN(4096)))
		fn.SUB(g.gp(), g.gp(), Imm(g.r.IntN(4096)))
		fn.SUBS(g.gp(), g.gp(), g.gp())
		fn.AND(g.gp(), g.gp(), Imm(1<<g.intn(1, 20)-1))
		fn.AND(g.gp(), g.gp(), Imm(-1<<g.intn(1, 20)))
		fn.LSL(g.gp(), g.gp(), g.intn(1, 63))
		fn.LSR(g.gp(), g.gp(), g.intn(1, 63))
		fn.MUL(g.gp(), g.gp(), g.gp())
		fn.CMP(g.gp(), Imm(g.r.IntN(4096)))
		fn.CMP(g.gp(), g.gp())
		fn.CSEL([]Cond{EQ, NE, LT, LE, GT, GE, LO, LS, HI, HS}[g.r.IntN(10)], g.gp(), g.gp(), g.gp())
	},
}

// emitAll emits every form tries times, plus the extreme registers.
func emitAll(t *testing.T, name string) []Inst {
	fn := (&File{}).Func("f", "func()")
	g := gen{rand.New(rand.NewPCG(7, uint64(len(name))))}
	for i := 0; i < tries; i++ {
		forms[name](fn, g)
	}
	return fn.Insts()
}

func need(t *testing.T, tools ...string) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian: binutils-aarch64-linux-gnu)", tool)
		}
	}
}

// gnuWords assembles GNU lines with binutils and returns one word per line.
func gnuWords(t *testing.T, lines []string) []uint32 {
	need(t, "aarch64-linux-gnu-as", "aarch64-linux-gnu-objcopy")
	dir := t.TempDir()
	src := filepath.Join(dir, "x.s")
	require.NoError(t, os.WriteFile(src, []byte(".text\n"+strings.Join(lines, "\n")+"\n"), 0o644))
	obj, bin := filepath.Join(dir, "x.o"), filepath.Join(dir, "x.bin")
	out, err := exec.Command("aarch64-linux-gnu-as", "-o", obj, src).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("aarch64-linux-gnu-objcopy", "-O", "binary", "-j", ".text", obj, bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	raw, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.Len(t, raw, 4*len(lines), "binutils produced a different number of instructions")
	w := make([]uint32, len(lines))
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	return w
}

// objdumpLine matches a line of `go tool objdump`: file:line, pc, word.
var objdumpLine = regexp.MustCompile(`^\s*x\.s:(\d+)\s+0x[0-9a-f]+\s+([0-9a-f]{8})\s`)

// goWords assembles Go assembler lines for arm64 and returns the words each
// line produced.
func goWords(t *testing.T, lines []string) [][]uint32 {
	dir := t.TempDir()
	src := filepath.Join(dir, "x.s")
	const first = 3 // line number of the first instruction
	text := "#include \"textflag.h\"\nTEXT ·f(SB), NOSPLIT, $0-0\n\t" + strings.Join(lines, "\n\t") + "\n\tRET\n"
	require.NoError(t, os.WriteFile(src, []byte(text), 0o644))
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	root, err := exec.Command(goTool, "env", "GOROOT").Output()
	require.NoError(t, err)
	env := append(os.Environ(), "GOARCH=arm64", "GOOS=linux")
	obj := filepath.Join(dir, "x.o")
	asm := exec.Command(goTool, "tool", "asm", "-I", filepath.Join(strings.TrimSpace(string(root)), "pkg", "include"), "-p", "main", "-o", obj, src)
	asm.Env = env
	out, err := asm.CombinedOutput()
	require.NoError(t, err, "go tool asm: %s", out)
	dump := exec.Command(goTool, "tool", "objdump", obj)
	dump.Env = env
	out, err = dump.CombinedOutput()
	require.NoError(t, err, "go tool objdump: %s", out)
	words := make([][]uint32, len(lines))
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := objdumpLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ln, _ := strconv.Atoi(m[1])
		w, _ := strconv.ParseUint(m[2], 16, 32)
		if i := ln - first; i >= 0 && i < len(lines) {
			words[i] = append(words[i], uint32(w))
		}
	}
	return words
}

func TestEncodingsMatchBinutils(t *testing.T) {
	for name := range forms {
		t.Run(name, func(t *testing.T) {
			insts := emitAll(t, name)
			var gnu []string
			var checked []Inst
			for _, in := range insts {
				if in.GNU != "" {
					gnu = append(gnu, in.GNU)
					checked = append(checked, in)
				}
			}
			require.NotEmpty(t, checked)
			want := gnuWords(t, gnu)
			var native []string
			var nativeIdx []int
			for i, in := range checked {
				if in.IsWord() {
					assert.Equal(t, fmt.Sprintf("%08x", want[i]), fmt.Sprintf("%08x", in.Word), "%s", in.GNU)
					continue
				}
				native = append(native, in.Go)
				nativeIdx = append(nativeIdx, i)
			}
			if len(native) == 0 {
				return
			}
			got := goWords(t, native)
			for j, i := range nativeIdx {
				if assert.Len(t, got[j], 1, "%s assembled to %d words", native[j], len(got[j])) {
					assert.Equal(t, fmt.Sprintf("%08x", want[i]), fmt.Sprintf("%08x", got[j][0]),
						"Go %q vs GNU %q", native[j], checked[i].GNU)
				}
			}
		})
	}
}

// TestWordsAssembleInGo checks that the WORD lines, as written to the .s
// file, pass through Go's assembler unchanged.
func TestWordsAssembleInGo(t *testing.T) {
	var lines []string
	var want []uint32
	for _, name := range []string{"fp3", "fp2", "by element"} {
		for _, in := range emitAll(t, name) {
			lines = append(lines, in.Text())
			want = append(want, in.Word)
		}
	}
	got := goWords(t, lines)
	for i := range lines {
		require.Equal(t, []uint32{want[i]}, got[i], lines[i])
	}
}

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		sig   string
		slots map[string]int
		size  int
	}{
		{"func(x []float32) float64", map[string]int{"x_base": 0, "x_len": 8, "x_cap": 16, "ret": 24}, 32},
		{"func(x []float32, shift float32) (s1, s2 float64)", map[string]int{"shift": 24, "s1": 32, "s2": 40}, 48},
		{"func(x []float32, a, b float32)", map[string]int{"a": 24, "b": 28}, 32},
		{"func(dst, x []float32)", map[string]int{"dst_base": 0, "x_base": 24, "x_len": 32}, 48},
		{"func(a float32, p *float32, k int) float32", map[string]int{"a": 0, "p": 8, "k": 16, "ret": 24}, 28},
		{"func(w []float32, a, b, c float32)", map[string]int{"a": 24, "c": 32}, 36},
	} {
		t.Run(tc.sig, func(t *testing.T) {
			slots, size, err := layout(tc.sig)
			require.NoError(t, err)
			assert.Equal(t, tc.size, size)
			for name, off := range tc.slots {
				assert.Equal(t, off, slots[name].Off, name)
			}
		})
	}
	for _, bad := range []string{"func(x [4]float32)", "func(int)", "func() (float32, float32)", "func(x string)", "x"} {
		_, _, err := layout(bad)
		assert.Error(t, err, bad)
	}
}

func TestOperandChecks(t *testing.T) {
	fn := (&File{}).Func("f", "func()")
	for name, bad := range map[string]func(){
		"non-consecutive list": func() { fn.VLD1([]VA{V1.S4(), V3.S4()}, At(R0, 0)) },
		"mixed list":           func() { fn.VLD1([]VA{V1.S4(), V2.D2()}, At(R0, 0)) },
		"five registers":       func() { Regs(V0, 5, S4) },
		"wrong post-increment": func() { fn.VLD1P(Regs(V0, 2, S4), At(R0, 16)) },
		"offset without .P":    func() { fn.VST1(Regs(V0, 1, S4), At(R0, 16)) },
		"fp on bytes":          func() { fn.FADD(V0.B16(), V1.B16(), V2.B16()) },
		"mixed arrangements":   func() { fn.FMUL(V0.S4(), V1.S2(), V2.S4()) },
		"lane out of range":    func() { V0.S(4) },
		"reserved register":    func() { fn.MOV(R(18), R0) },
		"by-element width":     func() { fn.FMLAE(V0.S4(), V1.S4(), V2.D(0)) },
		"shift too far":        func() { fn.VSHL(V0.S4(), V1.S4(), 32) },
		"fcvtl2 from half":     func() { fn.FCVTL2(V0.D2(), V1.S2()) },
		"ld2 of one register":  func() { fn.VLD2P(Regs(V0, 1, S4), At(R0, 16)) },
		"ld2 of D1":            func() { fn.VLD2P(Regs(V0, 2, D1), At(R0, 16)) },
		"uzp of D1":            func() { fn.VUZP1(V0.A(D1), V1.A(D1), V2.A(D1)) },
		"ZR as a base":         func() { fn.VLD1(Regs(V0, 1, S4), At(ZR, 0)) },
		"ZR as a post base":    func() { fn.LDRSWP(R0, At(ZR, 4)) },
		"load into the base":   func() { fn.LDRSWP(R1, At(R1, 4)) },
		"pair into one reg":    func() { fn.LDPSWP(R2, R2, At(R1, 8)) },
		"store the base":       func() { fn.STPWP(R1, R2, At(R2, 8)) },
		"pair offset unscaled": func() { fn.LDPSWP(R2, R3, At(R1, 6)) },
		"post-index too far":   func() { fn.STRWP(R2, At(R1, 256)) },
	} {
		assert.Panics(t, bad, name)
	}
}

func TestLabels(t *testing.T) {
	f := &File{}
	fn := f.Func("f", "func()")
	fn.B("nowhere")
	_, err := f.Asm("test")
	assert.ErrorContains(t, err, "nowhere")

	f = &File{}
	fn = f.Func("f", "func()")
	fn.Label("a")
	fn.Label("a")
	_, err = f.Asm("test")
	assert.ErrorContains(t, err, "twice")

	f = &File{}
	fn = f.Func("f", "func(x []float32) float64", "f sums.")
	fn.Load(R0, fn.Slot("x_base"))
	fn.Label("loop")
	fn.SUBS(R1, R1, Imm(1))
	fn.BCond(NE, "loop")
	fn.CBZ(R1, "loop")
	fn.StoreF(fn.Slot("ret"), V0)
	fn.RET()
	a, err := f.Asm("test")
	require.NoError(t, err)
	assert.Contains(t, string(a), "TEXT ·f(SB), NOSPLIT, $0-32")
	assert.Contains(t, string(a), "FMOVD   F0, ret+24(FP)")
	s, err := f.Stubs("test", "asm")
	require.NoError(t, err)
	assert.Contains(t, string(s), "//go:noescape\nfunc f(x []float32) float64")
}
