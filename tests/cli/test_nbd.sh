#!/bin/bash
# `dde nbd`: partitions of a disk served by Linux's nvme driver (from
# source) through bddf, exported over NBD, used by real clients: nbdinfo
# (sizes), qemu-img convert and nbdcopy (copies out and in, with
# checksums), two clients on different partitions at once, several
# connections to one export (nbdcopy's multi-conn), nbd-client's export
# list; structured replies and base:allocation (nbdinfo --map, qemu-img
# map, nbdcopy, and a raw client for the handshake's corners): zeroed and
# trimmed ranges are "zero", never holes; clients that do not ask get
# simple replies; a read-only TCP export on loopback; clients that break
# the protocol or vanish mid-request leave the server serving; the image
# holds what was written after QEMU exits, and nothing beyond the
# partitions.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

NBDBAD="$O/tests/block/nbdbad"
export PATH="$PATH:/usr/sbin:/sbin"
for tool in sfdisk nbdinfo nbdcopy qemu-img qemu-io python3; do
	if ! command -v $tool >/dev/null; then
		not_ok "$tool is installed (make deps)"
		finish
		exit
	fi
done


# an MBR image: a primary, an extended with two logical partitions, random bytes
M="$T/mbr.img"
mbr_image "$M"
before_p6=$(sha "$M" 34816 4096)
before_gap=$(sha "$M" 22528 2048)	# the EBR and what precedes sda5

export DDE_BLK="@dde-test-nbd-$$"
"$DDE" run --machine q35 --disk "nvme:$M" --blk-socket "$DDE_BLK" >"$T/run.log" 2>&1 &
run=$!
BG_PIDS="$BG_PIDS $run"
wait_for "bddf:   nvme0n1p6" 60 "$T/run.log" || not_ok "the disk at bddf" "$(tail -5 "$T/run.log")"

# the export's errors come first, in one line each
one_line "dde nbd without --export says what is missing" "$DDE" nbd --socket "$T/x.sock"
one_line "--socket and --port together are refused" "$DDE" nbd --export nvme0n1p1 \
	--socket "$T/x.sock" --port 0
expect "an unknown partition is refused before listening" 1 "nvme0n1p9: no such disk or partition" \
	"$DDE" nbd --export nvme0n1p9 --socket "$T/x.sock"
[ -e "$T/x.sock" ] && not_ok "no socket is left by a refused start" || ok "no socket is left by a refused start"

S="$T/nbd.sock"
"$DDE" nbd --export nvme0n1p1 --export nvme0n1p5 --socket "$S" >"$T/nbd.log" 2>&1 &
nbd=$!
BG_PIDS="$BG_PIDS $nbd"
U1="nbd+unix:///nvme0n1p1?socket=$S" U5="nbd+unix:///nvme0n1p5?socket=$S"
if wait_count "^dde nbd: nvme0n1p[15] .* at nbd\+unix" 2 10 "$T/nbd.log" &&
	grep -qF "at $U1" "$T/nbd.log"; then
	ok "dde nbd prints each export's URI"
else
	not_ok "export URIs" "$(cat "$T/nbd.log")"
fi

expect "nbdinfo: nvme0n1p1's size" 0 "^$((20480 * 512))$" nbdinfo --size "$U1"
expect "nbdinfo: nvme0n1p5's size" 0 "^$((8192 * 512))$" nbdinfo --size "$U5"
expect "nbdinfo: flush, FUA and multi-conn offered, 512-byte blocks" 0 \
	"can_multi_conn: true" nbdinfo "$U1"
grep -q "can_flush: true" "$T/out" && grep -q "block_size_minimum: 512" "$T/out" &&
	ok "... and flush and the sector size" || not_ok "nbdinfo details" "$(cat "$T/out")"
expect "nbd-client lists the exports" 0 "nvme0n1p5" nbd-client -l -unix "$S"

