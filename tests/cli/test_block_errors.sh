#!/bin/bash
# I/O errors from the disk itself: QEMU's blkdebug fails every read that
# touches sector 4096 and every write that touches sector 8192 of a disk
# (--disk KIND:FILE,blkdebug=CONF), on NVMe, AHCI and PIIX IDE. Through
# Linux's nvme (which retries, then fails the request), ahci or ata_piix
# (libata's error handler: the failed command, a reset, retries) and bddf, exactly those
# requests fail with EIO at the client, every other request of the same
# run succeeds with the right data, nothing hangs, and the driver serves
# on; through the NBD export too. After QEMU exits the image holds the
# writes that succeeded and not the one that failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

BLKIO="$O/tests/block/blkio"
NBDBAD="$O/tests/block/nbdbad"
# shab FILE START-BYTE LEN-BYTES: the hash of a range of a file
shab() { tail -c +$(($2 + 1)) "$1" | head -c "$3" | sha256sum | cut -d' ' -f1; }

cat >"$T/blkdebug.conf" <<'EOF'
[inject-error]
event = "read_aio"
errno = "5"
sector = "4096"

[inject-error]
event = "write_aio"
errno = "5"
sector = "8192"
EOF

for spec in "nvme q35 nvme0n1 nvme@00:01.0" "ahci q35 sda ahci@00:1f.2" "ide pc sda ata_piix@00:01.1"; do
	set -- $spec
	kind=$1 machine=$2 disk=$3 inst=$4
	D="$T/disk.img"
	head -c $((16 << 20)) /dev/urandom >"$D"
	cp "$D" "$T/orig.img"

	export DDE_BLK="@dde-test-blkerr-$$-$kind"
	"$DDE" run --machine "$machine" --disk "$kind:$D,blkdebug=$T/blkdebug.conf" --blk-socket "$DDE_BLK" \
		>"$T/run.log" 2>&1 &
	run=$!
	BG_PIDS="$BG_PIDS $run"
	if wait_for "bddf: $disk: disk of" 90 "$T/run.log"; then
		ok "$kind: a disk behind blkdebug at bddf"
	else
		not_ok "$kind: the disk at bddf" "$(tail -5 "$T/run.log")"
	fi
	driver=$(sed -n "s/^dde: started driver $inst (pid \([0-9]*\))\$/\1/p" "$T/run.log")

	# reads: 1 MiB from byte 1.5 MiB in 4 KiB requests; the one at 2 MiB covers sector 4096
	for depth in 1 32; do
		timeout 120 "$BLKIO" $disk get "$T/r" $((3 << 19)) $((1 << 20)) 4096 $depth keep >"$T/out" 2>&1
		rc=$?
		if [ $rc = 1 ] && grep -q "request at offset 2097152 (4096 bytes): Input/output error" "$T/out" &&
			grep -q "1 of 256 requests failed" "$T/out"; then
			ok "$kind: depth $depth: the read touching sector 4096 fails with EIO, the other 255 succeed"
		else
			not_ok "$kind: depth $depth: one read fails with EIO" "status $rc: $(cat "$T/out")"
		fi
		[ "$(shab "$T/r" 0 $((1 << 19)))" = "$(sha "$D" 3072 1024)" ] &&
			[ "$(shab "$T/r" $(((1 << 19) + 4096)) $(((1 << 19) - 4096)))" = "$(sha "$D" 4104 1016)" ] &&
			ok "$kind: depth $depth: the reads around it return the image's bytes" ||
			not_ok "$kind: depth $depth: data around the failed read"
	done

	# writes: 1 MiB at 3.5 MiB in 4 KiB requests; the one at 4 MiB covers sector 8192
	head -c $((1 << 20)) /dev/urandom >"$T/w"
	timeout 120 "$BLKIO" $disk put "$T/w" $((7 << 19)) 4096 32 keep >"$T/out" 2>&1
	rc=$?
	if [ $rc = 1 ] && grep -q "request at offset 4194304 (4096 bytes): Input/output error" "$T/out" &&
		grep -q "1 of 256 requests failed" "$T/out"; then
		ok "$kind: the write touching sector 8192 fails with EIO, the other 255 succeed"
	else
		not_ok "$kind: one write fails with EIO" "status $rc: $(cat "$T/out")"
	fi

	# the driver serves on, also big requests, and through NBD
	kill -0 "$driver" 2>/dev/null && ok "$kind: the driver process is still running" ||
		not_ok "$kind: the driver survived the errors"
	expect "$kind: after the errors: an 8 MiB read elsewhere succeeds" 0 "read 8388608" \
		timeout 60 "$BLKIO" $disk get "$T/r8" $((8 << 20)) $((8 << 20))
	[ "$(shab "$T/r8" 0 $((8 << 20)))" = "$(sha "$D" 16384 16384)" ] &&
		ok "$kind: ... with the image's bytes" || not_ok "$kind: the 8 MiB read's bytes"
	"$DDE" nbd --export $disk --socket "$T/nbd.sock" >"$T/nbd.log" 2>&1 &
	nbd=$!
	BG_PIDS="$BG_PIDS $nbd"
	wait_for " at nbd" 10 "$T/nbd.log"
	expect "$kind: NBD: the read of sector 4096 gets NBD's EIO" 0 "error 5" \
		timeout 60 "$NBDBAD" "$T/nbd.sock" $disk ask read 2097152 4096
	expect "$kind: NBD: the next sector reads fine" 0 "read 4096 bytes" \
		timeout 60 "$NBDBAD" "$T/nbd.sock" $disk ask read 2101248 4096
	expect "$kind: NBD: qemu-img copying the whole disk out fails with an I/O error (no hang)" 1 \
		"Input/output error" timeout 120 qemu-img convert -f raw -O raw \
		"nbd+unix:///$disk?socket=$T/nbd.sock" "$T/all.raw"
	kill -INT $nbd
	wait $nbd 2>/dev/null
	kill -INT $run
	wait $run 2>/dev/null

	# after QEMU exits: the successful writes are there, the failed one is not
	[ "$(sha "$D" 7168 1024)" = "$(shab "$T/w" 0 $((1 << 19)))" ] &&
		[ "$(sha "$D" 8200 1016)" = "$(shab "$T/w" $(((1 << 19) + 4096)) $(((1 << 19) - 4096)))" ] &&
		ok "$kind: the 255 successful writes are in the image" || not_ok "$kind: successful writes in the image"
	[ "$(sha "$D" 8192 8)" = "$(sha "$T/orig.img" 8192 8)" ] &&
		ok "$kind: the failed write left its sectors as they were" || not_ok "$kind: the failed write changed the image"
	[ "$(sha "$D" 0 7168)" = "$(sha "$T/orig.img" 0 7168)" ] &&
		ok "$kind: nothing before the written range changed" || not_ok "$kind: bytes before the writes changed"
done
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
