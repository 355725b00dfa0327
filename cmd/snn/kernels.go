package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/kernels"
)

// cmdKernels prints the CPU and its caches, the instruction set in use and
// why, the GEMM blocks and convolution chunks the caches give it, and every set snn has for this
// architecture with whether this CPU runs it. The test script reads it to
// choose which sets to test.
func cmdKernels(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kernels", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: snn kernels\n\nPrints the CPU, the kernels in use and why, their GEMM cache blocks, and which instruction sets this CPU runs.\n")
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	cpu := kernels.CPU()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	model := cpu.Model
	if model == "" {
		model = "unknown model"
	}
	fmt.Fprintf(tw, "cpu\t%s\n", model)
	fmt.Fprintf(tw, "caches\t%s\n", describeCaches(cpu))
	fmt.Fprintf(tw, "in use\t%s\n", kernels.Describe())
	fmt.Fprintf(tw, "gemm blocks\t%s (from the caches, BLIS's analytical model)\n", gemmBlocks(kernels.Active()))
	fmt.Fprintf(tw, "conv chunks\t%s (half of a core's L2)\n", bytesIEC(conv.ChunkBytes()))
	for _, a := range kernels.Available() {
		if a.Runs {
			fmt.Fprintf(tw, "%s\truns here\n", a.ISA)
		} else {
			fmt.Fprintf(tw, "%s\tnot here: %s\n", a.ISA, a.Why)
		}
	}
	return tw.Flush()
}

// describeCaches is one line such as "L1d 32 KiB 8-way, L2 512 KiB 8-way,
// L3 32 MiB 16-way shared by 16 (cpuid leaf 0x8000001d)".
func describeCaches(cpu kernels.CPUInfo) string {
	c := cpu.Caches
	s := fmt.Sprintf("L1d %s, L2 %s", cacheSize(c.L1D, c.L1DWays), cacheSize(c.L2, c.L2Ways))
	if c.L3 > 0 {
		s += ", L3 " + cacheSize(c.L3, c.L3Ways)
		if c.L3Shared > 1 {
			s += fmt.Sprintf(" shared by %d", c.L3Shared)
		}
	}
	return s + " (" + cpu.Source + ")"
}

// cacheSize is a size with its associativity when known: "48 KiB 12-way".
func cacheSize(size, ways int) string {
	if ways > 0 {
		return fmt.Sprintf("%s %d-way", bytesIEC(size), ways)
	}
	return bytesIEC(size)
}

// gemmBlocks is a set's GEMM register tile and cache blocks, e.g. "avx2:
// MR 6 NR 16 KC 320 MC 2658 NC 304".
func gemmBlocks(s *kernels.Set) string {
	g := &s.Gemm
	return fmt.Sprintf("%s: MR %d NR %d KC %d MC %d NC %d", s.ISA, g.MR, g.NR, g.KC, g.MC, g.NC)
}

// bytesIEC prints a cache size in KiB or MiB.
func bytesIEC(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
