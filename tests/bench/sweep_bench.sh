#!/bin/bash
# make bench, DSweeper part: sweep throughput (MB/s) of a 1 GiB partition
# on NVMe and on AHCI (Linux's drivers under bddf), zeros and random
# (ChaCha20), the time from Start to the first byte written, and a
# readonly run, each against writing the same amount to the image file
# directly with dd (O_DIRECT, then fdatasync: the physical limit) in the
# same run. Also how fast the random stream is made alone (the CPU's
# part of a random sweep).
. "$(dirname "$0")/lib.sh"
SW="$O/bin/dsweeper"
export PATH="$PATH:/usr/sbin:/sbin"
GIB=$((1 << 30))

echo
bench_title dsweeper
img="$T/disk.img"
# the partition: exactly 1 GiB after the first MiB
fallocate -l $((GIB + (1 << 20))) "$img"
echo 'start=2048, size=2097152, type=83' | sfdisk -q "$img"

# mbs BYTES SECONDS
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / s / 1e6; else printf "-" }'; }

# the ceiling: 1 GiB into the image file at the partition's place
t0=$(date +%s.%N)
dd if=/dev/zero of="$img" bs=1M seek=1 count=1024 oflag=direct conv=notrunc,fdatasync status=none
t1=$(date +%s.%N)
dd_mbs=$(mbs $GIB "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
t0=$(date +%s.%N)
"$SW" --print-stream "$(printf '%064d' 7):$GIB" >/dev/null
t1=$(date +%s.%N)
gen_mbs=$(mbs $GIB "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
echo "  ceilings, same run: dd to the image file (1 MiB, O_DIRECT, fdatasync): $dd_mbs MB/s;"
echo "  the random stream made alone (ChaCha20, libsodium, one core): $gen_mbs MB/s"

# sweep KIND: zero, random and readonly over the partition on a KIND disk
sweep() {
	local kind=$1 sock="@dde-bench-sweep-$$-$1" disk="" part run
	DDE_BLK=$sock "$DDE" run --machine q35 --disk "$kind:$img" --blk-socket "$sock" >"$T/run-$kind.log" 2>&1 &
	run=$!
	bg="$run"
	for _ in $(seq 600); do
		disk=$(sed -n 's/^bddf: \([a-z0-9]*\): disk of .*/\1/p' "$T/run-$kind.log" | head -1)
		[ -n "$disk" ] && break
		sleep 0.1
	done
	part=${disk}1
	[ "${disk#nvme}" != "$disk" ] && part=${disk}p1
	if [ -z "$disk" ]; then
		echo "  $kind: the disk did not arrive: $(tail -2 "$T/run-$kind.log")"
		return
	fi
	printf "\n  %-34s %10s %8s %14s\n" "$kind ($part, 1 GiB)" "MB/s" "/dd" "first write"
	for mode in readonly zero random; do
		local args=(--write --yes --mode "$mode")
		[ $mode = readonly ] && args=()
		DDE_BLK=$sock "$SW" "${args[@]}" --partition "$part" >"$T/$mode.json" 2>/dev/null
		local secs first bytes
		secs=$(sed -n 's/.*"seconds":\([0-9.]*\),"first_write.*/\1/p' "$T/$mode.json")
		first=$(sed -n 's/.*"first_write_seconds":\([0-9.null]*\),.*/\1/p' "$T/$mode.json")
		bytes=$(sed -n 's/.*"bytes":\([0-9]*\),.*/\1/p' "$T/$mode.json")
		local m
		m=$(mbs "${bytes:-0}" "${secs:-0}")
		[ "$first" = null ] && first="-" || first=$(awk -v f="$first" 'BEGIN { printf "%.0f ms", f * 1000 }')
		printf "  %-34s %10s %8s %14s\n" "$mode$([ $mode = readonly ] && echo ' (reads)')" "$m" \
			"$(ratio "$m" "$dd_mbs")" "$first"
	done
	kill -INT $run 2>/dev/null
	wait $run 2>/dev/null
	bg=""
}

sweep nvme
sweep ahci

# both at once: an NVMe and an AHCI disk on one machine, swept together
cp --sparse=always "$img" "$T/disk2.img"
fallocate -l $((GIB + (1 << 20))) "$T/disk2.img"
sock="@dde-bench-sweep-$$-both"
DDE_BLK=$sock "$DDE" run --machine q35 --disk "nvme:$img" --disk "ahci:$T/disk2.img" --blk-socket "$sock" \
	>"$T/run-both.log" 2>&1 &
bg=$!
for _ in $(seq 600); do
	[ "$(grep -c 'bddf: \(nvme0n1\|sda\): disk of' "$T/run-both.log")" = 2 ] && break
	sleep 0.1
done
printf "\n  %-34s %10s %8s\n" "nvme0n1p1 and sda1 at once (2 GiB)" "MB/s" "/dd"
for mode in zero random; do
	DDE_BLK=$sock "$SW" --write --yes --mode $mode --partition nvme0n1p1 --partition sda1 >"$T/both.json" 2>/dev/null
	secs=$(sed -n 's/.*"seconds":\([0-9.]*\),"first_write.*/\1/p' "$T/both.json")
	m=$(mbs $((2 * GIB)) "${secs:-0}")
	printf "  %-34s %10s %8s\n" "$mode (both)" "$m" "$(ratio "$m" "$dd_mbs")"
done
kill -INT $bg 2>/dev/null
wait $bg 2>/dev/null
bg=""
echo
echo "  (one pass each, 1 MiB requests, 32 in flight; /dd: against dd to the image file in"
echo "   the same run; QEMU writes the image through the host's page cache, so /dd can exceed 1)"
