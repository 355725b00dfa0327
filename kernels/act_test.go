package kernels

import (
	"math"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lengths covers 0..300 (every tail size of every vector width and several
// whole blocks of both accumulator layouts) and odd sizes across many
// blocks.
var lengths = testkit.Lengths(300, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 6143, 12289, 100003)

func exactSum(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// forEach runs f for every kernel set this CPU runs, on slices of every
// test length at several alignments: at the end of a guarded buffer, at its
// start, and one to three elements into an ordinary allocation.
func forEach(t *testing.T, f func(t *testing.T, k *Set, x []float32)) {
	r := testkit.Rand(1)
	for _, k := range Sets() {
		t.Run(k.ISA, func(t *testing.T) {
			for _, n := range lengths {
				src := testkit.Uniform(r, n+3, -2, 3)
				end, start := testkit.Guarded(t, n)
				copy(end, src)
				copy(start, src)
				f(t, k, end)
				f(t, k, start)
				for off := 1; off <= 3; off++ {
					buf := make([]float32, n+off)
					copy(buf[off:], src[off:])
					f(t, k, buf[off:])
				}
			}
		})
	}
}

func TestSum(t *testing.T) {
	forEach(t, func(t *testing.T, k *Set, x []float32) {
		want := exactSum(x)
		got := k.Act.Sum(x)
		var abs float64
		for _, v := range x {
			abs += math.Abs(float64(v))
		}
		// Each float32 partial has at most 128 terms: its error is bounded
		// by 128 roundings of at most 2^-24 of the absolute sum.
		assert.InDelta(t, want, got, 128*abs*0x1p-24+1e-30, "n=%d", len(x))
	})
}

func TestSumF32(t *testing.T) {
	forEach(t, func(t *testing.T, k *Set, x []float32) {
		want := exactSum(x)
		got := float64(k.Bench.SumF32(x))
		var abs float64
		for _, v := range x {
			abs += math.Abs(float64(v))
		}
		// Any order of n float32 additions: at most n roundings of at most
		// 2^-24 of the absolute sum.
		assert.InDelta(t, want, got, float64(len(x)+1)*abs*0x1p-24+1e-30, "n=%d", len(x))
	})
}

// TestSumF32Drifts shows what Sum's blocks are for: on 1e7 copies of
// 1000.3 every lane of a plain float32 sum passes 2^26, where its spacing
// is 8 and each further 1000.3 is rounded to 1000 (to 1024 or 0 in one
// accumulator past 2^33). Sum's partials never pass 2^17, where one
// addition's rounding is at most 2^-8 (4e-6 of 1000.3); constant data
// makes that error the same every time, so it does not average out, and
// it is still a hundred times smaller.
func TestSumF32Drifts(t *testing.T) {
	x := make([]float32, 10_000_000)
	for i := range x {
		x[i] = 1000.3
	}
	want := float64(len(x)) * float64(float32(1000.3))
	for _, k := range Sets() {
		naive := math.Abs(float64(k.Bench.SumF32(x))-want) / want
		blocked := math.Abs(k.Act.Sum(x)-want) / want
		t.Logf("%-7s relative error: SumF32 %.3g, Sum %.3g", k.ISA, naive, blocked)
		assert.Greater(t, naive, 1e-4, k.ISA)
		assert.Less(t, blocked, 4e-6, k.ISA)
	}
}

func TestMoments(t *testing.T) {
	forEach(t, func(t *testing.T, k *Set, x []float32) {
		for _, shift := range []float32{0, 0.5, -3} {
			var w1, w2, abs1, abs2 float64
			for _, v := range x {
				d := float64(v) - float64(shift)
				w1 += d
				w2 += d * d
				abs1 += math.Abs(d)
			}
			abs2 = w2
			g1, g2 := k.Act.Moments(x, shift)
			// The difference itself is rounded to float32 before squaring.
			assert.InDelta(t, w1, g1, 130*abs1*0x1p-24+1e-30, "s1 n=%d shift=%v", len(x), shift)
			assert.InDelta(t, w2, g2, 132*abs2*0x1p-24+1e-30, "s2 n=%d shift=%v", len(x), shift)
		}
	})
}

func TestAffine(t *testing.T) {
	forEach(t, func(t *testing.T, k *Set, x []float32) {
		want := append([]float32(nil), x...)
		Reference().Act.Affine(want, 1.5, -0.25)
		k.Act.Affine(x, 1.5, -0.25)
		for i := range x {
			require.LessOrEqual(t, testkit.ULP(want[i], x[i]), int64(1), "n=%d i=%d", len(x), i)
		}
	})
}

func TestAdd(t *testing.T) {
	r := testkit.Rand(4)
	forEach(t, func(t *testing.T, k *Set, x []float32) {
		for _, in := range []string{"end", "start"} {
			end, start := testkit.Guarded(t, len(x))
			dst := map[string][]float32{"end": end, "start": start}[in]
			copy(dst, testkit.Uniform(r, len(x), -3, 2))
			want := append([]float32(nil), dst...)
			for i, v := range x {
				want[i] += v
			}
			k.Act.Add(dst, x)
			for i := range want {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(dst[i]), "n=%d i=%d, dst at the guard's %s", len(x), i, in)
			}
		}
	})
}

func TestCopyAndRead(t *testing.T) {
	forEach(t, func(t *testing.T, k *Set, x []float32) {
		k.Bench.Read(x)
		dst, _ := testkit.Guarded(t, len(x))
		k.Bench.Copy(dst, x)
		require.Equal(t, x, dst)
	})
}

func TestCopyAndAddCheckLength(t *testing.T) {
	for _, k := range Sets() {
		assert.Panics(t, func() { k.Bench.Copy(make([]float32, 3), make([]float32, 4)) }, k.ISA)
		assert.Panics(t, func() { k.Act.Add(make([]float32, 3), make([]float32, 4)) }, k.ISA)
	}
}

// TestSumBlocksAccurate checks the property the blocking exists for: a long
// sum of large, nearly equal values keeps float64-like accuracy.
func TestSumBlocksAccurate(t *testing.T) {
	r := testkit.Rand(2)
	x := testkit.Uniform(r, 1_000_003, 999, 1001)
	want := exactSum(x)
	for _, k := range Sets() {
		got := k.Act.Sum(x)
		assert.InEpsilon(t, want, got, 1e-9, k.ISA)
	}
}
