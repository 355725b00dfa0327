// Command optim generates the arm64 (NEON) fused optimizer updates of
// package asm: Adam, Adadelta and SGD (classical and Nesterov momentum),
// each one pass over the parameters computing exactly the float32
// operations of the contract in kernels/optim.go, in its order.
//
// Run through `go generate ./...` from the repository root; see asm/gen.go.
package main

import . "github.com/snnkit/snn/gen/neon"

func main() {
	Generate("gen/neon/optim", func(f *File) {
		genAdam(f)
		genAdadelta(f)
		genSGD(f, false)
		genSGD(f, true)
	})
}

// u is the number of vectors per iteration: four per array keeps every
// load and store a single four-register VLD1/VST1.
const u = 4

// update emits the frame of an optimizer kernel: the slices (parameters
// first, all of len(w) elements, unchecked), the float32 hyper-parameters,
// k groups of u working registers from V0 (the first len(slices) hold the
// loaded slices), and a body that leaves the results in the groups named
// by outs, stored back to the slices named by dsts.
//
// Register plan: R1.. the load pointers, R10.. the store pointers, R9 the
// count, R8 the constant scratch; V0.. the working groups, constants from
// V31 down, V27 scratch while the constants load.
func update(f *File, name, params string, slices []string, k int, outs, dsts []int, doc []string,
	kernel func(fn *Func, c *Consts) func(w [][]V)) {
	fn := f.Func(name, "func("+params+")", doc...)
	n := R9
	srcs := make([]R, len(slices))
	for i, s := range slices {
		srcs[i] = R(1 + i)
		fn.Load(srcs[i], fn.Slot(s+"_base"))
	}
	stores := make([]R, len(dsts))
	for i, d := range dsts {
		stores[i] = R10 + R(i)
		fn.Load(stores[i], fn.Slot(slices[d]+"_base"))
	}
	fn.Load(n, fn.Slot(slices[0]+"_len"))
	c := fn.Consts(R8)
	body := kernel(fn, c)
	w := Slots(k, u)
	if int(c.Low()) < k*u || c.Low() <= V27 {
		panic(name + ": constants and working registers overlap")
	}
	outRegs := make([][]V, len(outs))
	for i, o := range outs {
		outRegs[i] = w[o]
	}
	fn.Stream(stores, srcs, n, w[:len(slices)], outRegs, func(_, o [][]V) {
		g := make([][]V, k)
		for i := range g {
			g[i] = w[i][:len(o[0])]
		}
		body(g)
	})
	fn.RET()
}

// S is the four-lane float32 view of v.
func S(v V) VA { return v.S4() }

// genAdam emits AdamNEON:
//
//	g1 = fma(wd, w, g)
//	m  = fma(b1, m, c1*g1)
//	v  = fma(b2, v, (c2*g1)*g1)
//	w  = fma(-lrT, m/(sqrt(v)+eps), w)
//
// 10 instructions per vector of four parameters.
func genAdam(f *File) {
	slices := []string{"w", "g", "m", "v"}
	update(f, "AdamNEON", "w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32", slices, 6,
		[]int{0, 4, 5}, []int{0, 2, 3},
		[]string{"AdamNEON runs one Adam step over w, m and v (see kernels.Optim; all",
			"slices of len(w), unchecked)."},
		func(fn *Func, c *Consts) func(w [][]V) {
			k := c.ArgLanes(V27, fn.Slot("wd"), fn.Slot("c1"), fn.Slot("b1"), fn.Slot("c2"))
			wd, c1, b1, c2 := k[0], k[1], k[2], k[3]
			k = c.ArgLanes(V27, fn.Slot("b2"), fn.Slot("lrT"))
			b2, lrT := k[0], k[1]
			eps := c.Arg(fn.Slot("eps"))
			return func(r [][]V) {
				w, g, m, v, t, q := r[0], r[1], r[2], r[3], r[4], r[5]
				n := len(w)
				Each(n, func(i int) { fn.FMLAE(S(g[i]), S(w[i]), wd) }) // g1
				Each(n, func(i int) { fn.FMULE(S(t[i]), S(g[i]), c1) })
				Each(n, func(i int) { fn.FMLAE(S(t[i]), S(m[i]), b1) }) // m
				Each(n, func(i int) { fn.FMULE(S(q[i]), S(g[i]), c2) })
				Each(n, func(i int) { fn.FMUL(S(q[i]), S(q[i]), S(g[i])) })
				Each(n, func(i int) { fn.FMLAE(S(q[i]), S(v[i]), b2) }) // v
				Each(n, func(i int) { fn.FSQRT(S(g[i]), S(q[i])) })
				Each(n, func(i int) { fn.FADD(S(g[i]), S(g[i]), S(eps)) })
				Each(n, func(i int) { fn.FDIV(S(g[i]), S(t[i]), S(g[i])) })
				Each(n, func(i int) { fn.FMLSE(S(w[i]), S(g[i]), lrT) }) // w
			}
		})
}

