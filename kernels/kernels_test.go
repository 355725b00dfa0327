package kernels

import (
	"os"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequiredISA makes CI fail when it meant to test an assembly path but
// dispatch quietly chose another one.
func TestRequiredISA(t *testing.T) {
	want := os.Getenv("SNN_REQUIRE_ISA")
	if want == "" {
		t.Skip("SNN_REQUIRE_ISA not set")
	}
	require.Equal(t, want, ISA(), "dispatch chose %s, CI asked for %s", ISA(), want)
}

func TestSetsEndWithReference(t *testing.T) {
	sets := Sets()
	require.NotEmpty(t, sets)
	assert.Equal(t, Active(), sets[0])
	assert.Equal(t, Generic, sets[len(sets)-1].ISA)
	assert.Equal(t, Reference(), sets[len(sets)-1])
	if env := os.Getenv(EnvISA); env != "" {
		assert.Equal(t, env, ISA())
	}
}

func TestChoose(t *testing.T) {
	sets := []*Set{{ISA: AVX512}, {ISA: AVX2}, {ISA: Generic}}
	for _, tc := range []struct {
		env   string
		first string
		n     int
		err   string
	}{
		{env: "", first: AVX512, n: 3},
		{env: AVX512, first: AVX512, n: 3},
		{env: AVX2, first: AVX2, n: 2},
		{env: Generic, first: Generic, n: 1},
		{env: NEON, err: "cannot run neon"},
		{env: "sse", err: `SNN_ISA="sse" is not an instruction set`},
	} {
		t.Run(tc.env, func(t *testing.T) {
			got, err := choose(sets, tc.env)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.first, got[0].ISA)
			assert.Len(t, got, tc.n)
		})
	}
}

// TestEverySetIsComplete: a family forgotten in one set's constructor
// leaves nil functions there, which only a call on that CPU would reveal.
// Only the functions documented as optional may be nil.
func TestEverySetIsComplete(t *testing.T) {
	optional := map[string]bool{"Gemm.KernelRows": true, "Gemm.KernelA": true, "Gemm.KernelNext": true, "Gemm.KernelPack": true}
	for _, k := range append(Sets(), Reference()) {
		v := reflect.ValueOf(*k)
		for i := 0; i < v.NumField(); i++ {
			fam := v.Field(i)
			if fam.Kind() != reflect.Struct {
				continue
			}
			for j := 0; j < fam.NumField(); j++ {
				f := fam.Field(j)
				name := v.Type().Field(i).Name + "." + fam.Type().Field(j).Name
				if f.Kind() == reflect.Func && !optional[name] {
					assert.False(t, f.IsNil(), "%s: %s.%s is nil", k.ISA, v.Type().Field(i).Name, fam.Type().Field(j).Name)
				}
			}
		}
	}
}
