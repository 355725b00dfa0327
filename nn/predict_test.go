package nn_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/nn"
)

// smallSeedNet is a narrow SeedNet whose BatchNorm layers, if any, hold
// moving statistics far from their initial ones, so that folding them is
// visible.
func smallSeedNet(t testing.TB, cfg nn.SeedNetConfig) *nn.Model {
	t.Helper()
	if cfg.Filters == nil {
		cfg.Filters = []int{4, 8}
	}
	if cfg.Hidden == nil {
		cfg.Hidden = []int{16, 12}
	}
	cfg.ConvsPerStage = max(cfg.ConvsPerStage, 2)
	if cfg.Seed == 0 {
		cfg.Seed = 3
	}
	m, err := nn.NewSeedNet(cfg)
	require.NoError(t, err)
	r := testkit.Rand(cfg.Seed)
	for _, s := range m.State() {
		for i := range s.Data {
			if filepath.Ext(s.Name) == ".moving_variance" {
				s.Data[i] = 0.2 + 2*r.Float32()
			} else {
				s.Data[i] = r.Float32() - 0.5
			}
		}
	}
	for _, p := range m.Params() {
		if !p.Kernel {
			for i := range p.Value {
				p.Value[i] = 0.1 * (r.Float32() - 0.5)
			}
		}
	}
	return m
}

// reference is what a Predictor must compute: the model itself in
// evaluation mode on inputs standardized as nn.Standardization.Apply does,
// then a softmax in float64.
func reference(t testing.TB, m *nn.Model, st *nn.Standardization, x []float32, n int) (logits, probs []float32) {
	t.Helper()
	d, err := nn.NewTensors(m.InputShape(), 1, append([]float32(nil), x...), make([]int32, n))
	require.NoError(t, err)
	var ds nn.Dataset = d
	if st != nil {
		ds, err = st.Apply(d)
		require.NoError(t, err)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	xs := make([]float32, len(x))
	require.NoError(t, ds.Load(idx, xs, make([]int32, n)))
	logits = append([]float32(nil), m.Forward(&nn.Context{}, n, xs)...)
	k := m.OutputShape().Size()
	probs = make([]float32, len(logits))
	for i := range n {
		row := logits[i*k : (i+1)*k]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		for j, v := range row {
			probs[i*k+j] = float32(math.Exp(float64(v)-mx) / s)
		}
	}
	return logits, probs
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func TestPredictorMatchesTheModel(t *testing.T) {
	st := &nn.Standardization{Mean: []float64{0.3}, Std: []float64{0.25}}
	for _, tc := range []struct {
		name string
		cfg  nn.SeedNetConfig
		st   *nn.Standardization
		// tol bounds the logits' difference: 0 where nothing is folded.
		tol float64
	}{
		{"selu", nn.SeedNetConfig{Height: 16, Classes: 5}, st, 0},
		{"relu dropout unstandardized", nn.SeedNetConfig{Height: 16, Classes: 5, Activation: "relu", Dropout: 0.3}, nil, 0},
		{"selu alpha dropout batchnorm", nn.SeedNetConfig{Height: 20, Width: 18, Classes: 7, Dropout: 0.2, BatchNorm: true}, st, 1e-4},
		{"softmax output", nn.SeedNetConfig{Height: 16, Classes: 4, SoftmaxOutput: true}, st, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := smallSeedNet(t, tc.cfg)
			p, err := nn.NewPredictor(m, tc.st, []string{"a", "b"})
			require.NoError(t, err)
			n := 6
			x := testkit.Uniform(testkit.Rand(7), n*m.InputShape().Size(), 0, 1)
			keep := append([]float32(nil), x...)
			logits, probs := reference(t, m, tc.st, x, n)
			gotL := make([]float32, len(logits))
			gotP := make([]float32, len(probs))
			p.Logits(x, n, gotL)
			p.Predict(x, n, gotP)
			assert.Equal(t, keep, x, "the caller's input is not standardized in place")
			assert.LessOrEqual(t, maxAbsDiff(gotL, logits), tc.tol, "logits")
			if tc.cfg.SoftmaxOutput {
				// The network's own softmax, not a second one.
				assert.LessOrEqual(t, maxAbsDiff(gotP, logits), tc.tol)
			} else {
				assert.LessOrEqual(t, maxAbsDiff(gotP, probs), 1e-6+tc.tol, "probabilities")
			}
			assert.Equal(t, m.OutputShape().Size(), p.Classes())
			assert.Equal(t, "b", p.ClassName(1))
			assert.Equal(t, "", p.ClassName(2))
			_, ok := p.Standardization()
			assert.Equal(t, tc.st != nil, ok)
		})
	}
}

func TestPredictorConcurrentCalls(t *testing.T) {
	m := smallSeedNet(t, nn.SeedNetConfig{Height: 16, Classes: 6, BatchNorm: true})
	p, err := nn.NewPredictor(m, &nn.Standardization{Mean: []float64{0.5}, Std: []float64{0.2}}, nil)
	require.NoError(t, err)
	size := p.InputShape().Size()
	const workers, calls = 6, 8
	type job struct {
		x    []float32
		n    int
		want []float32
	}
	jobs := make([][]job, workers)
	for w := range jobs {
		for c := range calls {
			n := 1 + (w+c)%4
			j := job{x: testkit.Uniform(testkit.Rand(uint64(100*w+c)), n*size, 0, 1), n: n}
			j.want = make([]float32, n*p.Classes())
			p.Predict(j.x, n, j.want)
			jobs[w] = append(jobs[w], j)
		}
	}
	got := make([][][]float32, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, j := range jobs[w] {
				out := make([]float32, len(j.want))
				p.Predict(j.x, j.n, out)
				got[w] = append(got[w], out)
			}
		})
	}
	wg.Wait()
	for w := range workers {
		for c, j := range jobs[w] {
			require.Equal(t, j.want, got[w][c], "worker %d call %d", w, c)
		}
	}
}

