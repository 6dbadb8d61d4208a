#!/bin/bash
# virtio block devices through Linux's virtio_blk (from source, one recipe:
# the virtio core, its PCI transport and virtio_blk) at bddf: QEMU's
# virtio-blk-pci as a transitional device (disable-legacy=off, 1af4:1001,
# legacy registers: QEMU lets it bypass the IOMMU, and dde says so) and as
# a modern one (1af4:1042, what --disk virtio-blk: makes while the IOMMU is
# on, its DMA translated), started by dde run with no --driver; an MBR disk and a GPT disk, named vda and vdb as Linux names
# them; the block class's checks (block_lib.sh: listings, reads, writes,
# bounds, trim, the images after QEMU exits), and a partition copied out
# over NBD (nbdcopy).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

BLKIO="$O/tests/block/blkio"
export PATH="$PATH:/usr/sbin:/sbin"
M="$T/mbr.img" G="$T/gpt.img"
mbr_image "$M"
gpt_image "$G"

export DDE_BLK="@dde-test-virtio-$$"
dde_bg "$T/run.log" "${run_extra[@]}" --device "virtio-blk-pci,disable-legacy=off,disk=$M" --disk "virtio-blk:$G" \
	--blk-socket "$DDE_BLK"
run=$bg
if wait_count "bddf: vd[ab]: disk of ${pre}virtio_blk@" 2 90 "$T/run.log"; then
	ok "virtio_blk: dde run chose virtio_blk for both devices; both disks at bddf"
else
	not_ok "virtio_blk: disks at bddf" "$(grep -v '^\[' "$T/run.log" | tail -8)"
fi
grep -q "^dde: 00:01.0 \[1af4:1001\]: driver ${pre}virtio_blk$" "$T/run.log" &&
	grep -q "^dde: 00:02.0 \[1af4:1042\]: driver ${pre}virtio_blk$" "$T/run.log" &&
	ok "virtio_blk: the transitional (1af4:1001) and the modern (1af4:1042) device" ||
	not_ok "virtio_blk: both kinds of device" "$(grep '^dde:' "$T/run.log")"
grep -q "warning: virtio-blk-pci with disable-legacy=off is legacy virtio, which QEMU lets bypass the IOMMU" "$T/run.log" &&
	ok "the legacy device is said to bypass the IOMMU" ||
	not_ok "a warning for the legacy device" "$(grep -i iommu "$T/run.log")"
grep -q "bddf: vda: disk of ${pre}virtio_blk@00:01.0 (its vda): 67108864 bytes" "$T/run.log" &&
	grep -q "bddf: vdb: disk of ${pre}virtio_blk@00:02.0 (its vda): 33554432 bytes" "$T/run.log" &&
	ok "virtio_blk: Linux's names in device order: vda (64 MiB), vdb (32 MiB)" ||
	not_ok "virtio_blk: names and sizes" "$(grep 'bddf:' "$T/run.log")"

two_disks virtio_blk vda vdb "$M" "$G"

# a partition over NBD, with a real client
S="$T/nbd.sock"
"$DDE" nbd --export vda5 --socket "$S" >"$T/nbd.log" 2>&1 &
nbd=$!
BG_PIDS="$BG_PIDS $nbd"
wait_count "^dde nbd: vda5 .* at nbd\+unix" 1 10 "$T/nbd.log"
nbdcopy "nbd+unix:///vda5?socket=$S" "$T/p5.out" 2>"$T/err" &&
	[ "$(shaf "$T/p5.out")" = "$(sha "$M" 24576 8192)" ] &&
	ok "virtio_blk: nbdcopy copies vda5 out over NBD (its checksum is the image's, with the 1.5 KiB write)" ||
	not_ok "virtio_blk: nbdcopy out" "$(cat "$T/err" "$T/nbd.log")"
kill -INT $nbd
wait $nbd 2>/dev/null

dde_stop $run
two_disks_after virtio_blk vda vdb "$M" "$G"
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
