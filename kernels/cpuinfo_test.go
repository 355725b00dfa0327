package kernels

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
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

// zen3 is the AMD EPYC Zen 3 of cpuDescriptors as SNN_CACHES spells it.
const zen3 = "l1d=32K:8:2,l2=512K:8:2,l3=32M:16:16"

// TestEnvCaches checks SNN_CACHES: every level replaced (the VM made a
// Zen 3), some levels only, sizes, ways and sharing given or kept, and
// the malformed values, each refused with what is wrong in it.
func TestEnvCaches(t *testing.T) {
	vm := CPUInfo{Model: "test", Caches: vmCaches, Source: "sysfs"}
	ok := []struct {
		name, spec string
		want       Caches
	}{
		{"nothing", "", vmCaches},
		{"Zen 3 on this VM", zen3, cpuDescriptors["AMD EPYC Zen 3"].want},
		{"L2 only, ways and sharing kept", "l2=1M", func() Caches { c := vmCaches; c.L2 = 1 << 20; return c }()},
		{"L1d with its ways; case and spaces", " L1D = 32k:8 ", func() Caches { c := vmCaches; c.L1D, c.L1DWays = 32<<10, 8; return c }()},
		{"L3 shared by 8", "l3=6M:12:8", func() Caches { c := vmCaches; c.L3, c.L3Ways, c.L3Shared = 6<<20, 12, 8; return c }()},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := withEnvCaches(vm, tc.spec)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Caches)
			assert.Equal(t, "test", got.Model)
			if tc.spec == "" {
				assert.Equal(t, "sysfs", got.Source)
			} else {
				assert.Equal(t, "sysfs, SNN_CACHES", got.Source)
			}
		})
	}
	bad := []struct{ spec, err string }{
		{"l2", `"l2" has no '='`},
		{"l4=8M", `"l4" is not a cache level`},
		{"l2=512K,l2=1M", "l2 is given twice"},
		{"l2=lots", `l2 size "lots" is not a size of at least 1K`},
		{"l2=0K", `l2 size "0K" is not a size of at least 1K`},
		{"l2=512", `l2 size "512" is not a size of at least 1K`},
		{"l2=512K:0", `l2 ways "0" is not a positive whole number`},
		{"l3=32M:16:x", `l3 shared "x" is not a positive whole number`},
		{"l1d=32K:8:2:1", "l1d has 4 fields, at most 3"},
		{"l2=512K,", `"" has no '='`},
	}
	for _, tc := range bad {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := withEnvCaches(vm, tc.spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "SNN_CACHES=")
			assert.Contains(t, err.Error(), tc.err)
			assert.Equal(t, vm, got, "nothing replaced")
		})
	}
}

// TestEnvCachesAtStartUp runs this test binary again with SNN_CACHES set:
// CPU() and every set's GEMM blocks follow it from the start, and a
// malformed value stops the process at start-up, naming the variable.
func TestEnvCachesAtStartUp(t *testing.T) {
	if os.Getenv("SNN_TEST_CACHES_CHILD") != "" {
		c := CPU()
		require.Equal(t, cpuDescriptors["AMD EPYC Zen 3"].want, c.Caches)
		require.Contains(t, c.Source, EnvCaches)
		for _, s := range Sets() {
			kc, mc, nc := blocking(c.Caches, s.Gemm.MR, s.Gemm.NR)
			require.Equal(t, blocks{kc, mc, nc}, blocks{s.Gemm.KC, s.Gemm.MC, s.Gemm.NC}, s.ISA)
		}
		return
	}
	if testing.Short() {
		t.Skip("starts the test binary twice")
	}
	run := func(spec string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestEnvCachesAtStartUp$", "-test.count", "1")
		cmd.Env = append(os.Environ(), "SNN_TEST_CACHES_CHILD=1", EnvCaches+"="+spec)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(zen3)
	if errors.Is(err, syscall.ENOEXEC) {
		// Under qemu-user (go test -exec) the binary is another
		// architecture's, which this kernel cannot start by itself.
		t.Skipf("cannot start this test binary again here: %v", err)
	}
	require.NoError(t, err, out)
	assert.Contains(t, out, "PASS")
	out, err = run("l2=512")
	require.Error(t, err)
	assert.Contains(t, out, `SNN_CACHES="l2=512"`)
}
