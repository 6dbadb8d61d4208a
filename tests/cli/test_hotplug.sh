#!/bin/bash
# Devices come and go (docs/hotplug.md): PCIe hotplug on q35's root ports
# (dde run --hotplug-ports), with ddeio in the OS's part of the slot
# (presence, power, the attention button device_del waits for), the
# matching driver started on arrival and stopped on departure, its class
# server told; a device behind a root port from the start (bus 2); dde
# driver stop|start. Checked against QEMU itself: its monitor's `info
# pci`, `info block` and `info network` after the cycles.
#
# Cycles (HP_CYCLES, default 8; make bench's hotplug_bench.sh runs 20) of an NVMe disk (a write and its read-back
# checked at once and in the image) and of an e1000 NIC (frames both ways
# exact through netd), with the source drivers and the binary modules
# (dde run --prefer ko); then nothing leaked: driver processes, grants,
# disk and interface names, QEMU's devices and backends. An NBD client of
# a disk that goes gets an error, not a hang.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"

BLKIO="$O/tests/block/blkio"
NBDVERIFY="$O/tests/faults/nbdverify"
CYCLES=${HP_CYCLES:-8}

# ---- what is refused, in one line ----
one_line "--hotplug-ports on pc is refused" "$DDE" lspci --machine pc --hotplug-ports 2
one_line "--hotplug-ports 9 is refused" "$DDE" lspci --hotplug-ports 9
expect "dde hotplug add without a running dde run" 1 "cannot reach dde run" \
	env DDE_RUN=@dde-test-none-$$ "$DDE" hotplug add --nic e1000
one_line "dde hotplug without add or del" "$DDE" hotplug plug --nic e1000
one_line "dde driver with a wrong verb" "$DDE" driver restart 01:00.0

# ---- a machine with two hot-plug ports, an e1000 on the second from the start ----
base=$((27000 + ($$ % 1000) * 8))
export DDE_BLK="@dde-test-hpblk-$$" DDE_NET="@dde-test-hpnet-$$"
truncate -s 64M "$T/d.img"
run_machine() {	# LOG [more dde run options]
	local log=$1
	shift
	dde_bg "$log" --hotplug-ports 2 --nic "e1000,net=udp:$base:$((base + 1)),bus=hp1" \
		--blk-socket "$DDE_BLK" --net-socket "$DDE_NET" --monitor "$T/mon" "$@"
	run=$bg
	export DDE_RUN=@dde-run-$run
}

# frames LABEL IF COUNT: COUNT frames each way exact through interface IF
frames() {
	DDE_NET=$DDE_NET "$FRAMES" --if "$2" --qemu-listen "$3" --qemu-peer "$4" --count "$5" \
		--window 8 >"$T/frames.out" 2>&1 &&
		grep -q "^tx: $5 frames .*, $5 arrived .*0 lost, 0 bad" "$T/frames.out" &&
		grep -q "^rx: $5 frames .*, $5 reached .*0 lost, 0 bad" "$T/frames.out"
}

# cycles KIND PREFIX: CYCLES plug/unplug cycles of an NVMe disk or an e1000
# with driver PREFIX (""; "ko:"), each checked while it is there
nvme_cycles() {
	local prefix=$1 label=${1:-source} good=0 fail="" n
	for ((n = 1; n <= CYCLES; n++)); do
		local adds
		adds=$(grep -c "bddf: nvme0n1: disk of ${prefix}nvme@01:00.0" "$log")
		if ! "$DDE" hotplug add --disk "nvme:$T/d.img" >"$T/add.out" 2>&1 ||
			! wait_count "bddf: nvme0n1: disk of ${prefix}nvme@01:00.0" $((adds + 1)) 30 "$log"; then
			fail="cycle $n: plug: $(cat "$T/add.out"; tail -3 "$log")"
			break
		fi
		head -c 65536 /dev/urandom >"$T/w"
		if ! "$BLKIO" nvme0n1 put "$T/w" $((n * 65536)) 65536 4 >"$T/io.out" 2>&1 ||
			! "$BLKIO" nvme0n1 get "$T/r" $((n * 65536)) 65536 65536 4 >>"$T/io.out" 2>&1 ||
			! cmp -s "$T/w" "$T/r"; then
			fail="cycle $n: I/O: $(cat "$T/io.out")"
			break
		fi
		if ! "$DDE" hotplug del 01:00.0 >"$T/del.out" 2>&1 ||
			! grep -q "removed in" "$T/del.out"; then
			fail="cycle $n: unplug: $(cat "$T/del.out")"
			break
		fi
		# what was written is in the image once the device is gone
		if ! cmp -s "$T/w" <(dd if="$T/d.img" bs=65536 skip=$n count=1 2>/dev/null); then
			fail="cycle $n: the image lacks the write"
			break
		fi
		good=$((good + 1))
	done
	[ -z "$fail" ] && ok "$label nvme: $CYCLES plug/unplug cycles, a 64 KiB write read back and in the image each time" ||
		not_ok "$label nvme: plug/unplug cycles ($good good)" "$fail"
}

