package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/nn"
)

// variant is one arm of the seed's experiment: the same network, seed and
// data with another activation, constraint or dropout.
type variant struct {
	name  string
	apply func(*Config)
}

// The seed's variants take raw inputs in [0, 1], as its user did; the last
// one adds the input standardization of a self-normalizing network.
var variants = []variant{
	{"relu", setVariant("relu", "none", false, false)},
	{"selu", setVariant("selu", "none", false, false)},
	{"selu-centralize", setVariant("selu", "centralize", false, false)},
	{"selu-centralize-dropout", setVariant("selu", "centralize", true, false)},
	{"selu-selfnorm", setVariant("selu", "selfnorm", false, false)},
	{"selu-selfnorm-standardized", setVariant("selu", "selfnorm", false, true)},
}

// extraVariants run when asked for by name (or with -variants all).
var extraVariants = []variant{
	{"selu-centralize-standardized", setVariant("selu", "centralize", false, true)},
	{"selu-standardized", setVariant("selu", "none", false, true)},
	{"selu-datanorm", withNorm(setVariant("selu", "none", false, false), norm{every: datanormEvery})},
	{"selu-datanorm-standardized", withNorm(setVariant("selu", "none", false, true), norm{every: datanormEvery})},
	{"selu-datanorm-variance-standardized", withNorm(setVariant("selu", "none", false, true), norm{every: datanormEvery, variance: true})},
	{"selu-datanorm-lr", withNorm(setVariant("selu", "none", false, false), norm{every: datanormEvery, lr: true})},
	{"selu-datanorm-lr-standardized", withNorm(setVariant("selu", "none", false, true), norm{every: datanormEvery, lr: true})},
	{"selu-datanorm-centre", withNorm(setVariant("selu", "none", false, false), norm{every: datanormEvery, lr: true, centre: true, warmup: datanormWarmup})},
	{"relu-batchnorm", withNorm(setVariant("relu", "none", false, false), norm{batch: true})},
	{"selu-batchnorm", withNorm(setVariant("selu", "none", false, false), norm{batch: true})},
}

func setVariant(act, constraint string, dropout, standardize bool) func(*Config) {
	return func(c *Config) {
		c.Act, c.Constraint = act, constraint
		c.BatchNorm, c.DataNorm, c.DataNormVariance, c.DataNormLogits, c.DataNormLR = false, 0, false, false, false
		c.DataNormCentre = false
		if !dropout {
			c.AlphaDropout = 0
		}
		c.Standardize = "off"
		if standardize {
			c.Standardize = "on"
		}
	}
}

func variantNames(vs []variant) []string {
	var n []string
	for _, v := range vs {
		n = append(n, v.name)
	}
	return n
}

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	cfg.AlphaDropout = 0.1
	// The seed's experiment ran Keras' Adam at a constant rate.
	cfg.Schedule = "constant"
	var out, which string
	var placesLike bool
	opts := defaultRunOptions()
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	cfg.addFlags(fs)
	opts.addRunFlags(fs)
	fs.BoolVar(&placesLike, "places-like", false, "the shape in which plain SELU stalls: MNIST padded to 64x64 with 365 output classes, 500 steps (-size, -classes and -max-steps still override)")
	fs.StringVar(&out, "out", "", "folder for the runs, the table and the overlaid plots (default: runs/compare-<time>)")
	fs.StringVar(&opts.progress, "progress", opts.progress, "progress display: bar, lines, none, or auto")
	fs.StringVar(&which, "variants", strings.Join(variantNames(variants), ","), "comma-separated variants to run, or all: "+
		strings.Join(append(variantNames(variants), variantNames(extraVariants)...), ", "))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: snn compare [flags]\n\n"+
			"Trains the same SeedNet with the same seed and data once per variant and\n"+
			"compares them (compare.md, compare.png, variance.png). -alpha-dropout is the\n"+
			"rate of the dropout variant (default 0.1); -act, -constraint, -standardize,\n"+
			"-batchnorm and the -datanorm flags are set by each variant, except\n"+
			"-datanorm-warmup, which applies to the DataNorm variants. Flags:\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := opts.check(); err != nil {
		return err
	}
	if placesLike {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["size"] {
			cfg.Size = 64
		}
		if !set["classes"] {
			cfg.Classes = 365
		}
		if !set["max-steps"] {
			cfg.MaxSteps = 500
		}
	}
	all := append(append([]variant(nil), variants...), extraVariants...)
	if which == "all" {
		which = strings.Join(variantNames(all), ",")
	}
	var chosen []variant
	for _, name := range strings.Split(which, ",") {
		i := slices.IndexFunc(all, func(v variant) bool { return v.name == strings.TrimSpace(name) })
		if i < 0 {
			return fmt.Errorf("-variants: unknown variant %q (have %s)", name, strings.Join(variantNames(all), ", "))
		}
		chosen = append(chosen, all[i])
	}
	if out == "" {
		out = filepath.Join("runs", "compare-"+time.Now().Format("20060102-150405"))
	}
	fmt.Fprintln(stderr, "kernels", kernels.Describe())
	var results []*runResult
	for _, v := range chosen {
		c := cfg
		v.apply(&c)
		if c.DataNorm == 0 {
			c.DataNormWarmup = 0 // -datanorm-warmup is for the DataNorm variants
		}
		if !c.BatchNorm {
			c.BatchNormMomentum = 0 // -batchnorm-momentum is for the BatchNorm variants
		}
		if err := c.finish(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "\n== %s\n", v.name)
		o := opts
		o.out = filepath.Join(out, v.name)
		res, err := train(ctx, c, o, stdout, stderr)
		var nf *nn.NonFiniteError
		switch {
		case err == nil:
		case errors.As(err, &nf):
			// A diverging variant is a result, not a failure of compare.
			fmt.Fprintln(stderr, err)
		default:
			return err
		}
		results = append(results, res)
	}
	table := compareTable(results)
	fmt.Fprint(stdout, "\n"+table)
	if err := os.WriteFile(filepath.Join(out, "compare.md"), []byte(table), 0o644); err != nil {
		return err
	}
	return compareplots(out, results)
}