func TestPredictorAllocatesNothing(t *testing.T) {
	if testkit.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	m := smallSeedNet(t, nn.SeedNetConfig{Height: 16, Classes: 6, BatchNorm: true, Dropout: 0.1})
	p, err := nn.NewPredictor(m, &nn.Standardization{Mean: []float64{0.5}, Std: []float64{0.2}}, nil)
	require.NoError(t, err)
	x := testkit.Uniform(testkit.Rand(1), 8*p.InputShape().Size(), 0, 1)
	out := make([]float32, 8*p.Classes())
	p.Predict(x, 8, out)
	allocs := testkit.AllocsPerRun(20, func() {
		p.Predict(x, 8, out)
		p.Predict(x[:3*p.InputShape().Size()], 3, out[:3*p.Classes()])
	})
	assert.Zero(t, allocs)
}

func TestPredictorPanicsOnBadLengths(t *testing.T) {
	m := smallSeedNet(t, nn.SeedNetConfig{Height: 16, Classes: 3})
	p, err := nn.NewPredictor(m, nil, nil)
	require.NoError(t, err)
	size := p.InputShape().Size()
	for _, tc := range []struct {
		name string
		x    []float32
		n    int
		out  []float32
		msg  string
	}{
		{"short x", make([]float32, size-1), 1, make([]float32, 3), "nn: Predictor.Predict: len(x) = 255, want n*1x16x16 = 1*256"},
		{"short out", make([]float32, 2*size), 2, make([]float32, 5), "nn: Predictor.Predict: len(out) = 5, want n*3 = 6"},
		{"negative n", nil, -1, nil, "nn: Predictor.Predict: n = -1 < 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tc.msg, func() { p.Predict(tc.x, tc.n, tc.out) })
		})
	}
	assert.NotPanics(t, func() { p.Predict(nil, 0, nil) })
}

func TestLoad(t *testing.T) {
	cfg := nn.SeedNetConfig{Height: 16, Classes: 4, BatchNorm: true, Filters: []int{4, 8}, Hidden: []int{16}, ConvsPerStage: 2}
	m := smallSeedNet(t, cfg)
	st := nn.Standardization{Mean: []float64{0.4}, Std: []float64{0.3}}
	dir := t.TempDir()
	tr := nn.NewTrainer(m, nn.NewAdam(), 1)
	arch, err := json.Marshal(cfg)
	require.NoError(t, err)
	save := func(name string, sections map[string][]byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, tr.Save(path, func(c *nn.Checkpoint) {
			c.Sections = sections
			c.Extra = st.Tensors()
		}))
		return path
	}
	good := save("good.snn", map[string][]byte{nn.SeedNetSection: arch, nn.ClassNamesSection: []byte(`["w","x","y","z"]`)})
	p, err := nn.Load(good)
	require.NoError(t, err)
	assert.Equal(t, "z", p.ClassName(3))
	n := 3
	x := testkit.Uniform(testkit.Rand(2), n*p.InputShape().Size(), 0, 1)
	_, want := reference(t, m, &st, x, n)
	got := make([]float32, len(want))
	p.Predict(x, n, got)
	assert.LessOrEqual(t, maxAbsDiff(got, want), 1e-5)

	t.Run("errors", func(t *testing.T) {
		bare := save("bare.snn", nil)
		_, err := nn.Load(bare)
		assert.ErrorContains(t, err, "has no nn/seednet section")
		assert.ErrorContains(t, err, bare)

		tooMany := save("names.snn", map[string][]byte{nn.SeedNetSection: arch, nn.ClassNamesSection: []byte(`["a","b","c","d","e"]`)})
		_, err = nn.Load(tooMany)
		assert.ErrorContains(t, err, "names 5 classes, the network has 4 outputs")

		other, err := json.Marshal(nn.SeedNetConfig{Height: 16, Classes: 4, Filters: []int{4, 8}, Hidden: []int{16}, ConvsPerStage: 2})
		require.NoError(t, err)
		_, err = nn.Load(save("arch.snn", map[string][]byte{nn.SeedNetSection: other}))
		assert.ErrorContains(t, err, "checkpoint has 27 tensors of parameters, the trainer 12", "a network without BatchNorm does not take these weights")

		b, err := os.ReadFile(good)
		require.NoError(t, err)
		b[len(b)/2] ^= 1
		bad := filepath.Join(dir, "bad.snn")
		require.NoError(t, os.WriteFile(bad, b, 0o644))
		_, err = nn.Load(bad)
		assert.ErrorIs(t, err, nn.ErrCorrupt)
	})
}