# out: both clients, both partitions
qemu-img convert -f raw -O raw "$U1" "$T/p1.out" 2>"$T/err" &&
	[ "$(shaf "$T/p1.out")" = "$(sha "$M" 2048 20480)" ] &&
	ok "qemu-img convert copies nvme0n1p1 out (checksum equals the image's)" ||
	not_ok "qemu-img convert out" "$(cat "$T/err")"
nbdcopy "$U5" "$T/p5.out" 2>"$T/err" &&
	[ "$(shaf "$T/p5.out")" = "$(sha "$M" 24576 8192)" ] &&
	ok "nbdcopy copies nvme0n1p5 out (checksum equals the image's)" ||
	not_ok "nbdcopy out" "$(cat "$T/err")"

# in: two clients on different partitions at once
head -c $((20480 * 512)) /dev/urandom >"$T/p1.in"
head -c $((8192 * 512)) /dev/urandom >"$T/p5.in"
nbdcopy --connections=4 "$T/p1.in" "$U1" 2>"$T/err1" &
c1=$!
qemu-img convert -n -f raw -O raw "$T/p5.in" "$U5" 2>"$T/err5" &
c5=$!
wait $c1
r1=$?
wait $c5
r5=$?
[ $r1 = 0 ] && [ $r5 = 0 ] &&
	ok "nbdcopy (4 connections) into nvme0n1p1 and qemu-img into nvme0n1p5 at once" ||
	not_ok "two writers at once" "$(cat "$T/err1" "$T/err5")"
nbdcopy "$U1" "$T/p1.back" && cmp -s "$T/p1.in" "$T/p1.back" &&
	ok "nvme0n1p1 reads back what nbdcopy wrote" || not_ok "nvme0n1p1 read back"
qemu-img convert -f raw -O raw "$U5" "$T/p5.back" && cmp -s "$T/p5.in" "$T/p5.back" &&
	ok "nvme0n1p5 reads back what qemu-img wrote" || not_ok "nvme0n1p5 read back"

# requests outside the rules get NBD errors, not data
expect "a read beyond the partition: EINVAL" 0 "error 22" \
	"$NBDBAD" "$S" nvme0n1p5 ask read $((8192 * 512)) 512
expect "a write beyond the partition: ENOSPC" 0 "error 28" \
	"$NBDBAD" "$S" nvme0n1p5 ask write $((8192 * 512 - 512)) 1024
expect "a read not in whole sectors: EINVAL" 0 "error 22" "$NBDBAD" "$S" nvme0n1p5 ask read 100 512
expect "an unknown command: EINVAL" 0 "error 22" "$NBDBAD" "$S" nvme0n1p5 ask bogus 0 512
expect "a read above the advertised maximum: EOVERFLOW" 0 "error 75" \
	"$NBDBAD" "$S" nvme0n1p1 ask read 0 $((64 << 20))
expect "a flush" 0 "error 0" "$NBDBAD" "$S" nvme0n1p5 ask flush 0 0
expect "an export that is not offered is refused at NBD_OPT_GO" 1 "GO refused" \
	"$NBDBAD" "$S" nvme0n1p6 ask read 0 512

# clients that break the protocol or go away mid-request
for how in garbage badmagic midwrite noread; do
	"$NBDBAD" "$S" nvme0n1p1 $how >"$T/bad" 2>&1 || not_ok "nbdbad $how ran" "$(cat "$T/bad")"
done
sleep 0.5
kill -0 $nbd 2>/dev/null && nbdinfo --size "$U1" >/dev/null 2>&1 &&
	"$NBDBAD" "$S" nvme0n1p5 ask read 0 4096 | grep -q "read 4096" &&
	ok "after garbage, a bad magic, a half write and unread replies the server still serves" ||
	not_ok "server survives bad clients" "$(tail -5 "$T/nbd.log")"
