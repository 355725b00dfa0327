package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/internal/bounds"
	"github.com/snnkit/snn/kernels"
)

// Monitor makes the self-normalizing property visible: every Every steps
// it runs the model in evaluation mode (dropout off, no random numbers
// drawn, so training is unaffected) on one fixed batch and reports, per
// layer, the mean and variance of the layer's output, and per parameter
// its mean, variance and the norm of its last gradient. Probes add their
// own statistics.
type Monitor struct {
	// Every is the interval in steps (Fit also measures before the first
	// step of a fresh trainer); <= 0 measures only then.
	Every int64
	// X is the fixed batch, N samples of the model's input shape. If nil,
	// Fit takes the first min(BatchSize, Len) samples of the training set
	// in index order.
	X []float32
	N int
	// Probes add statistics to each layer's report.
	Probes []Probe
	// OnReport receives every report; the report and its slices are
	// reused by the next measurement, so copy what you keep. An error
	// stops Fit.
	OnReport func(*Report) error

	report Report
	obs    monitorObserver
}

// Report is one measurement of the Monitor.
type Report struct {
	Step   int64 // updates done when measured
	Layers []LayerReport
}

// LayerReport describes one layer on the monitor's batch.
type LayerReport struct {
	Index      int
	Name, Kind string
	Shape      Shape // output shape
	// Watched marks the layers whose outputs make the self-normalization
	// picture: activations and poolings.
	Watched bool
	// Mean and Var are the mean and population variance of the layer's
	// output over the batch (every sample, channel and position).
	Mean, Var float64
	Params    []ParamReport
	// Stats holds what the probes added.
	Stats []Stat
}

// ParamReport describes one parameter.
type ParamReport struct {
	Name      string
	Kernel    bool
	Mean, Var float64 // of the values
	// GradNorm is the L2 norm of the gradient of the last training step
	// (0 before the first).
	GradNorm float64
}

// Stat is one named statistic.
type Stat struct {
	Name  string
	Value float64
}

// Probe computes statistics of a layer for the monitor; it appends them to
// r.Stats. The layer's output on the monitor's batch is y (valid only
// during the call).
type Probe interface {
	Probe(l Layer, y []float32, r *LayerReport)
}

// watchedKinds are the layer kinds whose outputs LayerReport.Watched marks.
var watchedKinds = map[string]bool{"selu": true, "relu": true, "maxpool2d": true}

type monitorObserver struct {
	m      *Monitor
	layers []Layer
}

func (o *monitorObserver) observe(i int, y []float32) bool {
	r := &o.m.report.Layers[i]
	r.Mean, r.Var = meanVar(y)
	for _, p := range o.m.Probes {
		p.Probe(o.layers[i], y, r)
	}
	return true
}

// meanVar is the mean and population variance of x. The kernels' result
// is a float32, and their partial sums of squares are float32 too: both
// overflow to +Inf for values beyond about 1e19, which a diverging network
// reaches long before its outputs stop being finite. Then x is summed
// again in float64, around its mean, so that the variance is finite
// whenever every value is.
func meanVar(x []float32) (mean, variance float64) {
	m, v := act.MeanVar(x)
	if !math.IsInf(float64(v), 0) && !math.IsNaN(float64(v)) {
		return float64(m), float64(v)
	}
	for _, e := range x {
		mean += float64(e)
	}
	mean /= float64(len(x))
	for _, e := range x {
		d := float64(e) - mean
		variance += d * d
	}
	return mean, variance / float64(len(x))
}

// prepare takes the fixed batch from ds if none was given and checks it.
func (mo *Monitor) prepare(m *Model, ds Dataset, batch int) error {
	if mo.X == nil {
		n := max(0, min(batch, ds.Len()))
		size, ok := floats(n, m.in.Size())
		if !ok {
			return fmt.Errorf("nn: monitor batch: %d samples of %v are more floats than a buffer holds", n, m.in)
		}
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		x := make([]float32, size)
		if err := ds.Load(idx, x, make([]int32, n)); err != nil {
			return fmt.Errorf("nn: monitor batch: %w", err)
		}
		mo.X, mo.N = x, n
	}
	return nil
}

// Measure runs the model on the monitor's batch and returns the report
// (reused by the next call). step is recorded in it.
func (mo *Monitor) Measure(m *Model, step int64) (*Report, error) {
	m.use.enter("Model")
	defer m.use.leave()
	if mo.N < 1 || !bounds.IsProduct(len(mo.X), mo.N, m.in.Size()) {
		return nil, fmt.Errorf("nn: monitor batch of %d values is not N = %d samples of %v", len(mo.X), mo.N, m.in)
	}
	r := &mo.report
	r.Step = step
	if len(r.Layers) != len(m.layers) {
		r.Layers = make([]LayerReport, len(m.layers))
	}
	for i, l := range m.layers {
		lr := &r.Layers[i]
		lr.Index, lr.Name, lr.Kind, lr.Shape = i, l.base().name, l.Kind(), m.shapes[i]
		lr.Watched = watchedKinds[lr.Kind]
		lr.Stats = lr.Stats[:0]
		lr.Params = lr.Params[:0]
		for _, p := range l.Params() {
			mean, v := meanVar(p.Value)
			_, g2 := kernels.Active().Act.Moments(p.Grad, 0)
			lr.Params = append(lr.Params, ParamReport{Name: p.Name, Kernel: p.Kernel, Mean: mean, Var: v, GradNorm: math.Sqrt(g2)})
		}
	}
	mo.obs = monitorObserver{m: mo, layers: m.layers}
	m.reserve("Monitor.Measure", mo.N)
	m.forward(&Context{}, mo.N, mo.X, &mo.obs)
	return r, nil
}

func (mo *Monitor) run(m *Model, step int64) error {
	r, err := mo.Measure(m, step)
	if err != nil {
		return err
	}
	if mo.OnReport != nil {
		return mo.OnReport(r)
	}
	return nil
}

// Stat returns the value of the named statistic and whether it is there.
func (r *LayerReport) Stat(name string) (float64, bool) {
	for _, s := range r.Stats {
		if s.Name == name {
			return s.Value, true
		}
	}
	return 0, false
}

// UnitStats is a Probe for the per-unit view of a kernel that the
// self-normalizing fixed point assumes: for each unit u, omega = the sum of
// its incoming weights and tau = the sum of their squares (mean 0 and
// variance 1 are kept when omega = 0 and tau = 1). It adds omega_min,
// omega_median, omega_max, tau_min, tau_median and tau_max for layers with
// a kernel.
type UnitStats struct {
	omega, tau []float64
}

// Probe implements Probe.
func (u *UnitStats) Probe(l Layer, _ []float32, r *LayerReport) {
	var k *Param
	for _, p := range l.Params() {
		if p.Kernel {
			k = p
			break
		}
	}
	if k == nil {
		return
	}
	u.omega, u.tau = u.omega[:0], u.tau[:0]
	ks := kernels.Active()
	for i := range k.Units() {
		s1, s2 := ks.Act.Moments(k.Unit(i), 0)
		u.omega = append(u.omega, s1)
		u.tau = append(u.tau, s2)
	}
	for _, q := range []struct {
		name string
		v    []float64
	}{{"omega", u.omega}, {"tau", u.tau}} {
		slices.Sort(q.v)
		n := len(q.v)
		med := q.v[n/2]
		if n%2 == 0 {
			med = (q.v[n/2-1] + q.v[n/2]) / 2
		}
		r.Stats = append(r.Stats, Stat{q.name + "_min", q.v[0]}, Stat{q.name + "_median", med}, Stat{q.name + "_max", q.v[n-1]})
	}
}