// compareTable is the Markdown table of a comparison: accuracy, loss,
// speed, and how far each variant's activation variances strayed from 1.
func compareTable(results []*runResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| variant | steps | test top-1 | test top-5 | test loss | images/s | activation variance, all layers, after step 0 | layers ever outside [0.25, 4] |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---|---:|\n")
	for _, r := range results {
		name := filepath.Base(r.Dir)
		if r.NonFinite != "" {
			fmt.Fprintf(&b, "| %s | %d | diverged | | | %.0f | %s |\n", name, r.Steps, r.ImagesPerSec, r.NonFinite)
			continue
		}
		lo, hi := varianceRange(r)
		fmt.Fprintf(&b, "| %s | %d | %.2f%% | %.2f%% | %.4f | %.0f | %s | %s |\n", name, r.Steps,
			100*r.Test.Top1, 100*r.Test.Top5, r.Test.Loss, r.ImagesPerSec, fmtRange(lo, hi), outside(r))
	}
	return b.String()
}

func varianceRange(r *runResult) (lo, hi float64) {
	first := true
	for _, l := range r.Layers {
		mn, ok1 := r.VarMin[l]
		mx, ok2 := r.VarMax[l]
		if !ok1 || !ok2 {
			continue
		}
		if first || mn < lo {
			lo = mn
		}
		if first || mx > hi {
			hi = mx
		}
		first = false
	}
	if first {
		return -1, -1
	}
	return lo, hi
}

// outside counts the watched layers whose variance left [0.25, 4] at some
// measurement after the first step.
func outside(r *runResult) string {
	n, k := 0, 0
	for _, l := range r.Layers {
		mn, ok1 := r.VarMin[l]
		mx, ok2 := r.VarMax[l]
		if !ok1 || !ok2 {
			continue
		}
		n++
		if mn < 0.25 || mx > 4 {
			k++
		}
	}
	if n == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%d of %d", k, n)
}

func fmtRange(lo, hi float64) string {
	if lo < 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.3g to %.3g", lo, hi)
}

// compareplots overlays the variants' validation accuracy and loss, and
// the variance of their deepest watched layers.
func compareplots(dir string, results []*runResult) error {
	cols := palette(len(results))
	var top1, loss []series
	for i, r := range results {
		t, err := readMetrics(filepath.Join(r.Dir, "metrics.csv"))
		if err != nil {
			return err
		}
		name := filepath.Base(r.Dir)
		s, v := t.column("val_top1")
		for j := range v {
			v[j] *= 100
		}
		top1 = append(top1, series{name: name, x: s, y: v, color: cols[i]})
		s, v = t.column("val_loss")
		loss = append(loss, series{name: name, x: s, y: v, color: cols[i]})
	}
	p1, err := linePlot("validation top-1 per variant", "step", "%", false, top1)
	if err != nil {
		return err
	}
	p2, err := linePlot("validation loss per variant", "step", "cross-entropy", false, loss)
	if err != nil {
		return err
	}
	p1.Legend.Top, p1.Legend.Left = false, false
	if err := savePlots(filepath.Join(dir, "compare.png"), 16*vg.Centimeter, 9*vg.Centimeter, p1, p2); err != nil {
		return err
	}
	return variancePanels(dir, results)
}

// variancePanels draws, for each variant, the activation variance of every
// watched layer over training (log scale, the same range in every panel).
func variancePanels(dir string, results []*runResult) error {
	var plots []*plot.Plot
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range results {
		t, err := readMetrics(filepath.Join(r.Dir, "metrics.csv"))
		if err != nil {
			return err
		}
		cols := palette(len(r.Layers))
		var lines []series
		for i, l := range r.Layers {
			x, y := t.column(l + "_var")
			for _, v := range y {
				if v > 0 && !math.IsInf(v, 0) {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			lines = append(lines, series{x: x, y: y, color: cols[i]})
		}
		p, err := linePlot(filepath.Base(r.Dir), "step", "variance", true, lines)
		if err != nil {
			return err
		}
		for _, y := range []float64{0.25, 1, 4} {
			if l, err := plotter.NewLine(plotter.XYs{{X: firstX(lines), Y: y}, {X: lastX(lines), Y: y}}); err == nil {
				l.Color = color.Gray{Y: 100}
				l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
				p.Add(l)
			}
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 || math.IsInf(lo, 0) {
		return nil
	}
	for _, p := range plots {
		p.Y.Min, p.Y.Max = min(lo, 0.2), max(hi, 5)
	}
	cols := 2
	rows := (len(plots) + cols - 1) / cols
	w, h := 12*vg.Centimeter, 8*vg.Centimeter
	img := vgimg.New(w*vg.Length(cols), h*vg.Length(rows))
	dc := draw.New(img)
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
		for j := range grid[i] {
			if k := i*cols + j; k < len(plots) {
				grid[i][j] = plots[k]
			}
		}
	}
	canvases := plot.Align(grid, draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6)}, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	return savePNG(filepath.Join(dir, "variance.png"), img)
}
