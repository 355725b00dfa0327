#!/usr/bin/env bash
# Compares snn's GEMM with OpenBLAS and BLIS (the C harness of the shared
# anchors directory, which is not part of this module) on the 16 issue
# shapes, one thread, interleaved shape by shape and library by library
# (A B C A B C ...) so that clock drift and other load hit all alike.
#
#   tools/gemm-anchors.sh ANCHORS_DIR [ROUNDS] [SHAPE_REGEXP] [ISA]
#
# ISA is snn's kernel set, avx512 or avx2; the default is avx512 on a CPU
# with AVX-512 and avx2 otherwise. The libraries get the matching code
# path: on a CPU with AVX-512, OpenBLAS is told SkylakeX for avx512 and
# Haswell for avx2, BLIS sub-configuration 0 (skx) or 3 (haswell). Debian's
# BLIS 0.9 reads BLIS_ARCH_TYPE as a number (atoi), so a name such as
# "haswell" or an empty string selects 0, skx: AVX-512 code, which dies
# with SIGILL on a CPU without it. On a CPU without AVX-512 both libraries
# choose by themselves (OpenBLAS Zen, BLIS zen3 on Zen 3) and the
# variables stay unset. Each library prints the kernel it runs; the
# script stops if that is not the one asked for. At the end, the bars of
# issue 19 met or not, and snn on two threads against one on the squares
# of 1024 and more and the deep shapes (the libraries are not run there).
#
set -euo pipefail
anchors=${1:?usage: $0 ANCHORS_DIR [ROUNDS] [SHAPE_REGEXP] [ISA]}
rounds=${2:-3}
filter=${3:-[^ ]+}
avx512=0
grep -qw avx512f /proc/cpuinfo && avx512=1
if [ $avx512 = 1 ]; then isa=${4:-avx512}; else isa=${4:-avx2}; fi
ob_env=() blis_env=()
case $avx512/$isa in
1/avx512) ob_env=(OPENBLAS_CORETYPE=SkylakeX) blis_env=(BLIS_ARCH_TYPE=0) want='SkylakeX|skx' ;;
1/avx2) ob_env=(OPENBLAS_CORETYPE=Haswell) blis_env=(BLIS_ARCH_TYPE=3) want='Haswell|haswell' ;;
0/avx2) want='.' ;;
*) echo "$0: this CPU cannot run snn's $isa kernels" >&2; exit 2 ;;
esac
echo "# snn $isa; OpenBLAS ${ob_env[*]:-(its own choice)}; BLIS ${blis_env[*]:-(its own choice)}"
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gcc -O2 "$anchors/gemm.c" -o "$tmp/ob" -I/usr/include/x86_64-linux-gnu/openblas-pthread \
	-L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-pthread
gcc -O2 -DUSE_BLIS "$anchors/gemm.c" -o "$tmp/blis" -I/usr/include/x86_64-linux-gnu/blis-openmp \
	-L/usr/lib/x86_64-linux-gnu/blis-openmp -lblis -lm -Wl,-rpath,/usr/lib/x86_64-linux-gnu/blis-openmp
go test -c -o "$tmp/snn.test" .

# The kernel each library picks, from the harness' label column.
grep -v '^#' "$anchors/shapes.txt" | awk 'NF >= 6' | head -1 >"$tmp/one"
ob_kernel=$(env "${ob_env[@]}" OPENBLAS_NUM_THREADS=1 "$tmp/ob" "$tmp/one" ob | awk '{print $2}')
blis_kernel=$(env "${blis_env[@]}" BLIS_NUM_THREADS=1 "$tmp/blis" "$tmp/one" blis | awk '{print $2}')
echo "# runs: $ob_kernel, $blis_kernel"
for kernel in "$ob_kernel" "$blis_kernel"; do
	if ! [[ $kernel =~ $want ]]; then
		echo "$0: $kernel is not the code path asked for ($want)" >&2
		exit 2
	fi
done

