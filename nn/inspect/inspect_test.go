package inspect_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/snnkit/snn/nn"
	"github.com/snnkit/snn/nn/inspect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unitRef is the float64 reference of one unit over a set of input
// vectors (a Dense sample, or a conv patch with its padding zeros).
type unitRef struct {
	pred, preVar, preMean float64
}

// refStats computes, from the input vectors themselves, each input's
// variance (returned averaged as inVar) and every unit's independence
// prediction and measured pre-activation mean and variance.
func refStats(vecs [][]float64, w [][]float64, b []float64) (inVar float64, units []unitRef) {
	k := len(vecs[0])
	mean, vari := make([]float64, k), make([]float64, k)
	for _, v := range vecs {
		for i := range k {
			mean[i] += v[i]
		}
	}
	for i := range k {
		mean[i] /= float64(len(vecs))
	}
	for _, v := range vecs {
		for i := range k {
			vari[i] += (v[i] - mean[i]) * (v[i] - mean[i])
		}
	}
	for i := range k {
		vari[i] /= float64(len(vecs))
		inVar += vari[i] / float64(k)
	}
	for u := range w {
		var r unitRef
		z := make([]float64, len(vecs))
		for s, v := range vecs {
			z[s] = b[u]
			for i := range k {
				z[s] += w[u][i] * v[i]
			}
			r.preMean += z[s] / float64(len(vecs))
		}
		for _, x := range z {
			r.preVar += (x - r.preMean) * (x - r.preMean) / float64(len(vecs))
		}
		for i := range k {
			r.pred += w[u][i] * w[u][i] * vari[i]
		}
		units = append(units, r)
	}
	return inVar, units
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rows64(p *nn.Param) [][]float64 {
	var w [][]float64
	for u := range p.Units() {
		var r []float64
		for _, v := range p.Unit(u) {
			r = append(r, float64(v))
		}
		w = append(w, r)
	}
	return w
}

func vec64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestInspectDense measures a Dense layer on independent and on
// equicorrelated inputs: pred_var, pre_var and the ratio equal the float64
// computation from the samples, and the ratio is near its population
// value: 1 for independent inputs, w^T Sigma w / sum_i w_i^2 Sigma_ii for
// correlated ones.
func TestInspectDense(t *testing.T) {
	const in, n = 6, 4000
	scale := []float64{1, 2, 0.5, 1.5, 1, 3}
	// Units with omega = 0 and tau = 1.
	w := [][]float64{
		{0.5, -0.5, 0.5, -0.5, 0, 0},
		{0.4, 0.4, 0.4, -0.4, -0.4, -0.4},
		{1 / math.Sqrt2, 0, 0, 0, 0, -1 / math.Sqrt2},
	}
	bias := []float64{0.25, -1, 0}
	for _, tc := range []struct {
		name string
		rho  float64 // correlation of every pair of inputs
	}{
		{"independent", 0},
		{"correlated 0.5", 0.5},
		{"correlated 0.9", 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := nn.NewModel(nn.Vector(in), &nn.Dense{Units: 3}, &nn.SELU{}, &nn.Dense{Units: 2})
			require.NoError(t, err)
			m.Init(1)
			k := m.Param("dense_1.kernel")
			for u := range w {
				for i := range w[u] {
					k.Unit(u)[i] = float32(w[u][i])
				}
				m.Param("dense_1.bias").Value[u] = float32(bias[u])
			}
			// x_i = scale_i (sqrt(rho) g + sqrt(1-rho) e_i): correlation rho.
			r := rand.New(rand.NewPCG(7, 9))
			x := make([]float32, n*in)
			vecs := make([][]float64, n)
			for s := range n {
				g := r.NormFloat64()
				vecs[s] = make([]float64, in)
				for i := range in {
					v := float32(scale[i] * (math.Sqrt(tc.rho)*g + math.Sqrt(1-tc.rho)*r.NormFloat64() + 0.3))
					x[s*in+i] = v
					vecs[s][i] = float64(v)
				}
			}
			ds, err := nn.NewTensors(nn.Vector(in), 2, x, make([]int32, n))
			require.NoError(t, err)
			rows, err := inspect.Measure(m, ds, n, 512)
			require.NoError(t, err)
			require.Len(t, rows, 2)
			row := rows[0]
			assert.Equal(t, "dense_1", row.Layer)
			assert.Equal(t, "selu_1", row.Act)
			assert.Equal(t, "", row.Pool)
			assert.True(t, math.IsNaN(row.PoolVar))

			inVar, ref := refStats(vecs, w, bias)
			var pred, pre, ratio, means, popRatio []float64
			for u, rf := range ref {
				pred = append(pred, rf.pred)
				pre = append(pre, rf.preVar)
				ratio = append(ratio, rf.preVar/rf.pred)
				means = append(means, rf.preMean)
				// Population: Sigma_ij = scale_i scale_j (rho + (1-rho) [i=j]).
				var num, den float64
				for i := range in {
					for j := range in {
						c := scale[i] * scale[j] * tc.rho
						if i == j {
							c = scale[i] * scale[i]
							den += w[u][i] * w[u][i] * c
						}
						num += w[u][i] * w[u][j] * c
					}
				}
				popRatio = append(popRatio, num/den)
			}
			assert.InEpsilon(t, inVar, row.InVar, 1e-9)
			assert.InEpsilon(t, medianOf(pred), row.PredVar, 1e-6)
			assert.InEpsilon(t, medianOf(pre), row.PreVar, 1e-5)
			assert.InEpsilon(t, medianOf(ratio), row.Ratio, 1e-5)
			assert.InDelta(t, medianOf(means), row.PreMean, 1e-5)
			assert.InEpsilon(t, medianOf(popRatio), row.Ratio, 0.08, "population ratio")
			if tc.rho == 0 {
				assert.InDelta(t, 1, row.Ratio, 0.08)
			}
			// Mean of z = b + w.E[x], unit by unit.
			var b2, wex2, m2 float64
			for u := range w {
				b2 += bias[u] * bias[u]
				wex := ref[u].preMean - bias[u]
				wex2 += wex * wex
				m2 += ref[u].preMean * ref[u].preMean
			}
			assert.InEpsilon(t, math.Sqrt(b2/3), row.BiasRMS, 1e-6)
			assert.InEpsilon(t, math.Sqrt(wex2/3), row.WExRMS, 1e-5)
			assert.InEpsilon(t, math.Sqrt(m2/3), row.MeanRMS, 1e-5)
			assert.InDelta(t, 0, row.Omega, 1e-6)
			assert.InDelta(t, 1, row.Tau, 1e-6)
		})
	}
}

