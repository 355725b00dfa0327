package conv

import (
	"fmt"
	"math"
	"sync/atomic"
	"testing"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/require"
)

type im2colConfig struct {
	ks     *kernels.Set
	gather bool
}

// im2colConfigs are both im2col paths on every kernel set this CPU runs.
func im2colConfigs() []im2colConfig {
	var cs []im2colConfig
	for _, ks := range kernels.Sets() {
		cs = append(cs, im2colConfig{ks, false}, im2colConfig{ks, true})
	}
	return cs
}

// naiveCol is the column matrix entry for row r and output position p.
func naiveCol(d *dims, x []float32, r, p int) float32 {
	c, t := r/(d.kh*d.kw), r%(d.kh*d.kw)
	i, j := t/d.kw, t%d.kw
	oh, ow := p/d.ow, p%d.ow
	ih, iw := oh*d.sh-d.pt+i, ow*d.sw-d.pl+j
	if ih < 0 || ih >= d.h || iw < 0 || iw >= d.w {
		return 0
	}
	return x[(c*d.h+ih)*d.w+iw]
}

// TestIm2col checks both im2col paths (segments and the gather table)
// against the definition, for whole images and column ranges, all rows and
// row ranges, at an offset inside a wider matrix whose other entries must
// stay untouched; and col2im as im2col's adjoint.
func TestIm2col(t *testing.T) {
	r := testkit.Rand(6)
	for _, g := range convCases(r) {
		for _, cfg := range im2colConfigs() {
			d := newDims(g)
			d.ks = cfg.ks
			d.tab = nil
			if cfg.gather {
				d.makeTable()
			}
			t.Run(fmt.Sprintf("%v/%s/gather=%v", g, cfg.ks.ISA, cfg.gather), func(t *testing.T) {
				x := testkit.Uniform(r, d.in, -1, 1)
				ranges := [][4]int{{0, d.p, 0, d.k}}
				for range 6 {
					p0, r0 := r.IntN(d.p), r.IntN(d.k)
					p1, r1 := p0+1+r.IntN(d.p-p0), r0+1+r.IntN(d.k-r0)
					if r.IntN(2) == 0 {
						p0, p1 = 0, d.p // whole images take the gather path
					}
					ranges = append(ranges, [4]int{p0, p1, r0, r1})
				}
				for _, pr := range ranges {
					p0, p1, r0, r1 := pr[0], pr[1], pr[2], pr[3]
					n, rows := p1-p0, r1-r0
					off := r.IntN(5)
					ld := off + n + r.IntN(5)
					dst := make([]float32, rows*ld)
					fill(dst, float32(math.Inf(1)))
					d.im2col(x, p0, p1, dst, ld, off, r0, r1)
					for row := 0; row < rows; row++ {
						for q := 0; q < ld; q++ {
							got := dst[row*ld+q]
							if q < off || q >= off+n {
								require.True(t, math.IsInf(float64(got), 1), "row %d column %d outside [%d,%d) written", row, q, off, off+n)
								continue
							}
							require.Equal(t, naiveCol(&d, x, r0+row, p0+q-off), got,
								"positions [%d,%d) rows [%d,%d): row %d position %d", p0, p1, r0, r1, r0+row, p0+q-off)
						}
					}

					// <im2col(x), m> == <x, col2im(m)> for any m.
					m := testkit.Uniform(r, rows*ld, -1, 1)
					dx := make([]float32, d.in)
					d.col2im(m, ld, off, p0, p1, r0, r1, dx)
					var lhs, rhs float64
					for row := 0; row < rows; row++ {
						for q := off; q < off+n; q++ {
							lhs += float64(dst[row*ld+q]) * float64(m[row*ld+q])
						}
					}
					for i := range x {
						rhs += float64(x[i]) * float64(dx[i])
					}
					require.InDelta(t, lhs, rhs, 1e-4*(1+math.Abs(lhs)), "col2im is not im2col's adjoint on %v", pr)
				}
			})
		}
	}
}

