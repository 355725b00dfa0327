//go:build !purego

package kernels

import (
	"strings"

	"golang.org/x/sys/cpu"
)

// The CPU features each amd64 Set's generated code uses, spelled as Avo
// spells them in the "// Requires:" comment above every function it
// writes. These tables are the single source: nativeSets hands out a Set
// only when the CPU has every feature in its table, and TestRequires
// checks, on any host, that each assembly function a Set reaches requires
// nothing outside the table and the x86-64 baseline, and that every entry
// is used by some function.
var (
	avx512Needs = []string{"AVX", "AVX512F", "AVX512VL", "AVX512DQ", "BMI2"}
	avx2Needs   = []string{"AVX", "AVX2", "FMA3"}
)

// archBaseline lists what every amd64 CPU has (Go's amd64 port requires
// it): nothing to detect. MMX+ is Avo's name for the prefetch
// instructions, part of SSE.
var archBaseline = []string{"CMOV", "CPUID", "MMX+", "SSE", "SSE2"}

// archDetect maps every feature a table may name to its detection flag.
// golang.org/x/sys/cpu reports AVX and AVX-512 only when the operating
// system also saves their registers.
var archDetect = map[string]*bool{
	"AVX":      &cpu.X86.HasAVX,
	"AVX2":     &cpu.X86.HasAVX2,
	"FMA3":     &cpu.X86.HasFMA,
	"BMI2":     &cpu.X86.HasBMI2,
	"AVX512F":  &cpu.X86.HasAVX512F,
	"AVX512VL": &cpu.X86.HasAVX512VL,
	"AVX512DQ": &cpu.X86.HasAVX512DQ,
	"AVX512BW": &cpu.X86.HasAVX512BW,
}

// archSets are the amd64 Sets, best first: the features each needs and
// the constructor that is called only on a CPU that has them.
var archSets = []setSpec{
	{isa: AVX512, needs: avx512Needs, build: func() *Set {
		return &Set{Act: actAVX512(), Optim: optimAVX512(), Gemm: gemmAVX512(), Conv: convAVX512(), Bench: benchAVX512()}
	}},
	{isa: AVX2, needs: avx2Needs, build: func() *Set {
		return &Set{Act: actAVX2(), Optim: optimAVX2(), Gemm: gemmAVX2(), Conv: convAVX2(), Bench: benchAVX2()}
	}},
}

func whyNot(isa string) string {
	for _, s := range archSets {
		if s.isa == isa {
			return "the CPU lacks " + strings.Join(missing(s.needs), ", ")
		}
	}
	return "it is not an amd64 instruction set"
}
