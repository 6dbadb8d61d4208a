# Helpers of the benchmark scripts (sourced first): a temp dir $T, the
# processes in $bg stopped on exit (also on a signal), the machine's name,
# ratios.
set -u
O=${O:-build}
DDE="$O/bin/dde"
T=$(mktemp -d /tmp/dde-bench-XXXXXX)
bg=""
trap 'for p in $bg; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
# a signal would end the shell without its EXIT trap: make it an exit
trap 'exit 130' INT TERM HUP

# "== TITLE: the CPU, N cores"
bench_title() {
	echo "== $1: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
}
# ratio A B: "A/Bx", or "-" without B
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-" && a != "") printf "%.2fx", a / b; else printf "-" }'; }
# the time now in milliseconds
ms() { date +%s%3N; }
# "median p99" of the numbers on stdin ("- -" for none)
stats() { sort -n | awk '{ a[NR] = $1 } END { if (!NR) { print "- -"; exit }
	p = int(NR * 0.99 + 0.999); if (p > NR) p = NR; print a[int((NR + 1) / 2)], a[p] }'; }
# wait_log REGEX COUNT: $T/log has COUNT lines matching REGEX (within 30 s)
wait_log() {
	for _ in $(seq 6000); do
		[ "$(grep -Ec -- "$1" "$T/log")" -ge "$2" ] && return 0
		sleep 0.005
	done
	return 1
}
