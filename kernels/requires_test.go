//go:build !purego && (amd64 || arm64)

package kernels

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asmFunc is one TEXT symbol of a generated .s file and the features its
// "// Requires:" comment names (none when it has no such comment).
type asmFunc struct {
	file     string
	requires []string
}

// readAsm reads every TEXT symbol of the generated files matching pattern.
func readAsm(pattern string) (map[string]asmFunc, error) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no files match %s", pattern)
	}
	funcs := map[string]asmFunc{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		var req []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if r, ok := strings.CutPrefix(line, "// Requires:"); ok {
				req = nil
				for _, s := range strings.Split(r, ",") {
					req = append(req, strings.TrimSpace(s))
				}
				continue
			}
			if t, ok := strings.CutPrefix(line, "TEXT "); ok {
				sym, _, _ := strings.Cut(t, "(SB)")
				sym = strings.TrimPrefix(sym, "·")
				if _, dup := funcs[sym]; dup {
					return nil, fmt.Errorf("%s: TEXT %s defined twice", name, sym)
				}
				funcs[sym] = asmFunc{file: filepath.Base(name), requires: req}
				req = nil
				continue
			}
			if line != "" && !strings.HasPrefix(line, "//") {
				// A Requires comment belongs to the TEXT right below it.
				req = nil
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return funcs, nil
}

// refGraph is what the package's declarations refer to: for each
// package-level function, method name and variable, the package-level
// names and the asm functions it mentions.
type refGraph struct {
	names map[string][]string // declaration -> package-level names used
	asm   map[string][]string // declaration -> asm.X used
	decl  map[string]bool     // the package-level names
	sets  []*ast.CompositeLit // the elements of archSets, in order
}

// parsePackage parses the non-test files of this package that build for
// goarch without the purego tag.
func parsePackage(goarch string) (*refGraph, error) {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH = "linux", goarch
	ctx.BuildTags = nil
	entries, err := os.ReadDir(".")
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := ctx.MatchFile(".", name); err != nil || !ok {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return graphOf(files)
}

// graphOf builds the reference graph of a package's files.
func graphOf(files []*ast.File) (*refGraph, error) {
	g := &refGraph{names: map[string][]string{}, asm: map[string][]string{}}
	decls := map[string]ast.Node{}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				// Methods are keyed by their name alone: a call x.m() then
				// reaches every method m, which can only over-approximate.
				decls[d.Name.Name] = d
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					vs, ok := sp.(*ast.ValueSpec)
					if !ok {
						continue
					}
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							decls[n.Name] = vs.Values[i]
						} else {
							decls[n.Name] = vs
						}
						if n.Name == "archSets" && i < len(vs.Values) {
							lit, ok := vs.Values[i].(*ast.CompositeLit)
							if !ok {
								return nil, fmt.Errorf("archSets is not a composite literal")
							}
							for _, e := range lit.Elts {
								el, ok := e.(*ast.CompositeLit)
								if !ok {
									return nil, fmt.Errorf("an element of archSets is not a literal")
								}
								g.sets = append(g.sets, el)
							}
						}
					}
				}
			}
		}
	}
	g.decl = map[string]bool{}
	for name := range decls {
		g.decl[name] = true
	}
	for name, n := range decls {
		g.names[name], g.asm[name] = refs(n, g.decl)
	}
	return g, nil
}

// refs lists the package-level declarations and the asm functions that
// node n mentions.
func refs(n ast.Node, decl map[string]bool) (names, asmFns []string) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && x.Name == "asm" {
				asmFns = append(asmFns, n.Sel.Name)
				return false
			}
		case *ast.Ident:
			if decl[n.Name] {
				names = append(names, n.Name)
			}
		}
		return true
	})
	return names, asmFns
}

// reach returns the asm functions reachable from the names root mentions.
func (g *refGraph) reach(root ast.Node) map[string]bool {
	seen := map[string]bool{}
	found := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		for _, a := range g.asm[name] {
			found[a] = true
		}
		for _, n := range g.names[name] {
			visit(n)
		}
	}
	names, asmFns := refs(root, g.decl)
	for _, a := range asmFns {
		found[a] = true
	}
	for _, n := range names {
		visit(n)
	}
	return found
}

