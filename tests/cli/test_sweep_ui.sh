#!/bin/bash
# DSweeper's terminal UI as a person uses it, driven in tmux (send-keys,
# capture-pane) over `dde sweep` and a real machine (Linux's ata_piix, nvme
# and ahci under bddf): the title says readonly; the partitions of all
# disks are listed with sizes, types and labels; one is selected with the keyboard;
# a readonly run shows progress bars with MB/s, elapsed time and ETA, then
# the summary, and changes no byte. With --write, Start asks for the word
# yes naming the partitions (anything else starts nothing); q, y stops a
# sweep cleanly, and the summary and the report state the range written,
# which the image holds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

SW="$O/bin/dsweeper"
export PATH="$PATH:/usr/sbin:/sbin"
TS="dde-test-ui-$$"	# a tmux server of our own
trap 'tmux -L "$TS" kill-server 2>/dev/null; cleanup' EXIT

M="$T/mbr.img" G="$T/gpt.img" L="$T/large.img" W="$T/wide.img"
mbr_image "$M"
gpt_image "$G"
truncate -s 1G "$L"	# sparse: long enough a sweep to watch
echo 'start=2048, type=83' | sfdisk -q "$L" || not_ok "sfdisk makes the large image"
# the write sweep's disk: large enough that a stop comes long before the end
# (AHCI writes about 0.5 GB/s here: 1 GiB once ended before the keys arrived)
truncate -s 8G "$W"
echo 'start=2048, type=83' | sfdisk -q "$W" || not_ok "sfdisk makes the wide image"
cp "$M" "$T/mbr.orig"
sha_g=$(shaf "$G")
sha_l=$(shaf "$L")
big=$(((2097152 - 2048) * 512)) wide=$(((16777216 - 2048) * 512))

screen() { tmux -L "$TS" capture-pane -p -t ui 2>/dev/null; }
# wait_screen REGEX SECONDS: the screen shows REGEX (extended)
wait_screen() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
keys() { tmux -L "$TS" send-keys -t ui "$@"; }
# pick NAME: move the cursor (>) to NAME's row and select it
pick() {
	local i
	for ((i = 0; i < 20; i++)); do
		screen | grep -Eq -- ">\[.\] $1 " && break
		keys Down
		sleep 0.1
	done
	keys Space
	wait_screen "\[x\] $1 " 5
}
# ui NAME COLUMNS LINES CMD ARGS...: CMD ARGS in a fresh terminal of that
# size; its exit status to $T/NAME.rc
ui() {
	local name=$1 cols=$2 lines=$3
	shift 3
	rm -f "$T/$name.rc"
	tmux -L "$TS" kill-server 2>/dev/null
	tmux -L "$TS" new-session -d -s ui -x "$cols" -y "$lines" \
		"TMPDIR=$T $* --report $T/$name.report; echo \$? >$T/$name.rc" ||
		not_ok "tmux starts dde sweep"
}
# ended NAME: dde sweep's exit status, once it exited (and stopped its machine)
ended() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ -s "$T/$1.rc" ] && break
		sleep 0.1
	done
	cat "$T/$1.rc" 2>/dev/null || echo none
}

# --- readonly (the default), on a pc with a disk of each kind: IDE, NVMe, AHCI ---
ui ro 110 34 "$DDE" sweep --machine pc --disk "ide:$G" --disk "nvme:$M" --disk "ahci:$L"
wait_screen "^ DSweeper \(readonly\)" 20 && ok "the title reads 'DSweeper (readonly)'" ||
	not_ok "readonly title" "$(screen)"
