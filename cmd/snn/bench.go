package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/gemm"
	"github.com/snnkit/snn/kernels"
	"github.com/snnkit/snn/nn"
)

// cmdBench measures what the machine does with snn's kernels right now:
// the instruction set in use, the element-wise and reduction rates, GEMM
// against the core's FMA peak, and a SeedNet training step.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var quick bool
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&quick, "quick", false, "shorter measurements (noisier)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: snn bench [-quick]\n\nThe kernels in use and their rates on this machine. Flags:\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	benchtime := time.Second
	if quick {
		benchtime = 200 * time.Millisecond
	}
	measure := func(f func(b *testing.B)) testing.BenchmarkResult {
		return testing.Benchmark(func(b *testing.B) {
			b.ResetTimer()
			deadline := time.Now().Add(benchtime)
			for b.Loop() {
				f(b)
				if time.Now().After(deadline) && b.N > 2 {
					break
				}
			}
		})
	}
	perOp := func(r testing.BenchmarkResult) float64 { return float64(r.T.Nanoseconds()) / float64(r.N) }

	k := kernels.Active()
	fmt.Fprintf(stdout, "kernels: %s\nrunnable here:", kernels.Describe())
	for _, s := range kernels.Sets() {
		fmt.Fprintf(stdout, " %s", s.ISA)
	}
	fmt.Fprintf(stdout, "; GOMAXPROCS %d\n", runtime.GOMAXPROCS(0))
	fmt.Fprintf(stdout, "gemm blocks %s\n", gemmBlocks(k))
	fmt.Fprintf(stdout, "conv chunks %s\n\n", bytesIEC(conv.ChunkBytes()))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "kernel\tsize\trate\t")

	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 16<<10)
	for i := range x {
		x[i] = 8*rng.Float32() - 4
	}
	y := make([]float32, len(x))
	for _, e := range []struct {
		name string
		f    func()
	}{
		{"SELU", func() { act.SELU(y, x) }},
		{"SELUGrad", func() { act.SELUGrad(y, x, x) }},
		{"Exp", func() { act.Exp(y, x) }},
		{"Mean", func() { act.Mean(x) }},
	} {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := measure(func(*testing.B) { e.f() })
		fmt.Fprintf(tw, "%s\t%d floats\t%.2f elements/ns\t\n", e.name, len(x), float64(len(x))/perOp(r))
	}

	peak := kernels.PeakGFLOPS(&k.Gemm)
	fmt.Fprintf(tw, "FMA peak, one core\t\t%.1f GFLOP/s\t\n", peak)
	for _, sq := range []int{256, 1024} {
		a, b, c := make([]float32, sq*sq), make([]float32, sq*sq), make([]float32, sq*sq)
		for i := range a {
			a[i], b[i] = rng.Float32(), rng.Float32()
		}
		for _, th := range []int{1, runtime.GOMAXPROCS(0)} {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			o := gemm.Options{Threads: th}
			r := measure(func(*testing.B) { o.Sgemm(false, false, sq, sq, sq, 1, a, sq, b, sq, 0, c, sq) })
			gf := 2 * float64(sq*sq*sq) / perOp(r)
			fmt.Fprintf(tw, "Sgemm, %d thread(s)\t%dx%dx%d\t%.1f GFLOP/s, %.0f%% of %d core(s)' peak\t\n", th, sq, sq, sq, gf, 100*gf/(peak*float64(th)), th)
		}
	}

	for _, size := range []int{28, 64} {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		classes := 10
		if size == 64 {
			classes = 365
		}
		m, err := nn.NewSeedNet(nn.SeedNetConfig{Height: size, Width: size, Classes: classes, Constraint: nn.WeightCentralization{}, Seed: 1})
		if err != nil {
			return err
		}
		t := nn.NewTrainer(m, nn.NewAdam(), 1)
		const batch = 32
		xb := make([]float32, batch*size*size)
		lb := make([]int32, batch)
		for i := range xb {
			xb[i] = rng.Float32()
		}
		for i := range lb {
			lb[i] = int32(rng.IntN(classes))
		}
		if _, err := t.TrainBatch(xb, lb); err != nil {
			return err
		}
		r := measure(func(b *testing.B) {
			if _, err := t.TrainBatch(xb, lb); err != nil {
				b.Fatal(err)
			}
		})
		ms := perOp(r) / 1e6
		fmt.Fprintf(tw, "SeedNet training step\t%dx%d, %d classes, batch %d\t%.0f ms (%.0f images/s)\t\n", size, size, classes, batch, ms, batch/ms*1000)
	}
	return tw.Flush()
}
