#!/bin/bash
# Binary drivers of another OS: UEFI DXE drivers from Debian's OVMF
# (PE32+, the Microsoft x64 convention, the UEFI driver model) in the UEFI
# driver host (build/drivers/efi-blk) on QEMU's NVMe, served through bddf
# like Linux's nvme: `dde efi info` on the images; OVMF's NvmExpressDxe
# natively on an MBR and a GPT disk (bddf's listings equal sfdisk's, reads
# at depth 1 and 32 equal the images, writes read back and are in the
# images after QEMU exits, a partition copied out over NBD); and one clear
# line each for a malformed image, an image of another machine, and a
# driver whose Supported refuses the device.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

BLKIO="$O/tests/block/blkio"
export PATH="$PATH:/usr/sbin:/sbin"
EFI=$(cat "$O/share/dde/efi-dir" 2>/dev/null)
if [ -z "$EFI" ] || [ ! -r "$EFI/x64/NvmExpressDxe.efi" ]; then
	skip "UEFI drivers" "no $O/share/dde/efi-dir or no drivers in it (make fetches them)"
	finish
	exit
fi

# refused NAME CMD...: CMD fails with status 1 and says why in exactly one line
refused() {
	local name=$1 rc
	shift
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" = 1 ] && [ "$(wc -l <"$T/out")" = 1 ]; then
		ok "$name ($(cat "$T/out"))"
	else
		not_ok "$name" "status $rc, $(wc -l <"$T/out") lines: $(head -c 400 "$T/out")"
	fi
}

# --- dde efi info ---
expect "dde efi info: OVMF's NvmExpressDxe is an x86-64 boot service driver" 0 \
	"Boot Service Driver" "$DDE" efi info "$EFI/x64/NvmExpressDxe.efi"
grep -q "x86-64" "$T/out" && grep -q "EFI_DRIVER_BINDING" "$T/out" && grep -q "EFI_PCI_IO" "$T/out" &&
	grep -q "EFI_BLOCK_IO" "$T/out" &&
	ok "dde efi info: ... references the driver binding, PCI I/O and Block I/O protocols" ||
	not_ok "dde efi info: the GUIDs" "$(cat "$T/out")"
expect "dde efi info: AAVMF's NvmExpressDxe is AArch64" 0 "AArch64" \
	"$DDE" efi info "$EFI/aa64/NvmExpressDxe.efi"
expect "dde efi info: iPXE's e1000 option ROM holds an x86-64 driver" 0 "x86-64" \
	"$DDE" efi info "$EFI/ipxe/e1000.rom"
head -c 1000 "$EFI/x64/NvmExpressDxe.efi" >"$T/short.efi"
refused "dde efi info: a truncated image: one line" "$DDE" efi info "$T/short.efi"
head -c 4096 /dev/urandom >"$T/noise.efi"
refused "dde efi info: random bytes: one line" "$DDE" efi info "$T/noise.efi"

# --- NvmExpressDxe on two NVMe disks ---
M="$T/mbr.img" G="$T/gpt.img"
mbr_image "$M"
gpt_image "$G"
export DDE_BLK="@dde-test-efi-$$"
dde_bg "$T/run.log" --disk "nvme:$M" --disk "nvme:$G" --blk-socket "$DDE_BLK" \
	--driver efi:NvmExpressDxe@00:01.0 --driver efi:NvmExpressDxe@00:02.0
run=$bg
if wait_count "bddf: nvme[01]n1: disk of efi:NvmExpressDxe@" 2 60 "$T/run.log"; then
	ok "efi:NvmExpressDxe: OVMF's NVMe driver in a process per controller, both disks at bddf"
else
	not_ok "efi:NvmExpressDxe: disks at bddf" "$(grep -v '^\[' "$T/run.log" | tail -12)"
fi
grep -q "NvmExpressDxe: entry point NvmExpressDxe+0x[0-9a-f]* returned success" "$T/run.log" &&
	grep -q "NvmExpressDxe+0x[0-9a-f]* started on handle" "$T/run.log" &&
	ok "efi:NvmExpressDxe: its entry point ran, its driver binding started on the controller" ||
	not_ok "efi:NvmExpressDxe: entry and Start" "$(grep -i efi "$T/run.log" | head)"
