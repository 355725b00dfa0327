package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every set must give the generic twin's bits: the contract fixes each
// float32 operation, and the twin's FMA rounds once like the hardware's.

// hyper holds the hyper-parameters of one optimizer call. Adam reads lr as
// the bias-corrected lrT; Adadelta reads b1 as rho.
type hyper struct {
	lr, b1, b2, eps, wd, mom float32
	nesterov                 bool
}

// optimKernel is one member of the Optim family as the table-driven tests
// see it: w, g and its state slices.
type optimKernel struct {
	name  string
	state int
	// nonNeg marks the state slices that hold sums of squares.
	nonNeg []bool
	step   func(o Optim, h hyper, w, g []float32, s [][]float32)
}

var (
	adamKernel = optimKernel{"Adam", 2, []bool{false, true}, func(o Optim, h hyper, w, g []float32, s [][]float32) {
		o.Adam(w, g, s[0], s[1], h.lr, h.b1, 1-h.b1, h.b2, 1-h.b2, h.eps, h.wd)
	}}
	adadeltaKernel = optimKernel{"Adadelta", 2, []bool{true, true}, func(o Optim, h hyper, w, g []float32, s [][]float32) {
		o.Adadelta(w, g, s[0], s[1], h.lr, h.b1, 1-h.b1, h.eps, h.wd)
	}}
	sgdKernel = optimKernel{"SGD", 1, []bool{false}, func(o Optim, h hyper, w, g []float32, s [][]float32) {
		o.SGD(w, g, s[0], h.lr, h.mom, h.wd, h.nesterov)
	}}
	optimKernels = []optimKernel{adamKernel, adadeltaKernel, sgdKernel}
)

type optimCase struct {
	k optimKernel
	h hyper
}

func (c optimCase) String() string {
	h := c.h
	switch c.k.name {
	case "Adam":
		return fmt.Sprintf("Adam/lrT=%g,b1=%g,b2=%g,eps=%g,wd=%g", h.lr, h.b1, h.b2, h.eps, h.wd)
	case "Adadelta":
		return fmt.Sprintf("Adadelta/lr=%g,rho=%g,eps=%g,wd=%g", h.lr, h.b1, h.eps, h.wd)
	}
	return fmt.Sprintf("SGD/lr=%g,momentum=%g,wd=%g,nesterov=%v", h.lr, h.mom, h.wd, h.nesterov)
}

