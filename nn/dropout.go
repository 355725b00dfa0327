package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snn/act"
)

// AlphaDropout is Keras' AlphaDropout, the dropout of self-normalizing
// networks: during training each unit is dropped with probability Rate and
// set to SELU's negative saturation value -Lambda*Alpha instead of 0, then
// every unit goes through the affine map a*x + b that restores a zero mean
// and unit variance input's mean and variance:
//
//	a = ((1-Rate) * (1 + Rate*(Lambda*Alpha)^2))^(-1/2)
//	b = a * Lambda*Alpha * Rate
//
// At evaluation it is the identity. Masks are drawn from the counter-based
// stream of (Context.Seed, Context.Step, layer index), so a resumed run
// draws the same masks.
type AlphaDropout struct {
	LayerBase
	Rate float64

	mask []float32 // 1 kept, 0 dropped, of the last training batch
}

func (l *AlphaDropout) Kind() string { return "alphadropout" }

func (l *AlphaDropout) Build(in Shape) (Shape, error) {
	if !(l.Rate >= 0 && l.Rate < 1) {
		return Shape{}, fmt.Errorf("rate = %v, must be in [0, 1)", l.Rate)
	}
	return in, nil
}

func (l *AlphaDropout) Params() []*Param { return nil }
func (l *AlphaDropout) Flags() Flags     { return InPlace }

// Affine returns the a and b of the correction.
func (l *AlphaDropout) Affine() (a, b float64) {
	alphaP := -act.Lambda * act.Alpha
	a = 1 / math.Sqrt((1-l.Rate)*(1+l.Rate*alphaP*alphaP))
	b = -a * alphaP * l.Rate
	return a, b
}

func (l *AlphaDropout) Forward(c *Context, _ int, x, y []float32) {
	sameLen("AlphaDropout.Forward", "y", y, "x", x)
	if !c.Training || l.Rate == 0 {
		if !sameSlice(x, y) {
			copy(y, x)
		}
		return
	}
	if len(l.mask) < len(x) {
		l.mask = make([]float32, len(x))
	}
	a64, b64 := l.Affine()
	a, b := float32(a64), float32(b64)
	dropped := float32(-act.Lambda*act.Alpha*a64 + b64) // a*alpha' + b
	rate := float32(l.Rate)
	key := streamKey(c.Seed, purposeDropout, uint64(c.Step), uint64(l.index))
	mask := l.mask[:len(x)]
	for i, v := range x {
		if uniform32(key, i) >= rate {
			mask[i] = 1
			y[i] = a*v + b
		} else {
			mask[i] = 0
			y[i] = dropped
		}
	}
}

func (l *AlphaDropout) Backward(c *Context, _ int, _, _, dy, dx []float32) {
	if dx == nil {
		return
	}
	sameLen("AlphaDropout.Backward", "dx", dx, "dy", dy)
	if !c.Training || l.Rate == 0 {
		if !sameSlice(dx, dy) {
			copy(dx, dy)
		}
		return
	}
	a64, _ := l.Affine()
	a := float32(a64)
	mask := trainedMask("AlphaDropout", l.mask, len(dy))
	for i, g := range dy {
		dx[i] = a * mask[i] * g
	}
}

// Dropout is Keras' (inverted) Dropout: during training each unit is set to
// 0 with probability Rate and the others are scaled by 1/(1-Rate); at
// evaluation it is the identity. Masks are drawn as AlphaDropout's.
type Dropout struct {
	LayerBase
	Rate float64

	mask []float32 // 1/(1-Rate) kept, 0 dropped
}

func (l *Dropout) Kind() string { return "dropout" }

func (l *Dropout) Build(in Shape) (Shape, error) {
	if !(l.Rate >= 0 && l.Rate < 1) {
		return Shape{}, fmt.Errorf("rate = %v, must be in [0, 1)", l.Rate)
	}
	return in, nil
}

func (l *Dropout) Params() []*Param { return nil }
func (l *Dropout) Flags() Flags     { return InPlace }

func (l *Dropout) Forward(c *Context, _ int, x, y []float32) {
	sameLen("Dropout.Forward", "y", y, "x", x)
	if !c.Training || l.Rate == 0 {
		if !sameSlice(x, y) {
			copy(y, x)
		}
		return
	}
	if len(l.mask) < len(x) {
		l.mask = make([]float32, len(x))
	}
	scale := float32(1 / (1 - l.Rate))
	rate := float32(l.Rate)
	key := streamKey(c.Seed, purposeDropout, uint64(c.Step), uint64(l.index))
	mask := l.mask[:len(x)]
	for i, v := range x {
		m := float32(0)
		if uniform32(key, i) >= rate {
			m = scale
		}
		mask[i] = m
		y[i] = v * m
	}
}

func (l *Dropout) Backward(c *Context, _ int, _, _, dy, dx []float32) {
	if dx == nil {
		return
	}
	sameLen("Dropout.Backward", "dx", dx, "dy", dy)
	if !c.Training || l.Rate == 0 {
		if !sameSlice(dx, dy) {
			copy(dx, dy)
		}
		return
	}
	mask := trainedMask("Dropout", l.mask, len(dy))
	for i, g := range dy {
		dx[i] = g * mask[i]
	}
}

// trainedMask returns the first n floats of the mask of the last training
// Forward, which must have run on at least n values.
func trainedMask(kind string, mask []float32, n int) []float32 {
	if len(mask) < n {
		panic(fmt.Sprintf("nn: %s.Backward: len(dy) = %d, but no training Forward has run on that many values", kind, n))
	}
	return mask[:n]
}
