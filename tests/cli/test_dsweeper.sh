#!/bin/bash
# dsweeper's command line over the block stack (Linux's nvme and ahci,
# bddf): a readonly run writes nothing; --write needs --yes; a zero sweep
# and a random sweep (verified) of one partition each leave exactly that
# partition zero / equal to the ChaCha20 stream re-generated from the
# summary's seed, and every other byte of both images unchanged (checked
# after QEMU exits); DoD short with every pass verified and a blanking
# pass; a write error injected by blkdebug is reported with its sector,
# the sweep goes on, and the exit status says it failed; a write bddf
# acknowledges without doing it (--blk-fault) is caught by the
# verification, by sector; SIGINT in the
# middle of a 1 GiB sweep stops it and states the range completed, which
# the image holds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

SW="$O/bin/dsweeper"
export PATH="$PATH:/usr/sbin:/sbin"

M="$T/mbr.img" G="$T/gpt.img" E="$T/err.img" L="$T/large.img"
head -c $((16 << 20)) /dev/urandom >"$E"
mbr_image "$M"
gpt_image "$G"
sfdisk -q "$E" <<'SF' || not_ok "sfdisk makes the third image"
label: dos
start=2048, size=8192, type=83
SF
# a large disk (sparse: zeros) for a sweep long enough to interrupt
truncate -s 1G "$L"
echo 'start=2048, type=83' | sfdisk -q "$L" || not_ok "sfdisk makes the large image"
cp "$M" "$T/mbr.orig"
cp "$G" "$T/gpt.orig"
cp "$E" "$T/err.orig"
cat >"$T/bd.conf" <<'EOF'
[inject-error]
event = "write_aio"
errno = "5"
sector = "5000"
EOF

export DDE_BLK="@dde-test-sweep-$$"
# and bddf acknowledges without doing a write over sector 5048 of nvme0n1
# (nvme0n1p1's sector 3000): verification must catch it
"$DDE" run --machine q35 --disk "nvme:$M" --disk "ahci:$G" --disk "nvme:$E,blkdebug=$T/bd.conf" \
	--disk "ahci:$L" --blk-fault drop-write=nvme0n1:5048 --restarts 1 --restart-window 600000 \
	--blk-socket "$DDE_BLK" >"$T/run.log" 2>&1 &
run=$!
BG_PIDS="$BG_PIDS $run"
wait_count "bddf: (nvme0n1|nvme1n1|sda|sdb): disk of" 4 90 "$T/run.log" &&
	ok "four disks at bddf (two NVMe, two AHCI)" || not_ok "disks at bddf" "$(tail -5 "$T/run.log")"

one_line "--write without --yes is refused, naming the partitions" "$SW" --write --partition nvme0n1p5
one_line "an unknown partition is refused" "$SW" --partition nvme0n1p9
expect "readonly (the default): read through the stack, nothing written" 0 \
	'"result":"ok","write":false.*"name":"nvme0n1p1".*"written":0,.*"read":10485760' \
	"$SW" --partition nvme0n1p1 --partition sda1
expect "zero sweep of nvme0n1p5, verified" 0 \
	'"result":"ok","write":true,"mode":"zero","rounds":1,"passes":1,"blank":false,"verify":"last".*"completed":\[0,4194304\],"swept":\[0,4194304\],"written":4194304,"verified":4194304.*"errors":\[\]' \
	"$SW" --write --yes --mode zero --verify --partition nvme0n1p5 --report "$T/zero.report"
grep -q "^result: ok" "$T/zero.report" && grep -q "^method: zero, verified" "$T/zero.report" &&
	ok "the report file says what was swept, how and the result" ||
	not_ok "zero report" "$(cat "$T/zero.report")"
