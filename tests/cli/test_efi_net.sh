#!/bin/bash
# iPXE's UEFI NIC drivers — binary drivers of another OS, the EFI images of
# Debian's ipxe-qemu option ROMs — serving netd through the UEFI driver
# host's network glue (efi/net.c, docs/efi.md "Networks"), as Linux's
# drivers do: for e1000 and rtl8139, frames both ways byte-exact with the
# UDP peer of QEMU's socket netdev, counted by `dde net`; QEMU's set_link
# reaches the clients; kill -9 of the driver (restarted, the interface
# stays); then a real protocol stack:
# through QEMU's user network a DHCP client gets the lease and fetches a
# page and 10 MiB over TCP, checked by sha256 (tests/net/dhcp_fetch.sh,
# the Linux drivers' helper).
#
# iPXE keeps few receive buffers posted (e1000: 8; QEMU's rtl8139 is an
# 8139C+, which iPXE drives with 4 descriptors, and the model drops what
# finds none, uncounted) and the host polls them, so frames in flight are
# kept within that: the frames test's window (rtl8139: 4, e1000: 8), and
# for rtl8139 the TCP window (the namespace's receive buffer). e1000 takes slirp's bursts
# at full window, losing some that TCP sends again. e1000 is also run in
# the translated engine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/../net/transfer.sh"

if ! [ -r "$O/share/dde/efi-dir" ] || ! [ -d "$(cat "$O/share/dde/efi-dir")/ipxe" ]; then
	skip "iPXE's UEFI NIC drivers" "no ipxe-qemu option ROMs in the cache (make fetches them)"
	finish
	exit
fi

# efi_frames MODEL PORT WINDOW [ENGINE]: frames, counters, link, kill -9
# (ENGINE dbt: the driver's code in the translated engine)
efi_frames() {
	local model=$1 base=$2 window=$3 drv=efi:ipxe-$1 eng=${4:-native}
	local sock="@dde-test-efinet-$$-$model-$eng" log="$T/$model-$eng.log" mon="$T/$model-$eng.mon"
	local listen=$base peer=$((base + 1)) run_pid watch_pid
	[ "$eng" = native ] || drv="$drv($eng)"

	"$DDE" run --engine "$eng" --nic "$model,net=udp:$listen:$peer" --driver "efi:ipxe-$model@00:01.0" \
		--net-socket "$sock" --monitor "$mon" >"$log" 2>&1 &
	run_pid=$!
	BG_PIDS="$BG_PIDS $run_pid"
	if wait_for "netd: interface net0: link up" 60 "$log" &&
		grep -q "$model: placed in DMA memory at its bus address" "$log" &&
		grep -q "started on handle" "$log"; then
		ok "$drv: iPXE's driver binding starts on the device, its image in DMA memory at its bus address"
	else
		not_ok "$drv: iPXE's driver starts and the link comes up" "$(grep -v '^$' "$log" | tail -8)"
		kill -INT $run_pid 2>/dev/null
		wait $run_pid 2>/dev/null
		return
	fi
	grep -q "net0: Simple Network Protocol 52:54:00:12:34:56, mtu 1500, link up" "$log" &&
		grep -q "netd: interface net0 attached: 52:54:00:12:34:56, mtu 1500" "$log" &&
		ok "$drv: its Simple Network Protocol is at netd as net0, with the NIC's MAC" ||
		not_ok "$drv: the SNP at netd" "$(grep -E 'net0|netd' "$log" | head -5)"

	DDE_NET=$sock "$FRAMES" --qemu-listen $listen --qemu-peer $peer --count 2000 \
		--window "$window" >"$T/frames.out" 2>&1
	if grep -q "^tx: 2000 frames .*, 2000 arrived .*0 lost, 0 bad" "$T/frames.out" &&
		grep -q "^rx: 2000 frames .*, 2000 reached .*0 lost, 0 bad" "$T/frames.out"; then
		ok "$drv: 2,000 frames each way, byte-exact and in order ($window in flight)"
		sed -n 's/^/    /; /^    [rt]x:/p' "$T/frames.out"
	else
		not_ok "$drv: 2,000 frames each way" "$(cat "$T/frames.out")"
	fi
	# overload: a burst far beyond what the driver and the model take at
	# once, then a windowed exchange, which must be complete and exact (a
	# receive path that stopped for good fails here; iPXE's rtl8139 did
	# while its acknowledge of the interrupt status was posted: ddekit/io.c)
	DDE_NET=$sock "$FRAMES" --qemu-listen $listen --qemu-peer $peer --only rx --full \
		--count 1000 --size 1514 --seed 7 >"$T/burst.out" 2>&1
	DDE_NET=$sock "$FRAMES" --qemu-listen $listen --qemu-peer $peer --only rx --count 200 \
		--window 1 --seed 8 >"$T/after.out" 2>&1
	if grep -q "^rx: 200 frames .*, 200 reached .*0 lost, 0 bad" "$T/after.out"; then
		ok "$drv: after a burst of 1,000 frames at full speed it receives again at once (200 frames, exact)"
		sed -n 's/^rx: 1000 frames injected by the UDP peer, /    burst: /p' "$T/burst.out"
	else
		not_ok "$drv: receives again after a burst at full speed" \
			"$(cat "$T/burst.out" "$T/after.out")"
	fi
	# the driver's counters come each second
	sleep 1.5
	DDE_NET=$sock "$DDE" net >"$T/net.out" 2>&1
	if grep -Eq "^  netd: +rx ([2-9][0-9]{3}|[0-9]{5,}) +tx ([2-9][0-9]{3}|[0-9]{5,})" "$T/net.out" &&
		grep -Eq "^  driver rx: +packets ([2-9][0-9]{3}|[0-9]{5,}) " "$T/net.out" &&
		grep -Eq "^  driver tx: +packets ([2-9][0-9]{3}|[0-9]{5,}) .*link down or bad size 0" "$T/net.out"; then
		ok "$drv: dde net counts the frames both ways, netd's and the glue's"
		sed 's/^/    /' "$T/net.out"
	else
		not_ok "$drv: dde net's counters" "$(cat "$T/net.out")"
	fi

	DDE_NET=$sock "$FRAMES" --watch 180 >"$T/watch.out" 2>&1 &
	watch_pid=$!
	BG_PIDS="$BG_PIDS $watch_pid"
	wait_for "^link up" 10 "$T/watch.out"
	"$QMON" "$mon" "set_link net0 off" >/dev/null
	if wait_for "^link down" 20 "$T/watch.out" && wait_for "net0: link down" 5 "$log"; then
		ok "$drv: QEMU's set_link off reaches iPXE's driver (MediaPresent) and the clients"
	else
		not_ok "$drv: set_link off" "$(cat "$T/watch.out"; tail -3 "$log")"
	fi
	"$QMON" "$mon" "set_link net0 on" >/dev/null
	if wait_count "^link up" 2 20 "$T/watch.out" && wait_for "net0: link up" 5 "$log"; then
		ok "$drv: set_link on brings it back"
	else
		not_ok "$drv: set_link on" "$(cat "$T/watch.out")"
	fi

	# kill -9: dde restarts the driver host; the interface stays, its
	# client sees the link go down and up, and frames flow again
	comes_back "$drv" "$log" "efi:ipxe-$model@00:01.0" "$(driver_pid "$log" "efi:ipxe-$model@00:01.0")" \
		"$sock" "$listen" "$peer" "$window" 500
	kill $watch_pid 2>/dev/null
	wait $watch_pid 2>/dev/null
	kill -INT $run_pid 2>/dev/null
	wait $run_pid 2>/dev/null
}

