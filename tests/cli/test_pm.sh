#!/bin/bash
# Power management (docs/hotplug.md "Power management"): dde pm suspend and
# resume run the drivers' own Linux callbacks (the PCI device's and those
# of the devices below it: ATA ports, SCSI disks) and move the device to
# D3hot and back through its PM capability. e1000, nvme and ahci from
# source, nvme and e1000 as binary modules: I/O checked before, a write
# issued while suspended completes after the resume and is in the image,
# frames both ways after; --all in order; a driver without power
# management (a UEFI driver) is told in one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"

BLKIO="$O/tests/block/blkio"
base=$((29000 + ($$ % 1000) * 4))
export DDE_BLK="@dde-test-pmblk-$$" DDE_NET="@dde-test-pmnet-$$"
truncate -s 64M "$T/n.img" "$T/a.img"

# pm_disk LABEL SLOT DISK IMAGE: write and read back, suspend, a write
# while suspended (it waits), resume: it completes, and is in the image
pm_disk() {
	local label=$1 slot=$2 disk=$3 img=$4 w
	head -c 262144 /dev/urandom >"$T/w1"
	head -c 262144 /dev/urandom >"$T/w2"
	if ! "$BLKIO" "$disk" put "$T/w1" 0 65536 4 >"$T/io.out" 2>&1 ||
		! "$BLKIO" "$disk" get "$T/r1" 0 262144 65536 4 >>"$T/io.out" 2>&1 || ! cmp -s "$T/w1" "$T/r1"; then
		not_ok "$label: I/O before the suspend" "$(cat "$T/io.out")"
		return
	fi
	if "$DDE" pm suspend "$slot" >"$T/pm.out" 2>&1 && grep -q "suspended: [1-9][0-9]* callback" "$T/pm.out"; then
		ok "$label: suspended by its driver's callbacks: $(grep -o 'suspended: .*' "$T/pm.out" | head -1)"
	else
		not_ok "$label: suspend" "$(cat "$T/pm.out")"
	fi
	"$BLKIO" "$disk" put "$T/w2" 1048576 65536 4 >"$T/w2.out" 2>&1 &
	w=$!
	sleep 1
	if kill -0 $w 2>/dev/null; then
		ok "$label: a write issued while suspended waits"
	else
		not_ok "$label: a write while suspended did not wait" "$(cat "$T/w2.out")"
	fi
	if "$DDE" pm resume "$slot" >"$T/pm.out" 2>&1 && grep -q "resumed: [1-9][0-9]* callback.*now D0" "$T/pm.out" &&
		wait $w && "$BLKIO" "$disk" get "$T/r2" 1048576 262144 65536 4 >"$T/io.out" 2>&1 &&
		cmp -s "$T/w2" "$T/r2" && "$BLKIO" "$disk" flush >/dev/null 2>&1 &&
		cmp -s "$T/w2" <(dd if="$img" bs=262144 skip=4 count=1 2>/dev/null) &&
		cmp -s "$T/w1" <(dd if="$img" bs=262144 count=1 2>/dev/null); then
		ok "$label: resumed ($(grep -o 'resumed: [0-9]* callback(s)' "$T/pm.out")); the write completes, reads back, both writes are in the image"
	else
		not_ok "$label: resume" "$(cat "$T/pm.out" "$T/w2.out" "$T/io.out")"
		kill $w 2>/dev/null
	fi
}

# pm_nic LABEL SLOT: suspend, resume, frames both ways exact
pm_nic() {
	local label=$1 slot=$2 ups
	ups=$(grep -c "netd: interface net0: link up" "$log")
	if "$DDE" pm suspend "$slot" >"$T/pm.out" 2>&1 && grep -q "suspended: [1-9]" "$T/pm.out" &&
		"$DDE" pm resume "$slot" >>"$T/pm.out" 2>&1 && grep -q "resumed: [1-9].*now D0" "$T/pm.out" &&
		wait_count "netd: interface net0: link up" $((ups + 1)) 20 "$log" &&
		DDE_NET=$DDE_NET "$FRAMES" --qemu-listen $base --qemu-peer $((base + 1)) --count 300 \
			--window 8 >"$T/frames.out" 2>&1 &&
		grep -q "^tx: 300 frames .*, 300 arrived .*0 lost, 0 bad" "$T/frames.out" &&
		grep -q "^rx: 300 frames .*, 300 reached .*0 lost, 0 bad" "$T/frames.out"; then
		ok "$label: suspended and resumed by its driver's callbacks; the link comes back, 300 frames each way exact"
	else
		not_ok "$label: suspend and resume" "$(cat "$T/pm.out" "$T/frames.out" 2>/dev/null; tail -3 "$log")"
	fi
}

