package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/nn"
	"github.com/snnkit/snn/par"
)

// errInterrupted is returned when Ctrl-C stopped training; the message
// says how to continue.
var errInterrupted = errors.New("interrupted")

const checkpointName = "checkpoint.snn"

// runOptions are the flags of a run that are not part of its Config:
// where it goes and how it reports.
type runOptions struct {
	out      string
	resume   string
	progress string
}

func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	var opts runOptions
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	cfg.addFlags(fs)
	fs.StringVar(&opts.out, "out", "", "run folder for metrics.csv, plots and the checkpoint (default: runs/<time>-<act>-<constraint>)")
	fs.StringVar(&opts.resume, "resume", "", "continue the run in this folder from its checkpoint (-epochs, -max-steps and -threads may change)")
	fs.StringVar(&opts.progress, "progress", "auto", "progress display: bar, lines, none, or auto (bar on a terminal, lines otherwise)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: snn train [flags]\n\nTrains SeedNet and evaluates it on the test set. Flags:\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if opts.resume != "" {
		var err error
		if cfg, err = resumeConfig(fs, opts.resume, cfg); err != nil {
			return err
		}
		opts.out = opts.resume
	} else if err := cfg.finish(); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "kernels", kernels.Describe())
	_, err := train(ctx, cfg, opts, stdout, stderr)
	return err
}

// resumeConfig reads the run's configuration from its checkpoint; of the
// flags given now, only -epochs, -max-steps and -threads may change it.
func resumeConfig(fs *flag.FlagSet, dir string, now Config) (Config, error) {
	c, err := nn.ReadCheckpoint(filepath.Join(dir, checkpointName))
	if err != nil {
		return Config{}, fmt.Errorf("-resume %s: %w", dir, err)
	}
	b, ok := c.Sections[configSection]
	if !ok {
		return Config{}, fmt.Errorf("-resume %s: the checkpoint has no snn configuration", dir)
	}
	cfg, err := unmarshalConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("-resume %s: %w", dir, err)
	}
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "epochs":
			cfg.Epochs = now.Epochs
		case "max-steps":
			cfg.MaxSteps = now.MaxSteps
		case "threads":
			cfg.Threads = now.Threads
		case "resume", "progress", "out":
		default:
			bad = append(bad, "-"+f.Name)
		}
	})
	if len(bad) > 0 {
		return Config{}, fmt.Errorf("-resume continues the run as configured; %s cannot change (only -epochs, -max-steps and -threads can)", strings.Join(bad, ", "))
	}
	return cfg, cfg.finish()
}

// runResult is what a finished run reports, for compare's table.
type runResult struct {
	Config  Config
	Dir     string
	Steps   int64
	Test    nn.Metrics
	Elapsed time.Duration
	// ImagesPerSec is the training throughput over the run.
	ImagesPerSec float64
	// Var holds each watched layer's activation variance at the last
	// monitor measurement; VarMin and VarMax bound it over every
	// measurement after the first step.
	Var            map[string]float64
	VarMin, VarMax map[string]float64
	Layers         []string
	NonFinite      string // the error, if training diverged
}

