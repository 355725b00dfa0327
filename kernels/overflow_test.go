package kernels

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/require"
)

const (
	p62    = 1 << 62
	maxInt = math.MaxInt
)

// hugeOp calls one checked kernel of s with the six size arguments x on
// the slices p, q and r; ok is false when s lacks the kernel.
type hugeOp func(s *Set, x [6]int, p, q, r []float32) (ok bool)

// hugeOps are the checked kernels, each taking its size arguments from x
// in the order of its parameters.
var hugeOps = []struct {
	name string
	op   hugeOp
}{
	{"Kernel", func(s *Set, x [6]int, a, b, c []float32) bool {
		s.Gemm.Kernel(x[0], x[1], x[2], a, b, x[3], x[4], c, x[5], 1, 1)
		return true
	}},
	{"KernelA", func(s *Set, x [6]int, a, b, c []float32) bool {
		if s.Gemm.KernelA == nil {
			return false
		}
		s.Gemm.KernelA(x[0], x[1], x[2], a, x[3], b, x[4], x[4]*s.Gemm.NR, c, x[5], 1, 1)
		return true
	}},
	{"KernelRows", func(s *Set, x [6]int, a, b, c []float32) bool {
		if s.Gemm.KernelRows == nil {
			return false
		}
		off := []int{x[3], x[3]}
		s.Gemm.KernelRows(min(x[0], 2), x[1], x[2], a, b, off, x[4], x[5], c, x[2], 1, 1)
		return true
	}},
	{"Copy", func(s *Set, x [6]int, dst, src, _ []float32) bool {
		s.Gemm.Copy(x[0], x[1], x[2], dst, src, x[3])
		return true
	}},
	{"Transpose", func(s *Set, x [6]int, dst, src, _ []float32) bool {
		s.Gemm.Transpose(x[0], x[1], x[2], dst, src, x[3])
		return true
	}},
	{"Prefetch", func(s *Set, x [6]int, src, _, _ []float32) bool {
		s.Gemm.Prefetch(src, x[0], x[1], x[2])
		return true
	}},
	{"Shift", func(s *Set, x [6]int, dst, src, _ []float32) bool {
		s.Conv.Shift(dst, src, x[0], x[1], x[2], x[3], x[4], x[5])
		return true
	}},
	{"Gather", func(s *Set, x [6]int, dst, src, _ []float32) bool {
		idx := make([]int32, 64)
		for i := range idx {
			idx[i] = int32(i%9) - 1
		}
		s.Conv.Gather(dst, x[0], src, x[1], x[2], idx, x[3], x[4])
		return true
	}},
	{"Pool2", func(s *Set, x [6]int, y, xs, _ []float32) bool {
		s.Conv.Pool2(y, nil, xs, x[0], x[1], x[2])
		return true
	}},
	{"Unpack", func(s *Set, x [6]int, dst, src, _ []float32) bool {
		s.Conv.Unpack(dst, x[0], src, x[1], x[2], x[3])
		return true
	}},
}

// fencedLen is the length of each slice the huge calls get.
const fencedLen = 64

// callHuge runs op on fenced slices and returns its panic value (nil if
// none), failing the test if a float around the slices changed.
func callHuge(t *testing.T, s *Set, op hugeOp, x [6]int) (msg any, ran bool) {
	t.Helper()
	fill := func(i int) float32 { return float32(i%7 - 3) }
	fp, fq, fr := testkit.Fenced(fencedLen, fill), testkit.Fenced(fencedLen, fill), testkit.Fenced(fencedLen, fill)
	func() {
		defer func() { msg = recover() }()
		ran = op(s, x, fp.S(), fq.S(), fr.S())
	}()
	fp.Check(t, s.ISA+" first slice")
	fq.Check(t, s.ISA+" second slice")
	fr.Check(t, s.ISA+" third slice")
	return msg, ran
}

