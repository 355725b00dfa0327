package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/require"
)

// exactFMA32 is a*b+c rounded once to float32 (nearest, ties to even), by
// exact arithmetic; zero results get IEEE's sign.
func exactFMA32(a, b, c float32) float32 {
	if math.IsNaN(float64(a)) || math.IsNaN(float64(b)) || math.IsNaN(float64(c)) ||
		math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || math.IsInf(float64(c), 0) {
		return float32(float64(a)*float64(b) + float64(c)) // no rounding question
	}
	x := new(big.Float).SetPrec(500).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(500).SetFloat64(float64(c)))
	if x.Sign() == 0 {
		p := float64(a) * float64(b) // exact, and so is its sign
		return float32(p + float64(c))
	}
	f, _ := x.Float32()
	return f
}

// tieCase returns a, b, c whose exact a*b+c lies a hair off the halfway
// point between c and its neighbour: the float64 sum rounds onto the
// halfway point, and narrowing it then breaks the tie to even, which is
// wrong for half of such c. With subnormal, c is a float32 subnormal; the
// float64 sum is exact there, and the case checks the narrowing of
// near-halfway subnormal sums (fmafTie's path).
func tieCase(r *rand.Rand, subnormal bool) (a, b, c float32) {
	bits := r.Uint32() & 0x7fffffff
	if subnormal {
		bits &= 0x007fffff
	}
	for bits == 0 || (!subnormal && bits < 0x02000000) || bits >= 0x7f000000 {
		bits = r.Uint32() & 0x7effffff
	}
	c = math.Float32frombits(bits)
	if r.IntN(2) == 0 {
		c = -c
	}
	next := math.Nextafter32(c, float32(math.Inf(1)))
	if subnormal {
		// Half the spacing, 2^-150, is no float32: halve b instead.
		a, b = next-c, (1-0x1p-23)/2
	} else {
		// h is half an ulp of c, a power of two, and
		// (1+2^-23)(1-2^-23) = 1-2^-46: a*b misses h by a relative
		// 2^-46, too little for the float64 sum to keep.
		h := float32((float64(next) - float64(c)) / 2)
		a, b = h*(1+0x1p-23), 1-0x1p-23
	}
	if r.IntN(2) == 0 { // a hair above the halfway point, seen from next
		a, c = -a, next
	}
	return a, b, c
}

// naiveFMA32 is the emulation fmaf improves on: the float64 sum narrowed
// to float32, two roundings.
func naiveFMA32(a, b, c float32) float32 {
	return float32(float64(a)*float64(b) + float64(c))
}

func TestFMAFExact(t *testing.T) {
	r := testkit.Rand(41)
	n := 40000
	if testing.Short() {
		n = 5000
	}
	wrong := 0
	check := func(a, b, c float32) {
		t.Helper()
		want := exactFMA32(a, b, c)
		got := fmaf(a, b, c)
		require.True(t, sameBits(got, want), "fmaf(%v, %v, %v) = %v (%#08x), exact %v (%#08x)",
			a, b, c, got, math.Float32bits(got), want, math.Float32bits(want))
		if !sameBits(naiveFMA32(a, b, c), want) {
			wrong++
		}
	}
	for i := 0; i < n; i++ {
		check(tieCase(r, false))
		check(tieCase(r, i%8 == 0))
		// Arbitrary bit patterns, and operands of nearby magnitudes where
		// cancellation and float32-subnormal sums happen.
		check(math.Float32frombits(r.Uint32()), math.Float32frombits(r.Uint32()), math.Float32frombits(r.Uint32()))
		a, b := float32(r.NormFloat64()), float32(r.NormFloat64())
		check(a, b, -a*b*float32(1+r.NormFloat64()*1e-6))
		check(a*1e-20, b*1e-20, float32(r.NormFloat64())*1e-39)
	}
	// The tie cases must have caught the double rounding they were built
	// for, or this test proves nothing about it.
	require.Greater(t, wrong, n/8, "double-rounding cases of the float64 emulation")
	for _, tc := range [][3]float32{
		{0, 0, 0}, {negZ, 0, 0}, {negZ, 0, negZ}, {1, 1, -1}, {-1, 1, 1},
		{posInf, 0, 1}, {posInf, 1, negInf}, {nan, 1, 1}, {1, 1, nan},
		{math.MaxFloat32, 2, -math.MaxFloat32}, {math.MaxFloat32, math.MaxFloat32, negInf},
		{math.SmallestNonzeroFloat32, 0.5, 0}, {math.SmallestNonzeroFloat32, 0.5, math.SmallestNonzeroFloat32},
		{math.SmallestNonzeroFloat32, 1.5, 0}, {math.SmallestNonzeroFloat32, -0.5, 0},
		{1 + 0x1p-12, 1 + 0x1p-12, 0x1p-80},
	} {
		check(tc[0], tc[1], tc[2])
	}
}
