package nn

import "fmt"

// Fold returns a model for inference in which every BatchNorm is merged
// into the Conv2D or Dense layer before it: that layer's kernel unit u is
// multiplied by a = gamma/sqrt(moving_variance + epsilon) and its bias
// becomes (bias - moving_mean)*a + beta (a layer without a bias gets one).
// The folded model computes what m computes in evaluation mode, to within
// rounding, with no normalization left to run. Layers keep their names;
// the parameters are copies, computed in float64 and rounded once. m is
// unchanged.
//
// Fold knows the layers of this package; a model with another layer, or a
// BatchNorm that does not follow a Conv2D or Dense, is an error.
func (m *Model) Fold() (*Model, error) {
	var layers []Layer
	var src []int // src[j]: the index in m of folded layer j
	for i, l := range m.layers {
		if bn, ok := l.(*BatchNorm); ok {
			if !foldable(m, i) {
				return nil, fmt.Errorf("nn: Fold: %s does not follow a conv2d or dense layer", bn.name)
			}
			continue
		}
		c, err := cloneLayer(l)
		if err != nil {
			return nil, err
		}
		if bnNext(m, i) {
			switch c := c.(type) {
			case *Conv2D:
				c.NoBias = false
			case *Dense:
				c.NoBias = false
			}
		}
		layers = append(layers, c)
		src = append(src, i)
	}
	f, err := NewModel(m.in, layers...)
	if err != nil {
		return nil, fmt.Errorf("nn: Fold: %w", err)
	}
	f.SetThreads(m.threads)
	for j, i := range src {
		if bnNext(m, i) {
			foldInto(m.layers[i], m.layers[i+1].(*BatchNorm), f.layers[j])
			continue
		}
		for k, p := range m.layers[i].Params() {
			copy(f.layers[j].Params()[k].Value, p.Value)
		}
	}
	return f, nil
}

// bnNext reports whether layer i+1 of m is a BatchNorm.
func bnNext(m *Model, i int) bool {
	if i+1 >= len(m.layers) {
		return false
	}
	_, ok := m.layers[i+1].(*BatchNorm)
	return ok
}

// foldable reports whether layer i (a BatchNorm) follows a Conv2D or Dense.
func foldable(m *Model, i int) bool {
	if i == 0 {
		return false
	}
	switch m.layers[i-1].(type) {
	case *Conv2D, *Dense:
		return true
	}
	return false
}

// foldInto writes src's parameters, scaled by bn, into dst (a clone of src
// with a bias).
func foldInto(src Layer, bn *BatchNorm, dst Layer) {
	sp, dp := src.Params(), dst.Params()
	w, dw, db := sp[0], dp[0], dp[1]
	for u := range w.Units() {
		a, b := bn.scale(u)
		bias := 0.0
		if len(sp) > 1 {
			bias = float64(sp[1].Value[u])
		}
		// scale gives b = beta - mean*a; the bias passes through the
		// normalization as bias*a.
		db.Value[u] = float32(bias*a + b)
		ws, wd := w.Unit(u), dw.Unit(u)
		for k, v := range ws {
			wd[k] = float32(float64(v) * a)
		}
	}
}

// cloneLayer returns an unbuilt copy of l's configuration, with its name.
func cloneLayer(l Layer) (Layer, error) {
	var c Layer
	switch l := l.(type) {
	case *Conv2D:
		c = &Conv2D{Filters: l.Filters, KernelSize: l.KernelSize, Stride: l.Stride, Padding: l.Padding,
			NoBias: l.NoBias, Init: l.Init, Constraint: l.Constraint}
	case *Dense:
		c = &Dense{Units: l.Units, NoBias: l.NoBias, Init: l.Init, Constraint: l.Constraint}
	case *MaxPool2D:
		c = &MaxPool2D{Size: l.Size, Stride: l.Stride, Padding: l.Padding}
	case *Flatten:
		c = &Flatten{}
	case *SELU:
		c = &SELU{}
	case *ReLU:
		c = &ReLU{}
	case *Softmax:
		c = &Softmax{}
	case *AlphaDropout:
		c = &AlphaDropout{Rate: l.Rate}
	case *Dropout:
		c = &Dropout{Rate: l.Rate}
	default:
		return nil, fmt.Errorf("nn: Fold: cannot copy layer %s of kind %s", l.base().name, l.Kind())
	}
	c.base().SetName(l.base().name)
	return c, nil
}
