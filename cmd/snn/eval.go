package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/snnkit/snn/nn"
)

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var path string
	now := Config{}
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.StringVar(&path, "checkpoint", "", "checkpoint file (checkpoint.snn in a run folder), or the run folder")
	fs.StringVar(&now.Data, "data", "", "MNIST IDX folder (default: the run's data)")
	fs.StringVar(&now.PlacesTrain, "places-train", "", "Places365 list to take the classes from (default: the run's)")
	fs.StringVar(&now.PlacesVal, "places-val", "", "Places365 list to evaluate on (default: the run's)")
	fs.StringVar(&now.PlacesRoot, "places-root", "", "folder of -places-train's paths")
	fs.StringVar(&now.PlacesValRoot, "places-val-root", "", "folder of -places-val's paths")
	fs.StringVar(&now.Folder, "folder", "", "class folders to take the classes from (default: the run's)")
	fs.StringVar(&now.ValFolder, "val-folder", "", "class folders to evaluate on (default: the run's)")
	fs.IntVar(&now.Batch, "batch", 0, "batch size (default: the run's)")
	fs.IntVar(&now.Threads, "threads", 0, "goroutines for the kernels (0: GOMAXPROCS)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: snn eval -checkpoint FILE [flags]\n\nTop-1 and top-5 of a trained SeedNet on its test set. Flags:\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if path == "" {
		return required(fs, "checkpoint", stderr)
	}
	r, err := loadRun(ctx, path, now, stderr)
	if err != nil {
		return err
	}
	defer r.ds.close()
	ds, t, c := r.ds, r.t, r.ckpt
	if ds.test == nil {
		return fmt.Errorf("no evaluation set: give -places-val or -val-folder")
	}
	cfg := r.cfg
	fmt.Fprintf(stderr, "evaluating %s (step %d) on %d images of %s\n", r.path, c.Step, ds.test.Len(), ds.name)
	m, err := nn.Evaluate(t.Model, t.Loss, withContext(ctx, ds.test), cfg.Batch)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: the evaluation was stopped", errInterrupted)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (step %d) on %s: top-1 %.2f%%, top-5 %.2f%%, loss %.4f, %d images\n",
		r.path, c.Step, ds.name, 100*m.Top1, 100*m.Top5, m.Loss, m.N)
	return nil
}

// loadedRun is a trained run rebuilt from its checkpoint: its
// configuration, its data (standardized as the run standardized it) and
// its model with the checkpoint's weights. The caller closes ds.
type loadedRun struct {
	path string // the checkpoint file
	ckpt *nn.Checkpoint
	cfg  Config
	ds   *dataSets
	t    *nn.Trainer
}

// loadRun reads the checkpoint at path (a .snn file, or a run folder
// holding checkpoint.snn) and rebuilds its run. The data flags set in now
// replace the run's data source as a whole; now.Batch, if positive, the
// run's batch size; now.Threads is used as is.
func loadRun(ctx context.Context, path string, now Config, stderr io.Writer) (_ *loadedRun, err error) {
	path, c, cfg, err := readRun(path)
	if err != nil {
		return nil, err
	}
	// Data flags given now replace the run's data source as a whole.
	if now.Data != "" || now.PlacesTrain != "" || now.Folder != "" {
		cfg.Data, cfg.PlacesTrain, cfg.PlacesVal, cfg.PlacesRoot, cfg.PlacesValRoot = now.Data, now.PlacesTrain, now.PlacesVal, now.PlacesRoot, now.PlacesValRoot
		cfg.Folder, cfg.ValFolder = now.Folder, now.ValFolder
	}
	if now.Batch > 0 {
		cfg.Batch = now.Batch
	}
	cfg.Threads = now.Threads
	if err := cfg.finish(); err != nil {
		return nil, err
	}
	ds, err := openData(ctx, cfg, stderr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ds.close()
		}
	}()
	if cfg.Standardize == "on" {
		st, ok, err := nn.StandardizationFrom(c.Extra)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !ok {
			return nil, fmt.Errorf("%s: the run standardized its inputs but the checkpoint lacks the statistics", path)
		}
		if err := standardizeAll(st, ds); err != nil {
			return nil, err
		}
	}
	t, err := buildTrainer(cfg, ds.train.Shape(), ds.classes)
	if err != nil {
		return nil, err
	}
	if err := t.Restore(c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &loadedRun{path: path, ckpt: c, cfg: cfg, ds: ds, t: t}, nil
}

// readRun reads a run's checkpoint, path being the file or the run folder
// holding checkpoint.snn, and the snn configuration in it; it returns the
// file's path too.
func readRun(path string) (string, *nn.Checkpoint, Config, error) {
	if filepath.Ext(path) != ".snn" {
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			path = filepath.Join(path, checkpointName)
		}
	}
	c, err := nn.ReadCheckpoint(path)
	if err != nil {
		return path, nil, Config{}, err
	}
	b, ok := c.Sections[configSection]
	if !ok {
		return path, nil, Config{}, fmt.Errorf("%s has no snn configuration: not written by snn train", path)
	}
	cfg, err := unmarshalConfig(b)
	if err != nil {
		return path, nil, Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return path, c, cfg, nil
}
