#!/bin/bash
# USB and input (docs/usb.md, docs/input.md): Linux's xhci, ehci, uhci and ohci
# host controller drivers with usbcore, usbhid/hid-generic and usb-storage
# in one driver process per controller, against QEMU's qemu-xhci,
# ich9-usb-ehci1, piix3-usb-uhci and pci-ohci; and the same with Debian's binary
# modules in the driver host ko-usb.
#
# On each controller: keys sent with QEMU's input-send-event (QMP) reach an
# inputd client as exactly those key events, press and release, in order;
# a tablet's absolute position (xhci) or a mouse's motion (ehci, uhci) and
# buttons likewise; a usb-storage disk appears in bddf, is written and read
# over NBD and the data is in the image. Then USB_CYCLES (default 4 on
# xhci, 3 on the others, 3 and 2 with the binary modules, to keep make
# check short: make bench's usb_bench.sh runs 100 on each)
# attach/detach cycles of a keyboard (`dde usb add|del`: a key must arrive
# after every attach) and of a storage device (a block written and read
# back after every attach), and nothing leaked: the same driver process
# (never restarted), its descriptors and memory, inputd's and bddf's lists,
# QEMU's own list of USB devices.
# Then the driver is killed (kill -9) in the middle of an NBD copy to the
# stick: it comes back, the copy completes intact, the keyboard re-enumerates.
. "$(dirname "$0")/lib.sh"

QMPSEND="$O/tests/input/qmpsend"
BLKIO="$O/tests/block/blkio"

# ---- what is refused, in one line ----
one_line "--usb-device without a host controller is refused" "$DDE" lspci --usb-device usb-kbd
one_line "--usb-device usb-storage without a file is refused" "$DDE" lspci --usb xhci \
	--usb-device usb-storage
one_line "an unknown USB device model is refused" "$DDE" lspci --usb xhci --usb-device usb-foo
one_line "--usb-device on a controller that is not there is refused" "$DDE" lspci --usb xhci \
	--usb-device usb-kbd,usb=1
one_line "an unknown host controller is refused" "$DDE" lspci --usb ohcx
expect "dde lspci shows the three host controllers" 0 "1b36:000d.*8086:293a.*8086:7020|8086:7020" \
	"$DDE" lspci --usb xhci --usb ehci --usb uhci
expect "dde usb without a running dde run" 1 "cannot reach dde run" \
	env DDE_RUN=@dde-test-none-$$ "$DDE" usb
one_line "dde usb with a wrong verb" "$DDE" usb plug usb-kbd

# keys LOG: the EV_KEY lines of `dde input` output LOG, as "CODE VALUE"
keys() {
	sed -n 's/.*type 1 (EV_KEY), code [0-9]* (\([A-Z_0-9]*\)), value \(-\{0,1\}[0-9]*\)$/\1 \2/p' "$1"
}
# axes LOG: the EV_REL and EV_ABS lines, as "CODE VALUE"
axes() {
	sed -n 's/.*type [23] (EV_\(REL\|ABS\)), code [0-9]* (\([A-Z_0-9]*\)), value \(-\{0,1\}[0-9]*\)$/\2 \3/p' "$1"
}

# device_of NAME-PATTERN: inputd's name of the device whose Linux name matches
device_of() {
	DDE_INPUT=$INP "$DDE" input 2>/dev/null | awk -v p="$1" '$0 ~ p { print $1; exit }'
}

# send_keys LABEL DEVICE: a word with a shifted letter and Enter, exact
send_keys() {
	local label=$1 dev=$2 w
	DDE_INPUT=$INP "$DDE" input "$dev" --count 16 --timeout 8000 >"$T/keys.out" 2>&1 &
	w=$!
	sleep 0.3
	"$QMPSEND" "$QMP" key:h:down key:h:up key:shift:down key:i:down key:i:up key:shift:up \
		key:ret:down key:ret:up >"$T/qmp.out" 2>&1
	wait $w
	keys "$T/keys.out" >"$T/keys.got"
	printf '%s\n' "KEY_H 1" "KEY_H 0" "KEY_LEFTSHIFT 1" "KEY_I 1" "KEY_I 0" "KEY_LEFTSHIFT 0" \
		"KEY_ENTER 1" "KEY_ENTER 0" >"$T/keys.want"
	# --count stops at the 16th event (the last key's): its report's SYN is not printed
	if cmp -s "$T/keys.got" "$T/keys.want" && [ "$(grep -c SYN_REPORT "$T/keys.out")" = 7 ]; then
		ok "$label: 8 key events sent with input-send-event arrive exactly, in order, a report each"
	else
		not_ok "$label: keys" "$(cat "$T/qmp.out"; tr '\n' ' ' <"$T/keys.got"; tail -3 "$T/keys.out")"
	fi
}

