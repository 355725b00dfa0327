package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kernelCase is one Kernel call: a packed A micro-panel, B as panels
// (packed, or "in place" with a row stride wider than the panel), C with
// a gap after n columns in each row.
type kernelCase struct {
	kc, m, n, ldb, panel, ldc int
	alpha, beta               float32
}

func (k kernelCase) String() string {
	return fmt.Sprintf("kc=%d m=%d n=%d ldb=%d panel=%d ldc=%d alpha=%g beta=%g",
		k.kc, k.m, k.n, k.ldb, k.panel, k.ldc, k.alpha, k.beta)
}

// runKernel fills the operands (A and B at the end of guarded buffers, C
// at the end of one too), runs g.Kernel and checks every element of C
// against a float64 evaluation, and C's gaps against their old value.
func runKernel(t *testing.T, g *Gemm, k kernelCase, seed uint64) {
	t.Helper()
	r := testkit.Rand(seed)
	panels := (k.n + g.NR - 1) / g.NR
	a, _ := testkit.Guarded(t, k.kc*g.MR)
	b, _ := testkit.Guarded(t, (panels-1)*k.panel+(k.kc-1)*k.ldb+g.NR)
	c, _ := testkit.Guarded(t, (k.m-1)*k.ldc+k.n)
	for i := range a {
		a[i] = 2*r.Float32() - 1
	}
	for i := range b {
		b[i] = 2*r.Float32() - 1
	}
	for i := range c {
		c[i] = 2*r.Float32() - 1
		if k.beta == 0 && i%k.ldc < k.n {
			c[i] = float32(math.NaN())
		}
	}
	old := append([]float32(nil), c...)
	g.Kernel(k.kc, k.m, k.n, a, b, k.ldb, k.panel, c, k.ldc, k.alpha, k.beta)
	for i := 0; i < k.m; i++ {
		for j := 0; j < k.ldc && i*k.ldc+j < len(c); j++ {
			idx := i*k.ldc + j
			if j >= k.n {
				require.Equal(t, math.Float32bits(old[idx]), math.Float32bits(c[idx]), "%v: C[%d][%d] beyond n written", k, i, j)
				continue
			}
			var s, abs float64
			for p := 0; p < k.kc; p++ {
				x := float64(a[p*g.MR+i]) * float64(b[(j/g.NR)*k.panel+p*k.ldb+j%g.NR])
				s += x
				abs += math.Abs(x)
			}
			want := float64(k.alpha) * s
			bound := math.Abs(float64(k.alpha)) * abs
			if k.beta != 0 {
				want += float64(k.beta) * float64(old[idx])
				bound += math.Abs(float64(k.beta) * float64(old[idx]))
			}
			bound *= float64(k.kc+3) * 0x1p-24
			require.InDelta(t, want, c[idx], bound+1e-30, "%v: C[%d][%d]", k, i, j)
		}
	}
}

func TestGemmKernel(t *testing.T) {
	for _, s := range Sets() {
		t.Run(s.ISA, func(t *testing.T) {
			g := &s.Gemm
			require.NotNil(t, g.Kernel)
			require.Positive(t, g.MR)
			require.Positive(t, g.NR)
			require.Zero(t, g.KC%4, "KC keeps packed A panels cache-line aligned")
			seed := uint64(0)
			for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 9, 31} {
				for m := 1; m <= g.MR; m++ {
					for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, g.NR - 1, g.NR, g.NR + 1, 2*g.NR + 3, 3 * g.NR} {
						if n < 1 {
							continue
						}
						seed++
						// Packed B: panels of kc x NR; in place: a row
						// stride wider than all panels.
						packed := kernelCase{kc: kc, m: m, n: n, ldb: g.NR, panel: kc * g.NR, ldc: n + 3, alpha: 1, beta: 1}
						runKernel(t, g, packed, seed)
						inPlace := kernelCase{kc: kc, m: m, n: n, ldb: roundUpTest(n, g.NR) + 5, panel: g.NR, ldc: n, alpha: -0.5, beta: 0}
						runKernel(t, g, inPlace, seed)
					}
				}
			}
			for _, ab := range [][2]float32{{0, 0}, {0, 1}, {1, 0}, {2, 0.5}, {1, -1}} {
				runKernel(t, g, kernelCase{kc: 17, m: g.MR, n: 2*g.NR + 1, ldb: g.NR, panel: 17 * g.NR, ldc: 2*g.NR + 1, alpha: ab[0], beta: ab[1]}, 99)
			}
		})
	}
}

func roundUpTest(x, unit int) int { return (x + unit - 1) / unit * unit }

