package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unitMoments returns omega and tau of every unit of p, in float64.
func unitMoments(p *Param) (omega, tau []float64) {
	for u := range p.Units() {
		var o, t float64
		for _, v := range p.Unit(u) {
			o += float64(v)
			t += float64(v) * float64(v)
		}
		omega, tau = append(omega, o), append(tau, t)
	}
	return omega, tau
}

func driftedKernel(r *rand.Rand, shape ...int) *Param {
	p := NewParam("k", true, nil, 0, 0, shape...)
	for u := range p.Units() {
		bias := 0.2 * r.NormFloat64()
		for i := range p.Unit(u) {
			p.Unit(u)[i] = float32(bias + 0.7*r.NormFloat64()/math.Sqrt(float64(p.FanIn())))
		}
	}
	return p
}

func TestSelfNormalizingPerUnit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][]int{{512, 4096}, {256, 256, 3, 3}, {32, 1, 3, 3}, {10, 512}} {
		p := driftedKernel(r, shape...)
		SelfNormalizing{}.Apply(p)
		omega, tau := unitMoments(p)
		for u := range omega {
			require.Less(t, math.Abs(omega[u]), 1e-5, "%v unit %d omega", shape, u)
			require.Less(t, math.Abs(tau[u]-1), 1e-5, "%v unit %d tau", shape, u)
		}
	}
}

func TestSelfNormalizingVariants(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	p := driftedKernel(r, 64, 288)
	orig := append([]float32(nil), p.Value...)

	SelfNormalizing{OmegaOnly: true}.Apply(p)
	omega, _ := unitMoments(p)
	for u := range omega {
		// Centring rounds the unit's mean once (an error all n weights
		// share) and each difference once.
		var mean, rms float64
		for _, v := range orig[u*288 : (u+1)*288] {
			mean += float64(v) / 288
			rms += float64(v) * float64(v) / 288
		}
		bound := 288*0x1p-24*math.Abs(mean) + math.Sqrt(288)*0x1p-24*math.Sqrt(rms)
		assert.Less(t, math.Abs(omega[u]), 2*bound, "unit %d", u)
	}
	// Omega only: each unit just loses its mean.
	var m float64
	for _, v := range orig[:288] {
		m += float64(v)
	}
	assert.InDelta(t, float64(orig[5])-m/288, float64(p.Value[5]), 1e-6)

	copy(p.Value, orig)
	SelfNormalizing{Scope: WholeTensor}.Apply(p)
	omega, tau := unitMoments(p)
	var so, st float64
	for u := range omega {
		so += omega[u]
		st += tau[u]
	}
	assert.Less(t, math.Abs(so), 1e-4, "whole tensor: sum of all weights")
	assert.InDelta(t, 1, st/float64(len(tau)), 1e-5, "whole tensor: mean tau")
	assert.Greater(t, max(math.Abs(omega[0]), math.Abs(omega[1])), 1e-3, "units keep their own omega")
}

func TestParseConstraint(t *testing.T) {
	for _, name := range []string{"centralize", "centralize-units", "selfnorm", "selfnorm-tensor", "selfnorm-omega", "selfnorm-tensor-omega", "maxnorm(3)"} {
		c, err := ParseConstraint(name)
		require.NoError(t, err, name)
		assert.Equal(t, name, c.String())
	}
	c, err := ParseConstraint("none")
	require.NoError(t, err)
	assert.Nil(t, c)
	_, err = ParseConstraint("unitnorm")
	assert.ErrorContains(t, err, `unknown constraint "unitnorm"`)
}

