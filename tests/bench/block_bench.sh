#!/bin/bash
# make bench, block part: for each disk driver built (Linux's nvme; ahci
# and ata_piix when they exist), sequential read and write MB/s with 1 MiB
# requests at depth 32 and 4 KiB random-read IOPS at depth 1 and 32,
# through the bddf client library (tests/block/blkio bench: the stack's
# own speed, data left in the shared slots) and through the NBD export
# (fio's nbd engine: a real client over a Unix socket). Each as a ratio to
# two ceilings measured in the same run: the raw DMA of the driver's own
# device model ($O/bench-platform.txt: the test driver reading through
# ddeio, 256 KiB and 4 KiB per command; NVMe and AHCI with 32 commands in
# flight, AHCI's by NCQ, the PIIX IDE one at a time) and the image file
# itself read and written with O_DIRECT (fio, no page cache: the disk
# under QEMU, the physical limit).
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

# model_dma PREFIX KIB: the MB/s of that platform_bench row ("  AHCI 256 KiB
# per command: ... MB/s"; NVMe's rows have no prefix)
model_dma() {
	sed -n "s/^ *$1 *$2 KiB per command: *\([0-9.]*\) MB\/s.*/\1/p" "$O/bench-platform.txt" 2>/dev/null
}
# iops MB/S: what 4 KiB commands at that rate are
iops() { awk -v m="$1" 'BEGIN { printf "%.0f", m * 1e6 / 4096 }'; }
nvme256=$(model_dma "" 256) nvme4=$(model_dma "" 4)
ahci256=$(model_dma AHCI 256) ahci4=$(model_dma AHCI 4)
piix256=$(model_dma PIIX 256) piix4=$(model_dma PIIX 4)
if [ -z "$nvme256" ] || [ -z "$nvme4" ]; then
	echo "  (no platform figures in $O/bench-platform.txt: the DMA ratios need make bench)"
elif [ -z "$ahci256" ] || [ -z "$piix256" ]; then
	echo "  (no AHCI or PIIX IDE figures in $O/bench-platform.txt, an older make bench's:"
	echo "   those disks' DMA ratios are left out)"
fi
nvme256=${nvme256:-0} nvme4=${nvme4:-0} ahci256=${ahci256:-0} ahci4=${ahci4:-0}
piix256=${piix256:-0} piix4=${piix4:-0}

img="$T/disk.img"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$img"
file_args=(--filename="$img" --direct=1 --ioengine=libaio --size=${SIZE_MIB}M)
read -r f_rd _ < <(fio_run "${file_args[@]}" --rw=read --bs=1M --iodepth=32)
read -r f_wr _ < <(fio_run "${file_args[@]}" --rw=write --bs=1M --iodepth=32)
read -r _ f_r1 < <(fio_run "${file_args[@]}" --rw=randread --bs=4k --iodepth=1 --runtime=3 --time_based)
read -r _ f_r32 < <(fio_run "${file_args[@]}" --rw=randread --bs=4k --iodepth=32 --runtime=3 --time_based)
echo "  ceilings, same run:"
echo "    raw NVMe DMA (test driver through ddeio, reads, 32 in flight): 256 KiB commands" \
	"$nvme256 MB/s; 4 KiB commands $nvme4 MB/s = $(iops "$nvme4") IOPS"
echo "    raw AHCI DMA (ich9-ahci, the same by NCQ): 256 KiB commands $ahci256 MB/s;" \
	"4 KiB commands $ahci4 MB/s = $(iops "$ahci4") IOPS"
echo "    raw PIIX IDE DMA (one command at a time): 256 KiB commands $piix256 MB/s;" \
	"4 KiB commands $piix4 MB/s = $(iops "$piix4") IOPS"
echo "    the image file with O_DIRECT (fio, no page cache): read $f_rd MB/s, write $f_wr MB/s," \
	"4 KiB random reads $f_r1 IOPS (depth 1), $f_r32 IOPS (depth 32)"


# row LABEL LIBDDEBLK NBD DMA-CEILING FILE-CEILING: one figure both ways, with its ratios
row() {
	printf "  %-42s %10s %8s %8s   %10s %8s %8s\n" "$1" "$2" "$(ratio "$2" "$4")" "$(ratio "$2" "$5")" \
		"$3" "$(ratio "$3" "$4")" "$(ratio "$3" "$5")"
}

