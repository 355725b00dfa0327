package gemm_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// problem is one Sgemm call with its operands laid out in memory.
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
}

func (p problem) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s m=%d n=%d k=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d",
		t(p.transA), t(p.transB), p.m, p.n, p.k, p.alpha, p.beta, p.lda, p.ldb, p.ldc)
}

// gapA and gapB fill the elements of A and B that are not part of the
// matrices (beyond each row, up to ld): any kernel reading them turns a
// result into NaN. gapC marks C's gaps, which must come back unchanged.
var (
	gapA = float32(math.NaN())
	gapB = float32(math.Inf(1))
	gapC = math.Float32frombits(0x7fc0dead)
)

// layout returns an r x c row-major matrix with row stride c+pad: values
// uniform in [-1, 1), gaps filled with gap. With guard set the slice ends
// exactly at an inaccessible page.
func layout(t testing.TB, rnd *rand.Rand, r, c, pad int, gap float32, guard bool) ([]float32, int) {
	ld := max(1, c+pad)
	n := 0
	if r > 0 && c > 0 {
		n = (r-1)*ld + c
	}
	var s []float32
	if guard {
		s, _ = testkit.Guarded(t, n)
	} else {
		s = make([]float32, n)
	}
	for i := range s {
		if i%ld < c {
			s[i] = 2*rnd.Float32() - 1
		} else {
			s[i] = gap
		}
	}
	return s, ld
}

func newProblem(t testing.TB, rnd *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32, pad int, guard bool) problem {
	p := problem{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	p.a, p.lda = layout(t, rnd, ar, ac, pad, gapA, guard)
	p.b, p.ldb = layout(t, rnd, br, bc, pad+1, gapB, guard)
	p.c, p.ldc = layout(t, rnd, m, n, pad+2, gapC, guard)
	return p
}

// reference returns C = alpha*op(A)*op(B) + beta*C in float64 and, per
// element, a bound on the error a float32 blocked evaluation may make.
func (p problem) reference() (want, bound []float64) {
	want = make([]float64, p.m*p.n)
	bound = make([]float64, p.m*p.n)
	// Each depth block of at most 512 terms accumulates in float32, then
	// one rounding per block, the alpha scaling and the beta update.
	terms := float64(min(p.k, 512) + (p.k+63)/64 + 4)
	const eps = 0x1p-24
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.n; j++ {
			var s, abs float64
			for q := 0; q < p.k; q++ {
				var av, bv float32
				if p.transA {
					av = p.a[q*p.lda+i]
				} else {
					av = p.a[i*p.lda+q]
				}
				if p.transB {
					bv = p.b[j*p.ldb+q]
				} else {
					bv = p.b[q*p.ldb+j]
				}
				s += float64(av) * float64(bv)
				abs += math.Abs(float64(av) * float64(bv))
			}
			w := float64(p.alpha) * s
			e := math.Abs(float64(p.alpha)) * abs
			if p.beta != 0 {
				cv := float64(p.c[i*p.ldc+j])
				w += float64(p.beta) * cv
				e += math.Abs(float64(p.beta) * cv)
			}
			want[i*p.n+j] = w
			bound[i*p.n+j] = terms*eps*e + 1e-30
		}
	}
	return want, bound
}

func (p problem) run(o gemm.Options) {
	o.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc)
}

// check runs p with o and compares C against the float64 reference and
// checks that C's gaps are untouched.
func (p problem) check(t testing.TB, o gemm.Options) bool {
	t.Helper()
	want, bound := p.reference()
	p.run(o)
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.ldc && i*p.ldc+j < len(p.c); j++ {
			got := p.c[i*p.ldc+j]
			if j >= p.n {
				if math.Float32bits(got) != math.Float32bits(gapC) {
					t.Errorf("%v: C[%d][%d] beyond n was written: %g", p, i, j, got)
					return false
				}
				continue
			}
			w, e := want[i*p.n+j], bound[i*p.n+j]
			if d := math.Abs(float64(got) - w); !(d <= e) {
				t.Errorf("%v: C[%d][%d] = %g, want %g (error %g > bound %g)", p, i, j, got, w, d, e)
				return false
			}
		}
	}
	return true
}

