package conv

import (
	"fmt"
	"sync/atomic"

	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/par"
)

// PoolGeometry is the shape of one max-pooling layer: a KH x KW window
// moved by the strides over each channel plane of an image. Padding cells
// never win (they act as -Inf), as in Keras' padding='same'.
type PoolGeometry struct {
	C, InH, InW int // channels, input height and width; all >= 1
	KH, KW      int // window; >= 1

	StrideH, StrideW int // >= 1

	// Padding on each side; 0 <= pad < the window size of its dimension,
	// so that every window holds at least one input cell.
	PadTop, PadBottom, PadLeft, PadRight int
}

// Pool returns the geometry of k x k max-pooling with the given stride and
// no padding (Keras' default, padding='valid'): the output is
// floor((in-k)/stride)+1 in each dimension. Pool(c, h, w, 2, 2) halves an
// image, dropping the last row and column of odd sizes.
func Pool(c, inH, inW, k, stride int) PoolGeometry {
	return PoolGeometry{C: c, InH: inH, InW: inW, KH: k, KW: k, StrideH: stride, StrideW: stride}
}

// PoolSame returns k x k max-pooling with 'same' padding as Keras defines
// it: the output is ceil(in/stride) in each dimension.
func PoolSame(c, inH, inW, k, stride int) PoolGeometry {
	g := Pool(c, inH, inW, k, stride)
	if stride >= 1 {
		g.PadTop, g.PadBottom = samePad(inH, k, stride)
		g.PadLeft, g.PadRight = samePad(inW, k, stride)
	}
	return g
}

// OutH is the output height: (InH+PadTop+PadBottom-KH)/StrideH + 1.
func (g PoolGeometry) OutH() int { return outSize(g.InH, g.PadTop+g.PadBottom, g.KH, g.StrideH) }

// OutW is the output width: (InW+PadLeft+PadRight-KW)/StrideW + 1.
func (g PoolGeometry) OutW() int { return outSize(g.InW, g.PadLeft+g.PadRight, g.KW, g.StrideW) }

// InSize is the number of float32 in one input image: C*InH*InW.
func (g PoolGeometry) InSize() int { return g.C * g.InH * g.InW }

// OutSize is the number of float32 in one output image: C*OutH*OutW.
func (g PoolGeometry) OutSize() int { return g.C * g.OutH() * g.OutW() }

