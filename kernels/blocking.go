package kernels

// GEMM's cache blocks come from the analytical model of Low, Igual, Smith
// and Quintana-Orti ("Analytical Modeling Is Enough for High-Performance
// BLIS", ACM TOMS 43(2), 2016). The model treats each cache level as W ways
// of size/W bytes each, filled in least-recently-used order, and asks of
// every level that the block it should keep survive the data streaming
// past it: the streaming data may take all ways but one beyond the block's
// own, the free way receiving the next lines while the oldest ones are
// evicted.
//
// Package gemm runs the BLIS loops with the roles of A and B exchanged (see
// Gemm), so the model applies transposed:
//
//   - L1 keeps one MR x KC micro-panel of A while the KC x NR panels of B
//     stream past it (BLIS keeps B's and streams A's). Both are KC deep, so
//     their ways are in the ratio MR:NR; KC is the depth at which B's panel
//     fills floor((W1-1)*NR/(NR+MR)) ways, leaving A's the rest but one.
//   - L2 keeps the packed KC x NC block of B while the micro-panels of A
//     stream past it: NC fills the ways left after one for A's micro-panel
//     and the free one (BLIS's MC).
//   - L3 keeps the MC x KC block of A while the KC x NC blocks of B go by:
//     MC fills the ways left after B's block and the free one (BLIS's NC).
//     Every core runs its own block of A at once, so each gets its share of
//     an L3 the cores share: the ways shrink by the number of cores on it.
//
// The two hardware threads of a core also share its L1 and L2, but the
// model is not halved for them: one thread of GEMM per core keeps the FMA
// units busy, and half-size blocks would lose the reuse they exist for.

// The bounds of the blocks, for caches the model cannot use (an unknown
// or tiny level, an L3 whose share per core is below the block of B) and
// for those so large that more buys nothing.
const (
	// A depth below minKC spends a visible share of the time loading and
	// storing C (MR*NR floats each way per KC*MR*NR multiply-adds); beyond
	// maxKC the A micro-panel and a B panel outgrow any L1.
	minKC, maxKC = 128, 1024
	// kcUnit keeps every packed micro-panel a whole number of 64-byte
	// lines (MR*kcUnit*4 bytes for even MR), so the next one starts aligned.
	kcUnit = 8
	// Fewer than minPanels panels of B per strip and the A micro-panel is
	// loaded into L1 for too little work; beyond maxNC columns the L2 of
	// any core is full.
	minPanels, maxNC = 4, 4096
	// B is packed again for each block of MC rows: below minMC rows the
	// packing is a few percent of the work. Beyond maxMC the packed A
	// buffer only grows.
	minMC, maxMC = 1024, 4096
	// assumedWays stands in for an associativity the CPU does not report.
	assumedWays = 8
)

// blocking returns the depth block KC, the rows of A packed at once MC and
// the columns of B packed at once NC for a micro-kernel of MR x NR floats
// on a CPU with caches c: the model above, KC rounded down to a multiple
// of 8, MC of mr and NC of nr, each within its bounds.
func blocking(c Caches, mr, nr int) (kc, mc, nc int) {
	const f32 = 4 // bytes per float
	ways := func(w int) int {
		if w <= 0 {
			return assumedWays
		}
		return w
	}
	ceilDiv := func(a, b int) int { return (a + b - 1) / b }

	// L1: B's panel streams through floor((W-1)*NR/(NR+MR)) ways.
	w1 := ways(c.L1DWays)
	way1 := c.L1D / w1
	streamB := (w1 - 1) * nr / (nr + mr)
	kc = streamB * way1 / (nr * f32)
	kc = clampMultiple(kc, kcUnit, minKC, maxKC)

	// L2: B's block gets what A's micro-panel and the free way leave.
	w2 := ways(c.L2Ways)
	way2 := c.L2 / w2
	keepB := 0
	if way2 > 0 {
		keepB = w2 - 1 - ceilDiv(mr*kc*f32, way2)
	}
	nc = keepB * way2 / (kc * f32)
	nc = clampMultiple(nc, nr, minPanels*nr, maxNC)

	// L3, this core's share: A's block gets what B's block and the free
	// way leave.
	cores := 1
	if c.L3Shared > 0 {
		cores = max(1, c.L3Shared/max(1, c.L1DShared))
	}
	w3 := ways(c.L3Ways)
	way3 := c.L3 / cores / w3
	keepA := 0
	if way3 > 0 {
		keepA = w3 - 1 - ceilDiv(kc*nc*f32, way3)
	}
	mc = keepA * way3 / (kc * f32)
	mc = clampMultiple(mc, mr, minMC, maxMC)
	return kc, mc, nc
}

// clampMultiple rounds x down to a multiple of unit and brings it within
// [lo, hi] rounded down to multiples of unit (lo at least unit).
func clampMultiple(x, unit, lo, hi int) int {
	lo = max(lo/unit*unit, unit)
	hi = max(hi/unit*unit, lo)
	return min(max(x/unit*unit, lo), hi)
}

// setBlocks gives g the blocks the model derives from c for its register
// tile.
func (g *Gemm) setBlocks(c Caches) {
	g.KC, g.MC, g.NC = blocking(c, g.MR, g.NR)
}
