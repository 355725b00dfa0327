package gemm_test

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/require"
)

const (
	p62    = 1 << 62
	maxInt = math.MaxInt
)

// hugeCall is an Sgemm call whose sizes or strides are near the top of
// int's range (or negative), with operands of small lengths.
type hugeCall struct {
	name             string
	transA, transB   bool
	m, n, k          int
	lda, ldb, ldc    int
	lenA, lenB, lenC int
	want             string // what the panic must say
}

// hugeCalls lists calls whose size arithmetic, done naively, wraps
// around and lets a short slice pass: (m-1)*ldc+n and the like.
var hugeCalls = []hugeCall{
	{name: "ldc max", m: 2, n: 2, k: 2, lda: 2, ldb: 2, ldc: maxInt, lenA: 4, lenB: 4, lenC: 8, want: "ldc = 9223372036854775807"},
	{name: "ldc 2^62", m: 5, n: 1, k: 1, lda: 1, ldb: 1, ldc: p62, lenA: 5, lenB: 1, lenC: 8, want: "ldc = 4611686018427387904"},
	{name: "ldc 2^63-2^62", m: 3, n: 1, k: 1, lda: 1, ldb: 1, ldc: maxInt - p62, lenA: 3, lenB: 1, lenC: 8, want: "ldc = 4611686018427387903"},
	{name: "lda max", m: 2, n: 2, k: 2, lda: maxInt, ldb: 2, ldc: 2, lenA: 4, lenB: 4, lenC: 4, want: "lda = 9223372036854775807"},
	{name: "lda 2^62 transposed", transA: true, m: 1, n: 1, k: 5, lda: p62, ldb: 1, ldc: 1, lenA: 8, lenB: 5, lenC: 1, want: "lda = 4611686018427387904"},
	{name: "ldb max", m: 1, n: 2, k: 3, lda: 3, ldb: maxInt, ldc: 2, lenA: 3, lenB: 8, lenC: 2, want: "ldb = 9223372036854775807"},
	{name: "ldb 2^62 transposed", transB: true, m: 1, n: 5, k: 1, lda: 1, ldb: p62, ldc: 5, lenA: 1, lenB: 8, lenC: 5, want: "ldb = 4611686018427387904"},
	{name: "m 2^62", m: p62, n: 1, k: 1, lda: 1, ldb: 1, ldc: 4, lenA: 8, lenB: 1, lenC: 8, want: "m = 4611686018427387904"},
	{name: "m max", m: maxInt, n: 2, k: 1, lda: 1, ldb: 2, ldc: 2, lenA: 8, lenB: 2, lenC: 8, want: "m = 9223372036854775807"},
	{name: "m max transposed", transA: true, m: maxInt, n: 1, k: 1, lda: maxInt, ldb: 1, ldc: 1, lenA: 8, lenB: 1, lenC: 8, want: "m = 9223372036854775807"},
	{name: "n 2^62", m: 2, n: p62, k: 1, lda: 1, ldb: p62, ldc: p62, lenA: 2, lenB: 8, lenC: 8, want: "n = 4611686018427387904"},
	{name: "n max", m: 1, n: maxInt, k: 1, lda: 1, ldb: maxInt, ldc: maxInt, lenA: 1, lenB: 8, lenC: 8, want: "n = 9223372036854775807"},
	{name: "k 2^62", transA: true, m: 1, n: 1, k: p62, lda: 4, ldb: 1, ldc: 1, lenA: 8, lenB: 8, lenC: 1, want: "k = 4611686018427387904"},
	{name: "k max", m: 1, n: 1, k: maxInt, lda: maxInt, ldb: 1, ldc: 1, lenA: 8, lenB: 8, lenC: 1, want: "k = 9223372036854775807"},
	{name: "m and ldc 2^62", m: p62, n: 1, k: 1, lda: 1, ldb: 1, ldc: p62, lenA: 8, lenB: 1, lenC: 8, want: "m = 4611686018427387904"},
	{name: "m negative", m: -1, n: 1, k: 1, lda: 1, ldb: 1, ldc: 1, lenA: 1, lenB: 1, lenC: 1, want: "m = -1 < 0"},
	{name: "n min", m: 1, n: math.MinInt, k: 1, lda: 1, ldb: 1, ldc: 1, lenA: 1, lenB: 1, lenC: 1, want: "n = -9223372036854775808 < 0"},
	{name: "k -2^62", m: 1, n: 1, k: -p62, lda: 1, ldb: 1, ldc: 1, lenA: 1, lenB: 1, lenC: 1, want: "k = -4611686018427387904 < 0"},
	{name: "lda negative", m: 1, n: 1, k: 1, lda: -1, ldb: 1, ldc: 1, lenA: 1, lenB: 1, lenC: 1, want: "lda = -1"},
	{name: "ldc min", m: 1, n: 1, k: 1, lda: 1, ldb: 1, ldc: math.MinInt, lenA: 1, lenB: 1, lenC: 1, want: "ldc = -9223372036854775808"},
}

