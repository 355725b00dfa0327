package conv

import (
	"fmt"
	"math"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/kernels"
)

// ForwardMoments is Forward (y is the same bit for bit) that also returns,
// for each output channel o, the mean and the population variance of
// y's channel o over the n images and all output positions:
//
//	mean     [OutC]   overwritten
//	variance [OutC]   overwritten (divided by n*OutH*OutW)
//
// The sums are taken by each tile as soon as its GEMMs have finished,
// while its outputs are still in cache, rather than by a second pass over
// y: each tile adds its pieces of a channel (kernels.Act.Moments: float32
// blocks of at most 128 terms, combined in float64) into a slot of its
// own, shifted by a value near the slot's mean (act.Shift of its first
// piece), so that the squares stay well conditioned whatever the mean.
// The slots are merged per channel in a fixed order at the end (Chan's
// pairwise update, in float64). Which tile fills which slot, and in what
// order, depends on the geometry, n and the kernel set only: the results
// are the same bit for bit whatever the thread count.
//
// With n == 0, mean and variance are NaN. The slices must have exactly
// these lengths, as in Forward.
func (c *Conv2D) ForwardMoments(n int, x, w, bias, y []float32, mean, variance []float64) {
	c.checkForward(n, x, w, bias, y)
	c.checkLen64("mean", mean)
	c.checkLen64("variance", variance)
	if n == 0 {
		for o := range mean {
			mean[o], variance[o] = math.NaN(), math.NaN()
		}
		return
	}
	c.replan(n)
	// The slots: with the batched pass, one per channel and output row,
	// which every layout of its tiles computes whole, each image group
	// after the last; with the Winograd passes one per channel and work
	// unit (of images, for the whole-image one); otherwise one per
	// channel and block, which one lane fills tile after tile.
	units, segs := c.pl.blocks, 1
	switch {
	case c.useWhole():
		units = (n + wholeImgs - 1) / wholeImgs // one per unit of images, filled image by image
	case c.useWinograd():
		units = c.winogradCut(n).units // one per work unit, filled image by image
	case c.useBatched():
		units, segs = 1, c.d.oh
	}
	c.mom.reset(c.d.oc, units, segs)
	c.forward(n, x, w, bias, y, Identity, Identity, nil, &c.mom)
	c.mom.merge(mean, variance)
}

func (c *Conv2D) checkLen64(name string, s []float64) {
	if len(s) != c.d.oc {
		panic(fmt.Sprintf("conv: len(%s) = %d, want OutC = %d (layer %v)", name, len(s), c.d.oc, c.g))
	}
}

// moments holds the partial statistics of a forward call's outputs:
// slots[(unit*oc+o)*segs+seg] is a slot of channel o.
type moments struct {
	oc, segs int
	slots    []momentSlot
}

// A momentSlot holds the sums of the deviations from shift of n outputs
// and of their squares.
type momentSlot struct {
	shift  float32
	n      float64
	s1, s2 float64
}

// reset makes room for units*segs empty slots per channel.
func (m *moments) reset(oc, units, segs int) {
	m.oc, m.segs = oc, segs
	size := units * oc * segs
	if len(m.slots) < size {
		m.slots = make([]momentSlot, size)
	}
	m.slots = m.slots[:size]
	clear(m.slots)
}

// add adds the outputs y of channel o to slot seg of unit.
func (m *moments) add(ks *kernels.Set, unit, o, seg int, y []float32) {
	if len(y) == 0 {
		return
	}
	s := &m.slots[(unit*m.oc+o)*m.segs+seg]
	if s.n == 0 {
		s.shift = act.Shift(y)
	}
	a, b := ks.Act.Moments(y, s.shift)
	s.n += float64(len(y))
	s.s1 += a
	s.s2 += b
}

// merge writes each channel's mean and population variance, merging its
// slots in order: unit by unit, segment by segment.
func (m *moments) merge(mean, variance []float64) {
	units := len(m.slots) / (m.oc * m.segs)
	for o := range m.oc {
		var cnt, mu, m2 float64
		for u := range units {
			for _, s := range m.slots[(u*m.oc+o)*m.segs : (u*m.oc+o+1)*m.segs] {
				if s.n == 0 {
					continue
				}
				d := s.s1 / s.n
				sm := float64(s.shift) + d
				sm2 := max(0, s.s2-s.s1*d)
				if cnt == 0 {
					cnt, mu, m2 = s.n, sm, sm2
					continue
				}
				delta := sm - mu
				total := cnt + s.n
				mu += delta * (s.n / total)
				m2 += sm2 + delta*delta*(cnt*s.n/total)
				cnt = total
			}
		}
		mean[o], variance[o] = mu, m2/cnt
	}
}