// optimCases are the defaults and the edges of every hyper-parameter:
// zero, one, tiny (subnormal products), huge (overflow), and non-finite.
var optimCases = func() []optimCase {
	lrT := float32(1e-3 * math.Sqrt(1-0.999) / (1 - 0.9)) // Adam's first step
	var cs []optimCase
	for _, h := range []hyper{
		{lr: lrT, b1: 0.9, b2: 0.999, eps: 1e-7},
		{lr: lrT, b1: 0.9, b2: 0.999, eps: 1e-7, wd: 1e-4},
		{lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-7, wd: -0.5},
		{lr: lrT, b1: 0, b2: 0, eps: 1e-7, wd: 1e-4},
		{lr: lrT, b1: 1, b2: 1, eps: 1e-7, wd: 1e-4},
		{lr: lrT, b1: 0.9, b2: 0.999, eps: 0},
		{lr: lrT, b1: 0.9, b2: 0.999, eps: 1, wd: 3},
		{lr: 1e30, b1: 0.5, b2: 0.25, eps: 1e-30, wd: 1e30},
		{lr: 1e-38, b1: 1e-38, b2: 1e-40, eps: 1e-38, wd: 1e-45},
		{lr: 0, b1: 0.9, b2: 0.999, eps: 1e-7, wd: 1e-4},
		{lr: float32(math.Inf(1)), b1: 0.9, b2: 0.999, eps: 1e-7},
		{lr: lrT, b1: 0.9, b2: 0.999, eps: float32(math.NaN()), wd: 1e-4},
	} {
		cs = append(cs, optimCase{adamKernel, h})
	}
	for _, h := range []hyper{
		{lr: 1, b1: 0.95, eps: 1e-7},
		{lr: 1e-3, b1: 0.95, eps: 1e-7, wd: 1e-4},
		{lr: 1, b1: 0, eps: 1e-7, wd: 1e-2},
		{lr: 1, b1: 1, eps: 1e-7},
		{lr: 1, b1: 0.95, eps: 0},
		{lr: 1, b1: 0.95, eps: 1e-38, wd: 1e-45},
		{lr: 1e30, b1: 0.9, eps: 1e30, wd: 1e30},
		{lr: 0, b1: 0.95, eps: 1e-7, wd: 1e-4},
		{lr: 1, b1: float32(math.NaN()), eps: 1e-7},
	} {
		cs = append(cs, optimCase{adadeltaKernel, h})
	}
	for _, nesterov := range []bool{false, true} {
		for _, h := range []hyper{
			{lr: 0.01},
			{lr: 0.01, wd: 1e-4},
			{lr: 0.01, mom: 0.9},
			{lr: 0.01, mom: 0.9, wd: 5e-4},
			{lr: 0.1, mom: 0.99, wd: -1e-3},
			{lr: 1, mom: 1, wd: 1},
			{lr: 0, mom: 0.9, wd: 1e-4},
			{lr: 1e-40, mom: 1e-40, wd: 1e-40},
			{lr: 1e30, mom: 1e30, wd: 1e30},
			{lr: -0.01, mom: -0.5, wd: 1e-4},
			{lr: float32(math.Inf(1)), mom: 0.9},
			{lr: 0.01, mom: float32(math.NaN())},
		} {
			h.nesterov = nesterov
			cs = append(cs, optimCase{sgdKernel, h})
		}
	}
	return cs
}()

// optimLengths: every tail of both vector widths and of the unrolled
// groups, then larger odd sizes.
var optimLengths = testkit.Lengths(300, 511, 1001, 4097, 12289)

// optimSpecials are planted in every array, so that they reach the
// unrolled loop, the single-vector loop and the masked tail.
var optimSpecials = []float32{
	0, negZ, nan, posInf, negInf, 1e-40, -1e-40, math.SmallestNonzeroFloat32,
	math.MaxFloat32, -math.MaxFloat32, 1e20, -1e20, 1e-20, 1,
}

// optimInputs draws w, g and the state of k for n elements; every fifth
// position of each array gets a special value, at a phase of its own.
func optimInputs(r *rand.Rand, k optimKernel, n int) (w, g []float32, s [][]float32) {
	plant := func(x []float32, phase int) []float32 {
		for i := phase; i < len(x); i += 5 {
			x[i] = optimSpecials[(i/5+phase)%len(optimSpecials)]
		}
		return x
	}
	w = plant(testkit.Normal(r, n, 0, 0.1), 1)
	g = plant(testkit.Normal(r, n, 0, 1), 2)
	for j := 0; j < k.state; j++ {
		x := testkit.Normal(r, n, 0, 0.3)
		if k.nonNeg[j] {
			for i := range x {
				x[i] *= x[i]
			}
		}
		s = append(s, plant(x, 3+j))
	}
	return w, g, s
}

func clone(x []float32) []float32 { return append([]float32(nil), x...) }

// twin runs the generic twin on copies and returns w and the state after
// one step.
func twin(c optimCase, w, g []float32, s [][]float32) ([]float32, [][]float32) {
	w = clone(w)
	var s2 [][]float32
	for _, x := range s {
		s2 = append(s2, clone(x))
	}
	c.k.step(Reference().Optim, c.h, w, g, s2)
	return w, s2
}