// slow reports whether the expensive cases run: not with -short, and not
// under emulation (arm64 runs the generic kernel that amd64 tests too).
func slow() bool { return !testing.Short() && runtime.GOARCH == "amd64" }

// forEachSet runs f for every kernel set this CPU runs (generic last).
func forEachSet(t *testing.T, f func(t *testing.T, ks *kernels.Set)) {
	for _, ks := range kernels.Sets() {
		t.Run(ks.ISA, func(t *testing.T) { f(t, ks) })
	}
}

var trans = [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}

// around returns the values next to each of xs (x-1, x, x+1), positive only.
func around(xs ...int) []int {
	var out []int
	seen := map[int]bool{}
	for _, x := range xs {
		for _, v := range []int{x - 1, x, x + 1} {
			if v > 0 && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// TestSmallShapes covers every combination of small sizes around the
// register tile, all four transpose cases, on every kernel set.
func TestSmallShapes(t *testing.T) {
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		g := ks.Gemm
		// Around the tile, twice the tile, and the kernels' edge loops (4
		// and 8 rows, one vector of 8 or 16 lanes).
		ms := append([]int{0, 1, 2}, around(4, 8, g.MR, 2*g.MR)...)
		ns := append([]int{0, 1, 2}, around(8, 16, g.NR, 2*g.NR)...)
		ks2 := []int{0, 1, 2, 3, 4, 5, 7, 9, 17}
		rnd := testkit.Rand(1)
		o := gemm.Options{Kernels: ks, Threads: 1}
		for _, tr := range trans {
			for _, m := range ms {
				for _, n := range ns {
					for _, k := range ks2 {
						p := newProblem(t, rnd, tr[0], tr[1], m, n, k, 1.5, 0.5, 3, false)
						if !p.check(t, o) {
							return
						}
					}
				}
			}
		}
	})
}

// TestBlockEdges puts each dimension around its cache block (and twice
// it) while the others stay small, so every partial block is exercised
// with the real block sizes.
func TestBlockEdges(t *testing.T) {
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		g := ks.Gemm
		rnd := testkit.Rand(2)
		o := gemm.Options{Kernels: ks, Threads: 1}
		type shape struct{ m, n, k int }
		var shapes []shape
		for _, k := range around(g.KC, 2*g.KC, 15, 16, 17) {
			shapes = append(shapes, shape{g.MR + 1, g.NR + 3, k}, shape{2, 1, k})
		}
		for _, m := range around(g.MC, 2*g.MC) {
			shapes = append(shapes, shape{m, g.NR + 1, 3})
		}
		for _, n := range around(g.NC, 2*g.NC) {
			shapes = append(shapes, shape{g.MR + 1, n, 5}, shape{g.MR + 1, n, 20})
		}
		for _, tr := range trans {
			for _, s := range shapes {
				p := newProblem(t, rnd, tr[0], tr[1], s.m, s.n, s.k, -0.75, 1, 2, false)
				if !p.check(t, o) {
					return
				}
			}
		}
	})
}

// shrunk returns a copy of ks with tiny cache blocks, so that small
// problems cross every block boundary several times. KC = 20 is above the
// depth up to which B is read in place, so both B paths occur.
func shrunk(ks *kernels.Set) *kernels.Set {
	s := *ks
	s.Gemm.KC, s.Gemm.MC, s.Gemm.NC = 20, 2*s.Gemm.MR, 3*s.Gemm.NR
	return &s
}

// TestSmallBlocks combines all three dimensions around one and two
// blocks, with blocks shrunk to a few tiles.
func TestSmallBlocks(t *testing.T) {
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		small := shrunk(ks)
		g := small.Gemm
		rnd := testkit.Rand(9)
		o := gemm.Options{Kernels: small, Threads: 1}
		ms := around(g.MC, 2*g.MC)
		ns := around(g.NC, 2*g.NC)
		ks2 := around(g.KC, 2*g.KC, 16)
		for i, tr := range trans {
			for _, m := range ms {
				for _, n := range ns {
					for _, k := range ks2 {
						if !slow() && (m+n+k+i)%3 != 0 {
							continue
						}
						p := newProblem(t, rnd, tr[0], tr[1], m, n, k, 0.5, -1, 1, false)
						if !p.check(t, o) {
							return
						}
					}
				}
			}
		}
	})
}

