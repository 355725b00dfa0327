package kernels

import (
	"fmt"

	"github.com/snnkit/snn/internal/bounds"
)

// The transforms of conv's Winograd F(2x2, 3x3) pass, a row of tiles per
// call (see Conv.WinogradIn, Conv.WinogradOut and Conv.WinogradDy). The Go
// versions here are the generic set's and the reference of the assembly
// ones, which take eight tiles at a time and give the same bits.

// winogradGroup is how many tiles the assembly transforms take at once.
const winogradGroup = 8

// checkWinogradIn panics unless a WinogradIn call touches only memory it
// was given.
func checkWinogradIn(v []float32, plane int, pad []float32, wp, tiles int) {
	switch {
	case tiles < 0:
		panic(fmt.Sprintf("kernels: WinogradIn: tiles = %d < 0", tiles))
	case tiles == 0:
		return
	case plane < tiles:
		panic(fmt.Sprintf("kernels: WinogradIn: plane = %d < tiles = %d", plane, tiles))
	case wp < 2*tiles+2:
		panic(fmt.Sprintf("kernels: WinogradIn: wp = %d < 2*tiles+2 = %d", wp, 2*tiles+2))
	case !bounds.Fits(16, tiles, plane, len(v)):
		panic(fmt.Sprintf("kernels: WinogradIn: len(v) = %d < 15*plane+tiles = %s", len(v), bounds.Span(16, tiles, plane)))
	case !bounds.Fits(4, 2*tiles+2, wp, len(pad)):
		panic(fmt.Sprintf("kernels: WinogradIn: len(pad) = %d < 3*wp+2*tiles+2 = %s", len(pad), bounds.Span(4, 2*tiles+2, wp)))
	}
}

// checkWinogradOut panics unless a WinogradOut call touches only memory
// it was given.
func checkWinogradOut(top, bot, m []float32, plane, tiles int) {
	switch {
	case tiles < 0:
		panic(fmt.Sprintf("kernels: WinogradOut: tiles = %d < 0", tiles))
	case tiles == 0:
		return
	case plane < tiles:
		panic(fmt.Sprintf("kernels: WinogradOut: plane = %d < tiles = %d", plane, tiles))
	case !bounds.Fits(16, tiles, plane, len(m)):
		panic(fmt.Sprintf("kernels: WinogradOut: len(m) = %d < 15*plane+tiles = %s", len(m), bounds.Span(16, tiles, plane)))
	case len(top) < 2*tiles || len(bot) < 2*tiles:
		panic(fmt.Sprintf("kernels: WinogradOut: len(top) = %d, len(bot) = %d: need 2*tiles = %d", len(top), len(bot), 2*tiles))
	}
}

// checkWinogradDy panics unless a WinogradDy call touches only memory it
// was given.
func checkWinogradDy(g []float32, plane int, r0, r1 []float32, tiles int) {
	switch {
	case tiles < 0:
		panic(fmt.Sprintf("kernels: WinogradDy: tiles = %d < 0", tiles))
	case tiles == 0:
		return
	case plane < tiles:
		panic(fmt.Sprintf("kernels: WinogradDy: plane = %d < tiles = %d", plane, tiles))
	case !bounds.Fits(16, tiles, plane, len(g)):
		panic(fmt.Sprintf("kernels: WinogradDy: len(g) = %d < 15*plane+tiles = %s", len(g), bounds.Span(16, tiles, plane)))
	case len(r0) < 2*tiles || len(r1) < 2*tiles:
		panic(fmt.Sprintf("kernels: WinogradDy: len(r0) = %d, len(r1) = %d: need 2*tiles = %d", len(r0), len(r1), 2*tiles))
	}
}