wait_screen "1023.0M" 90 && wait_screen "\"beta\"" 30 && screen >"$T/list"
# the two ATA disks are named (sda, sdb) in the order they arrive, as Linux does
beta=$(sed -n 's/.*\] \([a-z0-9]*\) .*"beta" Linux filesystem.*/\1/p' "$T/list")
big1=$(sed -n 's/.*\] \([a-z0-9]*\) *1023.0M.*/\1/p' "$T/list")
grep -Eq "nvme0n1 +64.0M +dos +nvme@" "$T/list" && grep -Eq "\[ \] nvme0n1p5 +4.0M +Linux" "$T/list" &&
	grep -Eq "nvme0n1p2 +20.0M +Extended" "$T/list" && grep -Eq "sd[ab] +32.0M +gpt +ata_piix@" "$T/list" &&
	grep -Eq "sd[ab] +1.0G +dos +ahci@" "$T/list" && [ -n "$beta" ] && [ -n "$big1" ] &&
	grep -Eq "^ +Data \(m\) +\(\*\) zeros" "$T/list" && grep -Eq "^ +Verify \(v\) +\(\*\) no" "$T/list" &&
	ok "the task, and the partitions of IDE, NVMe and AHCI disks with sizes, types and labels (MBR with logicals, GPT)" ||
	not_ok "the partition list" "$(screen)"
pick "$beta" && ok "a partition is selected with the keyboard (Down, Space)" || not_ok "select $beta" "$(screen)"
pick "$big1" || not_ok "select $big1" "$(screen)"
grep -q "selected: 2" <(screen) && ok "... and a second one" || not_ok "two selected" "$(screen)"
keys s
# while it runs: a bar, the percentage, MB/s, elapsed time, ETA
progress=""
for ((i = 0; i < 300; i++)); do
	if screen | grep -Eq "^ $big1 +\[#*\.+\] +[0-9]+\.[0-9]%"; then
		screen >"$T/progress"
		grep -Eq "reading \(readonly\) +[0-9.]+ MB/s +elapsed [0-9.:s]+ +eta [0-9.:s]+" "$T/progress" &&
			grep -Eq "^ total +\[#*\.*\]" "$T/progress" && progress=yes
		break
	fi
	sleep 0.05
done
[ -n "$progress" ] && ok "while it runs: per-partition bars with MB/s, elapsed time and ETA, and a total" ||
	not_ok "progress on the screen" "$(cat "$T/progress" 2>/dev/null || screen)"
wait_screen "Summary: ok - every byte read, nothing written" 60 && screen >"$T/summary" &&
	grep -q "readonly: a sweep would overwrite 1.0G ($((big + 4194304)) bytes) in 2 partitions" "$T/summary" &&
	grep -q "$beta: completed bytes 0..4194304 of 4194304, errors: none" "$T/summary" &&
	grep -q "$big1: completed bytes 0..$big of $big, errors: none" "$T/summary" &&
	ok "the summary: what would be overwritten, at what speed, every byte read" ||
	not_ok "readonly summary" "$(screen)"
keys q
rc=$(ended ro)
[ "$rc" = 0 ] && grep -q "^result: ok" "$T/ro.report" &&
	grep -q "^summary: {\"result\":\"ok\",\"write\":false" "$T/ro.report" &&
	ok "q quits: exit status 0, the report file written" ||
	not_ok "readonly exit" "status $rc: $(cat "$T/ro.report" 2>/dev/null)"
[ "$(shaf "$M")" = "$(shaf "$T/mbr.orig")" ] && [ "$(shaf "$G")" = "$sha_g" ] && [ "$(shaf "$L")" = "$sha_l" ] &&
	ok "readonly: no byte of any image changed" || not_ok "an image changed in readonly mode"

# --- --write: the confirmation, then q y in the middle of a sweep; started
# as dsweeper with machine options, which is dde sweep; in 80x24 ---
ui rw 80 24 "$SW" --machine q35 --disk "nvme:$M" --disk "ahci:$W" --write --mode random
wait_screen "^ DSweeper \(write\)" 20 && wait_screen " sda1 " 90 &&
	grep -Eq "\(\*\) random" <(screen) && ok "--write: the title says so; --mode random is the task chosen" ||
	not_ok "write title" "$(screen)"
