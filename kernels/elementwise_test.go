package kernels

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	posInf = float32(math.Inf(1))
	negInf = float32(math.Inf(-1))
	nan    = float32(math.NaN())
	negZ   = float32(math.Copysign(0, -1))
)

// unaryKernel describes one element-wise kernel of one input for the
// table-driven tests: how to get it from a Set, its exact value in float64,
// the input range random tests draw from, and its error bound in ulp.
type unaryKernel struct {
	name   string
	get    func(*Set) func(dst, x []float32)
	exact  func(x float64) float64
	lo, hi float32
	maxULP float64
}

var la64 = SELULambda * SELUAlpha

func seluExact(x float64) float64 {
	if x < 0 {
		return la64 * math.Expm1(x)
	}
	return SELULambda * x
}

var unaryKernels = []unaryKernel{
	{"SELU", func(s *Set) func(dst, x []float32) { return s.Act.SELU }, seluExact, -20, 5, 2},
	{"Exp", func(s *Set) func(dst, x []float32) { return s.Act.Exp }, math.Exp, -110, 95, 2},
	{"ReLU", func(s *Set) func(dst, x []float32) { return s.Act.ReLU }, func(x float64) float64 { return max(x, 0) }, -3, 3, 0},
}

// specials are placed at every position of the test vectors, so that they
// go through the unrolled loop, the single-vector loop and the masked tail.
var specials = []float32{
	0, negZ, posInf, negInf, nan, -nan,
	1e-40, -1e-40, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
	math.MaxFloat32, -math.MaxFloat32, 1, -1,
	seluCutoff, math.Nextafter32(seluCutoff, 0), math.Nextafter32(seluCutoff, negInf),
	expLo, math.Nextafter32(expLo, 0), expHi, math.Nextafter32(expHi, 0),
	88.72283, 88.72284, -87.33654, -87.33655, -103.27893, -103.97208, -103.97207,
	1e-8, -1e-8, 0x1p-24, -0x1p-24,
}

// sameBits reports whether a and b are equal as a kernel must reproduce
// them: both NaN, or equal with the same sign of zero.
func sameBits(a, b float32) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return a == b && math.Signbit(float64(a)) == math.Signbit(float64(b))
}

// sameAsTwin fails unless one output of set k has the same bits as the
// generic twin's (any NaN matches any NaN). The twin computes the same float32
// operations with an exact FMA emulation, so nothing else is allowed.
// The description is formatted only on failure: the tests check millions
// of elements, and under qemu building a message for each costs most of
// their time.
func sameAsTwin(t *testing.T, what string, got, want float32, args ...any) {
	t.Helper()
	if !sameBits(got, want) {
		t.Fatalf("%s: got %v (%#08x), generic twin %v (%#08x)", fmt.Sprintf(what, args...), got, math.Float32bits(got), want, math.Float32bits(want))
	}
}

func TestUnaryMatchesTwin(t *testing.T) {
	r := testkit.Rand(3)
	for _, uk := range unaryKernels {
		ref := uk.get(Reference())
		for _, k := range Sets() {
			f := uk.get(k)
			t.Run(uk.name+"/"+k.ISA, func(t *testing.T) {
				for _, n := range lengths {
					x := testkit.Uniform(r, n, uk.lo, uk.hi)
					for i := 0; i < n; i += 7 {
						x[i] = specials[(i/7)%len(specials)]
					}
					want := make([]float32, n)
					ref(want, x)

					// Out of place, against guard pages on both sides.
					gx, gx2 := testkit.Guarded(t, n)
					copy(gx, x)
					copy(gx2, x)
					out, out2 := testkit.Guarded(t, n)
					f(out, gx)
					f(out2, gx2)
					// In place, at unaligned offsets, with the element
					// before the slice watched.
					for off := 1; off <= 3; off++ {
						buf := make([]float32, n+off)
						buf[off-1] = 12345
						copy(buf[off:], x)
						f(buf[off:], buf[off:])
						require.Equal(t, float32(12345), buf[off-1], "n=%d: wrote before dst", n)
						for i := range x {
							sameAsTwin(t, "in place n=%d off=%d x[%d]=%v", buf[off+i], want[i], n, off, i, x[i])
						}
					}
					for i := range x {
						sameAsTwin(t, "n=%d x[%d]=%v", out[i], want[i], n, i, x[i])
						sameAsTwin(t, "n=%d x[%d]=%v", out2[i], want[i], n, i, x[i])
					}
				}
			})
		}
	}
}

