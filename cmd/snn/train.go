package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
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
	force    bool
	// checkpointEvery and checkpointInterval add checkpoints within an
	// epoch, by steps and by time.
	checkpointEvery    int64
	checkpointInterval time.Duration
}

// defaultRunOptions checkpoint every five minutes: a kill loses at most
// that much work, and a checkpoint (31 MB for SeedNet on MNIST with Adam,
// under a second to write and sync here) costs a negligible share of it.
func defaultRunOptions() runOptions {
	return runOptions{progress: "auto", checkpointInterval: 5 * time.Minute}
}

// addRunFlags registers the flags of runOptions that train and compare
// share.
func (o *runOptions) addRunFlags(fs *flag.FlagSet) {
	fs.BoolVar(&o.force, "force", o.force, "start a new run in an -out folder that is not empty (removing its checkpoint and result)")
	fs.Int64Var(&o.checkpointEvery, "checkpoint-every", o.checkpointEvery, "write the checkpoint every N steps (0: at the end of every epoch); -checkpoint-interval adds more")
	fs.DurationVar(&o.checkpointInterval, "checkpoint-interval", o.checkpointInterval, "also write the checkpoint after any step that ends this long after the last one (0: off)")
}

// check names the flag at fault.
func (o *runOptions) check() error {
	if o.checkpointEvery < 0 {
		return fmt.Errorf("-checkpoint-every %d is out of range (non-negative)", o.checkpointEvery)
	}
	if o.checkpointInterval < 0 {
		return fmt.Errorf("-checkpoint-interval %v is out of range (non-negative)", o.checkpointInterval)
	}
	return nil
}

func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	opts := defaultRunOptions()
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	cfg.addFlags(fs)
	fs.StringVar(&opts.out, "out", "", "run folder for metrics.csv, plots and the checkpoint (default: runs/<time>-<act>-<constraint>)")
	fs.StringVar(&opts.resume, "resume", "", "continue the run in this folder from its checkpoint (-epochs, -max-steps, -threads, -max-pixels and the checkpoint flags may change)")
	fs.StringVar(&opts.progress, "progress", "auto", "progress display: bar, lines, none, or auto (bar on a terminal, lines otherwise)")
	opts.addRunFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: snn train [flags]\n\nTrains SeedNet and evaluates it on the test set. Flags:\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := opts.check(); err != nil {
		return err
	}
	if opts.resume != "" && opts.force {
		return errors.New("-resume continues a run and -force starts a new one: give one")
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
func resumeConfig(flags *flag.FlagSet, dir string, now Config) (Config, error) {
	c, err := nn.ReadCheckpoint(filepath.Join(dir, checkpointName))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(filepath.Join(dir, configName)); serr == nil {
			return Config{}, fmt.Errorf("-resume %s: the run stopped before its first checkpoint: start it again with -force -out %s", dir, dir)
		}
	}
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
	flags.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "epochs":
			cfg.Epochs = now.Epochs
		case "max-steps":
			cfg.MaxSteps = now.MaxSteps
		case "threads":
			cfg.Threads = now.Threads
		case "max-pixels":
			// A safety cap, not a setting of the training: a folder
			// with a larger image must not make the run impossible to
			// continue.
			cfg.MaxPixels = now.MaxPixels
		case "resume", "progress", "out", "checkpoint-every", "checkpoint-interval":
		default:
			bad = append(bad, "-"+f.Name)
		}
	})
	if len(bad) > 0 {
		return Config{}, fmt.Errorf("-resume continues the run as configured; %s cannot change (only -epochs, -max-steps, -threads and -max-pixels can)", strings.Join(bad, ", "))
	}
	if err := cfg.finish(); err != nil {
		return Config{}, err
	}
	if err := checkFolderConfig(dir, cfg); err != nil {
		return Config{}, fmt.Errorf("-resume %s: %w", dir, err)
	}
	return cfg, nil
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
	ckpt := filepath.Join(dir, checkpointName)
	fingerprint := dataFingerprint(cfg, ds)
	var restored *nn.Checkpoint
	if resume {
		if restored, err = t.Load(ckpt); err != nil {
			return nil, err
		}
		if err := removeStaleTemps(dir); err != nil {
			return nil, err
		}
		if d := dataChanges(restored.Sections[dataSection], fingerprint); len(d) > 0 {
			fmt.Fprintf(stderr, "warning: the training data changed since the checkpoint, so the resumed run may differ from an uninterrupted one:\n  %s\n", strings.Join(d, "\n  "))
		}
		if err := truncateMetrics(filepath.Join(dir, metricsName), restored.Step); err != nil {
			return nil, err
		}
	} else if err := prepareNewRun(dir, opts.force); err != nil {
		return nil, err
	}
	st, err := standardization(ctx, cfg, ds, restored, stderr)
	if err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, configName), cfg); err != nil {
		return nil, err
	}
	rec, err := openRecorder(filepath.Join(dir, metricsName), t.Model, resume)
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
		CheckpointPath: ckpt, CheckpointEvery: perEpoch, CheckpointInterval: opts.checkpointInterval,
		Checkpoint: func(c *nn.Checkpoint) {
			if c.Sections == nil {
				c.Sections = map[string][]byte{}
			}
			c.Sections[configSection] = cfg.marshal()
			c.Sections[dataSection] = fingerprint
			addInferenceSections(c, cfg, t.Model, ds.classNames)
			if st != nil {
				c.Extra = append(c.Extra, st.Tensors()...)
			}
			// The last step's training averages get their row now, not
			// at close: a kill between the final checkpoint and close
			// would lose that row, and a resume from the final
			// checkpoint trains no step that could write it again.
			if c.Step == total && rec.n > 0 {
				rec.mark(c.Step)
			}
			// The rows up to the checkpoint's step are complete: on disk
			// with it, a resume after a kill keeps them. An error here
			// stays in the writer and stops the run at the next step.
			_ = rec.flushBefore(c.Step + 1)
		},
	}
	if opts.checkpointEvery > 0 {
		fit.CheckpointEvery = opts.checkpointEvery
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
	prog.done(ferr == nil)
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
	if ferr != nil {
		// One message names the checkpoint to continue from, and only one
		// that exists.
		msg, step, ok := lastGood(ckpt)
		switch {
		case errors.Is(ferr, context.Canceled):
			if step != t.Step() {
				fmt.Fprintln(stderr, ferr) // why the checkpoint is behind
			}
			fmt.Fprintf(stderr, "stopped at step %d; %s", t.Step(), msg)
			if ok {
				fmt.Fprintf(stderr, ". Continue with:\n  snn train -resume %s", dir)
			}
			fmt.Fprintln(stderr)
			return res, fmt.Errorf("%w at step %d", errInterrupted, t.Step())
		case errors.As(ferr, &nf):
			res.NonFinite = ferr.Error()
			fmt.Fprintln(stderr, msg)
			if err := writeJSON(filepath.Join(dir, resultName), res); err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", resultName, err)
			}
			return res, ferr
		default:
			if ok {
				msg += "; after fixing the cause, continue with: snn train -resume " + dir
			}
			fmt.Fprintln(stderr, msg)
			return res, ferr
		}
	}
	if ds.test != nil {
		m, err := nn.Evaluate(t.Model, t.Loss, withContext(ctx, ds.test), cfg.Batch)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "training is complete (%s); the test evaluation was stopped: run snn eval -checkpoint %s\n", ckpt, dir)
			return res, fmt.Errorf("%w during the test evaluation", errInterrupted)
		}
		if err != nil {
			return res, err
		}
		res.Test = m
		fmt.Fprintf(stdout, "test: top-1 %.2f%%, top-5 %.2f%%, loss %.4f on %d images (%d steps, %s, %.0f images/s training)\n",
			100*m.Top1, 100*m.Top5, m.Loss, m.N, t.Step(), res.Elapsed.Round(time.Second), res.ImagesPerSec)
	}
	if err := writeJSON(filepath.Join(dir, resultName), res); err != nil {
		return res, err
	}
	return res, nil
}

