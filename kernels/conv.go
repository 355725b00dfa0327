package kernels

import (
	"fmt"

	"github.com/snnkit/snn/internal/bounds"
)

// Conv holds the data-movement kernels of package conv: Shift and Gather
// build the column matrix of a convolution from an image (im2col), Unpack
// writes the batched forward pass's interleaved outputs back per image,
// Pool2 is 2x2 max-pooling, and WinogradIn, WinogradOut and WinogradDy are
// the transforms of the Winograd pass.
//
// All of them check their arguments in Go, as far as memory safety needs,
// before any assembly runs: a bad call panics with a message naming the
// argument.
type Conv struct {
	// Shift copies rows segments of w floats, each shifted sideways, with
	// zeros where the shift leaves the source row: for s < rows, i < w,
	//
	//	dst[s*w+i] = src[s*stride+i+shift]  if lo <= i < hi,  0 otherwise.
	//
	// With stride 1 in width, one row of the column matrix of a kernel
	// tap is Shift over the output rows whose input row exists. It needs
	// 0 <= lo <= hi <= w, stride >= 0, len(dst) >= rows*w and, when
	// something is copied, every src index read in range.
	Shift func(dst, src []float32, rows, w, stride, shift, lo, hi int)
	// Gather applies rows rows of w indices to each of planes planes of
	// plane floats in src: for q < planes, r < rows, i < w, with
	// t = idx[r*w+i],
	//
	//	dst[(q*rows+r)*ld+i] = src[q*plane+t]  if 0 <= t < plane,  0 otherwise,
	//
	// so a negative index writes a zero (padding). With the index table
	// of a narrow image's kernel taps, one call builds the column matrix
	// of all its channels. It needs len(src) >= planes*plane,
	// len(idx) >= rows*w, ld >= w and len(dst) >= (planes*rows-1)*ld+w.
	Gather func(dst []float32, ld int, src []float32, plane, planes int, idx []int32, rows, w int)
	// Pool2 is 2x2 max-pooling with stride 2 and no padding over planes
	// planes of h x w floats in x. Output (o, p) of plane q, at
	// y[(q*(h/2)+o)*(w/2)+p], is the first maximum of x[2o][2p],
	// x[2o][2p+1], x[2o+1][2p], x[2o+1][2p+1] in that order (the first
	// NaN, if any); am, unless empty, gets the winner's offset in its
	// plane, at the same index. An odd last row or column is not read. It
	// needs len(x) >= planes*h*w and y (and am, unless empty) to hold
	// planes*(h/2)*(w/2) values.
	Pool2 func(y []float32, am []int32, x []float32, planes, h, w int)
	// Unpack writes the columns of src out as rows of dst: for i < rows,
	// j < cols,
	//
	//	dst[i*ldd+j] = src[j*lds+i].
	//
	// conv's batched forward pass keeps the outputs of several images
	// interleaved (lds apart per position) and writes each image's out
	// with it. It needs rows <= lds, cols <= ldd and the slices to hold
	// those elements.
	Unpack func(dst []float32, ldd int, src []float32, lds, rows, cols int)
	// WinogradIn is the input transform of conv's Winograd F(2x2, 3x3)
	// pass for one row of tiles tiles wide: tile t's 4x4 patch d is
	// columns 2t..2t+3 of the rows pad[0:], pad[wp:], pad[2*wp:] and
	// pad[3*wp:], and element e of B^T d B goes to v[e*plane+t], with
	//
	//	B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
	//
	// It needs plane >= tiles, wp >= 2*tiles+2, len(v) >= 15*plane+tiles
	// and len(pad) >= 3*wp+2*tiles+2. Every set gives the same bits.
	WinogradIn func(v []float32, plane int, pad []float32, wp, tiles int)
	// WinogradOut is the output transform: tile t's 2x2 outputs A^T M A +
	// bias, M's element e being m[e*plane+t], go to top[2t], top[2t+1],
	// bot[2t] and bot[2t+1], with
	//
	//	A^T = [1 1 1 0; 0 1 -1 -1].
	//
	// It needs plane >= tiles, len(m) >= 15*plane+tiles and top and bot
	// to hold 2*tiles floats. Every set gives the same bits.
	WinogradOut func(top, bot, m []float32, plane, tiles int, bias float32)
	// WinogradDy is the output gradient's transform of the pass's weight
	// gradient: tile t's 2x2 dy is r0[2t], r0[2t+1], r1[2t] and r1[2t+1],
	// and element e of A dy A^T goes to g[e*plane+t]. It needs plane >=
	// tiles, len(g) >= 15*plane+tiles and r0 and r1 to hold 2*tiles
	// floats. Every set gives the same bits.
	WinogradDy func(g []float32, plane int, r0, r1 []float32, tiles int)
	// WinogradRow is the fewest tiles of a row on which the three
	// transforms run vector code (1 in the x86 sets: every row), or 0
	// when they are Go code for every row: conv's rule for taking the
	// Winograd pass depends on it.
	WinogradRow int
	// WinogradGroup is how many tiles the vector transforms compute at
	// once (8 in the x86 sets; 1 where they are Go). A row shorter than
	// that costs them about as much as a whole group, and more when it
	// must not touch memory past its end: a caller with room past the
	// row for the group's extra tiles (their V, their M read, their
	// outputs) may ask for a whole group and ignore or overwrite them.
	WinogradGroup int
}

