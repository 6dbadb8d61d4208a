#!/bin/bash
# Only what it needs (issue 17): every driver in its sandbox, every server
# admitting only its user and root.
#  - A driver that tries to leave its sandbox once it is up (tests/sandbox/
#    escape.c): another disk's image, /etc/shadow, /dev/mem, a socket to
#    bddf's and netd's addresses, ptrace and kill of dde, execve. Each
#    attempt fails; a forbidden system call ends the driver and is named.
#    With the driver's own filter off, the namespaces alone hide the files.
#  - ddeio, bddf and netd go on serving: the disk is read, the other
#    drivers run, each as its own user with NoNewPrivs 1 and Seccomp 2.
#  - As nobody: ddeio, bddf and netd refuse, with a clear message; the
#    image is unchanged. --allow-user nobody admits nobody.
#  - Devices are claimed, disks and interfaces attached, only on the
#    connections dde opened (a same-user process is refused); with
#    --no-sandbox drivers run unconfined and may be started by hand.
. "$(dirname "$0")/lib.sh"

ESCAPE_DIR="$O/tests/sandbox"
if [ "$(id -u)" != 0 ]; then
	skip "the drivers' sandbox" "it needs root"
	finish
	exit
fi

# binaries nobody may run: $T is root's (0700); a copy it can reach
chmod 711 "$T"
NB="$T/nb"
mkdir -m 755 "$NB"
cp "$O/bin/dde" "$O/tests/block/blkio" "$O/tests/net/net_frames" "$O/drivers/selftest" "$NB/"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

IMG="$T/disk.img"
OTHER="$T/other.img"	# another disk's image, root's only
python3 -c "import os; open('$IMG','wb').write(os.urandom(8 << 20))"
head -c 1M /dev/urandom >"$OTHER"
chmod 600 "$IMG" "$OTHER"
sum_before=$(sha256sum <"$IMG")
BLK="@dde-test-sbx-blk-$$"
NET="@dde-test-sbx-net-$$"


# --- escapes ------------------------------------------------------------------
# 00:01.0 nvme (Linux's nvme), 00:02.0-00:05.0 more NVMe controllers and
# 00:07.0-00:09.0 e1000s for the escapes, 00:06.0 e1000 (Linux's e1000)
devs=""
for i in 2 3 4 5; do
	truncate -s 1M "$T/e$i.img"
	devs="$devs --disk nvme:$T/e$i.img"
done
for _ in 1 2 3 4; do devs="$devs --nic e1000,net=none"; done
# shellcheck disable=SC2086
DDE_DRIVER_PATH="$ESCAPE_DIR" dde_bg "$T/run.log" --dma-slots 12 --dma-mib 32 --restarts 2 \
	--disk "nvme:$IMG" $devs --blk-socket "$BLK" --net-socket "$NET" \
	--driver e1000@00:06.0 \
	--driver "escape,noseal,open:$OTHER,open:/etc/shadow,open:/dev/mem,exec:/bin/sh@00:03.0" \
	--driver "escape,open:$OTHER@00:04.0" \
	--driver "escape,connect:$BLK@00:05.0" \
	--driver "escape,connect:$NET@00:02.0" \
	--driver "escape,ptrace:ppid@00:07.0" \
	--driver "escape,kill:ppid@00:08.0" \
	--driver "escape,exec:/bin/sh@00:09.0"
wait_log "$T/run.log" "bddf: nvme0n1: disk" 30 && wait_log "$T/run.log" "netd: interface net0 attached" 30 &&
	wait_log "$T/run.log" "escape@00:09.0 was killed|escape@00:09.0 exited" 30 ||
	not_ok "the machine with escaping drivers came up" "$(grep -v '^\[' "$T/run.log" | tail -20)"

if grep -q "escape: open:$OTHER: blocked (No such file or directory)" "$T/run.log" &&
   grep -q "escape: open:/etc/shadow: blocked (No such file or directory)" "$T/run.log" &&
   grep -q "escape: open:/dev/mem: blocked (No such file or directory)" "$T/run.log" &&
   grep -q "escape: exec:/bin/sh: blocked (No such file or directory)" "$T/run.log" &&
   grep -q "driver escape@00:03.0 exited with status 0" "$T/run.log"; then
	ok "without its own filter, the driver finds no image, /etc/shadow, /dev/mem or /bin/sh (mount namespace)"