same_as_sfdisk "efi: " nvme0n1 "$M"
same_as_sfdisk "efi: " nvme1n1 "$G"
read_back "efi: " nvme0n1p5 "$M" 24576 8192
read_back "efi: " nvme1n1p1 "$G" 2048 16384
head -c 3146240 /dev/urandom >"$T/w1"	# 3 MiB + 1 KiB
head -c 1536 /dev/urandom >"$T/w2"
expect "efi: nvme0n1p1: 3 MiB + 1 KiB at byte 1536 (1 MiB requests, depth 32)" 0 "wrote 3146240" \
	"$BLKIO" nvme0n1p1 put "$T/w1" 1536 1048576 32
expect "efi: nvme0n1p5: 1.5 KiB at byte 512 (512-byte requests, depth 1)" 0 "wrote 1536" \
	"$BLKIO" nvme0n1p5 put "$T/w2" 512 512 1
expect "efi: nvme1n1p1: 3 MiB + 1 KiB at byte 4096 (64 KiB requests, depth 32, FUA)" 0 \
	"wrote 3146240" "$BLKIO" nvme1n1p1 put "$T/w1" 4096 65536 32 fua
expect "efi: a flush" 0 "flush: done" "$BLKIO" nvme1n1p1 flush
expect "efi: nvme1n1p1's write read back over 3 slots" 0 "read 3146240" \
	"$BLKIO" nvme1n1p1 sget "$T/r1" 4096 3146240 3
cmp -s "$T/w1" "$T/r1" && ok "efi: ... byte for byte" || not_ok "efi: read back equals the write"

S="$T/nbd.sock"
"$DDE" nbd --export nvme0n1p5 --socket "$S" >"$T/nbd.log" 2>&1 &
nbd=$!
BG_PIDS="$BG_PIDS $nbd"
wait_count "^dde nbd: nvme0n1p5 .* at nbd\+unix" 1 10 "$T/nbd.log"
nbdcopy "nbd+unix:///nvme0n1p5?socket=$S" "$T/p5.out" 2>"$T/err" &&
	[ "$(shaf "$T/p5.out")" = "$(sha "$M" 24576 8192)" ] &&
	ok "efi: nbdcopy copies nvme0n1p5 out over NBD (the image's bytes, with the 1.5 KiB write)" ||
	not_ok "efi: nbdcopy out" "$(cat "$T/err" "$T/nbd.log")"
kill -INT $nbd
wait $nbd 2>/dev/null
dde_stop $run
w1=$(shaf "$T/w1")
[ "$(sha "$M" $((2048 + 3)) 6145)" = "$w1" ] && ok "efi: nvme0n1p1's bytes are in the MBR image" ||
	not_ok "efi: the MBR image holds the write"
[ "$(sha "$M" $((24576 + 1)) 3)" = "$(shaf "$T/w2")" ] && ok "efi: nvme0n1p5's 1.5 KiB are in the image" ||
	not_ok "efi: the MBR image holds the small write"
[ "$(sha "$G" $((2048 + 8)) 6145)" = "$w1" ] && ok "efi: nvme1n1p1's bytes are in the GPT image" ||
	not_ok "efi: the GPT image holds the write"

# --- one clear line each ---
cp "$EFI/x64/NvmExpressDxe.efi" "$T/bad.efi"
printf 'XX' | dd of="$T/bad.efi" bs=1 seek=0 conv=notrunc 2>/dev/null
expect "efi: a malformed image: the host says what is wrong and the run fails" 1 "bad.efi" \
	"$DDE" run --disk "nvme:$G" --driver "efi:$T/bad.efi@00:01.0"
expect "efi: AAVMF's AArch64 NvmExpressDxe natively: refused, naming the machine" 1 \
	"is for AArch64, not x86-64" "$DDE" run --disk "nvme:$G" --driver "efi:$EFI/aa64/NvmExpressDxe.efi@00:01.0"
expect "efi: NvmExpressDxe on an e1000: its Supported refuses the device, one line says so" 1 \
	"no driver of NvmExpressDxe took the device" "$DDE" run --nic e1000,net=none \
	--driver efi:NvmExpressDxe@00:01.0
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