// The checks below never multiply sizes out where the product could wrap
// around int's range and let a short slice pass.

// checkUnpack panics unless an Unpack call touches only memory it was
// given.
func checkUnpack(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	switch {
	case rows < 0 || cols < 0:
		panic(fmt.Sprintf("kernels: Unpack: rows = %d, cols = %d: negative", rows, cols))
	case rows == 0 || cols == 0:
		return
	case lds < rows || ldd < cols:
		panic(fmt.Sprintf("kernels: Unpack: need rows <= lds and cols <= ldd, have rows = %d, lds = %d, cols = %d, ldd = %d", rows, lds, cols, ldd))
	case !bounds.Fits(cols, rows, lds, len(src)):
		panic(fmt.Sprintf("kernels: Unpack: len(src) = %d < (cols-1)*lds+rows = %s, with cols = %d, lds = %d, rows = %d",
			len(src), bounds.Span(cols, rows, lds), cols, lds, rows))
	case !bounds.Fits(rows, cols, ldd, len(dst)):
		panic(fmt.Sprintf("kernels: Unpack: len(dst) = %d < (rows-1)*ldd+cols = %s, with rows = %d, ldd = %d, cols = %d",
			len(dst), bounds.Span(rows, cols, ldd), rows, ldd, cols))
	}
}

// checkShift panics unless a Shift call touches only memory it was given.
func checkShift(dst, src []float32, rows, w, stride, shift, lo, hi int) {
	switch {
	case rows < 0 || w < 0:
		panic(fmt.Sprintf("kernels: Shift: rows = %d, w = %d: negative", rows, w))
	case lo < 0 || lo > hi || hi > w:
		panic(fmt.Sprintf("kernels: Shift: need 0 <= lo <= hi <= w, have lo = %d, hi = %d, w = %d", lo, hi, w))
	case stride < 0:
		panic(fmt.Sprintf("kernels: Shift: stride = %d < 0", stride))
	case !bounds.Fits(rows, w, w, len(dst)):
		panic(fmt.Sprintf("kernels: Shift: len(dst) = %d < rows*w = %d*%d", len(dst), rows, w))
	}
	if rows == 0 || lo == hi {
		return
	}
	// Reads src[lo+shift] to src[(rows-1)*stride+hi-1+shift]; hi > lo >= 0.
	if shift < -lo || shift > len(src)-hi || !bounds.Fits2(rows-1, stride, 0, 0, hi+shift, len(src)) {
		panic(fmt.Sprintf("kernels: Shift: rows = %d, stride = %d, shift = %d, lo = %d, hi = %d: reads src[%s] to src[%s], len(src) = %d",
			rows, stride, shift, lo, hi, bounds.Dot(lo, 1, shift, 1), bounds.Dot(rows-1, stride, hi-1, 1, shift, 1), len(src)))
	}
}

