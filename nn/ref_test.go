package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snn/act"
)

// A float64 reference of every layer's forward pass, written directly from
// the definitions (no im2col, no GEMM, no vector kernels): the gradient
// checks difference it, and the layer tests compare the float32 forward
// passes with it.

// refParams maps each parameter to its float64 values.
type refParams map[*Param][]float64

func refParamsOf(m *Model) refParams {
	r := refParams{}
	for _, p := range m.params {
		r[p] = to64(p.Value)
	}
	return r
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// refForward runs the model's layers in float64 on n samples x.
func refForward(m *Model, c *Context, n int, x []float64, ps refParams) []float64 {
	for _, l := range m.layers {
		x = refLayer(l, c, n, x, ps)
	}
	return x
}

func refLayer(l Layer, c *Context, n int, x []float64, ps refParams) []float64 {
	switch l := l.(type) {
	case *Conv2D:
		var b []float64
		if l.b != nil {
			b = ps[l.b]
		}
		return refConv(l, n, x, ps[l.w], b)
	case *MaxPool2D:
		return refPool(l, n, x)
	case *Dense:
		u, in := l.Units, l.in
		w := ps[l.w]
		y := make([]float64, n*u)
		for i := range n {
			for o := range u {
				var s float64
				if l.b != nil {
					s = ps[l.b][o]
				}
				for k := range in {
					s += w[o*in+k] * x[i*in+k]
				}
				y[i*u+o] = s
			}
		}
		return y
	case *Flatten:
		return append([]float64(nil), x...)
	case *SELU:
		y := make([]float64, len(x))
		for i, v := range x {
			if v > 0 {
				y[i] = act.Lambda * v
			} else {
				y[i] = act.Lambda * act.Alpha * math.Expm1(v)
			}
		}
		return y
	case *ReLU:
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = max(v, 0)
		}
		return y
	case *Softmax:
		k := len(x) / n
		y := make([]float64, len(x))
		for i := range n {
			row := x[i*k : (i+1)*k]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = max(mx, v)
			}
			var s float64
			for j, v := range row {
				y[i*k+j] = math.Exp(v - mx)
				s += y[i*k+j]
			}
			for j := range row {
				y[i*k+j] /= s
			}
		}
		return y
	case *AlphaDropout:
		y := append([]float64(nil), x...)
		if !c.Training || l.Rate == 0 {
			return y
		}
		a, b := l.Affine()
		key := streamKey(c.Seed, purposeDropout, uint64(c.Step), uint64(l.index))
		for i, v := range x {
			if uniform32(key, i) >= float32(l.Rate) {
				y[i] = a*v + b
			} else {
				y[i] = a*(-act.Lambda*act.Alpha) + b
			}
		}
		return y
	case *Dropout:
		y := append([]float64(nil), x...)
		if !c.Training || l.Rate == 0 {
			return y
		}
		key := streamKey(c.Seed, purposeDropout, uint64(c.Step), uint64(l.index))
		for i, v := range x {
			if uniform32(key, i) >= float32(l.Rate) {
				y[i] = v * float64(float32(1/(1-l.Rate)))
			} else {
				y[i] = 0
			}
		}
		return y
	}
	if bn, ok := l.(*BatchNorm); ok {
		return refBatchNorm(bn, c, n, x, ps)
	}
	panic(fmt.Sprintf("refLayer: no reference for %T", l))
}

func refConv(l *Conv2D, n int, x, w, b []float64) []float64 {
	g := l.g
	oh, ow := g.OutH(), g.OutW()
	y := make([]float64, n*g.OutSize())
	for i := range n {
		for o := range g.OutC {
			yo := y[(i*g.OutC+o)*oh*ow : (i*g.OutC+o+1)*oh*ow]
			if b != nil {
				for p := range yo {
					yo[p] = b[o]
				}
			}
			for c := range g.InC {
				xc := x[(i*g.InC+c)*g.InH*g.InW : (i*g.InC+c+1)*g.InH*g.InW]
				for kh := range g.KH {
					for kw := range g.KW {
						wv := w[((o*g.InC+c)*g.KH+kh)*g.KW+kw]
						for r := range oh {
							ih := r*g.StrideH - g.PadTop + kh
							if ih < 0 || ih >= g.InH {
								continue
							}
							xr := xc[ih*g.InW : (ih+1)*g.InW]
							yr := yo[r*ow : (r+1)*ow]
							for q := range ow {
								iw := q*g.StrideW - g.PadLeft + kw
								if iw >= 0 && iw < g.InW {
									yr[q] += wv * xr[iw]
								}
							}
						}
					}
				}
			}
		}
	}
	return y
}

func refPool(l *MaxPool2D, n int, x []float64) []float64 {
	g := l.p.Geometry()
	oh, ow := g.OutH(), g.OutW()
	y := make([]float64, n*g.OutSize())
	for i := range n {
		for c := range g.C {
			xc := x[(i*g.C+c)*g.InH*g.InW:]
			for r := range oh {
				for q := range ow {
					best := math.Inf(-1)
					for kh := range g.KH {
						for kw := range g.KW {
							ih, iw := r*g.StrideH-g.PadTop+kh, q*g.StrideW-g.PadLeft+kw
							if ih >= 0 && ih < g.InH && iw >= 0 && iw < g.InW {
								best = max(best, xc[ih*g.InW+iw])
							}
						}
					}
					y[((i*g.C+c)*oh+r)*ow+q] = best
				}
			}
		}
	}
	return y
}

// refSoftmaxCE is the mean cross-entropy of the softmax of logits z.
func refSoftmaxCE(n, classes int, z []float64, labels []int32) float64 {
	var total float64
	for i := range n {
		row := z[i*classes : (i+1)*classes]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		total += math.Log(s) + mx - row[labels[i]]
	}
	return total / float64(n)
}

// refCrossEntropy is Keras' cross-entropy of probabilities p.
func refCrossEntropy(n, classes int, p []float64, labels []int32) float64 {
	var total float64
	for i := range n {
		row := p[i*classes : (i+1)*classes]
		var s float64
		for _, v := range row {
			s += v
		}
		r := min(max(row[labels[i]]/s, Epsilon), 1-Epsilon)
		total -= math.Log(r)
	}
	return total / float64(n)
}
