package nn

import (
	"math"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMonitorReport(t *testing.T) {
	tr := newTiny(t, 4)
	m := tr.Model
	d := synthetic(2, 16, 4, 16, 16)
	_, err := tr.TrainBatch(d.X, d.Y) // gradients to report
	require.NoError(t, err)

	batch := synthetic(3, 6, 4, 16, 16)
	u := &UnitStats{}
	mon := &Monitor{X: batch.X, N: 6, Probes: []Probe{u}}
	r, err := mon.Measure(m, tr.Step())
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Step)
	require.Len(t, r.Layers, len(m.Layers()))

	// Each layer's statistics are those of its output on the batch in
	// evaluation mode (the reference forward pass, stopped at the layer).
	means, vars := refStats(m, batch.X, 6)
	for i, l := range m.Layers() {
		mean, variance := means[i], vars[i]
		lr := r.Layers[i]
		assert.Equal(t, l.(interface{ Name() string }).Name(), lr.Name)
		assert.Equal(t, l.Kind(), lr.Kind)
		assert.Equal(t, m.Shape(i), lr.Shape)
		assert.Equal(t, l.Kind() == "selu" || l.Kind() == "maxpool2d", lr.Watched, lr.Name)
		assert.InDelta(t, mean, lr.Mean, 1e-5*(1+math.Abs(mean)), lr.Name)
		assert.InDelta(t, variance, lr.Var, 1e-5*(1+variance), lr.Name)

		params := l.Params()
		require.Len(t, lr.Params, len(params))
		for j, p := range params {
			pr := lr.Params[j]
			assert.Equal(t, p.Name, pr.Name)
			var g2, sum float64
			for k, v := range p.Grad {
				g2 += float64(v) * float64(v)
				sum += float64(p.Value[k])
			}
			assert.InDelta(t, math.Sqrt(g2), pr.GradNorm, 1e-6*math.Sqrt(g2))
			assert.Positive(t, pr.GradNorm, pr.Name)
			assert.InDelta(t, sum/float64(len(p.Value)), pr.Mean, 1e-6)
		}

		// The probe: per-unit omega and tau of the kernel.
		if len(params) == 0 {
			assert.Empty(t, lr.Stats)
			continue
		}
		k := params[0]
		var omega, tau []float64
		for u := range k.Units() {
			var s1, s2 float64
			for _, v := range k.Unit(u) {
				s1 += float64(v)
				s2 += float64(v) * float64(v)
			}
			omega, tau = append(omega, s1), append(tau, s2)
		}
		sort.Float64s(omega)
		sort.Float64s(tau)
		med := func(v []float64) float64 {
			n := len(v)
			if n%2 == 1 {
				return v[n/2]
			}
			return (v[n/2-1] + v[n/2]) / 2
		}
		for name, want := range map[string]float64{
			"omega_min": omega[0], "omega_median": med(omega), "omega_max": omega[len(omega)-1],
			"tau_min": tau[0], "tau_median": med(tau), "tau_max": tau[len(tau)-1],
		} {
			got, ok := lr.Stat(name)
			require.True(t, ok, "%s: %s", lr.Name, name)
			assert.InDelta(t, want, got, 1e-5*(1+math.Abs(want)), "%s: %s", lr.Name, name)
		}
	}
	_, err = (&Monitor{X: batch.X, N: 5}).Measure(m, 0)
	assert.ErrorContains(t, err, "N = 5")
}

// TestMonitorLeavesTrainingAlone: a run with the monitor (its own forward
// passes, no random numbers) ends with the weights of a run without it,
// and it reports before the first step and every Every steps.
func TestMonitorLeavesTrainingAlone(t *testing.T) {
	d := synthetic(5, 24, 4, 16, 16)
	cfg := FitConfig{BatchSize: 8, Epochs: 3}
	want := paramsOf(fit(t, 6, d, cfg))

	var steps []int64
	var vars [][]float64
	cfg.Monitor = &Monitor{Every: 4, Probes: []Probe{&UnitStats{}}, OnReport: func(r *Report) error {
		steps = append(steps, r.Step)
		var v []float64
		for _, l := range r.Layers {
			if l.Watched {
				v = append(v, l.Var)
			}
		}
		vars = append(vars, v)
		return nil
	}}
	got := paramsOf(fit(t, 6, d, cfg))
	requireSameBits(t, want, got, "with and without the monitor")
	assert.Equal(t, []int64{0, 4, 8}, steps)
	require.Len(t, vars[0], 12+4+3) // 12 conv and 3 dense activations, 4 poolings
	assert.NotEqual(t, vars[0], vars[2], "the statistics follow training")
}

// refStats returns the mean and the variance of every layer's output on
// the n samples of x, from the float64 reference forward pass in
// evaluation mode.
func refStats(m *Model, x []float32, n int) (means, vars []float64) {
	y := to64(x)
	ps := refParamsOf(m)
	c := &Context{}
	for _, l := range m.Layers() {
		y = refLayer(l, c, n, y, ps)
		var s, s2 float64
		for _, v := range y {
			s += v
		}
		mean := s / float64(len(y))
		for _, v := range y {
			s2 += (v - mean) * (v - mean)
		}
		means = append(means, mean)
		vars = append(vars, s2/float64(len(y)))
	}
	return means, vars
}
