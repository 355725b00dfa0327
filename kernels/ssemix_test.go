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