grep -v '^#' "$anchors/shapes.txt" | awk 'NF >= 6' | grep -E "^($filter)[[:space:]]" >"$tmp/shapes"
for r in $(seq "$rounds"); do
	while read -r line; do
		name=${line%% *}
		echo "$line" >"$tmp/one"
		env "${ob_env[@]}" OPENBLAS_NUM_THREADS=1 "$tmp/ob" "$tmp/one" ob | awk '{print "ob", $3, $8}'
		env "${blis_env[@]}" BLIS_NUM_THREADS=1 "$tmp/blis" "$tmp/one" blis | awk '{print "blis", $3, $8}'
		SNN_ISA=$isa "$tmp/snn.test" -test.run '^$' -test.bench "^BenchmarkGEMM/$name/$isa/threads=1\$" -test.benchtime 0.25s |
			awk -v n="$name" '/^BenchmarkGEMM/ {for (i = 1; i < NF; i++) {if ($(i+1) == "GFLOP/s") g = $i; if ($(i+1) == "%peak") p = $i}; print "snn", n, g, p}'
	done <"$tmp/shapes"
done | tee "$tmp/all"

echo
awk '
function median(key,   n, i, j, t, v) {
	n = cnt[key]
	for (i = 1; i <= n; i++) v[i] = val[key, i]
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) {t = v[i]; v[i] = v[j]; v[j] = t}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{
	key = $1 SUBSEP $2; val[key, ++cnt[key]] = $3
	if ($1 == "snn") { k2 = "peak" SUBSEP $2; val[k2, ++cnt[k2]] = $4 }
	if (!($2 in seen)) { seen[$2] = 1; order[++ns] = $2 }
}
END {
	printf "%-11s %9s %9s %9s %7s %8s\n", "shape", "openblas", "blis", "snn", "%peak", "snn/best"
	lg = 0
	for (s = 1; s <= ns; s++) {
		name = order[s]
		o = median("ob" SUBSEP name); b = median("blis" SUBSEP name); m = median("snn" SUBSEP name)
		best = o > b ? o : b
		p = median("peak" SUBSEP name)
		printf "%-11s %9.1f %9.1f %9.1f %7.1f %8.2f\n", name, o, b, m, p, m / best
		lg += log(m / best)
		if (m / best < 0.95) low = low " " name
		if (name ~ /^sq/ && substr(name, 3) + 0 >= 512 && p < 90) slow = slow " " name
	}
	g = exp(lg / ns)
	printf "geometric mean of snn/best over %d shapes: %.3f\n", ns, g
	# The bars of issue 19 (one thread).
	printf "bar: geometric mean >= 1.10: %s\n", (g >= 1.10 ? "met" : "NOT met")
	printf "bar: no shape below 0.95 of the best: %s\n", (low == "" ? "met" : "NOT met (" substr(low, 2) ")")
	printf "bar: squares >= 512 at >= 90%% of the FMA peak: %s\n", (slow == "" ? "met" : "NOT met (" substr(slow, 2) ")")
}' "$tmp/all"

# Two threads against one (snn alone), on the shapes the issue names:
# squares of 1024 and more and the deep convolution shapes.
scaled=$(awk '$1 ~ /^(sq1024|sq2048|sq4096|deep_.*)$/ {print $1}' "$tmp/shapes")
[ -z "$scaled" ] && exit 0
echo
for r in $(seq "$rounds"); do
	for name in $scaled; do
		SNN_ISA=$isa "$tmp/snn.test" -test.run '^$' -test.bench "^BenchmarkGEMM/$name/$isa/threads=[12]\$" -test.benchtime 0.25s |
			awk -v n="$name" '/^BenchmarkGEMM/ {t = $1; sub(/.*threads=/, "", t); sub(/-.*/, "", t); for (i = 1; i < NF; i++) if ($(i+1) == "GFLOP/s") print n, t, $i}'
	done
done >"$tmp/threads"
awk '
{ g[$1, $2, ++cnt[$1, $2]] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++ns] = $1 } }
END {
	printf "%-11s %9s %9s %8s\n", "shape", "1 thread", "2", "2/1"
	for (s = 1; s <= ns; s++) {
		name = order[s]; n = cnt[name, 1] < cnt[name, 2] ? cnt[name, 1] : cnt[name, 2]
		for (i = 1; i <= n; i++) { q[i] = g[name, 2, i] / g[name, 1, i]; a[i] = g[name, 1, i]; b[i] = g[name, 2, i] }
		m = median(q, n)
		printf "%-11s %9.1f %9.1f %8.2f\n", name, median(a, n), median(b, n), m
		if (m < 1.85) low = low " " name
	}
	printf "bar: 2 threads >= 1.85x one: %s\n", (low == "" ? "met" : "NOT met (" substr(low, 2) ")")
}
function median(v, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) {t = v[i]; v[i] = v[j]; v[j] = t}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}' "$tmp/threads"
