package act

import (
	"math"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLengthMismatchPanicsWithNames(t *testing.T) {
	a, b := make([]float32, 4), make([]float32, 5)
	for _, tc := range []struct {
		name string
		call func()
		msg  string
	}{
		{"SELU", func() { SELU(a, b) }, "act.SELU: len(dst) = 4, len(x) = 5: lengths differ"},
		{"ReLU", func() { ReLU(b, a) }, "act.ReLU: len(dst) = 5, len(x) = 4: lengths differ"},
		{"Exp", func() { Exp(a, b) }, "act.Exp: len(dst) = 4, len(x) = 5: lengths differ"},
		{"SELUGrad dy", func() { SELUGrad(a, b, a) }, "act.SELUGrad: len(dx) = 4, len(dy) = 5: lengths differ"},
		{"SELUGrad y", func() { SELUGrad(a, a, b) }, "act.SELUGrad: len(dx) = 4, len(y) = 5: lengths differ"},
		{"ReLUGrad", func() { ReLUGrad(a, a, b) }, "act.ReLUGrad: len(dx) = 4, len(y) = 5: lengths differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tc.msg, tc.call)
		})
	}
}

func TestPartialOverlapPanics(t *testing.T) {
	buf := make([]float32, 40)
	assert.PanicsWithValue(t, "act.SELU: dst and x overlap without being the same slice",
		func() { SELU(buf[1:33], buf[0:32]) })
	assert.PanicsWithValue(t, "act.SELUGrad: dx and y overlap without being the same slice",
		func() { SELUGrad(buf[0:8], make([]float32, 8), buf[4:12]) })
	// The same slice, and disjoint slices of one buffer, are fine.
	assert.NotPanics(t, func() { SELU(buf[:20], buf[:20]) })
	assert.NotPanics(t, func() { SELU(buf[20:], buf[:20]) })
	assert.NotPanics(t, func() { SELUGrad(buf[:8], buf[:8], buf[8:16]) })
}

func TestEmpty(t *testing.T) {
	assert.NotPanics(t, func() {
		SELU(nil, nil)
		SELUGrad(nil, nil, nil)
		ReLU(nil, []float32{})
		ReLUGrad(nil, nil, nil)
		Exp(nil, nil)
	})
	assert.True(t, math.IsNaN(float64(Mean(nil))))
	m, v := MeanVar(nil)
	assert.True(t, math.IsNaN(float64(m)) && math.IsNaN(float64(v)))
	assert.True(t, math.IsNaN(float64(Centralize(nil))))
}

// TestMeanAccuracy is the bar of the kernel foundation: 1e7 values around
// 1000 +- 1 averaged with a relative error below 2e-7 on every ISA, where a
// plain float32 loop is far off.
func TestMeanAccuracy(t *testing.T) {
	n := 10_000_000
	if testing.Short() {
		n = 1_000_000
	}
	x := testkit.Uniform(testkit.Rand(7), n, 999, 1001)
	var exact float64
	for _, v := range x {
		exact += float64(v)
	}
	exact /= float64(n)

	var naive float32
	for _, v := range x {
		naive += v
	}
	naiveErr := math.Abs(float64(naive)/float64(n)-exact) / exact
	t.Logf("plain float32 loop: relative error %.3g", naiveErr)
	assert.Greater(t, naiveErr, 2e-7, "the data should defeat a plain float32 sum")

	for _, k := range kernels.Sets() {
		got := mean(k, x)
		rel := math.Abs(float64(got)-exact) / exact
		t.Logf("%-7s Mean relative error %.3g", k.ISA, rel)
		assert.LessOrEqual(t, rel, 2e-7, k.ISA)

		m, v := meanVar(k, x)
		assert.InEpsilon(t, exact, float64(m), 2e-7, k.ISA)
		var ss float64
		for _, e := range x {
			d := float64(e) - exact
			ss += d * d
		}
		assert.InEpsilon(t, ss/float64(n), float64(v), 1e-5, "%s variance", k.ISA)
	}
}

func TestMeanVarAgainstTwoPass(t *testing.T) {
	r := testkit.Rand(8)
	for _, k := range kernels.Sets() {
		for _, n := range testkit.Lengths(70, 255, 256, 257, 1000, 4097, 20011) {
			for _, c := range []struct{ mean, std float64 }{{0, 1}, {0, 0.05}, {3, 0.001}, {-1e4, 2}} {
				x := testkit.Normal(r, n, c.mean, c.std)
				if n == 0 {
					continue
				}
				var s float64
				for _, v := range x {
					s += float64(v)
				}
				mu := s / float64(n)
				var ss float64
				for _, v := range x {
					ss += (float64(v) - mu) * (float64(v) - mu)
				}
				m, v := meanVar(k, x)
				assert.InDelta(t, mu, float64(m), 1e-6*(math.Abs(mu)+c.std), "%s n=%d mean", k.ISA, n)
				assert.InDelta(t, ss/float64(n), float64(v), 2e-5*ss/float64(n)+1e-12, "%s n=%d %v var", k.ISA, n, c)
			}
		}
	}
}

