// Package gonumblas makes gonum's float32 BLAS run its matrix
// multiplications on snn's GEMM:
//
//	blas32.Use(gonumblas.Implementation{})
//
// after which blas32.Gemm (and everything in gonum built on it) calls
// gemm.Sgemm: packed, cache-blocked, AVX-512/AVX2 micro-kernels, parallel
// across cores. Every other routine is gonum's own pure-Go one.
//
// It lives apart from package gemm so that plain gemm users do not import
// gonum.
package gonumblas

import (
	"fmt"

	"github.com/snnkit/snn/gemm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Implementation is gonum's BLAS with Sgemm replaced by snn's. The zero
// value uses gemm's defaults (all of GOMAXPROCS, the best kernels).
type Implementation struct {
	gonum.Implementation
	// Options applies to every Sgemm call, e.g. Options{Threads: 1}
	// for callers that parallelize themselves.
	Options gemm.Options
}

var _ blas.Float32 = Implementation{}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices
// (gonum's convention) with gemm.Sgemm. blas.ConjTrans is blas.Trans for
// real matrices. Bad arguments panic, naming the argument.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	impl.Options.Sgemm(trans("tA", tA), trans("tB", tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func trans(name string, t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic(fmt.Sprintf("blas: illegal transpose: %s = %q", name, byte(t)))
}
