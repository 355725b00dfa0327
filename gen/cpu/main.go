// Command cpu generates the amd64 assembly that asks the CPU about itself
// (package asm): CPUID, for the model name and the cache sizes that the
// dispatch and GEMM's blocking read. Feature flags come from
// golang.org/x/sys/cpu, which also checks what the operating system saves.
//
// Run through `go generate ./...` from the repository root; see asm/gen.go.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	TEXT("CPUID", NOSPLIT, "func(leaf, sub uint32) (eax, ebx, ecx, edx uint32)")
	Doc("CPUID runs the CPUID instruction with EAX = leaf and ECX = sub.")
	Load(Param("leaf"), reg.EAX)
	Load(Param("sub"), reg.ECX)
	CPUID()
	Store(reg.EAX, Return("eax"))
	Store(reg.EBX, Return("ebx"))
	Store(reg.ECX, Return("ecx"))
	Store(reg.EDX, Return("edx"))
	RET()
	Generate()
}