// TestAlphaBeta covers alpha and beta in {0, 1, other}, with NaN in C when
// beta is 0 (BLAS: C is then not read).
func TestAlphaBeta(t *testing.T) {
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		rnd := testkit.Rand(3)
		o := gemm.Options{Kernels: ks, Threads: 1}
		g := ks.Gemm
		for _, alpha := range []float32{0, 1, -2.5} {
			for _, beta := range []float32{0, 1, 0.25} {
				for _, tr := range trans {
					for _, s := range [][3]int{{1, 1, 1}, {g.MR + 3, 2*g.NR + 5, 19}, {7, 9, 0}, {2*g.MR - 1, g.NR - 1, g.KC + 3}} {
						p := newProblem(t, rnd, tr[0], tr[1], s[0], s[1], s[2], alpha, beta, 1, false)
						if beta == 0 {
							for i := range p.c {
								if i%p.ldc < p.n {
									p.c[i] = float32(math.NaN())
								}
							}
						}
						if !p.check(t, o) {
							return
						}
					}
				}
			}
		}
	})
}

// TestGuarded runs the operands at the end of guarded pages with tight and
// padded leading dimensions: a read or write one element too far faults.
func TestGuarded(t *testing.T) {
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		g := ks.Gemm
		rnd := testkit.Rand(4)
		o := gemm.Options{Kernels: ks, Threads: 1}
		for _, tr := range trans {
			for _, pad := range []int{0, 5} {
				for _, s := range [][3]int{{1, 1, 1}, {g.MR + 1, g.NR + 1, 3}, {2*g.MR + 3, 3*g.NR + 7, 33}, {5, 2*g.NR - 1, 9}} {
					p := newProblem(t, rnd, tr[0], tr[1], s[0], s[1], s[2], 1, 1, pad, true)
					if !p.check(t, o) {
						return
					}
				}
			}
		}
	})
}

// TestKernelsAgree compares every set with the generic twin on a shape
// covering several blocks: the results are close, not equal (FMA vs
// separate rounding).
func TestKernelsAgree(t *testing.T) {
	ref := kernels.Reference()
	rnd := testkit.Rand(5)
	p := newProblem(t, rnd, false, true, 77, 101, 700, 1, 0, 0, false)
	want := append([]float32(nil), p.c...)
	gemm.Options{Kernels: ref, Threads: 1}.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, want, p.ldc)
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		got := append([]float32(nil), p.c...)
		gemm.Options{Kernels: ks, Threads: 1}.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, got, p.ldc)
		for i := range got {
			require.InDelta(t, want[i], got[i], 1e-3, "element %d", i)
		}
	})
}