// standardization computes the training set's per-channel statistics (or
// takes them from the checkpoint being resumed) and makes every data set
// of the run standardized with them; nil when -standardize is off.
func standardization(ctx context.Context, cfg Config, ds *dataSets, restored *nn.Checkpoint, stderr io.Writer) (*nn.Standardization, error) {
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
		if st, err = nn.ComputeStandardization(withContext(ctx, ds.train), 256); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, fmt.Errorf("%w during the input standardization (no training step was done)", errInterrupted)
			}
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

// jsonFloat is a float64 that a NaN or an infinity (of a diverging run)
// turns into null in JSON, which has no such numbers.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func jsonFloats(m map[string]float64) map[string]jsonFloat {
	out := make(map[string]jsonFloat, len(m))
	for k, v := range m {
		out[k] = jsonFloat(v)
	}
	return out
}

// MarshalJSON writes the result with its non-finite statistics as null.
func (r runResult) MarshalJSON() ([]byte, error) {
	type metrics struct {
		N                int
		Loss, Top1, Top5 jsonFloat
	}
	return json.Marshal(struct {
		Config              Config
		Dir                 string
		Steps               int64
		Test                metrics
		Elapsed             time.Duration
		ImagesPerSec        jsonFloat
		Var, VarMin, VarMax map[string]jsonFloat
		Layers              []string
		NonFinite           string
	}{
		r.Config, r.Dir, r.Steps,
		metrics{r.Test.N, jsonFloat(r.Test.Loss), jsonFloat(r.Test.Top1), jsonFloat(r.Test.Top5)},
		r.Elapsed, jsonFloat(r.ImagesPerSec),
		jsonFloats(r.Var), jsonFloats(r.VarMin), jsonFloats(r.VarMax),
		r.Layers, r.NonFinite,
	})
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
