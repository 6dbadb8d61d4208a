#!/bin/bash
# Binary drivers of another OS and another ISA: UEFI DXE drivers from
# Debian's OVMF and AAVMF (PE32+, the UEFI driver model) in the UEFI driver
# host (build/drivers/efi-blk), served through bddf like Linux's drivers:
# `dde efi info` on the images; OVMF's NvmExpressDxe natively and
# translated, AAVMF's AArch64 NvmExpressDxe translated on this x86-64 host,
# and OVMF's virtio stack (Virtio10+VirtioBlkDxe), each on an MBR and a GPT
# disk (bddf's listings equal sfdisk's, reads at depth 1 and 32 equal the
# images, writes read back and are in the images after QEMU exits, a
# partition copied out over NBD); and one clear line each for a malformed
# image, an image of another machine, and a driver whose Supported refuses
# the device.
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

# two_disks_efi LABEL PREFIX NAME MODEL DISK0 DISK1 [DDE RUN ARGS...]: the UEFI
# driver PREFIX:NAME (efi: x86-64, efi-aarch64: AArch64) on two disks of
# MODEL named DISK0 (an MBR image) and DISK1 (a GPT image): bddf's listings
# equal sfdisk's, reads at depth 1 and 32 equal the images, writes (depth
# 1 and 32, FUA, a flush) read back and are in the images after QEMU
# exits, a partition is copied out over NBD, DSweeper zeroes another
two_disks_efi() {
	local label=$1 pre=$2 name=$3 model=$4 d0=$5 d1=$6 M="$T/mbr.img" G="$T/gpt.img" p0 p1
	shift 6
	p0=$d0 p1=$d1
	case $d0 in *[0-9]) p0=${d0}p p1=${d1}p ;; esac
	mbr_image "$M"
	gpt_image "$G"
	export DDE_BLK="@dde-test-efi-$$"
	dde_bg "$T/run.log" "$@" --disk "$model:$M" --disk "$model:$G" --blk-socket "$DDE_BLK" \
		--driver "$pre:$name@00:01.0" --driver "$pre:$name@00:02.0"
	run=$bg
	local inst=${pre}:${name##*+}
	if wait_count "bddf: ($d0|$d1): disk of $inst@" 2 90 "$T/run.log"; then
		ok "$label: in a process per controller, both disks at bddf"
	else
		not_ok "$label: disks at bddf" "$(grep -v '^\[' "$T/run.log" | tail -12)"
	fi
	grep -q "bddf: $d0: disk of $inst@00:01" "$T/run.log" &&
		grep -q "bddf: $d1: disk of $inst@00:02" "$T/run.log" &&
		ok "$label: the disks are named as Linux's driver's would be ($d0, $d1)" ||
		not_ok "$label: names" "$(grep 'bddf:' "$T/run.log")"
	grep -Eq ": entry point [A-Za-z0-9]+\+0x[0-9a-f]* returned success" "$T/run.log" &&
		grep -Eq "[A-Za-z0-9]+\+0x[0-9a-f]* started on handle" "$T/run.log" &&
		ok "$label: the entry points ran, the driver bindings started on the controller" ||
		not_ok "$label: entry and Start" "$(grep -i efi "$T/run.log" | head)"
	same_as_sfdisk "$label: " "$d0" "$M"
	same_as_sfdisk "$label: " "$d1" "$G"
	read_back "$label: " "${p0}5" "$M" 24576 8192
	read_back "$label: " "${p1}1" "$G" 2048 16384
	head -c 3146240 /dev/urandom >"$T/w1"	# 3 MiB + 1 KiB
	head -c 1536 /dev/urandom >"$T/w2"
	expect "$label: ${p0}1: 3 MiB + 1 KiB at byte 1536 (1 MiB requests, depth 32)" 0 \
		"wrote 3146240" "$BLKIO" "${p0}1" put "$T/w1" 1536 1048576 32
	expect "$label: ${p0}5: 1.5 KiB at byte 512 (512-byte requests, depth 1)" 0 "wrote 1536" \
		"$BLKIO" "${p0}5" put "$T/w2" 512 512 1
	expect "$label: ${p1}1: 3 MiB + 1 KiB at byte 4096 (64 KiB requests, depth 32, FUA)" 0 \
		"wrote 3146240" "$BLKIO" "${p1}1" put "$T/w1" 4096 65536 32 fua
	expect "$label: a flush" 0 "flush: done" "$BLKIO" "${p1}1" flush
	expect "$label: ${p1}1's write read back over 3 slots" 0 "read 3146240" \
		"$BLKIO" "${p1}1" sget "$T/r1" 4096 3146240 3
	cmp -s "$T/w1" "$T/r1" && ok "$label: ... byte for byte" || not_ok "$label: read back equals the write"
	local S="$T/nbd.sock" nbd
	"$DDE" nbd --export "${p0}5" --socket "$S" >"$T/nbd.log" 2>&1 &
	nbd=$!
	BG_PIDS="$BG_PIDS $nbd"
	wait_count "^dde nbd: ${p0}5 .* at nbd\+unix" 1 10 "$T/nbd.log"
	nbdcopy "nbd+unix:///${p0}5?socket=$S" "$T/p5.out" 2>"$T/err" &&
		[ "$(shaf "$T/p5.out")" = "$(sha "$M" 24576 8192)" ] &&
		ok "$label: nbdcopy copies ${p0}5 out over NBD (the image's bytes, with the 1.5 KiB write)" ||
		not_ok "$label: nbdcopy out" "$(cat "$T/err" "$T/nbd.log")"
	kill -INT $nbd
	wait $nbd 2>/dev/null
	expect "$label: DSweeper zeroes ${p0}6 and verifies it" 0 \
		'"result":"ok","write":true,"mode":"zero".*"written":2097152,"verified":2097152' \
		"$O/bin/dsweeper" --write --yes --mode zero --verify --partition "${p0}6"
	dde_stop $run
	local w1
	w1=$(shaf "$T/w1")
	[ "$(sha "$M" $((2048 + 3)) 6145)" = "$w1" ] && ok "$label: ${p0}1's bytes are in the MBR image" ||
		not_ok "$label: the MBR image holds the write"
	[ "$(sha "$M" $((24576 + 1)) 3)" = "$(shaf "$T/w2")" ] &&
		ok "$label: ${p0}5's 1.5 KiB are in the image" || not_ok "$label: the MBR image holds the small write"
	[ "$(sha "$G" $((2048 + 8)) 6145)" = "$w1" ] && ok "$label: ${p1}1's bytes are in the GPT image" ||
		not_ok "$label: the GPT image holds the write"
	[ "$(sha "$M" 34816 4096)" = "$(head -c 2097152 /dev/zero | sha256sum | cut -d' ' -f1)" ] &&
		ok "$label: ${p0}6 is zeros in the image after the sweep" ||
		not_ok "$label: the swept partition is zeros in the image"
}