else
	not_ok "the mount namespace hides the host's files" "$(grep "escape" "$T/run.log" | head -20)"
fi
# named ATTEMPT SLOT SYSCALL: the attempt ended its driver, the call named
named() {
	if grep -q "escape@$2: sandbox: system call '$3' (" "$T/run.log" &&
	   grep -q "driver escape@$2 was killed by signal 31 (Bad system call)" "$T/run.log" &&
	   ! grep -q "escape: .*SUCCEEDED" "$T/run.log"; then
		ok "$1: the driver stops, '$3' named"
	else
		not_ok "$1: stopped by the filter, '$3' named" "$(grep "escape@$2\|escape: trying" "$T/run.log" | head)"
	fi
}
named "opening another disk's image" 00:04.0 openat
named "a socket to bddf's address" 00:05.0 socket
named "a socket to netd's address" 00:02.0 socket
named "ptrace of dde run" 00:07.0 ptrace
named "a signal to dde run" 00:08.0 kill
named "execve" 00:09.0 execve
# a driver that breaks its sandbox at every start is restarted (--restarts
# 2), then given up in one line
if wait_log "$T/run.log" "dde: driver escape@00:05.0 failed 3 times within 60 s \(last: killed by signal 31 \(Bad system call\).*\): given up" 30 &&
   [ "$(grep -c "escape@00:05.0: sandbox: system call 'socket'" "$T/run.log")" = 3 ]; then
	ok "a driver that fails at every start: restarted twice, then given up in one line"
else
	not_ok "a driver failing at every start is given up" "$(grep "dde: .*escape@00:05.0" "$T/run.log")"
fi

# the servers and the other drivers go on
if DDE_BLK=$BLK "$O/tests/block/blkio" nvme0n1 get "$T/back" 0 1048576 >/dev/null 2>&1 &&
   [ "$(head -c 1M "$IMG" | sha256sum)" = "$(sha256sum <"$T/back")" ]; then
	ok "bddf and the nvme driver go on: the disk reads back exact"
else
	not_ok "bddf and the nvme driver go on" "$(tail -5 "$T/run.log")"
fi
epid=$(driver_pid "$T/run.log" e1000@00:06.0)
npid=$(driver_pid "$T/run.log" nvme@00:01.0)
DDE_NET=$NET timeout 5 "$O/tests/net/net_frames" --watch 1 --if net0 >"$T/watch" 2>&1
watch_rc=$?
# --watch: 1 when the interface stayed for its seconds (0: it went away)
if kill -0 "$epid" 2>/dev/null && [ "$watch_rc" = 1 ] && grep -q "link" "$T/watch"; then
	ok "netd and the e1000 driver go on: net0 is there"
else
	not_ok "netd and the e1000 driver go on" "status $watch_rc: $(cat "$T/watch")"
fi
# status: own user, no_new_privs, seccomp filter
st() { sed -n "s/^$2:[[:space:]]*\([0-9]*\).*/\1/p" "/proc/$1/status"; }
if [ -n "$epid" ] && [ -n "$npid" ] && [ "$(st "$epid" Uid)" != 0 ] && [ "$(st "$npid" Uid)" != 0 ] &&
   [ "$(st "$epid" Uid)" != "$(st "$npid" Uid)" ] &&
   [ "$(st "$epid" NoNewPrivs)" = 1 ] && [ "$(st "$npid" NoNewPrivs)" = 1 ] &&
   [ "$(st "$epid" Seccomp)" = 2 ] && [ "$(st "$npid" Seccomp)" = 2 ]; then
	ok "each driver its own uid ($(st "$epid" Uid), $(st "$npid" Uid)), NoNewPrivs 1, Seccomp 2"
else
	not_ok "the drivers' /proc/PID/status" "e1000 $epid: $(grep -E '^(Uid|NoNewPrivs|Seccomp)' /proc/"$epid"/status 2>&1 | tr '\n' ' '); nvme $npid: $(grep -E '^(Uid|NoNewPrivs|Seccomp)' /proc/"$npid"/status 2>&1 | tr '\n' ' ')"