// Check reports the first thing wrong with g, naming the field, or nil.
func (g PoolGeometry) Check() error {
	for _, f := range []struct {
		name string
		v    int
		min  int
	}{
		{"C", g.C, 1}, {"InH", g.InH, 1}, {"InW", g.InW, 1}, {"KH", g.KH, 1}, {"KW", g.KW, 1},
		{"StrideH", g.StrideH, 1}, {"StrideW", g.StrideW, 1},
		{"PadTop", g.PadTop, 0}, {"PadBottom", g.PadBottom, 0}, {"PadLeft", g.PadLeft, 0}, {"PadRight", g.PadRight, 0},
	} {
		if f.v < f.min {
			return fmt.Errorf("conv: PoolGeometry.%s = %d, must be >= %d", f.name, f.v, f.min)
		}
		if f.v > maxDim {
			return fmt.Errorf("conv: PoolGeometry.%s = %d is too large", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name   string
		pad, k int
		kname  string
	}{
		{"PadTop", g.PadTop, g.KH, "KH"}, {"PadBottom", g.PadBottom, g.KH, "KH"},
		{"PadLeft", g.PadLeft, g.KW, "KW"}, {"PadRight", g.PadRight, g.KW, "KW"},
	} {
		if f.pad >= f.k {
			return fmt.Errorf("conv: PoolGeometry.%s = %d, must be < %s = %d so that no window is all padding", f.name, f.pad, f.kname, f.k)
		}
	}
	if g.InH+g.PadTop+g.PadBottom < g.KH {
		return fmt.Errorf("conv: pooling window height KH = %d exceeds the padded input height %d", g.KH, g.InH+g.PadTop+g.PadBottom)
	}
	if g.InW+g.PadLeft+g.PadRight < g.KW {
		return fmt.Errorf("conv: pooling window width KW = %d exceeds the padded input width %d", g.KW, g.InW+g.PadLeft+g.PadRight)
	}
	if !fits(g.C, g.InH, g.InW) {
		return fmt.Errorf("conv: pooling input of %d x %d x %d exceeds 2^31-1 elements", g.C, g.InH, g.InW)
	}
	return nil
}

func (g PoolGeometry) String() string {
	return fmt.Sprintf("%dx%dx%d -> %dx%dx%d, window %dx%d, stride %dx%d, pad t%d b%d l%d r%d",
		g.C, g.InH, g.InW, g.C, g.OutH(), g.OutW(), g.KH, g.KW, g.StrideH, g.StrideW,
		g.PadTop, g.PadBottom, g.PadLeft, g.PadRight)
}

// MaxPool2D computes max-pooling forward and backward for batches of NCHW
// float32 images, in parallel over the images. It allocates nothing. It is
// not safe for concurrent use; give each goroutine its own.
type MaxPool2D struct {
	g              PoolGeometry
	oh, ow, hw, in int
	out            int
	threads        int
	ks             *kernels.Set
	pool2          bool // 2x2, stride 2, no padding: the Pool2 kernel

	// The current call.
	backward bool
	x, y, dy []float32
	dx       []float32
	argmax   []int32
	dact     Activation // see BackwardAct
	next     atomic.Int64
	team     par.Team
}

// NewMaxPool2D returns a MaxPool2D for g, or the error PoolGeometry.Check
// reports.
func NewMaxPool2D(g PoolGeometry) (*MaxPool2D, error) {
	if err := g.Check(); err != nil {
		return nil, err
	}
	return &MaxPool2D{
		g: g, oh: g.OutH(), ow: g.OutW(), hw: g.InH * g.InW, in: g.InSize(), out: g.OutSize(), ks: kernels.Active(),
		pool2: g.KH == 2 && g.KW == 2 && g.StrideH == 2 && g.StrideW == 2 &&
			g.PadTop == 0 && g.PadBottom == 0 && g.PadLeft == 0 && g.PadRight == 0,
	}, nil
}

// Geometry returns the layer's geometry.
func (p *MaxPool2D) Geometry() PoolGeometry { return p.g }

// SetThreads sets how many goroutines a call may use; n <= 0 (the default)
// means par.Threads() at the time of the call. Results do not depend on
// it.
func (p *MaxPool2D) SetThreads(n int) { p.threads = max(n, 0) }

// Threads returns the number of goroutines a call may use now.
func (p *MaxPool2D) Threads() int {
	if p.threads > 0 {
		return p.threads
	}
	return par.Threads()
}

// Forward sets each output to the maximum of its window for a batch of n
// images:
//
//	x      [n][C][InH][InW]
//	y      [n][C][OutH][OutW]   overwritten
//	argmax [n][C][OutH][OutW]   overwritten, or nil (inference)
//
// argmax receives, for each output, the position of the winning input in
// its channel plane, ih*InW + iw: Backward routes the gradient there. On a
// tie the first maximum in row-major window order wins. A NaN in a window
// wins over any number (the first NaN, if several), so NaN propagates.
func (p *MaxPool2D) Forward(n int, x, y []float32, argmax []int32) {
	p.checkN(n)
	p.checkLen("x", len(x), n, p.in, "C*InH*InW")
	p.checkLen("y", len(y), n, p.out, "C*OutH*OutW")
	if argmax != nil {
		p.checkLen("argmax", len(argmax), n, p.out, "C*OutH*OutW")
	}
	p.backward, p.x, p.y, p.argmax = false, x, y, argmax
	p.run(n)
}

// Backward routes the output gradient to the inputs that won in Forward:
//
//	dy     [n][C][OutH][OutW]
//	argmax [n][C][OutH][OutW]   as Forward wrote it
//	dx     [n][C][InH][InW]     overwritten: 0 except at winners, where
//	                            the gradients of every window an input
//	                            won are added (windows overlap when the
//	                            stride is below the window size)
//
// An argmax entry outside its channel plane panics.
func (p *MaxPool2D) Backward(n int, dy []float32, argmax []int32, dx []float32) {
	p.BackwardAct(n, dy, argmax, dx, Identity, nil)
}

// BackwardAct is Backward for an input x made by the activation a: dx is
// then the gradient with respect to the activation's input, bit for bit
// what act.SELUGrad(dx, dx, x) (or act.ReLUGrad) would make of Backward's
// dx, applied to each image's gradient while it is in cache. x is required
// unless a is Identity.
func (p *MaxPool2D) BackwardAct(n int, dy []float32, argmax []int32, dx []float32, a Activation, x []float32) {
	checkActivation(a)
	p.checkN(n)
	p.checkLen("dy", len(dy), n, p.out, "C*OutH*OutW")
	p.checkLen("argmax", len(argmax), n, p.out, "C*OutH*OutW")
	p.checkLen("dx", len(dx), n, p.in, "C*InH*InW")
	if a != Identity {
		p.checkLen("x", len(x), n, p.in, "C*InH*InW")
	}
	p.backward, p.dy, p.argmax, p.dx, p.dact, p.x = true, dy, argmax, dx, a, x
	p.run(n)
}

func (p *MaxPool2D) checkN(n int) {
	if n < 0 {
		panic(fmt.Sprintf("conv: batch size n = %d < 0", n))
	}
}

func (p *MaxPool2D) checkLen(name string, got, n, per int, what string) {
	if !lenIs(got, n, per) {
		panic(fmt.Sprintf("conv: len(%s) = %d, want n*%s = %s (pooling %v)", name, got, what, product(n, per), p.g))
	}
}

// run shares the images among the lanes; images are independent, so the
// split does not change any result.
func (p *MaxPool2D) run(n int) {
	if n > 0 {
		p.next.Store(0)
		runLanes(p, min(p.Threads(), n), &p.team)
	}
	p.x, p.y, p.dy, p.dx, p.argmax = nil, nil, nil, nil, nil
	p.dact = Identity
}

func (p *MaxPool2D) abort() {}

func (p *MaxPool2D) runLane(int) {
	n := len(p.dx) / p.in
	if !p.backward {
		n = len(p.x) / p.in
	}
	for {
		img := int(p.next.Add(1)) - 1
		if img >= n || p.team.Failed() {
			return
		}
		if p.backward {
			p.backwardImage(img)
		} else {
			p.forwardImage(img)
		}
	}
}

func (p *MaxPool2D) forwardImage(img int) {
	g := &p.g
	ohw := p.oh * p.ow
	x := p.x[img*p.in : (img+1)*p.in]
	y := p.y[img*p.out : (img+1)*p.out]
	var am []int32
	if p.argmax != nil {
		am = p.argmax[img*p.out : (img+1)*p.out]
	}
	if p.pool2 {
		p.ks.Conv.Pool2(y, am, x, g.C, g.InH, g.InW)
		return
	}
	for c := 0; c < g.C; c++ {
		var amc []int32
		if am != nil {
			amc = am[c*ohw : (c+1)*ohw]
		}
		p.forwardPlane(x[c*p.hw:(c+1)*p.hw], y[c*ohw:(c+1)*ohw], amc)
	}
}

// forwardPlane is the general window loop for one channel plane.
func (p *MaxPool2D) forwardPlane(plane, y []float32, am []int32) {
	g := &p.g
	for oh := 0; oh < p.oh; oh++ {
		h0 := oh*g.StrideH - g.PadTop
		h1 := min(h0+g.KH, g.InH)
		h0 = max(h0, 0)
		for ow := 0; ow < p.ow; ow++ {
			w0 := ow*g.StrideW - g.PadLeft
			w1 := min(w0+g.KW, g.InW)
			w0 = max(w0, 0)
			bi := h0*g.InW + w0
			best := plane[bi]
			for ih := h0; ih < h1; ih++ {
				for iw := w0; iw < w1; iw++ {
					i := ih*g.InW + iw
					if v := plane[i]; v > best || (v != v && best == best) {
						best, bi = v, i
					}
				}
			}
			y[oh*p.ow+ow] = best
			if am != nil {
				am[oh*p.ow+ow] = int32(bi)
			}
		}
	}
}

func (p *MaxPool2D) backwardImage(img int) {
	ohw := p.oh * p.ow
	dxi := p.dx[img*p.in : (img+1)*p.in]
	clear(dxi)
	for c := 0; c < p.g.C; c++ {
		plane := dxi[c*p.hw : (c+1)*p.hw]
		o := img*p.out + c*ohw
		dy := p.dy[o : o+ohw]
		am := p.argmax[o : o+ohw]
		for i, g := range dy {
			a := am[i]
			if uint(a) >= uint(len(plane)) {
				panic(fmt.Sprintf("conv: argmax[%d] = %d is outside the %d x %d channel plane", o+i, a, p.g.InH, p.g.InW))
			}
			plane[a] += g
		}
	}
	if p.dact != Identity {
		applyGrad(p.ks, p.dact, dxi, p.x[img*p.in:(img+1)*p.in])
	}
}