// train runs one configuration to the end (or to Ctrl-C), writing the run
// folder, and evaluates the model on the full test set.
func train(ctx context.Context, cfg Config, opts runOptions, stdout, stderr io.Writer) (*runResult, error) {
	start := time.Now()
	ds, err := openData(ctx, cfg, stderr)
	if err != nil {
		return nil, err
	}
	defer ds.close()
	shape := ds.train.Shape()
	t, err := buildTrainer(cfg, shape, ds.classes)
	if err != nil {
		return nil, err
	}
	baseLR := t.Optimizer.LearningRate() // before a checkpoint replaces it
	resume := opts.resume != ""
	dir := opts.out
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("%s-%s-%s", time.Now().Format("20060102-150405"), cfg.Act, cfg.Constraint))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ckpt := filepath.Join(dir, checkpointName)
	var restored *nn.Checkpoint
	if resume {
		if restored, err = t.Load(ckpt); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(ckpt); err == nil {
		return nil, fmt.Errorf("%s already holds a run (%s): continue it with -resume %s, or choose another -out", dir, checkpointName, dir)
	}
	st, err := standardization(cfg, ds, restored, stderr)
	if err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		return nil, err
	}
	rec, err := openRecorder(filepath.Join(dir, "metrics.csv"), t.Model, resume)
	if err != nil {
		return nil, err
	}
	res := &runResult{Config: cfg, Dir: dir, Layers: rec.layers,
		Var: map[string]float64{}, VarMin: map[string]float64{}, VarMax: map[string]float64{}}

	perEpoch := int64((ds.train.Len() + cfg.Batch - 1) / cfg.Batch)
	total := cfg.Epochs * perEpoch
	if cfg.MaxSteps > 0 && (total == 0 || cfg.MaxSteps < total) {
		total = cfg.MaxSteps
	}
	valEvery := validationInterval(cfg.ValEvery, perEpoch, total)
	fmt.Fprintf(stderr, "SeedNet %dx%dx%d -> %d classes, %s, constraint %s, %s; %d parameters; %d threads\n",
		shape.C, shape.H, shape.W, t.Model.OutputShape().Size(), cfg.Act, cfg.Constraint, cfg.Opt,
		t.Model.NumParams(), threadsOf(t.Model.Threads()))
	fmt.Fprintf(stderr, "data %s: %d training images, %d test images; run folder %s\n", ds.name, ds.train.Len(), lenOf(ds.test), dir)

	lr := schedule(cfg, baseLR, total)
	if !resume {
		// A resumed trainer has the rate of its next step in its
		// checkpoint already.
		t.Optimizer.SetLearningRate(lr(1))
	}
	prog := newProgress(opts.progress, stderr, total, t.Step())
	var images int64
	var compute time.Duration
	fit := nn.FitConfig{
		BatchSize: cfg.Batch, Epochs: cfg.Epochs, MaxSteps: cfg.MaxSteps,
		OnStep: func(s nn.StepStats) error {
			t.Optimizer.SetLearningRate(lr(s.Step + 1))
			images += int64(s.N)
			compute += s.Compute + s.Data
			prog.step(s)
			return rec.step(s)
		},
		Validation: ds.val, ValidateEvery: valEvery,
		OnValidate: func(step int64, m nn.Metrics) error {
			rec.validation(step, m)
			prog.validation(step, m)
			return nil
		},
		CheckpointPath: ckpt, CheckpointEvery: perEpoch,
		Checkpoint: func(c *nn.Checkpoint) {
			if c.Sections == nil {
				c.Sections = map[string][]byte{}
			}
			c.Sections[configSection] = cfg.marshal()
			addInferenceSections(c, cfg, t.Model, ds.classNames)
			if st != nil {
				c.Extra = append(c.Extra, st.Tensors()...)
			}
		},
	}
	if cfg.MonitorEvery > 0 {
		fit.Monitor = &nn.Monitor{Every: cfg.MonitorEvery, Probes: []nn.Probe{&nn.UnitStats{}}, OnReport: func(r *nn.Report) error {
			rec.report(r)
			for _, l := range r.Layers {
				if !l.Watched {
					continue
				}
				res.Var[l.Name] = l.Var
				if r.Step > 0 {
					if v, ok := res.VarMin[l.Name]; !ok || l.Var < v {
						res.VarMin[l.Name] = l.Var
					}
					res.VarMax[l.Name] = max(res.VarMax[l.Name], l.Var)
				}
			}
			return nil
		}}
	}
	ferr := t.Fit(ctx, ds.train, fit)
	prog.done()
	res.Steps = t.Step()
	res.Elapsed = time.Since(start)
	if compute > 0 {
		res.ImagesPerSec = float64(images) / compute.Seconds()
	}
	if err := rec.close(t.Step()); err != nil && ferr == nil {
		ferr = err
	}
	if err := writeRunPlots(dir, runTitle(cfg, ds.name)); err != nil {
		fmt.Fprintf(stderr, "plots: %v\n", err)
	}
	var nf *nn.NonFiniteError
	switch {
	case ferr == nil:
	case errors.Is(ferr, context.Canceled):
		fmt.Fprintf(stderr, "stopped at step %d; checkpoint in %s. Continue with:\n  snn train -resume %s\n", t.Step(), ckpt, dir)
		return res, fmt.Errorf("%w at step %d", errInterrupted, t.Step())
	case errors.As(ferr, &nf):
		res.NonFinite = ferr.Error()
		fmt.Fprintf(stderr, "%v\nthe last good checkpoint stays in %s\n", ferr, ckpt)
		return res, ferr
	default:
		return res, ferr
	}
	if ds.test != nil {
		m, err := nn.Evaluate(t.Model, t.Loss, ds.test, cfg.Batch)
		if err != nil {
			return res, err
		}
		res.Test = m
		fmt.Fprintf(stdout, "test: top-1 %.2f%%, top-5 %.2f%%, loss %.4f on %d images (%d steps, %s, %.0f images/s training)\n",
			100*m.Top1, 100*m.Top5, m.Loss, m.N, t.Step(), res.Elapsed.Round(time.Second), res.ImagesPerSec)
	}
	if err := writeJSON(filepath.Join(dir, "result.json"), res); err != nil {
		return res, err
	}
	return res, nil
}