func TestBadArguments(t *testing.T) {
	a := make([]float32, 12)
	b := make([]float32, 12)
	for _, tc := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
		a              []float32
		lda            int
		b              []float32
		ldb            int
		c              []float32
		ldc            int
		msg            string
	}{
		{name: "m", m: -1, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: make([]float32, 4), ldc: 2, msg: "m = -1"},
		{name: "n", m: 2, n: -3, k: 2, a: a, lda: 2, b: b, ldb: 2, c: make([]float32, 4), ldc: 2, msg: "n = -3"},
		{name: "k", m: 2, n: 2, k: -1, a: a, lda: 2, b: b, ldb: 2, c: make([]float32, 4), ldc: 2, msg: "k = -1"},
		{name: "lda", m: 2, n: 2, k: 3, a: a, lda: 2, b: b, ldb: 2, c: make([]float32, 4), ldc: 2, msg: "lda = 2"},
		{name: "lda transposed", transA: true, m: 4, n: 2, k: 2, a: a, lda: 3, b: b, ldb: 2, c: make([]float32, 8), ldc: 2, msg: "lda = 3"},
		{name: "ldb", m: 2, n: 3, k: 2, a: a, lda: 2, b: b, ldb: 2, c: make([]float32, 6), ldc: 3, msg: "ldb = 2"},
		{name: "ldb transposed", transB: true, m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, c: make([]float32, 4), ldc: 2, msg: "ldb = 2"},
		{name: "ldc", m: 2, n: 3, k: 2, a: a, lda: 2, b: b, ldb: 3, c: make([]float32, 6), ldc: 2, msg: "ldc = 2"},
		{name: "ldc zero", m: 0, n: 0, k: 0, a: nil, lda: 1, b: nil, ldb: 1, c: nil, ldc: 0, msg: "ldc = 0"},
		{name: "len(a)", m: 4, n: 2, k: 4, a: a, lda: 4, b: b, ldb: 2, c: make([]float32, 8), ldc: 2, msg: "len(a) = 12"},
		{name: "len(b)", m: 2, n: 4, k: 4, a: a, lda: 4, b: b, ldb: 4, c: make([]float32, 8), ldc: 4, msg: "len(b) = 12"},
		{name: "len(c)", m: 3, n: 3, k: 2, a: a, lda: 2, b: b, ldb: 3, c: make([]float32, 8), ldc: 3, msg: "len(c) = 8"},
		{name: "len(c) with ldc", m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: make([]float32, 5), ldc: 4, msg: "len(c) = 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.c {
				tc.c[i] = 7
			}
			assert.PanicsWithValue(t, panicText(t, func() {
				gemm.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, tc.a, tc.lda, tc.b, tc.ldb, 0, tc.c, tc.ldc)
			}, tc.msg), func() {
				gemm.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, tc.a, tc.lda, tc.b, tc.ldb, 0, tc.c, tc.ldc)
			})
			for i, v := range tc.c {
				require.Equal(t, float32(7), v, "C[%d] changed before the panic", i)
			}
		})
	}
}

// panicText runs f, requires it to panic with a string containing want
// and returns that string.
func panicText(t *testing.T, f func(), want string) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		require.NotNil(t, r, "no panic, want one mentioning %q", want)
		s, ok := r.(string)
		require.True(t, ok, "panic value %v is not a string", r)
		require.Contains(t, s, want)
		msg = s
	}()
	f()
	return ""
}

// TestNoAllocations: repeated calls of the same shapes allocate nothing
// once the packing buffers exist (convolution relies on it).
func TestNoAllocations(t *testing.T) {
	rnd := testkit.Rand(6)
	for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, s := range [][3]int{{3, 5, 7}, {64, 300, 40}, {130, 200, 600}} {
			p := newProblem(t, rnd, false, true, s[0], s[1], s[2], 1, 0, 0, false)
			o := gemm.Options{Threads: threads}
			p.run(o)
			allocs := testkit.AllocsPerRun(10, func() { p.run(o) })
			assert.Zero(t, allocs, "threads=%d shape %v", threads, s)
		}
	}
}

// TestWorkspace checks Options.Workspace: one Workspace reused for calls of
// growing and shrinking shapes, serial and parallel, gives the results of
// calls without one, bit for bit, and once grown allocates nothing.
func TestWorkspace(t *testing.T) {
	rnd := testkit.Rand(9)
	var ws gemm.Workspace
	for _, s := range [][3]int{{70, 300, 150}, {3, 5, 7}, {130, 200, 600}, {64, 30, 40}} {
		for _, tr := range trans {
			p := newProblem(t, rnd, tr[0], tr[1], s[0], s[1], s[2], 1.25, 0.5, 1, false)
			for _, threads := range []int{1, 3} {
				want := append([]float32(nil), p.c...)
				gemm.Options{Threads: threads}.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, want, p.ldc)
				got := append([]float32(nil), p.c...)
				o := gemm.Options{Threads: threads, Workspace: &ws}
				o.Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, got, p.ldc)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v threads=%d: C[%d] = %g with a Workspace, %g without", p, threads, i, got[i], want[i])
					}
				}
			}
		}
	}
	p := newProblem(t, rnd, false, true, 130, 200, 600, 1, 0, 0, false)
	for _, threads := range []int{1, 2} {
		o := gemm.Options{Threads: threads, Workspace: &ws}
		p.run(o)
		assert.Zero(t, testkit.AllocsPerRun(10, func() { p.run(o) }), "threads=%d", threads)
	}
}

