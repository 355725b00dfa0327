package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/snnkit/snn/data"
	"github.com/snnkit/snn/nn"
)

// Config is everything a training run depends on. It is stored in every
// checkpoint, so -resume needs nothing but the run folder.
type Config struct {
	// Data: MNIST IDX files (Data, or the Go module when empty), a
	// Places365 list (PlacesTrain, PlacesVal, PlacesRoot), or class
	// folders (Folder, ValFolder).
	Data             string `json:"data,omitempty"`
	PlacesTrain      string `json:"places_train,omitempty"`
	PlacesVal        string `json:"places_val,omitempty"`
	PlacesRoot       string `json:"places_root,omitempty"`
	PlacesValRoot    string `json:"places_val_root,omitempty"`
	PlacesCategories string `json:"places_categories,omitempty"`
	Folder           string `json:"folder,omitempty"`
	ValFolder        string `json:"val_folder,omitempty"`
	// MaxPixels caps the pixels of one image file (0: the data
	// package's default); it changes which files load, never a result.
	MaxPixels int `json:"max_pixels,omitempty"`

	Size    int `json:"size"`    // image side; MNIST is zero-padded to it
	Classes int `json:"classes"` // logits; 0: the data set's classes

	Act          string  `json:"act"`
	Constraint   string  `json:"constraint"`
	Standardize  string  `json:"standardize"`
	AlphaDropout float64 `json:"alpha_dropout"`
	// BatchNorm puts a BatchNorm after every convolution and hidden dense
	// layer; DataNorm > 0 re-standardizes every unit on the batch after
	// every DataNorm-th step (nn.DataNorm).
	BatchNorm bool `json:"batchnorm,omitempty"`
	// BatchNormMomentum is the moving statistics' momentum (0: 0.99).
	BatchNormMomentum float64 `json:"batchnorm_momentum,omitempty"`
	DataNorm          int64   `json:"datanorm,omitempty"`
	DataNormVariance  bool    `json:"datanorm_variance,omitempty"`
	DataNormLogits    bool    `json:"datanorm_logits,omitempty"`
	DataNormLR        bool    `json:"datanorm_lr,omitempty"`
	DataNormWarmup    int64   `json:"datanorm_warmup,omitempty"`
	DataNormCentre    bool    `json:"datanorm_centre,omitempty"`
	WeightDecay       float64 `json:"weight_decay"`
	Opt               string  `json:"opt"`
	LR                float64 `json:"lr"`
	Eps               float64 `json:"eps"`
	Schedule          string  `json:"schedule"`
	Warmup            int64   `json:"warmup,omitempty"`
	Momentum          float64 `json:"momentum,omitempty"`
	Nesterov          bool    `json:"nesterov,omitempty"`

	Epochs   int64  `json:"epochs"`
	MaxSteps int64  `json:"max_steps"`
	Batch    int    `json:"batch"`
	Seed     uint64 `json:"seed"`
	Threads  int    `json:"threads"`

	MonitorEvery int64 `json:"monitor_every"`
	ValEvery     int64 `json:"val_every"`
	ValSamples   int   `json:"val_samples"`
}

// defaults is SeedNet on MNIST as the README's first command runs it.
func defaults() Config {
	return Config{
		Size: 28, Act: "selu", Constraint: "auto", Standardize: "auto", Opt: "adam", Schedule: "cosine",
		Epochs: 1, Batch: 32, Seed: 1, MonitorEvery: 50, ValSamples: 2000,
	}
}

// constraints are the values of -constraint (nn.ParseConstraint also
// takes maxnorm(M)).
var constraints = []string{"none", "centralize", "centralize-units", "selfnorm", "selfnorm-tensor", "selfnorm-omega"}

