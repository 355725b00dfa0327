// Command snn trains and evaluates SeedNet, the deep self-normalizing CNN
// snn exists for, on MNIST (fetched through the Go module proxy) or on
// Places365-style image collections, and measures the kernels.
//
//	snn train    [flags]   train SeedNet; progress bar, metrics.csv, plots, checkpoint
//	snn eval     -checkpoint FILE [data flags]
//	snn predict  -checkpoint FILE IMAGE|FOLDER...   the top classes of image files
//	snn export   -checkpoint FILE -onnx OUT.onnx    the network as an ONNX model
//	snn compare  [flags]   the seed's experiment: ReLU, SELU, SELU + centralization, ...
//	snn bench    [-quick]  the instruction set in use and the kernels' rates
//	snn kernels            the CPU, its caches, and which instruction sets it runs
//	snn plot     RUNDIR    redraw a run folder's plots from its metrics.csv
//	snn inspect  -run DIR  per layer: measured pre-activation variance against
//	                       the independent-inputs prediction of omega/tau
//
// Run `snn <command> -h` for the flags of a command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `snn trains deep self-normalizing CNNs (SeedNet) in pure Go.

Usage:
  snn train    [flags]            train SeedNet (default: MNIST, SELU + weight centralization, Adam)
  snn eval     -checkpoint FILE   top-1/top-5 of a checkpoint on a data set
  snn predict  -checkpoint FILE IMAGE|FOLDER...
                                  the most probable classes of image files
  snn export   -checkpoint FILE -onnx OUT.onnx
                                  the trained network as an ONNX model
  snn compare  [flags]            the same run for ReLU, SELU, SELU + centralization, ...
  snn bench    [-quick]           the instruction set in use and the kernels' rates
  snn kernels                     the CPU, its caches, and which instruction sets it runs
  snn plot     RUNDIR...          redraw the plots of run folders from their metrics.csv
  snn inspect  -run DIR           why a layer's activation variance is what it is: measured
                                  pre-activation variance vs. the independent-inputs prediction

Run 'snn <command> -h' for the flags of a command.
`

// errUsage marks an error already explained by a usage message.
var errUsage = errors.New("usage")

// run is main without the process: arguments in, exit status out, so
// tests can drive every command.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, done := interrupts(sigs, stderr, func() { os.Exit(130) })
	defer done()
	var err error
	switch args[0] {
	case "train":
		err = cmdTrain(ctx, args[1:], stdout, stderr)
	case "eval":
		err = cmdEval(ctx, args[1:], stdout, stderr)
	case "predict":
		err = cmdPredict(ctx, args[1:], stdout, stderr)
	case "export":
		err = cmdExport(args[1:], stdout, stderr)
	case "compare":
		err = cmdCompare(ctx, args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "kernels":
		err = cmdKernels(args[1:], stdout, stderr)
	case "plot":
		err = cmdPlot(args[1:], stderr)
	case "inspect":
		err = cmdInspect(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "snn: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(stderr, err)
		return 130
	default:
		fmt.Fprintln(stderr, "snn:", err)
		return 1
	}
}

// interrupts returns a context that the first signal on sigs cancels:
// every long phase then stops at its next step or batch, and training
// writes its checkpoint. A second signal calls exit at once, for the user
// who cannot wait for that (an interrupted checkpoint leaves the previous
// one intact). done stops watching.
func interrupts(sigs <-chan os.Signal, stderr io.Writer, exit func()) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	// A select with a signal and stop both ready picks either: after
	// each signal, stop is checked again, so that nothing happens once
	// done has returned, whatever was pending.
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	go func() {
		select {
		case <-sigs:
		case <-stop:
			return
		}
		if stopped() {
			return
		}
		fmt.Fprintln(stderr, "interrupt: stopping (interrupt again to quit at once)")
		cancel()
		select {
		case <-sigs:
			if stopped() {
				return
			}
			fmt.Fprintln(stderr, "second interrupt: quitting now")
			exit()
		case <-stop:
		}
	}()
	return ctx, func() {
		close(stop)
		cancel()
	}
}
