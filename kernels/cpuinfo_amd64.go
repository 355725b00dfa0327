//go:build !purego

package kernels

import (
	"encoding/binary"
	"strings"

	"github.com/snnkit/snn/asm"
)

// readCPU asks CPUID for the model name and the caches: leaf 4 on Intel,
// leaf 0x8000001D on AMD (and Hygon) when it has the topology extensions,
// then Linux's files for what is still missing.
func readCPU() CPUInfo {
	var info CPUInfo
	maxLeaf, b, c, d := asm.CPUID(0, 0)
	vendor := string(le32(b, d, c))
	maxExt, _, _, _ := asm.CPUID(0x80000000, 0)
	if maxExt >= 0x80000004 {
		var brand []byte
		for leaf := uint32(0x80000002); leaf <= 0x80000004; leaf++ {
			a, b, c, d := asm.CPUID(leaf, 0)
			brand = append(brand, le32(a, b, c, d)...)
		}
		info.Model = strings.Join(strings.Fields(strings.TrimRight(string(brand), "\x00")), " ")
	}
	leaf := uint32(0)
	switch {
	case vendor == "AuthenticAMD" || vendor == "HygonGenuine":
		if maxExt >= 0x8000001d {
			if _, _, ecx, _ := asm.CPUID(0x80000001, 0); ecx&(1<<22) != 0 {
				leaf = 0x8000001d
			}
		}
	case maxLeaf >= 4:
		leaf = 4
	}
	if leaf != 0 {
		var levels []cacheLevel
		// Sub-leaves end with a null descriptor; 16 is far past any CPU's.
		for sub := uint32(0); sub < 16; sub++ {
			a, b, c, _ := asm.CPUID(leaf, sub)
			l, ok := decodeLeaf4(a, b, c)
			if !ok {
				break
			}
			levels = append(levels, l)
		}
		if caches, ok := cachesOf(levels); ok {
			info.Caches = caches
			info.Source = "cpuid leaf 4"
			if leaf != 4 {
				info.Source = "cpuid leaf 0x8000001d"
			}
		}
	}
	return readCPUPortable(info)
}

// le32 lays out registers as the little-endian bytes CPUID's strings are
// made of.
func le32(regs ...uint32) []byte {
	out := make([]byte, 4*len(regs))
	for i, r := range regs {
		binary.LittleEndian.PutUint32(out[4*i:], r)
	}
	return out
}