base=$((24000 + ($$ % 1000) * 4))
efi_frames e1000 $base 8
efi_frames rtl8139 $((base + 2)) 4
efi_frames e1000 $((base + 4)) 8 dbt

# DHCP and TCP through QEMU's user network: e1000 with the Linux drivers'
# helper as it is
NIC=e1000 DRIVER=efi:ipxe-e1000 O=$O tests/net/dhcp_fetch.sh 10 >"$T/out" 2>&1
rc=$?
sed 's/^/    /' "$T/out"
if [ $rc = 77 ]; then
	skip "DHCP and TCP over iPXE's e1000 driver" "$(head -1 "$T/out")"
else
	grep -q "^address: 10.0.2.15/24" "$T/out" &&
		ok "efi:ipxe-e1000: a DHCP client gets QEMU's lease 10.0.2.15 through iPXE's driver" ||
		not_ok "efi:ipxe-e1000: DHCP lease" "$(tail -8 "$T/out")"
	grep -q "^page: <html><body><h1>Hello from the host" "$T/out" &&
		ok "efi:ipxe-e1000: a page fetched over TCP from the host (10.0.2.2)" ||
		not_ok "efi:ipxe-e1000: a page from the host" "$(tail -8 "$T/out")"
	[ $rc = 0 ] && grep -q "^sha256: match" "$T/out" &&
		ok "efi:ipxe-e1000: 10 MiB from the host arrive intact (sha256)" ||
		not_ok "efi:ipxe-e1000: 10 MiB from the host" "$(tail -8 "$T/out")"
fi

# rtl8139: the same, the namespace's TCP window within iPXE's 4 receive
# descriptors (a full window of slirp's is mostly dropped by QEMU's 8139C+
# model, and TCP crawls on its retransmission timer)
NIC=rtl8139 DRIVER=efi:ipxe-rtl8139 TCP_RMEM="4096 8192 8192" O=$O tests/net/dhcp_fetch.sh 10 \
	>"$T/out" 2>&1
rc=$?
sed 's/^/    /' "$T/out"
if [ $rc = 77 ]; then
	skip "DHCP and TCP over iPXE's rtl8139 driver" "$(head -1 "$T/out")"
else
	grep -q "^address: 10.0.2.15/24" "$T/out" && grep -q "^page: <html><body><h1>Hello from the host" "$T/out" &&
		ok "efi:ipxe-rtl8139: QEMU's lease 10.0.2.15 by DHCP, and a page over TCP" ||
		not_ok "efi:ipxe-rtl8139: DHCP and a page" "$(tail -8 "$T/out")"
	[ $rc = 0 ] && grep -q "^sha256: match" "$T/out" &&
		ok "efi:ipxe-rtl8139: 10 MiB from the host arrive intact (sha256)" ||
		not_ok "efi:ipxe-rtl8139: 10 MiB from the host" "$(tail -8 "$T/out")"
fi

grep -h "does not give" "$T"/*.log >"$T/missing" 2>/dev/null
[ ! -s "$T/missing" ] && ok "iPXE called no boot service the host lacks" ||
	not_ok "iPXE called a boot service the host lacks" "$(cat "$T/missing")"
[ -z "$(ip netns list 2>/dev/null | grep dde-ns)" ] && ok "no namespace left behind" ||
	not_ok "no namespace left behind" "$(ip netns list)"
pgrep -f "busybox httpd -f -p 127.0.0.1" >/dev/null && not_ok "the host's server stopped" ||
	ok "the host's server stopped"
no_leftovers "no QEMU, ddeio or netd left behind"
finish
