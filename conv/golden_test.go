package conv

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/require"
)

// goldenCases reach every way a call can run: im2col and implicit forward
// passes, single images and batched, bias as a row of ones and as the
// tiles' start, backward by blocks with ordered and deferred sums, the
// weight gradient of a one-block batch by chunks, the backward data pass
// as a transposed convolution (filters flipped) and by col2im, with and
// without fused activations.
var goldenCases = []struct {
	g   Geometry
	n   int
	lim limits
}{
	{Same(3, 20, 18, 8, 3, 1), 7, testLimits[1]},
	{Same(8, 5, 5, 16, 3, 1), 32, testLimits[2]},
	{Same(1, 28, 28, 8, 3, 1), 32, recordedLimits},
	{Same(4, 9, 9, 6, 5, 2), 13, testLimits[2]},
	{Same(16, 12, 12, 8, 3, 1), 9, testLimits[2]},
	{Same(3, 5, 64, 4, 3, 1), 4, recordedLimits},
	{Same(20, 4, 5, 3, 3, 1), 3, recordedLimits},
	{Same(2, 3, 4, 40, 3, 1), 7, recordedLimits},
	{Same(24, 7, 7, 32, 3, 1), 16, recordedLimits},
	{Same(4, 30, 40, 6, 3, 1), 2, recordedLimits},
	{Same(4, 30, 40, 6, 3, 1), 2, testLimits[3]},
	{Same(8, 5, 5, 16, 3, 1), 32, testLimits[4]},
}

// goldenHash runs every pass of Conv2D on the case with the active kernel
// set and returns a hash of the bits of every output.
func goldenHash(t *testing.T, i int) uint64 {
	tc := goldenCases[i]
	c, err := New(tc.g)
	require.NoError(t, err)
	c.d.ks = recordedBlocks(t)
	c.lim = tc.lim
	c.lim.winograd = winogradNever // the hashes are the direct passes'
	c.SetThreads(2)
	out := results(t, c, tc.n, uint64(100+i))
	g := tc.g
	r := testkit.Rand(uint64(200 + i))
	x := testkit.Uniform(r, tc.n*g.InSize(), -2, 2)
	w := testkit.Uniform(r, g.WeightSize(), -1, 1)
	b := testkit.Uniform(r, g.OutC, -1, 1)
	for _, a := range []Activation{SELU, ReLU} {
		y := make([]float32, tc.n*g.OutSize())
		c.ForwardAct(tc.n, x, w, b, y, a)
		dx := make([]float32, len(x))
		dw := make([]float32, len(w))
		db := make([]float32, len(b))
		c.BackwardAct(tc.n, x, w, y, dx, dw, db, a)
		dx2 := make([]float32, len(x))
		c.BackwardAct(tc.n, x, w, y, dx2, nil, nil, a)
		out = append(out, y, dx, dw, db, dx2)
	}
	h := fnv.New64a()
	var buf [4]byte
	for _, s := range out {
		for _, v := range s {
			bits := math.Float32bits(v)
			buf[0], buf[1], buf[2], buf[3] = byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24)
			h.Write(buf[:])
		}
	}
	return h.Sum64()
}

// recordedLimits are the limits every case of defaultLimits had when
// goldenHashes were recorded: those of a 2 MiB L2. The chunk budget is now
// derived from the CPU's L2 (limitsFor), and chunks decide where the sums
// over a column's rows are split.
var recordedLimits = limits{
	tileCols:      1024,
	groupBelow:    512,
	budget:        1 << 18,
	minRows:       32,
	blockCols:     2048,
	minBlockCols:  128,
	implicitOW:    24,
	batchCols:     2048,
	batchOut:      1 << 18,
	winogradTiles: 512,
}

// recordedBlocks returns the active kernel set with the GEMM cache blocks
// every set had when goldenHashes were recorded. Each set now derives them
// from the caches of the CPU it runs on (kernels.CPU), and KC decides where
// the sums over k are split, so without this the hashes would hold on one
// kind of CPU only.
func recordedBlocks(t *testing.T) *kernels.Set {
	blocks := map[string][3]int{
		kernels.AVX512:  {512, 3072, 480},
		kernels.AVX2:    {512, 3072, 480},
		kernels.Generic: {256, 512, 1024},
		kernels.NEON:    {256, 1024, 336},
	}
	ks := *kernels.Active()
	b, ok := blocks[ks.ISA]
	require.True(t, ok, "no recorded blocks for %s", ks.ISA)
	ks.Gemm.KC, ks.Gemm.MC, ks.Gemm.NC = b[0], b[1], b[2]
	return &ks
}

