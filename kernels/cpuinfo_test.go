package kernels

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// descriptor encodes one CPUID leaf 4 / 0x8000001D cache descriptor.
func descriptor(typ, level, shared, line, parts, ways, sets uint32) [3]uint32 {
	return [3]uint32{typ | level<<5 | (shared-1)<<14, (line - 1) | (parts-1)<<12 | (ways-1)<<22, sets - 1}
}

// The CPUs the blocking is tested on, as their CPUID descriptors list
// their caches (geometry from the vendors' manuals).
var cpuDescriptors = map[string]struct {
	leaves [][3]uint32
	want   Caches
}{
	"AMD EPYC Zen 3": {
		leaves: [][3]uint32{
			descriptor(1, 1, 2, 64, 1, 8, 64),      // L1d 32 KiB
			descriptor(2, 1, 2, 64, 1, 8, 64),      // L1i
			descriptor(3, 2, 2, 64, 1, 8, 1024),    // L2 512 KiB
			descriptor(3, 3, 16, 64, 1, 16, 32768), // L3 32 MiB, one CCX
		},
		want: Caches{L1D: 32 << 10, L2: 512 << 10, L3: 32 << 20, L1DShared: 2, L2Shared: 2, L3Shared: 16, L1DWays: 8, L2Ways: 8, L3Ways: 16, Line: 64},
	},
	"Intel Xeon Sapphire Rapids": {
		leaves: [][3]uint32{
			descriptor(1, 1, 2, 64, 1, 12, 64),       // L1d 48 KiB
			descriptor(2, 1, 2, 64, 1, 8, 64),        // L1i
			descriptor(3, 2, 2, 64, 1, 16, 2048),     // L2 2 MiB
			descriptor(3, 3, 128, 64, 1, 15, 114688), // L3 105 MiB
		},
		want: Caches{L1D: 48 << 10, L2: 2 << 20, L3: 105 << 20, L1DShared: 2, L2Shared: 2, L3Shared: 128, L1DWays: 12, L2Ways: 16, L3Ways: 15, Line: 64},
	},
	"AMD EPYC Zen 4": {
		leaves: [][3]uint32{
			descriptor(1, 1, 2, 64, 1, 8, 64),
			descriptor(2, 1, 2, 64, 1, 8, 64),
			descriptor(3, 2, 2, 64, 1, 8, 2048), // L2 1 MiB
			descriptor(3, 3, 16, 64, 1, 16, 32768),
		},
		want: Caches{L1D: 32 << 10, L2: 1 << 20, L3: 32 << 20, L1DShared: 2, L2Shared: 2, L3Shared: 16, L1DWays: 8, L2Ways: 8, L3Ways: 16, Line: 64},
	},
	"Intel Core 4-core client": {
		leaves: [][3]uint32{
			descriptor(1, 1, 2, 64, 1, 8, 64),
			descriptor(2, 1, 2, 64, 1, 8, 64),
			descriptor(3, 2, 2, 64, 1, 4, 1024),  // L2 256 KiB
			descriptor(3, 3, 8, 64, 1, 12, 8192), // L3 6 MiB
		},
		want: Caches{L1D: 32 << 10, L2: 256 << 10, L3: 6 << 20, L1DShared: 2, L2Shared: 2, L3Shared: 8, L1DWays: 8, L2Ways: 4, L3Ways: 12, Line: 64},
	},
}

// vmCaches is what sysfs lists on the machine snn is developed on (a
// 2-vCPU slice of a Sapphire Rapids host).
var vmCaches = Caches{L1D: 48 << 10, L2: 2 << 20, L3: 480 << 20, L1DShared: 1, L2Shared: 1, L3Shared: 2, L1DWays: 12, L2Ways: 16, L3Ways: 16, Line: 64}

func TestCachesFromCPUID(t *testing.T) {
	for name, tc := range cpuDescriptors {
		t.Run(name, func(t *testing.T) {
			var levels []cacheLevel
			// A null descriptor ends the list; what follows is ignored.
			for _, l := range append(tc.leaves, [3]uint32{}, descriptor(1, 1, 1, 64, 1, 1, 1)) {
				lv, ok := decodeLeaf4(l[0], l[1], l[2])
				if !ok {
					break
				}
				levels = append(levels, lv)
			}
			got, ok := cachesOf(levels)
			require.True(t, ok)
			assert.Equal(t, tc.want, got)
		})
	}
	_, ok := cachesOf(nil)
	assert.False(t, ok, "no descriptors, no caches")
	_, ok = cachesOf([]cacheLevel{{level: 1, data: false, size: 32 << 10}, {level: 2, data: true, size: 1 << 20}})
	assert.False(t, ok, "an instruction cache is not an L1d")
}

