package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/snnkit/snn/kernels"
)

// Standardization holds the per-channel mean and standard deviation of a
// data set's inputs; applied, it maps each channel to mean 0 and variance
// 1, the input distribution a SELU network's fixed point assumes (raw
// pixels in [0, 1] are neither).
type Standardization struct {
	Mean, Std []float64 // per channel
}

// ComputeStandardization streams ds once, batch by batch in index order
// (never holding more than one batch), and returns each channel's mean and
// population standard deviation, rounded to float32. Each sample's channel plane is summed by
// the blocked kernels (float32 partials of at most 128 terms, float64
// beyond), shifted by the channel mean of the first batch so that the
// variance does not cancel.
func ComputeStandardization(ds Dataset, batch int) (Standardization, error) {
	sh := ds.Shape()
	if err := sh.check(); err != nil {
		return Standardization{}, fmt.Errorf("nn: standardization: %w", err)
	}
	if batch < 1 {
		return Standardization{}, fmt.Errorf("nn: standardization: batch %d < 1", batch)
	}
	n := ds.Len()
	if n == 0 {
		return Standardization{}, errors.New("nn: standardization of an empty data set")
	}
	if n < 0 {
		return Standardization{}, fmt.Errorf("nn: standardization: data set of %d samples", n)
	}
	batch = min(batch, n) // no batch holds more
	size, ok := floats(batch, sh.Size())
	if !ok {
		return Standardization{}, fmt.Errorf("nn: standardization: batch = %d samples of %v are more floats than a buffer holds", batch, sh)
	}
	plane := sh.H * sh.W
	x := make([]float32, size)
	labels := make([]int32, batch)
	idx := make([]int, 0, batch)
	next := make([]int, 0, batch)
	s1 := make([]float64, sh.C)
	s2 := make([]float64, sh.C)
	shift := make([]float32, sh.C)
	pf, _ := ds.(Prefetcher)
	k := kernels.Active()
	for start := 0; start < n; start += batch {
		idx = idx[:0]
		for i := start; i < min(start+batch, n); i++ {
			idx = append(idx, i)
		}
		xs := x[:len(idx)*sh.Size()]
		if err := ds.Load(idx, xs, labels[:len(idx)]); err != nil {
			return Standardization{}, fmt.Errorf("nn: standardization: %w", err)
		}
		if pf != nil && start+batch < n {
			next = next[:0]
			for i := start + batch; i < min(start+2*batch, n); i++ {
				next = append(next, i)
			}
			pf.Prefetch(next)
		}
		if start == 0 {
			for c := range sh.C {
				var m float64
				for i := range idx {
					m += k.Act.Sum(xs[(i*sh.C+c)*plane : (i*sh.C+c+1)*plane])
				}
				shift[c] = float32(m / float64(len(idx)*plane))
			}
		}
		for i := range idx {
			for c := range sh.C {
				a, b := k.Act.Moments(xs[(i*sh.C+c)*plane:(i*sh.C+c+1)*plane], shift[c])
				s1[c] += a
				s2[c] += b
			}
		}
	}
	st := Standardization{Mean: make([]float64, sh.C), Std: make([]float64, sh.C)}
	count := float64(n) * float64(plane)
	for c := range sh.C {
		m := s1[c] / count
		v := s2[c]/count - m*m
		// Rounded to float32, as checkpoints keep them: a resumed run then
		// standardizes exactly as the run it continues.
		st.Mean[c] = float64(float32(float64(shift[c]) + m))
		st.Std[c] = float64(float32(math.Sqrt(max(v, 0))))
		if !(st.Std[c] > 0) || math.IsInf(st.Std[c], 0) {
			return Standardization{}, fmt.Errorf("nn: standardization: channel %d has standard deviation %v", c, st.Std[c])
		}
	}
	return st, nil
}

// Names of the checkpoint tensors (Checkpoint.Extra) that hold a
// Standardization.
const (
	StandardizationMean = "input_mean"
	StandardizationStd  = "input_std"
)

// Tensors returns s as checkpoint tensors.
func (s Standardization) Tensors() []Tensor {
	f := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	return []Tensor{
		{Name: StandardizationMean, Shape: []int{len(s.Mean)}, Data: f(s.Mean)},
		{Name: StandardizationStd, Shape: []int{len(s.Std)}, Data: f(s.Std)},
	}
}

// StandardizationFrom finds a Standardization among checkpoint tensors;
// ok is false if there is none.
func StandardizationFrom(ts []Tensor) (s Standardization, ok bool, err error) {
	var mean, std []float32
	for _, t := range ts {
		switch t.Name {
		case StandardizationMean:
			mean = t.Data
		case StandardizationStd:
			std = t.Data
		}
	}
	if mean == nil && std == nil {
		return s, false, nil
	}
	if len(mean) != len(std) || len(mean) == 0 {
		return s, false, fmt.Errorf("nn: checkpoint holds %d means and %d standard deviations", len(mean), len(std))
	}
	for i := range mean {
		if !(std[i] > 0) {
			return s, false, fmt.Errorf("nn: checkpoint standard deviation %d is %v", i, std[i])
		}
		s.Mean = append(s.Mean, float64(mean[i]))
		s.Std = append(s.Std, float64(std[i]))
	}
	return s, true, nil
}

// Apply standardizes a data set: every batch it loads is mapped channel by
// channel to (x - Mean) / Std, in one fused pass per channel plane.
func (s Standardization) Apply(ds Dataset) (Dataset, error) {
	if len(s.Mean) != ds.Shape().C || len(s.Std) != ds.Shape().C {
		return nil, fmt.Errorf("nn: standardization of %d channels for data of %d", len(s.Mean), ds.Shape().C)
	}
	sd := &standardized{Dataset: ds, a: make([]float32, len(s.Mean)), b: make([]float32, len(s.Mean))}
	for c := range s.Mean {
		sd.a[c] = float32(1 / s.Std[c])
		sd.b[c] = float32(-s.Mean[c] / s.Std[c])
	}
	if pf, ok := ds.(Prefetcher); ok {
		return &standardizedPrefetcher{standardized: sd, pf: pf}, nil
	}
	return sd, nil
}

type standardized struct {
	Dataset
	a, b []float32
}

func (s *standardized) Load(idx []int, x []float32, labels []int32) error {
	if err := s.Dataset.Load(idx, x, labels); err != nil {
		return err
	}
	sh := s.Shape()
	plane := sh.H * sh.W
	k := kernels.Active()
	for i := range idx {
		for c := range sh.C {
			k.Act.Affine(x[(i*sh.C+c)*plane:(i*sh.C+c+1)*plane], s.a[c], s.b[c])
		}
	}
	return nil
}

type standardizedPrefetcher struct {
	*standardized
	pf Prefetcher
}

func (s *standardizedPrefetcher) Prefetch(idx []int) { s.pf.Prefetch(idx) }
