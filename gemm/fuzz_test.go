package gemm_test

import (
	"testing"

	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
)

// FuzzSgemm checks random shapes, transposes, strides and scalars on every
// kernel set against the float64 reference.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint16(1), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(13), uint8(33), uint16(17), uint8(3), uint8(2), uint64(2))
	f.Add(uint8(25), uint8(65), uint16(385), uint8(0xff), uint8(1), uint64(3))
	f.Add(uint8(0), uint8(7), uint16(0), uint8(0x15), uint8(0), uint64(4))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, flags, pad uint8, seed uint64) {
		scalars := []float32{0, 1, -1.25}
		alpha := scalars[int(flags>>2)%3]
		beta := scalars[int(flags>>4)%3]
		kk := int(k % 1100)
		for _, ks := range kernels.Sets() {
			rnd := testkit.Rand(seed)
			p := newProblem(t, rnd, flags&1 != 0, flags&2 != 0, int(m), int(n), kk, alpha, beta, int(pad%9), flags&0x40 != 0)
			if !p.check(t, gemm.Options{Kernels: ks, Threads: 1 + int(flags>>7)}) {
				t.Fatalf("set %s", ks.ISA)
			}
		}
	})
}

// FuzzSgemmRows checks SgemmRows on random shapes, runs and scalars, on
// every kernel set, against Sgemm on the same rows copied into a matrix.
func FuzzSgemmRows(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint16(1), uint8(1), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(13), uint8(130), uint16(290), uint8(64), uint8(2), uint8(1), uint64(2))
	f.Add(uint8(25), uint8(65), uint16(30), uint8(7), uint8(3), uint8(0x15), uint64(3))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, width, gap, flags uint8, seed uint64) {
		scalars := []float32{0, 1, -1.25}
		alpha := scalars[int(flags)%3]
		beta := scalars[int(flags>>2)%3]
		w := max(1, int(width))
		for _, ks := range kernels.Sets() {
			rnd := testkit.Rand(seed)
			o := gemm.Options{Kernels: ks, Threads: 1 + int(flags>>7)}
			checkRows(t, o, rnd, int(m), int(n), int(k%700), w, w+int(gap), int(flags>>4)%3, alpha, beta)
		}
	})
}