fi
root="/proc/$npid/root"
if [ "$(readlink /proc/"$npid"/ns/net)" != "$(readlink /proc/self/ns/net)" ] &&
   [ "$(readlink /proc/"$npid"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] &&
   [ "$(ls "$root/etc")" = "ld.so.cache" ] && [ ! -e "$root/dev" ] && [ ! -e "$root$IMG" ] &&
   [ ! -e "$root/usr/bin" ] && [ ! -e "$root/root" ] && [ ! -e "$root/home" ]; then
	ok "the driver's own network and mount namespaces; its root: $(ls "$root" | tr '\n' ' ')"
else
	not_ok "the driver's namespaces and root" "$(ls "$root" "$root/etc" | tr '\n' ' ')"
fi

# --- other users ----------------------------------------------------------------
IO=$(sed -n 's/.*serving on \(@dde-io-[^ ]*\).*/\1/p' "$T/run.log")
expect "as nobody: bddf refuses to list, and says why" 1 "access denied to uid [0-9]+ \(nobody\)" \
	as_nobody env DDE_BLK="$BLK" "$NB/dde" disks
expect "as nobody: bddf refuses to open a disk for writing" 1 "access denied to uid [0-9]+ \(nobody\)" \
	as_nobody env DDE_BLK="$BLK" "$NB/blkio" nvme0n1 put "$NB/dde" 0
expect "as nobody: netd refuses to open an interface" 1 "access denied to uid [0-9]+ \(nobody\)" \
	as_nobody env DDE_NET="$NET" "$NB/net_frames" --watch 1 --if net0
expect "as nobody: ddeio refuses a driver" 1 "access denied to uid [0-9]+ \(nobody\)" \
	as_nobody env DDE_IO="$IO" DDE_DEVICES=00:04.0 "$NB/selftest"
if grep -q "ddeio: warning: refused a connection: access denied to uid [0-9]* (nobody)" "$T/run.log" &&
   grep -q "bddf: refused a connection: access denied" "$T/run.log" &&
   grep -q "netd: refused a connection: access denied" "$T/run.log"; then
	ok "each server logs its refusals in one line"
else
	not_ok "the servers log their refusals" "$(grep -i refus "$T/run.log")"
fi
# the same user, but not through dde: no claim, no attach
expect "a process of the same user cannot claim a free device over ddeio's socket" 1 \
	"claims devices over the socket" env DDE_IO="$IO" DDE_DEVICES=00:04.0 "$O/drivers/selftest"
expect "... nor attach to bddf as a driver" 1 "drivers attach only on the connection" \
	env DDE_BLK="$BLK" "$O/tests/block/blkio" nvme9 attach
expect "... nor to netd as the driver of an interface" 1 "drivers attach only on the connection" \
	env DDE_NET="$NET" "$O/tests/net/net_frames" --attach net5
dde_stop "$bg"
[ "$(sha256sum <"$IMG")" = "$sum_before" ] && ok "the image is unchanged" ||
	not_ok "the image is unchanged"

# --allow-user: shared deliberately
dde_bg "$T/allow.log" --disk "nvme:$IMG" --blk-socket "$BLK" --allow-user nobody
wait_log "$T/allow.log" "bddf: nvme0n1: disk" 30
expect "--allow-user nobody: nobody lists the disks" 0 "nvme0n1" \
	as_nobody env DDE_BLK="$BLK" "$NB/dde" disks
dde_stop "$bg"

# --no-sandbox: unconfined, and drivers by hand may claim devices
dde_bg "$T/open.log" --no-sandbox --manual --driver nvme@00:01.0 --disk "nvme:$IMG" --nic e1000,net=none
wait_log "$T/open.log" "bddf: nvme0n1: disk" 30
npid=$(driver_pid "$T/open.log" nvme@00:01.0)
IO=$(sed -n 's/.*serving on \(@dde-io-[^ ]*\).*/\1/p' "$T/open.log")
grep -q "UNCONFINED" "$T/open.log" && [ -n "$npid" ] && [ "$(st "$npid" Uid)" = 0 ] &&
	[ "$(st "$npid" Seccomp)" = 0 ] && ok "--no-sandbox says so loudly; the driver runs as root, no filter" ||
	not_ok "--no-sandbox" "$(head -3 "$T/open.log")"
expect "--no-sandbox: a driver started by hand claims its device" 0 "e1000 00:02.0: STATUS" \
	env DDE_IO="$IO" DDE_DEVICES=00:02.0 "$O/drivers/selftest"
dde_stop "$bg"
no_leftovers "no QEMU or ddeio left"
finish
