package conv

import (
	"fmt"
	"math"
	"testing"

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

// TestConvSameOnEveryKernelSet checks that a layer's results do not depend
// on the kernel set: im2col only moves data, so they agree bit for bit.
func TestConvSameOnEveryKernelSet(t *testing.T) {
	for _, tc := range parallelCases {
		var want [][]float32
		for _, ks := range kernels.Sets() {
			c, err := New(tc.g)
			require.NoError(t, err)
			c.lim = tc.lim
			c.d.ks = ks
			got := results(t, c, tc.n, 5)
			if want == nil {
				want = got
				continue
			}
			requireSameBits(t, want, got, fmt.Sprintf("%v on %s", tc.g, ks.ISA))
		}
	}
}
