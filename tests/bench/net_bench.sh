#!/bin/bash
# make bench, network part: frames/s and Mbit/s through each reused Linux
# network driver (client -> netd -> driver -> QEMU -> UDP peer, and back),
# at full speed with fixed-size frames (64 bytes: 60 plus the FCS QEMU does
# not model; 1514), and the CPU time the driver process and netd spent per
# frame. Losses at full speed are counted and printed, never hidden.
set -u
O=${O:-build}
T=$(mktemp -d /tmp/dde-bench-XXXXXX)
trap 'kill -INT $run 2>/dev/null; wait $run 2>/dev/null; rm -rf "$T"' EXIT
echo "== network: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

for drv in e1000; do
	port=$((40000 + $$ % 10000))
	sock="@dde-bench-net-$$"
	"$O/bin/dde" run --nic "e1000,net=udp:$port:$((port + 1))" --driver "$drv@00:01.0" \
		--net-socket "$sock" >"$T/log" 2>&1 &
	run=$!
	for i in $(seq 600); do grep -q "link up" "$T/log" && break; sleep 0.1; done
	dpid=$(pgrep -P $run -f "drivers/$drv\$" | head -1)
	npid=$(pgrep -P $run -f "bin/netd" | head -1)
	hz=$(getconf CLK_TCK)
	for size in 60 1514; do
		c0=$(( $(cpu_ticks "$dpid") + $(cpu_ticks "$npid") ))
		DDE_NET=$sock "$O/tests/net/net_frames" --qemu-listen $port --qemu-peer $((port + 1)) \
			--count 20000 --full --size $size >"$T/out" 2>&1
		c1=$(( $(cpu_ticks "$dpid") + $(cpu_ticks "$npid") ))
		sed -n 's/^\(tx\|rx\): 20000 frames [a-z ]*by \(the client\|the UDP peer\), /\1 /p' "$T/out" |
			sed "s/^/  $drv ${size}B /"
		echo "  $drv ${size}B driver+netd CPU: $(( (c1 - c0) * 1000000 / hz / 40000 )) us per frame"
	done
	kill -INT $run
	wait $run 2>/dev/null
done