cmp -s <(nbdcopy "$U1" - | head -c 1048576) <(head -c 1048576 "$T/p1.in") &&
	ok "the half-sent write wrote nothing" || not_ok "the half write left its mark"

# trim: through NBD (nbdinfo offers it; Linux's nvme deallocates; QEMU
# punches a hole in the image) and through libddeblk's ddeblk_discard
expect "nbdinfo: trim offered (the disk takes discards)" 0 "can_trim: true" nbdinfo "$U5"
expect "NBD trim of nvme0n1p5's first MiB" 0 "error 0" "$NBDBAD" "$S" nvme0n1p5 ask trim 0 1048576
expect "an NBD trim reaching past nvme0n1p5: ENOSPC" 0 "error 28" \
	"$NBDBAD" "$S" nvme0n1p5 ask trim $((8192 * 512 - 512)) 1024
expect "ddeblk_discard of nvme0n1p1's last MiB" 0 "discard: done" \
	"$O/tests/block/blkio" nvme0n1p1 discard $((20480 * 512 - 1048576)) 1048576
expect "ddeblk_discard past nvme0n1p1's end: refused" 1 "No space left" \
	"$O/tests/block/blkio" nvme0n1p1 discard $((20480 * 512 - 512)) 1024
# writing zeroes: nvme0n1p1's second MiB
expect "nbdinfo: writing zeroes offered" 0 "can_zero: true" nbdinfo "$U1"
expect "NBD write of zeroes over nvme0n1p1's second MiB" 0 "error 0" \
	"$NBDBAD" "$S" nvme0n1p1 ask zero 1048576 1048576
expect "a write of zeroes not in whole sectors: EINVAL" 0 "error 22" \
	"$NBDBAD" "$S" nvme0n1p1 ask zero 1000 4096
cp "$T/p1.in" "$T/p1.want"
dd if=/dev/zero of="$T/p1.want" bs=1M seek=1 count=1 conv=notrunc status=none
dd if=/dev/zero of="$T/p1.want" bs=1M seek=9 count=1 conv=notrunc status=none

# structured replies and base:allocation. nvme0n1p1 now holds data, its
# second MiB zeroed and its last trimmed; 4 KiB of data go into the middle
# of the zeroed MiB: one 64 KiB run that is data. nvme0n1p5's first MiB is
# trimmed. What reads as zeros is "zero" (type 2), the rest data (0).
expect "qemu-io writes 4 KiB into nvme0n1p1's zeroed MiB" 0 "^wrote 4096/4096 bytes" \
	qemu-io -f raw -c "write -P 0x5a 1572864 4096" "$U1"
head -c 4096 /dev/zero | tr '\0' '\132' |
	dd of="$T/p1.want" bs=4096 seek=384 conv=notrunc status=none
nbdinfo --can structured-reply "$U1" && nbdinfo --can df "$U1" &&
	ok "nbdinfo: structured replies, and DF" || not_ok "nbdinfo --can structured-reply, df"
expect "nbdinfo: the metadata context base:allocation" 0 "base:allocation" nbdinfo "$U1"
expect "nbdinfo --list: both exports" 0 "nvme0n1p5" nbdinfo --list "nbd+unix:///?socket=$S"
grep -q "nvme0n1p1" "$T/out" && ok "... nvme0n1p1 too" || not_ok "nbdinfo --list" "$(cat "$T/out")"
map1="0 1048576 0 data
1048576 524288 2 zero
1572864 65536 0 data
1638400 458752 2 zero
2097152 7340032 0 data
9437184 1048576 2 zero"
nbdinfo --map "$U1" >"$T/map1" 2>&1
[ "$(awk '{print $1, $2, $3, $4}' "$T/map1")" = "$map1" ] &&
	ok "nbdinfo --map: nvme0n1p1's zeroed and trimmed MiBs are zero, the 4 KiB and the rest data" ||
	not_ok "nbdinfo --map nvme0n1p1" "$(cat "$T/map1")"