nic_cycles() {
	local prefix=$1 label=${1:-source} good=0 fail="" n ups
	local l=$((base + 2)) p=$((base + 3))
	for ((n = 1; n <= CYCLES; n++)); do
		ups=$(grep -c "netd: interface net1: link up" "$log")
		if ! "$DDE" hotplug add --nic "e1000,net=udp:$l:$p" >"$T/add.out" 2>&1 ||
			! grep -q "driver ${prefix}e1000@01:00.0 (pid [0-9]*) as net1" "$T/add.out" ||
			! wait_count "netd: interface net1: link up" $((ups + 1)) 30 "$log"; then
			fail="cycle $n: plug: $(cat "$T/add.out"; tail -3 "$log")"
			break
		fi
		if ! frames "" net1 "$l" "$p" 100; then
			fail="cycle $n: frames: $(cat "$T/frames.out")"
			break
		fi
		if ! "$DDE" hotplug del 01:00.0 >"$T/del.out" 2>&1 ||
			! grep -q "removed in" "$T/del.out" ||
			! wait_count "netd: interface net1 gone" "$n" 10 "$log"; then
			fail="cycle $n: unplug: $(cat "$T/del.out"; tail -3 "$log")"
			break
		fi
		good=$((good + 1))
	done
	[ -z "$fail" ] && ok "$label e1000: $CYCLES plug/unplug cycles, 100 frames each way exact each time, the interface net1 each time" ||
		not_ok "$label e1000: plug/unplug cycles ($good good)" "$fail"
}

# nothing of the cycles is left: processes, grants, names, QEMU's devices
no_trace() {
	local label=$1 drivers
	DDE_RUN=$DDE_RUN "$DDE" status >"$T/status.out" 2>&1
	drivers=$(grep -c "running" "$T/status.out")
	# dde run's children: ddeio, netd, bddf and one driver
	local kids
	kids=$(pgrep -P "$run" | wc -l)
	"$DDE" lspci -k --io "@$(sed -n 's/^dde: I\/O server on @\([^ ]*\) .*/\1/p' "$log")" \
		>"$T/lspci.out" 2>&1
	"$DDE" disks >"$T/disks.out" 2>&1
	DDE_NET=$DDE_NET "$DDE" net >"$T/net.out" 2>&1
	"$QMON" "$T/mon" "info pci" >"$T/pci.out" 2>&1
	"$QMON" "$T/mon" "info block" >"$T/block.out" 2>&1
	"$QMON" "$T/mon" "info network" >"$T/network.out" 2>&1
	if [ "$drivers" = 1 ] && [ "$kids" = 4 ] && ! grep -q "01:00" "$T/lspci.out" &&
		! grep -Eq "nvme[0-9]+n1-|nvme[1-9]" "$T/disks.out" && ! grep -q "^net1" "$T/net.out" &&
		! grep -q "Bus  1," "$T/pci.out" && ! grep -q "hpdisk" "$T/block.out" &&
		! grep -q "hpnet" "$T/network.out"; then
		ok "$label: nothing left: one driver running, dde run's 4 processes, no device on bus 1 at ddeio or in QEMU, no disk name taken twice, no net1, no backend of QEMU's"
	else
		not_ok "$label: something is left" "status: $(cat "$T/status.out") | children $kids | lspci: $(grep 01: "$T/lspci.out") | disks: $(cat "$T/disks.out") | net: $(grep ^net "$T/net.out") | QEMU: $(grep -c 'Bus  1,' "$T/pci.out") on bus 1, $(grep -c hpdisk "$T/block.out") drives, $(grep -c hpnet "$T/network.out") netdevs"
	fi
}

log="$T/run.log"
run_machine "$log"
if wait_for "netd: interface net0: link up" 60 "$log" &&
	grep -q "driver e1000@02:00.0" "$log"; then
	ok "a device behind a root port from the start (bus 2) is enumerated, and its driver serves"
else
	not_ok "a device behind a root port from the start" "$(tail -5 "$log")"
fi
frames "" net0 "$base" "$((base + 1))" 200 &&
	ok "... 200 frames each way exact through it (its BARs in the port's window, its MSI upstream)" ||
	not_ok "frames through the device behind the root port" "$(cat "$T/frames.out")"
