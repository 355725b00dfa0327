//go:build !purego

package kernels

import (
	"strings"

	"golang.org/x/sys/cpu"
)

// avx512Needs and avx2Needs are the features the generated code uses,
// as Avo lists them in each function's "Requires" comment.
var (
	avx512Needs = []string{"AVX512F", "AVX512VL", "AVX512DQ", "AVX512BW", "BMI2", "FMA"}
	avx2Needs   = []string{"AVX2", "FMA", "BMI2"}
)

func has(feature string) bool {
	switch feature {
	case "AVX512F":
		return cpu.X86.HasAVX512F
	case "AVX512VL":
		return cpu.X86.HasAVX512VL
	case "AVX512DQ":
		return cpu.X86.HasAVX512DQ
	case "AVX512BW":
		return cpu.X86.HasAVX512BW
	case "AVX2":
		return cpu.X86.HasAVX2
	case "FMA":
		return cpu.X86.HasFMA
	case "BMI2":
		return cpu.X86.HasBMI2
	}
	return false
}

func missing(needs []string) []string {
	var m []string
	for _, f := range needs {
		if !has(f) {
			m = append(m, f)
		}
	}
	return m
}

func nativeSets() []*Set {
	var sets []*Set
	if len(missing(avx512Needs)) == 0 {
		sets = append(sets, &Set{ISA: AVX512, Needs: avx512Needs,
			Act:   actAVX512(),
			Optim: optimAVX512(),
			Gemm:  gemmAVX512(),
			Conv:  convAVX512(),
		})
	}
	if len(missing(avx2Needs)) == 0 {
		sets = append(sets, &Set{ISA: AVX2, Needs: avx2Needs,
			Act:   actAVX2(),
			Optim: optimAVX2(),
			Gemm:  gemmAVX2(),
			Conv:  convAVX2(),
		})
	}
	return sets
}

func whyNot(isa string) string {
	switch isa {
	case AVX512:
		return "the CPU lacks " + strings.Join(missing(avx512Needs), ", ")
	case AVX2:
		return "the CPU lacks " + strings.Join(missing(avx2Needs), ", ")
	}
	return "it is not an amd64 instruction set"
}
