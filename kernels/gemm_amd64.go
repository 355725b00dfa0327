//go:build !purego

package kernels

// Until the Avo micro-kernels land, the amd64 sets run the generic one.
func gemmAVX512() Gemm { return gemmGeneric() }

func gemmAVX2() Gemm { return gemmGeneric() }
