package main

import (
	"fmt"

	"github.com/snnkit/snn/nn"
)

// buildTrainer makes the SeedNet, optimizer and trainer a configuration
// describes, for a data set of the given shape and classes.
func buildTrainer(cfg Config, shape nn.Shape, dataClasses int) (*nn.Trainer, error) {
	classes := dataClasses
	if cfg.Classes > 0 {
		if cfg.Classes < dataClasses {
			return nil, fmt.Errorf("-classes %d is fewer than the data set's %d classes", cfg.Classes, dataClasses)
		}
		classes = cfg.Classes
	}
	constraint, err := nn.ParseConstraint(cfg.Constraint)
	if err != nil {
		return nil, err
	}
	m, err := nn.NewSeedNet(nn.SeedNetConfig{
		Height: shape.H, Width: shape.W, Channels: shape.C, Classes: classes,
		Activation: cfg.Act, Dropout: cfg.AlphaDropout, Constraint: constraint, Seed: cfg.Seed,
		BatchNorm: cfg.BatchNorm, BatchNormMomentum: cfg.BatchNormMomentum,
	})
	if err != nil {
		return nil, err
	}
	opt, err := nn.NewOptimizer(cfg.Opt, cfg.LR)
	if err != nil {
		return nil, err
	}
	switch o := opt.(type) {
	case *nn.Adam:
		o.WeightDecay = cfg.WeightDecay
		if cfg.Eps > 0 {
			o.Epsilon = cfg.Eps
		}
	case *nn.Adadelta:
		o.WeightDecay = cfg.WeightDecay
		if cfg.Eps > 0 {
			o.Epsilon = cfg.Eps
		}
	case *nn.SGD:
		o.WeightDecay = cfg.WeightDecay
		o.Momentum, o.Nesterov = cfg.Momentum, cfg.Nesterov
	}
	t := nn.NewTrainer(m, opt, cfg.Seed)
	if cfg.DataNorm > 0 {
		t.BatchConstraint = &nn.DataNorm{Every: cfg.DataNorm, VarianceOnly: cfg.DataNormVariance, Logits: cfg.DataNormLogits, ScaleLR: cfg.DataNormLR, Warmup: cfg.DataNormWarmup, CentreGrad: cfg.DataNormCentre}
	}
	t.SetThreads(cfg.Threads)
	return t, nil
}
