package kernels

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	wideReg = regexp.MustCompile(`\b[YZ]([0-9]|[12][0-9]|3[01])\b`)
	xmmReg  = regexp.MustCompile(`\bX([0-9]|[12][0-9]|3[01])\b`)
)

// sseMixProblems lists the legacy-SSE instructions (no V prefix, an X
// register operand) of the amd64 assembly in r that may run while the
// upper halves of the vector registers are in use: after a ymm or zmm
// register was touched and before VZEROUPPER. Such an instruction makes
// Intel cores save or merge the upper halves (an AVX-SSE transition): on
// Haswell and Broadwell tens of cycles each way, and on the Sapphire Rapids
// Xeon one legacy MOVQ per call made the AVX2 Shift 7x slower. The walk is
// in text order and conservative: a label after the first wide register
// may be reached with the uppers in use.
func sseMixProblems(name string, r *bufio.Scanner) []string {
	var problems []string
	fn := ""
	used, dirty := false, false
	for line := 1; r.Scan(); line++ {
		text := strings.TrimSpace(r.Text())
		if i := strings.Index(text, "//"); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		switch {
		case text == "":
			continue
		case strings.HasPrefix(text, "TEXT "):
			sym, _, _ := strings.Cut(strings.Fields(text)[1], "(SB)")
			fn, used, dirty = strings.TrimPrefix(sym, "·"), false, false
			continue
		case strings.HasSuffix(text, ":"):
			dirty = used
			continue
		}
		op := strings.Fields(text)[0]
		switch {
		case op == "VZEROUPPER":
			dirty = false
		case wideReg.MatchString(text):
			used, dirty = true, true
		case dirty && !strings.HasPrefix(op, "V") && !strings.HasPrefix(op, "K") && xmmReg.MatchString(text):
			problems = append(problems, fmt.Sprintf("%s:%d: %s: %s with the upper halves in use", name, line, fn, text))
		}
	}
	return problems
}

func TestNoLegacySSEInWideCode(t *testing.T) {
	files, err := filepath.Glob("../asm/*_amd64.s")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		assert.Empty(t, sseMixProblems(filepath.Base(name), bufio.NewScanner(f)))
		f.Close()
	}
}

func TestSSEMixProblems(t *testing.T) {
	for _, tc := range []struct {
		name, asm string
		want      int
	}{
		{"SSE before any wide register", "TEXT ·F(SB)\n\tMOVQ AX, X0\n\tVPBROADCASTD X0, Y0\n\tVZEROUPPER\n\tRET\n", 0},
		{"SSE after a ymm register", "TEXT ·F(SB)\n\tVMOVUPS (AX), Y1\n\tMOVSS x+8(FP), X0\n\tVZEROUPPER\n\tRET\n", 1},
		{"SSE after VZEROUPPER", "TEXT ·F(SB)\n\tVMOVUPS (AX), Y1\n\tVZEROUPPER\n\tMOVSS X1, ret+8(FP)\n\tRET\n", 0},
		{"a label after wide use may be reached dirty", "TEXT ·F(SB)\n\tVMOVUPS (AX), Y1\n\tVZEROUPPER\n\tRET\nedge:\n\tMOVQ AX, X2\n", 1},
		{"zmm and mask registers", "TEXT ·F(SB)\n\tVMOVUPS (AX), Z17\n\tKMOVW AX, K1\n\tMOVD AX, X3\n", 1},
		{"a new function starts clean", "TEXT ·F(SB)\n\tVMOVUPS (AX), Y1\n\tRET\nTEXT ·G(SB)\n\tMOVQ AX, X0\n", 0},
		{"comments are not code", "TEXT ·F(SB)\n\tVMOVUPS (AX), Y1 // then MOVQ AX, X0\n\tVZEROUPPER\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sseMixProblems("f.s", bufio.NewScanner(strings.NewReader(tc.asm)))
			assert.Len(t, got, tc.want, "%v", got)
		})
	}
}
