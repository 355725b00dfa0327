// Package neon writes Plan 9 (Go assembler) arm64 assembly with a typed
// API, for snn's NEON kernels.
//
// Go's arm64 assembler knows the Advanced SIMD loads and stores, the
// bitwise and integer vector instructions and VFMLA, but not the float
// vector arithmetic (FADD, FMUL, FMAX, FCMGT, FRINTN, FCVTNS, SCVTF, FADDP,
// by-element FMLA, ...). Instructions it knows are written with their Go
// mnemonic; the others as `WORD $0x........ // gnu mnemonic`, the word
// computed here from the instruction's fields. Every method takes its
// operands in Arm order (destination first), whatever order Go's syntax
// wants, and every instruction also has its GNU spelling: the tests
// assemble those with binutils and compare the words.
//
// There is no register allocator: kernels are fixed-shape and state their
// register plan. The API is a File of Funcs; each Func method appends one
// instruction.
package neon

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"log"
	"os"
	"strings"
)

// Inst is one emitted instruction.
type Inst struct {
	// Go is the Go assembler text (mnemonic and operands); empty for an
	// instruction written as a WORD.
	Go string
	// Word is the encoding of a WORD instruction.
	Word uint32
	// GNU is the instruction in GNU syntax, or empty when it cannot be
	// checked on its own (branches to labels, frame references).
	GNU string
}

// IsWord says whether the instruction is emitted as a raw WORD.
func (i Inst) IsWord() bool { return i.Go == "" }

// Text is the instruction as it appears in the generated file.
func (i Inst) Text() string {
	if i.IsWord() {
		return fmt.Sprintf("WORD\t$0x%08x // %s", i.Word, i.GNU)
	}
	return i.Go
}

// line is a line of a function body: an instruction, a label or a comment.
type line struct {
	inst    *Inst
	label   string
	comment string
}

// Slot is an argument or result in the caller's frame, named as go vet's
// asmdecl check expects (x_base, x_len, shift, ret, ...).
type Slot struct {
	Name string
	Off  int
	Size int
}

func (s Slot) goOp() string { return fmt.Sprintf("%s+%d(FP)", s.Name, s.Off) }

// File collects the functions of one generated .s file and its Go
// declarations.
type File struct {
	funcs []*Func
}

// Func is one assembly function under construction.
type Func struct {
	Name    string
	sig     string
	doc     []string
	slots   map[string]Slot
	argSize int
	lines   []line
}

// Func starts a function with the given Go signature ("func(x []float32)
// float64") and doc comment lines (the first should start with the name).
func (f *File) Func(name, signature string, doc ...string) *Func {
	slots, size, err := layout(signature)
	if err != nil {
		panic(fmt.Sprintf("neon: %s: %v", name, err))
	}
	fn := &Func{Name: name, sig: signature, doc: doc, slots: slots, argSize: size}
	f.funcs = append(f.funcs, fn)
	return fn
}

// layout computes the ABI0 frame offsets of the arguments and results of a
// Go signature, and the size go vet expects: arguments in order at their
// natural alignment, results from the next multiple of 8, the size ending
// with the last of them.
func layout(signature string) (map[string]Slot, int, error) {
	e, err := parser.ParseExpr(signature)
	if err != nil {
		return nil, 0, err
	}
	ft, ok := e.(*ast.FuncType)
	if !ok {
		return nil, 0, fmt.Errorf("%q is not a function type", signature)
	}
	slots := map[string]Slot{}
	off := 0
	place := func(name string, size int) {
		off = (off + size - 1) / size * size
		slots[name] = Slot{Name: name, Off: off, Size: size}
		off += size
	}
	fields := func(fl *ast.FieldList, result bool) error {
		if fl == nil {
			return nil
		}
		for _, fd := range fl.List {
			names := []string{}
			for _, n := range fd.Names {
				names = append(names, n.Name)
			}
			if len(names) == 0 {
				if !result || len(fl.List) > 1 {
					return fmt.Errorf("name every parameter and every result of several")
				}
				names = []string{"ret"}
			}
			for _, n := range names {
				switch t := fd.Type.(type) {
				case *ast.ArrayType:
					if t.Len != nil {
						return fmt.Errorf("arrays are not supported")
					}
					place(n+"_base", 8)
					place(n+"_len", 8)
					place(n+"_cap", 8)
				case *ast.StarExpr:
					place(n, 8)
				case *ast.Ident:
					size, ok := map[string]int{
						"float32": 4, "float64": 8, "int": 8, "uint": 8, "uintptr": 8,
						"int64": 8, "uint64": 8, "int32": 4, "uint32": 4,
					}[t.Name]
					if !ok {
						return fmt.Errorf("type %s is not supported", t.Name)
					}
					place(n, size)
				default:
					return fmt.Errorf("parameter %s: type not supported", n)
				}
			}
		}
		return nil
	}
	if err := fields(ft.Params, false); err != nil {
		return nil, 0, err
	}
	if ft.Results != nil && len(ft.Results.List) > 0 {
		off = (off + 7) / 8 * 8
	}
	if err := fields(ft.Results, true); err != nil {
		return nil, 0, err
	}
	return slots, off, nil
}

