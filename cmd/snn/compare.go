package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/snnkit/snn/net"
)

// variant is one arm of the seed's experiment: the same network, seed and
// data with another activation, constraint or dropout.
type variant struct {
	name  string
	apply func(*Config)
}

var variants = []variant{
	{"relu", func(c *Config) { c.Act, c.Constraint, c.AlphaDropout = "relu", "none", 0 }},
	{"selu", func(c *Config) { c.Act, c.Constraint, c.AlphaDropout = "selu", "none", 0 }},
	{"selu-centralize", func(c *Config) { c.Act, c.Constraint, c.AlphaDropout = "selu", "centralize", 0 }},
	{"selu-centralize-dropout", func(c *Config) { c.Act, c.Constraint = "selu", "centralize" }},
}

func variantNames() []string {
	var n []string
	for _, v := range variants {
		n = append(n, v.name)
	}
	return n
}

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	cfg.AlphaDropout = 0.1
	var out, progress, which string
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	cfg.addFlags(fs)
	fs.StringVar(&out, "out", "", "folder for the runs, the table and the overlaid plots (default: runs/compare-<time>)")
	fs.StringVar(&progress, "progress", "auto", "progress display: bar, lines, none, or auto")
	fs.StringVar(&which, "variants", strings.Join(variantNames(), ","), "comma-separated variants to run: "+strings.Join(variantNames(), ", "))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: snn compare [flags]\n\n"+
			"Trains the same SeedNet with the same seed and data once per variant and\n"+
			"compares them (compare.md, compare.png). -alpha-dropout is the rate of the\n"+
			"dropout variant (default 0.1); -act and -constraint are set by each variant. Flags:\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	var chosen []variant
	for _, name := range strings.Split(which, ",") {
		i := slices.IndexFunc(variants, func(v variant) bool { return v.name == strings.TrimSpace(name) })
		if i < 0 {
			return fmt.Errorf("-variants: unknown variant %q (have %s)", name, strings.Join(variantNames(), ", "))
		}
		chosen = append(chosen, variants[i])
	}
	if out == "" {
		out = filepath.Join("runs", "compare-"+time.Now().Format("20060102-150405"))
	}
	var results []*runResult
	for _, v := range chosen {
		c := cfg
		v.apply(&c)
		if err := c.finish(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "\n== %s\n", v.name)
		res, err := train(ctx, c, runOptions{out: filepath.Join(out, v.name), progress: progress}, stdout, stderr)
		var nf *net.NonFiniteError
		switch {
		case err == nil:
		case errors.As(err, &nf):
			// A diverging variant is a result, not a failure of compare.
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
	fmt.Fprintf(&b, "| variant | steps | test top-1 | test top-5 | test loss | images/s | activation variance range (all layers, after step 0) |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range results {
		name := filepath.Base(r.Dir)
		if r.NonFinite != "" {
			fmt.Fprintf(&b, "| %s | %d | diverged | | | %.0f | %s |\n", name, r.Steps, r.ImagesPerSec, r.NonFinite)
			continue
		}
		lo, hi := varianceRange(r)
		fmt.Fprintf(&b, "| %s | %d | %.2f%% | %.2f%% | %.4f | %.0f | %s |\n", name, r.Steps,
			100*r.Test.Top1, 100*r.Test.Top5, r.Test.Loss, r.ImagesPerSec, fmtRange(lo, hi))
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
	return savePlots(filepath.Join(dir, "compare.png"), 16*vg.Centimeter, 9*vg.Centimeter, p1, p2)
}
