package main

import (
	"github.com/snnkit/snn/gen/internal/expconst"
	. "github.com/snnkit/snn/gen/neon"
)

// elementwise emits the frame of an element-wise kernel with one output
// and len(args)-1 inputs (args names the slices, output first), working on
// u vectors at a time in k registers each. kernel(fn, c) loads the constants
// and returns the body; the body gets the working registers (w[0] holds
// the first input and must hold the result, w[1] the second input, ...).
//
// Register plan: R0 the output pointer, R1.. the input pointers, R5 the
// count, R6 the constant scratch; V0.. the working registers (k groups of
// u), constants from V31 down.
func elementwise(f *File, name string, args []string, u, k int, doc []string, kernel func(fn *Func, c *Consts) func(w [][]V)) {
	sig := "func(" + args[0]
	for _, a := range args[1:] {
		sig += ", " + a
	}
	sig += " []float32)"
	fn := f.Func(name, sig, doc...)
	dst, n := R0, R5
	fn.Load(dst, fn.Slot(args[0]+"_base"))
	srcs := make([]R, len(args)-1)
	for i, a := range args[1:] {
		srcs[i] = R(1 + i)
		fn.Load(srcs[i], fn.Slot(a+"_base"))
	}
	fn.Load(n, fn.Slot(args[len(args)-1]+"_len"))
	c := fn.Consts(R6)
	body := kernel(fn, c)
	w := Slots(k, u)
	if int(c.Low()) < k*u {
		panic(name + ": constants and working registers overlap")
	}
	fn.Stream([]R{dst}, srcs, n, w[:len(srcs)], w[:1], func(_, outs [][]V) {
		g := make([][]V, k)
		for i := range g {
			g[i] = w[i][:len(outs[0])]
		}
		body(g)
	})
	fn.RET()
}

// genSELU emits SELUNEON: lambda*x for x >= 0 (and -0, NaN), and
// lambda*alpha*expm1(x) for x < 0, computed as seluNeg in
// kernels/act_elementwise.go documents, step for step. 23 instructions per
// vector of 4 lanes, three vectors interleaved.
func genSELU(f *File) {
	elementwise(f, "SELUNEON", []string{"dst", "x"}, 3, 6,
		[]string{"SELUNEON sets dst[i] = SELU(x[i]) for i < len(x) (len(dst) >= len(x), unchecked)."},
		func(fn *Func, c *Consts) func(w [][]V) {
			cut, magic, la := c.F(expconst.SELUCutoff), c.F(expconst.MagicBias127), c.F(expconst.LambdaAlpha32)
			c5, c4, c3, c2 := c.F(expconst.ExpC5), c.F(expconst.ExpC4), c.F(expconst.ExpC3), c.F(expconst.ExpC2)
			m := c.Lanes(expconst.Log2e, expconst.Ln2, expconst.ExpC6, expconst.Lambda32)
			kLog2e, kLn2, kC6, kLambda := m[0], m[1], m[2], m[3]
			return func(w [][]V) {
				x, a, b, cc, d, e := w[0], w[1], w[2], w[3], w[4], w[5]
				u := len(x)
				S := func(v V) VA { return v.S4() }
				Each(u, func(k int) { fn.FMAX(S(a[k]), S(x[k]), S(cut)) }) // z
				Each(u, func(k int) { fn.VMOV(b[k].B16(), magic.B16()) })
				Each(u, func(k int) { fn.FMLAE(S(b[k]), S(a[k]), kLog2e) })  // v = z*log2e + magic
				Each(u, func(k int) { fn.VSHL(S(cc[k]), S(b[k]), 23) })      // s = 2^n
				Each(u, func(k int) { fn.FSUB(S(b[k]), S(b[k]), S(magic)) }) // n
				Each(u, func(k int) { fn.FMLSE(S(a[k]), S(b[k]), kLn2) })    // r = z - n*ln2
				// ls = la*s is exact (s is a power of two, la*s normal), so
				// ls - la rounds exactly like the twin's fma(s, la, -la).
				Each(u, func(k int) { fn.FMUL(S(cc[k]), S(cc[k]), S(la)) }) // ls
				Each(u, func(k int) { fn.FSUB(S(d[k]), S(cc[k]), S(la)) })  // sm1
				// poly(r) by Horner's rule, alternating b and e.
				Each(u, func(k int) { fn.VMOV(b[k].B16(), c5.B16()) })
				Each(u, func(k int) { fn.FMLAE(S(b[k]), S(a[k]), kC6) })
				for i, ck := range []V{c4, c3, c2} {
					p, q := b, e
					if i%2 == 1 {
						p, q = e, b
					}
					Each(u, func(k int) { fn.VMOV(q[k].B16(), ck.B16()) })
					Each(u, func(k int) { fn.VFMLA(S(q[k]), S(p[k]), S(a[k])) })
				}
				Each(u, func(k int) { fn.FMUL(S(e[k]), S(a[k]), S(e[k])) })   // p = r*poly(r)
				Each(u, func(k int) { fn.FMUL(S(b[k]), S(cc[k]), S(a[k])) })  // t = ls*r
				Each(u, func(k int) { fn.VFMLA(S(d[k]), S(b[k]), S(e[k])) })  // w = t*p + sm1
				Each(u, func(k int) { fn.VFMLA(S(d[k]), S(cc[k]), S(a[k])) }) // ls*r + w
				Each(u, func(k int) { fn.FMULE(S(b[k]), S(x[k]), kLambda) })  // lambda*x
				Each(u, func(k int) { fn.FCMLTZ(S(x[k]), S(x[k])) })          // x < 0
				Each(u, func(k int) { fn.VBSL(x[k].B16(), d[k].B16(), b[k].B16()) })
			}
		})
}

