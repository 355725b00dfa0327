package gonumblas_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/gemm/gonumblas"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"
)

func general(r *rand.Rand, rows, cols, pad int) blas32.General {
	g := blas32.General{Rows: rows, Cols: cols, Stride: max(1, cols+pad)}
	if rows > 0 {
		g.Data = make([]float32, (rows-1)*g.Stride+cols)
	}
	for i := range g.Data {
		g.Data[i] = 2*r.Float32() - 1
	}
	return g
}

// use installs impl for the test and restores gonum's own afterwards.
func use(t *testing.T, impl blas.Float32) {
	blas32.Use(impl)
	t.Cleanup(func() { blas32.Use(gonum.Implementation{}) })
}

// TestGemmThroughBlas32 calls blas32.Gemm with our implementation
// installed and compares with a float64 evaluation, for every transpose
// (ConjTrans included) and padded strides.
func TestGemmThroughBlas32(t *testing.T) {
	use(t, gonumblas.Implementation{})
	r := rand.New(rand.NewPCG(1, 2))
	ts := []blas.Transpose{blas.NoTrans, blas.Trans, blas.ConjTrans}
	for _, tA := range ts {
		for _, tB := range ts {
			for _, s := range [][3]int{{0, 3, 2}, {1, 1, 1}, {13, 35, 17}, {70, 129, 400}} {
				m, n, k := s[0], s[1], s[2]
				ar, ac := m, k
				if tA != blas.NoTrans {
					ar, ac = k, m
				}
				br, bc := k, n
				if tB != blas.NoTrans {
					br, bc = n, k
				}
				a, b, c := general(r, ar, ac, 2), general(r, br, bc, 1), general(r, m, n, 3)
				c0 := append([]float32(nil), c.Data...)
				alpha, beta := float32(0.5), float32(-1.5)
				blas32.Gemm(tA, tB, alpha, a, b, beta, c)
				for i := 0; i < m; i++ {
					for j := 0; j < c.Stride && i*c.Stride+j < len(c.Data); j++ {
						got := c.Data[i*c.Stride+j]
						if j >= n {
							require.Equal(t, c0[i*c.Stride+j], got, "C beyond n changed")
							continue
						}
						var sum, abs float64
						for p := 0; p < k; p++ {
							var av, bv float32
							if tA == blas.NoTrans {
								av = a.Data[i*a.Stride+p]
							} else {
								av = a.Data[p*a.Stride+i]
							}
							if tB == blas.NoTrans {
								bv = b.Data[p*b.Stride+j]
							} else {
								bv = b.Data[j*b.Stride+p]
							}
							sum += float64(av) * float64(bv)
							abs += math.Abs(float64(av) * float64(bv))
						}
						want := float64(alpha)*sum + float64(beta)*float64(c0[i*c.Stride+j])
						bound := float64(k+4) * 0x1p-24 * (abs + math.Abs(float64(c0[i*c.Stride+j])))
						require.InDelta(t, want, got, bound+1e-30, "%c%c %v C[%d][%d]", tA, tB, s, i, j)
					}
				}
			}
		}
	}
}

// TestOtherRoutinesDelegate checks that the rest of blas32 still works
// (gonum's code) with our implementation installed.
func TestOtherRoutinesDelegate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := general(r, 20, 30, 0)
	x := blas32.Vector{N: 30, Inc: 1, Data: general(r, 1, 30, 0).Data}
	want := blas32.Vector{N: 20, Inc: 1, Data: make([]float32, 20)}
	blas32.Gemv(blas.NoTrans, 1, a, x, 0, want)
	dot := blas32.Dot(x, x)

	use(t, gonumblas.Implementation{})
	got := blas32.Vector{N: 20, Inc: 1, Data: make([]float32, 20)}
	blas32.Gemv(blas.NoTrans, 1, a, x, 0, got)
	assert.Equal(t, want.Data, got.Data)
	assert.Equal(t, dot, blas32.Dot(x, x))
	assert.Equal(t, blas32.Implementation(), blas.Float32(gonumblas.Implementation{}))
}

