#!/bin/bash
# ATA disks through Linux's libata drivers (from source, with libata, the
# SCSI midlayer and sd) in a process of their own, at bddf: SATA on q35's
# ICH9 AHCI (ahci) and IDE on pc's PIIX3 (ata_piix, compatibility mode).
# Each time an MBR disk with logical partitions and a GPT disk, named sda
# and sdb as Linux names them; bddf's listing equals sfdisk's; what the images held
# before start is read back (depth 1 and 32); writes unaligned to pages and
# of several MiB (depth 1 and 32, FUA, flush) land in the image files
# after QEMU exits; requests beyond a partition fail and touch nothing;
# trim reaches the image.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

BLKIO="$O/tests/block/blkio"
export PATH="$PATH:/usr/sbin:/sbin"

# ATA_KINDS: which of the two (default both)
for spec in "ahci q35 ahci ahci@00:1f.2" "ide pc ata_piix ata_piix@00:01.1"; do
	set -- $spec
	[[ " ${ATA_KINDS:-ahci ide} " == *" $1 "* ]] || continue
	kind=$1 machine=$2 driver=$pre$3 inst=$pre$4
	if [ -z "$pre" ] && [ ! -x "$O/drivers/$driver" ]; then
		not_ok "Linux's $driver is built ($O/drivers/$driver)"
		continue
	fi
	M="$T/mbr.img" G="$T/gpt.img"
	mbr_image "$M"
	gpt_image "$G"

	export DDE_BLK="@dde-test-ata-$$-$kind"
	"$DDE" run "${run_extra[@]}" --machine "$machine" --disk "$kind:$M" --disk "$kind:$G" --blk-socket "$DDE_BLK" >"$T/run.log" 2>&1 &
	run=$!
	BG_PIDS="$BG_PIDS $run"
	if wait_count "bddf: sd[ab]: disk of $inst" 2 90 "$T/run.log"; then
		ok "$driver: Linux's $driver serves both disks at bddf"
	else
		not_ok "$driver: disks at bddf" "$(tail -8 "$T/run.log")"
	fi
	grep -q "scsi 0:0:0:0: Direct-Access .*QEMU HARDDISK" "$T/run.log" &&
		grep -q "sd 0:0:0:0: \[sda\] Attached SCSI disk" "$T/run.log" &&
		ok "$driver: libata's SCSI translation and sd found the disk (scsi 0:0:0:0, sda)" ||
		not_ok "$driver: SCSI scan and sd" "$(grep -E 'scsi|sd ' "$T/run.log" | head -5)"
	grep -q "bddf: sda: disk of $inst (its sda): 67108864 bytes" "$T/run.log" &&
		grep -q "bddf: sdb: disk of $inst (its sdb): 33554432 bytes" "$T/run.log" &&
		ok "$driver: port order gives Linux's names: sda (64 MiB), sdb (32 MiB)" ||
		not_ok "$driver: names and sizes" "$(grep 'bddf:' "$T/run.log")"

	two_disks "$driver" sda sdb "$M" "$G"
	kill -INT $run
	wait $run 2>/dev/null
	two_disks_after "$driver" sda sdb "$M" "$G"
done
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
