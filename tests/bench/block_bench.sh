#!/bin/bash
# make bench, block part: for each disk driver built (Linux's nvme; ahci
# and ata_piix when they exist), sequential read and write MB/s with 1 MiB
# requests at depth 32 and 4 KiB random-read IOPS at depth 1 and 32,
# through the bddf client library (tests/block/blkio bench: the stack's
# own speed, data left in the shared slots) and through the NBD export
# (fio's nbd engine: a real client over a Unix socket). Each as a ratio to
# two ceilings measured in the same run: the foundation's raw NVMe DMA
# ($O/bench-platform.txt: the test driver reading through ddeio, 256 KiB
# and 4 KiB per command) and the image file itself read and written with
# O_DIRECT (fio, no page cache: the disk under QEMU, the physical limit).
. "$(dirname "$0")/lib.sh"
BLKIO="$O/tests/block/blkio"
SIZE_MIB=256

echo
bench_title block
if ! command -v fio >/dev/null; then
	echo "  fio is missing (make bench installs it)"
	exit 1
fi

# fio_run ARGS...: "MB/s IOPS" of the job's reads or writes (terse output)
fio_run() {
	fio --name=b --output-format=terse --terse-version=3 "$@" 2>/dev/null | awk -F';' '
		/^3;/ { if ($7 > 0) printf "%.1f %.0f\n", $7 * 1024 / 1e6, $8
			else printf "%.1f %.0f\n", $48 * 1024 / 1e6, $49 }'
}

dma256=$(sed -n 's/^ *256 KiB per command: *\([0-9.]*\) MB\/s/\1/p' "$O/bench-platform.txt" 2>/dev/null)
dma4=$(sed -n 's/^ *4 KiB per command: *\([0-9.]*\) MB\/s/\1/p' "$O/bench-platform.txt" 2>/dev/null)
if [ -z "$dma256" ] || [ -z "$dma4" ]; then
	echo "  (no platform figures in $O/bench-platform.txt: the DMA ratios need make bench)"
	dma256=0 dma4=0
fi
dma4iops=$(awk -v m="$dma4" 'BEGIN { printf "%.0f", m * 1e6 / 4096 }')

img="$T/disk.img"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$img"
file_args=(--filename="$img" --direct=1 --ioengine=libaio --size=${SIZE_MIB}M)
read -r f_rd _ < <(fio_run "${file_args[@]}" --rw=read --bs=1M --iodepth=32)
read -r f_wr _ < <(fio_run "${file_args[@]}" --rw=write --bs=1M --iodepth=32)
read -r _ f_r1 < <(fio_run "${file_args[@]}" --rw=randread --bs=4k --iodepth=1 --runtime=3 --time_based)
read -r _ f_r32 < <(fio_run "${file_args[@]}" --rw=randread --bs=4k --iodepth=32 --runtime=3 --time_based)
echo "  ceilings, same run:"
echo "    raw NVMe DMA (test driver through ddeio, reads): 256 KiB commands $dma256 MB/s;" \
	"4 KiB commands $dma4 MB/s = $dma4iops IOPS"
echo "    the image file with O_DIRECT (fio, no page cache): read $f_rd MB/s, write $f_wr MB/s," \
	"4 KiB random reads $f_r1 IOPS (depth 1), $f_r32 IOPS (depth 32)"


# row LABEL LIBDDEBLK NBD DMA-CEILING FILE-CEILING: one figure both ways, with its ratios
row() {
	printf "  %-42s %10s %8s %8s   %10s %8s %8s\n" "$1" "$2" "$(ratio "$2" "$4")" "$(ratio "$2" "$5")" \
		"$3" "$(ratio "$3" "$4")" "$(ratio "$3" "$5")"
}