// TestGemmKernelPositionIndependent checks the contract's order of
// operations: the same row of A and column of B give bit-identical results
// wherever they sit in the tile and whatever m and n are.
func TestGemmKernelPositionIndependent(t *testing.T) {
	for _, s := range Sets() {
		t.Run(s.ISA, func(t *testing.T) {
			g := &s.Gemm
			r := testkit.Rand(7)
			kc := 37
			a := testkit.Uniform(r, kc*g.MR, -1, 1)
			b := testkit.Uniform(r, kc*g.NR, -1, 1)
			c0 := testkit.Uniform(r, g.MR*g.NR, -1, 1)
			full := append([]float32(nil), c0...)
			g.Kernel(kc, g.MR, g.NR, a, b, g.NR, kc*g.NR, full, g.NR, 0.75, 1.25)
			for _, mn := range [][2]int{{1, 1}, {g.MR, 1}, {1, g.NR}, {g.MR - 1, g.NR - 1}} {
				part := append([]float32(nil), c0...)
				g.Kernel(kc, mn[0], mn[1], a, b, g.NR, kc*g.NR, part, g.NR, 0.75, 1.25)
				for i := 0; i < mn[0]; i++ {
					for j := 0; j < mn[1]; j++ {
						assert.Equal(t, math.Float32bits(full[i*g.NR+j]), math.Float32bits(part[i*g.NR+j]), "m=%d n=%d C[%d][%d]", mn[0], mn[1], i, j)
					}
				}
			}
			// The same A row in another tile row gives the same bits.
			shifted := make([]float32, len(a))
			for p := 0; p < kc; p++ {
				for i := 0; i < g.MR; i++ {
					shifted[p*g.MR+i] = a[p*g.MR+(i+1)%g.MR]
				}
			}
			moved := append([]float32(nil), c0[g.NR:]...)
			moved = append(moved, c0[:g.NR]...)
			g.Kernel(kc, g.MR, g.NR, shifted, b, g.NR, kc*g.NR, moved, g.NR, 0.75, 1.25)
			for i := 0; i < g.MR; i++ {
				for j := 0; j < g.NR; j++ {
					src := (i + 1) % g.MR
					require.Equal(t, math.Float32bits(full[src*g.NR+j]), math.Float32bits(moved[i*g.NR+j]), "row %d moved to %d", src, i)
				}
			}
		})
	}
}

func TestGemmKernelShortSlices(t *testing.T) {
	for _, s := range Sets() {
		t.Run(s.ISA, func(t *testing.T) {
			g := &s.Gemm
			kc := 3
			a := make([]float32, kc*g.MR)
			b := make([]float32, kc*g.NR)
			c := make([]float32, g.MR*g.NR)
			assert.Panics(t, func() { g.Kernel(kc, g.MR, g.NR, a[1:], b, g.NR, kc*g.NR, c, g.NR, 1, 0) })
			assert.Panics(t, func() { g.Kernel(kc, g.MR, g.NR, a, b[1:], g.NR, kc*g.NR, c, g.NR, 1, 0) })
			assert.Panics(t, func() { g.Kernel(kc, g.MR, g.NR, a, b, g.NR, kc*g.NR, c[1:], g.NR, 1, 0) })
			assert.Panics(t, func() { g.Kernel(kc, g.MR+1, g.NR, a, b, g.NR, kc*g.NR, c, g.NR, 1, 0) })
			assert.Panics(t, func() { g.Kernel(0, g.MR, g.NR, a, b, g.NR, kc*g.NR, c, g.NR, 1, 0) })
			assert.Panics(t, func() { g.Prefetch(a, len(a)/5+1, 5, 5) })
			assert.NotPanics(t, func() { g.Prefetch(a, 2, 5, len(a)-5) })
			assert.NotPanics(t, func() { g.Prefetch(nil, 0, 5, 5) })
		})
	}
}

func TestGemmPeak(t *testing.T) {
	for _, s := range Sets() {
		t.Run(s.ISA, func(t *testing.T) {
			require.NotNil(t, s.Gemm.Peak)
			require.NotNil(t, s.Gemm.Copy)
			require.NotNil(t, s.Gemm.Transpose)
			require.NotNil(t, s.Gemm.Prefetch)
			require.Positive(t, s.Gemm.PeakFlops)
			s.Gemm.Peak(0)
			s.Gemm.Peak(1000)
		})
	}
}

