#!/bin/bash
# dhcp_fetch.sh [MIB]: a real protocol stack over a reused Linux driver.
# QEMU's user-mode network (DHCP server, NAT; the host is 10.0.2.2) behind
# an e1000 driven by Linux's e1000 in a dde process; netd exports it as a
# TAP device in a network namespace of its own, where the host kernel's
# stack runs a real DHCP client (busybox udhcpc) and fetches, over TCP,
# a page and MIB MiB from an HTTP server on the host (busybox httpd on
# 127.0.0.1, which QEMU's NAT reaches as 10.0.2.2):
#   namespace -> TAP -> netd -> e1000 (Linux) -> QEMU e1000 -> slirp -> host
#
# Prints the lease, the page and the transfer; exits 0 if all went
# through, 1 if not, 77 if this machine cannot make network namespaces.
# NIC=MODEL DRIVER=SPEC choose another NIC and driver (e.g. NIC=rtl8139
# DRIVER=ko:8139cp: Debian's binary module; ENGINE=native its engine).
# TCP_RMEM="MIN DEFAULT MAX" bounds the namespace's TCP receive window (a
# driver that keeps few receive buffers: iPXE's rtl8139).
set -u
O=${O:-build}
. "$(dirname "$0")/transfer.sh"
MIB=${1:-10}
NIC=${NIC:-e1000}
DRIVER=${DRIVER:-e1000}
engine=()
[[ $DRIVER == ko:* || $DRIVER == efi:* ]] && engine=(--engine "${ENGINE:-native}")
T=$(mktemp -d /tmp/dde-dhcp-XXXXXX)
IF=ddeU$$ NS=dde-nsU-$$
run="" httpd=""
cleanup() {
	[ -n "$run" ] && kill -INT "$run" 2>/dev/null && wait "$run" 2>/dev/null
	[ -n "$httpd" ] && kill "$httpd" 2>/dev/null && wait "$httpd" 2>/dev/null
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
# a signal would end the shell without its EXIT trap: make it an exit
trap 'exit 130' INT TERM HUP

if ! ip netns add "$NS" 2>"$T/err"; then
	echo "cannot make network namespaces: $(head -1 "$T/err")"
	exit 77
fi

# the host's server: a page and the payload
mkdir -p "$T/www"
echo "<html><body><h1>Hello from the host</h1><p>fetched through $DRIVER, Linux's driver unmodified, in a dde driver process</p></body></html>" \
	>"$T/www/index.html"
head -c "${MIB}M" /dev/urandom >"$T/www/data"
port=$((44000 + $$ % 1000))
busybox httpd -f -p "127.0.0.1:$port" -h "$T/www" &
httpd=$!

"$O/bin/dde" run "${engine[@]}" --device "$NIC,net=user" --driver "$DRIVER@00:01.0" --tap "net0=$IF" \
	--net-socket "@dde-dhcp-$$" >"$T/log" 2>&1 &
run=$!
for ((i = 0; i < 600; i++)); do
	grep -q "netd: interface net0: link up" "$T/log" && break
	kill -0 $run 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "netd: interface net0: link up" "$T/log"; then
	echo "the driver did not come up:"
	tail -5 "$T/log"
	exit 1
fi
grep -E "${DRIVER#ko:}|netd" "$T/log" | sed 's/^\[[ 0-9.]*\] //; s/^/driver: /'
if [ -n "${TCP_RMEM:-}" ] && ! ip netns exec "$NS" sysctl -qw net.ipv4.tcp_rmem="$TCP_RMEM"; then
	echo "cannot set the namespace's tcp_rmem"
	exit 1
fi
ip link set "$IF" netns "$NS" && ip -n "$NS" link set "$IF" up && ip -n "$NS" link set lo up || {
	echo "cannot move $IF into $NS"
	exit 1
}

# udhcpc hands the lease to a script; ours configures the interface
cat >"$T/lease.sh" <<'EOS'
#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ip addr add "$ip/$subnet" dev "$interface"
[ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
echo "lease: $ip/$subnet router $router dns $dns"
EOS
chmod +x "$T/lease.sh"
ip netns exec "$NS" busybox udhcpc -i "$IF" -n -q -f -t 5 -T 2 -s "$T/lease.sh" >"$T/dhcp" 2>&1
grep "^lease:" "$T/dhcp" || { echo "no lease:"; cat "$T/dhcp"; exit 1; }
addr=$(ip -n "$NS" -4 -o addr show dev "$IF" | awk '{print $4}')
echo "address: $addr"

ip netns exec "$NS" timeout 30 busybox wget -q -O "$T/page" "http://10.0.2.2:$port/index.html"
echo "page: $(cat "$T/page" 2>/dev/null)"
t0=$(date +%s%N)
ip netns exec "$NS" timeout 120 busybox wget -q -O "$T/got" "http://10.0.2.2:$port/data"
t1=$(date +%s%N)
report_transfer "$T/www/data" "$T/got" "$t0" "$t1" ${TCP_RMEM:+"TCP receive buffer ${TCP_RMEM##* } bytes"}
[ "${addr%/*}" = 10.0.2.15 ] && cmp -s "$T/www/index.html" "$T/page" && cmp -s "$T/www/data" "$T/got"
