package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// FuzzOptim compares every set's optimizer steps with the generic twin on
// arbitrary bit patterns: data is cut into four arrays (w, g and up to two
// state slices), and the hyper-parameters are arbitrary too.
func FuzzOptim(f *testing.F) {
	var b []byte
	for i := 0; i < 4; i++ {
		for j := range optimSpecials {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(optimSpecials[(i+j)%len(optimSpecials)]))
		}
	}
	f.Add(b, float32(1e-3), float32(0.9), float32(0.999), float32(1e-7), float32(0), float32(0.9), false)
	f.Add(b, float32(1), float32(0.95), float32(0), float32(1e-7), float32(1e-4), float32(0), true)
	f.Add([]byte{}, float32(0), float32(0), float32(0), float32(0), float32(0), float32(0), false)
	f.Add(make([]byte, 4*4*37), float32(1e30), float32(1), float32(1e-40), float32(0), float32(-1), float32(1), true)
	f.Fuzz(func(t *testing.T, data []byte, lr, b1, b2, eps, wd, mom float32, nesterov bool) {
		x := floatsFrom(data)
		n := len(x) / 4
		w, g := x[:n], x[n:2*n]
		s := [][]float32{x[2*n : 3*n], x[3*n : 4*n]}
		h := hyper{lr: lr, b1: b1, b2: b2, eps: eps, wd: wd, mom: mom, nesterov: nesterov}
		for _, ok := range optimKernels {
			c := optimCase{ok, h}
			st := s[:ok.state]
			wantW, wantS := twin(c, w, g, st)
			for _, k := range Sets() {
				gw, gs := clone(w), make([][]float32, len(st))
				for j := range st {
					gs[j] = clone(st[j])
				}
				c.k.step(k.Optim, h, gw, g, gs)
				what := fmt.Sprintf("%s %s n=%d", k.ISA, c, n)
				requireSame(t, what+" w", gw, wantW)
				for j := range gs {
					requireSame(t, fmt.Sprintf("%s state %d", what, j), gs[j], wantS[j])
				}
			}
		}
	})
}