// goldenHashes are goldenHash's values from the layer as it was before the
// code was split into a planner and strategies, for each kernel set; the
// results of every set must not change. The pure-Go kernels give other
// bits where the compiler fuses a*b+c into one rounding (arm64, or amd64
// with GOAMD64=v3) than where it does not.
var goldenHashes = map[string][]uint64{
	"avx512":          {0xaca19d73e2637fd, 0x742dff88c7525502, 0x956413ab95b3669e, 0x6f2241bc7450006a, 0x56139f5047348474, 0x87f9ed53ae00a2bc, 0x8c71e2f072d0f144, 0x414b80411d9443cb, 0x46c88bc0edf35779, 0xca5f522856bfa3b5, 0xd2c94c4ee1a700a3, 0x879e60d2e72b60c7},
	"avx2":            {0xaca19d73e2637fd, 0x742dff88c7525502, 0x956413ab95b3669e, 0x6f2241bc7450006a, 0x56139f5047348474, 0x87f9ed53ae00a2bc, 0x8c71e2f072d0f144, 0x414b80411d9443cb, 0x46c88bc0edf35779, 0xca5f522856bfa3b5, 0xd2c94c4ee1a700a3, 0x879e60d2e72b60c7},
	"generic/unfused": {0x7929a247b0670730, 0xc3f0a59d45f9d186, 0x302f06ef74843d5a, 0xf15f18fbe4a44373, 0x6ffa3797e81d3038, 0xc6629f0ed4745e60, 0xf2a8777ece56724d, 0xd576a30769f205da, 0xd8964afde325afef, 0x60163d1806764f19, 0x6ccd5f0026f7730c, 0xe0f6ef3c8eeee44b},
	"neon":            {0xaca19d73e2637fd, 0x742dff88c7525502, 0x1b708bf1bbda6c51, 0x6f2241bc7450006a, 0x56139f5047348474, 0x796c901ed434ede5, 0x8c71e2f072d0f144, 0xb0cdefcec2af6d3c, 0x9a5f3fafb5211662, 0x404f49304316e99e, 0xd2c94c4ee1a700a3, 0x879e60d2e72b60c7},
	"generic/fused":   {0xaca19d73e2637fd, 0x742dff88c7525502, 0x1b708bf1bbda6c51, 0x6f2241bc7450006a, 0x56139f5047348474, 0x796c901ed434ede5, 0x8c71e2f072d0f144, 0xb0cdefcec2af6d3c, 0x9a5f3fafb5211662, 0x404f49304316e99e, 0xd2c94c4ee1a700a3, 0x879e60d2e72b60c7},
}

// fmaOperands are variables, so that the compiler cannot fold fuses'
// arithmetic at compile time.
var fmaOperands = [3]float32{1 + 1.0/(1<<12), 1 + 1.0/(1<<12), -(1 + 1.0/(1<<11))}

// fuses reports whether this build computes a float32 a*b+c, on values
// in registers as in the pure-Go kernels' loops, in one rounding:
// (1+2^-12)^2 - (1+2^-11) is 2^-24 exactly, and 0 when the product is
// rounded first (to even, 1+2^-11).
func fuses() bool { return mulAdd(fmaOperands[0], fmaOperands[1], fmaOperands[2]) != 0 }

//go:noinline
func mulAdd(a, b, c float32) float32 { return a*b + c }

// TestGolden checks that the outputs of every path are the same bits as
// before the code was reorganized. SNN_GOLDEN=print prints the hashes.
func TestGolden(t *testing.T) {
	isa := kernels.Active().ISA
	if isa == "generic" {
		isa += map[bool]string{false: "/unfused", true: "/fused"}[fuses()]
	}
	if os.Getenv("SNN_GOLDEN") == "print" {
		fmt.Printf("%q: {", isa)
		for i := range goldenCases {
			fmt.Printf("%#x, ", goldenHash(t, i))
		}
		fmt.Println("},")
		return
	}
	want, ok := goldenHashes[isa]
	if !ok {
		t.Skipf("no hashes recorded for %s", isa)
	}
	require.Len(t, want, len(goldenCases))
	for i, tc := range goldenCases {
		require.Equal(t, want[i], goldenHash(t, i), "%v n=%d", tc.g, tc.n)
	}
}
