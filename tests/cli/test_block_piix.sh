#!/bin/bash
# Both channels of pc's PIIX3 IDE through Linux's ata_piix (from source,
# with libata's SFF/BMDMA helpers, the SCSI midlayer and sd), one process:
# an MBR disk (primary master), a disk without a table (primary slave) and
# one on the secondary channel (its own legacy ports 0x170/0x376 and IRQ
# 15), named sda, sdb, sdc as Linux names them. tests/cli/test_block_ata.sh
# covers the primary channel's two disks in depth; here: the secondary
# channel is found and serves reads (depth 1 and 32) and writes (unaligned
# to pages, several MiB at depth 32) while the primary channel writes at
# the same time, without an ATA error or reset; the bytes are in the image
# files after QEMU exits and what nobody wrote is unchanged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

BLKIO="$O/tests/block/blkio"
export PATH="$PATH:/usr/sbin:/sbin"
if [ ! -x "$O/drivers/ata_piix" ]; then
	not_ok "Linux's ata_piix is built ($O/drivers/ata_piix)"
	finish
	exit
fi
if ! command -v sfdisk >/dev/null; then
	not_ok "sfdisk is installed (make deps: fdisk)"
	finish
	exit
fi

M="$T/mbr.img" P="$T/slave.img" S="$T/second.img"
head -c $((64 << 20)) /dev/urandom >"$M"
head -c $((4 << 20)) /dev/urandom >"$P"
head -c $((8 << 20)) /dev/urandom >"$S"
sfdisk -q "$M" <<'SF' || not_ok "sfdisk makes the MBR image"
label: dos
label-id: 0x5eed1de0
start=2048, size=20480, type=83, bootable
start=22528, size=40960, type=5
start=24576, size=8192, type=83
SF
# no table on the others: their first sector must not look like one
dd if=/dev/zero of="$P" bs=512 count=1 conv=notrunc 2>/dev/null
dd if=/dev/zero of="$S" bs=512 count=1 conv=notrunc 2>/dev/null
before_p5=$(sha "$M" 24576 8192)
before_s=$(sha "$S" 12288 4096)

export DDE_BLK="@dde-test-piix-$$"
"$DDE" run --machine pc --disk "ide:$M" --disk "ide:$P" --disk "ide:$S" \
	--blk-socket "$DDE_BLK" >"$T/run.log" 2>&1 &
run=$!
BG_PIDS="$BG_PIDS $run"
if wait_count "bddf: sd[abc]: disk of ata_piix@00:01.1" 3 90 "$T/run.log"; then
	ok "Linux's ata_piix serves three IDE disks at bddf"
else
	not_ok "disks at bddf" "$(tail -8 "$T/run.log")"
fi
grep -q "ata1: PATA max .* cmd 0x1f0 ctl 0x3f6 .* irq 14" "$T/run.log" &&
	grep -q "ata2: PATA max .* cmd 0x170 ctl 0x376 .* irq 15" "$T/run.log" &&
	ok "both channels on their legacy ports and IRQs (0x1f0/14, 0x170/15)" ||
	not_ok "legacy channels" "$(grep -E 'ata[12]:' "$T/run.log")"
grep -q "scsi 0:0:0:0: Direct-Access .*QEMU HARDDISK" "$T/run.log" &&
	grep -q "scsi 0:0:1:0: Direct-Access .*QEMU HARDDISK" "$T/run.log" &&
	grep -q "scsi 1:0:0:0: Direct-Access .*QEMU HARDDISK" "$T/run.log" &&
	ok "libata found master and slave of the first channel and the second channel's disk" ||
	not_ok "SCSI scan" "$(grep -E 'scsi [01]:' "$T/run.log")"
