package gemm

import (
	"sync"
	"unsafe"
)

// workspace holds the packing buffers of one running block loop. Buffers
// only grow, and finished calls return their workspace to a free list, so
// repeated calls of the same shapes allocate nothing.
type workspace struct {
	a, b, edge []float32
}

var spare struct {
	sync.Mutex
	list []*workspace
}

func getWorkspace() *workspace {
	spare.Lock()
	defer spare.Unlock()
	if n := len(spare.list); n > 0 {
		w := spare.list[n-1]
		spare.list[n-1] = nil
		spare.list = spare.list[:n-1]
		return w
	}
	return new(workspace)
}

func putWorkspace(w *workspace) {
	spare.Lock()
	spare.list = append(spare.list, w)
	spare.Unlock()
}

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
