//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

// The wrappers reslice every slice to len(w): a short one panics in Go
// before the assembly, which trusts the lengths, touches memory.

func optimAVX512() Optim {
	return Optim{
		Adam: func(w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32) {
			asm.AdamAVX512(w, g[:len(w)], m[:len(w)], v[:len(w)], lrT, b1, c1, b2, c2, eps, wd)
		},
		Adadelta: func(w, g, acc, dacc []float32, lr, rho, c, eps, wd float32) {
			asm.AdadeltaAVX512(w, g[:len(w)], acc[:len(w)], dacc[:len(w)], lr, rho, c, eps, wd)
		},
		SGD: func(w, g, vel []float32, lr, momentum, wd float32, nesterov bool) {
			if nesterov {
				asm.SGDNesterovAVX512(w, g[:len(w)], vel[:len(w)], lr, momentum, wd)
				return
			}
			asm.SGDAVX512(w, g[:len(w)], vel[:len(w)], lr, momentum, wd)
		},
	}
}

func optimAVX2() Optim {
	return Optim{
		Adam: func(w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32) {
			asm.AdamAVX2(w, g[:len(w)], m[:len(w)], v[:len(w)], lrT, b1, c1, b2, c2, eps, wd)
		},
		Adadelta: func(w, g, acc, dacc []float32, lr, rho, c, eps, wd float32) {
			asm.AdadeltaAVX2(w, g[:len(w)], acc[:len(w)], dacc[:len(w)], lr, rho, c, eps, wd)
		},
		SGD: func(w, g, vel []float32, lr, momentum, wd float32, nesterov bool) {
			if nesterov {
				asm.SGDNesterovAVX2(w, g[:len(w)], vel[:len(w)], lr, momentum, wd)
				return
			}
			asm.SGDAVX2(w, g[:len(w)], vel[:len(w)], lr, momentum, wd)
		},
	}
}
