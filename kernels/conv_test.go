package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/require"
)

// shiftWant is Shift's definition, index by index.
func shiftWant(src []float32, rows, w, stride, shift, lo, hi int) []float32 {
	out := make([]float32, rows*w)
	for s := 0; s < rows; s++ {
		for i := lo; i < hi; i++ {
			out[s*w+i] = src[s*stride+i+shift]
		}
	}
	return out
}

// shiftCase is one Shift call; srcLen is the least src that holds it.
type shiftCase struct{ rows, w, stride, shift, lo, hi int }

func (c shiftCase) srcLen() (first, end int) {
	if c.rows == 0 || c.lo == c.hi {
		return 0, 0
	}
	return c.lo + c.shift, (c.rows-1)*c.stride + c.hi + c.shift
}

func shiftCases() []shiftCase {
	r := testkit.Rand(31)
	var cs []shiftCase
	for _, w := range append(testkit.Lengths(40), 47, 48, 49, 63, 64, 65, 100, 257) {
		for _, rows := range []int{0, 1, 2, 5} {
			// Padding on the left, the right, both, none, and all of it.
			for _, lh := range [][2]int{{0, w}, {min(1, w), w}, {0, max(0, w-1)}, {min(2, w), max(min(2, w), w-2)}, {0, 0}, {w / 2, w / 2}} {
				lo, hi := lh[0], lh[1]
				for _, shift := range []int{-lo, -1, 0, 1, 3} {
					if lo+shift < 0 {
						continue
					}
					stride := w + r.IntN(3) - 1
					cs = append(cs, shiftCase{rows, w, max(stride, 0), shift, lo, hi})
				}
			}
		}
	}
	return cs
}

// TestShift runs every set against the definition with src and dst ending
// at, and starting after, a guard page, so a lane that reads or writes
// outside what the call may touch faults.
func TestShift(t *testing.T) {
	r := testkit.Rand(32)
	for _, k := range Sets() {
		t.Run(k.ISA, func(t *testing.T) {
			for _, c := range shiftCases() {
				first, end := c.srcLen()
				base := testkit.Uniform(r, end-first, -1, 1)
				want := shiftWant(append(make([]float32, first), base...), c.rows, c.w, c.stride, c.shift, c.lo, c.hi)
				srcEnd, srcStart := testkit.Guarded(t, end-first)
				dstEnd, dstStart := testkit.Guarded(t, c.rows*c.w)
				for _, pair := range [][2][]float32{{srcEnd, dstEnd}, {srcStart, dstStart}} {
					src, dst := pair[0], pair[1]
					copy(src, base)
					for i := range dst {
						dst[i] = float32(math.NaN())
					}
					// src[first] is the first float read: hand the kernel a
					// slice that starts first floats earlier. Guarded memory
					// before it is never touched, so shift the indices
					// instead when first > 0.
					c2 := c
					c2.shift -= first
					k.Conv.Shift(dst, src, c2.rows, c2.w, c2.stride, c2.shift, c2.lo, c2.hi)
					for i := range want {
						if math.Float32bits(want[i]) != math.Float32bits(dst[i]) {
							require.Failf(t, "Shift", "%+v: dst[%d] = %v, want %v", c, i, dst[i], want[i])
						}
					}
				}
			}
		})
	}
}