// withWinograd returns c with WinogradIn, WinogradOut and WinogradDy
// checking their arguments and running in, out and dy (nil: the Go
// versions). The assembly takes whole groups of eight tiles and then a
// last part group, which it copies to the stack through masked loads and
// writes out through masked stores; for rows of at least eight tiles the
// wrappers recompute the last whole group ending at the row's end instead
// (the same values written again), which costs less.
func withWinograd(c Conv, in func(v *float32, plane int, pad *float32, wp, groups, last int),
	out func(top, bot, m *float32, plane, groups, last int, bias float32),
	dy func(g *float32, plane int, r0, r1 *float32, groups, last int)) Conv {
	c.WinogradRow, c.WinogradGroup = 0, 1
	if in != nil && out != nil && dy != nil {
		c.WinogradRow, c.WinogradGroup = 1, winogradGroup
	}
	c.WinogradIn = func(v []float32, plane int, pad []float32, wp, tiles int) {
		checkWinogradIn(v, plane, pad, wp, tiles)
		switch {
		case tiles == 0:
		case in == nil:
			winogradInGeneric(v, plane, pad, wp, tiles)
		case tiles < winogradGroup:
			in(&v[0], plane, &pad[0], wp, 0, tiles)
		default:
			in(&v[0], plane, &pad[0], wp, tiles/winogradGroup, 0)
			if last := tiles - winogradGroup; tiles%winogradGroup != 0 {
				in(&v[last], plane, &pad[2*last], wp, 1, 0)
			}
		}
	}
	c.WinogradOut = func(top, bot, m []float32, plane, tiles int, bias float32) {
		checkWinogradOut(top, bot, m, plane, tiles)
		switch {
		case tiles == 0:
		case out == nil:
			winogradOutGeneric(top, bot, m, plane, tiles, bias)
		case tiles < winogradGroup:
			out(&top[0], &bot[0], &m[0], plane, 0, tiles, bias)
		default:
			out(&top[0], &bot[0], &m[0], plane, tiles/winogradGroup, 0, bias)
			if last := tiles - winogradGroup; tiles%winogradGroup != 0 {
				out(&top[2*last], &bot[2*last], &m[last], plane, 1, 0, bias)
			}
		}
	}
	c.WinogradDy = func(g []float32, plane int, r0, r1 []float32, tiles int) {
		checkWinogradDy(g, plane, r0, r1, tiles)
		switch {
		case tiles == 0:
		case dy == nil:
			winogradDyGeneric(g, plane, r0, r1, tiles)
		case tiles < winogradGroup:
			dy(&g[0], plane, &r0[0], &r1[0], 0, tiles)
		default:
			dy(&g[0], plane, &r0[0], &r1[0], tiles/winogradGroup, 0)
			if last := tiles - winogradGroup; tiles%winogradGroup != 0 {
				dy(&g[last], plane, &r0[2*last], &r1[2*last], 1, 0)
			}
		}
	}
	return c
}

// winogradInGeneric is WinogradIn in Go.
func winogradInGeneric(v []float32, plane int, pad []float32, wp, tiles int) {
	if tiles == 0 {
		return
	}
	n := 2*tiles + 2
	r0 := pad[:n]
	r1 := pad[wp : wp+n][:len(r0)]
	r2 := pad[2*wp : 2*wp+n][:len(r0)]
	r3 := pad[3*wp : 3*wp+n][:len(r0)]
	// The 16 outputs' rows, as separate slices of one length so that the
	// compiler drops their bounds checks in the loop (an array of slices
	// keeps them).
	v0 := v[:tiles]
	v1 := v[plane : plane+tiles][:len(v0)]
	v2 := v[2*plane : 2*plane+tiles][:len(v0)]
	v3 := v[3*plane : 3*plane+tiles][:len(v0)]
	v4 := v[4*plane : 4*plane+tiles][:len(v0)]
	v5 := v[5*plane : 5*plane+tiles][:len(v0)]
	v6 := v[6*plane : 6*plane+tiles][:len(v0)]
	v7 := v[7*plane : 7*plane+tiles][:len(v0)]
	v8 := v[8*plane : 8*plane+tiles][:len(v0)]
	v9 := v[9*plane : 9*plane+tiles][:len(v0)]
	v10 := v[10*plane : 10*plane+tiles][:len(v0)]
	v11 := v[11*plane : 11*plane+tiles][:len(v0)]
	v12 := v[12*plane : 12*plane+tiles][:len(v0)]
	v13 := v[13*plane : 13*plane+tiles][:len(v0)]
	v14 := v[14*plane : 14*plane+tiles][:len(v0)]
	v15 := v[15*plane : 15*plane+tiles][:len(v0)]
	for tx := range v0 {
		j := 2 * tx
		a := r0[j : j+4 : j+4]
		b := r1[j : j+4 : j+4]
		c := r2[j : j+4 : j+4]
		d := r3[j : j+4 : j+4]
		// B^T d: the columns.
		c00, c01, c02, c03 := a[0]-c[0], a[1]-c[1], a[2]-c[2], a[3]-c[3]
		c10, c11, c12, c13 := b[0]+c[0], b[1]+c[1], b[2]+c[2], b[3]+c[3]
		c20, c21, c22, c23 := c[0]-b[0], c[1]-b[1], c[2]-b[2], c[3]-b[3]
		c30, c31, c32, c33 := b[0]-d[0], b[1]-d[1], b[2]-d[2], b[3]-d[3]
		// (B^T d) B: the rows.
		v0[tx], v1[tx], v2[tx], v3[tx] = c00-c02, c01+c02, c02-c01, c01-c03
		v4[tx], v5[tx], v6[tx], v7[tx] = c10-c12, c11+c12, c12-c11, c11-c13
		v8[tx], v9[tx], v10[tx], v11[tx] = c20-c22, c21+c22, c22-c21, c21-c23
		v12[tx], v13[tx], v14[tx], v15[tx] = c30-c32, c31+c32, c32-c31, c31-c33
	}
}

