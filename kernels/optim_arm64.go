//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

// The wrappers reslice every array to len(w): a short one panics in Go
// before the assembly, which trusts the lengths, runs.

func optimNEON() Optim {
	return Optim{
		Adam: func(w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32) {
			n := len(w)
			asm.AdamNEON(w, g[:n], m[:n], v[:n], lrT, b1, c1, b2, c2, eps, wd)
		},
		Adadelta: func(w, g, acc, dacc []float32, lr, rho, c, eps, wd float32) {
			n := len(w)
			asm.AdadeltaNEON(w, g[:n], acc[:n], dacc[:n], lr, rho, c, eps, wd)
		},
		SGD: func(w, g, vel []float32, lr, momentum, wd float32, nesterov bool) {
			n := len(w)
			if nesterov {
				asm.SGDNesterovNEON(w, g[:n], vel[:n], lr, momentum, wd)
				return
			}
			asm.SGDNEON(w, g[:n], vel[:n], lr, momentum, wd)
		},
	}
}