nbdinfo --map "$U5" >"$T/map5" 2>&1
[ "$(awk '{print $1, $2, $3, $4}' "$T/map5")" = "0 1048576 2 zero
1048576 3145728 0 data" ] && ok "nbdinfo --map: nvme0n1p5's trimmed MiB is zero" ||
	not_ok "nbdinfo --map nvme0n1p5" "$(cat "$T/map5")"
grep -q hole "$T/map1" "$T/map5" && not_ok "no hole is ever reported" || ok "no hole is ever reported"
# qemu asks one extent at a time (NBD_CMD_FLAG_REQ_ONE); zero and not a hole is zero and data
qemu-img map -f raw --output=json "$U1" >"$T/qmap" 2>&1
python3 -c 'import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["start"], e["length"], 2 if e["zero"] else 0, "zero" if e["zero"] else "data",
          "" if e["data"] else "hole")' "$T/qmap" >"$T/qmap.txt" 2>&1
[ "$(sed 's/ *$//' "$T/qmap.txt")" = "$map1" ] &&
	ok "qemu-img map --output=json: the same extents, zero ones as zero, none a hole" ||
	not_ok "qemu-img map" "$(cat "$T/qmap")"
nbdcopy "$U1" "$T/p1.copy" 2>"$T/err" && cmp -s "$T/p1.copy" "$T/p1.want" &&
	ok "nbdcopy (structured reads, block status) copies nvme0n1p1 out byte for byte" ||
	not_ok "nbdcopy of the map" "$(cat "$T/err")"
expect "a client that does not ask for structured replies gets simple ones (nbdbad)" 0 \
	"read 4096 bytes" "$NBDBAD" "$S" nvme0n1p1 ask read 1572864 4096

# the handshake's corners and the replies, with a raw client
RAW="$T/nbdraw.py"
cat >"$RAW" <<'PY'
# nbdraw.py SOCKET ACTION ARGS: one NBD conversation, its replies printed
import socket, struct, sys

s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
act, args = sys.argv[2], sys.argv[3:]

def get(n):
    b = b""
    while len(b) < n:
        r = s.recv(n - len(b))
        if not r:
            sys.exit("the server closed the connection")
        b += r
    return b

def opt(o, data=b""):
    s.sendall(struct.pack(">QII", 0x49484156454F5054, o, len(data)) + data)
    out = []
    while True:	# up to the final reply: not SERVER, INFO or META_CONTEXT
        _, _, t, n = struct.unpack(">QIII", get(20))
        out.append((t, get(n)))
        if t not in (2, 3, 4):
            return out

def meta(o, export, queries):
    e = export.encode()
    d = struct.pack(">I", len(e)) + e + struct.pack(">I", len(queries))
    for q in queries:
        d += struct.pack(">I", len(q)) + q.encode()
    r = opt(o, d)
    return ["%d:%s" % (struct.unpack(">I", p[:4])[0], p[4:].decode()) for t, p in r if t == 4] + \
           [str(r[-1][0])]

def go(export):
    e = export.encode()
    if opt(7, struct.pack(">I", len(e)) + e + struct.pack(">H", 0))[-1][0] != 1:
        sys.exit("NBD_OPT_GO refused")