func TestShiftChecks(t *testing.T) {
	src, dst := make([]float32, 10), make([]float32, 12)
	for _, tc := range []struct {
		c    shiftCase
		dst  []float32
		want string
	}{
		{shiftCase{1, 4, 4, 0, 3, 2}, dst, "need 0 <= lo <= hi <= w"},
		{shiftCase{1, 4, 4, 0, 0, 5}, dst, "need 0 <= lo <= hi <= w"},
		{shiftCase{-1, 4, 4, 0, 0, 4}, dst, "negative"},
		{shiftCase{2, 4, -1, 0, 0, 4}, dst, "stride = -1"},
		{shiftCase{4, 4, 4, 0, 0, 4}, dst, "len(dst) = 12 < rows*w"},
		{shiftCase{3, 4, 4, -1, 0, 4}, dst, "reads src[-1]"},
		{shiftCase{3, 4, 4, 0, 0, 4}, dst, "reads src[0] to src[11], len(src) = 10"},
	} {
		for _, k := range Sets() {
			msg := func() (m string) {
				defer func() { m = fmt.Sprint(recover()) }()
				c := tc.c
				k.Conv.Shift(tc.dst, src, c.rows, c.w, c.stride, c.shift, c.lo, c.hi)
				return
			}()
			require.Contains(t, msg, tc.want, "%s %+v", k.ISA, tc.c)
		}
	}
}

// TestGather runs every set against the definition, with indices inside,
// just past and far outside the plane, on one plane and on several, with
// src and dst against guard pages.
func TestGather(t *testing.T) {
	r := testkit.Rand(33)
	for _, k := range Sets() {
		t.Run(k.ISA, func(t *testing.T) {
			for _, w := range append(testkit.Lengths(40), 63, 64, 65, 200) {
				for _, rows := range []int{0, 1, 3} {
					for _, n := range []int{0, 1, 9, 100} {
						for _, planes := range []int{1, 3} {
							gatherCase(t, r, k, w, rows, n, planes)
						}
					}
				}
			}
		})
	}
}

func gatherCase(t *testing.T, r *rand.Rand, k *Set, w, rows, n, planes int) {
	ld := w + r.IntN(4)
	idx := make([]int32, rows*w)
	for i := range idx {
		switch r.IntN(8) {
		case 0:
			idx[i] = -1
		case 1:
			idx[i] = int32(n + r.IntN(3)) // just past the plane
		case 2:
			idx[i] = math.MinInt32 + int32(r.IntN(3))
		case 3:
			idx[i] = math.MaxInt32 - int32(r.IntN(3))
		default:
			if n > 0 {
				idx[i] = int32(r.IntN(n))
			}
		}
	}
	base := testkit.Uniform(r, planes*n, -1, 1)
	dlen := 0
	if rows > 0 && w > 0 {
		dlen = (planes*rows-1)*ld + w
	}
	srcEnd, srcStart := testkit.Guarded(t, planes*n)
	if n == 0 {
		// An empty Guarded slice points at readable memory; a nil one
		// faults on any read, as an empty plane must never be read.
		srcEnd = nil
	}
	dstEnd, dstStart := testkit.Guarded(t, dlen)
	for _, pair := range [][2][]float32{{srcEnd, dstEnd}, {srcStart, dstStart}} {
		src, dst := pair[0], pair[1]
		copy(src, base)
		for i := range dst {
			dst[i] = float32(math.Inf(1))
		}
		k.Conv.Gather(dst, ld, src, n, planes, idx, rows, w)
		for q := 0; q < planes; q++ {
			for row := 0; row < rows; row++ {
				at := (q*rows + row) * ld
				for i := 0; i < ld && at+i < dlen; i++ {
					got := dst[at+i]
					if i >= w {
						require.True(t, math.IsInf(float64(got), 1), "dst[%d] between rows was written", at+i)
						continue
					}
					want := float32(0)
					if ix := idx[row*w+i]; ix >= 0 && int(ix) < n {
						want = base[q*n+int(ix)]
					}
					require.Equal(t, want, got, "%s: w %d rows %d n %d planes %d: dst[%d] (idx %d)", k.ISA, w, rows, n, planes, at+i, idx[row*w+i])
				}
			}
		}
	}
}

