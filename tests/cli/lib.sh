# Helpers for the shell tests: checks with counts, a temp dir and cleanup.
# A test script sources this, runs checks, and ends with `finish`.
set -u
O=${O:-build}
DDE="$O/bin/dde"
T=$(mktemp -d /tmp/dde-cli-XXXXXX)
PASSED=0
FAILED=0
SKIPPED=0
BG_PIDS=""

cleanup() {
	for p in $BG_PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
# a signal would end the shell without its EXIT trap: make it an exit
trap 'exit 130' INT TERM HUP

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $1"; [ $# -gt 1 ] && printf '    %s\n' "$2"; }
# skip NAME WHY: a check this machine cannot make; counted as skipped, never passed
skip() { SKIPPED=$((SKIPPED + 1)); echo "ok - $1 # SKIP $2"; }

# expect NAME STATUS PATTERN CMD...: CMD exits with STATUS and its output
# (stdout+stderr) matches the extended regex PATTERN.
expect() {
	local name=$1 status=$2 pattern=$3 rc
	shift 3
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" != "$status" ]; then
		not_ok "$name" "exit status $rc, want $status: $(head -c 400 "$T/out")"
	elif ! grep -Eq -- "$pattern" "$T/out"; then
		not_ok "$name" "output lacks /$pattern/: $(head -c 400 "$T/out")"
	else
		ok "$name"
	fi
}

# one_line NAME CMD...: CMD fails with status 2 and says so in exactly one line
one_line() {
	local name=$1 rc
	shift
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" = 2 ] && [ "$(wc -l <"$T/out")" = 1 ]; then
		ok "$name"
	else
		not_ok "$name" "status $rc, $(wc -l <"$T/out") lines: $(head -c 400 "$T/out")"
	fi
}

# no QEMU or ddeio left that was started from this build
no_leftovers() {
	sleep 0.2
	# this build's only: another checkout's tests may run at the same time
	local me
	me=$(readlink -f "$O")
	if pgrep -f "$me/bin/ddeio" >/dev/null || pgrep -f "$me/.*firmware.bin" >/dev/null; then
		not_ok "$1" "processes left: $(pgrep -af "$me/(bin/ddeio|.*firmware.bin)")"
	else
		ok "$1"
	fi
}

# dde_bg LOG ARGS...: `dde run` in the background; its pid in $bg.
dde_bg() {
	local log=$1
	shift
	"$DDE" run "$@" >"$log" 2>&1 &
	bg=$!
	BG_PIDS="$BG_PIDS $bg"
}
dde_stop() {
	kill -INT "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# wait_log LOG REGEX [SECONDS]: LOG gets a line matching REGEX (default 20 s)
wait_log() {
	for _ in $(seq $((${3:-20} * 10))); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# driver_pid LOG INSTANCE: the pid of the driver dde run started for INSTANCE
# (its latest process, if dde restarted it)
driver_pid() {
	sed -n -e "s/^dde: started driver $2 (pid \([0-9]*\))$/\1/p" \
		-e "s/^dde: restarted driver $2 (pid \([0-9]*\), restart [0-9]*)$/\1/p" "$1" | tail -1
}

finish() {
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" = 0 ]
}
