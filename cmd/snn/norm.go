package main

import "fmt"

// datanormEvery is the interval of the DataNorm variants of compare: one
// extra forward pass every 4 steps keeps its cost near a tenth of a step.
const datanormEvery = 4

// withNorm adds BatchNorm or DataNorm (every datanorm steps, variance
// only or not, scaling the learning rates or not) to a variant.
func withNorm(base func(*Config), batchnorm bool, datanorm int64, variance, scaleLR bool) func(*Config) {
	return func(c *Config) {
		base(c)
		c.BatchNorm, c.DataNorm, c.DataNormVariance, c.DataNormLR = batchnorm, datanorm, variance, scaleLR
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