func TestSpecialValues(t *testing.T) {
	la := float32(la64)
	tests := []struct {
		kernel string
		x      float32
		want   float32
	}{
		{"SELU", 0, 0},
		{"SELU", negZ, negZ},
		{"SELU", nan, nan},
		{"SELU", negInf, -la},
		{"SELU", posInf, posInf},
		{"SELU", math.MaxFloat32, posInf},
		{"SELU", -math.MaxFloat32, -la},
		{"SELU", -1000, -la},
		{"SELU", seluCutoff, -la},
		{"SELU", 1, float32(SELULambda)},
		{"Exp", 0, 1},
		{"Exp", negZ, 1},
		{"Exp", nan, nan},
		{"Exp", negInf, 0},
		{"Exp", posInf, posInf},
		{"Exp", 88.72284, posInf},
		{"Exp", 100, posInf},
		{"Exp", -104, 0},
		{"Exp", -1e30, 0},
		{"Exp", -103.97209, 0},                           // just below ln(2^-150): rounds to 0
		{"Exp", -103.97208, math.SmallestNonzeroFloat32}, // just above
		{"Exp", -103.2789, math.SmallestNonzeroFloat32},
		{"ReLU", negZ, negZ},
		{"ReLU", nan, nan},
		{"ReLU", -1, 0},
		{"ReLU", negInf, 0},
		{"ReLU", posInf, posInf},
	}
	for _, k := range Sets() {
		for _, tc := range tests {
			var f func(dst, x []float32)
			for _, uk := range unaryKernels {
				if uk.name == tc.kernel {
					f = uk.get(k)
				}
			}
			for _, n := range []int{1, 17, 37, 64} {
				x := make([]float32, n)
				for pos := 0; pos < n; pos++ {
					x[pos] = tc.x
					dst := make([]float32, n)
					f(dst, x)
					assert.True(t, sameBits(dst[pos], tc.want), "%s %s(%v) at %d of %d = %v (%#08x), want %v",
						k.ISA, tc.kernel, tc.x, pos, n, dst[pos], math.Float32bits(dst[pos]), tc.want)
					x[pos] = 0.5
				}
			}
		}
	}
}

// TestAccuracy measures the worst error of each kernel against float64 on
// every ISA, over the float32 bit patterns visited by a stride, and checks
// the bound. With SNN_EXHAUSTIVE=1 it visits every pattern of each
// kernel's interesting range (the negative floats for SELU and ReLU,
// [-104, 89] for Exp): a few minutes.
func TestAccuracy(t *testing.T) {
	step := uint64(4099)
	exhaustive := os.Getenv("SNN_EXHAUSTIVE") == "1"
	if exhaustive {
		step = 1
	} else if testing.Short() {
		step = 65537
	}
	sets := Sets()
	const chunk = 1 << 16
	x := make([]float32, 0, chunk)
	want := make([]float64, chunk)
	y := make([]float32, chunk)
	for _, uk := range unaryKernels {
		lo, hi := uint64(0), uint64(math.MaxUint32)
		if exhaustive {
			lo, hi = 0x80000000, 0xff800000 // -0 down to -Inf
		}
		type score struct {
			worst, worstSub float64
			at              float32
		}
		scores := make([]score, len(sets))
		check := func() {
			for i, v := range x {
				want[i] = uk.exact(float64(v))
			}
			for si, k := range sets {
				uk.get(k)(y[:len(x)], x)
				sc := &scores[si]
				for i, v := range x {
					if uk.name == "Exp" && math.Abs(want[i]) < 0x1p-126 {
						// Subnormal results: count in units of the
						// subnormal spacing, one rounding allowed.
						sc.worstSub = max(sc.worstSub, math.Abs(float64(y[i])-want[i])/0x1p-149)
						continue
					}
					if e := testkit.ULP64(y[i], want[i]); e > sc.worst {
						sc.worst, sc.at = e, v
					}
				}
			}
			x = x[:0]
		}
		visit := func(lo, hi uint64) {
			for b := lo; b <= hi; b += step {
				v := math.Float32frombits(uint32(b))
				if v != v {
					continue
				}
				x = append(x, v)
				if len(x) == chunk {
					check()
				}
			}
		}
		visit(lo, hi)
		if exhaustive && uk.name == "Exp" {
			visit(0, uint64(math.Float32bits(89)))
		}
		check()
		for si, k := range sets {
			sc := scores[si]
			t.Logf("%-4s %-7s max error %.3f ulp (at x = %v); subnormal results %.3f units; stride %d",
				uk.name, k.ISA, sc.worst, sc.at, sc.worstSub, step)
			assert.LessOrEqual(t, sc.worst, uk.maxULP, "%s %s at x = %v", uk.name, k.ISA, sc.at)
			assert.LessOrEqual(t, sc.worstSub, 1.0, "%s %s subnormal results", uk.name, k.ISA)
		}
	}
}

