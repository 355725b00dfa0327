package conv

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// The references: direct loops over every index, in float64, with no
// im2col, no GEMM and no tiling. Each also returns, per output, the sum of
// the absolute values of its terms, which bounds the float32 rounding error
// of any summation order.

// refForward returns y and |y| sums for n images.
func refForward(g Geometry, n int, x, w, bias []float32) (y, abs []float64) {
	oh, ow := g.OutH(), g.OutW()
	y = make([]float64, n*g.OutC*oh*ow)
	abs = make([]float64, len(y))
	for i := 0; i < n; i++ {
		for o := 0; o < g.OutC; o++ {
			for r := 0; r < oh; r++ {
				for s := 0; s < ow; s++ {
					var sum, a float64
					if bias != nil {
						sum, a = float64(bias[o]), math.Abs(float64(bias[o]))
					}
					for c := 0; c < g.InC; c++ {
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								ih := r*g.StrideH - g.PadTop + kh
								iw := s*g.StrideW - g.PadLeft + kw
								if ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW {
									continue
								}
								t := float64(w[((o*g.InC+c)*g.KH+kh)*g.KW+kw]) * float64(x[((i*g.InC+c)*g.InH+ih)*g.InW+iw])
								sum += t
								a += math.Abs(t)
							}
						}
					}
					j := ((i*g.OutC+o)*oh+r)*ow + s
					y[j], abs[j] = sum, a
				}
			}
		}
	}
	return y, abs
}

// refBackward returns dx, dw and dbias (and their |.| sums) for n images:
// every product w*x of the forward pass sends dy*w to dx and dy*x to dw.
func refBackward(g Geometry, n int, x, w, dy []float32) (dx, dxAbs, dw, dwAbs, db, dbAbs []float64) {
	oh, ow := g.OutH(), g.OutW()
	dx = make([]float64, n*g.InSize())
	dxAbs = make([]float64, len(dx))
	dw = make([]float64, g.WeightSize())
	dwAbs = make([]float64, len(dw))
	db = make([]float64, g.OutC)
	dbAbs = make([]float64, g.OutC)
	for i := 0; i < n; i++ {
		for o := 0; o < g.OutC; o++ {
			for r := 0; r < oh; r++ {
				for s := 0; s < ow; s++ {
					d := float64(dy[((i*g.OutC+o)*oh+r)*ow+s])
					db[o] += d
					dbAbs[o] += math.Abs(d)
					for c := 0; c < g.InC; c++ {
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								ih := r*g.StrideH - g.PadTop + kh
								iw := s*g.StrideW - g.PadLeft + kw
								if ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW {
									continue
								}
								wi := ((o*g.InC+c)*g.KH+kh)*g.KW + kw
								xi := ((i*g.InC+c)*g.InH+ih)*g.InW + iw
								dx[xi] += d * float64(w[wi])
								dxAbs[xi] += math.Abs(d * float64(w[wi]))
								dw[wi] += d * float64(x[xi])
								dwAbs[wi] += math.Abs(d * float64(x[xi]))
							}
						}
					}
				}
			}
		}
	}
	return
}

// requireClose checks got against want within the worst-case error of a
// float32 sum of terms terms: |got-want| <= (terms+2) * 2^-24 * abs, plus a
// few ulps of the result for the final rounding.
func requireClose(t *testing.T, what string, got []float32, want, abs []float64, terms int) {
	t.Helper()
	require.Len(t, got, len(want), what)
	eps := math.Ldexp(1, -24)
	for i := range want {
		tol := float64(terms+2)*eps*abs[i] + 4*eps*math.Abs(want[i])
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
			require.Failf(t, "mismatch", "%s[%d] = %v, want %v (|diff| %.3g > tolerance %.3g)", what, i, got[i], want[i], d, tol)
		}
	}
}

// refPool returns max-pooling's output and argmax (first maximum in
// row-major window order; NaN wins) and the gradient routed back from dy.
func refPool(g PoolGeometry, n int, x, dy []float32) (y []float32, am []int32, dx []float64) {
	oh, ow := g.OutH(), g.OutW()
	y = make([]float32, n*g.C*oh*ow)
	am = make([]int32, len(y))
	dx = make([]float64, n*g.InSize())
	for i := 0; i < n; i++ {
		for c := 0; c < g.C; c++ {
			base := (i*g.C + c) * g.InH * g.InW
			for r := 0; r < oh; r++ {
				for s := 0; s < ow; s++ {
					found := false
					var best float32
					var bi int
					for kh := 0; kh < g.KH; kh++ {
						for kw := 0; kw < g.KW; kw++ {
							ih := r*g.StrideH - g.PadTop + kh
							iw := s*g.StrideW - g.PadLeft + kw
							if ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW {
								continue
							}
							v := x[base+ih*g.InW+iw]
							take := !found || (!isNaN(best) && (isNaN(v) || v > best))
							if take {
								best, bi, found = v, ih*g.InW+iw, true
							}
						}
					}
					j := ((i*g.C+c)*oh+r)*ow + s
					y[j], am[j] = best, int32(bi)
					if dy != nil {
						dx[base+bi] += float64(dy[j])
					}
				}
			}
		}
	}
	return
}

func isNaN(f float32) bool { return f != f }
