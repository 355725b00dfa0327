package kernels

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Caches is the data cache hierarchy as one core sees it. Sizes are in
// bytes and 0 when unknown; Shared counts the logical CPUs that share one
// instance of that level (1 for a private cache); Ways is the
// associativity (0 when unknown).
type Caches struct {
	L1D, L2, L3                   int
	L1DShared, L2Shared, L3Shared int
	L1DWays, L2Ways, L3Ways       int
	// Line is the cache line size in bytes.
	Line int
}

// L2PerCore is one core's share of L2 in bytes: the whole of a private
// L2, a part of one that a cluster of cores shares (Shared counts logical
// CPUs, so the hardware threads of a core count as one).
func (c Caches) L2PerCore() int {
	if cores := c.L2Shared / max(1, c.L1DShared); cores > 1 {
		return c.L2 / cores
	}
	return c.L2
}

// CPUInfo is what snn knows of the processor it runs on.
type CPUInfo struct {
	// Model is the processor's name as it reports it, e.g. "AMD EPYC 7B13".
	Model  string
	Caches Caches
	// Source says where Caches came from: "cpuid leaf 4", "cpuid leaf
	// 0x8000001d", "sysfs", or "assumed" when nothing could be read,
	// followed by ", SNN_CACHES" when that variable replaced some levels.
	Source string
}

// EnvCaches is the environment variable that replaces the caches the CPU
// reports, level by level: "l1d=32K:8,l2=512K:8:2,l3=32M:16:16" gives
// each level's size, then optionally its ways and how many logical CPUs
// share it; levels not named keep what was read. For hypervisors that
// report caches the core does not have, and to see what another CPU's
// blocks do here. The cache blocks decide where sums are split, so the
// last bits of results may change with it.
const EnvCaches = "SNN_CACHES"

var cpuInfo = sync.OnceValue(func() CPUInfo {
	info, err := withEnvCaches(readCPU(), os.Getenv(EnvCaches))
	if err != nil {
		panic(err)
	}
	return info
})

// CPU describes this processor, read once. GEMM derives its cache blocks
// from CPU().Caches, and so does conv its chunks. A malformed SNN_CACHES
// is a panic at the first call, which package initialization makes.
func CPU() CPUInfo { return cpuInfo() }

// withEnvCaches returns info with the levels spec names replaced (see
// EnvCaches); an empty spec changes nothing.
func withEnvCaches(info CPUInfo, spec string) (CPUInfo, error) {
	if spec == "" {
		return info, nil
	}
	fail := func(format string, a ...any) (CPUInfo, error) {
		return info, fmt.Errorf("snn/kernels: %s=%q: %s; the form is l1d=SIZE[:WAYS[:SHARED]],l2=...,l3=..., e.g. l1d=32K:8,l2=512K:8,l3=32M:16:16",
			EnvCaches, spec, fmt.Sprintf(format, a...))
	}
	c := info.Caches
	seen := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok {
			return fail("%q has no '='", item)
		}
		var size, ways, shared *int
		switch key {
		case "l1d":
			size, ways, shared = &c.L1D, &c.L1DWays, &c.L1DShared
		case "l2":
			size, ways, shared = &c.L2, &c.L2Ways, &c.L2Shared
		case "l3":
			size, ways, shared = &c.L3, &c.L3Ways, &c.L3Shared
		default:
			return fail("%q is not a cache level (l1d, l2, l3)", key)
		}
		if seen[key] {
			return fail("%s is given twice", key)
		}
		seen[key] = true
		fields := strings.Split(val, ":")
		if len(fields) > 3 {
			return fail("%s has %d fields, at most 3 (size, ways, shared)", key, len(fields))
		}
		// No data cache is smaller than 1 KiB: "l2=512" forgot its unit.
		if *size = parseSize(strings.ToUpper(strings.TrimSpace(fields[0]))); *size < 1<<10 {
			return fail("%s size %q is not a size of at least 1K, such as 48K or 2M", key, fields[0])
		}
		for i, dst := range []*int{ways, shared}[:len(fields)-1] {
			n, err := strconv.Atoi(strings.TrimSpace(fields[i+1]))
			if err != nil || n <= 0 {
				return fail("%s %s %q is not a positive whole number", key, []string{"ways", "shared"}[i], fields[i+1])
			}
			*dst = n
		}
		*shared = max(*shared, 1)
	}
	info.Caches = c
	info.Source += ", " + EnvCaches
	return info, nil
}