// TestSelfNormalizingInTraining: the constraint holds after real steps,
// and it acts only after the update: the gradients of a step, and every
// bias, are those of the unconstrained network.
func TestSelfNormalizingInTraining(t *testing.T) {
	build := func(c Constraint) *Trainer {
		m, err := NewSeedNet(SeedNetConfig{Height: 16, Width: 16, Classes: 5, Filters: []int{4, 8}, ConvsPerStage: 2,
			Hidden: []int{16}, Constraint: c, Seed: 9})
		require.NoError(t, err)
		return NewTrainer(m, NewAdam(), 9)
	}
	free, held := build(nil), build(SelfNormalizing{})
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, 8*16*16)
	for i := range x {
		x[i] = r.Float32()
	}
	labels := []int32{0, 1, 2, 3, 4, 0, 1, 2}
	_, err := free.TrainBatch(x, labels)
	require.NoError(t, err)
	_, err = held.TrainBatch(x, labels)
	require.NoError(t, err)
	for i, p := range held.Model.Params() {
		q := free.Model.Params()[i]
		require.Equal(t, q.Grad, p.Grad, "%s: the first step's gradient", p.Name)
		if !p.Kernel {
			require.Equal(t, q.Value, p.Value, "%s: biases are not constrained", p.Name)
		}
	}
	for range 3 {
		_, err = held.TrainBatch(x, labels)
		require.NoError(t, err)
	}
	for _, p := range held.Model.Params() {
		if !p.Kernel {
			continue
		}
		omega, tau := unitMoments(p)
		for u := range omega {
			require.Less(t, math.Abs(omega[u]), 1e-5, "%s unit %d", p.Name, u)
			require.Less(t, math.Abs(tau[u]-1), 1e-5, "%s unit %d", p.Name, u)
		}
	}
}

func TestStandardizationAgainstTwoPass(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	s := Shape{C: 3, H: 9, W: 7}
	n := 203
	x := make([]float32, n*s.Size())
	for i := range x {
		c := (i / (s.H * s.W)) % s.C
		x[i] = float32(0.13 + 0.1*float64(c) + (0.3+0.2*float64(c))*r.NormFloat64())
	}
	y := make([]int32, n)
	ds, err := NewTensors(s, 2, x, y)
	require.NoError(t, err)
	st, err := ComputeStandardization(ds, 32)
	require.NoError(t, err)
	plane := s.H * s.W
	for c := range s.C {
		var sum float64
		for i := range n {
			for _, v := range x[(i*s.C+c)*plane : (i*s.C+c+1)*plane] {
				sum += float64(v)
			}
		}
		mean := sum / float64(n*plane)
		var ss float64
		for i := range n {
			for _, v := range x[(i*s.C+c)*plane : (i*s.C+c+1)*plane] {
				ss += (float64(v) - mean) * (float64(v) - mean)
			}
		}
		std := math.Sqrt(ss / float64(n*plane))
		assert.InDelta(t, mean, st.Mean[c], 1e-7*(1+math.Abs(mean)), "channel %d mean", c)
		assert.InEpsilon(t, std, st.Std[c], 1e-6, "channel %d std", c)
	}

	sd, err := st.Apply(ds)
	require.NoError(t, err)
	out := make([]float32, n*s.Size())
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	require.NoError(t, sd.Load(idx, out, make([]int32, n)))
	for c := range s.C {
		var sum, sq float64
		for i := range n {
			for _, v := range out[(i*s.C+c)*plane : (i*s.C+c+1)*plane] {
				sum += float64(v)
				sq += float64(v) * float64(v)
			}
		}
		cnt := float64(n * plane)
		assert.InDelta(t, 0, sum/cnt, 1e-5, "channel %d standardized mean", c)
		assert.InDelta(t, 1, sq/cnt, 1e-5, "channel %d standardized variance", c)
	}

	back, ok, err := StandardizationFrom(st.Tensors())
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDeltaSlice(t, st.Mean, back.Mean, 1e-7)
	_, ok, err = StandardizationFrom(nil)
	assert.False(t, ok)
	assert.NoError(t, err)
	_, err = st.Apply(&Tensors{S: Shape{C: 1, H: 2, W: 2}})
	assert.ErrorContains(t, err, "standardization of 3 channels for data of 1")
}
