//go:build !purego

package kernels

import "github.com/snnkit/snn/asm"

// convNEON wraps the assembly in checkedConv, which checks every length
// and index range in Go before the assembly, which trusts them, runs.
// Unpack has no NEON version yet: the Go one runs.
func convNEON() Conv { return checkedConv(asm.ShiftNEON, asm.GatherNEON, asm.Pool2NEON, nil) }
