package nn

import (
	"fmt"
	"math"
)

// Loss is a classification loss over a batch: n rows of `classes` model
// outputs and one label per row.
type Loss interface {
	// Loss returns the mean loss over the n rows of out and, when grad is
	// not nil, writes its gradient with respect to out into grad (same
	// length as out). Labels must lie in [0, classes).
	Loss(n, classes int, out []float32, labels []int32, grad []float32) float64
	String() string
}

// SoftmaxCrossEntropy is the cross-entropy of the softmax of logits with
// integer labels (Keras' sparse_categorical_crossentropy with
// from_logits=True): per row log(sum_j e^z_j) - z_label, computed with the
// maximum subtracted so it never overflows. The zero value is ready to use;
// it keeps a scratch row, so give each goroutine its own.
type SoftmaxCrossEntropy struct {
	p []float32 // one row's probabilities
}

func (*SoftmaxCrossEntropy) String() string { return "softmax-cross-entropy" }

// Loss implements Loss; the gradient is (softmax(z) - onehot(label))/n.
func (l *SoftmaxCrossEntropy) Loss(n, classes int, out []float32, labels []int32, grad []float32) float64 {
	checkLoss(n, classes, out, labels, grad)
	if len(l.p) < classes {
		l.p = make([]float32, classes)
	}
	p := l.p[:classes]
	var total float64
	inv := float32(1 / float64(max(n, 1)))
	for i := range n {
		z := out[i*classes : (i+1)*classes]
		y := labels[i]
		m, s := softmaxRow(p, z)
		total += math.Log(s) + float64(m) - float64(z[y])
		if grad != nil {
			g := grad[i*classes : (i+1)*classes]
			for j, v := range p {
				g[j] = v * inv
			}
			g[y] -= inv
		}
	}
	return total / float64(max(n, 1))
}

// CrossEntropy is the cross-entropy of probabilities (the output of a
// Softmax layer) with integer labels, as Keras computes it with
// from_logits=False: each row is divided by its sum, the label's
// probability r is clipped to [1e-7, 1-1e-7] and the loss is -log(r). The
// gradient is zero where the clip is active, as in Keras.
type CrossEntropy struct{}

// Epsilon is Keras' backend epsilon, the clip of CrossEntropy.
const Epsilon = 1e-7

func (CrossEntropy) String() string { return "cross-entropy" }

// Loss implements Loss.
func (CrossEntropy) Loss(n, classes int, out []float32, labels []int32, grad []float32) float64 {
	checkLoss(n, classes, out, labels, grad)
	var total float64
	inv := 1 / float64(max(n, 1))
	for i := range n {
		p := out[i*classes : (i+1)*classes]
		y := labels[i]
		var s float64
		for _, v := range p {
			s += float64(v)
		}
		py := float64(p[y])
		r := py / s
		clipped := !(r >= Epsilon && r <= 1-Epsilon)
		total -= math.Log(min(max(r, Epsilon), 1-Epsilon))
		if r != r {
			total = math.NaN()
		}
		if grad == nil {
			continue
		}
		g := grad[i*classes : (i+1)*classes]
		if clipped {
			clear(g)
			continue
		}
		// d(-log(p_y/s))/dp_j = 1/s - [j == y]/p_y.
		for j := range g {
			g[j] = float32(inv / s)
		}
		g[y] = float32(inv * (1/s - 1/py))
	}
	return total * inv
}

func checkLoss(n, classes int, out []float32, labels []int32, grad []float32) {
	if n < 0 || classes < 1 {
		panic(fmt.Sprintf("nn: loss of n = %d rows of %d classes", n, classes))
	}
	samples("loss", "out", n, out, classes)
	if len(labels) != n {
		panic(fmt.Sprintf("nn: loss: len(labels) = %d, want n = %d", len(labels), n))
	}
	if grad != nil && len(grad) != len(out) {
		panic(fmt.Sprintf("nn: loss: len(grad) = %d, want len(out) = %d", len(grad), len(out)))
	}
	for i, y := range labels {
		if y < 0 || int(y) >= classes {
			panic(fmt.Sprintf("nn: loss: labels[%d] = %d is outside [0, %d)", i, y, classes))
		}
	}
}
