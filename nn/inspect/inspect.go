// Package inspect explains a trained model's activation variance layer by
// layer. For every Conv2D and Dense layer it compares the variance of each
// unit's pre-activation z = w.x + b with what the self-normalizing argument
// predicts. That argument (omega = sum w = 0 and tau = sum w^2 = 1 keep
// mean 0 and variance 1) assumes independent inputs: it predicts
// Var(z) = sum_i w_i^2 Var(x_i). The real variance is w^T Sigma w, Sigma
// the covariance of the unit's inputs (a conv unit's C_in x KH x KW patch
// is correlated across positions and channels), so the ratio of the two is
// the amplification by that correlation.
//
// Statistics are in float64 over the samples and, for convolutions, over
// every output position; a conv unit's inputs are its im2col columns, zero
// padding included. The command snn inspect prints them for a run.
package inspect

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/nn"
)

// Row is the measurement of one Conv2D or Dense layer. "med" is the
// median over the layer's units, "rms" the root mean square over them.
// Fields that do not apply (no activation or pooling follows) are NaN.
type Row struct {
	Layer, Kind  string // the layer's name and kind
	Units, FanIn int    // output units (channels), inputs per unit
	// InVar is the mean over a unit's inputs of their variance.
	InVar float64
	// PredVar is the med of sum_i w_i^2 Var(x_i), the independence
	// prediction; PreVar the med of the measured Var(z), bias included.
	PredVar, PreVar float64
	// Ratio is the med of PreVar / PredVar per unit: the amplification by
	// the inputs' correlation.
	Ratio float64
	// PreMean is the med of the measured mean of z; MeanRMS the rms of the
	// units' means of z (units with different means add variance to a
	// whole-layer measure such as the monitor's).
	PreMean, MeanRMS float64
	// BiasRMS is the rms of the biases b, WExRMS the rms of
	// sum_i w_i E[x_i] (the mean of z is b + w.E[x]).
	BiasRMS, WExRMS float64
	// Act and Pool name the activation and the max-pooling that follow
	// the layer, "" if none.
	Act, Pool string
	// ActVar is the variance of the following activation's output over
	// everything (samples, channels, positions), as the monitor reports
	// it; ActWVar the units' mean variance within themselves, so that
	// ActVar - ActWVar is the variance of the units' means.
	ActVar, ActWVar float64
	// PoolVar and PoolWV are ActVar and ActWVar after the following
	// max-pooling.
	PoolVar, PoolWV float64
	// Omega and Tau are the med of the units' sums of weights and of
	// squared weights (0 and 1 under the self-normalizing constraint).
	Omega, Tau float64
}

// Columns names the numeric fields of a Row as WriteTable and WriteCSV
// head them, in the order Row.Values gives them.
var Columns = []string{"units", "fan_in", "in_var", "pred_var", "pre_var", "ratio", "pre_mean", "mean_rms",
	"bias_rms", "wEx_rms", "act_var", "act_wvar", "pool_var", "pool_wvar", "omega", "tau"}

// Values returns the numeric fields of r in the order of Columns.
func (r *Row) Values() []float64 {
	return []float64{float64(r.Units), float64(r.FanIn), r.InVar, r.PredVar, r.PreVar, r.Ratio, r.PreMean, r.MeanRMS,
		r.BiasRMS, r.WExRMS, r.ActVar, r.ActWVar, r.PoolVar, r.PoolWV, r.Omega, r.Tau}
}

