// Package asm holds the generated assembly kernels and their Go
// declarations. Nothing here is written by hand: gen/ is the source, and
// `go generate ./...` from the repository root rewrites every file.
//
// The functions check nothing: lengths, aliasing and CPU support are the
// caller's business (package kernels does it). Use act, gemm and conv, not
// this package.
package asm

//go:generate go -C ../gen run ./act -out ../asm/act_amd64.s -stubs ../asm/act_amd64.go -pkg asm
//go:generate go -C ../gen run ./optim -out ../asm/optim_amd64.s -stubs ../asm/optim_amd64.go -pkg asm
//go:generate go -C ../gen run ./gemm -out ../asm/gemm_amd64.s -stubs ../asm/gemm_amd64.go -pkg asm
//go:generate go -C ../gen run ./conv -out ../asm/conv_amd64.s -stubs ../asm/conv_amd64.go -pkg asm
//go:generate go -C ../gen run ./cpu -out ../asm/cpu_amd64.s -stubs ../asm/cpu_amd64.go -pkg asm
//go:generate go -C ../gen run ./neon/act -out ../asm/act_arm64.s -stubs ../asm/act_arm64.go -pkg asm
//go:generate go -C ../gen run ./neon/gemm -out ../asm/gemm_arm64.s -stubs ../asm/gemm_arm64.go -pkg asm
//go:generate go -C ../gen run ./neon/optim -out ../asm/optim_arm64.s -stubs ../asm/optim_arm64.go -pkg asm
//go:generate go -C ../gen run ./neon/conv -out ../asm/conv_arm64.s -stubs ../asm/conv_arm64.go -pkg asm