func ExampleSgemm() {
	// C (2x2) = A (2x3) * B (3x2), all row-major.
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		1, 0,
		0, 1,
		1, 1,
	}
	c := make([]float32, 4)
	gemm.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [4 5 10 11]
}

func ExampleOptions_Sgemm() {
	// A caller that already runs one multiplication per goroutine keeps
	// each call on its own goroutine. Here C = A^T * B with A stored 2x2.
	a := []float32{1, 2, 3, 4}
	b := []float32{1, 1, 1, 1}
	c := []float32{1, 1, 1, 1}
	gemm.Options{Threads: 1}.Sgemm(true, false, 2, 2, 2, 1, a, 2, b, 2, 1, c, 2)
	fmt.Println(c)
	// Output: [5 5 7 7]
}

// TestThreadsBitIdentical: the result does not depend on the number of
// threads, bit for bit, for splits by rows and by columns with edges.
func TestThreadsBitIdentical(t *testing.T) {
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		g := ks.Gemm
		rnd := testkit.Rand(7)
		shapes := [][3]int{
			{3*g.MR + 5, 7*g.NR + 3, g.KC + 9},   // split by rows
			{2*g.MR + 1, 9*g.NR + 5, 2*g.KC + 1}, // split by columns
			{40, 5000, 9},                        // thin depth, B in place
			{g.MC + 2*g.MR + 3, 2*g.NR + 1, 77},  // several row blocks
			{2*g.MR + 3, g.NC + 3*g.NR + 7, 200}, // several column blocks
			{300, 1, 300},                        // a single column
		}
		if !slow() {
			shapes = shapes[:3]
		}
		for _, tr := range trans {
			for _, s := range shapes {
				p := newProblem(t, rnd, tr[0], tr[1], s[0], s[1], s[2], 1.25, 0.5, 1, false)
				c0 := append([]float32(nil), p.c...)
				var want []float32
				for _, threads := range []int{1, 2, 3, 4, 7} {
					c := append([]float32(nil), c0...)
					gemm.Options{Kernels: ks, Threads: threads}.Sgemm(p.transA, p.transB, p.m, p.n, p.k,
						p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
					if want == nil {
						want = c
						continue
					}
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%v threads=%d: C[%d] = %g, with one thread %g", p, threads, i, c[i], want[i])
						}
					}
				}
			}
		}
	})
}

// TestInPlaceB checks Options.InPlaceB: B read where it lies gives the
// reference result, never reads B's gaps (they would turn C into NaN) or
// beyond a guarded B, and matches the packed path bit for bit, for every
// transpose case (with B transposed the option is ignored), block edges
// and thread counts.
// edgeShapes are m, n, k that cross each blocking edge of g: one short
// of a micro-tile (depth k), one over, several panels and depth blocks,
// and more rows than a row block; the first three are cheap.
func edgeShapes(g kernels.Gemm, k int) [][3]int {
	return [][3]int{
		{1, 1, 1},
		{g.MR - 1, g.NR - 1, k},
		{g.MR + 1, 2*g.NR + 3, g.KC + 1},
		{2*g.MR + 3, g.NC + g.NR + 1, 2*g.KC + 3},
		{g.MC + 1, 3 * g.NR, 40},
	}
}

func TestInPlaceB(t *testing.T) {
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		for _, set := range []*kernels.Set{ks, shrunk(ks)} {
			g := set.Gemm
			rnd := testkit.Rand(21)
			shapes := edgeShapes(g, 17)
			if set == ks {
				shapes = shapes[:3] // the shrunk blocks cross every edge cheaply
			}
			for i, tr := range trans {
				for j, s := range shapes {
					for _, threads := range []int{1, 3} {
						guard := (i+j)%2 == 0
						p := newProblem(t, rnd, tr[0], tr[1], s[0], s[1], s[2], 0.75, 0.5, j%3, guard)
						packed := newProblem(t, rnd, tr[0], tr[1], s[0], s[1], s[2], 0.75, 0.5, j%3, false)
						copy(packed.a, p.a)
						copy(packed.b, p.b)
						copy(packed.c, p.c)
						packed.run(gemm.Options{Kernels: set, Threads: threads})
						if !p.check(t, gemm.Options{Kernels: set, Threads: threads, InPlaceB: true}) {
							return
						}
						for e := range p.c {
							require.Equal(t, math.Float32bits(packed.c[e]), math.Float32bits(p.c[e]),
								"%v threads=%d: C[%d] in place %g, packed %g", p, threads, e, p.c[e], packed.c[e])
						}
					}
				}
			}
		}
	})
}

