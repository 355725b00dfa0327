package gemm

import "unsafe"

// workspace holds the packing buffers of one running block loop. Buffers
// only grow, and finished calls return their workspace to a free list, so
// repeated calls of the same shapes allocate nothing.
type workspace struct {
	a, b, edge []float32
	// t holds C^T for a call computed transposed (see transposedC).
	t []float32
}

// spare holds finished calls' workspaces for the next calls.
var spare freeList[workspace]

func getWorkspace() *workspace { return spare.get() }

func putWorkspace(w *workspace) { spare.put(w) }

// cacheLine is the alignment of packed buffers: a vector load of a packed
// panel never straddles two cache lines.
const cacheLine = 64

// grow returns buf resliced to n floats, or a new cache-line-aligned
// buffer when buf is too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	raw := make([]float32, n+cacheLine/4-1)
	off := 0
	if mis := uintptr(unsafe.Pointer(unsafe.SliceData(raw))) % cacheLine; mis != 0 {
		off = int(cacheLine-mis) / 4
	}
	return raw[off : off+n : off+n]
}