// checkGather panics unless a Gather call touches only memory it was given
// (the kernel itself keeps each read inside its plane).
func checkGather(dst []float32, ld int, src []float32, plane, planes int, idx []int32, rows, w int) {
	switch {
	case rows < 0 || w < 0 || plane < 0 || planes < 0:
		panic(fmt.Sprintf("kernels: Gather: rows = %d, w = %d, plane = %d, planes = %d: negative", rows, w, plane, planes))
	case rows == 0 || w == 0 || planes == 0:
		return
	case !bounds.Fits(planes, plane, plane, len(src)):
		panic(fmt.Sprintf("kernels: Gather: len(src) = %d < planes*plane = %d*%d", len(src), planes, plane))
	case ld < w:
		panic(fmt.Sprintf("kernels: Gather: ld = %d < w = %d", ld, w))
	case !bounds.Fits(rows, w, w, len(idx)):
		panic(fmt.Sprintf("kernels: Gather: len(idx) = %d < rows*w = %d*%d", len(idx), rows, w))
	}
	if pr, ok := bounds.Mul(planes, rows); !ok || !bounds.Fits(pr, w, ld, len(dst)) {
		need := "more than any slice holds"
		if ok {
			need = bounds.Span(pr, w, ld)
		}
		panic(fmt.Sprintf("kernels: Gather: len(dst) = %d < (planes*rows-1)*ld+w = %s, with planes = %d, rows = %d, ld = %d, w = %d",
			len(dst), need, planes, rows, ld, w))
	}
}

// checkPool2 panics unless a Pool2 call touches only memory it was given.
func checkPool2(y []float32, am []int32, x []float32, planes, h, w int) {
	if planes < 0 || h < 0 || w < 0 {
		panic(fmt.Sprintf("kernels: Pool2: planes = %d, h = %d, w = %d: negative", planes, h, w))
	}
	if hw, ok := bounds.Mul(h, w); !ok || !bounds.Fits(planes, hw, hw, len(x)) {
		panic(fmt.Sprintf("kernels: Pool2: len(x) = %d < planes*h*w = %d*%d*%d", len(x), planes, h, w))
	}
	// planes*h*w fits in len(x): no product below overflows.
	out := planes * (h / 2) * (w / 2)
	if len(y) < out {
		panic(fmt.Sprintf("kernels: Pool2: len(y) = %d < planes*(h/2)*(w/2) = %d", len(y), out))
	}
	if len(am) > 0 && len(am) < out {
		panic(fmt.Sprintf("kernels: Pool2: len(am) = %d < planes*(h/2)*(w/2) = %d", len(am), out))
	}
}

// checkedConv wraps raw kernels (which check nothing) with the checks;
// the Winograd transforms are the Go ones.
func checkedConv(shift func(dst, src []float32, rows, w, stride, shift, lo, hi int),
	gather func(dst []float32, ld int, src []float32, plane, planes int, idx []int32, rows, w int),
	pool2 func(y []float32, am []int32, x []float32, planes, h, w int),
	unpack8 func(dst *float32, ldd int, src *float32, lds, rows, cols int)) Conv {
	return withWinograd(Conv{
		Shift: func(dst, src []float32, rows, w, stride, sh, lo, hi int) {
			checkShift(dst, src, rows, w, stride, sh, lo, hi)
			if rows == 0 || w == 0 {
				return
			}
			shift(dst, src, rows, w, stride, sh, lo, hi)
		},
		Gather: func(dst []float32, ld int, src []float32, plane, planes int, idx []int32, rows, w int) {
			checkGather(dst, ld, src, plane, planes, idx, rows, w)
			if rows == 0 || w == 0 || planes == 0 {
				return
			}
			gather(dst, ld, src, plane, planes, idx, rows, w)
		},
		Pool2: func(y []float32, am []int32, x []float32, planes, h, w int) {
			checkPool2(y, am, x, planes, h, w)
			if planes == 0 || h < 2 || w < 2 {
				return
			}
			if len(am) == 0 {
				am = nil // the kernels test the pointer
			}
			pool2(y, am, x, planes, h, w)
		},
		Unpack: func(dst []float32, ldd int, src []float32, lds, rows, cols int) {
			checkUnpack(dst, ldd, src, lds, rows, cols)
			if rows == 0 || cols == 0 {
				return
			}
			// The assembly takes rows in eights; Go the rest.
			r8 := rows &^ 7
			if unpack8 == nil {
				r8 = 0
			}
			if r8 > 0 {
				unpack8(&dst[0], ldd, &src[0], lds, r8, cols)
			}
			if r8 < rows {
				unpackGeneric(dst[r8*ldd:], ldd, src[r8:], lds, rows-r8, cols)
			}
		},
	}, nil, nil, nil)
}
