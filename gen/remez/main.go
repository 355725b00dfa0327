// Command remez derives the polynomial coefficients of snn's exp and expm1
// kernels, so that the constants in gen/internal/expconst can be reproduced.
//
// The kernels reduce x to r = x - n*ln2 with |r| <= ln2/2 and evaluate
//
//	expm1(r) ~= r + r^2 * P(r),   P(r) = c2 + c3*r + c4*r^2 + c5*r^3 + c6*r^4,
//
// so P approximates f(r) = (e^r - 1 - r) / r^2. The fit minimizes the
// relative error of the whole expm1(r), i.e. the error of P weighted by
// r^2 / expm1(r), with the Remez exchange algorithm; the coefficients are
// then rounded to float32, and the float32 error of the rounded polynomial
// is reported.
//
//	go run ./remez
package main

import (
	"fmt"
	"math"
)

const (
	degree = 4                    // P has degree 4: c2..c6
	lo     = -0.34657359027997264 // -ln2/2
	hi     = 0.34657359027997264
	grid   = 20001
)

// f is (e^r - 1 - r) / r^2 from its Taylor series, accurate for small r
// where the closed form cancels.
func f(r float64) float64 {
	s, term := 0.0, 0.5
	for k := 2; k < 40; k++ {
		s += term
		term *= r / float64(k+1)
	}
	return s
}

// weight turns an error of P into a relative error of expm1(r).
func weight(r float64) float64 {
	if r == 0 {
		return 0
	}
	return math.Abs(r * r / math.Expm1(r))
}

func eval(c []float64, r float64) float64 {
	p := 0.0
	for i := len(c) - 1; i >= 0; i-- {
		p = p*r + c[i]
	}
	return p
}

func errAt(c []float64, r float64) float64 { return weight(r) * (eval(c, r) - f(r)) }

// solve solves the dense linear system a*x = b by Gaussian elimination with
// partial pivoting.
func solve(a [][]float64, b []float64) []float64 {
	n := len(b)
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		a[col], a[piv] = a[piv], a[col]
		b[col], b[piv] = b[piv], b[col]
		for r := col + 1; r < n; r++ {
			m := a[r][col] / a[col][col]
			for k := col; k < n; k++ {
				a[r][k] -= m * a[col][k]
			}
			b[r] -= m * b[col]
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x
}

func remez() ([]float64, float64) {
	m := degree + 2
	// Start from Chebyshev extrema.
	pts := make([]float64, m)
	for i := range pts {
		pts[i] = (lo+hi)/2 - (hi-lo)/2*math.Cos(math.Pi*float64(i)/float64(m-1))
	}
	var c []float64
	var e float64
	for iter := 0; iter < 50; iter++ {
		a := make([][]float64, m)
		b := make([]float64, m)
		for i, x := range pts {
			a[i] = make([]float64, m)
			for j := 0; j <= degree; j++ {
				a[i][j] = math.Pow(x, float64(j))
			}
			w := weight(x)
			if w == 0 {
				w = 1e-300
			}
			a[i][m-1] = math.Pow(-1, float64(i)) / w
			b[i] = f(x)
		}
		sol := solve(a, b)
		c, e = sol[:degree+1], sol[m-1]
		// New reference: the extremum of the error in each sign run.
		var xs []float64
		var best float64
		sign := 0.0
		for i := 0; i < grid; i++ {
			x := lo + (hi-lo)*float64(i)/float64(grid-1)
			v := errAt(c, x)
			s := math.Copysign(1, v)
			if s != sign {
				xs = append(xs, x)
				best = math.Abs(v)
				sign = s
			} else if math.Abs(v) > best {
				xs[len(xs)-1] = x
				best = math.Abs(v)
			}
		}
		if len(xs) != m {
			break
		}
		pts = xs
	}
	return c, math.Abs(e)
}

// ulpErr measures the float32 evaluation, with FMA, of the kernel's expm1
// core on r over the reduced interval, against float64.
func ulpErr(c32 []float32) float64 {
	worst := 0.0
	for i := 0; i < 1_000_001; i++ {
		r := float32(lo + (hi-lo)*float64(i)/1_000_000)
		p := c32[degree]
		for j := degree - 1; j >= 0; j-- {
			p = float32(math.FMA(float64(p), float64(r), float64(c32[j])))
		}
		p *= r
		y := float32(math.FMA(float64(p), float64(r), float64(r)))
		want := math.Expm1(float64(r))
		if want == 0 {
			continue
		}
		u := float64(math.Nextafter32(float32(math.Abs(want)), float32(math.Inf(1)))) - math.Abs(float64(float32(want)))
		worst = max(worst, math.Abs(float64(y)-want)/u)
	}
	return worst
}

func main() {
	c, e := remez()
	fmt.Printf("relative error of expm1(r) on [-ln2/2, ln2/2]: %.3g (float32 ulp is 2^-24 = %.3g)\n", e, 0x1p-24)
	c32 := make([]float32, len(c))
	for i, v := range c {
		c32[i] = float32(v)
		fmt.Printf("c%d = %.17g  float32 %#08x  %v\n", i+2, v, math.Float32bits(c32[i]), c32[i])
	}
	fmt.Printf("float32 evaluation, max error of expm1(r): %.3f ulp\n", ulpErr(c32))
}
