package nn

import (
	"math"
	"math/bits"
)

// The random numbers of the trainer come from a counter-based generator:
// value i of a stream is a hash of the stream's key and i. A stream's key is
// itself a hash of the seed and of what the stream is for (a layer's
// initial weights, an epoch's order, a step's dropout masks), so no stream
// depends on how many numbers another one drew. That is what makes a resumed
// run exact: the state to save is the seed and the counters (step, epoch),
// never a generator's internal state. The generator is written out here, not
// taken from math/rand, so that a checkpoint means the same thing under
// every Go version.

// mix is the SplitMix64 finalizer: a bijection on 64 bits with full
// avalanche.
func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// golden is SplitMix64's increment: 2^64 divided by the golden ratio.
const golden = 0x9e3779b97f4a7c15

// Stream purposes, mixed into keys so that streams never coincide.
const (
	purposeInit uint64 = 1 + iota
	purposeOrder
	purposeDropout
)

// streamKey derives the key of one stream from the seed and up to three
// counters.
func streamKey(seed, purpose uint64, a, b uint64) uint64 {
	k := mix(seed + golden*purpose)
	k = mix(k ^ mix(a+golden))
	return mix(k ^ mix(b+golden+1))
}

// RNG is a stream of pseudo-random numbers: value i is mix(key + (i+1)*golden),
// SplitMix64 started at key. It is a value type; copying it forks the stream.
type RNG struct {
	key, ctr uint64
}

// NewRNG returns the stream of the given key.
func NewRNG(key uint64) RNG { return RNG{key: key} }

// Uint64 returns the next value.
func (r *RNG) Uint64() uint64 {
	r.ctr++
	return mix(r.key + r.ctr*golden)
}

// Float64 returns a value uniform in [0, 1), 53 random bits.
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) * 0x1p-53 }

// Intn returns a value uniform in [0, n) for n > 0 (Lemire's multiply-shift;
// the bias, below n/2^64, is immaterial for the sizes of data sets).
func (r *RNG) Intn(n int) int {
	hi, _ := bits.Mul64(r.Uint64(), uint64(n))
	return int(hi)
}

// Normal returns a standard normal value (Box-Muller in float64).
func (r *RNG) Normal() float64 {
	u1 := 1 - r.Float64() // (0, 1]: the log is finite
	u2 := r.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// uniform32 returns value i of the stream keyed by key as a float32 uniform
// in [0, 1) with 24 random bits, without a sequential state: dropout masks
// draw element i of a batch this way.
func uniform32(key uint64, i int) float32 {
	return float32(mix(key+uint64(i+1)*golden)>>40) * 0x1p-24
}

// Permutation writes a permutation of 0..len(perm)-1 into perm, the order of
// epoch epoch for the given seed: the same seed and epoch give the same
// order on every run, machine and Go version.
func Permutation(seed uint64, epoch int64, perm []int) {
	for i := range perm {
		perm[i] = i
	}
	r := NewRNG(streamKey(seed, purposeOrder, uint64(epoch), 0))
	for i := len(perm) - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
}