// BenchmarkGemmKernel runs the micro-kernel on packed data that stays in
// cache, as a fraction of the FMA peak: "block" on one KC x NC block of B
// (the cache model's, most of L2) against one A micro-panel, the ceiling
// for the whole GEMM; "l1" on 16 KiB of B (depth 128), which every L1
// holds, the kernel's own ceiling. Their difference is what streaming B
// from L2 costs the kernel.
func BenchmarkGemmKernel(b *testing.B) {
	for _, s := range Sets() {
		g := &s.Gemm
		for _, c := range []struct {
			name  string
			kc, n int
		}{
			{"block", g.KC, g.NC},
			{"l1", 128, 16 << 10 / 4 / 128},
		} {
			b.Run(s.ISA+"/"+c.name, func(b *testing.B) {
				r := testkit.Rand(1)
				kc, n := c.kc, c.n
				a := testkit.Uniform(r, kc*g.MR, -1, 1)
				bp := testkit.Uniform(r, kc*roundUpTest(n, g.NR), -1, 1)
				cm := make([]float32, g.MR*n)
				peak := PeakGFLOPS(g)
				for b.Loop() {
					g.Kernel(kc, g.MR, n, a, bp, g.NR, kc*g.NR, cm, n, 1, 1)
				}
				peak = max(peak, PeakGFLOPS(g))
				gflops := 2 * float64(g.MR*n*kc) * float64(b.N) / b.Elapsed().Seconds() / 1e9
				b.ReportMetric(gflops, "GFLOP/s")
				b.ReportMetric(100*gflops/peak, "%peak")
			})
		}
	}
}

// BenchmarkGemmKernelRows runs KernelRows as a stride-1 3x3 convolution's
// implicit forward pass calls it (rows of a zero-padded image of 32
// channels at their taps' offsets, a tile of output rows, one chunk of
// the column matrix) and, beside it, Kernel on the same numbers packed:
// what reading B where it lies costs the kernel.
func BenchmarkGemmKernelRows(b *testing.B) {
	const ch, kh, kw = 32, 3, 3
	for _, s := range Sets() {
		g := &s.Gemm
		if g.KernelRows == nil {
			continue
		}
		for _, ow := range []int{64, 28} {
			oh := max(1, 1024/ow)
			wp, hp := ow+kw-1, oh+kh-1
			plane := hp * wp
			r := testkit.Rand(2)
			img := testkit.Uniform(r, ch*plane+g.NR, -1, 1)
			kc := ch * kh * kw / 2 // one chunk: the budget cuts 288 rows in two
			off := make([]int, kc)
			for p := range off {
				c, t := p/(kh*kw), p%(kh*kw)
				off[p] = c*plane + t/kw*wp + t%kw
			}
			n := oh * ow
			a := testkit.Uniform(r, kc*g.MR, -1, 1)
			c := make([]float32, g.MR*n)
			panels := (n + g.NR - 1) / g.NR
			packed := testkit.Uniform(r, kc*panels*g.NR, -1, 1)
			peak := PeakGFLOPS(g)
			for _, v := range []string{"rows", "packed"} {
				b.Run(fmt.Sprintf("%s/%dpx/%s", s.ISA, ow, v), func(b *testing.B) {
					for b.Loop() {
						if v == "rows" {
							g.KernelRows(kc, g.MR, n, a, img, off, ow, wp, c, n, 1, 1)
						} else {
							g.Kernel(kc, g.MR, n, a, packed, g.NR, kc*g.NR, c, n, 1, 1)
						}
					}
					gflops := 2 * float64(g.MR*n*kc) * float64(b.N) / b.Elapsed().Seconds() / 1e9
					b.ReportMetric(gflops, "GFLOP/s")
					b.ReportMetric(100*gflops/peak, "%peak")
				})
			}
		}
	}
}

func TestGemmCopy(t *testing.T) {
	for _, s := range Sets() {
		t.Run(s.ISA, func(t *testing.T) {
			g := &s.Gemm
			r := testkit.Rand(11)
			for _, w := range []int{g.MR, g.NR, 3} {
				for _, kc := range []int{0, 1, 2, 3, 4, 5, 9, 17} {
					for _, n := range []int{0, 1, w - 1, w, w + 1, 3*w - 2, 3 * w} {
						ld := n + 3
						size := 0
						if kc > 0 && n > 0 {
							size = (kc-1)*ld + n
						}
						src, _ := testkit.Guarded(t, size)
						copy(src, testkit.Uniform(r, size, -1, 1))
						panels := (n + w - 1) / w
						dst, _ := testkit.Guarded(t, panels*kc*w)
						for i := range dst {
							dst[i] = float32(math.NaN())
						}
						g.Copy(w, kc, n, dst, src, ld)
						for p := 0; p < kc; p++ {
							for j := 0; j < panels*w; j++ {
								want := float32(0)
								if j < n {
									want = src[p*ld+j]
								}
								got := dst[(j/w)*kc*w+p*w+j%w]
								require.Equal(t, math.Float32bits(want), math.Float32bits(got), "w=%d kc=%d n=%d p=%d j=%d", w, kc, n, p, j)
							}
						}
					}
				}
			}
			assert.Panics(t, func() { g.Copy(g.NR, 2, 2*g.NR, make([]float32, 4*g.NR-1), make([]float32, 10*g.NR), 2*g.NR) })
			assert.Panics(t, func() { g.Copy(g.NR, 2, 2*g.NR, make([]float32, 4*g.NR), make([]float32, 4*g.NR-1), 2*g.NR) })
		})
	}
}