func TestBadTranspose(t *testing.T) {
	impl := gonumblas.Implementation{}
	a := make([]float32, 4)
	assert.PanicsWithValue(t, "blas: illegal transpose: tA = 'X'", func() {
		impl.Sgemm('X', blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a, 2)
	})
	assert.PanicsWithValue(t, "blas: illegal transpose: tB = '?'", func() {
		impl.Sgemm(blas.NoTrans, '?', 2, 2, 2, 1, a, 2, a, 2, 0, a, 2)
	})
	assert.Panics(t, func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 1, a, 2, 0, a, 2) })
}

// BenchmarkSgemm1024 compares gonum's own Sgemm with ours on 1024
// squares, side by side in one run.
func BenchmarkSgemm1024(b *testing.B) {
	const n = 1024
	r := rand.New(rand.NewPCG(5, 6))
	a, bm, c := general(r, n, n, 0), general(r, n, n, 0), general(r, n, n, 0)
	for _, impl := range []struct {
		name string
		blas blas.Float32
	}{
		{"gonum", gonum.Implementation{}},
		{"snn", gonumblas.Implementation{}},
		{"snn/threads=1", gonumblas.Implementation{Options: gemm.Options{Threads: 1}}},
	} {
		b.Run(impl.name, func(b *testing.B) {
			for b.Loop() {
				impl.blas.Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a.Data, n, bm.Data, n, 0, c.Data, n)
			}
			b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func Example() {
	blas32.Use(gonumblas.Implementation{})
	defer blas32.Use(gonum.Implementation{})
	a := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: []float32{1, 2, 3, 4}}
	b := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: []float32{1, 0, 0, 1}}
	c := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: make([]float32, 4)}
	blas32.Gemm(blas.Trans, blas.NoTrans, 1, a, b, 0, c)
	fmt.Println(c.Data)
	// Output: [1 3 2 4]
}

// TestHugeSizes: sizes and strides near the top of int's range panic
// through the adapter as through gemm.Sgemm, naming the argument, with
// nothing written around or into C.
func TestHugeSizes(t *testing.T) {
	impl := gonumblas.Implementation{}
	for _, tc := range []struct {
		tA, tB        blas.Transpose
		m, n, k       int
		lda, ldb, ldc int
		want          string
	}{
		{blas.NoTrans, blas.NoTrans, 2, 2, 2, 2, 2, math.MaxInt, "ldc = 9223372036854775807"},
		{blas.NoTrans, blas.NoTrans, 5, 1, 1, 1, 1, 1 << 62, "ldc = 4611686018427387904"},
		{blas.Trans, blas.NoTrans, 1, 1, 5, 1 << 62, 1, 1, "lda = 4611686018427387904"},
		{blas.NoTrans, blas.ConjTrans, 1, 5, 1, 1, 1 << 62, 5, "ldb = 4611686018427387904"},
		{blas.NoTrans, blas.NoTrans, 1 << 62, 1, 1, 1, 1, 4, "m = 4611686018427387904"},
		{blas.NoTrans, blas.NoTrans, 1, math.MaxInt, 1, 1, math.MaxInt, math.MaxInt, "n = 9223372036854775807"},
		{blas.NoTrans, blas.NoTrans, 1, 1, -1, 1, 1, 1, "k = -1 < 0"},
	} {
		fa := testkit.Fenced(8, func(i int) float32 { return float32(i%3 - 1) })
		fb := testkit.Fenced(8, func(i int) float32 { return float32(i%2 + 1) })
		fc := testkit.Fenced(8, func(i int) float32 { return float32(i) })
		var msg any
		func() {
			defer func() { msg = recover() }()
			impl.Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, fa.S(), tc.lda, fb.S(), tc.ldb, 1, fc.S(), tc.ldc)
		}()
		require.NotNil(t, msg, tc.want)
		assert.True(t, strings.HasPrefix(fmt.Sprint(msg), "gemm: Sgemm: "), msg)
		assert.Contains(t, fmt.Sprint(msg), tc.want)
		fa.Check(t, "a")
		fb.Check(t, "b")
		fc.Check(t, "c")
		assert.Equal(t, []float32{0, 1, 2, 3, 4, 5, 6, 7}, fc.S(), tc.want)
	}
}
