//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

func optimAVX512() Optim {
	return optimOf(asm.AdamAVX512, asm.AdadeltaAVX512, asm.SGDAVX512, asm.SGDNesterovAVX512)
}

func optimAVX2() Optim {
	return optimOf(asm.AdamAVX2, asm.AdadeltaAVX2, asm.SGDAVX2, asm.SGDNesterovAVX2)
}

type (
	asmAdam     = func(w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32)
	asmAdadelta = func(w, g, acc, dacc []float32, lr, rho, c, eps, wd float32)
	asmSGD      = func(w, g, vel []float32, lr, momentum, wd float32)
)

// optimOf wraps one set's optimizer kernels. The wrappers reslice every
// slice to len(w): a short one panics in Go before the assembly, which
// trusts the lengths, touches memory.
func optimOf(adam asmAdam, adadelta asmAdadelta, sgd, nesterov asmSGD) Optim {
	return Optim{
		Adam: func(w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32) {
			adam(w, g[:len(w)], m[:len(w)], v[:len(w)], lrT, b1, c1, b2, c2, eps, wd)
		},
		Adadelta: func(w, g, acc, dacc []float32, lr, rho, c, eps, wd float32) {
			adadelta(w, g[:len(w)], acc[:len(w)], dacc[:len(w)], lr, rho, c, eps, wd)
		},
		SGD: func(w, g, vel []float32, lr, momentum, wd float32, n bool) {
			if n {
				nesterov(w, g[:len(w)], vel[:len(w)], lr, momentum, wd)
				return
			}
			sgd(w, g[:len(w)], vel[:len(w)], lr, momentum, wd)
		},
	}
}