func TestGemmTranspose(t *testing.T) {
	for _, s := range Sets() {
		t.Run(s.ISA, func(t *testing.T) {
			g := &s.Gemm
			r := testkit.Rand(12)
			for _, w := range []int{g.MR, g.NR, 5} {
				for _, kc := range []int{0, 1, 2, 7, 8, 9, 16, 33} {
					for _, rows := range []int{0, 1, w / 2, w - 1, w} {
						for _, pad := range []int{0, 19} {
							ld := kc + pad
							size := 0
							if kc > 0 && rows > 0 {
								size = (rows-1)*ld + kc
							}
							src, _ := testkit.Guarded(t, size)
							copy(src, testkit.Uniform(r, size, -1, 1))
							_, dst := testkit.Guarded(t, kc*w)
							for i := range dst {
								dst[i] = float32(math.NaN())
							}
							g.Transpose(w, kc, rows, dst, src, ld)
							for p := 0; p < kc; p++ {
								for i := 0; i < w; i++ {
									want := float32(0)
									if i < rows {
										want = src[i*ld+p]
									}
									require.Equal(t, math.Float32bits(want), math.Float32bits(dst[p*w+i]), "w=%d kc=%d rows=%d ld=%d p=%d i=%d", w, kc, rows, ld, p, i)
								}
							}
						}
					}
				}
			}
			assert.Panics(t, func() { g.Transpose(g.MR, 4, g.MR, make([]float32, 4*g.MR-1), make([]float32, 100*g.MR), 4) })
			assert.Panics(t, func() { g.Transpose(g.MR, 4, g.MR, make([]float32, 4*g.MR), make([]float32, (g.MR-1)*4+3), 4) })
			assert.Panics(t, func() { g.Transpose(g.MR, 4, g.MR+1, make([]float32, 4*g.MR), make([]float32, 100*g.MR), 4) })
		})
	}
}

// BenchmarkGemmPack reports the packing rate (floats per ns) of whole
// panels from an L2-resident source.
func BenchmarkGemmPack(b *testing.B) {
	for _, s := range Sets() {
		g := &s.Gemm
		r := testkit.Rand(13)
		const kc, ld = 256, 1024
		src := testkit.Uniform(r, kc*ld, -1, 1)
		// Room for a partial last panel: ld is not a multiple of every
		// width (12 with AVX-512).
		dst := make([]float32, kc*(ld+max(g.MR, g.NR)))
		widths := []int{g.MR}
		if g.NR != g.MR {
			widths = append(widths, g.NR)
		}
		for _, w := range widths {
			b.Run(fmt.Sprintf("%s/copy%d", s.ISA, w), func(b *testing.B) {
				for b.Loop() {
					g.Copy(w, kc, ld, dst, src, ld)
				}
				b.ReportMetric(float64(kc*ld)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "floats/ns")
			})
			b.Run(fmt.Sprintf("%s/transpose%d", s.ISA, w), func(b *testing.B) {
				panels := ld / w
				for b.Loop() {
					for q := 0; q < panels; q++ {
						g.Transpose(w, kc, w, dst[q*kc*w:], src[q*w*kc:], kc)
					}
				}
				b.ReportMetric(float64(kc*panels*w)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "floats/ns")
			})
		}
	}
}