// genSELUGrad emits SELUGradNEON: dx = dy*lambda where y > 0, else
// dy*(y + lambda*alpha).
func genSELUGrad(f *File) {
	elementwise(f, "SELUGradNEON", []string{"dx", "dy", "y"}, 4, 3,
		[]string{"SELUGradNEON sets dx[i] = SELU'(x[i])*dy[i] from SELU's output y",
			"(len(dx), len(dy) >= len(y), unchecked)."},
		func(fn *Func, c *Consts) func(w [][]V) {
			la := c.F(expconst.LambdaAlpha32)
			lambda := c.Lanes(expconst.Lambda32)[0]
			return func(w [][]V) {
				dy, y, t := w[0], w[1], w[2]
				u := len(dy)
				S := func(v V) VA { return v.S4() }
				Each(u, func(k int) { fn.FADD(S(t[k]), S(y[k]), S(la)) })
				Each(u, func(k int) { fn.FMUL(S(t[k]), S(dy[k]), S(t[k])) })
				Each(u, func(k int) { fn.FMULE(S(dy[k]), S(dy[k]), lambda) })
				Each(u, func(k int) { fn.FCMGTZ(S(y[k]), S(y[k])) })
				Each(u, func(k int) { fn.VBIF(dy[k].B16(), t[k].B16(), y[k].B16()) })
			}
		})
}

// genReLU emits ReLUNEON: x where x is not negative (NaN and -0 pass),
// else 0: the lanes with x < 0 are cleared.
func genReLU(f *File) {
	elementwise(f, "ReLUNEON", []string{"dst", "x"}, 8, 2,
		[]string{"ReLUNEON sets dst[i] = max(x[i], 0), NaN and -0 unchanged",
			"(len(dst) >= len(x), unchecked)."},
		func(fn *Func, c *Consts) func(w [][]V) {
			return func(w [][]V) {
				x, m := w[0], w[1]
				u := len(x)
				Each(u, func(k int) { fn.FCMLTZ(m[k].S4(), x[k].S4()) })
				Each(u, func(k int) { fn.BIC(x[k].B16(), x[k].B16(), m[k].B16()) })
			}
		})
}