# send_pointer LABEL DEVICE KIND: a tablet's position or a mouse's motion, and buttons
send_pointer() {
	local label=$1 dev=$2 kind=$3 w
	DDE_INPUT=$INP "$DDE" input "$dev" --count 6 --timeout 8000 >"$T/ptr.out" 2>&1 &
	w=$!
	sleep 0.3
	if [ "$kind" = tablet ]; then
		"$QMPSEND" "$QMP" abs:x:16384+abs:y:8192 btn:left:down btn:left:up >"$T/qmp.out" 2>&1
		printf '%s\n' "ABS_X 16384" "ABS_Y 8192" >"$T/axes.want"
		printf '%s\n' "BTN_LEFT 1" "BTN_LEFT 0" >"$T/btn.want"
	else
		"$QMPSEND" "$QMP" rel:x:10+rel:y:-5 btn:right:down btn:right:up >"$T/qmp.out" 2>&1
		printf '%s\n' "REL_X 10" "REL_Y -5" >"$T/axes.want"
		printf '%s\n' "BTN_RIGHT 1" "BTN_RIGHT 0" >"$T/btn.want"
	fi
	wait $w
	axes "$T/ptr.out" >"$T/axes.got"
	keys "$T/ptr.out" >"$T/btn.got"
	if cmp -s "$T/axes.got" "$T/axes.want" && cmp -s "$T/btn.got" "$T/btn.want"; then
		ok "$label: the $kind's $(tr '\n' ' ' <"$T/axes.want")and a button press and release arrive exactly"
	else
		not_ok "$label: $kind" "$(cat "$T/qmp.out"; tr '\n' ' ' <"$T/axes.got"; tr '\n' ' ' <"$T/btn.got"; tail -3 "$T/ptr.out")"
	fi
}

# storage LABEL DISK IMAGE: 1 MiB written and read over NBD, then in the image
storage() {
	local label=$1 disk=$2 img=$3 nbd
	head -c 1048576 /dev/urandom >"$T/data"
	DDE_BLK=$BLK "$DDE" nbd --export "$disk" --socket "$T/nbd.sock" >"$T/nbd.log" 2>&1 &
	nbd=$!
	wait_log "$T/nbd.log" "serving|listening|export" 10
	if nbdcopy "$T/data" "nbd+unix:///$disk?socket=$T/nbd.sock" >"$T/copy.out" 2>&1 &&
		nbdcopy "nbd+unix:///$disk?socket=$T/nbd.sock" - 2>>"$T/copy.out" | head -c 1048576 |
		cmp -s - "$T/data" && cmp -s <(head -c 1048576 "$img") "$T/data"; then
		ok "$label: usb-storage disk $disk: 1 MiB written with nbdcopy, read back the same, in the image"
	else
		not_ok "$label: usb-storage over NBD" "$(cat "$T/copy.out" "$T/nbd.log" | tail -5)"
	fi
	kill "$nbd" 2>/dev/null
	wait "$nbd" 2>/dev/null
}

# fd_count PID; dma_used SLOT: what the driver's DMA memory holds (all it
# allocates: `dde driver memory`), "BYTES BLOCKS"
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
dma_used() { "$DDE" driver memory "$1" 2>&1 | sed -n 's/.*dma: \([0-9]*\) bytes in use in \([0-9]*\) blocks.*/\1 \2/p'; }

