package kernels

import "slices"

// setSpec describes one assembly Set of this architecture: its name, the
// CPU features it needs, and its constructor.
type setSpec struct {
	isa   string
	needs []string
	build func() *Set
}

// has says whether this CPU has feature f; a name neither in the baseline
// nor detectable counts as absent, so no Set is handed out on a guess.
func has(f string) bool {
	if slices.Contains(archBaseline, f) {
		return true
	}
	p, ok := archDetect[f]
	return ok && *p
}

// missing lists the features of needs this CPU lacks.
func missing(needs []string) []string {
	var m []string
	for _, f := range needs {
		if !has(f) {
			m = append(m, f)
		}
	}
	return m
}

// nativeSets builds the Sets of archSets this CPU can run, best first.
func nativeSets() []*Set {
	var sets []*Set
	for _, s := range archSets {
		if len(missing(s.needs)) == 0 {
			k := s.build()
			k.ISA, k.Needs = s.isa, s.needs
			sets = append(sets, k)
		}
	}
	return sets
}
