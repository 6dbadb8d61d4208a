# Helpers of the block tests (sourced after lib.sh): hashes of image
# ranges and files, and bddf's listing of a disk against sfdisk's.

# KO=1 (test_ko_block.sh): the block tests on Debian's binary module of
# each driver, in the block class's driver host on ENGINE (native or dbt):
# drivers are named "${pre}NAME", dde run gets "${run_extra[@]}"
pre="" run_extra=()
if [ -n "${KO:-}" ]; then
	pre="ko:"
	run_extra=(--prefer ko --engine "${ENGINE:-native}")
fi

# sha IMAGE START-SECTOR SECTORS: the hash of a range of an image
sha() { dd if="$1" bs=512 skip="$2" count="$3" 2>/dev/null | sha256sum | cut -d' ' -f1; }
# shaf FILE: the hash of a whole file
shaf() { sha256sum <"$1" | cut -d' ' -f1; }

# same_as_sfdisk PREFIX DISK IMAGE: `dde disks --dump DISK` lists IMAGE's
# partitions as `sfdisk --dump IMAGE` does, line by line (DISK's own
# lines are left in $T/ours)
same_as_sfdisk() {
	local part=$2
	case "$2" in *[0-9]) part="${2}p" ;; esac
	"$DDE" disks --dump "$2" >"$T/ours" 2>&1
	sfdisk --dump "$3" | sed -n "s|^$3\([0-9]*\) :|${part}\1 :|p" >"$T/theirs"
	grep " : start=" "$T/ours" >"$T/ours.parts"
	if [ -s "$T/theirs" ] && diff "$T/theirs" "$T/ours.parts" >"$T/diff"; then
		ok "$1$2: partitions as sfdisk --dump lists them ($(wc -l <"$T/theirs") partitions)"
	else
		not_ok "$1$2: partitions equal sfdisk's" "$(cat "$T/diff" "$T/ours")"
	fi
}

# mbr_image FILE: 64 MiB of random bytes under an MBR: p1 (10 MiB at
# sector 2048), the extended p2 (20 MiB at 22528) holding p5 (4 MiB at
# 24576) and p6 (2 MiB at 34816, type 7)
mbr_image() {
	head -c $((64 << 20)) /dev/urandom >"$1"
	sfdisk -q "$1" <<-'SF' || not_ok "sfdisk makes the MBR image $1"
	label: dos
	start=2048, size=20480, type=83
	start=22528, size=40960, type=5
	start=24576, size=8192, type=83
	start=34816, size=4096, type=7
	SF
}
# gpt_image FILE: 32 MiB of random bytes under a GPT: "alpha" (8 MiB at
# sector 2048) and "beta" (4 MiB at 18432), both Linux filesystems
gpt_image() {
	head -c $((32 << 20)) /dev/urandom >"$1"
	sfdisk -q "$1" <<-'SF' || not_ok "sfdisk makes the GPT image $1"
	label: gpt
	start=2048, size=16384, type=L, name=alpha
	start=18432, size=8192, type=L, name=beta
	SF
}

# read_back PREFIX PART IMAGE START SECTORS: PART reads as IMAGE holds the
# range, in 4 KiB requests at depth 1 and 32
read_back() {
	local depth
	for depth in 1 32; do
		"$BLKIO" "$2" get "$T/got" 0 $(($5 * 512)) 4096 $depth >"$T/io" 2>&1
		[ "$(shaf "$T/got")" = "$(sha "$3" "$4" "$5")" ] &&
			ok "$1$2: read back as the image holds it (4 KiB requests, depth $depth)" ||
			not_ok "$1$2: read at depth $depth" "$(cat "$T/io")"
	done
}

