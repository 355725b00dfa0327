package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/snnkit/snn/nn"
)

// progress shows a run's steps: a progress bar with the loss, top-1 and
// images/s on a terminal, or a line every few seconds in a log.
type progress struct {
	mode  string
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int64
	last  time.Time
	// running means over the steps since the last line
	n                int
	loss, top1, imgs float64
	val              string
}

func newProgress(mode string, w io.Writer, total, done int64) *progress {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	p := &progress{mode: mode, w: w, total: total, last: time.Now()}
	if mode == "bar" {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("steps"),
			progressbar.OptionShowIts(),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
		)
		if done > 0 {
			_ = p.bar.Set64(done)
		}
	}
	return p
}

func (p *progress) step(s nn.StepStats) {
	p.n++
	p.loss += s.Loss
	p.top1 += s.Top1
	p.imgs += s.ImagesPerSec()
	switch p.mode {
	case "bar":
		p.bar.Describe(fmt.Sprintf("loss %.3f top-1 %5.1f%% %4.0f img/s%s", s.Loss, 100*s.Top1, s.ImagesPerSec(), p.val))
		_ = p.bar.Set64(s.Step)
	case "lines":
		if time.Since(p.last) >= 10*time.Second || s.Step == p.total {
			n := float64(p.n)
			fmt.Fprintf(p.w, "step %d/%d epoch %d: loss %.4f top-1 %.2f%% %.0f img/s%s\n",
				s.Step, p.total, s.Epoch, p.loss/n, 100*p.top1/n, p.imgs/n, p.val)
			p.n, p.loss, p.top1, p.imgs = 0, 0, 0, 0
			p.last = time.Now()
		}
	}
}

func (p *progress) validation(step int64, m nn.Metrics) {
	p.val = fmt.Sprintf(" | val top-1 %.2f%%", 100*m.Top1)
}

// done ends the display; a run that stopped early (an error, Ctrl-C)
// keeps its bar where it stopped rather than drawing it full.
func (p *progress) done(finished bool) {
	if p.bar != nil {
		if finished {
			_ = p.bar.Finish()
		} else {
			_ = p.bar.Exit()
		}
		fmt.Fprintln(p.w)
	}
}