func TestGatherChecks(t *testing.T) {
	for _, tc := range []struct {
		dst           []float32
		ld            int
		src           []float32
		plane, planes int
		idx           []int32
		rows, w       int
		want          string
	}{
		{make([]float32, 10), 3, make([]float32, 4), 4, 1, make([]int32, 8), 2, 4, "ld = 3 < w = 4"},
		{make([]float32, 10), 4, make([]float32, 4), 4, 1, make([]int32, 7), 2, 4, "len(idx) = 7"},
		{make([]float32, 7), 4, make([]float32, 4), 4, 1, make([]int32, 8), 2, 4, "len(dst) = 7"},
		{make([]float32, 15), 4, make([]float32, 8), 4, 2, make([]int32, 8), 2, 4, "len(dst) = 15 < (planes*rows-1)*ld+w = 16"},
		{make([]float32, 16), 4, make([]float32, 7), 4, 2, make([]int32, 8), 2, 4, "len(src) = 7 < planes*plane = 2*4"},
		{nil, 4, nil, 1, 1, nil, -1, 4, "negative"},
		{nil, 4, nil, -1, 1, nil, 1, 4, "negative"},
	} {
		for _, k := range Sets() {
			msg := func() (m string) {
				defer func() { m = fmt.Sprint(recover()) }()
				k.Conv.Gather(tc.dst, tc.ld, tc.src, tc.plane, tc.planes, tc.idx, tc.rows, tc.w)
				return
			}()
			require.Contains(t, msg, tc.want, k.ISA)
		}
	}
}

// FuzzShift compares every set with the generic twin on arbitrary calls
// that the checks accept.
func FuzzShift(f *testing.F) {
	f.Add(uint8(3), uint8(20), uint8(22), int8(-1), uint8(1), uint8(19))
	f.Fuzz(func(t *testing.T, rows, w, stride uint8, shift int8, lo, hi uint8) {
		c := shiftCase{int(rows % 9), int(w), int(stride), int(shift), int(lo), int(hi)}
		if c.lo > c.hi || c.hi > c.w || c.lo+c.shift < 0 {
			return
		}
		_, end := c.srcLen()
		src := testkit.Uniform(testkit.Rand(uint64(c.w)), end, -1, 1)
		want := make([]float32, c.rows*c.w)
		Reference().Conv.Shift(want, src, c.rows, c.w, c.stride, c.shift, c.lo, c.hi)
		for _, k := range Sets() {
			got := make([]float32, c.rows*c.w)
			k.Conv.Shift(got, src, c.rows, c.w, c.stride, c.shift, c.lo, c.hi)
			require.Equal(t, want, got, "%s %+v", k.ISA, c)
		}
	})
}

// FuzzGather compares every set with the generic twin on arbitrary
// indices.
func FuzzGather(f *testing.F) {
	f.Add([]byte{0, 1, 2, 255, 7, 9, 128, 3}, uint8(5), uint8(3))
	f.Fuzz(func(t *testing.T, raw []byte, n, w uint8) {
		if w == 0 {
			return
		}
		idx := make([]int32, len(raw)/int(w)*int(w))
		for i := range idx {
			idx[i] = int32(int8(raw[i])) * 3
		}
		rows := len(idx) / int(w)
		const planes = 2
		src := testkit.Uniform(testkit.Rand(uint64(n)), planes*int(n), -1, 1)
		want := make([]float32, planes*len(idx))
		Reference().Conv.Gather(want, int(w), src, int(n), planes, idx, rows, int(w))
		for _, k := range Sets() {
			got := make([]float32, planes*len(idx))
			k.Conv.Gather(got, int(w), src, int(n), planes, idx, rows, int(w))
			require.Equal(t, want, got, k.ISA)
		}
	})
}

// BenchmarkShift copies rows of an image sideways as im2col does for a 3x3
// tap with padding 1: rows of w floats, the first column padding.
func BenchmarkShift(b *testing.B) {
	for _, k := range Sets() {
		for _, w := range []int{8, 28, 64} {
			rows := 4096 / w
			src := testkit.Uniform(testkit.Rand(1), rows*w, -1, 1)
			dst := make([]float32, rows*w)
			b.Run(fmt.Sprintf("%s/w%d", k.ISA, w), func(b *testing.B) {
				for b.Loop() {
					k.Conv.Shift(dst, src, rows, w, w, -1, 1, w)
				}
				b.ReportMetric(float64(len(dst))*float64(b.N)/b.Elapsed().Seconds()/1e9, "floats/ns")
			})
		}
	}
}

