//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

// The wrappers reslice outputs and second inputs to len(x): a short slice
// panics in Go before the assembly, which trusts the lengths, runs.

func actNEON() Act {
	return Act{
		SELU:     func(dst, x []float32) { asm.SELUNEON(dst[:len(x)], x) },
		SELUGrad: func(dx, dy, y []float32) { asm.SELUGradNEON(dx[:len(y)], dy[:len(y)], y) },
		ReLU:     func(dst, x []float32) { asm.ReLUNEON(dst[:len(x)], x) },
		ReLUGrad: func(dx, dy, y []float32) { asm.ReLUGradNEON(dx[:len(y)], dy[:len(y)], y) },
		Exp:      func(dst, x []float32) { asm.ExpNEON(dst[:len(x)], x) },
		Sum:      asm.SumNEON,
		Moments:  asm.MomentsNEON,
		Affine:   asm.AffineNEON,
		Add:      func(dst, x []float32) { asm.AddNEON(dst[:len(x)], x) },
	}
}

func benchNEON() Bench {
	return Bench{
		SumF32: asm.SumF32NEON,
		Read:   asm.ReadNEON,
		Copy:   func(dst, x []float32) { asm.CopyNEON(dst[:len(x)], x) },
	}
}
