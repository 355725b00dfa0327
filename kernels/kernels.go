// Package kernels is the single dispatch point for snn's primitive kernels.
//
// A Set holds one implementation of every kernel: assembly generated for one
// instruction set, or the pure-Go reference. At start-up the package picks
// the best Set this CPU and build can run; ISA names it. The environment
// variable SNN_ISA (generic, avx2, avx512, neon) forces a lower one; naming
// an instruction set the CPU or the build lacks is a start-up panic, never a
// silent fallback. Built with the purego tag, only the generic Set exists.
//
// The kernels of a Set check lengths only as far as memory safety needs;
// the packages above (act, gemm, conv) check arguments and report misuse by
// name.
//
// The cache blocks of GEMM (Gemm.KC, MC and NC) are not constants: each
// Set derives them at start-up from CPU().Caches, the L1d, L2 and L3 of the
// CPU it runs on (size, associativity, and how many cores share the L3),
// with the analytical model of Low, Igual, Smith and Quintana-Orti
// ("Analytical Modeling Is Enough for High-Performance BLIS", ACM TOMS
// 2016), rounded to whole register tiles and kept within fixed bounds.
// `snn kernels` prints them. The depth block KC decides where GEMM splits
// its sums, so results may differ in the last bits between CPUs whose L1
// caches differ; on one CPU they are the same for every thread count.
// SNN_CACHES (EnvCaches) replaces the caches the CPU reports, level by
// level, for a hypervisor that reports wrong ones or to run here with
// another CPU's blocks.
package kernels

import (
	"fmt"
	"os"
	"strings"
)

// Names of the instruction sets, as ISA and SNN_ISA spell them.
const (
	Generic = "generic"
	AVX2    = "avx2"
	AVX512  = "avx512"
	NEON    = "neon"
)

// EnvISA is the environment variable that forces an instruction set.
const EnvISA = "SNN_ISA"

// Set is one implementation of every primitive kernel.
type Set struct {
	// ISA names the instruction set: Generic, AVX2, AVX512 or NEON.
	ISA string
	// Needs lists the CPU features the Set relies on (empty for Generic).
	Needs []string
	Act   Act
	Optim Optim
	Gemm  Gemm
	Conv  Conv
	// Bench is not dispatched to: benchmarks compare Act with it.
	Bench Bench
}

var (
	// runnable holds the Sets this CPU and build can run, best first; the
	// generic Set is always last.
	runnable []*Set
	// usable is runnable from the one SNN_ISA selects onwards.
	usable []*Set
	// forced is SNN_ISA as the process started with it.
	forced string
)

func init() {
	runnable = append(nativeSets(), genericSet())
	forced = os.Getenv(EnvISA)
	var err error
	usable, err = choose(runnable, forced)
	if err != nil {
		panic(err)
	}
}

// choose returns the tail of sets starting at the one named by want (the
// whole list when want is empty).
func choose(sets []*Set, want string) ([]*Set, error) {
	if want == "" {
		return sets, nil
	}
	for i, s := range sets {
		if s.ISA == want {
			return sets[i:], nil
		}
	}
	names := make([]string, len(sets))
	for i, s := range sets {
		names[i] = s.ISA
	}
	switch want {
	case Generic, AVX2, AVX512, NEON:
		return nil, fmt.Errorf("snn/kernels: %s=%s, but this CPU or build cannot run %s (%s); it can run: %s",
			EnvISA, want, want, whyNot(want), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("snn/kernels: %s=%q is not an instruction set; use one of %s, %s, %s, %s",
		EnvISA, want, Generic, AVX2, AVX512, NEON)
}

// ISA names the instruction set of the kernels in use.
func ISA() string { return usable[0].ISA }

// Why says in a few words why ISA was chosen: SNN_ISA, or the better sets
// this CPU or build cannot run and the features it lacks for each, e.g.
// "no avx512: the CPU lacks AVX512F, AVX512VL, AVX512DQ".
func Why() string { return why(usable[0].ISA, forced) }

// Availability says whether this CPU and build run one instruction set.
type Availability struct {
	ISA  string
	Runs bool
	// Why says what is missing when Runs is false.
	Why string
}

// Available lists every instruction set snn has for this architecture and
// build, best first, ending with the generic one, which always runs.
func Available() []Availability {
	var out []Availability
	for _, s := range archSets {
		a := Availability{ISA: s.isa, Runs: len(missing(s.needs)) == 0}
		if !a.Runs {
			a.Why = whyNot(s.isa)
		}
		out = append(out, a)
	}
	return append(out, Availability{ISA: Generic, Runs: true})
}

// Describe is ISA followed by Why in parentheses, for a program's first
// line of output: "avx2 (no avx512: the CPU lacks AVX512F, ...)".
func Describe() string { return ISA() + " (" + Why() + ")" }

func why(isa, env string) string {
	if env != "" {
		var also []string
		for _, s := range runnable {
			if s.ISA == isa {
				break
			}
			also = append(also, s.ISA)
		}
		if len(also) == 0 {
			return EnvISA + "=" + env
		}
		return EnvISA + "=" + env + "; this CPU also runs " + strings.Join(also, ", ")
	}
	var lacks []string
	for _, s := range archSets {
		if s.isa == isa {
			break
		}
		lacks = append(lacks, "no "+s.isa+": "+whyNot(s.isa))
	}
	if len(archSets) == 0 {
		return whyNot(isa)
	}
	if len(lacks) == 0 {
		return "the best set for this CPU"
	}
	return strings.Join(lacks, "; ")
}

// Active returns the Set in use.
func Active() *Set { return usable[0] }

// Sets returns the Set in use followed by every lower one this CPU runs,
// ending with the generic reference. Tests and benchmarks iterate over it.
func Sets() []*Set { return append([]*Set(nil), usable...) }

// Reference returns the pure-Go Set, the twin every other one is tested
// against.
func Reference() *Set { return runnable[len(runnable)-1] }

func genericSet() *Set {
	return &Set{ISA: Generic, Act: actGeneric(), Optim: optimGeneric(), Gemm: gemmGeneric(), Conv: convGeneric(), Bench: benchGeneric()}
}