# cycles LABEL CONTROLLER COUNT: keyboard and storage attach/detach cycles
cycles() {
	local label=$1 inst=$2 n=$3 i id dev w pid fds0 bad="" t0 worst=0 ms kb1 kb2 st1 st2 disk
	pid=$(driver_pid "$log" "$inst")
	fds0=$(fd_count "$pid")
	: >"$T/all.out"
	DDE_INPUT=$INP "$DDE" input --all >>"$T/all.out" 2>&1 &
	w=$!
	BG_PIDS="$BG_PIDS $w"
	sleep 0.3
	for i in $(seq "$n"); do
		: >"$T/all.out"	# this cycle's lines only (appended to: truncation is safe)
		t0=$(date +%s%N)
		"$DDE" usb add usb-kbd >"$T/add.out" 2>&1 || { bad="attach $i: $(cat "$T/add.out")"; break; }
		id=$(sed -n 's/.*(QEMU id \(usbhp[0-9]*\))$/\1/p' "$T/add.out")
		# the new keyboard announced, and a key through it
		if ! wait_log "$T/all.out" "^input[0-9]*: Input device name: \"QEMU QEMU USB Keyboard\"" 10; then
			bad="cycle $i: the keyboard was not announced"; break
		fi
		dev=$(sed -n 's/^\(input[0-9]*\): Input device name: "QEMU QEMU USB Keyboard".*/\1/p' "$T/all.out" | tail -1)
		"$QMPSEND" "$QMP" key:z:down key:z:up >/dev/null 2>&1
		if ! wait_log "$T/all.out" "^$dev: .*code 44 \(KEY_Z\), value 0" 10; then
			bad="cycle $i: no key from the re-attached keyboard"; break
		fi
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -gt "$worst" ] && worst=$ms
		"$DDE" usb del "$id" >"$T/del.out" 2>&1 || { bad="detach $i: $(cat "$T/del.out")"; break; }
		if ! wait_log "$T/all.out" "^$dev: gone|^$dev: .*gone" 10; then
			bad="cycle $i: the keyboard did not go"; break
		fi
		# after the first cycle: what stays allocated for good (caches) is
		# allocated; from then on a cycle must give back all it takes
		[ "$i" = 1 ] && sleep 0.3 && kb1=$(dma_used 00:01.0)
	done
	kill "$w" 2>/dev/null
	wait "$w" 2>/dev/null
	sleep 0.3
	kb2=$(dma_used 00:01.0)
	if [ -z "$bad" ]; then
		ok "$label: $n attach/detach cycles of a keyboard (dde usb add|del): a key arrived after every attach (attach to key: at most $worst ms)"
	else
		not_ok "$label: keyboard cycles" "$bad; $(grep -E "$inst|inputd" "$log" | tail -4)"
	fi
	bad=""
	for i in $(seq "$n"); do
		"$DDE" usb add "usb-storage:$T/c.img" >"$T/add.out" 2>&1 || { bad="attach $i: $(cat "$T/add.out")"; break; }
		id=$(sed -n 's/.*(QEMU id \(usbhp[0-9]*\))$/\1/p' "$T/add.out")
		if ! wait_count "bddf: sd[a-z]*: disk of $inst" $((i + 1)) 15 "$log"; then
			bad="cycle $i: the disk did not appear"; break
		fi
		disk=$(sed -n "s/^bddf: \(sd[a-z]*\): disk of $inst.*/\1/p" "$log" | tail -1)
		head -c 65536 /dev/urandom >"$T/blk"
		if ! DDE_BLK=$BLK "$BLKIO" "$disk" put "$T/blk" $((i * 65536)) >"$T/io.out" 2>&1 ||
			! DDE_BLK=$BLK "$BLKIO" "$disk" get "$T/blk.r" $((i * 65536)) 65536 >>"$T/io.out" 2>&1 ||
			! cmp -s "$T/blk" "$T/blk.r"; then
			bad="cycle $i: I/O on $disk: $(tail -2 "$T/io.out")"; break
		fi
		"$DDE" usb del "$id" >"$T/del.out" 2>&1 || { bad="detach $i: $(cat "$T/del.out")"; break; }
		if ! wait_count "$inst: sd[a-z]*: removed" "$i" 15 "$log"; then
			bad="cycle $i: $disk was not removed"; break
		fi
		[ "$i" = 1 ] && sleep 0.3 && st1=$(dma_used 00:01.0)
	done
	sleep 0.3
	st2=$(dma_used 00:01.0)
	if [ -z "$bad" ]; then
		ok "$label: $n attach/detach cycles of a usb-storage disk: 64 KiB written and read back after every attach"
	else
		not_ok "$label: storage cycles" "$bad; $(grep -E "$inst|bddf" "$log" | tail -4)"
	fi
	# nothing leaked
	sleep 0.5
	if [ "$(driver_pid "$log" "$inst")" = "$pid" ] && ! grep -q "restarting it" "$log" &&
		[ "$(fd_count "$pid")" -le "$fds0" ] && [ -n "$kb1" ] && [ "$kb1" = "$kb2" ] &&
		[ -n "$st1" ] && [ "$st1" = "$st2" ] && ! "$DDE" usb | grep -q usbhp &&
		[ "$(DDE_INPUT=$INP "$DDE" input | grep -c "QEMU USB Keyboard")" = 1 ]; then
		ok "$label: nothing leaked: one driver process all along, $fds0 descriptors; its DMA memory (all it allocates) the same after the last cycle as after the first (keyboard: ${kb1% *} bytes, storage: ${st1% *}); QEMU and inputd list only the devices of the start"
	else
		not_ok "$label: leaks" "pid $pid -> $(driver_pid "$log" "$inst"), fds $fds0 -> $(fd_count "$pid"), DMA memory (bytes blocks) keyboard $kb1 -> $kb2, storage $st1 -> $st2; $("$DDE" usb; DDE_INPUT=$INP "$DDE" input | head -5)"
	fi
}