# bench_disk KIND MACHINE DRIVER
bench_disk() {
	local kind=$1 machine=$2 driver=$3 sock="@dde-bench-blk-$$-$1" disk nbd run
	if [ ! -x "$O/drivers/$driver" ]; then
		echo "  $driver: not built yet (no figures)"
		return
	fi
	DDE_BLK=$sock "$DDE" run --machine "$machine" --disk "$kind:$img" --blk-socket "$sock" \
		>"$T/run-$driver.log" 2>&1 &
	run=$!
	bg="$run $bg"
	for _ in $(seq 600); do
		disk=$(sed -n 's/^bddf: \([a-z0-9]*\): disk of .*/\1/p' "$T/run-$driver.log" | head -1)
		[ -n "$disk" ] && break
		sleep 0.1
	done
	if [ -z "$disk" ]; then
		echo "  $driver: the disk did not arrive: $(tail -2 "$T/run-$driver.log")"
		return
	fi
	local n=$SIZE_MIB
	# warm-up: the first requests fault in the driver's and bddf's buffers
	DDE_BLK=$sock "$BLKIO" "$disk" bench read 64 1048576 32 >/dev/null
	l_rd=$(DDE_BLK=$sock "$BLKIO" "$disk" bench read $n 1048576 32 | sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')
	l_wr=$(DDE_BLK=$sock "$BLKIO" "$disk" bench write $n 1048576 32 | sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')
	l_rd256=$(DDE_BLK=$sock "$BLKIO" "$disk" bench read $((n * 4)) 262144 32 | sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')
	l_wr256=$(DDE_BLK=$sock "$BLKIO" "$disk" bench write $((n * 4)) 262144 32 | sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')
	l_r1=$(DDE_BLK=$sock "$BLKIO" "$disk" bench randread 3000 4096 1 | sed -n 's/.* \([0-9]*\) IOPS.*/\1/p')
	l_r32=$(DDE_BLK=$sock "$BLKIO" "$disk" bench randread 30000 4096 32 | sed -n 's/.* \([0-9]*\) IOPS.*/\1/p')

	DDE_BLK=$sock "$DDE" nbd --export "$disk" --socket "$T/nbd.sock" >"$T/nbd.log" 2>&1 &
	nbd=$!
	bg="$nbd $bg"
	for _ in $(seq 100); do grep -q " at nbd" "$T/nbd.log" && break; sleep 0.1; done
	local nbd_args=(--ioengine=nbd --uri="nbd+unix:///$disk?socket=$T/nbd.sock" --size=${SIZE_MIB}M)
	read -r n_rd _ < <(fio_run "${nbd_args[@]}" --rw=read --bs=1M --iodepth=32)
	read -r n_wr _ < <(fio_run "${nbd_args[@]}" --rw=write --bs=1M --iodepth=32)
	read -r _ n_r1 < <(fio_run "${nbd_args[@]}" --rw=randread --bs=4k --iodepth=1 --runtime=3 --time_based)
	read -r _ n_r32 < <(fio_run "${nbd_args[@]}" --rw=randread --bs=4k --iodepth=32 --runtime=3 --time_based)
	kill -INT $nbd $run 2>/dev/null
	wait $nbd $run 2>/dev/null
	bg=""

	echo
	printf "  %-42s %10s %8s %8s   %10s %8s %8s\n" "$driver ($kind, $disk)" "libddeblk" "/DMA" "/file" \
		"NBD (fio)" "/DMA" "/file"
	row "sequential read, 1 MiB, depth 32 (MB/s)" "$l_rd" "$n_rd" "$dma256" "$f_rd"
	row "sequential write, 1 MiB, depth 32 (MB/s)" "$l_wr" "$n_wr" "$dma256" "$f_wr"
	row "sequential read, 256 KiB, depth 32 (MB/s)" "$l_rd256" "-" "$dma256" "$f_rd"
	row "sequential write, 256 KiB, depth 32 (MB/s)" "$l_wr256" "-" "$dma256" "$f_wr"
	row "4 KiB random read, depth 1 (IOPS)" "$l_r1" "$n_r1" "$dma4iops" "$f_r1"
	row "4 KiB random read, depth 32 (IOPS)" "$l_r32" "$n_r32" "$dma4iops" "$f_r32"
}

bench_disk nvme q35 nvme
bench_disk ahci q35 ahci
bench_disk ide pc ata_piix
echo
echo "  (/DMA: against the raw NVMe DMA reads of the same run, 256 KiB commands for MB/s,"
echo "   4 KiB commands for IOPS; /file: against the image file with O_DIRECT. QEMU itself"
echo "   reads and writes the image through the host's page cache, so /file can exceed 1.)"
