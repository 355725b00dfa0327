//go:build !linux

package testkit

import "testing"

// Guarded falls back to ordinary slices where guard pages are not set up.
func Guarded(t testing.TB, n int) (endsAtGuard, startsAfterGuard []float32) {
	return make([]float32, n), make([]float32, n)
}