// winogradOutGeneric is WinogradOut in Go.
func winogradOutGeneric(top, bot, m []float32, plane, tiles int, bias float32) {
	if tiles == 0 {
		return
	}
	m0 := m[:tiles]
	m1 := m[plane : plane+tiles][:len(m0)]
	m2 := m[2*plane : 2*plane+tiles][:len(m0)]
	m3 := m[3*plane : 3*plane+tiles][:len(m0)]
	m4 := m[4*plane : 4*plane+tiles][:len(m0)]
	m5 := m[5*plane : 5*plane+tiles][:len(m0)]
	m6 := m[6*plane : 6*plane+tiles][:len(m0)]
	m7 := m[7*plane : 7*plane+tiles][:len(m0)]
	m8 := m[8*plane : 8*plane+tiles][:len(m0)]
	m9 := m[9*plane : 9*plane+tiles][:len(m0)]
	m10 := m[10*plane : 10*plane+tiles][:len(m0)]
	m11 := m[11*plane : 11*plane+tiles][:len(m0)]
	m12 := m[12*plane : 12*plane+tiles][:len(m0)]
	m13 := m[13*plane : 13*plane+tiles][:len(m0)]
	m14 := m[14*plane : 14*plane+tiles][:len(m0)]
	m15 := m[15*plane : 15*plane+tiles][:len(m0)]
	top = top[:2*len(m0)]
	bot = bot[:2*len(m0)]
	for tx := range m0 {
		// A^T M: 2 rows of 4.
		a0 := m0[tx] + m4[tx] + m8[tx]
		a1 := m1[tx] + m5[tx] + m9[tx]
		a2 := m2[tx] + m6[tx] + m10[tx]
		a3 := m3[tx] + m7[tx] + m11[tx]
		b0 := m4[tx] - m8[tx] - m12[tx]
		b1 := m5[tx] - m9[tx] - m13[tx]
		b2 := m6[tx] - m10[tx] - m14[tx]
		b3 := m7[tx] - m11[tx] - m15[tx]
		// (A^T M) A: 2 x 2.
		t := top[2*tx : 2*tx+2 : 2*tx+2]
		u := bot[2*tx : 2*tx+2 : 2*tx+2]
		t[0], t[1] = a0+a1+a2+bias, a1-a2-a3+bias
		u[0], u[1] = b0+b1+b2+bias, b1-b2-b3+bias
	}
}

// winogradDyGeneric is WinogradDy in Go.
func winogradDyGeneric(g []float32, plane int, r0, r1 []float32, tiles int) {
	if tiles == 0 {
		return
	}
	r0 = r0[:2*tiles]
	r1 = r1[:len(r0)]
	g0 := g[:tiles]
	g1 := g[plane : plane+tiles][:len(g0)]
	g2 := g[2*plane : 2*plane+tiles][:len(g0)]
	g3 := g[3*plane : 3*plane+tiles][:len(g0)]
	g4 := g[4*plane : 4*plane+tiles][:len(g0)]
	g5 := g[5*plane : 5*plane+tiles][:len(g0)]
	g6 := g[6*plane : 6*plane+tiles][:len(g0)]
	g7 := g[7*plane : 7*plane+tiles][:len(g0)]
	g8 := g[8*plane : 8*plane+tiles][:len(g0)]
	g9 := g[9*plane : 9*plane+tiles][:len(g0)]
	g10 := g[10*plane : 10*plane+tiles][:len(g0)]
	g11 := g[11*plane : 11*plane+tiles][:len(g0)]
	g12 := g[12*plane : 12*plane+tiles][:len(g0)]
	g13 := g[13*plane : 13*plane+tiles][:len(g0)]
	g14 := g[14*plane : 14*plane+tiles][:len(g0)]
	g15 := g[15*plane : 15*plane+tiles][:len(g0)]
	for tx := range g0 {
		a := r0[2*tx : 2*tx+2 : 2*tx+2]
		b := r1[2*tx : 2*tx+2 : 2*tx+2]
		// A dy: 4 rows of 2.
		t00, t01 := a[0], a[1]
		t10, t11 := a[0]+b[0], a[1]+b[1]
		t20, t21 := a[0]-b[0], a[1]-b[1]
		t30, t31 := -b[0], -b[1]
		// (A dy) A^T: 4 x 4.
		g0[tx], g1[tx], g2[tx], g3[tx] = t00, t00+t01, t00-t01, -t01
		g4[tx], g5[tx], g6[tx], g7[tx] = t10, t10+t11, t10-t11, -t11
		g8[tx], g9[tx], g10[tx], g11[tx] = t20, t20+t21, t20-t21, -t21
		g12[tx], g13[tx], g14[tx], g15[tx] = t30, t30+t31, t30-t31, -t31
	}
}
