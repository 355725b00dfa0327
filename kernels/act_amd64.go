//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

// The wrappers reslice outputs and second inputs to len(x): a short slice
// panics in Go before the assembly, which trusts the lengths, runs.

func actAVX512() Act {
	return Act{
		SELU:     func(dst, x []float32) { asm.SELUAVX512(dst[:len(x)], x) },
		SELUGrad: func(dx, dy, y []float32) { asm.SELUGradAVX512(dx[:len(y)], dy[:len(y)], y) },
		ReLU:     func(dst, x []float32) { asm.ReLUAVX512(dst[:len(x)], x) },
		ReLUGrad: func(dx, dy, y []float32) { asm.ReLUGradAVX512(dx[:len(y)], dy[:len(y)], y) },
		Exp:      func(dst, x []float32) { asm.ExpAVX512(dst[:len(x)], x) },
		Sum:      asm.SumAVX512,
		Moments:  asm.MomentsAVX512,
		Affine:   asm.AffineAVX512,
		Add:      func(dst, x []float32) { asm.AddAVX512(dst[:len(x)], x) },
	}
}

func benchAVX512() Bench {
	return Bench{
		SumF32: asm.SumF32AVX512,
		Read:   asm.ReadAVX512,
		Copy:   func(dst, x []float32) { asm.CopyAVX512(dst[:len(x)], x) },
	}
}

func actAVX2() Act {
	return Act{
		SELU:     func(dst, x []float32) { asm.SELUAVX2(dst[:len(x)], x) },
		SELUGrad: func(dx, dy, y []float32) { asm.SELUGradAVX2(dx[:len(y)], dy[:len(y)], y) },
		ReLU:     func(dst, x []float32) { asm.ReLUAVX2(dst[:len(x)], x) },
		ReLUGrad: func(dx, dy, y []float32) { asm.ReLUGradAVX2(dx[:len(y)], dy[:len(y)], y) },
		Exp:      func(dst, x []float32) { asm.ExpAVX2(dst[:len(x)], x) },
		Sum:      asm.SumAVX2,
		Moments:  asm.MomentsAVX2,
		Affine:   asm.AffineAVX2,
		Add:      func(dst, x []float32) { asm.AddAVX2(dst[:len(x)], x) },
	}
}

func benchAVX2() Bench {
	return Bench{
		SumF32: asm.SumF32AVX2,
		Read:   asm.ReadAVX2,
		Copy:   func(dst, x []float32) { asm.CopyAVX2(dst[:len(x)], x) },
	}
}
