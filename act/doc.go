// Package act holds snn's activations and element-wise layers on whole
// float32 slices, and the reductions behind weight centralization.
//
// Every function runs on the kernels of kernels.Active(): AVX-512, AVX2 or
// NEON assembly where the CPU has it, pure Go otherwise. Arguments are
// checked in Go first; misuse panics with a message naming the arguments.
package act

import "github.com/snnkit/snn/kernels"

// active is the kernel set chosen once at start-up.
var active = kernels.Active()