two_disks_efi "efi:NvmExpressDxe (OVMF, x86-64, native)" efi NvmExpressDxe nvme nvme0n1 nvme1n1
two_disks_efi "efi:NvmExpressDxe (OVMF, x86-64, translated)" efi NvmExpressDxe nvme nvme0n1 nvme1n1 \
	--engine dbt
grep -q "translated engine (unicorn, x86-64)" "$T/run.log" &&
	ok "efi:NvmExpressDxe --engine dbt: the driver ran in the translated engine" ||
	not_ok "efi:NvmExpressDxe --engine dbt: translated" "$(grep efi-blk "$T/run.log")"
two_disks_efi "efi-aarch64:NvmExpressDxe (AAVMF, AArch64 on x86-64)" efi-aarch64 NvmExpressDxe \
	nvme nvme0n1 nvme1n1
grep -q "translated engine (unicorn, AArch64 on this x86-64 host)" "$T/run.log" &&
	ok "efi-aarch64:NvmExpressDxe: AArch64 code translated on this x86-64 host" ||
	not_ok "efi-aarch64: translated" "$(grep efi-blk "$T/run.log")"
two_disks_efi "efi:Virtio10+VirtioBlkDxe (OVMF's virtio stack)" efi Virtio10+VirtioBlkDxe \
	virtio-blk vda vdb

# --- one clear line each ---
cp "$EFI/x64/NvmExpressDxe.efi" "$T/bad.efi"
printf 'XX' | dd of="$T/bad.efi" bs=1 seek=0 conv=notrunc 2>/dev/null
expect "efi: a malformed image: the host says what is wrong and the run fails" 1 "bad.efi" \
	"$DDE" run --disk "nvme:$T/gpt.img" --driver "efi:$T/bad.efi@00:01.0"
expect "efi: AAVMF's AArch64 NvmExpressDxe natively: refused, naming the machine" 1 \
	"is for AArch64, not x86-64: it runs translated" \
	"$DDE" run --disk "nvme:$T/gpt.img" --driver "efi:$EFI/aa64/NvmExpressDxe.efi@00:01.0"
# an image of a machine no engine runs: 32-bit ARM (0x1c2) in its COFF header
cp "$EFI/x64/NvmExpressDxe.efi" "$T/arm.efi"
pe=$(od -An -tu4 -j60 -N4 "$T/arm.efi" | tr -d ' ')
printf '\xc2\x01' | dd of="$T/arm.efi" bs=1 seek=$((pe + 4)) conv=notrunc 2>/dev/null
expect "efi: an image for 32-bit ARM: refused, naming the machine" 1 \
	"arm.efi: (the )?image is for ARM.*not x86-64 or AArch64" \
	"$DDE" run --disk "nvme:$T/gpt.img" --driver "efi:$T/arm.efi@00:01.0"
expect "efi: NvmExpressDxe on an e1000: its Supported refuses the device, one line says so" 1 \
	"no driver of NvmExpressDxe took the device" "$DDE" run --nic e1000,net=none \
	--driver efi:NvmExpressDxe@00:01.0
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