// TestConcurrentCalls runs many calls at once, as batch-parallel
// convolution does (Threads: 1) and mixed with parallel calls, against the
// same shared inputs; -race checks the pool and the workspaces.
func TestConcurrentCalls(t *testing.T) {
	rnd := testkit.Rand(8)
	defer gemm.SplitAnySize()()
	p := newProblem(t, rnd, false, false, 70, 300, 150, 1, 0, 0, false)
	want := append([]float32(nil), p.c...)
	gemm.Options{Threads: 1}.Sgemm(false, false, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, want, p.ldc)
	const callers = 8
	results := make([][]float32, callers)
	done := make(chan int)
	for i := 0; i < callers; i++ {
		go func(i int) {
			c := append([]float32(nil), p.c...)
			for range 5 {
				gemm.Options{Threads: 1 + i%3}.Sgemm(false, false, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, c, p.ldc)
			}
			results[i] = c
			done <- i
		}(i)
	}
	for range callers {
		<-done
	}
	for i, c := range results {
		for j := range c {
			if math.Float32bits(c[j]) != math.Float32bits(want[j]) {
				t.Fatalf("caller %d: C[%d] = %g, want %g", i, j, c[j], want[j])
			}
		}
	}
}

// TestSgemmRows checks SgemmRows against Sgemm over block edges, thread
// counts and alpha/beta, with B's rows in one piece or in runs (of whole
// panels, of two panels of NR-2 or one of NR-2, read in place, or of 7,
// packed), on each kernel set with and without KernelRows.
func TestSgemmRows(t *testing.T) {
	defer gemm.SplitAnySize()()
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		packing := *ks
		packing.Gemm.KernelRows = nil
		for _, set := range []*kernels.Set{ks, shrunk(ks), &packing} {
			g := set.Gemm
			rnd := testkit.Rand(31)
			shapes := edgeShapes(g, 9)
			if set == ks {
				shapes = shapes[:3]
			}
			for j, s := range shapes {
				for _, run := range [][2]int{{s[1], 0}, {2 * g.NR, 2*g.NR + 3}, {2*g.NR - 4, 2*g.NR + 1}, {g.NR - 2, g.NR}, {7, 9}} {
					for _, threads := range []int{1, 3} {
						for _, ab := range [][2]float32{{1, 0}, {0.75, 0.5}, {0, 2}} {
							checkRows(t, gemm.Options{Kernels: set, Threads: threads}, rnd, s[0], s[1], s[2], run[0], run[1], j, ab[0], ab[1])
						}
					}
				}
			}
		}
	})
}

// checkRows runs SgemmRows with o on random operands, B's rows windows of
// one guarded slice (overlapping, in any order, the last ending at the
// slice's end), and requires Sgemm's result on the rows copied into a
// matrix, bit for bit. pad widens A's and C's rows.
func checkRows(t testing.TB, o gemm.Options, rnd *rand.Rand, m, n, k, width, stride, pad int, alpha, beta float32) {
	t.Helper()
	span := n
	if width < n {
		span = (n-1)/width*stride + (n-1)%width + 1
	}
	b, _ := testkit.Guarded(t, span+4*k+5)
	for i := range b {
		b[i] = 2*rnd.Float32() - 1
	}
	boff := make([]int, k)
	for p := range boff {
		boff[p] = rnd.IntN(len(b) - span + 1)
	}
	if k > 0 {
		boff[k-1] = len(b) - span
	}
	ldb := n + 3
	dense := make([]float32, max(1, k*ldb))
	for p, off := range boff {
		for c := 0; c < n; c++ {
			dense[p*ldb+c] = b[off+c/width*stride+c%width]
		}
	}
	lda, ldc := k+pad, n+pad
	a := testkit.Uniform(rnd, max(1, m*lda), -1, 1)
	c0 := testkit.Uniform(rnd, max(1, m*ldc), -1, 1)
	want := append([]float32(nil), c0...)
	o.Sgemm(false, false, m, n, k, alpha, a, max(1, lda), dense, ldb, beta, want, max(1, ldc))
	got := append([]float32(nil), c0...)
	o.SgemmRows(m, n, k, alpha, a, max(1, lda), b, boff, width, stride, beta, got, max(1, ldc))
	for e := range want {
		if math.Float32bits(want[e]) != math.Float32bits(got[e]) {
			t.Fatalf("m=%d n=%d k=%d runs %d/%d alpha=%g beta=%g rows kernel=%v: C[%d] = %g, Sgemm gives %g",
				m, n, k, width, stride, alpha, beta, o.Kernels.Gemm.KernelRows != nil, e, got[e], want[e])
		}
	}
}