// TestInspectConvCorrelation feeds a 3x3 valid convolution images whose
// channel planes are constant: every input of a unit's patch in channel c
// is the same g_c, so Var(z) = sum_c (sum_k w_ck)^2 Var(g_c) exactly, and
// a unit with omega = 0 and tau = 1 can have any ratio from 0 to 9.
func TestInspectConvCorrelation(t *testing.T) {
	a := 1 / math.Sqrt(18)
	b := 1 / math.Sqrt(6)
	checker := func(s float64) []float64 {
		w := make([]float64, 9)
		for i := range w {
			w[i] = s
			if i%2 == 1 {
				w[i] = -s
			}
		}
		return w
	}
	rep := func(v float64, k int) []float64 { return slices.Repeat([]float64{v}, k) }
	for _, tc := range []struct {
		name  string
		w     []float64 // [2][3][3]
		ratio float64
	}{
		{"channels opposite", append(rep(a, 9), rep(-a, 9)...), 9},
		{"checkerboards", append(checker(a), checker(-a)...), 1.0 / 9},
		{"rows cancel", append([]float64{b, b, b, 0, 0, 0, -b, -b, -b}, rep(0, 9)...), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 50
			m, err := nn.NewModel(nn.Shape{C: 2, H: 4, W: 5},
				&nn.Conv2D{Filters: 1, KernelSize: 3}, &nn.SELU{}, &nn.MaxPool2D{}, &nn.Flatten{}, &nn.Dense{Units: 2})
			require.NoError(t, err)
			m.Init(3)
			for i, v := range tc.w {
				m.Param("conv2d_1.kernel").Value[i] = float32(v)
			}
			r := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, n*40)
			var g [2][]float64
			for s := range n {
				for c := range 2 {
					v := float32(r.NormFloat64()*float64(c+1) + 0.5)
					g[c] = append(g[c], float64(v))
					for j := range 20 {
						x[s*40+c*20+j] = v
					}
				}
			}
			ds, err := nn.NewTensors(nn.Shape{C: 2, H: 4, W: 5}, 2, x, make([]int32, n))
			require.NoError(t, err)
			rows, err := inspect.Measure(m, ds, n, 16)
			require.NoError(t, err)
			row := rows[0]
			assert.Equal(t, "selu_1", row.Act)
			assert.Equal(t, "maxpool2d_1", row.Pool)
			// z = s_0 g_0 + s_1 g_1, s_c the sum of channel c's weights
			// (as float32 holds them).
			w := vec64(m.Param("conv2d_1.kernel").Value)
			var s1, s2 [2]float64
			for c := range 2 {
				for _, wv := range w[c*9 : (c+1)*9] {
					s1[c] += wv
					s2[c] += wv * wv
				}
			}
			z := make([]float64, n)
			var den float64
			for c := range 2 {
				for i := range n {
					z[i] += s1[c] * g[c][i]
				}
				_, v := meanVar(g[c])
				den += s2[c] * v
			}
			_, num := meanVar(z)
			assert.InDelta(t, num, row.PreVar, 1e-5*max(num, 1))
			assert.InEpsilon(t, den, row.PredVar, 1e-9)
			assert.InDelta(t, num/den, row.Ratio, 1e-5*max(num/den, 1))
			// The sample covariance of g_0 and g_1 is not 0: near the
			// population ratio only.
			assert.InDelta(t, tc.ratio, row.Ratio, 0.15*max(tc.ratio, 1))
			assert.InDelta(t, 0, row.Omega, 1e-6)
			assert.InDelta(t, 1, row.Tau, 1e-6)
		})
	}
}