// requiresProblems checks the generated assembly of goarch against
// archSets: every function a Set reaches requires only features of that
// Set's table or the baseline, every feature named is known, every table
// entry beyond the baseline is used, and every function belongs to a Set,
// but for those the package calls outside the Sets, which may require
// only the baseline.
func requiresProblems(goarch string, funcs map[string]asmFunc, g *refGraph, specs []setSpec,
	baseline []string, detect map[string]*bool) []string {
	var probs []string
	known := func(f string) bool {
		_, ok := detect[f]
		return ok || slices.Contains(baseline, f)
	}
	if len(g.sets) != len(specs) {
		return []string{fmt.Sprintf("archSets has %d elements in the source, %d at run time", len(g.sets), len(specs))}
	}
	owner := map[string][]string{}
	for i, spec := range specs {
		for _, f := range spec.needs {
			if !known(f) {
				probs = append(probs, fmt.Sprintf("%s: the table names %s, which is neither detected (archDetect) nor baseline", spec.isa, f))
			}
		}
		used := map[string]bool{}
		reached := g.reach(g.sets[i])
		for fn := range reached {
			owner[fn] = append(owner[fn], spec.isa)
			af, ok := funcs[fn]
			if !ok {
				probs = append(probs, fmt.Sprintf("%s: the set calls asm.%s, which no generated %s file defines", spec.isa, fn, goarch))
				continue
			}
			var lacks []string
			for _, f := range af.requires {
				switch {
				case !known(f):
					probs = append(probs, fmt.Sprintf("%s: %s requires %s, a feature the dispatch does not know", af.file, fn, f))
				case slices.Contains(baseline, f):
				case slices.Contains(spec.needs, f):
					used[f] = true
				default:
					lacks = append(lacks, f)
				}
			}
			if len(lacks) > 0 {
				probs = append(probs, fmt.Sprintf("%s: %s, called by the %s set, requires %s, which the %s table lacks: a CPU the dispatch gives %s to may fault",
					af.file, fn, spec.isa, strings.Join(lacks, ", "), spec.isa, spec.isa))
			}
		}
		for _, f := range spec.needs {
			if known(f) && !slices.Contains(baseline, f) && !used[f] {
				probs = append(probs, fmt.Sprintf("%s: the table names %s, which none of the set's functions requires: it refuses CPUs for nothing", spec.isa, f))
			}
		}
	}
	// Code outside the sets (CPU detection) may call only functions that
	// every CPU of the architecture runs.
	called := map[string]bool{}
	for _, fns := range g.asm {
		for _, fn := range fns {
			called[fn] = true
		}
	}
	for fn, af := range funcs {
		if len(owner[fn]) > 0 {
			continue
		}
		var beyond []string
		for _, f := range af.requires {
			if !slices.Contains(baseline, f) {
				beyond = append(beyond, f)
			}
		}
		switch {
		case !called[fn]:
			probs = append(probs, fmt.Sprintf("%s: %s belongs to no set (nothing in package kernels calls it)", af.file, fn))
		case len(beyond) > 0:
			probs = append(probs, fmt.Sprintf("%s: %s belongs to no set, yet requires %s beyond the %s baseline", af.file, fn, strings.Join(beyond, ", "), goarch))
		}
	}
	sort.Strings(probs)
	return probs
}

// TestRequires proves, on any host, that the dispatch never hands a CPU
// code it cannot run: the features Avo lists above each generated function
// must be in the table of every Set that calls it. Running the kernels
// cannot show this on a CPU that has the features anyway.
func TestRequires(t *testing.T) {
	funcs, err := readAsm(filepath.Join("..", "asm", "*_"+runtime.GOARCH+".s"))
	require.NoError(t, err)
	g, err := parsePackage(runtime.GOARCH)
	require.NoError(t, err)
	for _, p := range requiresProblems(runtime.GOARCH, funcs, g, archSets, archBaseline, archDetect) {
		t.Error(p)
	}
	for i, spec := range archSets {
		// The source literal and the run-time table are the same list.
		id := firstIdent(g.sets[i])
		assert.True(t, strings.EqualFold(id, spec.isa), "archSets[%d] is %s in the source, %s at run time", i, id, spec.isa)
	}
}

func firstIdent(lit *ast.CompositeLit) string {
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "isa" {
				if v, ok := kv.Value.(*ast.Ident); ok {
					return v.Name
				}
			}
		}
	}
	return ""
}

