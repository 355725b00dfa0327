// A plain float32 read loop in C, the kind issue 2 judges Mean against:
// eight AVX-512 accumulators that add what they load, summed at the end
// ("sum"), and, for comparison, a loop of bare loads that adds nothing
// ("loads"). Prints the best of five timings in elements per ns.
//
//   gcc -O2 -mavx512f tools/sumloop.c -o /tmp/sumloop && /tmp/sumloop 4096
//
// Run it next to `go test -run '^$' -bench 'Mean|SumF32|Read' .`.
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

#define ADD(j) s##j = _mm512_add_ps(s##j, _mm512_loadu_ps(x + i + 16 * j))

__attribute__((noinline)) static float sum(const float *x, size_t n) {
	__m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
	for (size_t i = 0; i + 128 <= n; i += 128) {
		ADD(0); ADD(1); ADD(2); ADD(3); ADD(4); ADD(5); ADD(6); ADD(7);
	}
	s0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)),
	                   _mm512_add_ps(_mm512_add_ps(s4, s5), _mm512_add_ps(s6, s7)));
	return _mm512_reduce_add_ps(s0);
}

__attribute__((noinline)) static void loads(const float *x, size_t n) {
	for (size_t i = 0; i + 128 <= n; i += 128)
		__asm__ volatile("vmovups (%0), %%zmm0\n\tvmovups 64(%0), %%zmm1\n\tvmovups 128(%0), %%zmm2\n\tvmovups 192(%0), %%zmm3\n\t"
		                 "vmovups 256(%0), %%zmm4\n\tvmovups 320(%0), %%zmm5\n\tvmovups 384(%0), %%zmm6\n\tvmovups 448(%0), %%zmm7"
		                 :: "r"(x + i) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "memory");
}

int main(int argc, char **argv) {
	size_t n = argc > 1 ? (size_t)atol(argv[1]) : 4096;
	n -= n % 128;
	float *x = aligned_alloc(64, n * sizeof *x);
	for (size_t i = 0; i < n; i++) x[i] = 1000 + (float)(i % 7);
	volatile float sink = 0;
	for (int which = 0; which < 2; which++) {
		double best = 0;
		for (int round = 0; round < 5; round++) {
			for (long reps = 1;; reps *= 2) {
				double t0 = seconds();
				for (long r = 0; r < reps; r++) {
					if (which == 0) sink += sum(x, n);
					else loads(x, n);
				}
				double el = seconds() - t0;
				if (el >= 0.2) {
					double rate = (double)n * reps / el / 1e9;
					if (rate > best) best = rate;
					break;
				}
			}
		}
		printf("%s %zu floats: %.1f elem/ns\n", which == 0 ? "sum" : "loads", n, best);
	}
	return 0;
}
