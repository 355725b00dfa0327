package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/snnkit/snn/onnx"
)

func cmdExport(args []string, stdout, stderr io.Writer) error {
	var path, out string
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.StringVar(&path, "checkpoint", "", "checkpoint file (checkpoint.snn in a run folder), or the run folder")
	fs.StringVar(&out, "onnx", "", "ONNX model file to write")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: snn export -checkpoint FILE -onnx OUT.onnx

Writes the trained network as an ONNX model (opset %d): its input
"input" is float [N][1][size][size], images as snn decodes them (CIE L*
in [0, 1], or MNIST's grey levels), standardized inside the model; its
outputs are "logits" and "probabilities", float [N][classes]. BatchNorm
is folded into the layers before it and dropout is left out. Flags:
`, onnx.Opset)
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if path == "" || out == "" {
		fmt.Fprintln(stderr, "snn export: -checkpoint and -onnx are required")
		fs.Usage()
		return errUsage
	}
	run, err := openTrained(path)
	if err != nil {
		return err
	}
	in := run.net.Model.InputShape()
	b, err := onnx.Marshal(run.net.Model, onnx.Options{
		Standardization: run.net.Standardization,
		ClassNames:      run.net.ClassNames,
		DocString: fmt.Sprintf("SeedNet %dx%dx%d -> %d classes, %s, trained by snn (%s)",
			in.C, in.H, in.W, run.net.Model.OutputShape().Size(), run.cfg.Act, filepath.Base(run.path)),
	})
	if err != nil {
		return err
	}
	// Written beside its final name and renamed, so that a failure
	// leaves no truncated model behind.
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	if werr == nil {
		// CreateTemp makes the file 0600; a model is meant to be shared,
		// like the checkpoint it comes from (0644).
		werr = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), out)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return werr
	}
	fmt.Fprintf(stdout, "%s: ONNX opset %d, input %dx%dx%d, %d classes, %d bytes\n",
		out, onnx.Opset, in.C, in.H, in.W, run.net.Model.OutputShape().Size(), len(b))
	return nil
}