# comeback LABEL INSTANCE DISK IMAGE MiB: the driver killed (kill -9) while
# nbdcopy writes MiB to the USB stick; dde run restarts it, the copy
# completes without an error and the data is on the disk and in the image
# (bddf sent again what was outstanding), the disk keeps its name, and the
# keyboard comes back to inputd as a new device that delivers a key
comeback() {
	local label=$1 inst=$2 disk=$3 img=$4 mib=$5 pid nbd cp w dev bad="" back
	pid=$(driver_pid "$log" "$inst")
	head -c $((mib * 1048576)) /dev/urandom >"$T/cb.data"
	: >"$T/cb.out"
	DDE_INPUT=$INP "$DDE" input --all >"$T/cb.out" 2>&1 &
	w=$!
	BG_PIDS="$BG_PIDS $w"
	DDE_BLK=$BLK "$DDE" nbd --export "$disk" --socket "$T/cb.sock" >"$T/cb-nbd.log" 2>&1 &
	nbd=$!
	BG_PIDS="$BG_PIDS $nbd"
	wait_log "$T/cb-nbd.log" "serving|listening|export" 10
	nbdcopy "$T/cb.data" "nbd+unix:///$disk?socket=$T/cb.sock" >"$T/cb-copy.out" 2>&1 &
	cp=$!
	BG_PIDS="$BG_PIDS $cp"
	# mid-copy: once its first 64 KiB are in the image
	for _ in $(seq 1000); do
		cmp -s -n 65536 "$img" "$T/cb.data" && break
		sleep 0.01
	done
	kill -9 "$pid"
	if ! wait_log "$log" "^dde: restarted driver $inst " 20; then
		bad="not restarted: $(grep -E "^dde:|$inst" "$log" | tail -3)"
	elif ! wait "$cp"; then
		bad="nbdcopy failed: $(tail -3 "$T/cb-copy.out")"
	elif ! nbdcopy "nbd+unix:///$disk?socket=$T/cb.sock" - 2>"$T/cb-copy.out" |
		head -c $((mib * 1048576)) | cmp -s - "$T/cb.data"; then
		bad="read back different: $(tail -3 "$T/cb-copy.out")"
	elif ! cmp -s <(head -c $((mib * 1048576)) "$img") "$T/cb.data"; then
		bad="the image holds something else"
	elif ! wait_log "$T/cb.out" "^input[0-9]*: Input device name: \"QEMU QEMU USB Keyboard\"" 30; then
		bad="the keyboard did not come back: $(tail -3 "$T/cb.out")"
	else
		dev=$(sed -n 's/^\(input[0-9]*\): Input device name: "QEMU QEMU USB Keyboard".*/\1/p' "$T/cb.out" | tail -1)
		"$QMPSEND" "$QMP" key:z:down key:z:up >/dev/null 2>&1
		wait_log "$T/cb.out" "^$dev: .*code 44 \(KEY_Z\), value 0" 10 ||
			bad="no key from the keyboard after the restart"
	fi
	back=$(sed -n "s/^bddf: $disk: back \([0-9]* ms\) after its driver went away ($inst, restart 1): \([0-9]*\) request parts.*/\1, \2 request parts sent again/p" "$log")
	if [ -z "$bad" ] && [ -n "$back" ] &&
		"$DDE" status | grep -Eq "^$inst +running +[0-9]+ +1 "; then
		ok "$label: the driver killed mid-copy came back: $mib MiB written with nbdcopy, no client error, read back and in the image ($disk back $back); the keyboard re-enumerated and delivers keys"
	else
		not_ok "$label: the driver killed mid-copy" "${bad:-disk $disk: ${back:-not back}; $("$DDE" status | tail -2)}"
	fi
	kill "$w" "$nbd" "$cp" 2>/dev/null
	wait "$w" "$nbd" "$cp" 2>/dev/null
}

