#!/bin/bash
# Debuggability: the network path under AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer. `make check` builds
# everything a second time with SANITIZE=address,undefined into $SAN_O:
# ddekit, ddeio, netd, dde, the clients, our Linux-side emulation and
# Linux's own files of each driver. Here the network tests run on that
# build (all three drivers: frames, link, kill -9, parameters; then DHCP
# and 10 MiB over TCP through e1000; DHCP and TCP through Debian's binary
# e1000 on both engines; the module loader's unit tests; the block stack
# on nvme, ahci and ata_piix, injected errors, the NBD export and
# DSweeper, its terminal UI too; inputd and sndd against their unit tests) and
# every process's sanitizer report
# goes to one directory, which must stay empty.
. "$(dirname "$0")/lib.sh"

SAN_O=${SAN_O:-${O}-san}
# the module loader's tests read Debian's modules (tests/run sets this too)
DDE_KO_DIR=${DDE_KO_DIR:-$(make -s --no-print-directory O="$O" ko-dir 2>/dev/null)}
export DDE_KO_DIR
logs="$T/reports"
mkdir -p "$logs"
# the drivers run as users of their own in their sandbox, where dde binds
# this directory (the only place they may write): they must be able to
chmod 1777 "$logs"
# One file per process and runtime: san.PID (ASan, LeakSanitizer) and
# san.ubsan.PID (UBSan; common/sanitize.c).
export ASAN_OPTIONS="log_path=$logs/san:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$logs/san:print_stacktrace=1"

# reports: the files in $logs, less ASan's one-line notice that it cannot
# follow makecontext by itself (lx_kit tells it about every switch:
# __sanitizer_start_switch_fiber)
reports() {
	local f
	for f in "$logs"/san.*; do
		[ -e "$f" ] || continue
		grep -qv "ASan doesn't fully support makecontext/swapcontext" "$f" && echo "$f"
	done
}

if [ ! -x "$SAN_O/drivers/e1000" ] || [ ! -x "$SAN_O/tests/san/canary" ]; then
	not_ok "a sanitizer build in $SAN_O" "missing: make SANITIZE=address,undefined O=$SAN_O (make check does)"
	finish
	exit
fi

# instrumented: our programs, our Linux-side emulation, Linux's driver code
missing=""
for f in bin/dde bin/ddeio bin/netd drivers/e1000 tests/net/net_frames; do
	nm "$SAN_O/$f" 2>/dev/null | grep -q "U __asan_init" || missing="$missing $f"
done
for f in lx_emul/mem.o linux/drivers/net/ethernet/intel/e1000/e1000_main.o linux/net/core/skbuff.o; do
	nm "$SAN_O/$f" 2>/dev/null | grep -q "U __asan_report_load" || missing="$missing $f"
	nm "$SAN_O/$f" 2>/dev/null | grep -q "U __ubsan_handle_" || missing="$missing $f"
done
[ -z "$missing" ] && ok "the sanitizer build is instrumented (programs, lx_emul, Linux's e1000 and skbuff)" ||
	not_ok "the sanitizer build is instrumented" "not instrumented:$missing"

# the plumbing: a program with two planted bugs gets both reported here
"$SAN_O/tests/san/canary" >/dev/null 2>&1
if grep -qs "heap-buffer-overflow" "$logs"/san.* && grep -qs "runtime error: shift exponent" "$logs"/san.*; then
	ok "planted bugs are reported in the report directory (ASan and UBSan)"
else
	not_ok "planted bugs are reported" "$(ls "$logs"; cat "$logs"/san.* 2>/dev/null | head -10)"
fi
rm -f "$logs"/san.*

