#!/bin/bash
# A real protocol stack over a reused driver: through Linux's e1000 and
# QEMU's user-mode network, a DHCP client gets QEMU's lease (10.0.2.15) and
# fetches a page and 10 MiB over TCP from a server on the host at 10.0.2.2
# (tests/net/dhcp_fetch.sh: the host kernel's stack in a namespace, on the
# driver's TAP export).
. "$(dirname "$0")/lib.sh"

O=$O tests/net/dhcp_fetch.sh 10 >"$T/out" 2>&1
rc=$?
sed 's/^/    /' "$T/out"
if [ $rc = 77 ]; then
	skip "DHCP and TCP over the e1000 driver" "$(head -1 "$T/out")"
else
	grep -q "^address: 10.0.2.15/24" "$T/out" &&
		ok "a DHCP client gets QEMU's lease 10.0.2.15 through the e1000 driver" ||
		not_ok "DHCP lease through the e1000 driver" "$(cat "$T/out")"
	grep -q "^page: <html><body><h1>Hello from the host" "$T/out" &&
		ok "a page fetched over TCP from the host (10.0.2.2)" ||
		not_ok "a page fetched from the host" "$(cat "$T/out")"
	[ $rc = 0 ] && grep -q "^sha256: match" "$T/out" &&
		ok "10 MiB from the host arrive intact (sha256)" ||
		not_ok "10 MiB from the host" "$(cat "$T/out")"
fi
# the same through drivers that are only a recipe: pcnet32, and virtio_net
# on a modern-only virtio-net-pci (1af4:1041)
for pair in "pcnet pcnet32" "virtio-net-pci,disable-legacy=on virtio_net"; do
	set -- $pair
	NIC=$1 DRIVER=$2 O=$O tests/net/dhcp_fetch.sh 10 >"$T/out" 2>&1
	rc=$?
	sed 's/^/    /' "$T/out"
	if [ $rc = 77 ]; then
		skip "DHCP and TCP over the $2 driver" "$(head -1 "$T/out")"
	else
		[ $rc = 0 ] && grep -q "^address: 10.0.2.15/24" "$T/out" && grep -q "^sha256: match" "$T/out" &&
			ok "$2 ($1): QEMU's lease, and 10 MiB from the host intact" ||
			not_ok "DHCP and TCP through $2 ($1)" "$(tail -8 "$T/out")"
	fi
done
[ -z "$(ip netns list 2>/dev/null | grep dde-ns)" ] && ok "no namespace left behind" ||
	not_ok "no namespace left behind" "$(ip netns list)"
pgrep -f "busybox httpd -f -p 127.0.0.1" >/dev/null && not_ok "the host's server stopped" ||
	ok "the host's server stopped"
no_leftovers "no QEMU, ddeio or netd left behind"
finish