// addFlags registers the flags of a training run on fs, writing into c.
// centralize is the -centralize shorthand, resolved by finish.
func (c *Config) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", c.Data, "folder with the four MNIST IDX files (.gz or not); default: fetch MNIST through the Go module proxy")
	fs.StringVar(&c.PlacesTrain, "places-train", c.PlacesTrain, "Places365 training list (places365_train_standard.txt); paths are relative to -places-root")
	fs.StringVar(&c.PlacesVal, "places-val", c.PlacesVal, "Places365 validation list (places365_val.txt)")
	fs.StringVar(&c.PlacesRoot, "places-root", c.PlacesRoot, "folder the Places365 list paths are relative to")
	fs.StringVar(&c.PlacesValRoot, "places-val-root", c.PlacesValRoot, "folder the -places-val paths are relative to (default: -places-root)")
	fs.StringVar(&c.PlacesCategories, "places-categories", c.PlacesCategories, "categories_places365.txt, for class names (optional)")
	fs.StringVar(&c.Folder, "folder", c.Folder, "training images, one sub-folder per class (JPEG or PNG)")
	fs.StringVar(&c.ValFolder, "val-folder", c.ValFolder, "validation images, with the same class sub-folders as -folder")
	fs.IntVar(&c.MaxPixels, "max-pixels", c.MaxPixels, fmt.Sprintf("largest image file in pixels, read from its header before decoding; larger ones stop the run, naming the file (0: %d)", data.DefaultMaxPixels))
	fs.IntVar(&c.Size, "size", c.Size, "image side in pixels: images are resized (Places, folders) or zero-padded (MNIST) to size x size")
	fs.IntVar(&c.Classes, "classes", c.Classes, "number of output logits (0: the data set's classes); more than the data has is allowed")
	fs.StringVar(&c.Act, "act", c.Act, "activation: selu (LeCun-normal init) or relu (He-normal init)")
	fs.StringVar(&c.Constraint, "constraint", c.Constraint, "kernel constraint after every step: "+strings.Join(constraints, ", ")+"; default: centralize for selu, none for relu")
	fs.StringVar(&c.Standardize, "standardize", c.Standardize, "standardize inputs per channel to mean 0, variance 1 with training-set statistics: on, off, or auto (on for selu)")
	fs.Func("centralize", "shorthand: -centralize=true is -constraint centralize, =false is -constraint none", func(s string) error {
		switch s {
		case "true", "1", "":
			c.Constraint = "centralize"
		case "false", "0":
			c.Constraint = "none"
		default:
			return fmt.Errorf("want true or false, got %q", s)
		}
		return nil
	})
	fs.BoolVar(&c.BatchNorm, "batchnorm", c.BatchNorm, "BatchNorm (Keras defaults) after every convolution and hidden dense layer, before the activation")
	fs.Float64Var(&c.BatchNormMomentum, "batchnorm-momentum", c.BatchNormMomentum, "momentum of -batchnorm's moving statistics, in [0, 1) (0: Keras' 0.99)")
	fs.Int64Var(&c.DataNorm, "datanorm", c.DataNorm, "every N steps, rescale every unit so that its pre-activation on the step's batch has mean 0 and variance 1 (0: off)")
	fs.BoolVar(&c.DataNormVariance, "datanorm-variance", c.DataNormVariance, "-datanorm fixes the variance only and leaves the biases to the optimizer")
	fs.BoolVar(&c.DataNormLogits, "datanorm-logits", c.DataNormLogits, "-datanorm rescales the output layer (the logits) too")
	fs.BoolVar(&c.DataNormLR, "datanorm-lr", c.DataNormLR, "-datanorm also scales each rescaled unit's learning rate by its cumulative rescale factor")
	fs.Int64Var(&c.DataNormWarmup, "datanorm-warmup", c.DataNormWarmup, "-datanorm also runs after every one of the first N steps (0: none)")
	fs.BoolVar(&c.DataNormCentre, "datanorm-centre", c.DataNormCentre, "the backward pass subtracts each -datanorm unit's mean gradient over the batch, as the gradient through its mean condition")
	fs.Float64Var(&c.AlphaDropout, "alpha-dropout", c.AlphaDropout, "dropout rate after each hidden dense layer (alpha dropout for selu, plain dropout for relu)")
	fs.Float64Var(&c.WeightDecay, "weight-decay", c.WeightDecay, "L2 weight decay on kernels (added to the gradient as wd*w)")
	fs.StringVar(&c.Opt, "opt", c.Opt, "optimizer: adam, adadelta or sgd (Keras defaults)")
	fs.Float64Var(&c.LR, "lr", c.LR, "learning rate (0: the optimizer's default: adam 1e-3, adadelta 1e-3, sgd 0.01)")
	fs.Float64Var(&c.Eps, "eps", c.Eps, "optimizer epsilon (0: 1e-7, Keras' default)")
	fs.StringVar(&c.Schedule, "schedule", c.Schedule, "learning-rate schedule: cosine (from -lr down to 0 at the last step) or constant (Keras' default)")
	fs.Int64Var(&c.Warmup, "warmup", c.Warmup, "steps of linear learning-rate warm-up from 0 (0: none)")
	fs.Float64Var(&c.Momentum, "momentum", c.Momentum, "momentum of -opt sgd")
	fs.BoolVar(&c.Nesterov, "nesterov", c.Nesterov, "Nesterov momentum for -opt sgd")
	fs.Int64Var(&c.Epochs, "epochs", c.Epochs, "epochs to train")
	fs.Int64Var(&c.MaxSteps, "max-steps", c.MaxSteps, "stop after this many steps (0: no limit)")
	fs.IntVar(&c.Batch, "batch", c.Batch, "batch size")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the weights, the data order and dropout")
	fs.IntVar(&c.Threads, "threads", c.Threads, "goroutines for the kernels (0: GOMAXPROCS); results do not depend on it")
	fs.Int64Var(&c.MonitorEvery, "monitor-every", c.MonitorEvery, "measure per-layer activation statistics every N steps (0: off)")
	fs.Int64Var(&c.ValEvery, "val-every", c.ValEvery, "evaluate the validation subset every N steps (0: four times per epoch, or per run if it is shorter)")
	fs.IntVar(&c.ValSamples, "val-samples", c.ValSamples, "validation images evaluated during training (the full set is evaluated at the end)")
}

