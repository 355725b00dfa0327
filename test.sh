#!/usr/bin/env bash
# Runs every check snn's CI runs: formatting, vet, staticcheck, regeneration,
# and the tests on every kernel path this machine can execute (AVX-512 and
# AVX2 where the CPU has them, pure Go, the purego build, the race
# detector, AVX2 on an emulated AVX2-only CPU, and arm64 under qemu-user).
# An instruction set the CPU lacks is skipped with one line naming the CPU
# and the missing features, unless SNN_REQUIRE_ISA asks for it. With
# SNN_CI=1 a missing tool (qemu, binutils) is a failure; otherwise it is
# skipped with a notice.
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

# Which instruction sets this CPU runs comes from the dispatch itself
# (`snn kernels`), not from a second reading of /proc/cpuinfo. A set the
# CPU lacks is skipped with one line, even in CI: it is no fault of the
# change under test. TestRequires (package kernels) proves on every host
# that no set's code needs more than its table. Only an explicit request,
# SNN_REQUIRE_ISA=<set>, makes a missing set a failure.
step "instruction sets of this CPU"
kinfo=$(env -u SNN_ISA go run ./cmd/snn kernels)
echo "$kinfo"
cpu_model=$(sed -n 's/^cpu  *//p' <<<"$kinfo")
explicit=${SNN_REQUIRE_ISA:-}
for isa in $(awk '($2 == "runs" || $2 == "not") && $1 != "generic" {print $1}' <<<"$kinfo"); do
	line=$(awk -v s="$isa" '$1 == s' <<<"$kinfo")
	if grep -q "runs here" <<<"$line"; then
		run_isa "$isa"
	elif [ "$explicit" = "$isa" ]; then
		echo "FAIL: SNN_REQUIRE_ISA=$isa, but this CPU ($cpu_model) cannot run it: ${line#*not here: }" >&2
		exit 1
	else
		echo "skipped: $isa: not on this CPU ($cpu_model): ${line#*not here: }"
	fi
done
run_isa generic

step "go test -tags purego"
SNN_REQUIRE_ISA=generic go test -tags purego ./...

step "go test -race (packages that start goroutines)"
race_pkgs=$(go list ./... | grep -E '/(gemm|conv|nn|par|cmd/snn)(/|$)' || true)
if [ -n "$race_pkgs" ]; then
	go test -race -short $race_pkgs
fi

step "NEON emitter encodings against binutils"
if command -v aarch64-linux-gnu-as >/dev/null 2>&1; then
	(cd gen && go test ./neon/...)
else
	skip "aarch64-linux-gnu-as is not installed (apt-get install binutils-aarch64-linux-gnu)"
fi

step "AVX2-only CPU under qemu-x86_64 -cpu Haswell (a smoke run of the dispatch)"
# The emulator raises SIGILL on any AVX-512 instruction, so the AVX2 set
# runs here as on a CPU without AVX-512. It also faults on masked-off lanes
# that real CPUs ignore: SNN_TEST_EMULATED moves the guard pages away, and
# only the quick packages run (the full suite takes minutes emulated).
if [ "$(go env GOARCH)" != amd64 ]; then
	echo "skipped: not an amd64 host"
elif command -v qemu-x86_64 >/dev/null 2>&1; then
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	go build -o "$bin/snn" ./cmd/snn
	haswell=$(env -u SNN_ISA QEMU_CPU=Haswell qemu-x86_64 "$bin/snn" kernels 2>/dev/null)
	if ! grep -q "^in use  *avx2 (no avx512: the CPU lacks" <<<"$haswell"; then
		echo "FAIL: on an emulated Haswell, the dispatch did not choose avx2 for want of AVX-512:" >&2
		echo "$haswell" >&2
		exit 1
	fi
	grep "^in use" <<<"$haswell"
	# qemu warns once per run about features TCG lacks; the test output stays.
	export SNN_TEST_EMULATED=1 QEMU_CPU=Haswell SNN_REQUIRE_ISA=avx2
	go test -count=1 -exec qemu-x86_64 ./act 2> >(grep -v "TCG doesn't support" >&2)
	go test -count=1 -exec qemu-x86_64 ./kernels \
		-run 'TestRequiredISA|TestSum|TestMoments|TestUnaryMatchesTwin' \
		2> >(grep -v "TCG doesn't support" >&2)
	unset SNN_TEST_EMULATED QEMU_CPU SNN_REQUIRE_ISA
else
	skip "qemu-x86_64 is not installed (apt-get install qemu-user)"
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