// fencedOperands returns A, B and C of the given lengths, each between
// sentinels, filled with small integers (exact sums).
func fencedOperands(lenA, lenB, lenC int) (fa, fb, fc *testkit.Fence) {
	val := func(seed int) func(int) float32 {
		return func(i int) float32 { return float32((i*7+seed)%5 - 2) }
	}
	return testkit.Fenced(lenA, val(1)), testkit.Fenced(lenB, val(2)), testkit.Fenced(lenC, val(3))
}

// mustPanic runs f and returns its panic message, failing unless it
// panicked with a string.
func mustPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		require.NotNil(t, r, "no panic")
		s, ok := r.(string)
		require.True(t, ok, "panic value %v (%T) is not a string", r, r)
		msg = s
	}()
	f()
	return ""
}

// TestHugeSizesPanic: each call panics naming the argument, on every
// kernel set and thread count, and neither the operands nor the floats
// around them change.
func TestHugeSizesPanic(t *testing.T) {
	for _, tc := range hugeCalls {
		t.Run(tc.name, func(t *testing.T) {
			for _, ks := range kernels.Sets() {
				for _, threads := range []int{1, 2} {
					fa, fb, fc := fencedOperands(tc.lenA, tc.lenB, tc.lenC)
					c0 := append([]float32(nil), fc.S()...)
					o := gemm.Options{Kernels: ks, Threads: threads}
					msg := mustPanic(t, func() {
						o.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, fa.S(), tc.lda, fb.S(), tc.ldb, 0, fc.S(), tc.ldc)
					})
					require.True(t, strings.HasPrefix(msg, "gemm: Sgemm: "), "%s: %q", ks.ISA, msg)
					require.Contains(t, msg, tc.want, ks.ISA)
					fa.Check(t, "a")
					fb.Check(t, "b")
					fc.Check(t, "c")
					require.Equal(t, c0, fc.S(), "%s: C changed before the panic", ks.ISA)
				}
			}
		})
	}
}

// TestHugeStridesOneRow: a single row may have any stride, since only
// its first element is at an offset of 0 rows: such calls are valid and
// must compute the right values without touching anything else.
func TestHugeStridesOneRow(t *testing.T) {
	for _, tc := range []hugeCall{
		{name: "ldc max, m = 1", m: 1, n: 3, k: 2, lda: 2, ldb: 3, ldc: maxInt, lenA: 2, lenB: 6, lenC: 3},
		{name: "lda max, m = 1", m: 1, n: 3, k: 2, lda: maxInt, ldb: 3, ldc: 3, lenA: 2, lenB: 6, lenC: 3},
		{name: "lda 2^62 transposed, k = 1", transA: true, m: 13, n: 2, k: 1, lda: p62, ldb: 2, ldc: 2, lenA: 13, lenB: 2, lenC: 26},
		{name: "ldb max, k = 1", m: 2, n: 3, k: 1, lda: 1, ldb: maxInt, ldc: 3, lenA: 2, lenB: 3, lenC: 6},
		{name: "ldb max transposed, n = 1", transB: true, m: 2, n: 1, k: 40, lda: 40, ldb: maxInt, ldc: 1, lenA: 80, lenB: 40, lenC: 2},
		{name: "m max, n = 0", m: maxInt, n: 0, k: 0, lda: 1, ldb: 1, ldc: 1},
		{name: "n max, m = 0, k = 0", m: 0, n: maxInt, k: 0, lda: 1, ldb: maxInt, ldc: maxInt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ks := range kernels.Sets() {
				fa, fb, fc := fencedOperands(tc.lenA, tc.lenB, tc.lenC)
				want := naive(tc, fa.S(), fb.S(), fc.S(), 1, 2)
				gemm.Options{Kernels: ks, Threads: 1}.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, fa.S(), tc.lda, fb.S(), tc.ldb, 2, fc.S(), tc.ldc)
				require.Equal(t, want, fc.S(), ks.ISA)
				fa.Check(t, "a")
				fb.Check(t, "b")
				fc.Check(t, "c")
			}
		})
	}
}

