package kernels

import (
	"encoding/binary"
	"math"
	"testing"
)

// floatsFrom reinterprets fuzzer bytes as float32 values, so the fuzzer
// reaches every bit pattern: NaN payloads, subnormals, infinities.
func floatsFrom(data []byte) []float32 {
	x := make([]float32, len(data)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return x
}

func seedFloats(f *testing.F) {
	var b []byte
	for _, v := range specials {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add(make([]byte, 4*33))
	f.Add([]byte{0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0xff, 1, 0, 0, 0x80})
}

// FuzzElementwise compares every kernel set with the generic twin on
// arbitrary bit patterns, split at an arbitrary point into x and dy.
func FuzzElementwise(f *testing.F) {
	seedFloats(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		x := floatsFrom(data)
		dy := make([]float32, len(x))
		for i := range dy {
			dy[i] = x[len(x)-1-i]
		}
		ref := Reference().Act
		n := len(x)
		want, got := make([]float32, n), make([]float32, n)
		for _, k := range Sets() {
			for _, uk := range unaryKernels {
				uk.get(Reference())(want, x)
				uk.get(k)(got, x)
				for i := range x {
					sameAsTwin(t, k.ISA+" "+uk.name, got[i], want[i])
				}
			}
			ref.SELUGrad(want, dy, x)
			k.Act.SELUGrad(got, dy, x)
			for i := range x {
				sameAsTwin(t, k.ISA+" SELUGrad", got[i], want[i])
			}
			ref.ReLUGrad(want, dy, x)
			k.Act.ReLUGrad(got, dy, x)
			for i := range x {
				sameAsTwin(t, k.ISA+" ReLUGrad", got[i], want[i])
			}
			copy(want, dy)
			copy(got, dy)
			ref.Add(want, x)
			k.Act.Add(got, x)
			for i := range x {
				sameAsTwin(t, k.ISA+" Add", got[i], want[i])
			}
		}
	})
}

// FuzzSum checks the blocked sums and the plain float32 sums of every set
// against a float64 sum on arbitrary finite data.
func FuzzSum(f *testing.F) {
	seedFloats(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		x := floatsFrom(data)
		var exact, abs float64
		for i, v := range x {
			if v != v || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1e30 {
				x[i] = 1 // keep the sum finite: overflow is not what this checks
				v = 1
			}
			exact += float64(v)
			abs += math.Abs(float64(v))
		}
		for _, k := range Sets() {
			got := k.Act.Sum(x)
			if d := math.Abs(got - exact); d > 128*abs*0x1p-24+1e-37 {
				t.Fatalf("%s: Sum = %v, exact %v, n=%d", k.ISA, got, exact, len(x))
			}
			f32 := float64(k.Bench.SumF32(x))
			if d := math.Abs(f32 - exact); d > float64(len(x)+1)*abs*0x1p-24+1e-37 {
				t.Fatalf("%s: SumF32 = %v, exact %v, n=%d", k.ISA, f32, exact, len(x))
			}
		}
	})
}
