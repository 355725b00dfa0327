//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

func actAVX512() Act {
	return Act{
		Sum:     asm.SumAVX512,
		Moments: asm.MomentsAVX512,
		Affine:  asm.AffineAVX512,
		Read:    asm.ReadAVX512,
		Copy:    func(dst, x []float32) { asm.CopyAVX512(dst[:len(x)], x) },
	}
}

func actAVX2() Act {
	return Act{
		Sum:     asm.SumAVX2,
		Moments: asm.MomentsAVX2,
		Affine:  asm.AffineAVX2,
		Read:    asm.ReadAVX2,
		Copy:    func(dst, x []float32) { asm.CopyAVX2(dst[:len(x)], x) },
	}
}
