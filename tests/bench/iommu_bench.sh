#!/bin/bash
# make bench, IOMMU part: what confining devices costs. The same figures
# with QEMU's IOMMU on (the default on q35) and off (--iommu off), in one
# run, as a ratio on/off: nvme through bddf (1 MiB sequential reads at
# depth 32, 4 KiB random reads at depth 32) and e1000 through netd (1514-
# byte frames both ways, windowed). Every device DMA is translated by
# QEMU's VT-d model (its IOTLB caches the 2 MiB pages ddeio maps).
. "$(dirname "$0")/lib.sh"
BLKIO="$O/tests/block/blkio"
FRAMES="$O/tests/net/net_frames"

echo
bench_title "IOMMU (on/off)"
img="$T/disk.img"
truncate -s 256M "$img"

# blk IOMMU: "MB/s IOPS" of nvme with the IOMMU on or off
blk() {
	local sock="@dde-bench-iommu-$$-$1" disk="" run mbs iops
	"$DDE" run --iommu "$1" --disk "nvme:$img" --blk-socket "$sock" >"$T/blk-$1.log" 2>&1 &
	run=$!
	bg="$run $bg"
	for _ in $(seq 600); do
		disk=$(sed -n 's/^bddf: \([a-z0-9]*\): disk of .*/\1/p' "$T/blk-$1.log" | head -1)
		[ -n "$disk" ] && break
		sleep 0.1
	done
	[ -n "$disk" ] || { echo "0 0"; kill -INT $run; wait $run; return; }
	DDE_BLK=$sock "$BLKIO" "$disk" bench read 64 1048576 32 >/dev/null
	mbs=$(DDE_BLK=$sock "$BLKIO" "$disk" bench read 256 1048576 32 | sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')
	iops=$(DDE_BLK=$sock "$BLKIO" "$disk" bench randread 30000 4096 32 | sed -n 's/.* \([0-9]*\) IOPS.*/\1/p')
	kill -INT $run
	wait $run 2>/dev/null
	echo "${mbs:-0} ${iops:-0}"
}

# net IOMMU PORT: "tx rx" frames/s of e1000 with the IOMMU on or off
net() {
	local sock="@dde-bench-iommu-net-$$-$1" run tx rx
	"$DDE" run --iommu "$1" --nic "e1000,net=udp:$2:$(($2 + 1))" --net-socket "$sock" \
		>"$T/net-$1.log" 2>&1 &
	run=$!
	bg="$run $bg"
	for _ in $(seq 600); do grep -q "netd: interface net0: link up" "$T/net-$1.log" && break; sleep 0.1; done
	DDE_NET=$sock "$FRAMES" --qemu-listen "$2" --qemu-peer $(($2 + 1)) --count 20000 --window 32 \
		--size 1514 >"$T/frames-$1" 2>&1
	tx=$(sed -n 's/^tx: .*; \([0-9]*\) frames\/s.*/\1/p' "$T/frames-$1")
	rx=$(sed -n 's/^rx: .*; \([0-9]*\) frames\/s.*/\1/p' "$T/frames-$1")
	kill -INT $run
	wait $run 2>/dev/null
	echo "${tx:-0} ${rx:-0}"
}

read -r on_mbs on_iops < <(blk on)
read -r off_mbs off_iops < <(blk off)
port=$((40000 + $$ % 20000))
read -r on_tx on_rx < <(net on $port)
read -r off_tx off_rx < <(net off $((port + 2)))
printf "  %-44s %10s %10s %8s\n" "" "IOMMU on" "off" "on/off"
printf "  %-44s %10s %10s %8s\n" "nvme sequential read, 1 MiB, depth 32 (MB/s)" "$on_mbs" "$off_mbs" \
	"$(ratio "$on_mbs" "$off_mbs")"
printf "  %-44s %10s %10s %8s\n" "nvme 4 KiB random read, depth 32 (IOPS)" "$on_iops" "$off_iops" \
	"$(ratio "$on_iops" "$off_iops")"
printf "  %-44s %10s %10s %8s\n" "e1000 1514-byte frames sent (frames/s)" "$on_tx" "$off_tx" \
	"$(ratio "$on_tx" "$off_tx")"
printf "  %-44s %10s %10s %8s\n" "e1000 1514-byte frames received (frames/s)" "$on_rx" "$off_rx" \
	"$(ratio "$on_rx" "$off_rx")"
