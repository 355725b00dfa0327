package main

import (
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// series is one line of a plot.
type series struct {
	name   string
	x, y   []float64
	color  color.Color
	dashed bool
}

func xys(x, y []float64) plotter.XYs {
	pts := make(plotter.XYs, 0, len(x))
	for i := range x {
		if !math.IsNaN(y[i]) && !math.IsInf(y[i], 0) {
			pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	return pts
}

// stepTicks labels the step axis with whole numbers.
type stepTicks struct{}

func (stepTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', 0, 64)
		}
	}
	return ts
}

// linePlot draws the series into one plot.
func linePlot(title, xlabel, ylabel string, logY bool, lines []series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	if xlabel == "step" {
		p.X.Tick.Marker = stepTicks{}
	}
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for _, s := range lines {
		pts := xys(s.x, s.y)
		if logY {
			kept := pts[:0]
			for _, pt := range pts {
				if pt.Y > 0 {
					kept = append(kept, pt)
				}
			}
			pts = kept
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.Color = s.color
		l.Width = vg.Points(1.3)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		if s.name != "" {
			p.Legend.Add(s.name, l)
		}
	}
	return p, nil
}

// savePlots writes stacked plots into one PNG.
func savePlots(path string, w, h vg.Length, plots ...*plot.Plot) error {
	return savePlotsLegend(path, w, h, nil, plots...)
}

// savePlotsLegend writes stacked plots into one PNG, with legend (if not
// nil) in a column of its own on the right, where it hides no line.
func savePlotsLegend(path string, w, h vg.Length, legend *plot.Legend, plots ...*plot.Plot) error {
	lw := vg.Length(0)
	if legend != nil {
		lw = 3.2 * vg.Centimeter
	}
	img := vgimg.New(w+lw, h*vg.Length(len(plots)))
	full := draw.New(img)
	dc := draw.Crop(full, 0, -lw, 0, 0)
	if legend != nil {
		lc := draw.Crop(full, w, 0, 0, 0)
		legend.Top, legend.Left = true, true
		legend.YOffs = -vg.Points(20)
		legend.Draw(lc)
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4)}
	grid := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		grid[i] = []*plot.Plot{p}
	}
	for _, p := range plots {
		p.Title.Text = wrapTitle(p.Title.TextStyle, p.Title.Text, w-vg.Points(8))
	}
	canvases := plot.Align(grid, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	return savePNG(path, img)
}

// wrapTitle breaks title into lines no wider than w in the style sty, at
// spaces (a word wider than w keeps a line of its own): a run's title
// names every setting, and a long one would run off the image.
func wrapTitle(sty text.Style, title string, w vg.Length) string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(title) {
		next := word
		if line != "" {
			next = line + " " + word
		}
		if line != "" && sty.Width(next) > w {
			lines = append(lines, line)
			next = word
		}
		line = next
	}
	return strings.Join(append(lines, line), "\n")
}

// palette gives n colours from deep blue (first layers) to red (deep
// layers), so depth reads off the colour.
func palette(n int) []color.Color {
	cs := make([]color.Color, n)
	for i := range cs {
		t := 0.0
		if n > 1 {
			t = float64(i) / float64(n-1)
		}
		cs[i] = color.RGBA{R: uint8(30 + 200*t), G: uint8(60 + 80*math.Sin(math.Pi*t)), B: uint8(220 - 190*t), A: 255}
	}
	return cs
}

var (
	trainColor = color.RGBA{R: 40, G: 90, B: 200, A: 255}
	valColor   = color.RGBA{R: 220, G: 80, B: 30, A: 255}
)