# bench_disk KIND MACHINE DRIVER DMA256 DMA4: the last two its model's ceilings (MB/s)
bench_disk() {
	local kind=$1 machine=$2 driver=$3 sock="@dde-bench-blk-$$-$1" disk nbd run
	local dma256=$4 dma4iops
	dma4iops=$(iops "$5")
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

bench_disk nvme q35 nvme "$nvme256" "$nvme4"
# Linux's nvme's own figures, for the UEFI drivers below
lx_rd256=$l_rd256 lx_wr256=$l_wr256 lx_r1=$l_r1 lx_r32=$l_r32
bench_disk ahci q35 ahci "$ahci256" "$ahci4"
bench_disk ide pc ata_piix "$piix256" "$piix4"

# bench_efi SPEC [ENGINE]: a UEFI driver (efi:NAME, efi-aarch64:NAME) on the
# same image: 256 KiB sequential MB/s and 4 KiB random-read IOPS through
# libddeblk, as ratios to Linux's nvme just measured; in the translated
# engine, the services the driver was given and those it called
bench_efi() {
	local spec=$1 eng=${2:-native} sock="@dde-bench-efi-$$" disk run pid
	local label="$spec ($eng)"
	[[ $spec == efi-aarch64:* ]] && label="$spec (translated, AArch64 on x86-64)"
	if [ ! -x "$O/drivers/efi-blk" ] || [ ! -s "$O/share/dde/efi-dir" ]; then
		echo "  $spec: no UEFI driver host or drivers (no figures)"
		return
	fi
	"$DDE" run --engine "$eng" --disk "nvme:$img" --driver "$spec@00:01.0" --blk-socket "$sock" \
		>"$T/run-efi.log" 2>&1 &
	run=$!
	bg="$run $bg"
	for _ in $(seq 600); do
		disk=$(sed -n 's/^bddf: \([a-z0-9]*\): disk of .*/\1/p' "$T/run-efi.log" | head -1)
		[ -n "$disk" ] && break
		sleep 0.1
	done
	if [ -z "$disk" ]; then
		echo "  $spec: the disk did not arrive: $(tail -2 "$T/run-efi.log")"
		kill -INT $run 2>/dev/null
		wait $run 2>/dev/null
		return
	fi
	local n=$SIZE_MIB
	DDE_BLK=$sock "$BLKIO" "$disk" bench read 64 1048576 32 >/dev/null
	e_rd256=$(DDE_BLK=$sock "$BLKIO" "$disk" bench read $((n * 4)) 262144 32 | sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')
	e_wr256=$(DDE_BLK=$sock "$BLKIO" "$disk" bench write $((n * 4)) 262144 32 | sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')
	e_r1=$(DDE_BLK=$sock "$BLKIO" "$disk" bench randread 3000 4096 1 | sed -n 's/.* \([0-9]*\) IOPS.*/\1/p')
	e_r32=$(DDE_BLK=$sock "$BLKIO" "$disk" bench randread 30000 4096 32 | sed -n 's/.* \([0-9]*\) IOPS.*/\1/p')
	pid=$(sed -n "s/^dde: started driver .* (pid \([0-9]*\))$/\1/p" "$T/run-efi.log" | head -1)
	[ -n "$pid" ] && kill -USR1 "$pid" 2>/dev/null && sleep 1.5
	kill -INT $run 2>/dev/null
	wait $run 2>/dev/null
	bg=""
	printf "  %-58s %9s %9s %9s %9s\n" "$label" "$e_rd256" "$e_wr256" "$e_r1" "$e_r32"
	printf "  %-58s %9s %9s %9s %9s\n" "  / Linux's nvme" "$(ratio "$e_rd256" "$lx_rd256")" \
		"$(ratio "$e_wr256" "$lx_wr256")" "$(ratio "$e_r1" "$lx_r1")" "$(ratio "$e_r32" "$lx_r32")"
	sed -n 's/.*translated engine: \([0-9]* calls into .*\)/    \1/p' "$T/run-efi.log" | tail -1
	eval "efi_${3:-x}_rd=\$e_rd256 efi_${3:-x}_r32=\$e_r32"
}

echo
echo "  UEFI drivers (binaries of another OS; issue 22) on the NVMe image, through libddeblk:"
printf "  %-58s %9s %9s %9s %9s\n" "" "rd 256K" "wr 256K" "4K d1" "4K d32"
printf "  %-58s %9s %9s %9s %9s\n" "Linux's nvme (above; MB/s, MB/s, IOPS, IOPS)" "$lx_rd256" \
	"$lx_wr256" "$lx_r1" "$lx_r32"
bench_efi efi:NvmExpressDxe native x64n
bench_efi efi:NvmExpressDxe dbt x64t
bench_efi efi-aarch64:NvmExpressDxe dbt a64
echo "  AArch64 translated / x86-64 translated, the same driver: 256 KiB reads" \
	"$(ratio "${efi_a64_rd:-}" "${efi_x64t_rd:-}"), 4 KiB depth 32 $(ratio "${efi_a64_r32:-}" "${efi_x64t_r32:-}");" \
	"/ x86-64 native: $(ratio "${efi_a64_rd:-}" "${efi_x64n_rd:-}"), $(ratio "${efi_a64_r32:-}" "${efi_x64n_r32:-}")"

echo
echo "  (/DMA: against the raw DMA reads of the disk's own model in the same run (NVMe, AHCI"
echo "   by NCQ, PIIX IDE), 256 KiB commands for MB/s, 4 KiB commands for IOPS; /file: against"
echo "   the image file with O_DIRECT. QEMU itself reads and writes the image through the"
echo "   host's page cache, so /file can exceed 1.)"
