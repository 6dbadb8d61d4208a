# Helpers of the block tests (sourced after lib.sh): hashes of image
# ranges and files, and bddf's listing of a disk against sfdisk's.

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
