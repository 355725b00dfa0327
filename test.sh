#!/usr/bin/env bash
# Runs every check snn's CI runs: formatting, vet, staticcheck, regeneration,
# and the tests on every kernel path this machine can execute (AVX-512,
# AVX2, pure Go, the purego build, the race detector, and arm64 under
# qemu-user). With SNN_CI=1 a path that cannot run here is a failure;
# otherwise it is skipped with a notice.
set -euo pipefail
cd "$(dirname "$0")"

ci=${SNN_CI:-0}
step() { printf '\n== %s\n' "$*"; }
skip() {
	if [ "$ci" = 1 ]; then
		echo "FAIL: $*" >&2
		exit 1
	fi
	echo "skipped: $*"
}
has_flag() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }

step "gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then
	echo "gofmt would change:" >&2
	echo "$bad" >&2
	exit 1
fi

step "go vet (amd64, arm64, purego)"
go vet ./...
go vet -tags purego ./...
GOARCH=arm64 go vet ./...
GOARCH=arm64 go vet -tags purego ./...
(cd gen && go vet ./...)

step "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
(cd gen && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...)

step "go generate leaves the tree unchanged"
if git rev-parse --git-dir >/dev/null 2>&1; then
	go generate ./...
	if ! git diff --exit-code --stat; then
		echo "go generate changed generated files: commit the regenerated assembly" >&2
		exit 1
	fi
else
	skip "not a git checkout, cannot compare regenerated files"
fi

run_isa() {
	local isa=$1
	step "go test, SNN_ISA=$isa"
	# -count=1: SNN_ISA is read at package init, before the test cache
	# starts watching the environment, so cached results would be reused
	# across ISAs.
	SNN_ISA=$isa SNN_REQUIRE_ISA=$isa go test -count=1 ./...
}

if has_flag avx512f && has_flag avx512vl && has_flag avx512bw && has_flag avx512dq; then
	run_isa avx512
else
	skip "this CPU has no AVX-512"
fi
if has_flag avx2 && has_flag fma; then
	run_isa avx2
else
	skip "this CPU has no AVX2+FMA"
fi
run_isa generic

step "go test -tags purego"
SNN_REQUIRE_ISA=generic go test -tags purego ./...

step "go test -race (packages that start goroutines)"
race_pkgs=$(go list ./... | grep -E '/(gemm|conv|net|cmd/snn)(/|$)' || true)
if [ -n "$race_pkgs" ]; then
	go test -race -short $race_pkgs
fi

step "NEON emitter encodings against binutils"
if command -v aarch64-linux-gnu-as >/dev/null 2>&1; then
	(cd gen && go test ./neon/...)
else
	skip "aarch64-linux-gnu-as is not installed (apt-get install binutils-aarch64-linux-gnu)"
fi

step "arm64 under qemu-aarch64 (NEON, then generic)"
if command -v qemu-aarch64 >/dev/null 2>&1; then
	SNN_ISA=neon SNN_REQUIRE_ISA=neon GOARCH=arm64 go test -count=1 -exec qemu-aarch64 ./...
	# The generic twins already ran natively; this run checks the arm64
	# build and dispatch of the fallback, so the short set is enough.
	SNN_ISA=generic SNN_REQUIRE_ISA=generic GOARCH=arm64 go test -count=1 -short -exec qemu-aarch64 ./...
else
	skip "qemu-aarch64 is not installed (apt-get install qemu-user)"
fi

step "all checks passed"