# wait_count PATTERN N SECONDS LOG: LOG has N lines matching PATTERN
wait_count() {
	for _ in $(seq $(($3 * 10))); do
		[ "$(grep -Ec -- "$1" "$4" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# each controller with Linux's drivers built from source; then each with
# Debian's binary modules (dde run --prefer ko: xhci-pci, xhci-hcd, usbcore,
# hid, usbhid, hid-generic, usb-storage, scsi_mod, sd_mod ... in the driver
# host ko-usb, native engine), and xHCI's on the translated engine (dbt:);
# USB_ONLY="xhci ko:ehci ..." runs only those (ko:ohci is not in the default
# list, to keep make check short)
for what in ${USB_ONLY:-xhci ehci uhci ohci ko:xhci ko:ehci ko:uhci dbt:xhci}; do
	ctrl=${what#*:} prefer=source engine=native inst="$ctrl@00:01.0"
	case $what in
	ko:xhci) prefer=ko inst="ko:xhci-pci@00:01.0" pointer=tablet n=${USB_CYCLES:-3} ;;
	dbt:xhci) prefer=ko engine=dbt inst="ko:xhci-pci@00:01.0" pointer=tablet n=${USB_CYCLES:-2} ;;
	ko:ehci) prefer=ko inst="ko:ehci-pci@00:01.0" pointer=mouse n=${USB_CYCLES:-2} ;;
	ko:uhci) prefer=ko inst="ko:uhci-hcd@00:01.0" pointer=mouse n=${USB_CYCLES:-2} ;;
	ko:ohci) prefer=ko inst="ko:ohci-pci@00:01.0" pointer=mouse n=${USB_CYCLES:-2} ;;
	xhci) pointer=tablet n=${USB_CYCLES:-4} ;;
	*) pointer=mouse n=${USB_CYCLES:-3} ;;
	esac
	tag=${what/:/-}
	log="$T/$tag.log" QMP="$T/qmp-$tag" INP="@dde-test-inp-$$-$tag" BLK="@dde-test-blk-$$-$tag"
	truncate -s 32M "$T/s.img" "$T/c.img"
	dde_bg "$log" --usb "$ctrl" --prefer "$prefer" --engine "$engine" --usb-device usb-kbd --usb-device "usb-$pointer" \
		--usb-device "usb-storage:$T/s.img" --qmp "$QMP" --input-socket "$INP" --blk-socket "$BLK"
	run=$bg
	export DDE_RUN=@dde-run-$run
	if wait_log "$log" "inputd: device input1" 60 && wait_log "$log" "bddf: sd[a-z]*: disk of" 30; then
		ok "$what: Linux's $ctrl driver ($inst) enumerated the keyboard, the $pointer and the disk ($(sed -n 's/^inputd: device \(input[0-9]\): \(.*\) (driver.*/\1 \2/p' "$log" | tr '\n' ',' | sed 's/,$//'))"
		send_keys "$what" "$(device_of Keyboard)"
		send_pointer "$what" "$(device_of "USB ${pointer^}")" "$pointer"
		disk=$(sed -n 's/^bddf: \(sd[a-z]*\): disk of.*/\1/p' "$log" | head -1)
		storage "$what" "$disk" "$T/s.img"
		cycles "$what" "$inst" "$n"
		comeback "$what" "$inst" "$disk" "$T/s.img" "$(case $ctrl in xhci) echo 24 ;; ehci) echo 8 ;; *) echo 2 ;; esac)"
	else
		not_ok "$what: the devices were not enumerated" "$(grep -vE '^ddeio: driver' "$log" | tail -8)"
	fi
	dde_stop "$run"
	# the one kill is comeback's
	if grep -E "PANIC|not implemented|was killed by" "$log" | grep -qv "was killed by signal 9 (Killed)"; then
		not_ok "$what: the driver stopped on its own" "$(grep -E 'PANIC|not implemented|was killed by' "$log" | head -3)"
	fi
done

# the uinput export needs the host's /dev/uinput (docs/input.md)
if [ -w /dev/uinput ]; then
	log="$T/uinput.log"
	dde_bg "$log" --usb xhci --usb-device usb-kbd --uinput
	run=$bg
	if wait_log "$log" "inputd: device input0" 60 && wait_log "$log" "uinput" 10; then
		ok "uinput: inputd exported the keyboard to the host ($(grep uinput "$log" | head -1))"
	else
		not_ok "uinput export" "$(grep -E 'inputd' "$log" | tail -3)"
	fi
	dde_stop "$run"
else
	skip "uinput: the keyboard exported to the host" "this host has no /dev/uinput (modprobe uinput)"
fi
no_leftovers "no QEMU or ddeio left"
finish