// valid reports whether the call's arguments are valid, in exact
// arithmetic: the oracle the checks are compared with.
func (tc hugeCall) valid() bool {
	if tc.m < 0 || tc.n < 0 || tc.k < 0 {
		return false
	}
	ar, ac, br, bc := tc.m, tc.k, tc.k, tc.n
	if tc.transA {
		ar, ac = ac, ar
	}
	if tc.transB {
		br, bc = bc, br
	}
	fits := func(r, c, ld, n int) bool {
		if ld < max(1, c) {
			return false
		}
		if r == 0 || c == 0 {
			return true
		}
		need := new(big.Int).Mul(big.NewInt(int64(r-1)), big.NewInt(int64(ld)))
		need.Add(need, big.NewInt(int64(c)))
		return need.Cmp(big.NewInt(int64(n))) <= 0
	}
	return fits(ar, ac, tc.lda, tc.lenA) && fits(br, bc, tc.ldb, tc.lenB) && fits(tc.m, tc.n, tc.ldc, tc.lenC)
}

// naive returns alpha*op(A)*op(B) + beta*C for a call that fits its
// slices, in float64 (exact for the small integers of fencedOperands).
func naive(tc hugeCall, a, b, c []float32, alpha, beta float64) []float32 {
	out := append(make([]float32, 0, len(c)), c...)
	if tc.n == 0 {
		return out
	}
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			var s float64
			for p := 0; p < tc.k; p++ {
				ia, ib := i*tc.lda+p, p*tc.ldb+j
				if tc.transA {
					ia = p*tc.lda + i
				}
				if tc.transB {
					ib = j*tc.ldb + p
				}
				s += float64(a[ia]) * float64(b[ib])
			}
			out[i*tc.ldc+j] = float32(alpha*s + beta*float64(c[i*tc.ldc+j]))
		}
	}
	return out
}

// TestSgemmRowsHugeSizes: SgemmRows's checks, its row table included,
// hold near the top of int's range.
func TestSgemmRowsHugeSizes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		m, n, k       int
		lda, ldc      int
		boff          []int
		width, stride int
		want          string
	}{
		{"stride max", 1, 4, 1, 1, 4, []int{0}, 2, maxInt, "stride = 9223372036854775807"},
		{"stride wraps to the start", 1, 5, 1, 1, 5, []int{0}, 1, p62, "stride = 4611686018427387904"},
		{"ldc max", 2, 2, 1, 1, maxInt, []int{0}, 2, 2, "ldc = 9223372036854775807"},
		{"lda 2^62", 3, 2, 1, p62, 2, []int{0}, 2, 2, "lda = 4611686018427387904"},
		{"m max", maxInt, 2, 1, 1, 2, []int{0}, 2, 2, "m = 9223372036854775807"},
		{"k 2^62", 1, 2, p62, p62, 2, []int{0}, 2, 2, "k = 4611686018427387904"},
		{"offset max", 1, 2, 1, 1, 2, []int{maxInt}, 2, 2, "boff[0] = 9223372036854775807"},
		{"offset min", 1, 2, 1, 1, 2, []int{math.MinInt}, 2, 2, "boff[0] = -9223372036854775808"},
		{"n negative", 1, -2, 1, 1, 2, []int{0}, 2, 2, "n = -2 < 0"},
		{"width negative", 1, 2, 1, 1, 2, []int{0}, -1, 2, "width = -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ks := range kernels.Sets() {
				fa, fb, fc := fencedOperands(8, 8, 8)
				c0 := append([]float32(nil), fc.S()...)
				msg := mustPanic(t, func() {
					gemm.Options{Kernels: ks, Threads: 1}.SgemmRows(tc.m, tc.n, tc.k, 1, fa.S(), tc.lda, fb.S(), tc.boff, tc.width, tc.stride, 0, fc.S(), tc.ldc)
				})
				require.True(t, strings.HasPrefix(msg, "gemm: SgemmRows: "), "%q", msg)
				require.Contains(t, msg, tc.want)
				fa.Check(t, "a")
				fb.Check(t, "b")
				fc.Check(t, "c")
				require.Equal(t, c0, fc.S(), "C changed before the panic")
			}
		})
	}
}