// BenchmarkGather builds the columns of a 64-channel w x w image for a 3x3
// kernel with 'same' padding: 9 rows per channel.
func BenchmarkGather(b *testing.B) {
	for _, k := range Sets() {
		for _, w := range []int{3, 7, 8} {
			p := w * w
			idx := make([]int32, 9*p)
			for t := 0; t < 9; t++ {
				for o := 0; o < p; o++ {
					ih, iw := o/w+t/3-1, o%w+t%3-1
					idx[t*p+o] = -1
					if ih >= 0 && ih < w && iw >= 0 && iw < w {
						idx[t*p+o] = int32(ih*w + iw)
					}
				}
			}
			const planes = 64
			src := testkit.Uniform(testkit.Rand(1), planes*p, -1, 1)
			dst := make([]float32, planes*9*p)
			b.Run(fmt.Sprintf("%s/%dx%d", k.ISA, w, w), func(b *testing.B) {
				for b.Loop() {
					k.Conv.Gather(dst, p, src, p, planes, idx, 9, p)
				}
				b.ReportMetric(float64(len(dst))*float64(b.N)/b.Elapsed().Seconds()/1e9, "floats/ns")
			})
		}
	}
}

// pool2Want is Pool2's definition with the comparisons spelled out.
func pool2Want(x []float32, planes, h, w int) ([]float32, []int32) {
	oh, ow := h/2, w/2
	y := make([]float32, planes*oh*ow)
	am := make([]int32, len(y))
	for q := 0; q < planes; q++ {
		for o := 0; o < oh; o++ {
			for p := 0; p < ow; p++ {
				var best float32
				bi := -1
				for _, d := range [4][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
					i := (2*o+d[0])*w + 2*p + d[1]
					v := x[q*h*w+i]
					switch {
					case bi < 0:
						best, bi = v, i
					case math.IsNaN(float64(best)):
					case math.IsNaN(float64(v)) || v > best:
						best, bi = v, i
					}
				}
				y[(q*oh+o)*ow+p], am[(q*oh+o)*ow+p] = best, int32(bi)
			}
		}
	}
	return y, am
}

// TestPool2 runs every set against the definition on sizes around the
// vector widths, odd and even, with ties, NaNs and infinities, and guard
// pages after and before x, y and am.
func TestPool2(t *testing.T) {
	r := testkit.Rand(34)
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, k := range Sets() {
		t.Run(k.ISA, func(t *testing.T) {
			for _, h := range []int{0, 1, 2, 3, 4, 7, 8} {
				for _, w := range append(testkit.Lengths(36), 63, 64, 65, 66, 67) {
					for _, planes := range []int{1, 3} {
						x := make([]float32, planes*h*w)
						for i := range x {
							switch r.IntN(16) {
							case 0:
								x[i] = nan
							case 1:
								x[i] = -inf
							case 2:
								x[i] = inf
							default:
								x[i] = float32(r.IntN(4)) - 2 // ties
							}
						}
						want, wantAm := pool2Want(x, planes, h, w)
						xe, xs := testkit.Guarded(t, len(x))
						ye, ys := testkit.Guarded(t, len(want))
						for i, bufs := range [][2][]float32{{xe, ye}, {xs, ys}} {
							copy(bufs[0], x)
							am := make([]int32, len(want))
							k.Conv.Pool2(bufs[1], am, bufs[0], planes, h, w)
							for j := range want {
								if math.Float32bits(want[j]) != math.Float32bits(bufs[1][j]) || wantAm[j] != am[j] {
									require.Failf(t, "Pool2", "%dx%d, %d planes, buffers %d: output %d = %v at %d, want %v at %d",
										h, w, planes, i, j, bufs[1][j], am[j], want[j], wantAm[j])
								}
							}
							// Without argmax, the same outputs.
							for j := range bufs[1] {
								bufs[1][j] = 0
							}
							k.Conv.Pool2(bufs[1], nil, bufs[0], planes, h, w)
							for j := range want {
								require.Equal(t, math.Float32bits(want[j]), math.Float32bits(bufs[1][j]))
							}
						}
					}
				}
			}
		})
	}
}