// writeRunPlots draws the plots of one run folder from its metrics.csv:
// loss.png (training and validation loss), accuracy.png (top-1 and
// top-5), activations.png (each watched layer's activation mean and
// variance over training: the self-normalization picture).
func writeRunPlots(dir, title string) (err error) {
	// A plot is a view of metrics.csv, never a reason to lose a run:
	// gonum/plot panics on some degenerate inputs.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("drawing the plots of %s: %v", dir, p)
		}
	}()
	t, err := readMetrics(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		return err
	}
	trS, trL := t.column("train_loss")
	vaS, vaL := t.column("val_loss")
	p, err := linePlot(title+": loss", "step", "cross-entropy", false, []series{
		{name: "training (mean since previous point)", x: trS, y: trL, color: trainColor},
		{name: "validation", x: vaS, y: vaL, color: valColor},
	})
	if err != nil {
		return err
	}
	if err := savePlots(filepath.Join(dir, "loss.png"), 16*vg.Centimeter, 9*vg.Centimeter, p); err != nil {
		return err
	}
	t1S, t1 := t.column("train_top1")
	t5S, t5 := t.column("train_top5")
	v1S, v1 := t.column("val_top1")
	v5S, v5 := t.column("val_top5")
	scale := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = 100 * x
		}
		return out
	}
	p, err = linePlot(title+": accuracy", "step", "%", false, []series{
		{name: "training top-1", x: t1S, y: scale(t1), color: trainColor},
		{name: "training top-5", x: t5S, y: scale(t5), color: trainColor, dashed: true},
		{name: "validation top-1", x: v1S, y: scale(v1), color: valColor},
		{name: "validation top-5", x: v5S, y: scale(v5), color: valColor, dashed: true},
	})
	if err != nil {
		return err
	}
	p.Legend.Top = false // the curves rise to the top
	if err := savePlots(filepath.Join(dir, "accuracy.png"), 16*vg.Centimeter, 9*vg.Centimeter, p); err != nil {
		return err
	}
	var layers []string
	for _, h := range t.header[len(fixedColumns):] {
		if n := len(h); n > 5 && h[n-5:] == "_mean" {
			layers = append(layers, h[:n-5])
		}
	}
	if len(layers) == 0 {
		return nil
	}
	cols := palette(len(layers))
	var means, vars []series
	measured := 0
	for i, l := range layers {
		ms, mv := t.column(l + "_mean")
		vs, vv := t.column(l + "_var")
		means = append(means, series{name: l, x: ms, y: mv, color: cols[i]})
		vars = append(vars, series{x: vs, y: vv, color: cols[i]})
		measured += len(vs)
	}
	if measured == 0 {
		return nil // the monitor was off
	}
	legend := plot.NewLegend()
	legend.TextStyle.Font.Size = vg.Points(8)
	for _, l := range means {
		if len(l.x) == 0 {
			continue
		}
		th, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 0}})
		if err != nil {
			return err
		}
		th.Color, th.Width = l.color, vg.Points(2)
		legend.Add(l.name, th)
	}
	for i := range means {
		means[i].name = "" // named in the legend column
	}
	pm, err := linePlot(title+": activation mean per layer (monitor batch)", "step", "mean", false, means)
	if err != nil {
		return err
	}
	pv, err := linePlot(title+": activation variance per layer (1 is the SELU fixed point)", "step", "variance (log)", true, vars)
	if err != nil {
		return err
	}
	one, err := plotter.NewLine(plotter.XYs{{X: firstX(vars), Y: 1}, {X: lastX(vars), Y: 1}})
	if err == nil {
		one.Color = color.Gray{Y: 90}
		one.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		pv.Add(one)
	}
	return savePlotsLegend(filepath.Join(dir, "activations.png"), 18*vg.Centimeter, 11*vg.Centimeter, &legend, pm, pv)
}

func firstX(s []series) float64 {
	x := math.Inf(1)
	for _, l := range s {
		if len(l.x) > 0 {
			x = min(x, l.x[0])
		}
	}
	if math.IsInf(x, 0) {
		return 0
	}
	return x
}

func lastX(s []series) float64 {
	x := math.Inf(-1)
	for _, l := range s {
		if len(l.x) > 0 {
			x = max(x, l.x[len(l.x)-1])
		}
	}
	if math.IsInf(x, 0) {
		return 1
	}
	return x
}

func savePNG(path string, img *vgimg.Canvas) error {
	png := vgimg.PngCanvas{Canvas: img}
	f, err := createFile(path)
	if err != nil {
		return err
	}
	if _, err := png.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// cmdPlot redraws the plots of run folders, from metrics.csv and the
// configuration saved next to it.
func cmdPlot(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: snn plot RUNDIR...\n\n"+
			"Redraws loss.png, accuracy.png and activations.png of each run folder\n"+
			"from its metrics.csv (and its config.json, for the titles).\n")
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		fs.Usage()
		return errUsage
	}
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "metrics.csv")); err != nil {
			return fmt.Errorf("plot %s: not a run folder (%w)", dir, err)
		}
		title := filepath.Base(dir)
		if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
			if cfg, err := unmarshalConfig(b); err == nil {
				title = runTitle(cfg, dataName(cfg))
			}
		}
		if err := writeRunPlots(dir, title); err != nil {
			return err
		}
	}
	return nil
}

// dataName names a configuration's data set for titles.
func dataName(cfg Config) string {
	switch {
	case cfg.PlacesTrain != "":
		return "places365"
	case cfg.Folder != "":
		return filepath.Base(cfg.Folder)
	case cfg.Size != 28:
		return fmt.Sprintf("mnist %dx%d", cfg.Size, cfg.Size) // zero-padded: compare -places-like
	}
	return "mnist"
}
