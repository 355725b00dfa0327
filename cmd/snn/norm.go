package main

import "fmt"

// datanormEvery is the interval of the DataNorm variants of compare: one
// extra forward pass every 4 steps keeps its cost near a tenth of a step.
const datanormEvery = 4

// datanormWarmup is the warm-up of selu-datanorm-centre: a rescale after
// each of the first 200 updates, while they move the weights fastest.
const datanormWarmup = 200

// norm is the normalization a compare variant adds: BatchNorm, or DataNorm
// every so many steps, variance only or not, scaling the learning rates
// and centring the gradients or not, rescaling after every one of the
// first warmup steps.
type norm struct {
	batch                bool
	every, warmup        int64
	variance, lr, centre bool
}

// withNorm adds the normalization nm to a variant. -datanorm-centre given
// on the command line centres the gradients of every DataNorm variant,
// and a -datanorm-warmup other than 0 replaces the variant's warm-up.
func withNorm(base func(*Config), nm norm) func(*Config) {
	return func(c *Config) {
		flag := c.DataNormCentre
		base(c)
		c.BatchNorm, c.DataNorm, c.DataNormVariance, c.DataNormLR = nm.batch, nm.every, nm.variance, nm.lr
		c.DataNormCentre = nm.every > 0 && (flag || nm.centre)
		if nm.every > 0 && c.DataNormWarmup == 0 {
			c.DataNormWarmup = nm.warmup
		}
	}
}

// normTitle describes a run's normalization for titles ("" if none).
func normTitle(cfg Config) string {
	s := ""
	if cfg.BatchNorm {
		s += " + batchnorm"
	}
	if cfg.DataNorm > 0 {
		s += fmt.Sprintf(" + datanorm every %d", cfg.DataNorm)
		if cfg.DataNormVariance {
			s += " (variance only)"
		}
		if cfg.DataNormLogits {
			s += " (logits too)"
		}
		if cfg.DataNormLR {
			s += " (learning rates scaled)"
		}
		if cfg.DataNormCentre {
			s += " (gradients centred)"
		}
		if cfg.DataNormWarmup > 0 {
			s += fmt.Sprintf(" (every step to step %d)", cfg.DataNormWarmup)
		}
	}
	return s
}