grep -q "ddeio: driver 'e1000@02:00.0'.* granted 02:00.0" "$log" &&
	ok "ddeio grants it to its driver as 02:00.0" || not_ok "the grant of 02:00.0" "$(grep ddeio "$log" | head -5)"

nvme_cycles ""
nic_cycles ""

# an NBD client of a disk that goes: an error, not a hang; the export goes
adds=$(grep -c "bddf: nvme0n1: disk of nvme@01:00.0" "$log")
"$DDE" hotplug add --disk "nvme:$T/d.img" >"$T/add.out" 2>&1
wait_count "bddf: nvme0n1: disk of nvme@01:00.0" $((adds + 1)) 30 "$log"
"$DDE" nbd --export nvme0n1 --socket "$T/nbd.sock" >"$T/nbd.log" 2>&1 &
nbd=$!
BG_PIDS="$BG_PIDS $nbd"
wait_for "at nbd\+unix" 10 "$T/nbd.log"
"$NBDVERIFY" --socket "$T/nbd.sock" --export nvme0n1 --blocks 1024 --seconds 60 --timeout 20 \
	>"$T/verify.out" 2>&1 &
verify=$!
BG_PIDS="$BG_PIDS $verify"
sleep 2
"$DDE" hotplug del 01:00.0 >"$T/del.out" 2>&1
gone=$(date +%s)
if wait_for "error: (read|write|flush) .* failed" 15 "$T/verify.out"; then
	took=$(($(date +%s) - gone))
	ok "an NBD client reading and writing a disk being unplugged gets errors within ${took} s, not a hang: $(grep -m1 'failed' "$T/verify.out" | sed 's/^nbdverify: error: //')"
else
	not_ok "the NBD client of a disk unplugged: no error within 15 s" "$(tail -3 "$T/verify.out")"
fi
kill $verify 2>/dev/null
wait $verify 2>/dev/null
expect "... and the export is gone: a new client is told" 1 "nvme0n1|gone|No such|not" \
	nbdinfo "nbd+unix:///nvme0n1?socket=$T/nbd.sock"
kill $nbd 2>/dev/null
wait $nbd 2>/dev/null

# errors while it runs
truncate -s 16M "$T/e.img"
expect "no free hot-plug port: said so" 1 "no free hot-plug port" sh -c \
	"\"$DDE\" hotplug add --disk nvme:$T/d.img >/dev/null && \"$DDE\" hotplug add --disk nvme:$T/e.img"
"$DDE" hotplug del 01:00.0 >/dev/null 2>&1
expect "hotplug del of a device on bus 0: refused" 1 "not|no device" "$DDE" hotplug del 00:01.0
expect "a disk on a controller's bus does not plug" 1 "does not plug" \
	"$DDE" hotplug add --disk "ahci:$T/d.img"

# dde driver stop|start on the device that was there from the start
if "$DDE" driver stop 02:00.0 >"$T/stop.out" 2>&1 && wait_for "netd: interface net0 gone" 10 "$log" &&
	grep -q "stopped" <("$DDE" status); then
	ok "dde driver stop: the driver stops, its interface goes, the device stays"
else
	not_ok "dde driver stop" "$(cat "$T/stop.out"; tail -3 "$log")"
fi
ups=$(grep -c "netd: interface net0: link up" "$log")
if "$DDE" driver start 02:00.0 >"$T/start.out" 2>&1 &&
	wait_count "netd: interface net0: link up" $((ups + 1)) 30 "$log" &&
	frames "" net0 "$base" "$((base + 1))" 100; then
	ok "dde driver start: a driver again, net0 again, 100 frames each way exact"
else
	not_ok "dde driver start" "$(cat "$T/start.out" "$T/frames.out"; tail -3 "$log")"
fi
expect "dde driver start on a device whose driver runs: refused" 1 "runs on it" \
	"$DDE" driver start 02:00.0
no_trace "source drivers"
dde_stop "$run"

# ---- the binary modules ----
log="$T/run-ko.log"
run_machine "$log" --prefer ko
if wait_for "netd: interface net0: link up" 60 "$log"; then
	nvme_cycles "ko:"
	nic_cycles "ko:"
	no_trace "binary drivers"
else
	not_ok "the machine with binary drivers" "$(tail -5 "$log")"
fi
dde_stop "$run"
no_leftovers "no QEMU or ddeio left behind"
ls -d /tmp/dde-run-"$run"-* >/dev/null 2>&1 && not_ok "dde run's monitor directory is left" ||
	ok "no monitor directory of dde run's left"
finish
