//go:build linux

package testkit

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Guarded returns a slice of n float32 whose last element ends exactly at an
// inaccessible page, and a second slice of n float32 whose first element
// starts exactly after one. Any read or write past either end faults. The
// memory is released when the test ends.
func Guarded(t testing.TB, n int) (endsAtGuard, startsAfterGuard []float32) {
	t.Helper()
	return guardedEnd(t, n), guardedStart(t, n)
}

func pages(n int) int {
	ps := unix.Getpagesize()
	return (4*n + ps - 1) / ps * ps
}

// EnvEmulated, set to 1, says the tests run under an emulator (Debian 12's
// qemu-x86_64) that faults on the masked-off lanes of VMASKMOVPS and
// VPMASKMOVD, which real CPUs suppress. The guard pages then move one page
// away from the buffers: the run still checks every result, but no longer
// that nothing outside the buffers is touched.
const EnvEmulated = "SNN_TEST_EMULATED"

var emulated = os.Getenv(EnvEmulated) == "1"

// mapGuarded maps body bytes of accessible memory between two
// inaccessible pages and returns the whole mapping; the accessible region
// is mem[pagesize : pagesize+body].
func mapGuarded(t testing.TB, body int) []byte {
	ps := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, body+2*ps, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = unix.Munmap(mem) })
	if emulated {
		if err := unix.Mprotect(mem, unix.PROT_READ|unix.PROT_WRITE); err != nil {
			t.Fatalf("mprotect: %v", err)
		}
		return mem
	}
	if body > 0 {
		if err := unix.Mprotect(mem[ps:ps+body], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			t.Fatalf("mprotect: %v", err)
		}
	}
	return mem
}

// at returns an n-float slice starting at byte off of mem. For n = 0 it
// still points into the mapping, at off, so that a kernel which reads
// through an empty slice faults on the guard page instead of reading
// whatever the Go allocator left at a zero-size pointer.
func at(mem []byte, off, n int) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(&mem[off])), n)
}

// guardedEnd ends at the trailing guard page (an empty one starts on it).
func guardedEnd(t testing.TB, n int) []float32 {
	body := pages(n)
	mem := mapGuarded(t, body)
	ps := unix.Getpagesize()
	return at(mem, ps+body-4*n, n)
}

// guardedStart starts right after the leading guard page (an empty one
// points at the trailing guard page, as nothing is mapped between).
func guardedStart(t testing.TB, n int) []float32 {
	body := pages(n)
	mem := mapGuarded(t, body)
	return at(mem, unix.Getpagesize(), n)
}