grep -q "bddf: sda: disk of ata_piix@00:01.1 (its sda): 67108864 bytes.*dos table 0x5eed1de0" \
	"$T/run.log" &&
	grep -q "bddf: sdb: disk of ata_piix@00:01.1 (its sdb): 4194304 bytes.*no partition table" \
		"$T/run.log" &&
	grep -q "bddf: sdc: disk of ata_piix@00:01.1 (its sdc): 8388608 bytes.*no partition table" \
		"$T/run.log" &&
	ok "channel and unit order gives Linux's names: sda (64 MiB), sdb (4 MiB), sdc (8 MiB)" ||
	not_ok "names and sizes" "$(grep 'bddf:' "$T/run.log")"

# the second channel: what its image held before start
for depth in 1 32; do
	"$BLKIO" sdc get "$T/got" 0 $((8 << 20)) 65536 $depth >"$T/io" 2>&1
	[ "$(shaf "$T/got")" = "$(sha "$S" 0 16384)" ] &&
		ok "sdc: read back as the image holds it (64 KiB requests, depth $depth)" ||
		not_ok "sdc: read at depth $depth" "$(cat "$T/io")"
done

# both channels at once: 3 MiB + 1 KiB on each at depth 32, 1 MiB requests
head -c 3146240 /dev/urandom >"$T/w1"	# 3 MiB + 1 KiB
head -c 3146240 /dev/urandom >"$T/w3"
head -c 1536 /dev/urandom >"$T/w2"
"$BLKIO" sda1 put "$T/w1" 1536 1048576 32 >"$T/io1" 2>&1 &
first=$!
"$BLKIO" sdc put "$T/w3" 1048576 1048576 32 >"$T/io3" 2>&1
second=$?
wait $first
first=$?
[ $first = 0 ] && [ $second = 0 ] && grep -q "wrote 3146240" "$T/io1" &&
	grep -q "wrote 3146240" "$T/io3" &&
	ok "sda1 and sdc written at the same time (3 MiB + 1 KiB each, depth 32)" ||
	not_ok "writes on both channels" "$(cat "$T/io1" "$T/io3")"
expect "sdc: 1.5 KiB at byte 512 (512-byte requests, depth 1)" 0 "wrote 1536" \
	"$BLKIO" sdc put "$T/w2" 512 512 1
expect "sdb (first channel's slave): 1.5 KiB at byte 512" 0 "wrote 1536" \
	"$BLKIO" sdb put "$T/w2" 512 512 1
expect "a flush of sdc" 0 "flush: done" "$BLKIO" sdc flush
expect "sdc's write read back over 3 slots" 0 "read 3146240" \
	"$BLKIO" sdc sget "$T/r3" 1048576 3146240 3
cmp -s "$T/w3" "$T/r3" && ok "... byte for byte" || not_ok "read back equals the write"
if grep -qE "ata[12](\.0[01])?: (exception|failed command|hard resetting|limiting)" "$T/run.log"; then
	not_ok "no ATA errors or resets" "$(grep -E 'ata[12]' "$T/run.log" | tail -5)"
else
	ok "no ATA errors, resets or speed limiting on the way"
fi
kill -INT $run
wait $run 2>/dev/null

# after QEMU exits: the images hold exactly what was written
w2=$(shaf "$T/w2")
[ "$(sha "$M" $((2048 + 3)) 6145)" = "$(shaf "$T/w1")" ] && ok "sda1's bytes are in its image" ||
	not_ok "MBR image holds the write"
[ "$(sha "$S" 2048 6145)" = "$(shaf "$T/w3")" ] && [ "$(sha "$S" 1 3)" = "$w2" ] &&
	ok "sdc's writes are in its image (second channel)" || not_ok "sdc's image holds the writes"
[ "$(sha "$P" 1 3)" = "$w2" ] && ok "sdb's 1.5 KiB are in its image" ||
	not_ok "sdb's image holds the write"
[ "$(sha "$M" 24576 8192)" = "$before_p5" ] && [ "$(sha "$S" 12288 4096)" = "$before_s" ] &&
	ok "what nobody wrote is unchanged (sda5, sdc's last 2 MiB)" ||
	not_ok "untouched ranges unchanged"
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