func meanVar(v []float64) (m, s float64) {
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, s / float64(len(v))
}

// TestInspectConvSame checks a 'same' convolution against an explicit
// float64 im2col (padding zeros included), the activation and pooling
// columns against float64 SELU and max-pooling, and the output layer's
// statistics against Model.Forward's output, over uneven chunks.
func TestInspectConvSame(t *testing.T) {
	const n, C, H, W, F = 7, 2, 5, 6, 3
	sh := nn.Shape{C: C, H: H, W: W}
	m, err := nn.NewModel(sh, &nn.Conv2D{Filters: F, KernelSize: 3, Padding: nn.Same, Init: nn.LeCunNormal},
		&nn.SELU{}, &nn.MaxPool2D{}, &nn.Flatten{}, &nn.Dense{Units: 4, Init: nn.LeCunNormal})
	require.NoError(t, err)
	m.Init(5)
	bias := m.Param("conv2d_1.bias").Value
	for u := range bias {
		bias[u] = float32(u) - 0.7
	}
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n*sh.Size())
	for i := range x {
		x[i] = float32(r.NormFloat64()*1.5 + 2) // far from mean 0: the shifts matter
	}
	ds, err := nn.NewTensors(sh, 4, x, make([]int32, n))
	require.NoError(t, err)
	rows, err := inspect.Measure(m, ds, n, 3)
	require.NoError(t, err)
	require.Len(t, rows, 2)

	// Explicit im2col, and SELU and 2x2 pooling in float64.
	var patches [][]float64
	w := rows64(m.Param("conv2d_1.kernel"))
	b := vec64(bias)
	act := make([][]float64, F) // per unit, every image and position
	var pooled [][]float64      // per image: the flattened pooling output
	var poolPerUnit [F][]float64
	selu := func(z float64) float64 {
		if z > 0 {
			return 1.0507009873554805 * z
		}
		return 1.0507009873554805 * 1.6732632423543772 * math.Expm1(z)
	}
	for s := range n {
		y := make([][]float64, F) // [unit][H*W]
		for oy := range H {
			for ox := range W {
				p := make([]float64, 0, C*9)
				for c := range C {
					for ky := range 3 {
						for kx := range 3 {
							iy, ix := oy+ky-1, ox+kx-1
							v := 0.0
							if iy >= 0 && iy < H && ix >= 0 && ix < W {
								v = float64(x[s*sh.Size()+(c*H+iy)*W+ix])
							}
							p = append(p, v)
						}
					}
				}
				patches = append(patches, p)
				for u := range F {
					z := b[u]
					for i, v := range p {
						z += w[u][i] * v
					}
					y[u] = append(y[u], selu(z))
				}
			}
		}
		var flat []float64
		for u := range F {
			act[u] = append(act[u], y[u]...)
			for py := range H / 2 {
				for px := range W / 2 {
					v := math.Inf(-1)
					for dy := range 2 {
						for dx := range 2 {
							v = max(v, y[u][(2*py+dy)*W+2*px+dx])
						}
					}
					flat = append(flat, v)
					poolPerUnit[u] = append(poolPerUnit[u], v)
				}
			}
		}
		pooled = append(pooled, flat)
	}
	inVar, ref := refStats(patches, w, b)
	var pred, pre, ratio, means []float64
	for _, rf := range ref {
		pred = append(pred, rf.pred)
		pre = append(pre, rf.preVar)
		ratio = append(ratio, rf.preVar/rf.pred)
		means = append(means, rf.preMean)
	}
	row := rows[0]
	assert.Equal(t, F, row.Units)
	assert.Equal(t, C*9, row.FanIn)
	assert.InEpsilon(t, inVar, row.InVar, 1e-9)
	assert.InEpsilon(t, medianOf(pred), row.PredVar, 1e-9)
	assert.InEpsilon(t, medianOf(pre), row.PreVar, 1e-5)
	assert.InEpsilon(t, medianOf(ratio), row.Ratio, 1e-5)
	assert.InDelta(t, medianOf(means), row.PreMean, 1e-5)

	total := func(per [F][]float64) (all, within float64) {
		var every []float64
		for u := range F {
			_, v := meanVar(per[u])
			within += v / F
			every = append(every, per[u]...)
		}
		_, all = meanVar(every)
		return all, within
	}
	all, within := total([F][]float64(act))
	assert.InEpsilon(t, all, row.ActVar, 1e-5)
	assert.InEpsilon(t, within, row.ActWVar, 1e-5)
	all, within = total(poolPerUnit)
	assert.InEpsilon(t, all, row.PoolVar, 1e-5)
	assert.InEpsilon(t, within, row.PoolWV, 1e-5)

	// The Dense layer on the pooled values.
	d := m.Param("dense_1.kernel")
	inVar, ref = refStats(pooled, rows64(d), vec64(m.Param("dense_1.bias").Value))
	pred, pre = pred[:0], pre[:0]
	for _, rf := range ref {
		pred = append(pred, rf.pred)
		pre = append(pre, rf.preVar)
	}
	out := rows[1]
	assert.Equal(t, "dense_1", out.Layer)
	assert.InEpsilon(t, inVar, out.InVar, 1e-5)
	assert.InEpsilon(t, medianOf(pred), out.PredVar, 1e-5)
	assert.InEpsilon(t, medianOf(pre), out.PreVar, 1e-5)
	assert.True(t, math.IsNaN(out.ActVar), "no activation after the output layer")

	// The layers driven one by one compute what Model.Forward computes:
	// the output's per-unit statistics are the same to rounding.
	y := m.Forward(&nn.Context{}, n, x)
	var vs, ms []float64
	for u := range 4 {
		var col []float64
		for s := range n {
			col = append(col, float64(y[s*4+u]))
		}
		mu, v := meanVar(col)
		ms, vs = append(ms, mu), append(vs, v)
	}
	assert.InEpsilon(t, medianOf(vs), out.PreVar, 1e-9)
	assert.InDelta(t, medianOf(ms), out.PreMean, 1e-9)
}