func TestPool2Checks(t *testing.T) {
	for _, tc := range []struct {
		y    []float32
		am   []int32
		x    []float32
		p, h int
		w    int
		want string
	}{
		{make([]float32, 4), nil, make([]float32, 15), 1, 4, 4, "len(x) = 15"},
		{make([]float32, 3), nil, make([]float32, 16), 1, 4, 4, "len(y) = 3"},
		{make([]float32, 4), make([]int32, 3), make([]float32, 16), 1, 4, 4, "len(am) = 3"},
		{nil, nil, nil, 1, -4, 4, "negative"},
	} {
		for _, k := range Sets() {
			msg := func() (m string) {
				defer func() { m = fmt.Sprint(recover()) }()
				k.Conv.Pool2(tc.y, tc.am, tc.x, tc.p, tc.h, tc.w)
				return
			}()
			require.Contains(t, msg, tc.want, k.ISA)
		}
	}
}

// FuzzPool2 compares every set with the generic twin on arbitrary planes,
// the bytes picking ties, signed zeros, infinities and NaNs.
func FuzzPool2(f *testing.F) {
	f.Add([]byte{0, 1, 2, 255, 7, 9, 128, 3, 4, 4, 6, 250}, uint8(3), uint8(5))
	f.Fuzz(func(t *testing.T, raw []byte, h, w uint8) {
		if len(raw) == 0 {
			return
		}
		h, w = h%12, w%40
		values := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 2, float32(math.Inf(1)), float32(math.Inf(-1)),
			float32(math.NaN()), math.Float32frombits(0x7fc00001), math.Float32frombits(0xffa00000)}
		planes := 1 + int(raw[0])%3
		x := make([]float32, planes*int(h)*int(w))
		for i := range x {
			x[i] = values[int(raw[i%len(raw)]>>1+raw[(i+1)%len(raw)])%len(values)]
		}
		out := planes * int(h/2) * int(w/2)
		want, wantAm := make([]float32, out), make([]int32, out)
		Reference().Conv.Pool2(want, wantAm, x, planes, int(h), int(w))
		for _, k := range Sets() {
			got, am := make([]float32, out), make([]int32, out)
			k.Conv.Pool2(got, am, x, planes, int(h), int(w))
			for i := range want {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s: output %d", k.ISA, i)
			}
			require.Equal(t, wantAm, am, k.ISA)
		}
	})
}

// BenchmarkPool2 pools 32 planes of w x w.
func BenchmarkPool2(b *testing.B) {
	for _, k := range Sets() {
		for _, w := range []int{8, 28, 64} {
			const planes = 32
			x := testkit.Uniform(testkit.Rand(1), planes*w*w, -1, 1)
			y := make([]float32, planes*(w/2)*(w/2))
			am := make([]int32, len(y))
			b.Run(fmt.Sprintf("%s/%dx%d", k.ISA, w, w), func(b *testing.B) {
				for b.Loop() {
					k.Conv.Pool2(y, am, x, planes, w, w)
				}
				b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "inputs/ns")
			})
		}
	}
}

