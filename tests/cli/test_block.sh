#!/bin/bash
# The block stack on QEMU's NVMe controllers: Linux's nvme driver (from
# source) in its own process per controller, bddf naming disks and
# partitions across them, clients through libddeblk (tests/block/blkio).
# Images are made with sfdisk here; what bddf lists must equal sfdisk's
# dump; data written through the stack must be in the image files after
# QEMU exits, data put into the images before must be read back; requests
# beyond a partition fail and touch nothing; a killed driver fails its
# requests cleanly while the other disk keeps serving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

BLKIO="$O/tests/block/blkio"
NVME=${pre}nvme
export PATH="$PATH:/usr/sbin:/sbin"
if ! command -v sfdisk >/dev/null; then
	not_ok "sfdisk is installed (make deps: fdisk)"
	finish
	exit
fi



# An MBR image with a primary, an extended and two logical partitions, and
# a GPT image with two named partitions, both full of random bytes.
M="$T/mbr.img" G="$T/gpt.img"
head -c $((64 << 20)) /dev/urandom >"$M"
head -c $((64 << 20)) /dev/urandom >"$G"
sfdisk -q "$M" <<'SF' || not_ok "sfdisk makes the MBR image"
label: dos
label-id: 0x1234abcd

start=2048, size=20480, type=83, bootable
start=22528, size=40960, type=5
start=24576, size=8192, type=83
start=34816, size=4096, type=7
SF
sfdisk -q "$G" <<'SF' || not_ok "sfdisk makes the GPT image"
label: gpt

start=2048, size=16384, type=L, name=alpha
start=18432, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="beta two"
SF
before_p6=$(sha "$M" 34816 4096)
before_g2=$(sha "$G" 18432 8192)

export DDE_BLK="@dde-test-blk-$$"
dde_bg "$T/run.log" "${run_extra[@]}" --machine q35 --disk "nvme:$M" --disk "nvme:$G" --blk-socket "$DDE_BLK" \
	--restarts 2 --hang-timeout 2000
run=$bg
if wait_count "bddf: nvme[01]n1: disk of" 2 60 "$T/run.log"; then
	ok "two NVMe controllers: Linux's nvme in a process each, both disks at bddf"
else
	not_ok "disks at bddf" "$(tail -8 "$T/run.log")"
fi
grep -q "bddf: nvme0n1: disk of $NVME@00:01.0" "$T/run.log" &&
	grep -q "bddf: nvme1n1: disk of $NVME@00:02.0" "$T/run.log" &&
	ok "disks are named in --disk order (nvme0n1, nvme1n1) whichever driver comes first" ||
	not_ok "names in --disk order" "$(grep 'bddf:' "$T/run.log")"

# the listing equals sfdisk's, partition by partition
for pair in "nvme0n1 $M" "nvme1n1 $G"; do
	set -- $pair
	same_as_sfdisk "" "$1" "$2"
	label=$(sfdisk --dump "$2" | sed -n 's/^label-id: //p')
	grep -q "^label-id: $label" "$T/ours" && ok "$1: the table's id ($label)" ||
		not_ok "$1: table id" "$(head -3 "$T/ours")"
done
expect "dde disks lists disks and partitions with types and labels" 0 \
	"nvme0n1p5 +4.0M +512 +83 .*$NVME@00:01.0" "$DDE" disks
grep -q 'nvme1n1p2 .*0FC63DAF-8483-4772-8E79-3D69D8477DE4 beta two' "$T/out" &&
	ok "GPT names and type GUIDs listed" || not_ok "GPT listing" "$(cat "$T/out")"

# reading what was in the image before start
read_back "" nvme0n1p5 "$M" 24576 8192
read_back "" nvme1n1p1 "$G" 2048 16384

# writing: unaligned to pages, multi-megabyte, depth 1 and 32
head -c 3146240 /dev/urandom >"$T/w1"	# 3 MiB + 1 KiB
head -c 1536 /dev/urandom >"$T/w2"
expect "nvme0n1p1: 3 MiB + 1 KiB at byte 1536 (1 MiB requests, depth 32)" 0 "wrote 3146240" \
	"$BLKIO" nvme0n1p1 put "$T/w1" 1536 1048576 32
expect "nvme0n1p5: 1.5 KiB at byte 512 (512-byte requests, depth 1)" 0 "wrote 1536" \
	"$BLKIO" nvme0n1p5 put "$T/w2" 512 512 1
expect "nvme1n1p1: 3 MiB + 1 KiB at byte 4096 (64 KiB requests, depth 32, FUA)" 0 "wrote 3146240" \
	"$BLKIO" nvme1n1p1 put "$T/w1" 4096 65536 32 fua
expect "a flush" 0 "flush: done" "$BLKIO" nvme1n1p1 flush
# the synchronous calls, with fewer slots than chunks (slots are reused)
expect "ddeblk_write: 3 MiB + 1 KiB over 2 slots" 0 "wrote 3146240" \
	"$BLKIO" nvme0n1p1 sput "$T/w1" $((5 << 20)) 2
