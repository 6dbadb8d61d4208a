#!/bin/bash
# tap_pair.sh [MIB]: two reused Linux drivers back to back. One QEMU has an
# e1000 and an rtl8139 joined by a pair of UDP socket netdevs (what one
# sends, the other receives); Linux's e1000 and 8139cp drive them, and
# netd exports each as a TAP device, moved into a network namespace of its
# own (10.99.0.1 and 10.99.0.2). Then the host's ping and a TCP transfer
# of MIB MiB (nc, checked with sha256) cross from one namespace to the
# other: kernel -> TAP -> netd -> e1000 -> QEMU -> 8139cp -> netd -> TAP.
#
# Prints "ping: R of 3 answered", "tcp: ... Mbit/s", "sha256: match" (or
# what went wrong); exits 0 if all went through, 1 if not, 77 if this
# machine cannot make network namespaces (not root). Cleans up everything.
# DRIVERS="A B" choose the two drivers (default "e1000 8139cp"; binary
# modules: "ko:e1000 ko:8139cp", ENGINE=native their engine), NICS="A B"
# their NICs (default "e1000 rtl8139"; e.g. "ne2k_pci rtl8139,revision=0x10").
# KILL_AFTER=S: kill -9 driver A S seconds into the transfer (it must come
# back and the transfer complete); prints "restart: ...".
set -u
O=${O:-build}
. "$(dirname "$0")/transfer.sh"
MIB=${1:-10}
read -r DRV_A DRV_B <<<"${DRIVERS:-e1000 8139cp}"
read -r NIC_A NIC_B <<<"${NICS:-e1000 rtl8139}"
engine=()
[[ "$DRV_A $DRV_B" == *ko:* ]] && engine=(--engine "${ENGINE:-native}")
T=$(mktemp -d /tmp/dde-tap-XXXXXX)
A=ddeA$$ B=ddeB$$ NA=dde-nsA-$$ NB=dde-nsB-$$
run=""
cleanup() {
	[ -n "$run" ] && kill -INT "$run" 2>/dev/null && wait "$run" 2>/dev/null
	ip netns pids "$NA" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns pids "$NB" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
# a signal would end the shell without its EXIT trap: make it an exit
trap 'exit 130' INT TERM HUP

if ! ip netns add "$NA" 2>"$T/err" || ! ip netns add "$NB" 2>>"$T/err"; then
	echo "cannot make network namespaces: $(head -1 "$T/err")"
	exit 77
fi

port=$((43000 + ($$ % 1000) * 2))
"$O/bin/dde" run "${engine[@]}" --nic "$NIC_A,net=udp:$port:$((port + 1))" \
	--nic "$NIC_B,net=udp:$((port + 1)):$port" \
	--driver "$DRV_A@00:01.0" --driver "$DRV_B@00:02.0" \
	--tap "net0=$A" --tap "net1=$B" --net-socket "@dde-tap-$$" >"$T/log" 2>&1 &
run=$!
for ((i = 0; i < 600; i++)); do
	grep -q "netd: interface net0: link up" "$T/log" &&
		grep -q "netd: interface net1: link up" "$T/log" && break
	kill -0 $run 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "netd: interface net1: link up" "$T/log" ||
	! grep -q "netd: interface net0: link up" "$T/log"; then
	echo "the drivers did not come up:"
	tail -5 "$T/log"
	exit 1
fi
for x in "$A $NA 10.99.0.1" "$B $NB 10.99.0.2"; do
	set -- $x
	ip link set "$1" netns "$2" && ip -n "$2" addr add "$3/24" dev "$1" &&
		ip -n "$2" link set "$1" up && ip -n "$2" link set lo up || {
		echo "cannot set up $1 in $2"
		exit 1
	}
done

ip netns exec "$NA" ping -c 3 -i 0.3 -W 3 10.99.0.2 >"$T/ping" 2>&1
got=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' "$T/ping")
echo "ping: ${got:-0} of 3 answered ($(sed -n 's/^rtt //p' "$T/ping"))"

head -c "${MIB}M" /dev/urandom >"$T/data"
ip netns exec "$NB" timeout 120 nc -l -N 5001 >"$T/recv" 2>"$T/nc-l" &
srv=$!
for ((i = 0; i < 50; i++)); do
	ip netns exec "$NB" ss -ltn 2>/dev/null | grep -q ":5001 " && break
	sleep 0.1
done
t0=$(date +%s%N)
killer=""
if [ -n "${KILL_AFTER:-}" ]; then
	# kill -9 of driver A in the middle of the transfer: dde restarts it,
	# netd keeps the TAP, TCP retransmits what was lost
	(
		sleep "$KILL_AFTER"
		pid=$(sed -n "s/^dde: started driver $DRV_A@00:01.0 (pid \([0-9]*\))$/\1/p" "$T/log")
		[ -n "$pid" ] && kill -9 "$pid" && echo "killed $pid" >"$T/killed"
	) &
	killer=$!
fi
ip netns exec "$NA" timeout 120 nc -N 10.99.0.2 5001 <"$T/data" 2>"$T/nc"
sent=$?
wait $srv
t1=$(date +%s%N)
[ -n "$killer" ] && wait $killer
report_transfer "$T/data" "$T/recv" "$t0" "$t1" "nc exit $sent"
if [ -n "${KILL_AFTER:-}" ]; then
	if [ -s "$T/killed" ] && grep -q "^dde: restarted driver $DRV_A@00:01.0 (pid [0-9]*, restart 1)" "$T/log" &&
		[ "$(( (t1 - t0) / 1000000 ))" -gt "$(awk -v s="$KILL_AFTER" 'BEGIN { print s * 1000 }')" ]; then
		echo "restart: $DRV_A killed ${KILL_AFTER} s into the transfer and restarted; $(grep -o "interface net0: driver back.*" "$T/log" | head -1)"
	else
		echo "restart: MISSING ($(cat "$T/killed" 2>/dev/null); $(grep -E "dde: .*$DRV_A" "$T/log" | tail -2))"
	fi
fi
[ "${got:-0}" = 3 ] && cmp -s "$T/data" "$T/recv"