func TestMeanVarSpecial(t *testing.T) {
	for _, k := range kernels.Sets() {
		m, v := meanVar(k, []float32{2, 2, 2, 2, 2})
		assert.Equal(t, float32(2), m)
		assert.Equal(t, float32(0), v)
		m, v = meanVar(k, []float32{1, float32(math.Inf(1)), 3})
		assert.True(t, math.IsInf(float64(m), 1), "%s mean with +Inf: %v", k.ISA, m)
		assert.True(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 1), "%s variance with +Inf: %v", k.ISA, v)
		m, _ = meanVar(k, []float32{1, float32(math.NaN()), 3})
		assert.True(t, math.IsNaN(float64(m)), k.ISA)
	}
}

func TestCentralize(t *testing.T) {
	r := testkit.Rand(9)
	for _, k := range kernels.Sets() {
		for _, n := range testkit.Lengths(40, 287, 288, 289, 2304, 9*64*64+1)[1:] {
			w := testkit.Normal(r, n, 0.3, 0.05)
			orig := append([]float32(nil), w...)
			m := centralize(k, w)
			require.InEpsilon(t, float64(mean(kernels.Reference(), orig)), float64(m), 1e-6, "%s n=%d", k.ISA, n)
			var s, abs float64
			for i, v := range w {
				// One rounding per element: w[i] = RN(orig[i] - m).
				require.Equal(t, orig[i]-m, v, "%s n=%d i=%d", k.ISA, n, i)
				s += float64(v)
				abs += math.Abs(float64(v))
			}
			// What is left of the mean is rounding: at most half an ulp
			// of each element, far below the spread.
			assert.LessOrEqual(t, math.Abs(s/float64(n)), 0x1p-24*abs/float64(n)+1e-7, "%s n=%d", k.ISA, n)
		}
	}
}

func TestPublicFunctionsUseActiveSet(t *testing.T) {
	x := testkit.Uniform(testkit.Rand(10), 333, -5, 5)
	got, want := make([]float32, len(x)), make([]float32, len(x))
	SELU(got, x)
	kernels.Active().Act.SELU(want, x)
	assert.Equal(t, want, got)
	Exp(got, x)
	kernels.Active().Act.Exp(want, x)
	assert.Equal(t, want, got)
}

func TestNormalizeUnit(t *testing.T) {
	r := testkit.Rand(14)
	for _, k := range kernels.Sets() {
		for _, n := range []int{2, 3, 9, 31, 288, 2304, 4608, 12289} {
			for _, c := range []struct{ mean, std float64 }{{0, 0.05}, {0.3, 0.01}, {-2, 3}, {1e-4, 1e-6}} {
				w := testkit.Normal(r, n, c.mean, c.std)
				var s1, s2 float64
				for _, v := range w {
					s1 += float64(v)
					s2 += float64(v) * float64(v)
				}
				omega, tau := normalizeUnit(k, w)
				assert.InDelta(t, s1, omega, 1e-6*(math.Abs(s1)+float64(n)*c.std), "%s n=%d omega before", k.ISA, n)
				assert.InEpsilon(t, s2, tau, 1e-5, "%s n=%d tau before", k.ISA, n)
				var o, q float64
				for _, v := range w {
					o += float64(v)
					q += float64(v) * float64(v)
				}
				assert.Less(t, math.Abs(o), 1e-5, "%s n=%d %v: omega after", k.ISA, n, c)
				assert.Less(t, math.Abs(q-1), 1e-5, "%s n=%d %v: tau after", k.ISA, n, c)
			}
		}
	}
}

func TestNormalizeUnitDegenerate(t *testing.T) {
	for _, k := range kernels.Sets() {
		w := []float32{0.7, 0.7, 0.7, 0.7, 0.7}
		normalizeUnit(k, w)
		var o, q float64
		for _, v := range w {
			o += float64(v)
			q += float64(v) * float64(v)
		}
		assert.InDelta(t, 0, o, 1e-6, k.ISA)
		assert.InDelta(t, 1, q, 1e-6, k.ISA)
		assert.Less(t, w[0], w[4], "a ramp")

		bad := []float32{1, float32(math.NaN()), 2}
		normalizeUnit(k, bad)
		assert.Equal(t, float32(1), bad[0], "NaN weights are left alone")
	}
	assert.PanicsWithValue(t, "act.NormalizeUnit: len(w) = 1: sum 0 and sum of squares 1 need at least 2 weights",
		func() { NormalizeUnit([]float32{3}) })
	assert.Panics(t, func() { NormalizeUnit(nil) })
}
