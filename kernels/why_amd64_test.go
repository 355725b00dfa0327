//go:build !purego

package kernels

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestWhy simulates CPUs by setting the detected features (restored
// afterwards) and checks what a user is told about the choice.
func TestWhy(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  []string
		isa  string
		env  string
		want string
	}{
		{name: "everything", isa: AVX512, want: "the best set for this CPU"},
		{name: "Zen 3", off: []string{"AVX512F", "AVX512VL", "AVX512DQ"}, isa: AVX2,
			want: "no avx512: the CPU lacks AVX512F, AVX512VL, AVX512DQ"},
		{name: "AVX-512 without VL", off: []string{"AVX512VL"}, isa: AVX2,
			want: "no avx512: the CPU lacks AVX512VL"},
		{name: "no AVX at all", off: []string{"AVX", "AVX2", "FMA3", "AVX512F", "AVX512VL", "AVX512DQ", "BMI2"}, isa: Generic,
			want: "no avx512: the CPU lacks AVX, AVX512F, AVX512VL, AVX512DQ, BMI2; no avx2: the CPU lacks AVX, AVX2, FMA3"},
		{name: "AVX without FMA", off: []string{"FMA3", "AVX512F"}, isa: Generic,
			want: "no avx512: the CPU lacks AVX512F; no avx2: the CPU lacks FMA3"},
		{name: "forced generic", isa: Generic, env: Generic, want: "SNN_ISA=generic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The simulated CPU has every feature but tc.off, whatever
			// this host has; only strings are computed, no kernel runs.
			for f, p := range archDetect {
				old := *p
				*p = !slices.Contains(tc.off, f)
				t.Cleanup(func() { *p = old })
			}
			got := why(tc.isa, tc.env)
			if tc.env != "" {
				assert.Contains(t, got, tc.want)
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