# run_sanitized NAME SCRIPT: SCRIPT's checks pass on the sanitizer build
run_sanitized() {
	O=$SAN_O bash "$2" >"$T/$1.out" 2>&1
	local rc=$? line
	line=$(tail -1 "$T/$1.out")
	if [ $rc = 0 ] && [[ "$line" =~ ^[0-9]+\ passed,\ 0\ failed,\ [0-9]+\ skipped$ ]]; then
		ok "$1 under the sanitizers: $line"
	else
		not_ok "$1 under the sanitizers" "$(grep -v '^ok' "$T/$1.out" | head -20)"
	fi
}
# the module reader and loader on Debian's modules and damaged copies of them
"$SAN_O/tests/unit/test_ko" >"$T/ko.out" 2>&1 && grep -q "PASSED  \] 7 test" "$T/ko.out" &&
	ok "the module loader's tests (damaged modules included) under the sanitizers" ||
	not_ok "the module loader's tests under the sanitizers" "$(tail -20 "$T/ko.out")"
# the input and sound servers against their unit tests' drivers and clients
# (inputd also with the uinput stand-in preloaded)
for u in test_inputd test_sndd; do
	O=$SAN_O "$SAN_O/tests/unit/$u" >"$T/$u.out" 2>&1 && grep -q "^\[  PASSED  \]" "$T/$u.out" &&
		! grep -q "^\[  FAILED  \]" "$T/$u.out" &&
		ok "$u under the sanitizers: $(sed -n 's/^\[  PASSED  \] \(.*\)/\1/p' "$T/$u.out")" ||
		not_ok "$u under the sanitizers" "$(tail -20 "$T/$u.out")"
done
run_sanitized "three drivers, frames, link, kill -9, parameters" tests/cli/test_net.sh
run_sanitized "DHCP and 10 MiB over TCP through e1000" tests/cli/test_dhcp.sh
# Debian's binary e1000 in the sanitized driver host (the library, lx_kit
# and the host instrumented; the module as Debian built it), both engines
for eng in native dbt; do
	ENGINE=$eng NIC=e1000 DRIVER=ko:e1000 O=$SAN_O tests/net/dhcp_fetch.sh 1 >"$T/ko-$eng.out" 2>&1
	rc=$?
	if [ $rc = 77 ]; then
		skip "binary e1000 ($eng) under the sanitizers" "$(head -1 "$T/ko-$eng.out")"
	elif [ $rc = 0 ] && grep -q "^sha256: match" "$T/ko-$eng.out"; then
		ok "binary e1000 ($eng engine) under the sanitizers: DHCP and 1 MiB over TCP"
	else
		not_ok "binary e1000 ($eng engine) under the sanitizers" "$(tail -8 "$T/ko-$eng.out")"
	fi
done

# the block stack: Linux's nvme, blk-mq and the glue, bddf, libddeblk and
# the NBD export with real clients, injected disk errors
run_sanitized "the block stack on two NVMe disks: listing, reads, writes, bounds, kill -9" tests/cli/test_block.sh
run_sanitized "ahci and ata_piix with libata, SCSI and sd" tests/cli/test_block_ata.sh
run_sanitized "injected disk errors on NVMe, AHCI and IDE" tests/cli/test_block_errors.sh
run_sanitized "the NBD export with qemu-img, nbdcopy and bad clients" tests/cli/test_nbd.sh
run_sanitized "dsweeper: sweeps, verification, faults, SIGINT" tests/cli/test_dsweeper.sh
run_sanitized "dde sweep's terminal UI in tmux" tests/cli/test_sweep_ui.sh

# every driver process leaves ASan's notice about makecontext, and nothing else
n=$(grep -l "makecontext/swapcontext" "$logs"/san.* 2>/dev/null | wc -l)
bad=$(reports)
if [ "$n" -gt 0 ] && [ -z "$bad" ]; then
	ok "no sanitizer report from any process ($n driver processes ran sanitized)"
elif [ "$n" = 0 ]; then
	not_ok "no sanitizer report" "no driver process left ASan's notice: did they run sanitized?"
else
	not_ok "no sanitizer report" "$(for f in $bad; do echo "== $f"; head -40 "$f"; done)"
fi
finish