"$SW" --write --yes --mode random --verify --partition sda2 >"$T/random.json" 2>"$T/random.err"
rc=$?
seed=$(sed -n 's/.*"seed":"\([0-9a-f]*\)".*/\1/p' "$T/random.json")
[ $rc = 0 ] && [ ${#seed} = 64 ] && grep -q '"written":4194304,"verified":4194304' "$T/random.json" &&
	ok "random sweep of sda2 (ahci), verified, its seed in the summary" ||
	not_ok "random sweep" "status $rc: $(cat "$T/random.json" "$T/random.err")"
"$SW" --write --yes --partition nvme1n1p1 >"$T/err.json" 2>"$T/err.err"
rc=$?
# the partition starts at sector 2048: disk sector 5000 is its sector 2952
[ $rc = 1 ] && grep -q '"result":"failed"' "$T/err.json" &&
	grep -q '"errors":\[{"op":"write","sector":2952,"count":1}\]' "$T/err.json" &&
	grep -q '"written":4193792' "$T/err.json" &&
	ok "an injected write error: its sector reported, the rest written, exit status 1" ||
	not_ok "write error reported" "status $rc: $(cat "$T/err.json")"
"$SW" --write --yes --mode zero --verify --partition nvme0n1p1 >"$T/drop.json" 2>"$T/drop.err"
rc=$?
dsec=$(sed -n 's/.*"errors":\[{"op":"verify","sector":\([0-9]*\),"count":[0-9]*}\].*/\1/p' "$T/drop.json")
dcount=$(sed -n 's/.*"errors":\[{"op":"verify","sector":[0-9]*,"count":\([0-9]*\)}\].*/\1/p' "$T/drop.json")
[ $rc = 1 ] && grep -q '"result":"failed"' "$T/drop.json" && grep -q '"written":10485760' "$T/drop.json" &&
	[ -n "$dsec" ] && [ "$dsec" -le 3000 ] && [ $((dsec + dcount)) -gt 3000 ] && [ "$dcount" -le 2048 ] &&
	ok "a write acknowledged but not done: verification reports sectors $dsec..$((dsec + dcount - 1)), exit status 1" ||
	not_ok "verification catches a dropped write" "status $rc: $(cat "$T/drop.json")"
"$SW" --write --yes --mode random --rounds 2 --verify=all --partition sda1 >"$T/rounds.json" 2>"$T/rounds.err"
rc=$?
rseed=$(sed -n 's/.*"seed":"\([0-9a-f]*\)".*/\1/p' "$T/rounds.json")
[ $rc = 0 ] && grep -q '"mode":"random","rounds":2,"passes":2,' "$T/rounds.json" &&
	grep -q '"written":16777216,"verified":16777216' "$T/rounds.json" && [ ${#rseed} = 64 ] &&
	ok "--rounds 2 of random on sda1, every pass verified: two passes, each its own stream" ||
	not_ok "two rounds" "status $rc: $(cat "$T/rounds.json" "$T/rounds.err")"
expect "DoD short (zeros, ones, random), every pass verified, then blanked: nvme0n1p6" 0 \
	'"result":"ok","write":true,"mode":"dodshort","rounds":1,"passes":4,"blank":true,"verify":"all".*"written":8388608,"verified":8388608' \
	"$SW" --write --yes --mode dodshort --verify=all --blank --partition nvme0n1p6
grep -q "pass 3/4 (random)" "$T/out" && grep -q "verifying pass 4/4 (blanking)" "$T/out" &&
	ok "... its progress names each pass" || not_ok "pass names in the progress" "$(tail -c 300 "$T/out")"

# SIGINT in the middle of a 1 GiB random sweep: a clean stop, the range stated
size=$(((2097152 - 2048) * 512))
"$SW" --write --yes --mode random --verify --partition sdb1 --report "$T/int.report" \
	>"$T/int.json" 2>"$T/int.err" &
sw=$!
wait_for "dsweeper: sdb1: pass 1/1" 30 "$T/int.err"
kill -INT $sw
wait $sw
rc=$?
# interrupted while writing: the written range is stated ("swept"); the job
# with its verification completed nothing
done_bytes=$(sed -n 's/.*"completed":\[0,0\],"swept":\[0,\([0-9]*\)\].*/\1/p' "$T/int.json")
iseed=$(sed -n 's/.*"seed":"\([0-9a-f]*\)".*/\1/p' "$T/int.json")
if [ $rc = 1 ] && grep -q '"result":"interrupted"' "$T/int.json" && [ -n "$done_bytes" ] &&
	[ "$done_bytes" -gt 0 ] && [ "$done_bytes" -lt "$size" ] && grep -q "^result: interrupted" "$T/int.report"; then
	ok "SIGINT mid-sweep: stopped, exit status 1, range written 0..$done_bytes of $size stated, none verified"
else
	not_ok "SIGINT mid-sweep" "status $rc: $(cat "$T/int.json"; tail -c 300 "$T/int.err")"
fi

# the ahci driver killed in the middle of a (readonly) run: dde restarts
# it, bddf sends what was in flight again; the sweep completes, no gap
"$SW" --partition sdb1 >"$T/back.json" 2>"$T/back.err" &
sw=$!
wait_for "dsweeper: sdb1: reading" 30 "$T/back.err"
sleep 0.5
pid=$(driver_pid "$T/run.log" "ahci@[0-9a-f:.]*")
[ -n "$pid" ] && kill -9 "$pid"
wait $sw
rc=$?
if [ $rc = 0 ] && grep -q '"result":"ok"' "$T/back.json" &&
	grep -q "\"completed\":\[0,$size\],.*\"read\":$size,.*\"errors\":\[\]" "$T/back.json" &&
	grep -Eq "dde: restarted driver ahci@[0-9a-f:.]* \(pid [0-9]+, restart 1\)" "$T/run.log"; then
	ok "the ahci driver killed mid-sweep: restarted, the sweep completes 0..$size with no gap and no error"
else
	not_ok "a killed driver mid-sweep comes back" "status $rc: $(cat "$T/back.json"; grep -E 'dde:|bddf' "$T/run.log" | tail -4)"
fi

# killed again within the window (--restarts 1): dde gives it up, the
# sweeper says the disk is gone, stops that partition at once (no
# sector-by-sector probing of a dead disk) and fails
"$SW" --partition sdb1 >"$T/gone.json" 2>"$T/gone.err" &
sw=$!
wait_for "dsweeper: sdb1: reading" 30 "$T/gone.err"
pid=$(driver_pid "$T/run.log" "ahci@[0-9a-f:.]*")
[ -n "$pid" ] && kill -9 "$pid"
for ((i = 0; i < 300; i++)); do kill -0 $sw 2>/dev/null || break; sleep 0.1; done
if kill -0 $sw 2>/dev/null; then
	kill -KILL $sw
	not_ok "a driver given up mid-sweep" "dsweeper still running 30 s later: $(tail -c 300 "$T/gone.err")"
else
	wait $sw
	rc=$?
	gone_done=$(sed -n 's/.*"completed":\[0,\([0-9]*\)\].*/\1/p' "$T/gone.json")
	[ $rc = 1 ] && grep -q '"result":"failed"' "$T/gone.json" &&
		grep -q '"error":"sdb1: the disk is gone (its driver stopped)"' "$T/gone.json" &&
		[ -n "$gone_done" ] && [ "$gone_done" -lt "$size" ] &&
		grep -q "dde: driver ahci@[0-9a-f:.]* failed 2 times within 600 s" "$T/run.log" &&
		ok "the ahci driver given up mid-sweep: 'the disk is gone', completed 0..$gone_done stated, exit status 1" ||
		not_ok "a driver given up mid-sweep" "status $rc: $(cat "$T/gone.json")"
fi
kill -INT $run
wait $run 2>/dev/null
[ -n "$done_bytes" ] && [ "$(dd if="$L" bs=512 skip=2048 count=$((done_bytes / 512)) 2>/dev/null |
	sha256sum | cut -d' ' -f1)" = "$("$SW" --print-stream "$iseed:$done_bytes" | sha256sum | cut -d' ' -f1)" ] &&
	ok "the stated range holds the stream in the image" || not_ok "interrupted range in the image"
[ "$(dd if="$L" bs=1M skip=1023 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)" = \
	"$(head -c 1048576 /dev/zero | sha256sum | cut -d' ' -f1)" ] &&
	ok "the sweep did not go on after the stop (the last MiB is untouched)" ||
	not_ok "the last MiB was written"

# after QEMU exits: exactly the swept ranges changed, to what they should be
cp "$T/mbr.orig" "$T/mbr.want"
dd if=/dev/zero of="$T/mbr.want" bs=512 seek=2048 count=20480 conv=notrunc status=none
[ -n "$dsec" ] && dd if="$T/mbr.orig" of="$T/mbr.want" bs=512 skip=$((2048 + dsec)) seek=$((2048 + dsec)) \
	count="$dcount" conv=notrunc status=none
dd if=/dev/zero of="$T/mbr.want" bs=512 seek=24576 count=8192 conv=notrunc status=none
dd if=/dev/zero of="$T/mbr.want" bs=512 seek=34816 count=4096 conv=notrunc status=none
[ "$(shaf "$M")" = "$(shaf "$T/mbr.want")" ] &&
	ok "mbr.img: nvme0n1p1 (but the dropped write's sectors), p5 and p6 (blanked) are zeros, every other byte unchanged (readonly runs wrote nothing)" ||
	not_ok "mbr.img after the zero sweep"
cp "$T/gpt.orig" "$T/gpt.want"
"$SW" --print-stream "$seed:$((8192 * 512))" |
	dd of="$T/gpt.want" bs=512 seek=18432 conv=notrunc status=none
"$SW" --print-stream "$rseed:$((16384 * 512)):2" |
	dd of="$T/gpt.want" bs=512 seek=2048 conv=notrunc status=none
[ "$(shaf "$G")" = "$(shaf "$T/gpt.want")" ] &&
	[ "$(sha "$G" 2048 16384)" != "$("$SW" --print-stream "$rseed:$((16384 * 512)):1" | sha256sum | cut -d' ' -f1)" ] &&
	ok "gpt.img: sda2 is the stream re-generated from the seed, sda1 its second pass's stream (not the first's), every other byte unchanged" ||
	not_ok "gpt.img after the random sweeps"
cp "$T/err.orig" "$T/err.want"
dd if=/dev/zero of="$T/err.want" bs=512 seek=2048 count=8192 conv=notrunc status=none
dd if="$T/err.orig" of="$T/err.want" bs=512 skip=5000 seek=5000 count=1 conv=notrunc status=none
[ "$(shaf "$E")" = "$(shaf "$T/err.want")" ] &&
	ok "err.img: the partition zeroed but for the failing sector, which kept its bytes" ||
	not_ok "err.img after the failed sweep"
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