// TestGemmKernelRows checks KernelRows against Kernel of the same set on
// the same rows laid out ldb apart: the contract promises the same bits.
// The offsets overlap, go backwards and reach the very end of a guarded b;
// rows are in one run, in runs of one or two panels, in runs cut into
// narrower panels (two of NR-2, or single columns for NR+1), or in runs
// narrower than a panel (each read as a whole panel).
func TestGemmKernelRows(t *testing.T) {
	for _, s := range Sets() {
		t.Run(s.ISA, func(t *testing.T) {
			g := &s.Gemm
			if g.KernelRows == nil {
				t.Skip("no KernelRows: package gemm packs such B")
			}
			seed := uint64(100)
			for _, kc := range []int{1, 3, 4, 5, 8, 13, 40} {
				for _, m := range []int{1, g.MR / 2, g.MR - 1, g.MR} {
					for _, n := range []int{1, 15, 16, 17, g.NR - 1, g.NR, g.NR + 1, 3*g.NR - 2} {
						w := roundUpTest(n, g.NR)
						for _, run := range [][2]int{{w, w}, {g.NR, g.NR + 5}, {2 * g.NR, 2*g.NR + 1}, {2*g.NR - 4, 2*g.NR + 2}, {g.NR + 1, g.NR + 3}, {g.NR - 4, g.NR - 2}, {5, 7}, {1, 2}} {
							seed++
							r := testkit.Rand(seed)
							width, stride := run[0], run[1]
							// The last panel starts at column jl and is read NR wide.
							pw := g.RowsPanel(width)
							jl := (n - 1) / pw * pw
							span := jl/width*stride + jl%width + g.NR
							b, _ := testkit.Guarded(t, span+3*kc+7)
							for i := range b {
								b[i] = 2*r.Float32() - 1
							}
							off := make([]int, kc)
							for p := range off {
								off[p] = r.IntN(len(b) - span + 1)
							}
							off[kc-1] = len(b) - span // the last readable window
							ldb := w + 5
							strided := make([]float32, kc*ldb)
							for p, o := range off {
								for j := 0; j < n; j++ {
									strided[p*ldb+j] = b[o+j/width*stride+j%width]
								}
							}
							a := testkit.Uniform(r, kc*g.MR, -1, 1)
							ldc := n + 2
							c0 := testkit.Uniform(r, (m-1)*ldc+n, -1, 1)
							for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-1, 2}} {
								want := append([]float32(nil), c0...)
								g.Kernel(kc, m, n, a, strided, ldb, g.NR, want, ldc, ab[0], ab[1])
								got := append([]float32(nil), c0...)
								g.KernelRows(kc, m, n, a, b, off, width, stride, got, ldc, ab[0], ab[1])
								for i := range want {
									require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]),
										"kc=%d m=%d n=%d runs %d/%d alpha=%g beta=%g: c[%d] = %g, Kernel gives %g",
										kc, m, n, width, stride, ab[0], ab[1], i, got[i], want[i])
								}
							}
						}
					}
				}
			}
			nr := g.NR
			b := make([]float32, 3*nr)
			a := make([]float32, 2*g.MR)
			c := make([]float32, g.MR*2*nr)
			assert.Panics(t, func() { g.KernelRows(2, g.MR, nr, a, b, []int{0}, nr, nr, c, nr, 1, 0) }, "short table")
			assert.Panics(t, func() { g.KernelRows(2, g.MR, nr, a, b, []int{0, 2*nr + 1}, nr, nr, c, nr, 1, 0) }, "window past b")
			assert.Panics(t, func() { g.KernelRows(2, g.MR, nr, a, b, []int{-1, 0}, nr, nr, c, nr, 1, 0) }, "negative offset")
			assert.Panics(t, func() { g.KernelRows(2, g.MR, nr, a[1:], b, []int{0, 0}, nr, nr, c, nr, 1, 0) }, "short a")
			assert.Panics(t, func() { g.KernelRows(2, g.MR, 2*nr, a, b, []int{0, nr}, nr, nr+1, c, 2*nr, 1, 0) }, "second run past b (fits with stride nr)")
			assert.Panics(t, func() { g.KernelRows(2, g.MR, nr, a, b, []int{0, 0}, 0, 1, c, nr, 1, 0) }, "width 0")
			// A run of 2*NR-4 is two panels of NR-2; the second, at NR-2,
			// is read NR wide, to 2*NR-3.
			assert.Panics(t, func() { g.KernelRows(2, g.MR, 2*nr-4, a, b, []int{0, nr + 3}, 2*nr-4, 2*nr-4, c, 2*nr, 1, 0) }, "cut runs: last panel read NR wide past b")
			assert.NotPanics(t, func() { g.KernelRows(2, g.MR, 2*nr-4, a, b, []int{0, nr + 2}, 2*nr-4, 2*nr-4, c, 2*nr, 1, 0) })
			assert.Panics(t, func() { g.KernelRows(2, g.MR, nr, a, b, []int{0, 2*nr + 1}, 5, 6, c, nr, 1, 0) }, "narrow runs: last panel read NR wide past b")
			assert.NotPanics(t, func() { g.KernelRows(2, g.MR, nr, a, b, []int{0, 0}, 5, 6, c, nr, 1, 0) })
			assert.Panics(t, func() { g.KernelRows(2, g.MR, nr, a, b, []int{0, 0}, nr, nr-1, c, nr, 1, 0) }, "stride < width")
			assert.NotPanics(t, func() { g.KernelRows(2, g.MR, 2*nr, a, b, []int{0, 0}, nr, 2*nr, c, 2*nr, 1, 0) })
		})
	}
}

