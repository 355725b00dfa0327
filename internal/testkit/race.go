//go:build race

package testkit

// RaceEnabled says the race detector is on: tests that count allocations
// or time skip themselves, as it allocates and slows everything.
const RaceEnabled = true
