// Package expconst is the one source of the float32 constants of snn's exp,
// expm1 and SELU kernels. The amd64 and arm64 generators read them from
// here, and gen/goconst writes them into kernels/act_const.go for the
// pure-Go twins, so every implementation uses the same bits.
//
// kernels/act_elementwise.go documents the algorithms; gen/remez derives
// the polynomial.
package expconst

import (
	"math"
	"math/big"
)

// The SELU parameters of Klambauer et al. (2017), kept as decimal text so
// that the Go source written for kernels carries every digit of the paper.
const (
	Lambda = "1.0507009873554804934193349852946"
	Alpha  = "1.6732632423543772848170429916717"
)

var (
	// Lambda32 is lambda and LambdaAlpha32 is lambda*alpha, each rounded
	// once to float32 from the exact decimal values.
	Lambda32      = round32(Lambda)
	LambdaAlpha32 = round32(Lambda, Alpha)

	// Range reduction x = n*ln2 + r, |r| <= ln2/2. Ln2Hi has 9 trailing
	// zero bits, so n*Ln2Hi is exact for |n| < 2^9; exp's n stays within
	// [-150, 128].
	Log2e = math.Float32frombits(0x3fb8aa3b)
	Ln2   = math.Float32frombits(0x3f317218)
	Ln2Hi = math.Float32frombits(0x3f317200)
	Ln2Lo = math.Float32frombits(0x35bfbe8e)

	// Adding MagicBias to x*log2e rounds it to the integer n in the low
	// mantissa bits (the float32 ulp at 1.5*2^23 is 1). MagicBias127 has
	// the exponent bias 127 added too, so shifting its bits left by 23
	// gives 2^n directly.
	MagicBias    = math.Float32frombits(0x4b400000) // 1.5 * 2^23
	MagicBias127 = math.Float32frombits(0x4b40007f) // 1.5 * 2^23 + 127

	// expm1(r) ~= r + r^2*(c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4) on
	// [-ln2/2, ln2/2], relative error 1.3e-8 before rounding (gen/remez).
	ExpC2 = math.Float32frombits(0x3effffff)
	ExpC3 = math.Float32frombits(0x3e2aaa58)
	ExpC4 = math.Float32frombits(0x3d2aab3a)
	ExpC5 = math.Float32frombits(0x3c0913b4)
	ExpC6 = math.Float32frombits(0x3ab5f604)

	// SELUCutoff = -25*ln2: below it expm1 rounds to -1 in float32, and
	// clamping there keeps 2^n a normal float.
	SELUCutoff = math.Float32frombits(0xc18aa123)

	// exp saturates: e^x is +Inf above ln(MaxFloat32) ~= 88.7228 and
	// rounds to 0 below ln(2^-150) ~= -103.972; clamping to [ExpLo, ExpHi]
	// keeps n in [-150, 128] and gives those results.
	ExpLo = float32(-104)
	ExpHi = float32(89)
)

// Twin is one constant as the pure-Go twins in package kernels name it.
type Twin struct {
	Name  string
	Value float32
	Note  string // a trailing comment in the generated file, or ""
}

// Twins lists every float32 constant of package kernels' exp and SELU
// twins, in the order gen/goconst writes them.
var Twins = []Twin{
	{"lambda32", Lambda32, "float32(SELULambda)"},
	{"lambdaAlpha32", LambdaAlpha32, "float32(SELULambda * SELUAlpha)"},
	{"log2e", Log2e, ""},
	{"ln2", Ln2, ""},
	{"ln2Hi", Ln2Hi, "9 trailing zero bits"},
	{"ln2Lo", Ln2Lo, "ln(2) - ln2Hi"},
	{"magicBias", MagicBias, "1.5 * 2^23"},
	{"magicBias127", MagicBias127, "1.5 * 2^23 + 127"},
	{"expC2", ExpC2, ""},
	{"expC3", ExpC3, ""},
	{"expC4", ExpC4, ""},
	{"expC5", ExpC5, ""},
	{"expC6", ExpC6, ""},
	{"seluCutoff", SELUCutoff, "-25 ln2"},
	{"expLo", ExpLo, "-104"},
	{"expHi", ExpHi, "89"},
}

// round32 is the product of the decimal numbers ds rounded to float32. At
// 256 bits the product is within 2^-250 of the exact one, far too close to
// move a float32 rounding: the result is what Go's constant arithmetic gives.
func round32(ds ...string) float32 {
	p := new(big.Float).SetPrec(256).SetInt64(1)
	for _, d := range ds {
		f, _, err := big.ParseFloat(d, 10, 256, big.ToNearestEven)
		if err != nil {
			panic(err)
		}
		p.Mul(p, f)
	}
	f, _ := p.Float32()
	return f
}