// finish resolves defaults that depend on other flags and checks every
// value, naming the flag at fault.
func (c *Config) finish() error {
	switch c.Act {
	case "selu", "relu":
	default:
		return fmt.Errorf("-act %q: want selu or relu", c.Act)
	}
	if c.Constraint == "auto" || c.Constraint == "" {
		c.Constraint = "none"
		if c.Act == "selu" {
			c.Constraint = "centralize"
		}
	}
	if !slices.Contains(constraints, c.Constraint) && !strings.HasPrefix(c.Constraint, "maxnorm(") {
		return fmt.Errorf("-constraint %q: want one of %s, or maxnorm(M)", c.Constraint, strings.Join(constraints, ", "))
	}
	if _, err := nn.ParseConstraint(c.Constraint); err != nil {
		return fmt.Errorf("-constraint: %w", err)
	}
	switch c.Standardize {
	case "auto", "":
		c.Standardize = "off"
		if c.Act == "selu" {
			c.Standardize = "on"
		}
	case "on", "off":
	case "true", "1":
		c.Standardize = "on"
	case "false", "0":
		c.Standardize = "off"
	default:
		return fmt.Errorf("-standardize %q: want on, off or auto", c.Standardize)
	}
	switch c.Opt {
	case "adam", "adadelta", "sgd":
	default:
		return fmt.Errorf("-opt %q: want adam, adadelta or sgd", c.Opt)
	}
	sources := 0
	for _, s := range []string{c.Data, c.PlacesTrain, c.Folder} {
		if s != "" {
			sources++
		}
	}
	switch {
	case sources > 1:
		return errors.New("-data, -places-train and -folder are alternatives: give one")
	case c.PlacesTrain != "" && c.PlacesRoot == "":
		return errors.New("-places-train needs -places-root, the folder its paths are relative to")
	case c.PlacesVal != "" && c.PlacesTrain == "":
		return errors.New("-places-val needs -places-train")
	case c.ValFolder != "" && c.Folder == "":
		return errors.New("-val-folder needs -folder")
	}
	for _, f := range []struct {
		name string
		v    float64
		ok   bool
	}{
		{"-size", float64(c.Size), c.Size >= 16 && c.Size <= 1024},
		{"-classes", float64(c.Classes), c.Classes >= 0 && c.Classes <= 100000},
		{"-datanorm", float64(c.DataNorm), c.DataNorm >= 0},
		{"-datanorm-warmup", float64(c.DataNormWarmup), c.DataNormWarmup >= 0},
		{"-alpha-dropout", c.AlphaDropout, c.AlphaDropout >= 0 && c.AlphaDropout < 1},
		{"-weight-decay", c.WeightDecay, c.WeightDecay >= 0},
		{"-lr", c.LR, c.LR >= 0},
		{"-eps", c.Eps, c.Eps >= 0},
		{"-momentum", c.Momentum, c.Momentum >= 0 && c.Momentum < 1},
		{"-batchnorm-momentum", c.BatchNormMomentum, c.BatchNormMomentum >= 0 && c.BatchNormMomentum < 1},
		{"-epochs", float64(c.Epochs), c.Epochs >= 0},
		{"-max-steps", float64(c.MaxSteps), c.MaxSteps >= 0},
		{"-batch", float64(c.Batch), c.Batch >= 1 && c.Batch <= 65536},
		{"-threads", float64(c.Threads), c.Threads >= 0 && c.Threads <= 4*runtime.NumCPU()+64},
		{"-monitor-every", float64(c.MonitorEvery), c.MonitorEvery >= 0},
		{"-val-every", float64(c.ValEvery), c.ValEvery >= 0},
		{"-val-samples", float64(c.ValSamples), c.ValSamples >= 0},
		{"-max-pixels", float64(c.MaxPixels), c.MaxPixels >= 0},
	} {
		// NaN fails every comparison of ok; an infinity passes some.
		if !f.ok || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s %v is out of range (%s)", f.name, f.v, rangeHelp[f.name])
		}
	}
	switch c.Schedule {
	case "constant", "cosine":
	default:
		return fmt.Errorf("-schedule %q: want constant or cosine", c.Schedule)
	}
	if c.Warmup < 0 {
		return fmt.Errorf("-warmup %d is out of range (non-negative)", c.Warmup)
	}
	if c.Opt != "sgd" && (c.Momentum != 0 || c.Nesterov) {
		return fmt.Errorf("-momentum and -nesterov are for -opt sgd, not %s", c.Opt)
	}
	if c.Opt == "sgd" && c.Eps != 0 {
		return errors.New("-eps has no meaning for -opt sgd")
	}
	if !c.BatchNorm && c.BatchNormMomentum != 0 {
		return errors.New("-batchnorm-momentum needs -batchnorm")
	}
	if c.DataNorm == 0 && (c.DataNormVariance || c.DataNormLogits) {
		return errors.New("-datanorm-variance and -datanorm-logits need -datanorm N")
	}
	if c.DataNorm == 0 && c.DataNormLR {
		return errors.New("-datanorm-lr needs -datanorm N")
	}
	if c.DataNorm == 0 && c.DataNormWarmup != 0 {
		return errors.New("-datanorm-warmup needs -datanorm N")
	}
	if c.DataNorm == 0 && c.DataNormCentre {
		return errors.New("-datanorm-centre needs -datanorm N")
	}
	if c.Epochs == 0 && c.MaxSteps == 0 {
		return errors.New("-epochs 0 needs -max-steps: nothing would be trained")
	}
	return nil
}