expect "ddeblk_read: the same back over 3 slots" 0 "read 3146240" \
	"$BLKIO" nvme0n1p1 sget "$T/r1" $((5 << 20)) 3146240 3
cmp -s "$T/w1" "$T/r1" && ok "... byte for byte" || not_ok "synchronous read equals the write"

# bounds: beyond the partition is refused, nothing written
size5=$((8192 * 512))
expect "a write reaching past nvme0n1p5's end is refused" 1 "No space left" \
	"$BLKIO" nvme0n1p5 put "$T/w2" $((size5 - 512)) 1536 1
expect "a misaligned request is refused" 1 "Invalid argument" \
	"$BLKIO" nvme0n1p5 put "$T/w2" 100 512 1
expect "an extended partition cannot be opened" 1 "open nvme0n1p2" \
	"$BLKIO" nvme0n1p2 info
expect "an unknown name" 1 "open sdz9: no disk or partition .sdz9." "$BLKIO" sdz9 info

# Drivers come back. The second disk's driver is stopped (SIGSTOP) with a
# write in flight: bddf reports it hung, dde kills and restarts it, bddf
# sends the write again and the client sees only a delay. Then kill -9
# with a write in flight: the same. A third failure within the window
# (--restarts 2): dde gives the driver up; its disk's requests fail at
# once, the first disk serves on.
head -c $((4 << 20)) /dev/urandom >"$T/w3"
head -c $((512 << 10)) /dev/urandom >"$T/w4"
pid=$(driver_pid "$T/run.log" "$NVME@00:02.0")
[ -n "$pid" ] && kill -STOP "$pid"
"$BLKIO" nvme1n1p1 put "$T/w3" $((4 << 20)) 65536 32 >"$T/w3.out" 2>&1 &
io=$!
if wait_for "bddf: driver $NVME@00:02.0 hangs: a request of its [0-9]+ in flight is not done" 20 "$T/run.log" &&
	wait_for "dde: the block server reports driver $NVME@00:02.0 hung: .*: killing it" 10 "$T/run.log" &&
	wait_for "dde: restarted driver $NVME@00:02.0 \(pid [0-9]+, restart 1\)" 20 "$T/run.log"; then
	ok "a driver stopped with requests in flight: bddf reports it hung, dde kills and restarts it"
else
	not_ok "a hung driver is restarted" "$(grep -E 'bddf|dde:' "$T/run.log" | tail -6)"
fi
wait $io
grep -q "wrote 4194304" "$T/w3.out" &&
	ok "... the client's write completes without an error (sent again to the new process)" ||
	not_ok "the write survives the restart" "$(cat "$T/w3.out")"
grep -Eq "bddf: nvme1n1: back [0-9]+ ms after its driver went away .*: [1-9][0-9]* request parts? sent again" \
	"$T/run.log" && ok "... its disk keeps its name; what was in flight was sent again" ||
	not_ok "the disk comes back" "$(grep 'bddf' "$T/run.log" | tail -4)"
pid=$(driver_pid "$T/run.log" "$NVME@00:02.0")
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
[ -n "$uid" ] && [ "$uid" -ge 1500000000 ] && grep -q "^Seccomp:[[:space:]]*2" "/proc/$pid/status" &&
	ok "the restarted driver runs in its sandbox (uid $uid, system-call filter)" ||
	not_ok "the restarted driver is sandboxed" "$(grep -E 'Uid|Seccomp' "/proc/$pid/status")"
[ -n "$pid" ] && kill -STOP "$pid"
"$BLKIO" nvme1n1p1 put "$T/w4" 3407872 4096 32 >"$T/w4.out" 2>&1 &
io=$!
sleep 1
[ -n "$pid" ] && kill -9 "$pid"
wait $io
grep -q "wrote 524288" "$T/w4.out" &&
	wait_for "dde: restarted driver $NVME@00:02.0 \(pid [0-9]+, restart 2\)" 1 "$T/run.log" &&
	ok "kill -9 with a write in flight: restarted, the write completes without an error" ||
	not_ok "kill -9 with a write in flight" "$(cat "$T/w4.out"; grep -E 'bddf|dde:' "$T/run.log" | tail -4)"
"$BLKIO" nvme1n1p1 get "$T/r3" $((4 << 20)) $((4 << 20)) 1048576 8 >"$T/r3.out" 2>&1
"$BLKIO" nvme1n1p1 get "$T/r4" 3407872 524288 65536 8 >>"$T/r3.out" 2>&1
cmp -s "$T/r3" "$T/w3" && cmp -s "$T/r4" "$T/w4" &&
	ok "... both writes read back through the restarted driver" ||
	not_ok "the writes read back" "$(cat "$T/r3.out")"
expect "dde status shows the driver running, restarted twice, and why" 0 \
	"$NVME@00:02.0 +running +[0-9]+ +2  killed by signal 9" env DDE_RUN="@dde-run-$run" "$DDE" status
