package nn

import "fmt"

// Metrics summarize a model's outputs on labelled samples.
type Metrics struct {
	N    int     // samples
	Loss float64 // mean loss
	Top1 float64 // fraction whose label has the highest output
	Top5 float64 // fraction whose label is among the five highest
}

func (m Metrics) String() string {
	return fmt.Sprintf("loss %.4f, top-1 %.2f%%, top-5 %.2f%% (%d samples)", m.Loss, 100*m.Top1, 100*m.Top5, m.N)
}

// TopK returns how many of the n rows of out (n x classes) rank their
// label among the k highest outputs. Ties are broken by class index, the
// lower first, as a stable sort would: a network whose outputs are all
// equal scores 1/classes, not 100%. A NaN output never ranks.
//
// out must hold n*classes values and labels n labels in [0, classes).
func TopK(n, classes int, out []float32, labels []int32, k int) int {
	if classes < 1 {
		panic(fmt.Sprintf("nn: TopK: classes = %d < 1", classes))
	}
	samples("TopK", "out", n, out, classes)
	if len(labels) != n {
		panic(fmt.Sprintf("nn: TopK: len(labels) = %d, want n = %d", len(labels), n))
	}
	for i, y := range labels {
		if y < 0 || int(y) >= classes {
			panic(fmt.Sprintf("nn: TopK: labels[%d] = %d is outside [0, classes = %d)", i, y, classes))
		}
	}
	hits := 0
	for i := range n {
		z := out[i*classes : (i+1)*classes]
		y := int(labels[i])
		zy := z[y]
		if zy != zy {
			continue
		}
		rank := 0
		for j, v := range z {
			if v > zy || (v == zy && j < y) {
				rank++
				if rank >= k {
					break
				}
			}
		}
		if rank < k {
			hits++
		}
	}
	return hits
}

// DefaultLoss is the loss that matches the model's output: CrossEntropy
// after a Softmax layer, SoftmaxCrossEntropy on logits otherwise.
func DefaultLoss(m *Model) Loss {
	if _, ok := m.layers[len(m.layers)-1].(*Softmax); ok {
		return CrossEntropy{}
	}
	return &SoftmaxCrossEntropy{}
}

// predictBatch is the batch Predict and Evaluate use for a model that has
// not run yet.
const predictBatch = 32

// Predict runs the model in evaluation mode (dropout off) on the samples
// in x ([n][InputShape]) and writes the outputs to out ([n][OutputShape]):
// logits, or probabilities after a Softmax layer. It works in batches of
// the largest size the model has run with (32 if none).
func (m *Model) Predict(x, out []float32) {
	m.use.enter("Model")
	defer m.use.leave()
	in, os := m.in.Size(), m.OutputShape().Size()
	if len(x)%in != 0 {
		panic(fmt.Sprintf("nn: Predict: len(x) = %d is not a multiple of the sample size %d", len(x), in))
	}
	n := len(x) / in
	samples("Predict", "out", n, out, os)
	b := m.cap
	if b == 0 {
		b = predictBatch
	}
	c := &Context{}
	for i := 0; i < n; i += b {
		k := min(b, n-i)
		y := m.forwardBatch("Predict", c, k, x[i*in:(i+k)*in])
		copy(out[i*os:(i+k)*os], y)
	}
}

// Evaluate runs the model in evaluation mode over the whole data set in
// its order, in batches of batch samples, and returns the mean loss and
// the top-1 and top-5 accuracy. loss nil means DefaultLoss(m).
func Evaluate(m *Model, loss Loss, ds Dataset, batch int) (Metrics, error) {
	if ds.Shape() != m.in {
		return Metrics{}, fmt.Errorf("nn: Evaluate: data of shape %v, model input %v", ds.Shape(), m.in)
	}
	classes := m.OutputShape().Size()
	if ds.Classes() > classes {
		return Metrics{}, fmt.Errorf("nn: Evaluate: data of %d classes, model output %d", ds.Classes(), classes)
	}
	if batch < 1 {
		return Metrics{}, fmt.Errorf("nn: Evaluate: batch %d < 1", batch)
	}
	if loss == nil {
		loss = DefaultLoss(m)
	}
	total := ds.Len()
	if total < 0 {
		return Metrics{}, fmt.Errorf("nn: Evaluate: data set of %d samples", total)
	}
	batch = min(batch, total)
	size, ok := floats(batch, m.in.Size())
	if !ok {
		return Metrics{}, fmt.Errorf("nn: Evaluate: batch = %d samples of %v are more floats than a buffer holds", batch, m.in)
	}
	x := make([]float32, size)
	labels := make([]int32, batch)
	idx := make([]int, batch)
	c := &Context{}
	var r Metrics
	var top1, top5 int
	for i := 0; i < total; i += batch {
		k := min(batch, total-i)
		for j := range k {
			idx[j] = i + j
		}
		xs, ls := x[:k*m.in.Size()], labels[:k]
		if err := ds.Load(idx[:k], xs, ls); err != nil {
			return Metrics{}, fmt.Errorf("nn: Evaluate: samples %d..%d: %w", i, i+k-1, err)
		}
		if err := checkLabels(ls, classes); err != nil {
			return Metrics{}, fmt.Errorf("nn: Evaluate: samples %d..%d: %w", i, i+k-1, err)
		}
		out := m.Forward(c, k, xs)
		r.Loss += loss.Loss(k, classes, out, ls, nil) * float64(k)
		top1 += TopK(k, classes, out, ls, 1)
		top5 += TopK(k, classes, out, ls, 5)
	}
	r.N = total
	if total > 0 {
		r.Loss /= float64(total)
		r.Top1 = float64(top1) / float64(total)
		r.Top5 = float64(top5) / float64(total)
	}
	return r, nil
}

func checkLabels(labels []int32, classes int) error {
	for i, l := range labels {
		if l < 0 || int(l) >= classes {
			return fmt.Errorf("label %d of batch row %d is outside [0, %d)", l, i, classes)
		}
	}
	return nil
}