// edges are the values the overflow fuzz targets start from: sizes and
// strides just below and above powers of two near the top of int's
// range, the top itself, and small and negative ones.
var edges = []int64{0, 1, 2, 3, -1, math.MinInt64, p62 - 1, p62, p62 + 1, math.MaxInt64 - 1, math.MaxInt64, 1 << 61, 1 << 32, -p62}

// FuzzSgemmHuge calls Sgemm with arbitrary sizes and strides on short
// fenced slices: a call either panics with a message naming gemm.Sgemm's
// argument, or computes the naive result; nothing outside C's matrix is
// ever written, and nothing outside the slices.
func FuzzSgemmHuge(f *testing.F) {
	for i, tc := range hugeCalls {
		f.Add(tc.m, tc.n, tc.k, tc.lda, tc.ldb, tc.ldc, uint8(tc.lenA), uint8(tc.lenB), uint8(tc.lenC), uint8(i%4))
	}
	for i, e := range edges {
		v := int(e)
		f.Add(v, 1, 1, 1, 1, v, uint8(8), uint8(8), uint8(8), uint8(i%4))
		f.Add(1, v, 2, 2, v, v, uint8(8), uint8(8), uint8(8), uint8(i%4))
		f.Add(2, 2, v, v, v, 2, uint8(8), uint8(8), uint8(8), uint8(i%4))
	}
	f.Fuzz(func(t *testing.T, m, n, k, lda, ldb, ldc int, lenA, lenB, lenC, flags uint8) {
		tc := hugeCall{transA: flags&1 != 0, transB: flags&2 != 0, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
			lenA: int(lenA), lenB: int(lenB), lenC: int(lenC)}
		for _, ks := range kernels.Sets() {
			fa, fb, fc := fencedOperands(tc.lenA, tc.lenB, tc.lenC)
			c0 := append(make([]float32, 0, tc.lenC), fc.S()...)
			var msg any
			func() {
				defer func() { msg = recover() }()
				gemm.Options{Kernels: ks, Threads: 1 + int(flags>>2&1)}.Sgemm(tc.transA, tc.transB, m, n, k, 1, fa.S(), lda, fb.S(), ldb, 2, fc.S(), ldc)
			}()
			fa.Check(t, "a")
			fb.Check(t, "b")
			fc.Check(t, "c")
			if valid := tc.valid(); valid != (msg == nil) {
				t.Fatalf("%s %+v: valid %v, but panic %v", ks.ISA, tc, valid, msg)
			}
			if msg != nil {
				s := fmt.Sprint(msg)
				require.True(t, strings.HasPrefix(s, "gemm: Sgemm: "), "%s: %q", ks.ISA, s)
				require.Equal(t, c0, fc.S(), "%s: C changed before the panic %q", ks.ISA, s)
				continue
			}
			require.Equal(t, naive(tc, fa.S(), fb.S(), c0, 1, 2), fc.S(), "%s %+v", ks.ISA, tc)
		}
	})
}