func TestSysfsCaches(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]map[string]string // index -> file -> content
		want  Caches
		ok    bool
	}{
		{name: "this VM's layout", ok: true,
			files: map[string]map[string]string{
				"index0": {"level": "1", "type": "Data", "size": "48K", "shared_cpu_list": "0", "coherency_line_size": "64", "ways_of_associativity": "12"},
				"index1": {"level": "1", "type": "Instruction", "size": "64K", "shared_cpu_list": "0", "ways_of_associativity": "16"},
				"index2": {"level": "2", "type": "Unified", "size": "2048K", "shared_cpu_list": "0", "ways_of_associativity": "16"},
				"index3": {"level": "3", "type": "Unified", "size": "491520K", "shared_cpu_list": "0-1", "ways_of_associativity": "16"},
			},
			want: vmCaches},
		{name: "Zen 3 with SMT", ok: true,
			files: map[string]map[string]string{
				"index0": {"level": "1", "type": "Data", "size": "32K", "shared_cpu_list": "0,16", "coherency_line_size": "64", "ways_of_associativity": "8"},
				"index2": {"level": "2", "type": "Unified", "size": "512K", "shared_cpu_list": "0,16"},
				"index3": {"level": "3", "type": "Unified", "size": "32M", "shared_cpu_list": "0-7,16-23", "ways_of_associativity": "16"},
			},
			want: Caches{L1D: 32 << 10, L2: 512 << 10, L3: 32 << 20, L1DShared: 2, L2Shared: 2, L3Shared: 16, L1DWays: 8, L3Ways: 16, Line: 64}},
		{name: "no L2", files: map[string]map[string]string{
			"index0": {"level": "1", "type": "Data", "size": "32K"},
		}},
		{name: "unreadable sizes", files: map[string]map[string]string{
			"index0": {"level": "1", "type": "Data", "size": "lots"},
			"index2": {"level": "2", "type": "Unified", "size": "-5K"},
		}},
		{name: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for idx, files := range tc.files {
				require.NoError(t, os.MkdirAll(filepath.Join(root, idx), 0o755))
				for f, content := range files {
					require.NoError(t, os.WriteFile(filepath.Join(root, idx, f), []byte(content+"\n"), 0o644))
				}
			}
			got, ok := sysfsCaches(root)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCPUListAndModel(t *testing.T) {
	for list, n := range map[string]int{"0": 1, "0-1": 2, "0,16": 2, "0-7,16-23": 16, "": 0, "3-1": 0} {
		assert.Equal(t, n, countCPUs(list), list)
	}
	assert.Equal(t, "AMD EPYC 7B13 64-Core Processor",
		procModel("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\nflags\t: fpu\n"))
	assert.Equal(t, "", procModel("processor : 0\nCPU part : 0xd0c\n"))
}

// TestCPU checks what this machine reports is usable, whatever its source.
func TestCPU(t *testing.T) {
	c := CPU()
	t.Logf("%s: %+v (%s)", c.Model, c.Caches, c.Source)
	assert.NotEmpty(t, c.Source)
	assert.GreaterOrEqual(t, c.Caches.L1D, 4<<10)
	assert.GreaterOrEqual(t, c.Caches.L2, c.Caches.L1D)
	assert.Positive(t, c.Caches.Line)
}

// TestL2PerCore checks a core's share of L2 on the CPUs of cpuDescriptors
// (private L2s, shared by the two threads of a core) and on L2s that
// clusters of cores share.
func TestL2PerCore(t *testing.T) {
	for name, d := range cpuDescriptors {
		assert.Equal(t, d.want.L2, d.want.L2PerCore(), name)
	}
	cases := []struct {
		name string
		c    Caches
		want int
	}{
		{"four cores, one thread each", Caches{L2: 2 << 20, L1DShared: 1, L2Shared: 4}, 512 << 10},
		{"two cores, two threads each", Caches{L2: 2 << 20, L1DShared: 2, L2Shared: 4}, 1 << 20},
		{"sharing unknown", Caches{L2: 1 << 20}, 1 << 20},
		{"this VM", vmCaches, 2 << 20},
		{"nothing known", Caches{}, 0},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tc.c.L2PerCore(), tc.name)
	}
}