func TestGradients(t *testing.T) {
	r := testkit.Rand(4)
	la := float32(la64)
	for _, k := range Sets() {
		t.Run(k.ISA, func(t *testing.T) {
			for _, n := range lengths {
				x := testkit.Uniform(r, n, -12, 4)
				for i := 0; i < n; i += 11 {
					x[i] = specials[(i/11)%len(specials)]
				}
				dy := testkit.Uniform(r, n, -2, 2)
				y := make([]float32, n)
				Reference().Act.SELU(y, x)
				dx, want := make([]float32, n), make([]float32, n)
				k.Act.SELUGrad(dx, dy, y)
				Reference().Act.SELUGrad(want, dy, y)
				for i := range dx {
					// Two float32 operations, no FMA: every path
					// computes the same bits.
					require.True(t, sameBits(dx[i], want[i]), "SELUGrad n=%d i=%d y=%v: %v vs %v", n, i, y[i], dx[i], want[i])
					if x[i] != x[i] || math.IsInf(float64(x[i]), 0) || math.Abs(float64(x[i])) > 1e30 {
						continue
					}
					// Against the true derivative, from x: y carries an
					// absolute error of about ulp(la) near -la, which
					// y + la turns into a relative one for very negative
					// x; the bound says so.
					exact := float64(dy[i]) * SELULambda
					if x[i] <= 0 && y[i] <= 0 {
						exact = float64(dy[i]) * la64 * math.Exp(float64(x[i]))
					}
					tol := 2*math.Abs(float64(dy[i]))*0x1p-23*float64(la) + 3*math.Abs(exact)*0x1p-24
					require.InDelta(t, exact, float64(dx[i]), tol, "SELUGrad x=%v dy=%v", x[i], dy[i])
				}
				Reference().Act.ReLU(y, x)
				k.Act.ReLUGrad(dx, dy, y)
				for i := range dx {
					w := float32(0)
					if y[i] > 0 {
						w = dy[i]
					}
					require.True(t, sameBits(dx[i], w), "ReLUGrad y=%v dy=%v: %v", y[i], dy[i], dx[i])
				}
			}
		})
	}
	_ = la
}

func TestGradientsInPlace(t *testing.T) {
	r := testkit.Rand(6)
	for _, k := range Sets() {
		for _, n := range []int{0, 1, 15, 16, 17, 100} {
			y := testkit.Uniform(r, n, -1.7, 3)
			dy := testkit.Uniform(r, n, -2, 2)
			want := make([]float32, n)
			Reference().Act.SELUGrad(want, dy, y)
			k.Act.SELUGrad(dy, dy, y) // dx aliases dy
			require.Equal(t, want, dy, "%s n=%d", k.ISA, n)
		}
	}
}

func TestShortOutputsPanic(t *testing.T) {
	for _, k := range Sets() {
		x := make([]float32, 9)
		short := make([]float32, 8)
		assert.Panics(t, func() { k.Act.SELU(short, x) }, k.ISA)
		assert.Panics(t, func() { k.Act.Exp(short, x) }, k.ISA)
		assert.Panics(t, func() { k.Act.ReLU(short, x) }, k.ISA)
		assert.Panics(t, func() { k.Act.SELUGrad(short, x, x) }, k.ISA)
		assert.Panics(t, func() { k.Act.SELUGrad(x, short, x) }, k.ISA)
		assert.Panics(t, func() { k.Act.ReLUGrad(x, short, x) }, k.ISA)
	}
}

// TestExpConstants checks the generated constants (act_const.go) against
// what each one is meant to be, so that a wrong value in
// gen/internal/expconst cannot reach both the assembly and its twins.
func TestExpConstants(t *testing.T) {
	tests := []struct {
		name      string
		got, want float32
	}{
		{"lambda32", lambda32, float32(SELULambda)},
		{"lambdaAlpha32", lambdaAlpha32, float32(SELULambda * SELUAlpha)},
		{"log2e", log2e, float32(math.Log2E)},
		{"ln2", ln2, float32(math.Ln2)},
		{"ln2Lo", ln2Lo, float32(math.Ln2 - float64(ln2Hi))},
		{"magicBias", magicBias, 1.5 * (1 << 23)},
		{"magicBias127", magicBias127, 1.5*(1<<23) + 127},
		{"seluCutoff", seluCutoff, float32(-25 * math.Ln2)},
		{"expLo", expLo, -104},
		{"expHi", expHi, 89},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, math.Float32bits(tt.want), math.Float32bits(tt.got))
		})
	}
	// n*ln2Hi must be exact for every n exp reaches (|n| <= 150 < 2^9):
	// 9 trailing zero bits.
	assert.Zero(t, math.Float32bits(ln2Hi)&0x1ff, "ln2Hi")
	assert.Less(t, math.Abs(float64(ln2Hi)-math.Ln2), 1e-5, "ln2Hi")
	// The clamps lie past the points where float32 exp saturates.
	assert.True(t, math.IsInf(float64(float32(math.Exp(float64(expHi)))), 1), "e^expHi overflows float32")
	assert.Zero(t, float32(math.Exp(float64(expLo))), "e^expLo underflows float32")
}
