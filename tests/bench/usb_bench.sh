#!/bin/bash
# make bench, USB and input (issue 25), on each host controller (xhci,
# ehci, uhci, ohci: Linux's drivers from source):
#  - attach to usable over CYCLES cycles: `dde usb add usb-kbd` (QEMU's
#    device_add) to the keyboard announced by inputd, and `dde usb add
#    usb-storage:FILE` to the first 4 KiB read through bddf; median, p99;
#  - key-press latency from QEMU (input-send-event) to an inputd client
#    (tests/input/keylat), and the part of it after the driver;
#  - usb-storage MB/s (1 MiB reads and writes, 32 in flight, through bddf)
#    against Linux's nvme on the same image file, in the same run: the
#    ratio is the USB path's cost (QEMU's usb-storage speaks bulk-only
#    transport, 1 command at a time, over the host controller's rings).
# Then the soak: SOAK attach/detach cycles of a keyboard and of a disk on
# each controller with the source drivers, nothing leaked
# (tests/cli/test_usb.sh with USB_CYCLES and USB_ONLY).
. "$(dirname "$0")/lib.sh"
CYCLES=${CYCLES:-20}
SOAK=${SOAK:-100}
KEYS=${KEYS:-200}
BLKIO="$O/tests/block/blkio"
KEYLAT="$O/tests/input/keylat"
mbps() { sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p'; }

echo
bench_title "USB: attach to usable ($CYCLES cycles), key latency ($KEYS events), usb-storage vs nvme"
printf '%-6s %16s %16s %20s %20s %16s %16s\n' "" "kbd add->usable" "disk add->read" \
	"key QEMU->client" "of it driver->client" "usb read MB/s" "usb write MB/s"
printf '%-6s %16s %16s %20s %20s %16s %16s\n' "" "median/p99 ms" "median/p99 ms" \
	"median/p99 us" "median/p99 us" "(x nvme)" "(x nvme)"
truncate -s 256M "$T/s.img"
n_rd="" n_wr=""
# nvme on the same image file: the ceiling of this image on this machine
export DDE_BLK="@dde-bench-usbnv-$$"
"$DDE" run --disk "nvme:$T/s.img" --blk-socket "$DDE_BLK" >"$T/log" 2>&1 &
run=$!
bg="$run"
if wait_log "bddf: nvme0n1: disk of" 1; then
	"$BLKIO" nvme0n1 bench read 32 1048576 32 >/dev/null 2>&1
	n_rd=$("$BLKIO" nvme0n1 bench read 128 1048576 32 | mbps)
	n_wr=$("$BLKIO" nvme0n1 bench write 128 1048576 32 | mbps)
fi
kill -INT "$run"; wait "$run" 2>/dev/null
for ctrl in xhci ehci uhci ohci; do
	export DDE_BLK="@dde-bench-usbblk-$$-$ctrl" DDE_INPUT="@dde-bench-usbinp-$$-$ctrl"
	"$DDE" run --usb "$ctrl" --usb-device usb-kbd --usb-device "usb-storage:$T/s.img" \
		--qmp "$T/qmp" --blk-socket "$DDE_BLK" --input-socket "$DDE_INPUT" >"$T/log" 2>&1 &
	run=$!
	bg="$run"
	export DDE_RUN=@dde-run-$run
	if ! wait_log "bddf: sd[a-z]*: disk of" 1 || ! wait_log "inputd: device input0" 1; then
		echo "$ctrl: the devices did not come: $(tail -3 "$T/log")"
		kill -INT "$run"; wait "$run" 2>/dev/null
		continue
	fi
	# keys first, on the keyboard of the start (QEMU's active keyboard)
	lat=$("$KEYLAT" "$T/qmp" input0 "$KEYS" 2>&1)
	q2c=$(echo "$lat" | sed -n 's/^QEMU -> client: median \([0-9]*\) us, p99 \([0-9]*\) us.*/\1\/\2/p')
	d2c=$(echo "$lat" | sed -n 's/^driver -> client: median \([0-9]*\) us, p99 \([0-9]*\) us.*/\1\/\2/p')
	# the disk of the start: MB/s
	"$BLKIO" sda bench read 16 1048576 32 >/dev/null 2>&1
	u_rd=$("$BLKIO" sda bench read 64 1048576 32 | mbps)
	u_wr=$("$BLKIO" sda bench write 64 1048576 32 | mbps)
	# attach to usable
	: >"$T/kbd" && : >"$T/disk"
	for ((n = 1; n <= CYCLES; n++)); do
		t0=$(ms)
		id=$("$DDE" usb add usb-kbd | sed -n 's/.*(QEMU id \(usbhp[0-9]*\))$/\1/p')
		wait_log "inputd: device input1: QEMU QEMU USB Keyboard" "$n" ||
			{ echo "$ctrl keyboard cycle $n: not announced"; break; }
		echo $(($(ms) - t0)) >>"$T/kbd"
		"$DDE" usb del "$id" >/dev/null
		wait_log "inputd: device input1 gone" "$n"
	done
	truncate -s 32M "$T/c.img"
	for ((n = 1; n <= CYCLES; n++)); do
		t0=$(ms)
		id=$("$DDE" usb add "usb-storage:$T/c.img" | sed -n 's/.*(QEMU id \(usbhp[0-9]*\))$/\1/p')
		wait_log "bddf: sd[a-z]*: (disk of|now)" $((n + 1)) ||
			{ echo "$ctrl disk cycle $n: no disk"; break; }
		disk=$(sed -nE 's/^bddf: (sd[a-z]*): (disk of|now).*/\1/p' "$T/log" | tail -1)
		"$BLKIO" "$disk" get "$T/r" 0 4096 4096 1 >/dev/null 2>&1
		echo $(($(ms) - t0)) >>"$T/disk"
		"$DDE" usb del "$id" >/dev/null
		wait_log "$ctrl@00:01.0: sd[a-z]*: removed" "$n"
	done
	printf '%-6s %16s %16s %20s %20s %16s %16s\n' "$ctrl" "$(stats <"$T/kbd" | tr ' ' /)" \
		"$(stats <"$T/disk" | tr ' ' /)" "${q2c:--}" "${d2c:--}" \
		"${u_rd:--} ($(ratio "${u_rd:-}" "$n_rd"))" "${u_wr:--} ($(ratio "${u_wr:-}" "$n_wr"))"
	kill -INT "$run"; wait "$run" 2>/dev/null
done
echo "nvme on the same image: read ${n_rd:--} MB/s, write ${n_wr:--} MB/s"

[ "$SOAK" -gt 0 ] || exit 0
echo
bench_title "USB soak: $SOAK attach/detach cycles of a keyboard and of a disk per controller"
USB_CYCLES=$SOAK USB_ONLY="xhci ehci uhci ohci" O=$O bash "$(dirname "$0")/../cli/test_usb.sh" 2>&1 |
	grep -E "cycles|leaked|not ok|passed" | sed 's/^/  /'
