package gemm

// SplitAnySize lets tests split problems of any size between threads; the
// returned function restores the threshold.
func SplitAnySize() (restore func()) {
	old := minFlopsPerThread
	minFlopsPerThread = 1
	return func() { minFlopsPerThread = old }
}