// TestGemmKernelA checks KernelA against Kernel of the same set on the same
// A packed: the contract promises the same bits. A's rows end at a guard
// page (the kernel must read exactly m rows of kc), B is packed or in place.
func TestGemmKernelA(t *testing.T) {
	for _, s := range Sets() {
		t.Run(s.ISA, func(t *testing.T) {
			g := &s.Gemm
			if g.KernelA == nil {
				t.Skip("no KernelA: package gemm packs A")
			}
			seed := uint64(200)
			for _, kc := range []int{1, 3, 4, 5, 8, 13, 64} {
				for m := g.MR / 3; m <= g.MR; m += g.MR / 3 {
					for _, n := range []int{1, 15, 16, 17, g.NR, g.NR + 1, 2 * g.NR} {
						seed++
						r := testkit.Rand(seed)
						lda := kc + 3
						a, _ := testkit.Guarded(t, (m-1)*lda+kc)
						copy(a, testkit.Uniform(r, len(a), -1, 1))
						packed := make([]float32, kc*g.MR)
						for p := 0; p < kc; p++ {
							for i := 0; i < m; i++ {
								packed[p*g.MR+i] = a[i*lda+p]
							}
						}
						w := roundUpTest(n, g.NR)
						ldb := w + 5
						b := testkit.Uniform(r, (kc-1)*ldb+w, -1, 1)
						ldc := n + 1
						c0 := testkit.Uniform(r, (m-1)*ldc+n, -1, 1)
						for _, ab := range [][2]float32{{1, 0}, {0.5, 1}} {
							want := append([]float32(nil), c0...)
							g.Kernel(kc, m, n, packed, b, ldb, g.NR, want, ldc, ab[0], ab[1])
							got := append([]float32(nil), c0...)
							g.KernelA(kc, m, n, a, lda, b, ldb, g.NR, got, ldc, ab[0], ab[1])
							for i := range want {
								require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]),
									"kc=%d m=%d n=%d: c[%d] = %g, Kernel gives %g", kc, m, n, i, got[i], want[i])
							}
						}
					}
				}
			}
			a := make([]float32, 3*g.MR)
			b := make([]float32, 3*g.NR)
			c := make([]float32, g.MR*g.NR)
			assert.Panics(t, func() { g.KernelA(3, g.MR/3+1, g.NR, a, 3, b, g.NR, g.NR, c, g.NR, 1, 0) }, "m not a variant's height")
			assert.Panics(t, func() { g.KernelA(3, g.MR, g.NR, a[1:], 3, b, g.NR, g.NR, c, g.NR, 1, 0) }, "short a")
			assert.Panics(t, func() { g.KernelA(3, g.MR, g.NR, a, 2, b, g.NR, g.NR, c, g.NR, 1, 0) }, "lda < kc")
			assert.NotPanics(t, func() { g.KernelA(3, g.MR, g.NR, a, 3, b, g.NR, g.NR, c, g.NR, 1, 0) })
		})
	}
}

func TestRowsPanel(t *testing.T) {
	for _, tc := range []struct{ nr, width, want int }{
		{16, 1, 1},
		{16, 14, 14},
		{16, 16, 16},
		{16, 28, 14}, // two panels
		{16, 32, 16},
		{16, 17, 1}, // prime: single columns
		{16, 33, 11},
		{16, 40, 10}, // 3 does not divide 40, 4 does
		{16, 64, 16},
		{32, 28, 28},
		{32, 56, 28},
		{32, 64, 32},
		{32, 96, 32},
		{32, 60, 30},
		{16, math.MaxInt, 7}, // 2^63-1 = 7^2 * 73 * ...: no long search
		{16, 1<<61 - 1, 1},   // a Mersenne prime
	} {
		g := &Gemm{NR: tc.nr}
		assert.Equal(t, tc.want, g.RowsPanel(tc.width), "NR %d, width %d", tc.nr, tc.width)
	}
}

func TestUnpackedA(t *testing.T) {
	kernelA := func(kc, m, n int, a []float32, lda int, b []float32, ldb, panel int, c []float32, ldc int, alpha, beta float32) {
	}
	for _, tc := range []struct {
		nr, n   int
		kernelA bool
		want    bool
	}{
		{16, 32, true, true},
		{16, 128, true, true},
		{16, 129, true, false},
		{16, 256, true, false},
		{32, 256, true, true},
		{32, 257, true, false},
		{16, 32, false, false}, // no KernelA: A is packed
	} {
		g := &Gemm{NR: tc.nr}
		if tc.kernelA {
			g.KernelA = kernelA
		}
		assert.Equal(t, tc.want, g.UnpackedA(tc.n), "NR %d, n %d, KernelA %v", tc.nr, tc.n, tc.kernelA)
	}
}