// genReLUGrad emits ReLUGradNEON: dy where y > 0, else 0.
func genReLUGrad(f *File) {
	elementwise(f, "ReLUGradNEON", []string{"dx", "dy", "y"}, 8, 2,
		[]string{"ReLUGradNEON sets dx[i] = dy[i] where y[i] > 0, else 0",
			"(len(dx), len(dy) >= len(y), unchecked)."},
		func(fn *Func, c *Consts) func(w [][]V) {
			return func(w [][]V) {
				dy, y := w[0], w[1]
				u := len(dy)
				Each(u, func(k int) { fn.FCMGTZ(y[k].S4(), y[k].S4()) })
				Each(u, func(k int) { fn.VAND(dy[k].B16(), dy[k].B16(), y[k].B16()) })
			}
		})
}

// genExp emits ExpNEON: e^x as exp1 in kernels/act_elementwise.go
// documents, step for step (clamp, magic-bias rounding, two-step range
// reduction, the polynomial, and two normal scale factors).
func genExp(f *File) {
	elementwise(f, "ExpNEON", []string{"dst", "x"}, 3, 5,
		[]string{"ExpNEON sets dst[i] = e^x[i] for i < len(x) (len(dst) >= len(x), unchecked)."},
		func(fn *Func, c *Consts) func(w [][]V) {
			lo, hi, magic := c.F(expconst.ExpLo), c.F(expconst.ExpHi), c.F(expconst.MagicBias)
			c5, c4, c3, c2, one := c.F(expconst.ExpC5), c.F(expconst.ExpC4), c.F(expconst.ExpC3), c.F(expconst.ExpC2), c.F(1)
			bias := c.Bits(127)
			m := c.Lanes(expconst.Log2e, expconst.Ln2Hi, expconst.Ln2Lo, expconst.ExpC6)
			kLog2e, kLn2Hi, kLn2Lo, kC6 := m[0], m[1], m[2], m[3]
			return func(w [][]V) {
				x, a, b, d, e := w[0], w[1], w[2], w[3], w[4]
				u := len(x)
				S := func(v V) VA { return v.S4() }
				Each(u, func(k int) { fn.FMAX(S(a[k]), S(x[k]), S(lo)) })
				Each(u, func(k int) { fn.FMIN(S(a[k]), S(a[k]), S(hi)) }) // z
				Each(u, func(k int) { fn.VMOV(b[k].B16(), magic.B16()) })
				Each(u, func(k int) { fn.FMLAE(S(b[k]), S(a[k]), kLog2e) })  // v
				Each(u, func(k int) { fn.VSUB(S(x[k]), S(b[k]), S(magic)) }) // ni (integer)
				Each(u, func(k int) { fn.FSUB(S(b[k]), S(b[k]), S(magic)) }) // n
				Each(u, func(k int) { fn.FMLSE(S(a[k]), S(b[k]), kLn2Hi) })
				Each(u, func(k int) { fn.FMLSE(S(a[k]), S(b[k]), kLn2Lo) }) // r
				Each(u, func(k int) { fn.VMOV(d[k].B16(), c5.B16()) })
				Each(u, func(k int) { fn.FMLAE(S(d[k]), S(a[k]), kC6) })
				for i, ck := range []V{c4, c3, c2, one, one} {
					p, q := d, e
					if i%2 == 1 {
						p, q = e, d
					}
					Each(u, func(k int) { fn.VMOV(q[k].B16(), ck.B16()) })
					Each(u, func(k int) { fn.VFMLA(S(q[k]), S(p[k]), S(a[k])) })
				}
				// e is in e; split n into n1 + n2 with n2 = n>>1.
				Each(u, func(k int) { fn.SSHR(S(b[k]), S(x[k]), 1) })       // n2
				Each(u, func(k int) { fn.VSUB(S(x[k]), S(x[k]), S(b[k])) }) // n1
				Each(u, func(k int) { fn.VADD(S(x[k]), S(x[k]), S(bias)) })
				Each(u, func(k int) { fn.VSHL(S(x[k]), S(x[k]), 23) }) // 2^n1
				Each(u, func(k int) { fn.VADD(S(b[k]), S(b[k]), S(bias)) })
				Each(u, func(k int) { fn.VSHL(S(b[k]), S(b[k]), 23) }) // 2^n2
				Each(u, func(k int) { fn.FMUL(S(e[k]), S(e[k]), S(x[k])) })
				Each(u, func(k int) { fn.FMUL(S(x[k]), S(e[k]), S(b[k])) })
			}
		})
}