def request(t, off, n, flags):
    s.sendall(struct.pack(">IHHQQI", 0x25609513, flags, t, 42, off, n))
    while True:	# a structured reply's chunks, one line each
        magic, fl, t, h, n = struct.unpack(">IHHQI", get(20))
        p = get(n)
        if magic != 0x668e33ef or h != 42:
            sys.exit("not a structured reply to the request")
        if t == 1:
            print("data", struct.unpack(">Q", p[:8])[0], n - 8, "%02x" % p[8], fl)
        elif t == 5:
            ext = struct.unpack(">%dI" % (n // 4), p)
            print("status", ext[0], " ".join("%d:%d" % e for e in zip(ext[1::2], ext[2::2])), fl)
        elif t & 0x8000:
            e, ml = struct.unpack(">IH", p[:6])
            print("error", e, p[6:6 + ml].decode(), fl)
        else:
            print("type", t, fl)
        if fl & 1:
            return

get(18)
s.sendall(struct.pack(">I", 3))
if act == "sr-twice":
    print(opt(8)[-1][0], opt(8)[-1][0], opt(8, b"x")[-1][0])
elif act == "set-first":
    print(*meta(10, args[0], args[1:]))
elif act in ("list", "set"):
    opt(8)
    print(*meta(9 if act == "list" else 10, args[0], args[1:]))
elif act == "status":	# SET on one export, GO on another (or the same)
    opt(8)
    meta(10, args[0], ["base:allocation"])
    go(args[1])
    request(7, int(args[2]), int(args[3]), int(args[4]))
elif act == "read":
    opt(8)
    go(args[0])
    request(0, int(args[1]), int(args[2]), int(args[3]))
PY
raw() { timeout 30 python3 "$RAW" "$S" "$@"; }
expect "STRUCTURED_REPLY: acknowledged once, then NBD_REP_ERR_INVALID (and with data)" 0 \
	"^1 2147483651 2147483651$" raw sr-twice
expect "SET_META_CONTEXT before structured replies: NBD_REP_ERR_INVALID" 0 "^2147483651$" \
	raw set-first nvme0n1p1 base:allocation
expect "LIST_META_CONTEXT without queries: base:allocation" 0 "^0:base:allocation 1$" \
	raw list nvme0n1p1
expect "LIST_META_CONTEXT of base: lists base:allocation" 0 "^0:base:allocation 1$" \
	raw list nvme0n1p5 base:
expect "LIST_META_CONTEXT: other namespaces and leaves are ignored" 0 "^1$" \
	raw list nvme0n1p5 x-foo:bar qemu:dirty-bitmap:b base:nothing base
expect "SET_META_CONTEXT of base: selects nothing" 0 "^1$" raw set nvme0n1p1 base:
expect "SET_META_CONTEXT: base:allocation gets its id" 0 "^1:base:allocation 1$" \
	raw set nvme0n1p1 x-foo:bar base:allocation
expect "SET_META_CONTEXT of an unknown export: NBD_REP_ERR_UNKNOWN" 0 "^2147483654$" \
	raw set nvme0n1p9 base:allocation
expect "BLOCK_STATUS on another export than SET_META_CONTEXT's: EINVAL" 0 "^error 22 .* 1$" \
	raw status nvme0n1p5 nvme0n1p1 0 1048576 0
expect "BLOCK_STATUS: the runs of nvme0n1p1's second MiB" 0 \
	"^status 1 524288:2 65536:0 458752:2 1$" raw status nvme0n1p1 nvme0n1p1 1048576 1048576 0
expect "BLOCK_STATUS with REQ_ONE: one extent" 0 "^status 1 1048576:0 1$" \
	raw status nvme0n1p1 nvme0n1p1 0 10485760 8
expect "BLOCK_STATUS with REQ_ONE: no longer than asked" 0 "^status 1 4096:2 1$" \
	raw status nvme0n1p1 nvme0n1p1 1048576 4096 8
expect "SET_META_CONTEXT on \"\", GO on the default's name: the same export" 0 \
	"^status 1 1048576:2 1$" raw status "" nvme0n1p1 9437184 1048576 0
expect "a structured read with DF: one OFFSET_DATA chunk, the last" 0 "^data 1572864 8192 5a 1$" \
	raw read nvme0n1p1 1572864 8192 4
expect "a structured read beyond the export: an error chunk with its reason" 0 \
	"^error 22 beyond the end of the export 1$" raw read nvme0n1p1 10485760 512 0

# a read-only export over TCP on loopback, any free port, plain (TLS: test_nbd_tls.sh)
"$DDE" nbd --export nvme0n1p6 --port 0 --insecure --read-only >"$T/tcp.log" 2>&1 &
tcp=$!
BG_PIDS="$BG_PIDS $tcp"
wait_for "at nbd://127.0.0.1:" 10 "$T/tcp.log"
UT=$(sed -n 's/^dde nbd: nvme0n1p6 .* at //p' "$T/tcp.log")
case "$UT" in
nbd://127.0.0.1:*/nvme0n1p6) ok "--port 0: a loopback port, printed ($UT)" ;;
*) not_ok "TCP URI" "$(cat "$T/tcp.log")" ;;
esac
expect "nbdinfo over TCP: read-only" 0 "is_read_only: true" nbdinfo "$UT"
expect "a write to the read-only export is refused" 1 "." \
	nbdcopy "$T/p5.in" "$UT"
nbdcopy "$UT" "$T/p6.out" && [ "$(shaf "$T/p6.out")" = "$before_p6" ] &&
	ok "the read-only export reads nvme0n1p6 as the image holds it" || not_ok "read-only read"
port=${UT##*:}
port=${port%%/*}
ss -Hltn "sport = :$port" >"$T/ss" 2>&1
[ "$(awk '{print $4}' "$T/ss")" = "127.0.0.1:$port" ] && ok "listens on loopback only" ||
	not_ok "listens on loopback only" "$(cat "$T/ss")"
kill -INT $tcp
wait $tcp 2>/dev/null

# the kernel's NBD device, where this kernel has it
if [ -b /dev/nbd0 ] && command -v nbd-client >/dev/null; then
	if nbd-client -N nvme0n1p5 -unix "$S" /dev/nbd0 >"$T/kn" 2>&1; then
		[ "$(head -c $((8192 * 512)) /dev/nbd0 | sha256sum | cut -d' ' -f1)" = "$(shaf "$T/p5.in")" ] &&
			ok "the kernel's nbd device reads nvme0n1p5" || not_ok "kernel nbd read"
		nbd-client -d /dev/nbd0 >/dev/null 2>&1
	else
		not_ok "nbd-client attaches /dev/nbd0" "$(cat "$T/kn")"
	fi
else
	skip "nbd-client attaches /dev/nbd0" "no /dev/nbd0 (this kernel has no nbd): nbd-client only lists the exports"
fi

kill -INT $nbd
wait $nbd 2>/dev/null
[ -e "$S" ] && not_ok "dde nbd removes its socket when interrupted" ||
	ok "dde nbd removes its socket when interrupted"
kill -INT $run
wait $run 2>/dev/null

# after QEMU exits: the image holds what was written, and nothing else changed
zeros=$(head -c 1048576 /dev/zero | sha256sum | cut -d' ' -f1)
[ "$(sha "$M" 2048 20480)" = "$(shaf "$T/p1.want")" ] &&
	ok "nvme0n1p1's new bytes are in the image (with the zeroes written and the MiB trimmed)" ||
	not_ok "image holds nvme0n1p1's write"
[ "$(sha "$M" 26624 6144)" = \
	"$(tail -c +$((1048576 + 1)) "$T/p5.in" | sha256sum | cut -d' ' -f1)" ] &&
	ok "nvme0n1p5's new bytes are in the image (the refused trim took nothing)" ||
	not_ok "image holds nvme0n1p5's write"
[ "$(sha "$M" 24576 2048)" = "$zeros" ] &&
	ok "the trimmed MiB of nvme0n1p5 reads as zeros in the image" ||
	not_ok "trimmed range is zeros"
[ "$(sha "$M" 34816 4096)" = "$before_p6" ] && [ "$(sha "$M" 22528 2048)" = "$before_gap" ] &&
	ok "nvme0n1p6 and the extended partition's table are unchanged" || not_ok "bytes outside changed"
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