// TestConvSameOnEveryKernelSet checks a layer on every kernel set, its
// GEMMs included: a set whose GEMM gives the active set's bits (the same
// multiply-adds on the same depth blocks) must give the same results bit
// for bit, since im2col and the rest only move data; any other set (the
// pure-Go kernels on amd64, with other depth blocks) must be as close to
// the float64 reference as a float32 sum can be.
func TestConvSameOnEveryKernelSet(t *testing.T) {
	for _, tc := range parallelCases {
		var want [][]float32
		for _, ks := range append([]*kernels.Set{kernels.Active()}, kernels.Sets()...) {
			c, err := New(tc.g)
			require.NoError(t, err)
			c.lim = tc.lim
			counted, calls := countGemm(ks)
			c.d.ks = counted
			got := results(t, c, tc.n, 5)
			what := fmt.Sprintf("%v on %s", tc.g, ks.ISA)
			require.NotZero(t, calls.Load(), "%s: the GEMMs ran on another kernel set", what)
			switch {
			case want == nil:
				want = got
			case sameGemmBits(ks, kernels.Active()):
				requireSameBits(t, want, got, what)
			default:
				g, n := tc.g, tc.n
				r := testkit.Rand(5)
				x := testkit.Uniform(r, n*g.InSize(), -1, 1)
				w := testkit.Uniform(r, g.WeightSize(), -1, 1)
				b := testkit.Uniform(r, g.OutC, -1, 1)
				dy := testkit.Uniform(r, n*g.OutSize(), -1, 1)
				y, yAbs := refForward(g, n, x, w, b)
				dx, dxAbs, dw, dwAbs, db, dbAbs := refBackward(g, n, x, w, dy)
				requireClose(t, what+" y", got[0], y, yAbs, g.InC*g.KH*g.KW+1)
				requireClose(t, what+" dx", got[1], dx, dxAbs, g.OutC*g.KH*g.KW)
				requireClose(t, what+" dw", got[2], dw, dwAbs, n*g.OutH()*g.OutW())
				requireClose(t, what+" dbias", got[3], db, dbAbs, n*g.OutH()*g.OutW())
			}
		}
	}
}

// countGemm returns a copy of ks whose GEMM micro-kernels count their
// calls in *calls.
func countGemm(ks *kernels.Set) (*kernels.Set, *atomic.Int64) {
	c := *ks
	calls := new(atomic.Int64)
	g := ks.Gemm
	c.Gemm.Kernel = func(kc, m, n int, a, b []float32, ldb, panel int, cc []float32, ldc int, alpha, beta float32) {
		calls.Add(1)
		g.Kernel(kc, m, n, a, b, ldb, panel, cc, ldc, alpha, beta)
	}
	if g.KernelRows != nil {
		c.Gemm.KernelRows = func(kc, m, n int, a, b []float32, off []int, width, stride int, cc []float32, ldc int, alpha, beta float32) {
			calls.Add(1)
			g.KernelRows(kc, m, n, a, b, off, width, stride, cc, ldc, alpha, beta)
		}
	}
	if g.KernelA != nil {
		c.Gemm.KernelA = func(kc, m, n int, a []float32, lda int, b []float32, ldb, panel int, cc []float32, ldc int, alpha, beta float32) {
			calls.Add(1)
			g.KernelA(kc, m, n, a, lda, b, ldb, panel, cc, ldc, alpha, beta)
		}
	}
	return &c, calls
}

// sameGemmBits reports whether the GEMMs of two kernel sets give the same
// bits on a product deep enough for several depth blocks.
func sameGemmBits(a, b *kernels.Set) bool {
	const m, n, k = 13, 37, 1100
	r := testkit.Rand(6)
	x := testkit.Uniform(r, m*k, -1, 1)
	y := testkit.Uniform(r, k*n, -1, 1)
	ca, cb := make([]float32, m*n), make([]float32, m*n)
	gemm.Options{Kernels: a, Threads: 1}.Sgemm(false, false, m, n, k, 1, x, k, y, n, 0, ca, n)
	gemm.Options{Kernels: b, Threads: 1}.Sgemm(false, false, m, n, k, 1, x, k, y, n, 0, cb, n)
	for i := range ca {
		if math.Float32bits(ca[i]) != math.Float32bits(cb[i]) {
			return false
		}
	}
	return true
}
