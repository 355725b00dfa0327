//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

func convAVX512() Conv {
	return checkedConv(asm.ShiftAVX512, asm.GatherAVX512, asm.Pool2AVX512, asm.UnpackAVX2)
}

func convAVX2() Conv {
	return checkedConv(asm.ShiftAVX2, asm.GatherAVX2, asm.Pool2AVX2, asm.UnpackAVX2)
}
