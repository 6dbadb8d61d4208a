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

for spec in "ahci q35 ahci ahci@00:1f.2" "ide pc ata_piix ata_piix@00:01.1"; do
	set -- $spec
	kind=$1 machine=$2 driver=$3 inst=$4
	if [ ! -x "$O/drivers/$driver" ]; then
		not_ok "Linux's $driver is built ($O/drivers/$driver)"
		continue
	fi
	M="$T/mbr.img" G="$T/gpt.img"
	head -c $((64 << 20)) /dev/urandom >"$M"
	head -c $((32 << 20)) /dev/urandom >"$G"
	sfdisk -q "$M" <<-'SF' || not_ok "$driver: sfdisk makes the MBR image"
	label: dos
	start=2048, size=20480, type=83, bootable
	start=22528, size=40960, type=5
	start=24576, size=8192, type=83
	start=34816, size=4096, type=7
	SF
	sfdisk -q "$G" <<-'SF' || not_ok "$driver: sfdisk makes the GPT image"
	label: gpt
	start=2048, size=16384, type=L, name=alpha
	start=18432, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="beta two"
	SF
	before_p6=$(sha "$M" 34816 4096)
	before_g2=$(sha "$G" 18432 8192)

	export DDE_BLK="@dde-test-ata-$$-$kind"
	"$DDE" run --machine "$machine" --disk "$kind:$M" --disk "$kind:$G" --blk-socket "$DDE_BLK" >"$T/run.log" 2>&1 &
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

	for pair in "sda $M" "sdb $G"; do
		set -- $pair
		same_as_sfdisk "$driver: " "$1" "$2"
	done

	for spec in "sda5 $M 24576 8192" "sdb1 $G 2048 16384"; do
		set -- $spec
		for depth in 1 32; do
			"$BLKIO" "$1" get "$T/got" 0 $(($4 * 512)) 4096 $depth >"$T/io" 2>&1
			[ "$(shaf "$T/got")" = "$(sha "$2" "$3" "$4")" ] &&
				ok "$driver: $1: read back as the image holds it (4 KiB requests, depth $depth)" ||
				not_ok "$driver: $1: read at depth $depth" "$(cat "$T/io")"
		done
	done

	head -c 3146240 /dev/urandom >"$T/w1"	# 3 MiB + 1 KiB
	head -c 1536 /dev/urandom >"$T/w2"
	expect "$driver: sda1: 3 MiB + 1 KiB at byte 1536 (1 MiB requests, depth 32)" 0 "wrote 3146240" \
		"$BLKIO" sda1 put "$T/w1" 1536 1048576 32
	expect "$driver: sda5: 1.5 KiB at byte 512 (512-byte requests, depth 1)" 0 "wrote 1536" \
		"$BLKIO" sda5 put "$T/w2" 512 512 1
	expect "$driver: sdb1: 3 MiB + 1 KiB at byte 4096 (64 KiB requests, depth 32, FUA)" 0 "wrote 3146240" \
		"$BLKIO" sdb1 put "$T/w1" 4096 65536 32 fua
	expect "$driver: a flush" 0 "flush: done" "$BLKIO" sdb1 flush
	expect "$driver: sdb1's first write read back over 3 slots" 0 "read 3146240" \
		"$BLKIO" sdb1 sget "$T/r1" 4096 3146240 3
	cmp -s "$T/w1" "$T/r1" && ok "$driver: ... byte for byte" || not_ok "$driver: read back equals the write"
	expect "$driver: a write reaching past sda5's end is refused" 1 "No space left" \
		"$BLKIO" sda5 put "$T/w2" $((8192 * 512 - 512)) 1536 1
	expect "$driver: trim of sdb1's last MiB (sd's WRITE SAME, libata's TRIM)" 0 "discard: done" \
		"$BLKIO" sdb1 discard $((16384 * 512 - 1048576)) 1048576
	kill -INT $run
	wait $run 2>/dev/null

	w1=$(shaf "$T/w1")
	[ "$(sha "$M" $((2048 + 3)) 6145)" = "$w1" ] && ok "$driver: sda1's bytes are in the MBR image" ||
		not_ok "$driver: MBR image holds the write"
	[ "$(sha "$M" $((24576 + 1)) 3)" = "$(shaf "$T/w2")" ] && ok "$driver: sda5's 1.5 KiB are in the image" ||
		not_ok "$driver: MBR image holds the small write"
	[ "$(sha "$G" $((2048 + 8)) 6145)" = "$w1" ] && ok "$driver: sdb1's bytes are in the GPT image" ||
		not_ok "$driver: GPT image holds the write"
	[ "$(sha "$G" $((2048 + 16384 - 2048)) 2048)" = "$(head -c 1048576 /dev/zero | sha256sum | cut -d' ' -f1)" ] &&
		ok "$driver: the trimmed MiB reads as zeros in the image" || not_ok "$driver: trimmed range is zeros"
	[ "$(sha "$M" 34816 4096)" = "$before_p6" ] && [ "$(sha "$G" 18432 8192)" = "$before_g2" ] &&
		ok "$driver: the partitions nobody wrote are unchanged (sda6 after the refused write, sdb2)" ||
		not_ok "$driver: untouched partitions unchanged"
done
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
