package kernels

import (
	"math"
	"sync/atomic"
)

func actGeneric() Act {
	return Act{
		SELU:     seluGeneric,
		SELUGrad: seluGradGeneric,
		ReLU:     reluGeneric,
		ReLUGrad: reluGradGeneric,
		Exp:      expGeneric,
		Sum:      sumGeneric,
		Moments:  momentsGeneric,
		Affine:   affineGeneric,
		Add:      addGeneric,
	}
}

func benchGeneric() Bench {
	return Bench{SumF32: sumF32Generic, Read: readGeneric, Copy: copyGeneric}
}

// sumGeneric adds in float64: in scalar code it costs what float32 costs.
// Two accumulators break the dependency chain.
func sumGeneric(x []float32) float64 {
	var s0, s1 float64
	for len(x) >= 2 {
		s0 += float64(x[0])
		s1 += float64(x[1])
		x = x[2:]
	}
	if len(x) == 1 {
		s0 += float64(x[0])
	}
	return s0 + s1
}

// sumF32Generic is the plain float32 loop, one accumulator.
func sumF32Generic(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

func momentsGeneric(x []float32, shift float32) (s1, s2 float64) {
	sh := float64(shift)
	for _, v := range x {
		d := float64(v) - sh
		s1 += d
		s2 += d * d
	}
	return s1, s2
}

func affineGeneric(x []float32, a, b float32) {
	for i, v := range x {
		x[i] = fmaf(a, v, b)
	}
}

func addGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] += v
	}
}

// readSink keeps readGeneric's loads from being optimized away.
var readSink atomic.Uint32

func readGeneric(x []float32) {
	var m float32
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	readSink.Store(math.Float32bits(m))
}

func copyGeneric(dst, x []float32) { copy(dst[:len(x)], x) }