# two_disks LABEL A B M G: the checks of a disk driver serving an MBR
# image M as disk A and a GPT image G as disk B at bddf ($DDE_BLK), made by
# mbr_image and gpt_image: listings equal sfdisk's, reads equal the images
# (depth 1 and 32), writes unaligned to pages and of several MiB (depth 1
# and 32, FUA, flush) read back, a write past a partition's end is refused,
# trim. Then the caller stops the machine and calls two_disks_after.
two_disks() {
	local label=$1 a=$2 b=$3 M=$4 G=$5 spec depth
	BEFORE_P6=$(sha "$M" 34816 4096)
	BEFORE_G2=$(sha "$G" 18432 8192)
	same_as_sfdisk "$label: " "$a" "$M"
	same_as_sfdisk "$label: " "$b" "$G"
	read_back "$label: " "${a}5" "$M" 24576 8192
	read_back "$label: " "${b}1" "$G" 2048 16384
	head -c 3146240 /dev/urandom >"$T/w1"	# 3 MiB + 1 KiB
	head -c 1536 /dev/urandom >"$T/w2"
	expect "$label: ${a}1: 3 MiB + 1 KiB at byte 1536 (1 MiB requests, depth 32)" 0 "wrote 3146240" \
		"$BLKIO" "${a}1" put "$T/w1" 1536 1048576 32
	expect "$label: ${a}5: 1.5 KiB at byte 512 (512-byte requests, depth 1)" 0 "wrote 1536" \
		"$BLKIO" "${a}5" put "$T/w2" 512 512 1
	expect "$label: ${b}1: 3 MiB + 1 KiB at byte 4096 (64 KiB requests, depth 32, FUA)" 0 "wrote 3146240" \
		"$BLKIO" "${b}1" put "$T/w1" 4096 65536 32 fua
	expect "$label: a flush" 0 "flush: done" "$BLKIO" "${b}1" flush
	expect "$label: ${b}1's first write read back over 3 slots" 0 "read 3146240" \
		"$BLKIO" "${b}1" sget "$T/r1" 4096 3146240 3
	cmp -s "$T/w1" "$T/r1" && ok "$label: ... byte for byte" || not_ok "$label: read back equals the write"
	expect "$label: a write reaching past ${a}5's end is refused" 1 "No space left" \
		"$BLKIO" "${a}5" put "$T/w2" $((8192 * 512 - 512)) 1536 1
	expect "$label: trim of ${b}1's last MiB" 0 "discard: done" \
		"$BLKIO" "${b}1" discard $((16384 * 512 - 1048576)) 1048576
}

# two_disks_after LABEL A B M G: once QEMU is gone, the images hold what
# two_disks wrote, the trimmed MiB is zeros, the rest is unchanged
two_disks_after() {
	local label=$1 a=$2 b=$3 M=$4 G=$5 w1
	w1=$(shaf "$T/w1")
	[ "$(sha "$M" $((2048 + 3)) 6145)" = "$w1" ] && ok "$label: ${a}1's bytes are in the MBR image" ||
		not_ok "$label: MBR image holds the write"
	[ "$(sha "$M" $((24576 + 1)) 3)" = "$(shaf "$T/w2")" ] && ok "$label: ${a}5's 1.5 KiB are in the image" ||
		not_ok "$label: MBR image holds the small write"
	[ "$(sha "$G" $((2048 + 8)) 6145)" = "$w1" ] && ok "$label: ${b}1's bytes are in the GPT image" ||
		not_ok "$label: GPT image holds the write"
	[ "$(sha "$G" $((2048 + 16384 - 2048)) 2048)" = "$(head -c 1048576 /dev/zero | sha256sum | cut -d' ' -f1)" ] &&
		ok "$label: the trimmed MiB reads as zeros in the image" || not_ok "$label: trimmed range is zeros"
	[ "$(sha "$M" 34816 4096)" = "$BEFORE_P6" ] && [ "$(sha "$G" 18432 8192)" = "$BEFORE_G2" ] &&
		ok "$label: the partitions nobody wrote are unchanged (${a}6 after the refused write, ${b}2)" ||
		not_ok "$label: untouched partitions unchanged"
}