// TestHugeArgumentsPanic: sizes, strides and offsets near the top of
// int's range, whose products wrap around when multiplied out, panic on
// every set with a message naming the argument, and nothing around the
// slices changes.
func TestHugeArgumentsPanic(t *testing.T) {
	for _, tc := range []struct {
		op   string
		x    func(g *Gemm) [6]int
		want string
	}{
		{"Kernel", func(g *Gemm) [6]int { return [6]int{1, 2, 1, g.NR, g.NR, maxInt} }, "ldc = 9223372036854775807"},
		{"Kernel", func(g *Gemm) [6]int { return [6]int{1, g.MR, 1, g.NR, g.NR, p62} }, "ldc = 4611686018427387904"},
		{"Kernel", func(g *Gemm) [6]int { return [6]int{2, 1, 1, maxInt, 0, 1} }, "ldb = 9223372036854775807"},
		{"Kernel", func(g *Gemm) [6]int { return [6]int{1, 1, 5 * g.NR, 0, p62, 5 * g.NR} }, "panel = 4611686018427387904"},
		{"Kernel", func(g *Gemm) [6]int { return [6]int{p62, 1, 1, 0, 0, 1} }, "kc = 4611686018427387904"},
		{"KernelA", func(g *Gemm) [6]int { return [6]int{2, 2 * g.MR / 3, 1, maxInt, 0, 1} }, "lda = 9223372036854775807"},
		{"KernelA", func(g *Gemm) [6]int { return [6]int{2, g.MR, 1, p62, 0, 1} }, "lda = 4611686018427387904"},
		{"KernelRows", func(g *Gemm) [6]int { return [6]int{1, 1, 2 * g.NR, 0, g.NR, maxInt - 3} }, "stride = 9223372036854775804"},
		{"KernelRows", func(g *Gemm) [6]int { return [6]int{1, 1, 5, 0, 1, p62} }, "stride = 4611686018427387904"},
		{"KernelRows", func(g *Gemm) [6]int { return [6]int{1, 1, 1, maxInt, g.NR, g.NR} }, "off[0] = 9223372036854775807"},
		{"Copy", func(g *Gemm) [6]int { return [6]int{4, 1, maxInt, maxInt} }, "n = 9223372036854775807"},
		{"Copy", func(g *Gemm) [6]int { return [6]int{4, 2, 1, maxInt} }, "ld = 9223372036854775807"},
		{"Copy", func(g *Gemm) [6]int { return [6]int{4, p62, 4, 4} }, "kc = 4611686018427387904"},
		{"Transpose", func(g *Gemm) [6]int { return [6]int{4, p62, 1, 1} }, "kc = 4611686018427387904"},
		{"Transpose", func(g *Gemm) [6]int { return [6]int{4, 2, 2, maxInt} }, "ld = 9223372036854775807"},
		{"Transpose", func(g *Gemm) [6]int { return [6]int{4, 1, 4, p62} }, "ld = 4611686018427387904"},
		{"Prefetch", func(g *Gemm) [6]int { return [6]int{2, 1, maxInt} }, "ld = 9223372036854775807"},
		{"Prefetch", func(g *Gemm) [6]int { return [6]int{5, 1, p62} }, "ld = 4611686018427387904"},
		{"Shift", func(g *Gemm) [6]int { return [6]int{1, 4, 0, maxInt, 0, 4} }, "shift = 9223372036854775807"},
		{"Shift", func(g *Gemm) [6]int { return [6]int{1, 4, 0, math.MinInt, 1, 4} }, "shift = -9223372036854775808"},
		{"Shift", func(g *Gemm) [6]int { return [6]int{5, 4, p62, 0, 0, 4} }, "stride = 4611686018427387904"},
		{"Shift", func(g *Gemm) [6]int { return [6]int{p62, 4, 0, 0, 0, 4} }, "rows*w = 4611686018427387904*4"},
		{"Gather", func(g *Gemm) [6]int { return [6]int{4, 4, p62, 1, 4} }, "planes*plane = 4611686018427387904*4"},
		{"Gather", func(g *Gemm) [6]int { return [6]int{4, 4, 1, p62, 4} }, "rows*w = 4611686018427387904*4"},
		{"Gather", func(g *Gemm) [6]int { return [6]int{maxInt, 4, 1, 2, 4} }, "ld = 9223372036854775807"},
		{"Gather", func(g *Gemm) [6]int { return [6]int{4, 0, p62, 4, 4} }, "planes = 4611686018427387904"},
		{"Pool2", func(g *Gemm) [6]int { return [6]int{p62, 2, 2} }, "planes*h*w = 4611686018427387904*2*2"},
		{"Pool2", func(g *Gemm) [6]int { return [6]int{1, 1 << 32, 1 << 32} }, "planes*h*w = 1*4294967296*4294967296"},
		{"Unpack", func(g *Gemm) [6]int { return [6]int{2, maxInt, 1, 2} }, "lds = 9223372036854775807"},
		{"Unpack", func(g *Gemm) [6]int { return [6]int{p62, 1, 5, 1} }, "ldd = 4611686018427387904"},
		{"Unpack", func(g *Gemm) [6]int { return [6]int{1, 1, 1, -1} }, "cols = -1: negative"},
	} {
		var op hugeOp
		for _, o := range hugeOps {
			if o.name == tc.op {
				op = o.op
			}
		}
		require.NotNil(t, op, tc.op)
		for _, s := range Sets() {
			x := tc.x(&s.Gemm)
			msg, ran := callHuge(t, s, op, x)
			if !ran && msg == nil {
				continue // the set lacks the kernel
			}
			require.NotNil(t, msg, "%s %s%v: no panic", s.ISA, tc.op, x)
			str, ok := msg.(string)
			require.True(t, ok, "%s %s%v: panic %v is not a message", s.ISA, tc.op, x, msg)
			require.Contains(t, str, tc.want, "%s %s%v", s.ISA, tc.op, x)
		}
	}
}

// hugeEdges are the values FuzzHugeArguments starts from.
var hugeEdges = []int{0, 1, 2, 4, 12, 32, -1, math.MinInt, p62 - 1, p62, p62 + 1, maxInt - 1, maxInt, 1 << 32}

// FuzzHugeArguments calls a checked kernel with arbitrary size arguments
// on slices of 64 floats: it either returns or panics with the kernels'
// own message (never a runtime error), and nothing around the slices
// changes.
func FuzzHugeArguments(f *testing.F) {
	for i, e := range hugeEdges {
		for op := range hugeOps {
			f.Add(uint8(op), 1, e, 1, 4, 4, e-i)
			f.Add(uint8(op), e, 2, 4, e, 1, 4)
		}
	}
	f.Fuzz(func(t *testing.T, op uint8, x0, x1, x2, x3, x4, x5 int) {
		o := hugeOps[int(op)%len(hugeOps)]
		for _, s := range Sets() {
			msg, _ := callHuge(t, s, o.op, [6]int{x0, x1, x2, x3, x4, x5})
			if msg == nil {
				continue
			}
			str := fmt.Sprint(msg)
			if !strings.HasPrefix(str, "snn/kernels: ") && !strings.HasPrefix(str, "kernels: ") {
				t.Fatalf("%s %s%v: panic %q is not the kernels' own", s.ISA, o.name, []int{x0, x1, x2, x3, x4, x5}, str)
			}
		}
	})
}
