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
}

var (
	// runnable holds the Sets this CPU and build can run, best first; the
	// generic Set is always last.
	runnable []*Set
	// usable is runnable from the one SNN_ISA selects onwards.
	usable []*Set
)

func init() {
	runnable = append(nativeSets(), genericSet())
	var err error
	usable, err = choose(runnable, os.Getenv(EnvISA))
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

// Active returns the Set in use.
func Active() *Set { return usable[0] }

// Sets returns the Set in use followed by every lower one this CPU runs,
// ending with the generic reference. Tests and benchmarks iterate over it.
func Sets() []*Set { return append([]*Set(nil), usable...) }

// Reference returns the pure-Go Set, the twin every other one is tested
// against.
func Reference() *Set { return runnable[len(runnable)-1] }

func genericSet() *Set {
	return &Set{ISA: Generic, Act: actGeneric(), Optim: optimGeneric(), Gemm: gemmGeneric(), Conv: convGeneric()}
}
