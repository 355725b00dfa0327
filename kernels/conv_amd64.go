//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

// Unpack and the Winograd transforms are the same AVX code in both sets:
// they are bound by loads, shuffles and stores, not by the vector width.

func convAVX512() Conv {
	c := checkedConv(asm.ShiftAVX512, asm.GatherAVX512, asm.Pool2AVX512, asm.UnpackAVX2)
	return withWinograd(c, asm.WinogradInAVX2, asm.WinogradOutAVX2, asm.WinogradDyAVX2)
}

func convAVX2() Conv {
	c := checkedConv(asm.ShiftAVX2, asm.GatherAVX2, asm.Pool2AVX2, asm.UnpackAVX2)
	return withWinograd(c, asm.WinogradInAVX2, asm.WinogradOutAVX2, asm.WinogradDyAVX2)
}
