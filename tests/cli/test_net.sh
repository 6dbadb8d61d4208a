#!/bin/bash
# The network path through reused Linux drivers, end to end: `dde run`
# starts the driver (Linux's own, unmodified) and netd; a libddenet client
# exchanges 10,000 frames each way (2,000 on ne2k-pci, 4,000 on pcnet)
# with the UDP peer of QEMU's socket netdev; pcap capture is read back by
# tcpdump; QEMU's set_link is seen by the driver and reported to clients; `kill -9` of the driver: dde
# restarts it, the interface stays and passes frames again; a stopped idle
# driver is found by its missing heartbeat; everything is cleaned up.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/net_lib.sh"

base=$((20000 + ($$ % 1000) * 8))
net_driver e1000 e1000 00:01.0 $base 32 "Link is Down" "Link is Up"
net_driver 8139cp rtl8139 00:01.0 $((base + 2)) 32 "eth0: link down" "eth0: link up"
# QEMU's ne2k_pci stops taking frames for good once its 13 KiB ring was
# full (it never flushes its queue when the driver frees room): 4 in flight
NET_COUNT=2000 net_driver ne2k-pci ne2k_pci 00:01.0 $((base + 4)) 4 "" ""
# AMD PCnet (QEMU's pcnet): a recipe and nothing else (drivers/pcnet32);
# 4 in flight: QEMU's pcnet stores a received descriptor twice (first
# without ENP), and a driver polling the ring between the two stores drops
# the frame and a later one comes a ring late (docs/net.md, "QEMU's pcnet")
NET_COUNT=4000 net_driver pcnet32 pcnet 00:01.0 $((base + 6)) 4 "eth0: link down" "eth0: link up"
# the model's scan never looks at the ring's last receive descriptor: the
# backend keeps it from the model (docs/machine.md), found from the driver's init
grep -q "qemu: pcnet 00:01.0: the last receive descriptor (0x[0-9a-f]*) is kept from the model" \
	"$T/pcnet32.log" &&
	ok "pcnet32: the backend found the receive ring in the driver's init block and keeps its last descriptor from QEMU's scan" ||
	not_ok "pcnet32: the pcnet quirk found no receive ring" "$(grep -i "pcnet\|qemu:" "$T/pcnet32.log" | head -5)"
# virtio (QEMU's virtio-net-pci, transitional): virtio_net on Linux's
# virtio core and PCI transport; it logs no link change (netd does)
net_driver virtio_net virtio-net 00:01.0 $((base + 8)) 32 "netd: interface net0: link down" \
	"netd: interface net0: link up"

# a driver that hangs with nothing to send (SIGSTOP, no traffic): its
# heartbeat (the report of its counters, each second) stops, netd says so,
# dde kills and restarts it
"$DDE" run --nic e1000,net=none --driver e1000@00:01.0 --hang-timeout 2000 \
	--net-socket "@dde-test-hb-$$" >"$T/hb.log" 2>&1 &
hb_pid=$!
BG_PIDS="$BG_PIDS $hb_pid"
if wait_for "netd: interface net0: link up" 60 "$T/hb.log"; then
	sleep 1.5
	kill -STOP "$(driver_pid "$T/hb.log" e1000@00:01.0)"
	if wait_for "netd: driver of net0 hung: no report of its counters \(its heartbeat, each second\) for [0-9]+ ms" 10 "$T/hb.log" &&
		wait_for "dde: driver e1000@00:01.0 was hung: no heartbeat" 5 "$T/hb.log" &&
		wait_for "netd: interface net0: link up" 1 "$T/hb.log" &&
		wait_count "netd: interface net0: link up" 2 30 "$T/hb.log"; then
		ok "an idle driver stopped (SIGSTOP): its heartbeat missed, netd reports it, dde restarts it"
	else
		not_ok "a stopped idle driver is found by its heartbeat" "$(grep -E 'dde:|netd:' "$T/hb.log" | tail -6)"
	fi
fi
kill -INT $hb_pid 2>/dev/null
wait $hb_pid 2>/dev/null

# module parameters: Linux's own parsing sets them before the driver starts
"$DDE" run --nic e1000,net=none --driver e1000,InterruptThrottleRate=5000@00:01.0 \
	--net-socket "@dde-test-par-$$" >"$T/par.log" 2>&1 &
par_pid=$!
BG_PIDS="$BG_PIDS $par_pid"
if wait_for "netd: interface net0: link up" 60 "$T/par.log" &&
	grep -q "Interrupt Throttling Rate (ints/sec) set to 5000" "$T/par.log"; then
	ok "a module parameter (e1000,InterruptThrottleRate=5000) reaches the driver"
else
	not_ok "a module parameter reaches the driver" "$(tail -5 "$T/par.log")"
fi
kill -INT $par_pid 2>/dev/null
wait $par_pid 2>/dev/null
expect "a bad parameter value stops the driver with Linux's message" 1 \
	"invalid for parameter .e1000.debug" \
	"$DDE" run --nic e1000,net=none --driver e1000,debug=abc@00:01.0
expect "an unknown parameter is named, with the ones the driver has" 1 \
	"has no parameter .nosuch." \
	"$DDE" run --nic e1000,net=none --driver e1000,nosuch=1@00:01.0

# bad input: a client of a server that is not there, a wrong interface name
DDE_NET=@dde-test-none-$$ "$FRAMES" --qemu-listen 1 --qemu-peer 2 >"$T/out" 2>&1
[ $? = 1 ] && grep -q "Connection refused" "$T/out" &&
	ok "a client without a server gets a clear error" ||
	not_ok "a client without a server gets a clear error" "$(cat "$T/out")"

no_leftovers "no QEMU, ddeio or netd left behind"
pgrep -f "$(readlink -f "$O")/bin/netd" >/dev/null &&
	not_ok "netd stopped" "$(pgrep -af netd)" || ok "netd stopped"
finish