log="$T/run.log"
dde_bg "$log" --nic "e1000,net=udp:$base:$((base + 1))" --disk "nvme:$T/n.img" --disk "ahci:$T/a.img" \
	--blk-socket "$DDE_BLK" --net-socket "$DDE_NET"
run=$bg
export DDE_RUN=@dde-run-$run
if wait_for "netd: interface net0: link up" 60 "$log" && wait_for "bddf: sda: disk" 30 "$log" &&
	wait_for "ata6: SATA link" 30 "$log"; then
	pm_disk "nvme" 00:01.0 nvme0n1 "$T/n.img"
	grep -q "00:01.0: suspended: .*now D3hot" <(grep "pm: nvme" "$log") &&
		ok "nvme: the device was in D3hot (its PM capability), and back in D0" ||
		not_ok "nvme: D3hot" "$(grep 'pm: nvme' "$log")"
	pm_disk "ahci" 00:1f.2 sda "$T/a.img"
	pm_nic "e1000" 00:02.0
	expect "a second resume: refused" 1 "not suspended|running" "$DDE" pm resume 00:02.0
	expect "pm of a slot with no driver" 1 "no driver runs on it" "$DDE" pm suspend 00:07.0
	one_line "dde pm with a wrong verb" "$DDE" pm sleep 00:01.0
	# all of them: suspend in reverse start order, resume in start order
	if "$DDE" pm suspend --all >"$T/all.out" 2>&1 && [ "$(grep -c 'suspended in' "$T/all.out")" = 3 ] &&
		"$DDE" pm resume --all >>"$T/all.out" 2>&1 && [ "$(grep -c 'resumed in' "$T/all.out")" = 3 ] &&
		[ "$(grep -o 'driver [a-z0-9]*@[0-9a-f:.]* suspended' "$T/all.out" | tr '\n' ' ')" = \
		  "$(grep -o 'driver [a-z0-9]*@[0-9a-f:.]* resumed' "$T/all.out" | tac | sed 's/resumed/suspended/' | tr '\n' ' ')" ] &&
		"$BLKIO" sda get "$T/r1" 0 262144 65536 4 >/dev/null 2>&1 && cmp -s "$T/w1" "$T/r1"; then
		ok "pm suspend --all and resume --all: every driver, resumed in the reverse order; the disk reads back"
	else
		not_ok "pm --all" "$(cat "$T/all.out")"
	fi
	! grep -q "restarting it" "$log" && ok "no driver was restarted (a suspended one is not taken for hung)" ||
		not_ok "a driver was restarted" "$(grep -E 'hung|restart' "$log")"
else
	not_ok "the machine for power management" "$(tail -5 "$log")"
fi
dde_stop "$run"

# binary modules: the ko host runs the same PM core
log="$T/run-ko.log"
dde_bg "$log" --nic "e1000,net=udp:$base:$((base + 1))" --disk "nvme:$T/n.img" --prefer ko \
	--blk-socket "$DDE_BLK" --net-socket "$DDE_NET"
run=$bg
export DDE_RUN=@dde-run-$run
if wait_for "netd: interface net0: link up" 60 "$log" && wait_for "bddf: nvme0n1: disk" 30 "$log"; then
	pm_disk "ko:nvme" 00:01.0 nvme0n1 "$T/n.img"
	pm_nic "ko:e1000" 00:02.0
else
	not_ok "the machine with binary modules" "$(tail -5 "$log")"
fi
dde_stop "$run"

# a UEFI driver has no power management: one line
if [ -r "$O/share/dde/efi-dir" ]; then
	log="$T/run-efi.log"
	dde_bg "$log" --disk "nvme:$T/n.img" --driver efi:NvmExpressDxe@00:01.0 --blk-socket "$DDE_BLK"
	run=$bg
	export DDE_RUN=@dde-run-$run
	if wait_for "bddf: nvme0n1: disk" 60 "$log"; then
		"$DDE" pm suspend 00:01.0 >"$T/out" 2>&1
		rc=$?
		[ $rc = 1 ] && [ "$(wc -l <"$T/out")" = 1 ] && grep -q "has no power management" "$T/out" &&
			ok "a driver without power management (UEFI's NvmExpressDxe): one line, $(cat "$T/out")" ||
			not_ok "pm of a UEFI driver" "status $rc: $(cat "$T/out")"
	else
		not_ok "the machine with a UEFI driver" "$(tail -3 "$log")"
	fi
	dde_stop "$run"
else
	skip "pm of a UEFI driver" "no UEFI drivers in the cache"
fi
no_leftovers "no QEMU or ddeio left behind"
finish