// TestRequiresProblems feeds the check small packages with one fault each:
// it must name the fault, and stay quiet on a consistent one.
func TestRequiresProblems(t *testing.T) {
	const src = `package kernels
var archSets = []setSpec{
	{isa: AVX512, needs: avx512Needs, build: func() *Set { return &Set{Act: actWide()} }},
	{isa: AVX2, needs: avx2Needs, build: func() *Set { return &Set{Act: actNarrow()} }},
}
var wide = Gemm{Peak: asm.PeakWide}
func actWide() Act { shared(); return Act{Sum: asm.SumWide, G: wide} }
func actNarrow() Act { shared(); return Act{Sum: func() { asm.SumNarrow() }} }
func shared() { asm.Prefetch() }
func detect() { asm.Ask() }
`
	detect := map[string]*bool{"AVX": new(bool), "AVX2": new(bool), "AVX512F": new(bool), "FMA3": new(bool)}
	baseline := []string{"SSE2", "MMX+"}
	ok := map[string]asmFunc{
		"SumWide":   {file: "a.s", requires: []string{"AVX", "AVX512F", "SSE2"}},
		"PeakWide":  {file: "a.s", requires: []string{"AVX512F"}},
		"SumNarrow": {file: "a.s", requires: []string{"AVX", "AVX2", "FMA3"}},
		"Prefetch":  {file: "a.s", requires: []string{"MMX+"}},
	}
	specs := []setSpec{{isa: AVX512, needs: []string{"AVX", "AVX512F"}}, {isa: AVX2, needs: []string{"AVX", "AVX2", "FMA3"}}}
	with := func(name string, f asmFunc) map[string]asmFunc {
		m := maps.Clone(ok)
		m[name] = f
		return m
	}
	for _, tc := range []struct {
		name  string
		funcs map[string]asmFunc
		specs []setSpec
		want  []string // substrings, one problem each
	}{
		{name: "consistent", funcs: ok, specs: specs},
		{name: "EVEX in the AVX2 set", funcs: with("SumNarrow", asmFunc{file: "a.s", requires: []string{"AVX", "AVX2", "AVX512F", "AVX512VL", "FMA3"}}),
			specs: specs, want: []string{"SumNarrow, called by the avx2 set, requires AVX512F, which the avx2 table lacks", "SumNarrow requires AVX512VL, a feature the dispatch does not know"}},
		{name: "shared function needs more than one set has", funcs: with("Prefetch", asmFunc{file: "a.s", requires: []string{"AVX512F"}}),
			specs: specs, want: []string{"Prefetch, called by the avx2 set, requires AVX512F"}},
		{name: "reached through a variable", funcs: with("PeakWide", asmFunc{file: "a.s", requires: []string{"AVX2"}}),
			specs: specs, want: []string{"PeakWide, called by the avx512 set, requires AVX2"}},
		{name: "function of no set", funcs: with("Orphan", asmFunc{file: "b.s"}),
			specs: specs, want: []string{"b.s: Orphan belongs to no set (nothing in package kernels calls it)"}},
		{name: "detection code calls a baseline function", funcs: with("Ask", asmFunc{file: "b.s", requires: []string{"SSE2"}}), specs: specs},
		{name: "detection code calls beyond the baseline", funcs: with("Ask", asmFunc{file: "b.s", requires: []string{"AVX2"}}),
			specs: specs, want: []string{"b.s: Ask belongs to no set, yet requires AVX2 beyond the amd64 baseline"}},
		{name: "unknown feature in a table", funcs: ok,
			specs: []setSpec{specs[0], {isa: AVX2, needs: []string{"AVX", "AVX2", "FMA3", "FMA4"}}},
			want:  []string{"avx2: the table names FMA4, which is neither detected"}},
		{name: "unused table entry", funcs: ok,
			specs: []setSpec{{isa: AVX512, needs: []string{"AVX", "AVX512F", "FMA3"}}, specs[1]},
			want:  []string{"avx512: the table names FMA3, which none of the set's functions requires"}},
		{name: "called but not generated", funcs: func() map[string]asmFunc { m := maps.Clone(ok); delete(m, "PeakWide"); return m }(),
			specs: specs, want: []string{"the set calls asm.PeakWide, which no generated amd64 file defines"}},
		{name: "tables out of step with the source", funcs: ok, specs: specs[:1],
			want: []string{"archSets has 2 elements in the source, 1 at run time"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parser.ParseFile(token.NewFileSet(), "src.go", src, parser.SkipObjectResolution)
			require.NoError(t, err)
			g, err := graphOf([]*ast.File{f})
			require.NoError(t, err)
			probs := requiresProblems("amd64", tc.funcs, g, tc.specs, baseline, detect)
			require.Len(t, probs, len(tc.want), "%q", probs)
			for _, w := range tc.want {
				assert.True(t, slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, w) }), "no problem says %q in %q", w, probs)
			}
		})
	}
}

func TestReadAsm(t *testing.T) {
	dir := t.TempDir()
	src := "// Code generated.\n\n// func A()\n// Requires: AVX, SSE2\nTEXT ·A(SB), NOSPLIT, $0\n\tRET\n\n// func B()\nTEXT ·B(SB), NOSPLIT, $0\n\tRET\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x_amd64.s"), []byte(src), 0o644))
	funcs, err := readAsm(filepath.Join(dir, "*_amd64.s"))
	require.NoError(t, err)
	assert.Equal(t, map[string]asmFunc{
		"A": {file: "x_amd64.s", requires: []string{"AVX", "SSE2"}},
		"B": {file: "x_amd64.s"},
	}, funcs)
	_, err = readAsm(filepath.Join(dir, "*_arm64.s"))
	assert.Error(t, err)
}
