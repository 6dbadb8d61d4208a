#!/bin/bash
# Two reused Linux drivers back to back, each exported as a TAP device in
# a network namespace of its own: the host's ping and a 10 MiB TCP
# transfer cross from one namespace to the other through both (e1000 and
# 8139cp, tests/net/tap_pair.sh); and again with e1000 killed (kill -9)
# in the middle of the transfer: dde restarts it, the transfer completes.
. "$(dirname "$0")/lib.sh"

O=$O tests/net/tap_pair.sh 10 >"$T/out" 2>&1
rc=$?
sed 's/^/    /' "$T/out"
if [ $rc = 77 ]; then
	skip "TAP pair between namespaces" "$(head -1 "$T/out")"
else
	grep -q "^ping: 3 of 3 answered" "$T/out" &&
		ok "ping crosses e1000 and 8139cp between two namespaces" ||
		not_ok "ping between the namespaces" "$(cat "$T/out")"
	[ $rc = 0 ] && grep -q "^sha256: match" "$T/out" &&
		ok "10 MiB over TCP arrive intact (sha256) through both drivers" ||
		not_ok "10 MiB over TCP through both drivers" "$(cat "$T/out")"
fi
# kill -9 of e1000 in the middle of a TCP transfer: dde restarts it, the
# TAP stays, the transfer completes intact
O=$O KILL_AFTER=1 tests/net/tap_pair.sh 20 >"$T/kill" 2>&1
rc=$?
sed 's/^/    /' "$T/kill"
if [ $rc = 77 ]; then
	skip "kill -9 of e1000 during a TCP transfer" "$(head -1 "$T/kill")"
else
	[ $rc = 0 ] && grep -q "^sha256: match" "$T/kill" && grep -q "^restart: e1000 killed" "$T/kill" &&
		ok "kill -9 of e1000 1 s into a 20 MiB TCP transfer: restarted, the transfer completes intact" ||
		not_ok "kill -9 of e1000 during a TCP transfer" "$(cat "$T/kill")"
fi
[ -z "$(ip netns list 2>/dev/null | grep dde-ns)" ] && ok "no namespace left behind" ||
	not_ok "no namespace left behind" "$(ip netns list)"
no_leftovers "no QEMU, ddeio or netd left behind"
finish
