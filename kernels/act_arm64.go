//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

func actNEON() Act {
	return Act{
		Sum:     asm.SumNEON,
		Moments: asm.MomentsNEON,
		Affine:  asm.AffineNEON,
		Read:    asm.ReadNEON,
		Copy:    func(dst, x []float32) { asm.CopyNEON(dst[:len(x)], x) },
	}
}