keys r
wait_screen "Rounds \(r\): 2" 5 && keys r r r r r r r r r r r r r r r &&
	wait_screen "Rounds \(r\): 1" 5 && ok "r cycles the rounds (1 to 16)" || not_ok "rounds key" "$(screen)"
pick nvme0n1p5 || not_ok "select nvme0n1p5" "$(screen)"
keys s
wait_screen "Destroy every byte of these partitions" 5 && grep -q "nvme0n1p5 (4.0M)" <(screen) &&
	ok "Start asks for a confirmation naming the partitions" || not_ok "confirmation" "$(screen)"
keys n o Enter
wait_screen "not started" 5 && ok "anything but yes starts nothing" || not_ok "not started" "$(screen)"
pick sda1 || not_ok "select sda1" "$(screen)"
keys s
wait_screen "Destroy every byte" 5 && keys y e s Enter
stopped=""
for ((i = 0; i < 600; i++)); do
	if screen | grep -Eq "^ sda1 +\[#+\.+\] +[0-9]"; then
		keys q y
		stopped=yes
		break
	fi
	sleep 0.05
done
wait_screen "Summary: interrupted" 30 && [ -n "$stopped" ] &&
	ok "q, y in the middle of a sweep stops it; the summary says interrupted" || not_ok "key stop" "$(screen)"
screen >"$T/wsummary"
keys q
rc=$(ended rw)
js=$(sed -n 's/^summary: //p' "$T/rw.report")
seed5=$(sed -n 's/.*"seed":"\([0-9a-f]*\)","name":"nvme0n1p5".*/\1/p' <<<"$js")
seed1=$(sed -n 's/.*"seed":"\([0-9a-f]*\)","name":"sda1".*/\1/p' <<<"$js")
swept=$(sed -n 's/.*"name":"sda1".*"swept":\[0,\([0-9]*\)\].*/\1/p' <<<"$js")
[ "$rc" = 1 ] && grep -q '"result":"interrupted"' <<<"$js" &&
	grep -q '"name":"nvme0n1p5","disk":"nvme0n1","driver":"[^"]*","bytes":4194304,"sector_size":512,"completed":\[0,4194304\]' <<<"$js" &&
	[ -n "$swept" ] && [ "$swept" -gt 0 ] && [ "$swept" -lt "$wide" ] &&
	grep -q "sda1: completed bytes 0..$swept of $wide" "$T/wsummary" &&
	ok "exit status 1; screen and report state the range written: nvme0n1p5 whole, sda1 0..$swept" ||
	not_ok "interrupted summary" "status $rc: $js"
cp "$T/mbr.orig" "$T/mbr.want"
"$SW" --print-stream "$seed5:4194304" | dd of="$T/mbr.want" bs=512 seek=24576 conv=notrunc status=none
[ "$(shaf "$M")" = "$(shaf "$T/mbr.want")" ] &&
	ok "mbr.img: nvme0n1p5 is its random stream, every other byte unchanged (nothing after the refusal)" ||
	not_ok "mbr.img after the UI's sweep"
[ -n "$swept" ] && [ "$(dd if="$W" bs=512 skip=2048 count=$((swept / 512)) 2>/dev/null | sha256sum | cut -d' ' -f1)" = \
	"$("$SW" --print-stream "$seed1:$swept" | sha256sum | cut -d' ' -f1)" ] &&
	[ "$(dd if="$W" bs=1M skip=8191 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)" = \
	"$(head -c 1048576 /dev/zero | sha256sum | cut -d' ' -f1)" ] &&
	ok "wide.img: the stated range holds sda1's stream; its last MiB was never written" ||
	not_ok "wide.img after the stop"
no_leftovers "no QEMU, ddeio, drivers or bddf left"
ls "$T"/dde-sweep-* >/dev/null 2>&1 && not_ok "dde sweep's log left in TMPDIR" || ok "dde sweep's machine log removed"
finish