// standardization computes the training set's per-channel statistics (or
// takes them from the checkpoint being resumed) and makes every data set
// of the run standardized with them; nil when -standardize is off.
func standardization(cfg Config, ds *dataSets, restored *nn.Checkpoint, stderr io.Writer) (*nn.Standardization, error) {
	if cfg.Standardize != "on" {
		return nil, nil
	}
	var st nn.Standardization
	found := false
	if restored != nil {
		var err error
		if st, found, err = nn.StandardizationFrom(restored.Extra); err != nil {
			return nil, err
		}
	}
	if !found {
		t0 := time.Now()
		var err error
		if st, err = nn.ComputeStandardization(ds.train, 256); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "input standardization from %d training images (%s):", ds.train.Len(), time.Since(t0).Round(time.Millisecond))
	} else {
		fmt.Fprintf(stderr, "input standardization from the checkpoint:")
	}
	for c := range st.Mean {
		fmt.Fprintf(stderr, " channel %d mean %.4f std %.4f", c, st.Mean[c], st.Std[c])
	}
	fmt.Fprintln(stderr)
	if err := standardizeAll(st, ds); err != nil {
		return nil, err
	}
	return &st, nil
}

func standardizeAll(st nn.Standardization, ds *dataSets) error {
	for _, p := range []*nn.Dataset{&ds.train, &ds.val, &ds.test} {
		if *p == nil {
			continue
		}
		w, err := st.Apply(*p)
		if err != nil {
			return err
		}
		*p = w
	}
	return nil
}

// schedule returns the learning rate of step s (from 1) of a run of total
// steps: base, after a linear warm-up, constant or decaying along a cosine
// to 0 at the last step.
func schedule(cfg Config, base float64, total int64) func(s int64) float64 {
	return func(s int64) float64 {
		lr := base
		if cfg.Schedule == "cosine" && total > 0 {
			frac := min(float64(s-1)/float64(max(total, 1)), 1)
			lr = base * 0.5 * (1 + math.Cos(math.Pi*frac))
		}
		if cfg.Warmup > 0 && s <= cfg.Warmup {
			lr *= float64(s) / float64(cfg.Warmup+1)
		}
		return lr
	}
}

func threadsOf(n int) int {
	if n <= 0 {
		return par.Threads()
	}
	return n
}

func lenOf(d nn.Dataset) int {
	if d == nil {
		return 0
	}
	return d.Len()
}

// validationInterval is -val-every, or by default four validations per
// epoch, or per run if the run is shorter than an epoch (so a 500-step run
// still draws validation curves).
func validationInterval(every, perEpoch, total int64) int64 {
	if every > 0 {
		return every
	}
	span := perEpoch
	if total > 0 && total < span {
		span = total
	}
	return max(span/4, 1)
}

func runTitle(cfg Config, data string) string {
	s := fmt.Sprintf("%s %s", data, cfg.Act)
	if cfg.Constraint != "none" {
		s += " + " + cfg.Constraint
	}
	s += normTitle(cfg)
	if cfg.Standardize == "on" {
		s += " + standardized inputs"
	}
	if cfg.AlphaDropout > 0 {
		s += fmt.Sprintf(" + dropout %g", cfg.AlphaDropout)
	}
	return s
}

func createFile(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