// Slot returns the frame slot of an argument or result by its asmdecl name.
func (fn *Func) Slot(name string) Slot {
	s, ok := fn.slots[name]
	if !ok {
		panic(fmt.Sprintf("neon: %s has no argument or result %s", fn.Name, name))
	}
	return s
}

func (fn *Func) add(i Inst) {
	fn.lines = append(fn.lines, line{inst: &i})
}

// native appends an instruction Go's assembler knows: the Go text and its
// GNU twin.
func (fn *Func) native(goText, gnu string) { fn.add(Inst{Go: goText, GNU: gnu}) }

// word appends an instruction written as a WORD.
func (fn *Func) word(w uint32, gnu string) { fn.add(Inst{Word: w, GNU: gnu}) }

// Label places a label.
func (fn *Func) Label(name string) { fn.lines = append(fn.lines, line{label: name}) }

// Comment places a comment line.
func (fn *Func) Comment(format string, args ...any) {
	fn.lines = append(fn.lines, line{comment: fmt.Sprintf(format, args...)})
}

// Insts returns the instructions emitted so far, in order.
func (fn *Func) Insts() []Inst {
	var is []Inst
	for _, l := range fn.lines {
		if l.inst != nil {
			is = append(is, *l.inst)
		}
	}
	return is
}

// checkLabels reports a branch to a label the function never places, and
// a label placed twice.
func (fn *Func) checkLabels() error {
	placed := map[string]bool{}
	for _, l := range fn.lines {
		if l.label != "" {
			if placed[l.label] {
				return fmt.Errorf("%s: label %s placed twice", fn.Name, l.label)
			}
			placed[l.label] = true
		}
	}
	for _, l := range fn.lines {
		if l.inst == nil || l.inst.IsWord() {
			continue
		}
		f := strings.Fields(strings.ReplaceAll(l.inst.Go, ",", " "))
		if isBranch(f[0]) {
			if target := f[len(f)-1]; !placed[target] {
				return fmt.Errorf("%s: branch to %s, which is never placed", fn.Name, target)
			}
		}
	}
	return nil
}

// Asm returns the text of the .s file. generator names the command that
// writes it, for the "Code generated" header.
func (f *File) Asm(generator string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %s. DO NOT EDIT.\n\n//go:build !purego\n\n#include \"textflag.h\"\n", generator)
	for _, fn := range f.funcs {
		if err := fn.checkLabels(); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\n// func %s%s\n", fn.Name, strings.TrimPrefix(fn.sig, "func"))
		fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", fn.Name, fn.argSize)
		for _, l := range fn.lines {
			switch {
			case l.inst != nil:
				t := l.inst.Text()
				if m, rest, ok := strings.Cut(t, "\t"); ok {
					t = fmt.Sprintf("%-8s%s", m, rest)
				} else if m, rest, ok := strings.Cut(t, " "); ok {
					t = fmt.Sprintf("%-8s%s", m, rest)
				}
				fmt.Fprintf(&b, "\t%s\n", t)
			case l.label != "":
				fmt.Fprintf(&b, "\n%s:\n", l.label)
			default:
				fmt.Fprintf(&b, "\t// %s\n", l.comment)
			}
		}
	}
	return b.Bytes(), nil
}

// Stubs returns the Go declarations of the functions, in package pkg.
func (f *File) Stubs(generator, pkg string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %s. DO NOT EDIT.\n\n//go:build !purego\n\npackage %s\n", generator, pkg)
	for _, fn := range f.funcs {
		b.WriteString("\n")
		for _, d := range fn.doc {
			fmt.Fprintf(&b, "// %s\n", d)
		}
		if len(fn.doc) > 0 {
			b.WriteString("//\n")
		}
		fmt.Fprintf(&b, "//go:noescape\nfunc %s%s\n", fn.Name, strings.TrimPrefix(fn.sig, "func"))
	}
	return format.Source(b.Bytes())
}

// Write writes the .s file to asmPath and the declarations to stubsPath.
func (f *File) Write(generator, asmPath, stubsPath, pkg string) error {
	a, err := f.Asm(generator)
	if err != nil {
		return err
	}
	s, err := f.Stubs(generator, pkg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(asmPath, a, 0o644); err != nil {
		return err
	}
	return os.WriteFile(stubsPath, s, 0o644)
}

// Generate is the main function of a NEON generator program: it parses
// -out, -stubs and -pkg, lets gen emit every function into one File, and
// writes the assembly and the Go declarations. generator names the
// program in the files' "Code generated" line.
func Generate(generator string, gen func(f *File)) {
	out := flag.String("out", "", "assembly output file")
	stubs := flag.String("stubs", "", "Go declarations output file")
	pkg := flag.String("pkg", "asm", "package of the declarations")
	flag.Parse()
	if *out == "" || *stubs == "" {
		log.Fatalf("%s: -out and -stubs are required", generator)
	}
	f := &File{}
	gen(f)
	if err := f.Write(generator, *out, *stubs, *pkg); err != nil {
		log.Fatal(err)
	}
}