// TestUnpack runs every set against Unpack's definition on row and column
// counts around the 8 x 8 blocks, with strides wider than needed, src and
// dst at the end of guarded memory and dst's gaps checked untouched.
func TestUnpack(t *testing.T) {
	for _, k := range Sets() {
		t.Run(k.ISA, func(t *testing.T) {
			seed := uint64(0)
			for _, rows := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32} {
				for _, cols := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 49} {
					for _, pad := range []int{0, 3} {
						seed++
						lds, ldd := rows+pad, cols+2*pad
						if rows == 0 || cols == 0 {
							k.Conv.Unpack(nil, ldd, nil, lds, rows, cols)
							continue
						}
						src, _ := testkit.Guarded(t, (cols-1)*lds+rows)
						copy(src, testkit.Uniform(testkit.Rand(seed), len(src), -1, 1))
						dst, _ := testkit.Guarded(t, (rows-1)*ldd+cols)
						gap := float32(math.Inf(-1))
						fill := func() {
							for i := range dst {
								dst[i] = gap
							}
						}
						fill()
						k.Conv.Unpack(dst, ldd, src, lds, rows, cols)
						for i := 0; i < rows; i++ {
							for j := 0; j < ldd && i*ldd+j < len(dst); j++ {
								want := gap
								if j < cols {
									want = src[j*lds+i]
								}
								require.Equal(t, want, dst[i*ldd+j], "rows=%d cols=%d pad=%d: dst[%d][%d]", rows, cols, pad, i, j)
							}
						}
					}
				}
			}
		})
	}
}

func TestUnpackChecks(t *testing.T) {
	for _, k := range Sets() {
		u := k.Conv.Unpack
		src := make([]float32, 64)
		dst := make([]float32, 64)
		require.Panics(t, func() { u(dst, 8, src, 8, -1, 8) }, "negative rows")
		require.Panics(t, func() { u(dst, 8, src, 7, 8, 8) }, "lds < rows")
		require.Panics(t, func() { u(dst, 7, src, 8, 8, 8) }, "ldd < cols")
		require.Panics(t, func() { u(dst, 8, src[1:], 8, 8, 8) }, "short src")
		require.Panics(t, func() { u(dst[1:], 8, src, 8, 8, 8) }, "short dst")
		require.NotPanics(t, func() { u(dst, 8, src, 8, 8, 8) })
	}
}

// FuzzUnpack compares every set with the generic twin.
func FuzzUnpack(f *testing.F) {
	f.Add(uint8(8), uint8(9), uint8(0), uint8(1), uint64(1))
	f.Add(uint8(33), uint8(50), uint8(2), uint8(5), uint64(2))
	f.Fuzz(func(t *testing.T, rows, cols, padS, padD uint8, seed uint64) {
		r, c := int(rows%70), int(cols)
		lds, ldd := r+int(padS%9), c+int(padD%9)
		if r == 0 || c == 0 {
			return
		}
		src := testkit.Uniform(testkit.Rand(seed), (c-1)*lds+r, -1, 1)
		want := make([]float32, (r-1)*ldd+c)
		Reference().Conv.Unpack(want, ldd, src, lds, r, c)
		for _, k := range Sets() {
			got := make([]float32, len(want))
			k.Conv.Unpack(got, ldd, src, lds, r, c)
			require.Equal(t, want, got, "%s rows=%d cols=%d", k.ISA, r, c)
		}
	})
}

// BenchmarkUnpack writes out 32 interleaved images of a 64-channel 7x7
// layer's outputs, as conv's batched pass does: one call per channel.
func BenchmarkUnpack(b *testing.B) {
	for _, k := range Sets() {
		for _, p := range []int{9, 49, 196} {
			const imgs, chans = 32, 64
			src := testkit.Uniform(testkit.Rand(1), chans*p*imgs, -1, 1)
			dst := make([]float32, imgs*chans*p)
			b.Run(fmt.Sprintf("%s/p%d", k.ISA, p), func(b *testing.B) {
				for b.Loop() {
					for c := 0; c < chans; c++ {
						k.Conv.Unpack(dst[c*p:], chans*p, src[c*p*imgs:], imgs, imgs, p)
					}
				}
				b.ReportMetric(float64(len(dst))*float64(b.N)/b.Elapsed().Seconds()/1e9, "floats/ns")
			})
		}
	}
}
