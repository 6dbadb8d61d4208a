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