var rangeHelp = map[string]string{
	"-size":               "16 to 1024; SeedNet halves it four times",
	"-classes":            "0 for the data set's, or a positive count",
	"-datanorm":           "0 for off, or an interval in steps",
	"-datanorm-warmup":    "0 for none, or a number of steps",
	"-alpha-dropout":      "a rate in [0, 1)",
	"-weight-decay":       "non-negative",
	"-lr":                 "non-negative; 0 picks the optimizer's default",
	"-eps":                "non-negative; 0 picks 1e-7",
	"-momentum":           "in [0, 1)",
	"-batchnorm-momentum": "in [0, 1); 0 picks 0.99",
	"-epochs":             "non-negative",
	"-max-steps":          "non-negative",
	"-batch":              "1 to 65536",
	"-threads":            "0 for GOMAXPROCS, or a positive count",
	"-monitor-every":      "non-negative",
	"-val-every":          "non-negative",
	"-val-samples":        "non-negative",
	"-max-pixels":         "0 for the default, or a positive count",
}

// parse parses args into fs, reporting problems on stderr; it returns
// errUsage when the arguments are wrong.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "snn %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// required reports that a command's required flag is missing, with the
// command's usage.
func required(fs *flag.FlagSet, name string, stderr io.Writer) error {
	fmt.Fprintf(stderr, "snn %s: -%s is required\n", fs.Name(), name)
	fs.Usage()
	return errUsage
}

// configSection is the checkpoint section holding the run's Config.
const configSection = "snn/config"

func (c Config) marshal() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain struct: cannot fail
	}
	return b
}

func unmarshalConfig(b []byte) (Config, error) {
	c := defaults()
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("the checkpoint's configuration: %w", err)
	}
	return c, nil
}
