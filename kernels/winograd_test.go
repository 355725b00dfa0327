package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/snnkit/snn/internal/testkit"
)

// winogradTiles are the row widths the transform tests take: none, fewer
// than a group of eight, whole groups, and whole groups and a part.
var winogradTiles = []int{0, 1, 2, 7, 8, 9, 14, 15, 16, 17, 23, 24, 25, 32, 33}

// winogradData returns n floats for the transforms: uniform, with runs of
// equal values (so that differences are exact zeros, whose signs the
// transforms must get right too) and negative zeros.
func winogradData(seed uint64, n int) []float32 {
	x := testkit.Uniform(testkit.Rand(seed), n, -2, 2)
	for i := range x {
		switch i % 11 {
		case 3:
			x[i] = x[i-1]
		case 7:
			x[i] = float32(math.Copysign(0, -1))
		}
	}
	return x
}

// requireBits requires got and want to be equal bit for bit.
func requireBits(t *testing.T, want, got []float32, what string) {
	t.Helper()
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.Failf(t, "different bits", "%s: [%d] = %v (%#x), want %v (%#x)", what, i,
				got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestWinogradIn checks every set's input transform against the Go one bit
// for bit (and the Go one against B^T d B in float64), on rows of every
// width around the group of eight, with slack between rows and planes or
// none, on unaligned slices that end at (or start after) a guard page,
// and that nothing past the tiles is written.
func TestWinogradIn(t *testing.T) {
	seed := uint64(0)
	for _, k := range Sets() {
		for _, tiles := range winogradTiles {
			for _, slack := range []int{0, 3} {
				for _, guard := range []int{0, 1} {
					seed++
					name := fmt.Sprintf("%s/tiles=%d/slack=%d/guard=%d", k.ISA, tiles, slack, guard)
					plane, wp := tiles+slack, 2*tiles+2+slack
					if tiles == 0 {
						k.Conv.WinogradIn(nil, 0, nil, 0, 0)
						continue
					}
					nv, np := 15*plane+tiles, 3*wp+2*tiles+2
					v, pad := guarded(t, nv, guard), guarded(t, np, guard)
					copy(pad, winogradData(seed, np))
					const gap = -7.5
					for i := range v {
						v[i] = gap
					}
					k.Conv.WinogradIn(v, plane, pad, wp, tiles)
					want := make([]float32, nv)
					for i := range want {
						want[i] = gap
					}
					winogradInGeneric(want, plane, pad, wp, tiles)
					requireBits(t, want, v, name)
					checkWinogradInMath(t, want, plane, pad, wp, tiles, name)
				}
			}
		}
	}
}

// checkWinogradInMath compares v with B^T d B computed in float64.
func checkWinogradInMath(t *testing.T, v []float32, plane int, pad []float32, wp, tiles int, name string) {
	t.Helper()
	bt := [4][4]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	for tile := range tiles {
		var d, btd [4][4]float64
		for r := range 4 {
			for c := range 4 {
				d[r][c] = float64(pad[r*wp+2*tile+c])
			}
		}
		for i := range 4 {
			for j := range 4 {
				for r := range 4 {
					btd[i][j] += bt[i][r] * d[r][j]
				}
			}
		}
		for i := range 4 {
			for j := range 4 {
				var want float64
				for c := range 4 {
					want += btd[i][c] * bt[j][c]
				}
				require.InDelta(t, want, v[(4*i+j)*plane+tile], 1e-5, "%s: tile %d element %d", name, tile, 4*i+j)
			}
		}
	}
}

// TestWinogradOut is TestWinogradIn for the output transform.
func TestWinogradOut(t *testing.T) {
	seed := uint64(100)
	for _, k := range Sets() {
		for _, tiles := range winogradTiles {
			for _, slack := range []int{0, 3} {
				for _, guard := range []int{0, 1} {
					seed++
					name := fmt.Sprintf("%s/tiles=%d/slack=%d/guard=%d", k.ISA, tiles, slack, guard)
					plane := tiles + slack
					if tiles == 0 {
						k.Conv.WinogradOut(nil, nil, nil, 0, 0, 1)
						continue
					}
					nm := 15*plane + tiles
					m := guarded(t, nm, guard)
					copy(m, winogradData(seed, nm))
					bias := winogradData(seed+1000, 1)[0]
					top, bot := guarded(t, 2*tiles, guard), guarded(t, 2*tiles, 1-guard)
					k.Conv.WinogradOut(top, bot, m, plane, tiles, bias)
					wantTop, wantBot := make([]float32, 2*tiles), make([]float32, 2*tiles)
					winogradOutGeneric(wantTop, wantBot, m, plane, tiles, bias)
					requireBits(t, wantTop, top, name+" top")
					requireBits(t, wantBot, bot, name+" bot")
					at := [2][4]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
					for tile := range tiles {
						for r := range 2 {
							for c := range 2 {
								want := float64(bias)
								for i := range 4 {
									for j := range 4 {
										want += at[r][i] * float64(m[(4*i+j)*plane+tile]) * at[c][j]
									}
								}
								got := []float32{wantTop[2*tile+c], wantBot[2*tile+c]}[r]
								require.InDelta(t, want, got, 1e-5, "%s: tile %d output (%d, %d)", name, tile, r, c)
							}
						}
					}
				}
			}
		}
	}
}

// TestWinogradDy is TestWinogradIn for the output gradient's transform.
func TestWinogradDy(t *testing.T) {
	seed := uint64(200)
	for _, k := range Sets() {
		for _, tiles := range winogradTiles {
			for _, slack := range []int{0, 3} {
				for _, guard := range []int{0, 1} {
					seed++
					name := fmt.Sprintf("%s/tiles=%d/slack=%d/guard=%d", k.ISA, tiles, slack, guard)
					plane := tiles + slack
					if tiles == 0 {
						k.Conv.WinogradDy(nil, 0, nil, nil, 0)
						continue
					}
					ng := 15*plane + tiles
					g := guarded(t, ng, guard)
					r0, r1 := guarded(t, 2*tiles, guard), guarded(t, 2*tiles, 1-guard)
					copy(r0, winogradData(seed, 2*tiles))
					copy(r1, winogradData(seed+1000, 2*tiles))
					const gap = -7.5
					for i := range g {
						g[i] = gap
					}
					k.Conv.WinogradDy(g, plane, r0, r1, tiles)
					want := make([]float32, ng)
					for i := range want {
						want[i] = gap
					}
					winogradDyGeneric(want, plane, r0, r1, tiles)
					requireBits(t, want, g, name)
					a := [4][2]float64{{1, 0}, {1, 1}, {1, -1}, {0, -1}}
					for tile := range tiles {
						dy := [2][2]float64{{float64(r0[2*tile]), float64(r0[2*tile+1])}, {float64(r1[2*tile]), float64(r1[2*tile+1])}}
						for i := range 4 {
							for j := range 4 {
								var v float64
								for r := range 2 {
									for c := range 2 {
										v += a[i][r] * dy[r][c] * a[j][c]
									}
								}
								require.InDelta(t, v, want[(4*i+j)*plane+tile], 1e-5, "%s: tile %d element %d", name, tile, 4*i+j)
							}
						}
					}
				}
			}
		}
	}
}

// guarded returns n floats ending at a guard page (guard 0) or starting
// right after one (guard 1), so that the kernels read or write past either
// end fault; the one that ends there starts off a 32-byte boundary when n
// is odd.
func guarded(t *testing.T, n, guard int) []float32 {
	end, start := testkit.Guarded(t, n)
	if guard == 0 {
		return end
	}
	return start
}

// TestWinogradChecks checks that bad arguments panic in Go, before any
// assembly runs, in every set.
func TestWinogradChecks(t *testing.T) {
	for _, k := range Sets() {
		in, out := k.Conv.WinogradIn, k.Conv.WinogradOut
		const tiles, plane, wp = 9, 10, 20
		v, pad := make([]float32, 15*plane+tiles), make([]float32, 3*wp+2*tiles+2)
		require.NotPanics(t, func() { in(v, plane, pad, wp, tiles) }, k.ISA)
		require.Panics(t, func() { in(v, plane, pad, wp, -1) }, "%s: negative tiles", k.ISA)
		require.Panics(t, func() { in(v, tiles-1, pad, wp, tiles) }, "%s: plane < tiles", k.ISA)
		require.Panics(t, func() { in(v, plane, pad, 2*tiles+1, tiles) }, "%s: wp too small", k.ISA)
		require.Panics(t, func() { in(v[1:], plane, pad, wp, tiles) }, "%s: short v", k.ISA)
		require.Panics(t, func() { in(v, plane, pad[1:], wp, tiles) }, "%s: short pad", k.ISA)
		require.Panics(t, func() { in(v, math.MaxInt/8, pad, wp, tiles) }, "%s: huge plane", k.ISA)
		m, top, bot := make([]float32, 15*plane+tiles), make([]float32, 2*tiles), make([]float32, 2*tiles)
		require.NotPanics(t, func() { out(top, bot, m, plane, tiles, 0) }, k.ISA)
		require.Panics(t, func() { out(top, bot, m, plane, -1, 0) }, "%s: negative tiles", k.ISA)
		require.Panics(t, func() { out(top, bot, m, tiles-1, tiles, 0) }, "%s: plane < tiles", k.ISA)
		require.Panics(t, func() { out(top, bot, m[1:], plane, tiles, 0) }, "%s: short m", k.ISA)
		require.Panics(t, func() { out(top[1:], bot, m, plane, tiles, 0) }, "%s: short top", k.ISA)
		require.Panics(t, func() { out(top, bot[1:], m, plane, tiles, 0) }, "%s: short bot", k.ISA)
		require.Panics(t, func() { out(top, bot, m, math.MaxInt/8, tiles, 0) }, "%s: huge plane", k.ISA)
		dy, r0, r1 := k.Conv.WinogradDy, make([]float32, 2*tiles), make([]float32, 2*tiles)
		require.NotPanics(t, func() { dy(m, plane, r0, r1, tiles) }, k.ISA)
		require.Panics(t, func() { dy(m, plane, r0, r1, -1) }, "%s: negative tiles", k.ISA)
		require.Panics(t, func() { dy(m, tiles-1, r0, r1, tiles) }, "%s: plane < tiles", k.ISA)
		require.Panics(t, func() { dy(m[1:], plane, r0, r1, tiles) }, "%s: short g", k.ISA)
		require.Panics(t, func() { dy(m, plane, r0[1:], r1, tiles) }, "%s: short r0", k.ISA)
		require.Panics(t, func() { dy(m, plane, r0, r1[1:], tiles) }, "%s: short r1", k.ISA)
		require.Panics(t, func() { dy(m, math.MaxInt/8, r0, r1, tiles) }, "%s: huge plane", k.ISA)
	}
}

// FuzzWinograd compares every set's three transforms with the Go ones.
func FuzzWinograd(f *testing.F) {
	f.Add(uint8(8), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(19), uint8(3), uint8(5), uint64(2))
	f.Fuzz(func(t *testing.T, tiles, slackP, slackW uint8, seed uint64) {
		n := int(tiles % 80)
		if n == 0 {
			return
		}
		plane, wp := n+int(slackP%9), 2*n+2+int(slackW%9)
		pad := winogradData(seed, 3*wp+2*n+2)
		m := winogradData(seed+1, 15*plane+n)
		want := make([]float32, 15*plane+n)
		wantTop, wantBot := make([]float32, 2*n), make([]float32, 2*n)
		winogradInGeneric(want, plane, pad, wp, n)
		winogradOutGeneric(wantTop, wantBot, m, plane, n, 0.25)
		wantG := make([]float32, 15*plane+n)
		winogradDyGeneric(wantG, plane, pad, pad[wp:], n)
		for _, k := range Sets() {
			got := make([]float32, len(want))
			k.Conv.WinogradIn(got, plane, pad, wp, n)
			requireBits(t, want, got, k.ISA+" in")
			top, bot := make([]float32, 2*n), make([]float32, 2*n)
			k.Conv.WinogradOut(top, bot, m, plane, n, 0.25)
			requireBits(t, wantTop, top, k.ISA+" top")
			requireBits(t, wantBot, bot, k.ISA+" bot")
			g := make([]float32, len(wantG))
			k.Conv.WinogradDy(g, plane, pad, pad[wp:], n)
			requireBits(t, wantG, g, k.ISA+" dy")
		}
	})
}

// BenchmarkWinograd runs the transforms on rows of 32 tiles (64-px
// images) and of 7 (14-px images, a part group only), 64 calls as conv's
// pass makes them for 64 channels, and reports tiles per nanosecond.
func BenchmarkWinograd(b *testing.B) {
	const calls = 64
	for _, tiles := range []int{32, 7} {
		plane, wp := calls*tiles+16, 2*tiles+3
		pad := winogradData(1, 4*wp*calls)
		v := make([]float32, 16*plane)
		top, bot := make([]float32, 2*tiles), make([]float32, 2*tiles)
		for _, k := range Sets() {
			rate := func(b *testing.B) {
				b.ReportMetric(float64(tiles*calls)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "tiles/ns")
			}
			b.Run(fmt.Sprintf("%s/tiles=%d/in", k.ISA, tiles), func(b *testing.B) {
				for b.Loop() {
					for c := range calls {
						k.Conv.WinogradIn(v[c*tiles:], plane, pad[4*wp*c:], wp, tiles)
					}
				}
				rate(b)
			})
			b.Run(fmt.Sprintf("%s/tiles=%d/dy", k.ISA, tiles), func(b *testing.B) {
				for b.Loop() {
					for c := range calls {
						k.Conv.WinogradDy(v[c*tiles:], plane, pad[4*wp*c:], pad[4*wp*c+wp:], tiles)
					}
				}
				rate(b)
			})
			b.Run(fmt.Sprintf("%s/tiles=%d/out", k.ISA, tiles), func(b *testing.B) {
				for b.Loop() {
					for c := range calls {
						k.Conv.WinogradOut(top, bot, v[c*tiles:], plane, tiles, 0.5)
					}
				}
				rate(b)
			})
		}
	}
}
