// Command act generates the arm64 (NEON) assembly of the element-wise and
// reduction kernels of package asm: the twins of gen/act's AVX-512 and
// AVX2 kernels, with the same algorithms and accuracy contracts.
//
// Run through `go generate ./...` from the repository root; see asm/gen.go.
package main

import (
	"flag"
	"log"

	"github.com/snnkit/snn/gen/neon"
)

func main() {
	out := flag.String("out", "", "assembly output file")
	stubs := flag.String("stubs", "", "Go declarations output file")
	pkg := flag.String("pkg", "asm", "package of the declarations")
	flag.Parse()
	if *out == "" || *stubs == "" {
		log.Fatal("act: -out and -stubs are required")
	}
	f := &neon.File{}
	genSELU(f)
	genSELUGrad(f)
	genReLU(f)
	genReLUGrad(f)
	genExp(f)
	genSum(f)
	genMoments(f)
	genAffine(f)
	genRead(f)
	genCopy(f)
	if err := f.Write("gen/neon/act", *out, *stubs, *pkg); err != nil {
		log.Fatal(err)
	}
}
