package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"

	"github.com/snnkit/snn/gen/internal/x86"
)

// The kernels compute exactly the float32 operations of the contract in
// kernels/optim.go, in its order, so that every ISA gives the bits of the
// pure-Go twin. Operand order in the comments is the contract's; the
// assembly may swap the factors of a product or the terms of a sum (both
// commute exactly) and negates a product through the FMA variant:
// VFNMADD231PS gives -(a*b)+c and VFMSUB231PS a*b-c, each rounded once, as
// fma(-a, b, c) and fma(a, b, -c) are.
//
// One position of each kernel reads every array once and writes w and the
// state once; the arithmetic leaves the loop memory-bound beyond L2, so two
// vectors per group are enough to keep loads in flight.

// unroll is the number of vectors per loop group.
const unroll = 2

// params loads the broadcast hyper-parameters by name.
func (v isa) params(names ...string) map[string]reg.VecVirtual {
	m := map[string]reg.VecVirtual{}
	for _, name := range names {
		m[name] = v.BroadcastParam(name)
	}
	return m
}

// pointers loads the base pointers of the slices, and the length of the
// first one.
func pointers(names ...string) ([]reg.GPVirtual, reg.GPVirtual) {
	ptrs := make([]reg.GPVirtual, len(names))
	for i, name := range names {
		ptrs[i] = Load(Param(name).Base(), GP64()).(reg.GPVirtual)
	}
	n := Load(Param(names[0]).Len(), GP64()).(reg.GPVirtual)
	return ptrs, n
}

// decayed returns g1 = fma(wd, w, g) in a new register.
func decayed(p x86.Lane, w reg.VecVirtual, wd reg.VecVirtual, gj int) reg.VecVirtual {
	g1 := p.Get(gj)
	VFMADD231PS(wd, w, g1)
	return g1
}

func genAdam(v isa) {
	TEXT(v.Fn("Adam"), NOSPLIT, "func(w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32)")
	Doc(v.Fn("Adam")+" is the Adam step of kernels.Optim over len(w) elements; g, m and v",
		"at least as long, unchecked, none overlapping another.")
	const iw, ig, im, iv = 0, 1, 2, 3
	ptrs, n := pointers("w", "g", "m", "v")
	h := v.params("lrT", "b1", "c1", "b2", "c2", "eps", "wd")
	v.stream(ptrs, n, unroll, func(p x86.Lane) {
		w := p.Get(iw)
		g1 := decayed(p, w, h["wd"], ig)
		m := v.Vec()
		VMULPS(h["c1"], g1, m)            // c1*g1
		VFMADD231PS(p.In(im), h["b1"], m) // m = fma(b1, m, c1*g1)
		p.Put(im, m)
		s := v.Vec()
		VMULPS(h["c2"], g1, s)            // c2*g1
		VMULPS(g1, s, s)                  // (c2*g1)*g1
		VFMADD231PS(p.In(iv), h["b2"], s) // v = fma(b2, v, (c2*g1)*g1)
		p.Put(iv, s)
		VSQRTPS(s, s)          // sqrt(v)
		VADDPS(h["eps"], s, s) // sqrt(v)+eps
		VDIVPS(s, m, s)        // m/(sqrt(v)+eps)
		VFNMADD231PS(h["lrT"], s, w)
		p.Put(iw, w) // w = fma(-lrT, m/(sqrt(v)+eps), w)
	})
}

func genAdadelta(v isa) {
	TEXT(v.Fn("Adadelta"), NOSPLIT, "func(w, g, acc, dacc []float32, lr, rho, c, eps, wd float32)")
	Doc(v.Fn("Adadelta")+" is the Adadelta step of kernels.Optim over len(w) elements; g,",
		"acc and dacc at least as long, unchecked, none overlapping another.")
	const iw, ig, ia, id = 0, 1, 2, 3
	ptrs, n := pointers("w", "g", "acc", "dacc")
	h := v.params("lr", "rho", "c", "eps", "wd")
	v.stream(ptrs, n, unroll, func(p x86.Lane) {
		w := p.Get(iw)
		g1 := decayed(p, w, h["wd"], ig)
		a := v.Vec()
		VMULPS(h["c"], g1, a)              // c*g1
		VMULPS(g1, a, a)                   // (c*g1)*g1
		VFMADD231PS(p.In(ia), h["rho"], a) // acc = fma(rho, acc, (c*g1)*g1)
		p.Put(ia, a)
		d := p.Get(id)
		num := v.Vec()
		VADDPS(h["eps"], d, num) // dacc+eps
		VSQRTPS(num, num)
		VADDPS(h["eps"], a, a) // acc+eps
		VSQRTPS(a, a)
		u := g1
		VMULPS(num, g1, u) // g1 * sqrt(dacc+eps)
		VDIVPS(a, u, u)    // ... / sqrt(acc+eps)
		t := v.Vec()
		VMULPS(h["c"], u, t)        // c*u
		VMULPS(u, t, t)             // (c*u)*u
		VFMADD231PS(d, h["rho"], t) // dacc = fma(rho, dacc, (c*u)*u)
		p.Put(id, t)
		VFNMADD231PS(h["lr"], u, w)
		p.Put(iw, w) // w = fma(-lr, u, w)
	})
}

// genSGD emits the classical and, with nesterov, the Nesterov update as
// two functions: the choice is made once per call in Go, not per vector.
func genSGD(v isa, nesterov bool) {
	name := "SGD"
	if nesterov {
		name = "SGDNesterov"
	}
	TEXT(v.Fn(name), NOSPLIT, "func(w, g, vel []float32, lr, momentum, wd float32)")
	if nesterov {
		Doc(v.Fn(name)+" is the SGD step of kernels.Optim with Nesterov momentum over",
			"len(w) elements; g and vel at least as long, unchecked, not overlapping.")
	} else {
		Doc(v.Fn(name)+" is the SGD step of kernels.Optim with classical momentum over",
			"len(w) elements; g and vel at least as long, unchecked, not overlapping.")
	}
	const iw, ig, iv = 0, 1, 2
	ptrs, n := pointers("w", "g", "vel")
	h := v.params("lr", "momentum", "wd")
	v.stream(ptrs, n, 2*unroll, func(p x86.Lane) {
		w := p.Get(iw)
		g1 := decayed(p, w, h["wd"], ig)
		vel := v.Vec()
		VMULPS(h["lr"], g1, vel)                  // lr*g1
		VFMSUB231PS(p.In(iv), h["momentum"], vel) // vel = fma(momentum, vel, -lr*g1)
		p.Put(iv, vel)
		if nesterov {
			VFNMADD231PS(h["lr"], g1, w)       // fma(-lr, g1, w)
			VFMADD231PS(h["momentum"], vel, w) // w = fma(momentum, vel, ...)
		} else {
			VADDPS(vel, w, w) // w = w + vel
		}
		p.Put(iw, w)
	})
}
