#!/bin/bash
# The dde front end as a user meets it: help, mistakes (one clear line,
# status 2), the config file, running the self-test driver, Ctrl-C.
. "$(dirname "$0")/lib.sh"

truncate -s 4M "$T/disk.img"
mkdir "$T/adir"

expect "dde --help lists the commands" 0 "lspci \[-v\]" "$DDE" --help
for opt in --machine --accel --disk --nic --sound --config --dma-mib --driver; do
	expect "dde run --help describes $opt" 0 "$opt" "$DDE" run --help
done
expect "dde lspci --help describes -v" 0 "-v, --verbose" "$DDE" lspci --help

one_line "unknown command" "$DDE" frobnicate
one_line "unknown option" "$DDE" run --frobnicate
one_line "option without its value" "$DDE" lspci --disk
one_line "missing disk image" "$DDE" lspci --disk "nvme:$T/nope.img"
expect "missing disk image is named" 2 "nope.img" "$DDE" lspci --disk "nvme:$T/nope.img"
one_line "disk image that is a directory" "$DDE" lspci --disk "nvme:$T/adir"
one_line "a queue depth out of range" "$DDE" run --depth 0
one_line "dde disks without a block server named" env -u DDE_BLK "$DDE" disks
one_line "dde disks: unknown option" "$DDE" disks --bogus
one_line "dde sound without a sound server named" env -u DDE_SND "$DDE" sound
one_line "dde sound: unknown option" "$DDE" sound --bogus
expect "dde sound: no server there" 1 "^dde sound: cannot reach the sound server @dde-test-none-$$: " \
	"$DDE" sound --socket "@dde-test-none-$$"
one_line "dde net without a network server named" env -u DDE_NET "$DDE" net
one_line "dde net: unknown option" "$DDE" net --bogus
expect "dde net: no server there" 1 "^dde net: cannot reach the network server @dde-test-none-$$: " \
	"$DDE" net --socket "@dde-test-none-$$"
expect "dde --help lists dde net" 0 "^  net " "$DDE" --help
one_line "unknown disk controller" "$DDE" lspci --disk "scsi:$T/disk.img"
one_line "unknown NIC model" "$DDE" run --nic e100
expect "unknown NIC model is named" 2 "'e100'" "$DDE" run --nic e100
one_line "bad MAC" "$DDE" lspci --nic e1000,mac=52:54:00:12:34
one_line "bad udp ports" "$DDE" lspci --nic e1000,net=udp:5555
one_line "unknown machine" "$DDE" lspci --machine sun4m
one_line "ide on q35" "$DDE" lspci --disk "ide:$T/disk.img"
one_line "a disk option that is not blkdebug" "$DDE" lspci --disk "nvme:$T/disk.img,cache=none"
one_line "a blkdebug config that is missing" "$DDE" lspci --disk "nvme:$T/disk.img,blkdebug=$T/nope.conf"
one_line "dde nbd: unknown option" "$DDE" nbd --bogus
one_line "dde nbd: a bad --port" "$DDE" nbd --export x --port 70000
expect "ide on q35 says to use pc" 2 "machine pc" "$DDE" lspci --disk "ide:$T/disk.img"
one_line "unknown sound card" "$DDE" lspci --sound sb16
one_line "driver that does not exist" "$DDE" run --nic e1000 --driver nosuch@00:02.0
one_line "driver without a slot" "$DDE" run --nic e1000 --driver selftest
one_line "bad slot" "$DDE" run --nic e1000 --driver selftest@00:99.0
expect "slot with no device" 2 "no device at 00:09.0" "$DDE" run --nic e1000 --driver selftest@00:09.0

# the config file, read with inih
cat >"$T/machine.ini" <<INI
; a machine with two disks and a NIC
[machine]
machine = q35
disk = nvme:$T/disk.img
nic = e1000,mac=52:54:00:00:00:42
INI
expect "config file: devices appear" 0 "\[8086:100e\]" "$DDE" lspci --config "$T/machine.ini"
expect "config file: nvme appears" 0 "\[1b36:0010\]" "$DDE" lspci --config "$T/machine.ini"
printf '[machine]\nnic = e1000\nwarp = 9\n' >"$T/bad.ini"
expect "config file: unknown key names file and line" 2 "bad.ini:3: unknown machine option 'warp'" \
	"$DDE" lspci --config "$T/bad.ini"