pid=$(driver_pid "$T/run.log" "$NVME@00:02.0")
[ -n "$pid" ] && kill -9 "$pid"
if wait_for "dde: driver $NVME@00:02.0 failed 3 times within 60 s \(last: killed by signal 9 \(Killed\)\): given up" 20 "$T/run.log" &&
	wait_for "bddf: nvme1n1: gone" 10 "$T/run.log"; then
	ok "a third failure within the window: given up in one line; bddf takes its disk away"
else
	not_ok "the driver is given up" "$(grep -E 'bddf|dde:' "$T/run.log" | tail -5)"
fi
expect "requests to its disk fail at once (no hang)" 1 "No such device" \
	timeout 20 "$BLKIO" nvme1n1p1 get "$T/x" 0 4096
expect "the other disk keeps serving" 0 "read 1048576" \
	timeout 20 "$BLKIO" nvme0n1p1 get "$T/x" 0 1048576
expect "dde disks shows the disk gone" 0 "nvme1n1p2 .*$NVME@00:02.0 \(gone\)" "$DDE" disks
expect "dde status shows it given up" 0 "$NVME@00:02.0 +given up" \
	env DDE_RUN="@dde-run-$run" "$DDE" status
dde_stop $run

# after QEMU exits: the images hold exactly what was written
w1=$(sha256sum <"$T/w1" | cut -d' ' -f1)
[ "$(sha "$M" $((2048 + 3)) 6145)" = "$w1" ] && ok "nvme0n1p1's bytes are in the MBR image" ||
	not_ok "MBR image holds the write"
[ "$(sha "$M" $((2048 + 10240)) 6145)" = "$w1" ] && ok "the synchronous write is in the MBR image" ||
	not_ok "MBR image holds the synchronous write"
[ "$(sha "$M" $((24576 + 1)) 3)" = "$(sha256sum <"$T/w2" | cut -d' ' -f1)" ] &&
	ok "nvme0n1p5's 1.5 KiB are in the image" || not_ok "MBR image holds the small write"
[ "$(sha "$G" $((2048 + 8)) 6145)" = "$w1" ] && ok "nvme1n1p1's bytes are in the GPT image" ||
	not_ok "GPT image holds the write"
[ "$(sha "$G" $((2048 + 8192)) 8192)" = "$(shaf "$T/w3")" ] &&
	[ "$(sha "$G" $((2048 + 6656)) 1024)" = "$(shaf "$T/w4")" ] &&
	ok "the writes the driver died under are in the GPT image" ||
	not_ok "GPT image holds the writes sent again"
[ "$(sha "$M" 34816 4096)" = "$before_p6" ] && [ "$(sha "$G" 18432 8192)" = "$before_g2" ] &&
	ok "the partitions nobody wrote are unchanged (nvme0n1p6 after the refused write, nvme1n1p2)" ||
	not_ok "untouched partitions unchanged"
# a driver that gives bddf its own memory for the request slots (DMA
# memory: the device reads and writes them, nobody copies): only memory
# sealed against shrinking (a truncated mapping would kill bddf) that
# holds the slots it says
"$O/bin/bddf" --socket "@dde-test-mem-$$" --open-drivers >"$T/mem.log" 2>&1 &
mem_bddf=$!
BG_PIDS="$BG_PIDS $mem_bddf"
sleep 0.3
expect "a driver's sealed memory becomes its request slots" 0 "its memory the slots" \
	env DDE_BLK="@dde-test-mem-$$" "$BLKIO" drv1 attach-mem sealed
expect "memory a driver could shrink under bddf is not taken: the slots are bddf's" 0 \
	"bddf's slots" env DDE_BLK="@dde-test-mem-$$" "$BLKIO" drv2 attach-mem unsealed
expect "nor is memory smaller than the slots it should hold" 0 "bddf's slots" \
	env DDE_BLK="@dde-test-mem-$$" "$BLKIO" drv3 attach-mem small
kill $mem_bddf
wait $mem_bddf 2>/dev/null
grep -q "driver drv2: its memory is not taken for the slots (its memory is no sealed memfd)" \
	"$T/mem.log" && grep -q "driver drv3: .*(its memory is smaller than the slots it gives)" \
	"$T/mem.log" && ok "bddf says in one line why it did not take a driver's memory" ||
	not_ok "bddf says why it did not take the memory" "$(cat "$T/mem.log")"

grep -q "nvme@00:0[12].0 attached (queue depth 32, 512 KiB slots in its own DMA memory: zero-copy)" \
	"$T"/*.log && ok "Linux's nvme gives bddf its DMA memory for the slots: no copy in the driver" ||
	not_ok "the nvme driver's slots are its DMA memory" "$(grep -h "attached (queue" "$T"/*.log | head -3)"

no_leftovers "no QEMU, ddeio, drivers or bddf left"
pgrep -f "$(readlink -f "$O")/bin/bddf" >/dev/null && not_ok "bddf left running" || ok "bddf stopped"
finish
