package kernels

// Act holds the element-wise and reduction kernels behind package act.
//
// Element-wise kernels read len(x) elements and write as many to dst; dst
// may be x itself. They panic (a Go bounds check, before any assembly
// runs) when an output is shorter than x.
type Act struct {
	// Sum returns the sum of x: float32 vector partials of at most 128
	// terms, combined in float64.
	Sum func(x []float32) float64
	// Moments returns the sums of x[i]-shift and (x[i]-shift)^2, blocked
	// like Sum. A shift near the mean keeps the variance well conditioned.
	Moments func(x []float32, shift float32) (s1, s2 float64)
	// Affine sets x[i] = a*x[i] + b with one rounding.
	Affine func(x []float32, a, b float32)

	// Read and Copy are the bandwidth ceilings benchmarks compare with:
	// Read loads x and discards it; Copy writes x to dst.
	Read func(x []float32)
	Copy func(dst, x []float32)
}