// WriteTable writes rows as a right-aligned text table headed by "layer"
// and Columns: counts as integers, the rest to 4 significant digits, "-"
// for NaN.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\t%s\t\n", strings.Join(Columns, "\t"))
	for i := range rows {
		r := &rows[i]
		fmt.Fprintf(tw, "%s\t", r.Layer)
		for j, v := range r.Values() {
			switch {
			case math.IsNaN(v):
				fmt.Fprint(tw, "-\t")
			case j < 2:
				fmt.Fprintf(tw, "%d\t", int(v))
			default:
				fmt.Fprintf(tw, "%.4g\t", v)
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// WriteCSV writes rows as CSV with the columns layer, kind, act, pool and
// then Columns; values have 8 significant digits, NaN is an empty field.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{"layer", "kind", "act", "pool"}, Columns...)); err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		rec := []string{r.Layer, r.Kind, r.Act, r.Pool}
		for _, v := range r.Values() {
			s := ""
			if !math.IsNaN(v) {
				s = strconv.FormatFloat(v, 'g', 8, 64)
			}
			rec = append(rec, s)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Measure runs the first n samples of ds through m in evaluation mode,
// chunk samples per pass, and measures every Conv2D and Dense layer, in
// the model's order.
// It drives the layers one by one with buffers of its own, so that each
// layer's input and output can be read; the layers compute exactly what
// Model.Forward computes.
func Measure(m *nn.Model, ds nn.Dataset, n, chunk int) ([]Row, error) {
	if n < 1 || n > ds.Len() {
		return nil, fmt.Errorf("inspect: %d samples of a data set of %d", n, ds.Len())
	}
	if ds.Shape() != m.InputShape() {
		return nil, fmt.Errorf("inspect: data of shape %v for a model of input %v", ds.Shape(), m.InputShape())
	}
	chunk = max(min(chunk, n), 1)
	layers := m.Layers()

	// Each Conv2D or Dense layer makes a row; the activation and the
	// pooling right after it (alpha dropout, the identity at evaluation,
	// in between) are reported in that row.
	type role struct {
		row  int
		what int // roleLayer, roleAct or rolePool
	}
	const (
		roleNone = iota
		roleLayer
		roleAct
		rolePool
	)
	roles := make([]role, len(layers))
	var accs []*layerAcc
	for i := 0; i < len(layers); i++ {
		l := layers[i]
		in := m.InputShape()
		if i > 0 {
			in = m.Shape(i - 1)
		}
		a := newLayerAcc(l, in, m.Shape(i))
		if a == nil {
			continue
		}
		roles[i] = role{len(accs), roleLayer}
		accs = append(accs, a)
		j := i + 1
		if j < len(layers) && (layers[j].Kind() == "selu" || layers[j].Kind() == "relu") {
			roles[j] = role{len(accs) - 1, roleAct}
			a.row.Act = layerName(layers[j])
			a.act = newMoments(m.Shape(j).C)
			j++
		}
		for j < len(layers) && (layers[j].Kind() == "alphadropout" || layers[j].Kind() == "dropout") {
			j++
		}
		if j < len(layers) && layers[j].Kind() == "maxpool2d" {
			roles[j] = role{len(accs) - 1, rolePool}
			a.row.Pool = layerName(layers[j])
			a.pool = newMoments(m.Shape(j).C)
		}
	}

	biggest := m.InputShape().Size()
	for i := range layers {
		biggest = max(biggest, m.Shape(i).Size())
	}
	x := make([]float32, chunk*m.InputShape().Size())
	labels := make([]int32, chunk)
	buf := [2][]float32{make([]float32, chunk*biggest), make([]float32, chunk*biggest)}
	idx := make([]int, 0, chunk)
	ctx := &nn.Context{}
	for start := 0; start < n; start += chunk {
		nc := min(chunk, n-start)
		idx = idx[:0]
		for k := start; k < start+nc; k++ {
			idx = append(idx, k)
		}
		xs := x[:nc*m.InputShape().Size()]
		if err := ds.Load(idx, xs, labels[:nc]); err != nil {
			return nil, fmt.Errorf("inspect: %w", err)
		}
		in := xs
		for i, l := range layers {
			y := buf[i&1][:nc*m.Shape(i).Size()]
			l.Forward(ctx, nc, in, y)
			switch r := roles[i]; r.what {
			case roleLayer:
				accs[r.row].add(nc, in, y)
			case roleAct:
				accs[r.row].act.add(nc, y)
			case rolePool:
				accs[r.row].pool.add(nc, y)
			}
			in = y
		}
	}
	rows := make([]Row, len(accs))
	for i, a := range accs {
		rows[i] = a.finish()
	}
	return rows, nil
}

func layerName(l nn.Layer) string {
	if nl, ok := l.(interface{ Name() string }); ok {
		return nl.Name()
	}
	return l.Kind()
}

// layerAcc accumulates the statistics of one Conv2D or Dense layer.
type layerAcc struct {
	row  Row
	w, b []float32 // kernel [units][fanIn], bias (nil if none)
	g    conv.Geometry
	// Conv2D: per input element (channel, row, column) the sums over the
	// images of x - shift and its square; Dense: the same with one
	// "position" per feature.
	patch *patchSums
	pre   *moments // per unit, of z
	act   *moments // per channel of the following activation, or nil
	pool  *moments // per channel of the following pooling, or nil
}

// newLayerAcc returns the accumulator of l, or nil if l is neither a
// Conv2D nor a Dense layer.
func newLayerAcc(l nn.Layer, in, out nn.Shape) *layerAcc {
	a := &layerAcc{row: Row{Layer: layerName(l), Kind: l.Kind()}}
	switch c := l.(type) {
	case *nn.Conv2D:
		a.g = c.Geometry()
	case *nn.Dense:
		// A Dense layer is the 1x1 convolution of an in.C x 1 x 1 input.
		a.g = conv.Valid(in.C, 1, 1, out.C, 1, 1)
	default:
		return nil
	}
	for _, p := range l.Params() {
		if p.Kernel {
			a.w = p.Value
		} else {
			a.b = p.Value
		}
	}
	a.row.Units, a.row.FanIn = out.C, len(a.w)/out.C
	a.patch = &patchSums{g: a.g, s1: make([]float64, in.Size()), s2: make([]float64, in.Size()),
		shift: make([]float64, in.C)}
	a.pre = newMoments(out.C)
	return a
}

func (a *layerAcc) add(n int, x, y []float32) {
	a.patch.add(n, x)
	a.pre.add(n, y)
}

func (a *layerAcc) finish() Row {
	r := a.row
	units, fanIn := r.Units, r.FanIn
	colMean, colVar := a.patch.columns()
	preMean, preVar := a.pre.perChannel()
	pred := make([]float64, units)
	ratio := make([]float64, 0, units)
	omega := make([]float64, units)
	tau := make([]float64, units)
	var bias2, wex2, mean2 float64
	for u := range units {
		w := a.w[u*fanIn : (u+1)*fanIn]
		var p, wex, s1, s2 float64
		for i, v := range w {
			wv := float64(v)
			p += wv * wv * colVar[i]
			wex += wv * colMean[i]
			s1 += wv
			s2 += wv * wv
		}
		pred[u], omega[u], tau[u] = p, s1, s2
		if p > 0 {
			ratio = append(ratio, preVar[u]/p)
		}
		if a.b != nil {
			bias2 += float64(a.b[u]) * float64(a.b[u])
		}
		wex2 += wex * wex
		mean2 += preMean[u] * preMean[u]
	}
	r.InVar = mean(colVar)
	r.PredVar = median(pred)
	r.PreVar = median(preVar)
	r.Ratio = median(ratio)
	r.PreMean = median(preMean)
	r.MeanRMS = math.Sqrt(mean2 / float64(units))
	r.BiasRMS = math.Sqrt(bias2 / float64(units))
	r.WExRMS = math.Sqrt(wex2 / float64(units))
	r.Omega, r.Tau = median(omega), median(tau)
	r.ActVar, r.ActWVar = a.act.total()
	r.PoolVar, r.PoolWV = a.pool.total()
	return r
}

// moments accumulates, per channel of [n][C][P] batches, the count and
// the sums of x - shift and of its square in float64, the shift being the
// channel's first value (so that a large mean does not cancel the
// variance).
type moments struct {
	count         []float64
	s1, s2, shift []float64
	shiftSet      bool
	channels      int
}

func newMoments(channels int) *moments {
	return &moments{count: make([]float64, channels), s1: make([]float64, channels), s2: make([]float64, channels),
		shift: make([]float64, channels), channels: channels}
}

func (m *moments) add(n int, y []float32) {
	if n == 0 {
		return
	}
	p := len(y) / n / m.channels
	if !m.shiftSet {
		for c := range m.channels {
			m.shift[c] = float64(y[c*p])
		}
		m.shiftSet = true
	}
	for i := range n {
		for c := range m.channels {
			k := m.shift[c]
			var s1, s2 float64
			for _, v := range y[(i*m.channels+c)*p : (i*m.channels+c+1)*p] {
				d := float64(v) - k
				s1 += d
				s2 += d * d
			}
			m.s1[c] += s1
			m.s2[c] += s2
			m.count[c] += float64(p)
		}
	}
}

// perChannel returns each channel's mean and population variance.
func (m *moments) perChannel() (mean, variance []float64) {
	mean, variance = make([]float64, m.channels), make([]float64, m.channels)
	for c := range m.channels {
		d := m.s1[c] / m.count[c]
		mean[c] = m.shift[c] + d
		variance[c] = max(m.s2[c]/m.count[c]-d*d, 0)
	}
	return mean, variance
}

// total returns the population variance of every value (all channels
// together) and the channels' mean variance within themselves; NaN for a
// nil m. Every channel has the same count, so the first is the second
// plus the variance of the channel means.
func (m *moments) total() (all, within float64) {
	if m == nil {
		return math.NaN(), math.NaN()
	}
	means, vars := m.perChannel()
	mu := mean(means)
	var between float64
	for _, v := range means {
		between += (v - mu) * (v - mu)
	}
	within = mean(vars)
	return within + between/float64(len(means)), within
}

// patchSums accumulates the statistics of a convolution's im2col columns:
// per input element (c, y, x), over the images, the sums of x - shift_c
// and of its square, and the number of images.
type patchSums struct {
	g        conv.Geometry
	images   float64
	s1, s2   []float64 // [InC][InH][InW]
	shift    []float64 // per input channel
	shiftSet bool
}

func (p *patchSums) add(n int, x []float32) {
	g := p.g
	plane := g.InH * g.InW
	if n == 0 {
		return
	}
	if !p.shiftSet {
		for c := range g.InC {
			p.shift[c] = float64(x[c*plane])
		}
		p.shiftSet = true
	}
	for i := range n {
		for c := range g.InC {
			k := p.shift[c]
			off := c * plane
			for j, v := range x[(i*g.InC+c)*plane : (i*g.InC+c+1)*plane] {
				d := float64(v) - k
				p.s1[off+j] += d
				p.s2[off+j] += d * d
			}
		}
	}
	p.images += float64(n)
}

// columns returns the mean and population variance of each of a unit's
// inputs, in the kernel's order (c, ky, kx): input element (c, oy*sh + ky
// - top, ox*sw + kx - left) over every image and output position (oy, ox),
// a zero where that falls in the padding.
func (p *patchSums) columns() (mean, variance []float64) {
	g := p.g
	oh, ow := g.OutH(), g.OutW()
	k := g.InC * g.KH * g.KW
	mean, variance = make([]float64, k), make([]float64, k)
	count := p.images * float64(oh*ow)
	for c := range g.InC {
		sh := p.shift[c]
		for ky := range g.KH {
			for kx := range g.KW {
				var s1, s2 float64
				for oy := range oh {
					iy := oy*g.StrideH + ky - g.PadTop
					for ox := range ow {
						ix := ox*g.StrideW + kx - g.PadLeft
						if iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW {
							// A padding zero in every image: 0 - shift.
							s1 -= sh * p.images
							s2 += sh * sh * p.images
							continue
						}
						j := (c*g.InH+iy)*g.InW + ix
						s1 += p.s1[j]
						s2 += p.s2[j]
					}
				}
				d := s1 / count
				i := (c*g.KH+ky)*g.KW + kx
				mean[i] = sh + d
				variance[i] = max(s2/count-d*d, 0)
			}
		}
	}
	return mean, variance
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// median of v (NaN if empty); v is not changed.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	h := len(s) / 2
	if len(s)%2 == 1 {
		return s[h]
	}
	return (s[h-1] + s[h]) / 2
}
