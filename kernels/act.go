package kernels

// Act holds the element-wise and reduction kernels behind package act.
//
// Element-wise kernels read len(x) elements and write as many to dst; dst
// may be x itself. They panic (a Go bounds check, before any assembly
// runs) when an output is shorter than x.
type Act struct {
	// SELU sets dst[i] = lambda*x[i] for x[i] >= 0 (and -0, NaN) and
	// lambda*alpha*expm1(x[i]) for x[i] < 0.
	SELU func(dst, x []float32)
	// SELUGrad sets dx[i] = dy[i]*lambda where y[i] > 0 and
	// dy[i]*(y[i] + lambda*alpha) elsewhere, y being SELU's output.
	SELUGrad func(dx, dy, y []float32)
	// ReLU sets dst[i] = max(x[i], 0); NaN and -0 pass unchanged.
	ReLU func(dst, x []float32)
	// ReLUGrad sets dx[i] = dy[i] where y[i] > 0, else 0.
	ReLUGrad func(dx, dy, y []float32)
	// Exp sets dst[i] = e^x[i]: +Inf above ~88.72, 0 below ~-103.97,
	// subnormal results in between, NaN through.
	Exp func(dst, x []float32)

	// Sum returns the sum of x: float32 vector partials of at most 128
	// terms, combined in float64.
	Sum func(x []float32) float64
	// Moments returns the sums of x[i]-shift and (x[i]-shift)^2, blocked
	// like Sum. A shift near the mean keeps the variance well conditioned.
	Moments func(x []float32, shift float32) (s1, s2 float64)
	// Affine sets x[i] = a*x[i] + b with one rounding.
	Affine func(x []float32, a, b float32)
	// Add sets dst[i] += x[i], one rounding each: bit for bit the scalar
	// loop.
	Add func(dst, x []float32)
}

// Bench holds the yardsticks that benchmarks measure the kernels of Act
// against, in the same instruction set. No library code calls them.
type Bench struct {
	// SumF32 returns the sum of x accumulated in float32 only, as a plain
	// vector loop does (one accumulator in the generic set): what Sum's
	// speed is judged against and what its blocking is more accurate than.
	SumF32 func(x []float32) float32
	// Read and Copy are the memory bandwidth ceilings: Read loads x and
	// discards it; Copy writes x to dst.
	Read func(x []float32)
	Copy func(dst, x []float32)
}
