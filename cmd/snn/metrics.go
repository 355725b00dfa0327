package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/snnkit/snn/nn"
)

// The fixed columns of metrics.csv; one <layer>_mean and <layer>_var pair
// per watched layer (activations and poolings) follows them.
var fixedColumns = []string{
	"step", "epoch", "train_loss", "train_top1", "train_top5", "lr", "images_per_s",
	"val_loss", "val_top1", "val_top5",
}

// recorder writes metrics.csv: a row at every monitor measurement and
// every validation, with the training loss and accuracy averaged over the
// steps since the previous row. Cells without a value are empty.
type recorder struct {
	f       *os.File
	w       *csv.Writer
	header  []string
	layers  []string // watched layers, in column order
	kernels []string // layers with a kernel, for omega and tau

	rows map[int64][]string // rows not written yet, by step
	// training statistics since the last written row
	n                      int
	loss, top1, top5, imgs float64
	lr                     float64
	epoch                  int64
}

// openRecorder creates metrics.csv in dir, or appends to it when resuming
// (its header must then match the model's layers).
func openRecorder(path string, m *nn.Model, resume bool) (*recorder, error) {
	r := &recorder{rows: map[int64][]string{}, layers: watchedLayers(m), kernels: kernelLayers(m)}
	r.header = append([]string(nil), fixedColumns...)
	for _, l := range r.layers {
		r.header = append(r.header, l+"_mean", l+"_var")
	}
	for _, l := range r.kernels {
		for _, s := range unitStats {
			r.header = append(r.header, l+"_"+s)
		}
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resume {
		old, err := readMetrics(path)
		if err == nil && !slices.Equal(old.header, r.header) {
			return nil, fmt.Errorf("%s: its columns do not match this model's layers", path)
		}
		if err == nil {
			flags = os.O_WRONLY | os.O_APPEND
		}
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, err
	}
	r.f, r.w = f, csv.NewWriter(metricsWriter(f))
	if flags&os.O_APPEND == 0 {
		// Written at once, so that a full disk fails the run before it
		// trains.
		r.w.Write(r.header)
		r.w.Flush()
		if err := r.w.Error(); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return r, nil
}

// metricsWriter is where the recorder writes f's rows; tests make it fail
// as a full disk does.
var metricsWriter = func(f *os.File) io.Writer { return f }

// unitStats are the per-unit statistics of kernels that nn.UnitStats
// reports: omega (sum of a unit's weights) and tau (sum of squares).
var unitStats = []string{"omega_min", "omega_median", "omega_max", "tau_min", "tau_median", "tau_max"}

// kernelLayers names the layers with a kernel, in order.
func kernelLayers(m *nn.Model) []string {
	var names []string
	for _, l := range m.Layers() {
		for _, p := range l.Params() {
			if p.Kernel {
				names = append(names, l.(interface{ Name() string }).Name())
				break
			}
		}
	}
	return names
}

// watchedLayers names the layers whose outputs the monitor reports as the
// self-normalization picture: every activation and every pooling.
func watchedLayers(m *nn.Model) []string {
	var names []string
	for _, l := range m.Layers() {
		switch l.(type) {
		case *nn.SELU, *nn.ReLU, *nn.MaxPool2D:
			names = append(names, l.(interface{ Name() string }).Name())
		}
	}
	return names
}

func (r *recorder) row(step int64) []string {
	row, ok := r.rows[step]
	if !ok {
		row = make([]string, len(r.header))
		row[0] = strconv.FormatInt(step, 10)
		r.rows[step] = row
	}
	return row
}

// fmtF formats a cell; a NaN or an infinity (a diverging run's) is left
// empty, as a missing value, so that readers of the file need not parse
// them.
func fmtF(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 7, 64)
}

// step accumulates one training step, and writes the rows of earlier
// steps, which are complete now.
func (r *recorder) step(s nn.StepStats) error {
	if err := r.flushBefore(s.Step); err != nil {
		return err
	}
	r.n++
	r.loss += s.Loss
	r.top1 += s.Top1
	r.top5 += s.Top5
	r.imgs += s.ImagesPerSec()
	r.lr, r.epoch = s.LR, s.Epoch
	return nil
}

// mark closes the training averages into the row of step.
func (r *recorder) mark(step int64) {
	row := r.row(step)
	if r.n == 0 || row[2] != "" {
		return
	}
	n := float64(r.n)
	row[1] = strconv.FormatInt(r.epoch, 10)
	row[2], row[3], row[4] = fmtF(r.loss/n), fmtF(r.top1/n), fmtF(r.top5/n)
	row[5], row[6] = fmtF(r.lr), fmtF(r.imgs/n)
	r.n, r.loss, r.top1, r.top5, r.imgs = 0, 0, 0, 0, 0
}

func (r *recorder) validation(step int64, m nn.Metrics) {
	r.mark(step)
	row := r.row(step)
	row[7], row[8], row[9] = fmtF(m.Loss), fmtF(m.Top1), fmtF(m.Top5)
}

func (r *recorder) report(rep *nn.Report) {
	r.mark(rep.Step)
	row := r.row(rep.Step)
	kbase := len(fixedColumns) + 2*len(r.layers)
	for _, l := range rep.Layers {
		if i := slices.Index(r.layers, l.Name); i >= 0 {
			row[len(fixedColumns)+2*i] = fmtF(l.Mean)
			row[len(fixedColumns)+2*i+1] = fmtF(l.Var)
		}
		if i := slices.Index(r.kernels, l.Name); i >= 0 {
			for _, st := range l.Stats {
				if j := slices.Index(unitStats, st.Name); j >= 0 {
					row[kbase+len(unitStats)*i+j] = fmtF(st.Value)
				}
			}
		}
	}
}

// flushBefore writes the rows of steps before step, in order.
func (r *recorder) flushBefore(step int64) error {
	var steps []int64
	for s := range r.rows {
		if s < step {
			steps = append(steps, s)
		}
	}
	slices.Sort(steps)
	for _, s := range steps {
		if err := r.w.Write(r.rows[s]); err != nil {
			return err
		}
		delete(r.rows, s)
	}
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		return fmt.Errorf("%s: %w", r.f.Name(), err)
	}
	return nil
}

// close writes what is left, with the last training averages in a row of
// their own step.
func (r *recorder) close(lastStep int64) error {
	if r.n > 0 {
		r.mark(lastStep)
	}
	err := r.flushBefore(lastStep + 1)
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// metricsTable is metrics.csv read back, for plots.
type metricsTable struct {
	header []string
	rows   [][]string
}

func readMetrics(path string) (*metricsTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMetrics(f)
}

func parseMetrics(rd io.Reader) (*metricsTable, error) {
	cr := csv.NewReader(rd)
	all, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("empty metrics file")
	}
	return &metricsTable{header: all[0], rows: all[1:]}, nil
}

// column returns the (step, value) pairs of a column where it has a value.
func (t *metricsTable) column(name string) (steps, values []float64) {
	j := slices.Index(t.header, name)
	if j < 0 {
		return nil, nil
	}
	for _, row := range t.rows {
		if j >= len(row) || row[j] == "" {
			continue
		}
		s, err1 := strconv.ParseFloat(row[0], 64)
		v, err2 := strconv.ParseFloat(row[j], 64)
		if err1 == nil && err2 == nil {
			steps, values = append(steps, s), append(values, v)
		}
	}
	return steps, values
}
