package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/snnkit/snn/nn/inspect"
)

const inspectDoc = `Usage: snn inspect -run DIR [flags]

Explains the activation variance of a trained run layer by layer. It runs
the first -n images of the run's test set (standardized as the run did) through
the model in evaluation mode and, for every Conv2D and Dense layer, compares
the variance of each unit's pre-activation z = w.x + b with what the
self-normalizing argument predicts. That argument (omega = sum w = 0 and
tau = sum w^2 = 1 keep mean 0 and variance 1) assumes independent inputs:
it predicts Var(z) = sum_i w_i^2 Var(x_i) (pred_var). The real variance is
w^T Sigma w, Sigma the covariance of the unit's inputs (a conv unit's
C_in x KH x KW patch is correlated across positions and channels), so
ratio = pre_var / pred_var is the amplification by that correlation.
Statistics are in float64 over the images and, for convolutions, over every
output position; a conv unit's inputs are its im2col columns, zero padding
included. Columns (med: median over units, rms: root mean square over units):

  units, fan_in  output units and inputs per unit
  in_var         mean over a unit's inputs of their variance
  pred_var       med of sum_i w_i^2 Var(x_i), the independence prediction
  pre_var        med of the measured Var(z), bias included
  ratio          med of pre_var / pred_var per unit
  pre_mean       med of the measured mean of z
  mean_rms       rms of the units' means of z (units with different means
                 add variance to a whole-layer measure such as the monitor's)
  bias_rms       rms of the biases b
  wEx_rms        rms of sum_i w_i E[x_i] (mean of z = b + w.E[x])
  act_var        variance of the following activation's output over
                 everything (images, channels, positions), as the monitor
                 reports it
  act_wvar       the units' mean variance within themselves; act_var -
                 act_wvar is the variance of the units' means
  pool_var       as act_var, after the following max-pooling
  pool_wvar      as act_wvar, after the following max-pooling
  omega, tau     med of the units' sum of weights and sum of squares

Flags:
`

func cmdInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var dir, csvPath string
	var n int
	now := Config{}
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.StringVar(&dir, "run", "", "run folder (as snn train or snn compare write it), or its checkpoint file")
	fs.IntVar(&n, "n", 256, "images of the test set to measure on (the first n)")
	fs.StringVar(&csvPath, "csv", "", "also write the table to this CSV file")
	fs.IntVar(&now.Batch, "batch", 0, "images per forward pass (default: the run's batch size)")
	fs.IntVar(&now.Threads, "threads", 0, "goroutines for the kernels (0: GOMAXPROCS)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), inspectDoc)
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if dir == "" {
		return required(fs, "run", stderr)
	}
	if n < 1 {
		return fmt.Errorf("-n %d: need at least one image", n)
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("-run: %w", err)
	}
	r, err := loadRun(ctx, dir, now, stderr)
	if err != nil {
		return fmt.Errorf("-run %s: %w", dir, err)
	}
	defer r.ds.close()
	set, name := r.ds.test, "test"
	if set == nil {
		set, name = r.ds.train, "training"
		fmt.Fprintln(stderr, "the run has no test set: measuring on its training set")
	}
	n = min(n, set.Len())
	rows, err := inspect.Measure(r.t.Model, withContext(ctx, set), n, r.cfg.Batch)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: the measurement was stopped", errInterrupted)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (step %d, %s %s, constraint %s, standardize %s): %d %s images of %s\n",
		r.path, r.ckpt.Step, r.cfg.Act, r.t.Model.InputShape(), r.cfg.Constraint, r.cfg.Standardize, n, name, r.ds.name)
	if err := inspect.WriteTable(stdout, rows); err != nil {
		return err
	}
	if csvPath != "" {
		f, err := createFile(csvPath)
		if err != nil {
			return err
		}
		werr := inspect.WriteCSV(f, rows)
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return fmt.Errorf("-csv: %w", werr)
		}
	}
	return nil
}
