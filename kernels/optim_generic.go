package kernels

import "math"

func optimGeneric() Optim {
	return Optim{Adam: adamGeneric, Adadelta: adadeltaGeneric, SGD: sgdGeneric}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

func adamGeneric(w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		g1 := fmaf(wd, w[i], g[i])
		mi := fmaf(b1, m[i], c1*g1)
		vi := fmaf(b2, v[i], (c2*g1)*g1)
		m[i], v[i] = mi, vi
		w[i] = fmaf(-lrT, mi/(sqrt32(vi)+eps), w[i])
	}
}

func adadeltaGeneric(w, g, acc, dacc []float32, lr, rho, c, eps, wd float32) {
	g, acc, dacc = g[:len(w)], acc[:len(w)], dacc[:len(w)]
	for i := range w {
		g1 := fmaf(wd, w[i], g[i])
		a := fmaf(rho, acc[i], (c*g1)*g1)
		u := g1 * sqrt32(dacc[i]+eps) / sqrt32(a+eps)
		acc[i] = a
		dacc[i] = fmaf(rho, dacc[i], (c*u)*u)
		w[i] = fmaf(-lr, u, w[i])
	}
}

func sgdGeneric(w, g, vel []float32, lr, momentum, wd float32, nesterov bool) {
	g, vel = g[:len(w)], vel[:len(w)]
	for i := range w {
		g1 := fmaf(wd, w[i], g[i])
		vi := fmaf(momentum, vel[i], -lr*g1)
		vel[i] = vi
		if nesterov {
			w[i] = fmaf(momentum, vi, fmaf(-lr, g1, w[i]))
		} else {
			w[i] += vi
		}
	}
}