// TestGemmKernelNext checks KernelNext against Kernel of the same set and
// against the scalar twin (kernelTwin): the same bits for every stream (none, one row, rows wider than a line,
// unaligned, longer than the call can prefetch), and a clear panic for a
// region that does not fit in next.
func TestGemmKernelNext(t *testing.T) {
	for _, s := range Sets() {
		g := &s.Gemm
		if g.KernelNext == nil {
			continue
		}
		t.Run(s.ISA, func(t *testing.T) {
			seed := uint64(40)
			for _, kc := range []int{1, 3, 4, 5, 8, 17, 64} {
				for _, m := range []int{1, g.MR - 1, g.MR} {
					for _, n := range []int{1, g.NR - 1, g.NR + 1, 3 * g.NR} {
						for _, st := range []struct{ rows, cols, ld int }{{0, 0, 0}, {1, 1, 1}, {3, 16, 21}, {9, 40, 40}, {200, 33, 50}} {
							seed++
							r := testkit.Rand(seed)
							panels := (n + g.NR - 1) / g.NR
							a := testkit.Uniform(r, kc*g.MR, -1, 1)
							b := testkit.Uniform(r, panels*kc*g.NR, -1, 1)
							ldc := n + 3
							c0 := testkit.Uniform(r, (m-1)*ldc+n, -1, 1)
							// The region starts one float into its slice: unaligned.
							next := testkit.Uniform(r, 1+max(0, (st.rows-1)*st.ld+st.cols), -1, 1)[1:]
							if st.rows == 0 {
								next = next[:0]
							}
							want := append([]float32(nil), c0...)
							g.Kernel(kc, m, n, a, b, g.NR, kc*g.NR, want, ldc, 0.5, 1.5)
							got := append([]float32(nil), c0...)
							g.KernelNext(kc, m, n, a, b, g.NR, kc*g.NR, got, ldc, 0.5, 1.5, next, st.rows, st.cols, st.ld)
							for i := range want {
								require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]),
									"kc=%d m=%d n=%d stream %v: c[%d] = %g, Kernel gives %g", kc, m, n, st, i, got[i], want[i])
							}
							twin := kernelTwin(g, kc, m, n, a, func(p, j int) float32 { return b[j/g.NR*kc*g.NR+p*g.NR+j%g.NR] }, c0, ldc, 0.5, 1.5)
							for i := range twin {
								require.Equal(t, math.Float32bits(twin[i]), math.Float32bits(got[i]),
									"kc=%d m=%d n=%d stream %v: c[%d] = %g, the scalar twin gives %g", kc, m, n, st, i, got[i], twin[i])
							}
						}
					}
				}
			}
			a := make([]float32, 4*g.MR)
			b := make([]float32, 4*g.NR)
			c := make([]float32, g.MR*g.NR)
			next := make([]float32, 100)
			assert.Panics(t, func() { g.KernelNext(4, g.MR, g.NR, a, b, g.NR, 4*g.NR, c, g.NR, 1, 0, next, 2, 41, 60) }, "region past next")
			assert.Panics(t, func() { g.KernelNext(4, g.MR, g.NR, a, b, g.NR, 4*g.NR, c, g.NR, 1, 0, next, 2, 30, 20) }, "rows overlapping")
			assert.Panics(t, func() { g.KernelNext(4, g.MR, g.NR, a, b, g.NR, 4*g.NR, c, g.NR, 1, 0, next, -1, 3, 3) }, "negative rows")
			assert.Panics(t, func() { g.KernelNext(4, g.MR, g.NR, a, b[1:], g.NR, 4*g.NR, c, g.NR, 1, 0, next, 0, 0, 0) }, "short b")
			assert.NotPanics(t, func() { g.KernelNext(4, g.MR, g.NR, a, b, g.NR, 4*g.NR, c, g.NR, 1, 0, next, 2, 40, 60) }, "region up to next's end")
		})
	}
}