printf '[engine]\nnic = e1000\n' >"$T/bad2.ini"
expect "config file: unknown section" 2 "bad2.ini:2: unknown section" "$DDE" lspci --config "$T/bad2.ini"
one_line "config file missing" "$DDE" lspci --config "$T/none.ini"

# the machine itself
expect "lspci on pc shows the PIIX IDE" 0 "IDE interface \[0101\]: Intel.*PIIX3 IDE" \
	"$DDE" lspci --machine pc --disk "ide:$T/disk.img"
expect "lspci -v shows BARs and the interrupt" 0 "Memory at c[0-9a-f]+ \(32-bit, non-prefetchable\) \[size=128K\]" \
	"$DDE" lspci -v --nic e1000
expect "lspci -v shows the interrupt route" 0 "Interrupt: pin A routed to IRQ 2[0-3]" \
	"$DDE" lspci -v --nic e1000
# --nic ...,revision=N: drivers see that revision; only that NIC's (QEMU
# places NICs in order: the second rtl8139 keeps its own 0x20)
"$DDE" lspci --nic rtl8139,revision=0x10 --nic rtl8139 >"$T/rev.out" 2>&1
grep -q "00:01.0 .*\[10ec:8139\] (rev 10)" "$T/rev.out" &&
	grep -q "00:02.0 .*\[10ec:8139\] (rev 20)" "$T/rev.out" &&
	ok "--nic rtl8139,revision=0x10: that NIC shows revision 0x10, the other its own" ||
	not_ok "--nic revision= is what drivers see" "$(cat "$T/rev.out")"
one_line "a bad revision" "$DDE" lspci --nic rtl8139,revision=0x100
expect "a missing QEMU names its package" 1 "install the Debian package qemu-system-x86" \
	env PATH=/nonexistent "$(readlink -f "$DDE")" lspci
expect "run the self-test driver" 0 "selftest: 1 devices passed, 0 failed" \
	"$DDE" run --nic e1000 --driver selftest@00:01.0
expect "run stops when the last driver exits" 0 "dde: machine stopped" \
	"$DDE" run --nic e1000 --driver selftest@00:01.0
no_leftovers "nothing left after dde run"

# dde sweep and dsweeper refuse what they cannot do, in one line
one_line "dde sweep without disks" "$DDE" sweep --machine q35
one_line "dde sweep off a terminal" "$DDE" sweep --machine q35 --disk "nvme:$T/disk.img" </dev/null
one_line "dde sweep: an unknown option" "$DDE" sweep --disk "nvme:$T/disk.img" --partitions x
one_line "dsweeper off a terminal without --partition" env DDE_BLK=@nowhere "$O/bin/dsweeper" </dev/null
one_line "dsweeper: the UI with --partition" env DDE_BLK=@nowhere "$O/bin/dsweeper" --ui --partition sda1
one_line "dsweeper: a bad --mode" env DDE_BLK=@nowhere "$O/bin/dsweeper" --mode gutmann --partition sda1
one_line "bddf: a bad --fault" "$O/bin/bddf" --socket @nowhere --fault drop-write=sda
no_leftovers "nothing left after the refusals"

# Ctrl-C: dde run --manual with no driver waits; SIGINT stops it in order
"$DDE" run --manual --nic e1000 >"$T/run.log" 2>&1 &
RUN=$!
BG_PIDS="$RUN"
for _ in $(seq 100); do grep -q "Ctrl-C stops" "$T/run.log" && break; sleep 0.05; done
kill -INT "$RUN"
for _ in $(seq 60); do kill -0 "$RUN" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$RUN" 2>/dev/null; then
	not_ok "Ctrl-C stops dde run" "still running: $(cat "$T/run.log")"
else
	wait "$RUN"
	grep -q "machine stopped" "$T/run.log" && ok "Ctrl-C stops dde run" ||
		not_ok "Ctrl-C stops dde run" "$(cat "$T/run.log")"
fi
no_leftovers "nothing left after Ctrl-C"
finish