// assumedCaches stand in when the CPU and the system tell nothing: small
// enough for any core of the last decade.
var assumedCaches = Caches{L1D: 32 << 10, L2: 256 << 10, L1DShared: 1, L2Shared: 1, L1DWays: 8, L2Ways: 4, Line: 64}

// cacheLevel is one cache as a CPUID descriptor or sysfs lists it.
type cacheLevel struct {
	level  int
	data   bool // a data or unified cache (not instructions only)
	size   int
	shared int
	line   int
	ways   int
}

// cachesOf keeps the data caches of levels 1-3 from a list of descriptors.
func cachesOf(levels []cacheLevel) (Caches, bool) {
	var c Caches
	for _, l := range levels {
		if !l.data || l.size <= 0 {
			continue
		}
		shared := max(l.shared, 1)
		switch l.level {
		case 1:
			c.L1D, c.L1DShared, c.L1DWays = l.size, shared, l.ways
			if l.line > 0 {
				c.Line = l.line
			}
		case 2:
			c.L2, c.L2Shared, c.L2Ways = l.size, shared, l.ways
		case 3:
			c.L3, c.L3Shared, c.L3Ways = l.size, shared, l.ways
		}
	}
	if c.L1D == 0 || c.L2 == 0 {
		return Caches{}, false
	}
	if c.Line == 0 {
		c.Line = 64
	}
	return c, true
}

// decodeLeaf4 reads one deterministic cache descriptor, the format of
// Intel's CPUID leaf 4 and AMD's 0x8000001D: EAX bits 4-0 the type (0
// none, 1 data, 2 instruction, 3 unified), bits 7-5 the level, bits 25-14
// the logical CPUs sharing it minus 1; EBX the line size, partitions and
// ways, each minus 1 (bits 11-0, 21-12, 31-22); ECX the sets minus 1.
func decodeLeaf4(eax, ebx, ecx uint32) (cacheLevel, bool) {
	typ := eax & 0x1f
	if typ == 0 {
		return cacheLevel{}, false
	}
	line := int(ebx&0xfff) + 1
	parts := int(ebx>>12&0x3ff) + 1
	ways := int(ebx>>22) + 1
	sets := int(ecx) + 1
	return cacheLevel{
		level:  int(eax >> 5 & 7),
		data:   typ == 1 || typ == 3,
		size:   line * parts * ways * sets,
		shared: int(eax>>14&0xfff) + 1,
		line:   line,
		ways:   ways,
	}, true
}

// sysfsCaches reads the caches of cpu0 from a Linux sysfs tree rooted at
// root ("/sys/devices/system/cpu/cpu0/cache").
func sysfsCaches(root string) (Caches, bool) {
	dirs, _ := filepath.Glob(filepath.Join(root, "index*"))
	var levels []cacheLevel
	for _, d := range dirs {
		read := func(name string) string {
			b, err := os.ReadFile(filepath.Join(d, name))
			if err != nil {
				return ""
			}
			return strings.TrimSpace(string(b))
		}
		level, err := strconv.Atoi(read("level"))
		if err != nil {
			continue
		}
		typ := read("type")
		size := parseSize(read("size"))
		line, _ := strconv.Atoi(read("coherency_line_size"))
		ways, _ := strconv.Atoi(read("ways_of_associativity"))
		levels = append(levels, cacheLevel{
			level:  level,
			data:   typ == "Data" || typ == "Unified",
			size:   size,
			shared: countCPUs(read("shared_cpu_list")),
			line:   line,
			ways:   max(ways, 0),
		})
	}
	return cachesOf(levels)
}

// parseSize reads sysfs sizes such as "48K", "2048K" or "32M".
func parseSize(s string) int {
	mult := 1
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n * mult
}

// countCPUs counts the CPUs of a sysfs list such as "0-3,8-11" or "5".
func countCPUs(list string) int {
	n := 0
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		if !isRange {
			n++
			continue
		}
		if b, err := strconv.Atoi(hi); err == nil && b >= a {
			n += b - a + 1
		}
	}
	return n
}

// procModel is the "model name" line of a /proc/cpuinfo text.
func procModel(cpuinfo string) string {
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// readCPUPortable fills what readCPU's CPUID path could not, from Linux's
// files, and falls back to assumedCaches.
func readCPUPortable(info CPUInfo) CPUInfo {
	if info.Model == "" {
		if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
			info.Model = procModel(string(b))
		}
	}
	if info.Source == "" {
		if c, ok := sysfsCaches("/sys/devices/system/cpu/cpu0/cache"); ok {
			info.Caches, info.Source = c, "sysfs"
		} else {
			info.Caches, info.Source = assumedCaches, "assumed"
		}
	}
	return info
}