// genAdadelta emits AdadeltaNEON:
//
//	g1   = fma(wd, w, g)
//	acc  = fma(rho, acc, (c*g1)*g1)
//	u    = g1 * sqrt(dacc+eps) / sqrt(acc+eps)
//	dacc = fma(rho, dacc, (c*u)*u)
//	w    = fma(-lr, u, w)
//
// 14 instructions per vector.
func genAdadelta(f *File) {
	slices := []string{"w", "g", "acc", "dacc"}
	update(f, "AdadeltaNEON", "w, g, acc, dacc []float32, lr, rho, c, eps, wd float32", slices, 6,
		[]int{0, 4, 5}, []int{0, 2, 3},
		[]string{"AdadeltaNEON runs one Adadelta step over w, acc and dacc (see",
			"kernels.Optim; all slices of len(w), unchecked)."},
		func(fn *Func, cs *Consts) func(w [][]V) {
			k := cs.ArgLanes(V27, fn.Slot("wd"), fn.Slot("c"), fn.Slot("rho"), fn.Slot("lr"))
			wd, c, rho, lr := k[0], k[1], k[2], k[3]
			eps := cs.Arg(fn.Slot("eps"))
			return func(r [][]V) {
				w, g, acc, d, x, t := r[0], r[1], r[2], r[3], r[4], r[5]
				n := len(w)
				Each(n, func(i int) { fn.FMLAE(S(g[i]), S(w[i]), wd) }) // g1
				Each(n, func(i int) { fn.FMULE(S(x[i]), S(g[i]), c) })
				Each(n, func(i int) { fn.FMUL(S(x[i]), S(x[i]), S(g[i])) })
				Each(n, func(i int) { fn.FMLAE(S(x[i]), S(acc[i]), rho) }) // acc
				Each(n, func(i int) { fn.FADD(S(acc[i]), S(d[i]), S(eps)) })
				Each(n, func(i int) { fn.FSQRT(S(acc[i]), S(acc[i])) })
				Each(n, func(i int) { fn.FMUL(S(acc[i]), S(g[i]), S(acc[i])) })
				Each(n, func(i int) { fn.FADD(S(t[i]), S(x[i]), S(eps)) })
				Each(n, func(i int) { fn.FSQRT(S(t[i]), S(t[i])) })
				Each(n, func(i int) { fn.FDIV(S(acc[i]), S(acc[i]), S(t[i])) }) // u
				Each(n, func(i int) { fn.FMULE(S(t[i]), S(acc[i]), c) })
				Each(n, func(i int) { fn.FMUL(S(t[i]), S(t[i]), S(acc[i])) })
				Each(n, func(i int) { fn.FMLAE(S(t[i]), S(d[i]), rho) })  // dacc
				Each(n, func(i int) { fn.FMLSE(S(w[i]), S(acc[i]), lr) }) // w
			}
		})
}

// genSGD emits SGDNEON or SGDNesterovNEON:
//
//	g1  = fma(wd, w, g)
//	vel = fma(momentum, vel, -lr*g1)
//	w   = w + vel                              (classical)
//	w   = fma(momentum, vel, fma(-lr, g1, w))  (Nesterov)
func genSGD(f *File, nesterov bool) {
	name, doc := "SGDNEON", "SGDNEON runs one step of SGD with classical momentum over w and vel"
	if nesterov {
		name, doc = "SGDNesterovNEON", "SGDNesterovNEON runs one step of SGD with Nesterov momentum over w and vel"
	}
	slices := []string{"w", "g", "vel"}
	update(f, name, "w, g, vel []float32, lr, momentum, wd float32", slices, 4,
		[]int{0, 3}, []int{0, 2},
		[]string{doc, "(see kernels.Optim; all slices of len(w), unchecked)."},
		func(fn *Func, c *Consts) func(w [][]V) {
			k := c.ArgLanes(V27, fn.Slot("wd"), fn.Slot("lr"), fn.Slot("momentum"))
			wd, lr, mom := k[0], k[1], k[2]
			neg := c.Reg()
			fn.FNEG(neg.S4(), wd.V.S4())
			negLr := neg.S(1)
			return func(r [][]V) {
				w, g, vel, x := r[0], r[1], r[2], r[3]
				n := len(w)
				Each(n, func(i int) { fn.FMLAE(S(g[i]), S(w[i]), wd) }) // g1
				Each(n, func(i int) { fn.FMULE(S(x[i]), S(g[i]), negLr) })
				Each(n, func(i int) { fn.FMLAE(S(x[i]), S(vel[i]), mom) }) // vel
				if nesterov {
					Each(n, func(i int) { fn.FMLSE(S(w[i]), S(g[i]), lr) })
					Each(n, func(i int) { fn.FMLAE(S(w[i]), S(x[i]), mom) })
				} else {
					Each(n, func(i int) { fn.FADD(S(w[i]), S(w[i]), S(x[i])) })
				}
			}
		})
}