// requireSame checks got against the twin's want bit for bit (any NaN
// matches any NaN).
func requireSame(t *testing.T, what string, got, want []float32) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		if !sameBits(got[i], want[i]) {
			require.Failf(t, "differs from the generic twin", "%s [%d]: got %v (%#08x), twin %v (%#08x)",
				what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// place copies x into a fresh buffer at element offset off, between
// sentinels, and returns the sub-slice and a check that the sentinels are
// intact.
func place(x []float32, off int) ([]float32, func() bool) {
	const sentinel = 12345
	buf := make([]float32, off+len(x)+2)
	for i := range buf {
		buf[i] = sentinel
	}
	copy(buf[off:], x)
	return buf[off : off+len(x)], func() bool {
		for i := 0; i < off; i++ {
			if buf[i] != sentinel {
				return false
			}
		}
		return buf[off+len(x)] == sentinel && buf[off+len(x)+1] == sentinel
	}
}

func TestOptimMatchesTwin(t *testing.T) {
	r := testkit.Rand(31)
	for _, k := range Sets() {
		for _, c := range optimCases {
			t.Run(k.ISA+"/"+c.String(), func(t *testing.T) {
				for _, n := range optimLengths {
					w, g, s := optimInputs(r, c.k, n)
					wantW, wantS := twin(c, w, g, s)
					// Each slice at its own offset from a 64-byte
					// boundary (make aligns), so that no two are aligned
					// alike; sentinels on both sides.
					off := n % 7
					gw, okW := place(w, off)
					gg, okG := place(g, (off+1)%7)
					var gs [][]float32
					var okS []func() bool
					for j, x := range s {
						p, ok := place(x, (off+2+j)%7)
						gs, okS = append(gs, p), append(okS, ok)
					}
					c.k.step(k.Optim, c.h, gw, gg, gs)
					what := fmt.Sprintf("n=%d", n)
					requireSame(t, what+" w", gw, wantW)
					require.True(t, okW(), "%s: w written out of bounds", what)
					requireSame(t, what+" g (an input)", gg, g)
					require.True(t, okG(), "%s: g written out of bounds", what)
					for j := range gs {
						requireSame(t, fmt.Sprintf("%s state %d", what, j), gs[j], wantS[j])
						require.True(t, okS[j](), "%s: state %d written out of bounds", what, j)
					}
				}
			})
		}
	}
}

// TestOptimGuardPages runs every kernel with each slice ending at, and
// then starting after, an inaccessible page: a vector access one element
// too far crashes the test.
func TestOptimGuardPages(t *testing.T) {
	r := testkit.Rand(32)
	cases := []optimCase{
		{adamKernel, hyper{lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-7, wd: 1e-4}},
		{adadeltaKernel, hyper{lr: 1, b1: 0.95, eps: 1e-7, wd: 1e-4}},
		{sgdKernel, hyper{lr: 0.01, mom: 0.9, wd: 1e-4}},
		{sgdKernel, hyper{lr: 0.01, mom: 0.9, wd: 1e-4, nesterov: true}},
	}
	for _, n := range testkit.Lengths(80, 255, 257, 1001) {
		var ends, starts [4][]float32
		for j := range ends {
			ends[j], starts[j] = testkit.Guarded(t, n)
		}
		for _, k := range Sets() {
			for _, c := range cases {
				w, g, s := optimInputs(r, c.k, n)
				wantW, wantS := twin(c, w, g, s)
				for _, bufs := range [][4][]float32{ends, starts} {
					copy(bufs[0], w)
					copy(bufs[1], g)
					for j := range s {
						copy(bufs[2+j], s[j])
					}
					c.k.step(k.Optim, c.h, bufs[0], bufs[1], bufs[2:2+len(s)])
					what := fmt.Sprintf("%s %s n=%d", k.ISA, c, n)
					requireSame(t, what+" w", bufs[0], wantW)
					for j := range s {
						requireSame(t, fmt.Sprintf("%s state %d", what, j), bufs[2+j], wantS[j])
					}
				}
			}
		}
	}
}

// TestOptimSteps runs many steps on one state: each set must stay on the
// twin's bits, so that a run is the same whatever the CPU.
func TestOptimSteps(t *testing.T) {
	r := testkit.Rand(33)
	const n, steps = 203, 50
	for _, c := range []optimCase{
		{adamKernel, hyper{b1: 0.9, b2: 0.999, eps: 1e-7, wd: 1e-4}},
		{adadeltaKernel, hyper{lr: 1, b1: 0.95, eps: 1e-7, wd: 1e-4}},
		{sgdKernel, hyper{lr: 0.01, mom: 0.9, wd: 1e-4, nesterov: true}},
	} {
		w0 := testkit.Normal(r, n, 0, 0.1)
		type run struct {
			w []float32
			s [][]float32
		}
		runs := make([]run, len(Sets()))
		for i := range runs {
			runs[i].w = clone(w0)
			for j := 0; j < c.k.state; j++ {
				runs[i].s = append(runs[i].s, make([]float32, n))
			}
		}
		for step := 1; step <= steps; step++ {
			g := testkit.Normal(r, n, 0, 1)
			h := c.h
			if c.k.name == "Adam" {
				h.lr = float32(1e-3 * math.Sqrt(1-math.Pow(0.999, float64(step))) / (1 - math.Pow(0.9, float64(step))))
			}
			for i, k := range Sets() {
				c.k.step(k.Optim, h, runs[i].w, g, runs[i].s)
			}
		}
		ref := runs[len(runs)-1]
		for i, k := range Sets() {
			requireSame(t, k.ISA+" "+c.k.name+" w", runs[i].w, ref.w)
			for j := range ref.s {
				requireSame(t, fmt.Sprintf("%s %s state %d", k.ISA, c.k.name, j), runs[i].s[j], ref.s[j])
			}
		}
	}
}

// TestOptimTies feeds SGD sums whose float64 value lies exactly halfway
// between two float32: there the FMA rounds once and an emulation that
// rounds through float64 breaks the tie the wrong way half the time.
func TestOptimTies(t *testing.T) {
	r := testkit.Rand(34)
	const n = 333
	// g1 = fma(wd, w, g) with wd = 1-2^-23: tieCase's a*b+c with w = a,
	// g = c. With momentum 0 and lr = -1, vel = 0*vel + g1 is g1 exactly.
	w, g := make([]float32, n), make([]float32, n)
	want := make([]float32, n)
	for i := range w {
		a, b, c := tieCase(r, false)
		if b != 1-0x1p-23 {
			panic("tieCase changed")
		}
		w[i], g[i] = a, c
		want[i] = exactFMA32(b, a, c)
	}
	wrong := 0
	for i := range w {
		if naiveFMA32(1-0x1p-23, w[i], g[i]) != want[i] {
			wrong++
		}
	}
	require.Greater(t, wrong, n/4, "the cases must be ties for the float64 emulation")
	for _, k := range Sets() {
		for _, nesterov := range []bool{false, true} {
			gw, vel := clone(w), make([]float32, n)
			k.Optim.SGD(gw, g, vel, -1, 0, 1-0x1p-23, nesterov)
			requireSame(t, k.ISA+" g1", vel, want)
		}
	}
}

// TestOptimShortSlicesPanic: a slice shorter than w panics in Go, before
// assembly has touched anything.
func TestOptimShortSlicesPanic(t *testing.T) {
	r := testkit.Rand(35)
	const n = 37
	h := hyper{lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-7, wd: 1e-4, mom: 0.9}
	for _, k := range Sets() {
		for _, ok := range optimKernels {
			for short := 1; short <= 1+ok.state; short++ {
				w, g, s := optimInputs(r, ok, n)
				// The short slice ends at a guard page: reading it
				// past its end would crash, not panic.
				args := [][]float32{clone(w), g}
				args = append(args, s...)
				guard, _ := testkit.Guarded(t, n-1)
				copy(guard, args[short])
				args[short] = guard
				before := make([][]float32, len(args))
				for j := range args {
					before[j] = clone(args[j])
				}
				assert.Panics(t, func() { ok.step(k.Optim, h, args[0], args[1], args[2:]) },
					"%s %s with argument %d short", k.ISA, ok.name, short)
				for j := range args {
					requireSame(t, fmt.Sprintf("%s %s argument %d after the panic", k.ISA, ok.name, j), args[j], before[j])
				}
			}
		}
	}
}
