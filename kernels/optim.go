package kernels

// Optim holds the fused optimizer updates: one pass over the parameters
// per step, reading the gradient and the optimizer state once and writing
// the parameters and the state once. Every slice must be at least as long
// as w (a shorter one panics in Go before assembly runs; elements beyond
// len(w) are not touched), and no two may overlap. The order of
// operations below is the contract: every implementation computes exactly
// these float32 operations, each rounded once (fma rounds a*b+c once), so
// all ISAs agree bit for bit, step after step.
type Optim struct {
	// Adam is Keras's Adam (eps outside the square root) with L2 weight
	// decay added to the gradient. lrT is the bias-corrected step,
	// lr*sqrt(1-beta2^t)/(1-beta1^t), computed by the caller; c1 = 1-beta1
	// and c2 = 1-beta2 are passed rounded to float32. Per element:
	//
	//	g1 = fma(wd, w, g)
	//	m  = fma(b1, m, c1*g1)
	//	v  = fma(b2, v, (c2*g1)*g1)
	//	w  = fma(-lrT, m/(sqrt(v)+eps), w)
	Adam func(w, g, m, v []float32, lrT, b1, c1, b2, c2, eps, wd float32)

	// Adadelta is Keras's Adadelta with L2 weight decay; c = 1-rho.
	// acc accumulates squared gradients, dacc squared updates:
	//
	//	g1   = fma(wd, w, g)
	//	acc  = fma(rho, acc, (c*g1)*g1)
	//	u    = g1 * sqrt(dacc+eps) / sqrt(acc+eps)
	//	dacc = fma(rho, dacc, (c*u)*u)
	//	w    = fma(-lr, u, w)
	Adadelta func(w, g, acc, dacc []float32, lr, rho, c, eps, wd float32)

	// SGD is Keras's SGD with momentum (vel is the velocity, zero when
	// momentum is 0) and optional Nesterov, with L2 weight decay:
	//
	//	g1  = fma(wd, w, g)
	//	vel = fma(momentum, vel, -lr*g1)
	//	w   = w + vel                         (classical)
	//	w   = fma(momentum, vel, fma(-lr, g1, w))  (Nesterov)
	SGD func(w, g, vel []float32, lr, momentum, wd float32, nesterov bool)
}