// TestSgemmRowsBadArguments: the table is checked before anything runs.
func TestSgemmRowsBadArguments(t *testing.T) {
	a := make([]float32, 4)
	b := make([]float32, 10)
	c := make([]float32, 8)
	for _, tc := range []struct {
		name string
		boff []int
		n    int
		want string
	}{
		{"short table", []int{0}, 2, "len(boff) = 1 < k = 2"},
		{"negative", []int{0, -1}, 2, "boff[1] = -1"},
		{"past the end", []int{8, 9}, 2, "boff[1] = 9"},
		{"runs past the end", []int{0, 6}, 4, "boff[1] = 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var msg any
			func() {
				defer func() { msg = recover() }()
				gemm.Options{}.SgemmRows(2, tc.n, 2, 1, a, 2, b, tc.boff, 2, 3, 0, c, 4)
			}()
			require.NotNil(t, msg, "no panic")
			assert.Contains(t, fmt.Sprint(msg), tc.want)
		})
	}
	assert.NotPanics(t, func() { gemm.Options{}.SgemmRows(2, 2, 2, 1, a, 2, b, []int{8, 0}, 2, 3, 0, c, 2) })
	assert.NotPanics(t, func() { gemm.Options{}.SgemmRows(2, 4, 2, 1, a, 2, b, []int{5, 0}, 2, 3, 0, c, 4) }, "5+3+1 = 9: the last float of b")
	assert.Panics(t, func() { gemm.Options{}.SgemmRows(2, 4, 2, 1, a, 2, b, []int{0, 0}, 2, 1, 0, c, 4) }, "stride < width")
}

// TestUnpackedA checks that problems of few columns, whose strips read A
// in place (KernelA), give the packed path's bits: every transpose case,
// strips of the kernel's heights and others (packed), two depth blocks,
// threads, and an A of 145 x 1024 (a weight gradient's column matrix).
func TestUnpackedA(t *testing.T) {
	defer gemm.SplitAnySize()()
	forEachSet(t, func(t *testing.T, ks *kernels.Set) {
		if ks.Gemm.KernelA == nil {
			t.Skip("no KernelA")
		}
		packed := *ks
		packed.Gemm.KernelA = nil
		g := ks.Gemm
		rnd := testkit.Rand(51)
		for _, s := range [][3]int{{64, 64, 64}, {g.MR/3 + 1, 7, 5}, {2*g.MR + g.MR/3, g.NR + 3, 33}, {27, 100, g.KC + 88}, {1, 256, 64}, {145, 2 * g.NR, 1024}} {
			for i, tr := range trans {
				for _, threads := range []int{1, 3} {
					p := newProblem(t, rnd, tr[0], tr[1], s[0], s[1], s[2], 0.75, 0.5, i%2, i == 0)
					q := newProblem(t, rnd, tr[0], tr[1], s[0], s[1], s[2], 0.75, 0.5, i%2, false)
					copy(q.a, p.a)
					copy(q.b, p.b)
					copy(q.c, p.c)
					q.run(gemm.Options{Kernels: &packed, Threads: threads})
					if !p.check(t, gemm.Options{Kernels: ks, Threads: threads}) {
						return
					}
					for e := range p.c {
						require.Equal(t, math.Float32bits(q.c[e]), math.Float32bits(p.c[e]), "%v threads=%d: C[%d]", p, threads, e)
					}
				}
			}
		}
	})
}
