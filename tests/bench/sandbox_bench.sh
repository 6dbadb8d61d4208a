#!/bin/bash
# make bench, sandbox part (issue 17): what the drivers' sandbox costs, as
# ratios of the same figures with it (the default) and with --no-sandbox,
# measured in one run, the two alternating: the time from `dde run` to the
# NVMe disk at bddf and to e1000's interface at netd (driver start: the
# namespaces, the bind mounts, the filters), 4 KiB random reads at depth 32
# and 1 MiB reads at depth 32 through libddeblk, and frames/s through e1000
# both ways (windowed, so that nothing is lost).
. "$(dirname "$0")/lib.sh"
BLKIO="$O/tests/block/blkio"
ROUNDS=${ROUNDS:-3}

echo
bench_title "sandbox (on / --no-sandbox)"
img="$T/disk.img"
head -c $((64 << 20)) /dev/urandom >"$img"
port=$((42000 + $$ % 8000))

# one MODE(sandbox|open) ROUND: a line of figures into $T/res-MODE
one() {
	local mode=$1 sock="@dde-bench-sbx-$$-$2" net="@dde-bench-sbxn-$$-$2" extra=() t0 disk_ms net_ms run
	[ "$mode" = open ] && extra=(--no-sandbox)
	t0=$(ms)
	"$DDE" run "${extra[@]}" --disk "nvme:$img" --nic "e1000,net=udp:$port:$((port + 1))" \
		--driver e1000@00:02.0 --blk-socket "$sock" --net-socket "$net" >"$T/log" 2>&1 &
	run=$!
	bg="$run"
	disk_ms="" net_ms=""
	for _ in $(seq 3000); do
		[ -z "$disk_ms" ] && grep -q "^bddf: nvme0n1: disk of" "$T/log" && disk_ms=$(($(ms) - t0))
		[ -z "$net_ms" ] && grep -q "^netd: interface net0 attached" "$T/log" && net_ms=$(($(ms) - t0))
		[ -n "$disk_ms" ] && [ -n "$net_ms" ] && break
		sleep 0.01
	done
	for _ in $(seq 600); do grep -q "netd: interface net0: link up" "$T/log" && break; sleep 0.1; done
	DDE_BLK=$sock "$BLKIO" nvme0n1 bench read 64 1048576 32 >/dev/null	# warm-up
	local iops mbs tx rx
	iops=$(DDE_BLK=$sock "$BLKIO" nvme0n1 bench randread 30000 4096 32 | sed -n 's/.* \([0-9]*\) IOPS.*/\1/p')
	mbs=$(DDE_BLK=$sock "$BLKIO" nvme0n1 bench read 512 1048576 32 | sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')
	DDE_NET=$net "$O/tests/net/net_frames" --qemu-listen $port --qemu-peer $((port + 1)) \
		--count 4000 --size 1514 >"$T/out" 2>&1
	tx=$(sed -n 's/^tx: .*; \([0-9]*\) frames\/s.*/\1/p' "$T/out")
	rx=$(sed -n 's/^rx: .*; \([0-9]*\) frames\/s.*/\1/p' "$T/out")
	kill -INT $run 2>/dev/null
	wait $run 2>/dev/null
	bg=""
	echo "${disk_ms:-0} ${net_ms:-0} ${iops:-0} ${mbs:-0} ${tx:-0} ${rx:-0}" >>"$T/res-$mode"
}
for r in $(seq "$ROUNDS"); do
	one sandbox "$r"
	one open "$r"
done
# median of column N of FILE
median() { cut -d' ' -f"$1" "$2" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf "  %-44s %12s %14s %8s\n" "median of $ROUNDS rounds" "sandbox" "--no-sandbox" "ratio"
n=1
for what in "dde run to the NVMe disk at bddf (ms)" "dde run to e1000's net0 at netd (ms)" \
	"nvme 4 KiB random reads, depth 32 (IOPS)" "nvme 1 MiB reads, depth 32 (MB/s)" \
	"e1000 1514-byte frames out (frames/s)" "e1000 1514-byte frames in (frames/s)"; do
	a=$(median $n "$T/res-sandbox")
	b=$(median $n "$T/res-open")
	printf "  %-44s %12s %14s %8s\n" "$what" "$a" "$b" "$(ratio "$a" "$b")"
	n=$((n + 1))
done