// TestWriters checks both formats on a row with and a row without a
// following activation: columns right-aligned, counts as integers, NaN as "-" in the table and
// as an empty field in the CSV, every column present once.
func TestWriters(t *testing.T) {
	nan := math.NaN()
	rows := []inspect.Row{
		{Layer: "conv1", Kind: "conv2d", Units: 8, FanIn: 27, InVar: 1.25, PredVar: 0.5, PreVar: 1.5, Ratio: 3,
			PreMean: -0.125, MeanRMS: 0.25, BiasRMS: 0, WExRMS: 0.0625, Act: "selu1", ActVar: 0.96875, ActWVar: 0.9,
			PoolVar: nan, PoolWV: nan, Omega: 1e-9, Tau: 1},
		{Layer: "output", Kind: "dense", Units: 10, FanIn: 12800, InVar: 2, PredVar: 1, PreVar: 1, Ratio: 1,
			ActVar: nan, ActWVar: nan, PoolVar: nan, PoolWV: nan, Tau: 0.123456789},
	}
	tests := []struct {
		name  string
		write func(*strings.Builder) error
		want  []string
	}{
		{"table", func(b *strings.Builder) error { return inspect.WriteTable(b, rows) }, []string{
			"   layer  units  fan_in  in_var  pred_var  pre_var  ratio  pre_mean  mean_rms  bias_rms  wEx_rms  act_var  act_wvar  pool_var  pool_wvar  omega     tau",
			"   conv1      8      27    1.25       0.5      1.5      3    -0.125      0.25         0   0.0625   0.9688       0.9         -          -  1e-09       1",
			"  output     10   12800       2         1        1      1         0         0         0        0        -         -         -          -      0  0.1235",
		}},
		{"csv", func(b *strings.Builder) error { return inspect.WriteCSV(b, rows) }, []string{
			"layer,kind,act,pool,units,fan_in,in_var,pred_var,pre_var,ratio,pre_mean,mean_rms,bias_rms,wEx_rms,act_var,act_wvar,pool_var,pool_wvar,omega,tau",
			"conv1,conv2d,selu1,,8,27,1.25,0.5,1.5,3,-0.125,0.25,0,0.0625,0.96875,0.9,,,1e-09,1",
			"output,dense,,,10,12800,2,1,1,1,0,0,0,0,,,,,0,0.12345679",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			require.NoError(t, tt.write(&b))
			assert.Equal(t, tt.want, strings.Split(strings.TrimRight(b.String(), "\n"), "\n"))
		})
	}
}