// TestGemmKernelPack checks KernelPack against Kernel on the panels Copy
// packs and against the scalar twin (kernelTwin): the same bits in C, and dst holding exactly Copy's panels; B in
// place at unaligned starts and strides, the last row ending at the end
// of its buffer.
func TestGemmKernelPack(t *testing.T) {
	for _, s := range Sets() {
		g := &s.Gemm
		if g.KernelPack == nil {
			continue
		}
		t.Run(s.ISA, func(t *testing.T) {
			seed := uint64(90)
			for _, kc := range []int{1, 3, 4, 5, 8, 17, 64} {
				for _, m := range []int{1, 2, g.MR - 1, g.MR} {
					for _, n := range []int{g.NR, 2 * g.NR, 5 * g.NR} {
						for _, extra := range []int{0, 1, 7} {
							seed++
							r := testkit.Rand(seed)
							ldb := n + extra
							// B starts 3 floats into its buffer and its last row ends at
							// the buffer's end.
							buf := testkit.Uniform(r, 3+(kc-1)*ldb+n, -1, 1)
							b := buf[3:]
							a := testkit.Uniform(r, kc*g.MR, -1, 1)
							ldc := n + 1
							c0 := testkit.Uniform(r, (m-1)*ldc+n, -1, 1)
							packed := make([]float32, kc*n)
							g.Copy(g.NR, kc, n, packed, b, ldb)
							for _, ab := range [][2]float32{{1, 0}, {-0.5, 2}} {
								want := append([]float32(nil), c0...)
								g.Kernel(kc, m, n, a, packed, g.NR, kc*g.NR, want, ldc, ab[0], ab[1])
								got := append([]float32(nil), c0...)
								dst := testkit.Uniform(r, kc*n+1, -1, 1)
								last := dst[kc*n]
								g.KernelPack(kc, m, n, a, b, ldb, dst[:kc*n], got, ldc, ab[0], ab[1])
								for i := range want {
									require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]),
										"kc=%d m=%d n=%d ldb=%d: c[%d] = %g, Kernel gives %g", kc, m, n, ldb, i, got[i], want[i])
								}
								for i := range packed {
									require.Equal(t, math.Float32bits(packed[i]), math.Float32bits(dst[i]),
										"kc=%d m=%d n=%d ldb=%d: dst[%d] = %g, Copy gives %g", kc, m, n, ldb, i, dst[i], packed[i])
								}
								require.Equal(t, math.Float32bits(last), math.Float32bits(dst[kc*n]), "kc=%d m=%d n=%d: written past dst", kc, m, n)
								twin := kernelTwin(g, kc, m, n, a, func(p, j int) float32 { return b[p*ldb+j] }, c0, ldc, ab[0], ab[1])
								for i := range twin {
									require.Equal(t, math.Float32bits(twin[i]), math.Float32bits(got[i]),
										"kc=%d m=%d n=%d ldb=%d: c[%d] = %g, the scalar twin gives %g", kc, m, n, ldb, i, got[i], twin[i])
								}
							}
						}
					}
				}
			}
			nr := g.NR
			a := make([]float32, 4*g.MR)
			b := make([]float32, 3*nr+4*2*nr)
			c := make([]float32, g.MR*2*nr)
			dst := make([]float32, 4*2*nr)
			assert.Panics(t, func() { g.KernelPack(4, g.MR, nr+1, a, b, 2*nr, dst, c, 2*nr, 1, 0) }, "partial panel")
			assert.Panics(t, func() { g.KernelPack(4, g.MR, 2*nr, a, b, nr, dst, c, 2*nr, 1, 0) }, "ldb < n")
			assert.Panics(t, func() { g.KernelPack(4, g.MR, 2*nr, a, b, 2*nr, dst[1:], c, 2*nr, 1, 0) }, "short dst")
			assert.Panics(t, func() { g.KernelPack(4, g.MR, 2*nr, a, b[:3*2*nr+2*nr-1], 2*nr, dst, c, 2*nr, 1, 0) }, "short b")
			assert.Panics(t, func() { g.KernelPack(4, g.MR+1, 2*nr, a, b, 2*nr, dst, c, 2*nr, 1, 0) }, "m > MR")
			assert.NotPanics(t, func() { g.KernelPack(4, g.MR, 2*nr, a, b[:3*2*nr+2*nr], 2*nr, dst, c, 2*nr, 1, 0) })
		})
	}
}

// kernelTwin is Kernel's contract written out in scalar Go, element by
// element: one fused multiply-add per depth step from zero, then alpha*acc
// (beta == 0) or alpha*acc + beta*C, fused. The assembly kernels give its
// bits exactly.
func kernelTwin(g *Gemm, kc, m, n int, a []float32, b func(p, j int) float32, c0 []float32, ldc int, alpha, beta float32) []float32 {
	c := append([]float32(nil), c0...)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc float32
			for p := 0; p < kc; p++ {
				acc = fmaf(a[p*g.MR+i], b(p, j), acc)
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * acc
			} else {
				c[i*ldc+j] = fmaf(alpha, acc, beta*c[i*ldc+j])
			}
		}
	}
	return c
}
