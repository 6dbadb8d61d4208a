#!/bin/bash
# make bench, hotplug and power management (issue 24): over CYCLES plug and
# unplug cycles of an NVMe disk and of an e1000 (source drivers, then the
# binary modules), the time from `dde hotplug add` (QEMU's device_add) to
# the first block read through bddf / the first frame received through
# netd, and from `dde hotplug del` (device_del) to the slot empty (the
# driver stopped, the device ejected); median and p99. Then the suspend
# and resume times of e1000, nvme and ahci (dde pm; median of ROUNDS).
. "$(dirname "$0")/lib.sh"
CYCLES=${CYCLES:-20}
ROUNDS=${ROUNDS:-5}
BLKIO="$O/tests/block/blkio"
FRAMES="$O/tests/net/net_frames"

echo
bench_title "hotplug: device_add to first I/O, device_del to slot empty ($CYCLES cycles each)"
printf '%-22s %18s %18s\n' "" "add->I/O ms" "del->empty ms"
printf '%-22s %18s %18s\n' "" "median / p99" "median / p99"
truncate -s 64M "$T/d.img"
port=$((31000 + ($$ % 500) * 4))
for prefer in ${PREFERS:-source ko}; do
	export DDE_BLK="@dde-bench-hpblk-$$" DDE_NET="@dde-bench-hpnet-$$"
	"$DDE" run --hotplug-ports 1 --prefer "$prefer" --blk-socket "$DDE_BLK" \
		--net-socket "$DDE_NET" >"$T/log" 2>&1 &
	run=$!
	bg="$run"
	export DDE_RUN=@dde-run-$run
	wait_log "dde: status:" 1
	label=$([ "$prefer" = ko ] && echo "ko:" || echo "")
	: >"$T/add" && : >"$T/del"
	for ((n = 1; n <= CYCLES; n++)); do
		t0=$(ms)
		"$DDE" hotplug add --disk "nvme:$T/d.img" >/dev/null 2>&1
		wait_log "bddf: nvme0n1: disk of" "$n" || { echo "nvme cycle $n: no disk: $(tail -3 "$T/log")"; break; }
		"$BLKIO" nvme0n1 get "$T/r" 0 4096 4096 1 >/dev/null 2>&1
		echo $(($(ms) - t0)) >>"$T/add"
		t0=$(ms)
		"$DDE" hotplug del 01:00.0 >/dev/null 2>&1
		echo $(($(ms) - t0)) >>"$T/del"
	done
	printf '%-22s %18s %18s\n' "${label}nvme" "$(stats <"$T/add" | sed 's/ / \/ /')" \
		"$(stats <"$T/del" | sed 's/ / \/ /')"
	: >"$T/add" && : >"$T/del"
	for ((n = 1; n <= CYCLES; n++)); do
		t0=$(ms)
		"$DDE" hotplug add --nic "e1000,net=udp:$port:$((port + 1))" >/dev/null 2>&1
		# the first frame through it, sent as soon as the interface is there
		wait_log "netd: interface net0 attached" "$n" ||
			{ echo "e1000 cycle $n: no interface: $(tail -3 "$T/log")"; break; }
		DDE_NET=$DDE_NET "$FRAMES" --qemu-listen $port --qemu-peer $((port + 1)) --only rx \
			--count 1 --window 1 >/dev/null 2>&1
		echo $(($(ms) - t0)) >>"$T/add"
		t0=$(ms)
		"$DDE" hotplug del 01:00.0 >/dev/null 2>&1
		echo $(($(ms) - t0)) >>"$T/del"
	done
	printf '%-22s %18s %18s\n' "${label}e1000" "$(stats <"$T/add" | sed 's/ / \/ /')" \
		"$(stats <"$T/del" | sed 's/ / \/ /')"
	kill -INT "$run"
	wait "$run" 2>/dev/null
	bg=""
done
echo "(e1000: its probe reads the EEPROM bit by bit through trapped MMIO, about 2 s here,"
echo " then its first frame waits for the link, which its watchdog reports 2 s later)"

echo
bench_title "power management: dde pm suspend / resume (median of $ROUNDS)"
printf '%-12s %14s %14s\n' "driver" "suspend ms" "resume ms"
truncate -s 64M "$T/a.img"
export DDE_BLK="@dde-bench-pmblk-$$" DDE_NET="@dde-bench-pmnet-$$"
"$DDE" run --nic "e1000,net=udp:$port:$((port + 1))" --disk "nvme:$T/d.img" --disk "ahci:$T/a.img" \
	--blk-socket "$DDE_BLK" --net-socket "$DDE_NET" >"$T/log" 2>&1 &
run=$!
bg="$run"
export DDE_RUN=@dde-run-$run
wait_log "netd: interface net0: link up" 1 && wait_log "ata6: SATA link" 1
for dev in "e1000 00:02.0" "nvme 00:01.0" "ahci 00:1f.2"; do
	set -- $dev
	: >"$T/s" && : >"$T/r"
	for ((n = 1; n <= ROUNDS; n++)); do
		"$DDE" pm suspend "$2" 2>&1 | sed -n 's/.* suspended in \([0-9]*\) ms$/\1/p' >>"$T/s"
		"$DDE" pm resume "$2" 2>&1 | sed -n 's/.* resumed in \([0-9]*\) ms$/\1/p' >>"$T/r"
	done
	printf '%-12s %14s %14s\n' "$1" "$(stats <"$T/s" | cut -d' ' -f1)" "$(stats <"$T/r" | cut -d' ' -f1)"
done
kill -INT "$run"
wait "$run" 2>/dev/null
bg=""
