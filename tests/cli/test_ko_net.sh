#!/bin/bash
# Debian's binary network modules in the driver host (build/drivers/ko-net),
# on the engine ENGINE (native, the default; test_ko_dbt.sh runs this with
# dbt): the same network tests as the source-built drivers (frames both
# ways byte-exact, set_link, kill -9, pcap), DHCP + TCP, the TAP pair,
# module dependencies, parameters, and bad modules: each refused with a
# clear error while the machine and the other drivers keep serving; a
# module that faults at run time is reported with its module, function and
# offset.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"

ENGINE=${ENGINE:-native}
export ENGINE
E=(--engine "$ENGINE")

# dde_bg LOG ARGS...: `dde run` on this engine in the background, logging
# into LOG; its pid in $bg. dde_stop PID: stop it as Ctrl-C would.
dde_bg() {
	local log=$1
	shift
	"$DDE" run "${E[@]}" "$@" >"$log" 2>&1 &
	bg=$!
	BG_PIDS="$BG_PIDS $bg"
}
dde_stop() {
	kill -INT "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

KO=$(make -s --no-print-directory O="$O" ko-dir 2>/dev/null)
HOST="$O/drivers/ko-net"
if [ ! -f "$KO/e1000.ko" ] || [ ! -x "$HOST" ]; then
	not_ok "Debian's modules and the driver host are built" "no $KO/e1000.ko or $HOST (make)"
	finish
	exit
fi

base=$((21000 + ($$ % 1000) * 16))
net_driver ko:e1000 e1000 00:01.0 $base 32 "Link is Down" "Link is Up"
# QEMU's rtl8139 is an 8139C+ (revision 0x20): Linux drives it with 8139cp
# (8139too declines it, see below); 8139cp, like 8139too, needs mii
net_driver ko:8139cp rtl8139 00:01.0 $((base + 2)) 32 "eth0: link down" "eth0: link up"
NET_COUNT=2000 net_driver ko:ne2k-pci ne2k_pci 00:01.0 $((base + 4)) 4 "" ""
# 4 in flight: QEMU's pcnet and a polling driver race (test_net.sh)
NET_COUNT=4000 net_driver ko:pcnet32 pcnet 00:01.0 $((base + 14)) 4 "eth0: link down" "eth0: link up"
# virtio_net.ko with its transport virtio_pci.ko (loaded as its companion)
net_driver ko:virtio_net virtio-net 00:01.0 $((base + 16)) 32 "netd: interface net0: link down" \
	"netd: interface net0: link up"
# 8139too + mii: QEMU's rtl8139 is an 8139C+ that also has the classic
# 8139's registers; shown to drivers as revision 0x10 (--nic
# ...,revision=0x10, ddeio's config space) 8139too takes it, as it takes
# older chips
net_driver ko:8139too rtl8139,revision=0x10 00:01.0 $((base + 12)) 32 "" "" \
	"8139too waits for the link-change bit of CSCR, which QEMU's rtl8139 never sets"
grep -q "ko-net: mii (.*mii.ko) placed" "$T/ko-8139cp.log" &&
	grep -q "ko-net: mii (.*mii.ko) placed" "$T/ko-8139too.log" &&
	grep -q "ko-net: 8390 (.*8390.ko) placed" "$T/ko-ne2k-pci.log" &&
	grep -q "ksrv: mii: started" "$T/ko-8139cp.log" &&
	ok "dependencies (mii, 8390) are loaded first, from beside the module" ||
	not_ok "dependencies are loaded first" "$(grep ko-net "$T"/ko-*.log)"

# 8139too + mii on QEMU's chip as it is (revision 0x20): loaded, linked,
# started; its probe declines the 8139C+ as Linux's does, and the driver
# says it has no interface
timeout -s INT 60 "$DDE" run "${E[@]}" --nic rtl8139,net=none --driver ko:8139too@00:01.0 >"$T/too.log" 2>&1
grep -q "ksrv: mii: started" "$T/too.log" &&
	grep -q "is an enhanced 8139C+ chip, use 8139cp" "$T/too.log" &&
	grep -q "registered no network interface" "$T/too.log" &&
	ok "8139too + mii load and start; 8139too declines QEMU's 8139C+ with Linux's message" ||
	not_ok "8139too + mii" "$(tail -8 "$T/too.log")"

# module parameters: the module's own __param table, through Linux's parse_args
dde_bg "$T/par.log" --nic e1000,net=none --driver ko:e1000,InterruptThrottleRate=5000@00:01.0 \
	--net-socket "@dde-test-kopar-$$"
par_pid=$bg
if wait_for "netd: interface net0: link up" 60 "$T/par.log" &&
	grep -q "Interrupt Throttling Rate (ints/sec) set to 5000" "$T/par.log"; then
	ok "a module parameter (ko:e1000,InterruptThrottleRate=5000) reaches the module"
else
	not_ok "a module parameter reaches the module" "$(tail -5 "$T/par.log")"
fi
# stopping the driver (SIGTERM, as dde run does) runs the module's exit:
# e1000_remove takes the interface down, and the driver ends with status 0
pkill -TERM -P $par_pid -f "drivers/ko-net" 2>/dev/null
if wait_for "driver ko:e1000.*exited with status 0" 20 "$T/par.log" &&
	grep -q "ksrv: e1000: exited" "$T/par.log" &&
	grep -q "netd: interface net0: link down" "$T/par.log"; then
	ok "SIGTERM runs the module's exit (the interface goes down), then the driver ends with status 0"
else
	not_ok "SIGTERM runs the module's exit" "$(grep -v '^\[' "$T/par.log" | tail -6)"
fi
dde_stop $par_pid
expect "a bad parameter value stops the driver with Linux's message" 1 \
	"invalid for parameter .debug" \
	"$DDE" run "${E[@]}" --nic e1000,net=none --driver ko:e1000,debug=abc@00:01.0
expect "an unknown parameter is named, with the ones the module has" 1 \
	"e1000 has no parameter .nosuch." \
	"$DDE" run "${E[@]}" --nic e1000,net=none --driver ko:e1000,nosuch=1@00:01.0

# a real protocol stack over the binary modules: DHCP from QEMU's user
# network and TCP from the host (tests/net/dhcp_fetch.sh); two modules
# back to back between two namespaces (tests/net/tap_pair.sh)
dhcp() {
	local nic=$1 drv=$2 mib=$3
	NIC=$nic DRIVER=$drv O=$O tests/net/dhcp_fetch.sh "$mib" >"$T/dhcp.out" 2>&1
	local rc=$?
	sed 's/^/    /' "$T/dhcp.out"
	if [ $rc = 77 ]; then
		skip "DHCP and TCP over $drv" "$(head -1 "$T/dhcp.out")"
	elif [ $rc = 0 ] && grep -q "^address: 10.0.2.15/24" "$T/dhcp.out" &&
		grep -q "^page: <html>" "$T/dhcp.out" && grep -q "^sha256: match" "$T/dhcp.out"; then
		ok "$drv: a DHCP lease (10.0.2.15), a page and $mib MiB over TCP from the host, intact"
	else
		not_ok "$drv: DHCP and TCP" "$(tail -8 "$T/dhcp.out")"
	fi
}
dhcp e1000 ko:e1000 10
dhcp rtl8139 ko:8139cp 10
dhcp ne2k_pci ko:ne2k-pci 1
dhcp pcnet ko:pcnet32 10
dhcp virtio-net ko:virtio_net 10
dhcp rtl8139,revision=0x10 ko:8139too 10
# tap_pair "NIC NIC" "DRIVER DRIVER" MIB WHAT: ping and MIB MiB over TCP
# between two namespaces through the two binary modules
tap_pair() {
	local rc
	NICS=$1 DRIVERS=$2 O=$O tests/net/tap_pair.sh "$3" >"$T/tap.out" 2>&1
	rc=$?
	sed 's/^/    /' "$T/tap.out"
	if [ $rc = 77 ]; then
		skip "TAP pair $4" "$(head -1 "$T/tap.out")"
	elif [ $rc = 0 ] && grep -q "^ping: 3 of 3 answered" "$T/tap.out" &&
		grep -q "^sha256: match" "$T/tap.out"; then
		ok "ping and $3 MiB over TCP cross binary $4 between two namespaces"
	else
		not_ok "TAP pair through binary $4" "$(tail -8 "$T/tap.out")"
	fi
}
tap_pair "e1000 rtl8139" "ko:e1000 ko:8139cp" 10 "e1000 and 8139cp"
# the other two: ne2k-pci (+8390) and 8139too (+mii), 1 MiB (ne2k is slow)
tap_pair "ne2k_pci rtl8139,revision=0x10" "ko:ne2k-pci ko:8139too" 1 "ne2k-pci and 8139too"
[ -z "$(ip netns list 2>/dev/null | grep dde-ns)" ] && ok "no namespace left behind" ||
	not_ok "no namespace left behind" "$(ip netns list)"

# --- bad modules -------------------------------------------------------------
# patch FILE OFFSET HEX...: overwrite bytes in place
patch() {
	local file=$1 off=$2 bytes="" b
	shift 2
	for b in "$@"; do bytes="$bytes\\x$b"; done
	printf "$bytes" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}
# func_offset FILE SYMBOL: where function SYMBOL's code is in the file
func_offset() {
	local file=$1 sym=$2 value ndx secoff
	read -r value ndx < <(readelf -sW "$file" | awk -v s="$sym" '$8 == s {print $2, $7; exit}')
	secoff=$(readelf -SW "$file" | sed 's/\[ */[/' |
		awk -v n="[$ndx]" '$1 == n {print $5; exit}')
	echo $((0x$value + 0x$secoff))
}
cp "$KO/e1000.ko" "$T/e1000.ko"
chmod u+w "$T/e1000.ko"

head -c 30000 "$T/e1000.ko" >"$T/truncated.ko"
expect "a truncated module: one clear line, status 1" 1 \
	"^ko-net: cannot load: .*truncated.ko: .*(truncated|beyond the end)" "$HOST" "${E[@]}" \
	"$T/truncated.ko"
cp "$T/e1000.ko" "$T/arm64.ko"
patch "$T/arm64.ko" 18 b7 00	# e_machine: EM_AARCH64
if [ "$ENGINE" = dbt ]; then
	expect "a module of another architecture is refused by the translated engine, saying why" 1 \
		"arm64.ko: a module for AArch64; the translated engine runs x86-64 modules against this library \\(another ISA needs a service library built from its kernel's headers\\)" \
		"$HOST" "${E[@]}" "$T/arm64.ko"
else
	expect "a module of another architecture is refused by the native engine" 1 \
		"arm64.ko: a module for AArch64; the native engine runs x86-64 modules" "$HOST" \
		"$T/arm64.ko"
fi
# an import the library does not have (a name changed in the string table)
cp "$T/e1000.ko" "$T/import.ko"
off=$(grep -obUa "pci_set_mwi" "$T/import.ko" | tail -1 | cut -d: -f1)
patch "$T/import.ko" $((off + 9)) 58	# pci_set_mXi
expect "a missing import is named" 1 "imports nobody provides: pci_set_mXi" "$HOST" "${E[@]}" \
	"$T/import.ko"
# --allow-stubs binds it to a stub instead: unused (QEMU's e1000 is no
# 82542), the module runs; used (e1000_probe's pci_request_selected_regions
# renamed), the driver stops naming the import and where the module used it
dde_bg "$T/stub.log" --allow-stubs --nic e1000,net=none --driver "ko:$T/import.ko@00:01.0" \
	--net-socket "@dde-test-kostub-$$"
stub_pid=$bg
if wait_for "netd: interface net0: link up" 60 "$T/stub.log" &&
	grep -q "1 import(s) nobody provides bound to stubs .*(--allow-stubs): pci_set_mXi" "$T/stub.log"; then
	ok "--allow-stubs: a missing import bound to a stub, said at load; unused, the module runs"
else
	not_ok "--allow-stubs binds a missing import" "$(grep -v '^\[' "$T/stub.log" | tail -5)"
fi
dde_stop $stub_pid
cp "$T/e1000.ko" "$T/stubcall.ko"
off=$(grep -obUa "pci_request_selected_regions" "$T/stubcall.ko" | tail -1 | cut -d: -f1)
patch "$T/stubcall.ko" $((off + 27)) 58	# pci_request_selected_regionX
expect "--allow-stubs: a stub the module calls stops the driver, naming the import and the caller" 1 \
	"the module used pci_request_selected_regionX, which nobody provides \(bound to a stub by --allow-stubs\), from e1000_probe\+0x[0-9a-f]+/0x[0-9a-f]+ \[e1000\]: the driver stops" \
	"$DDE" run "${E[@]}" --allow-stubs --nic e1000,net=none --driver "ko:$T/stubcall.ko@00:01.0"
# a CRC that differs from the library's (module_layout: struct module)
cp "$T/e1000.ko" "$T/crc.ko"
off=$(grep -obUa "module_layout" "$T/crc.ko" | head -1 | cut -d: -f1)
patch "$T/crc.ko" $((off - 8)) 00 00 00 00
expect "a CRC mismatch is refused, naming the symbol and both CRCs" 1 \
	"disagrees about the version of module_layout \(module 0x00000000, here 0x[0-9a-f]+\)" \
	"$HOST" "${E[@]}" "$T/crc.ko"
expect "an unknown engine is refused, naming the two" 2 "native.*dbt" \
	"$DDE" run --engine jit --nic e1000,net=none --driver ko:e1000@00:01.0
expect "a module that is not there is named" 2 "no binary module .*nosuch.ko" \
	"$DDE" run "${E[@]}" --nic e1000,net=none --driver ko:nosuch@00:01.0

# init fails: e1000's init_module made to return -ENODEV (push $-19; pop %rax;
# ret), after the 5-byte __fentry__ call every function starts with (the
# loader relocates it, then makes it a nop)
cp "$T/e1000.ko" "$T/initfail.ko"
patch "$T/initfail.ko" $(($(func_offset "$T/initfail.ko" init_module) + 5)) 6a ed 58 c3
# faults at run time: e1000's transmit reads address 0 (xor %eax,%eax; mov (%rax),%eax)
cp "$T/e1000.ko" "$T/fault.ko"
patch "$T/fault.ko" $(($(func_offset "$T/fault.ko" e1000_xmit_frame) + 5)) 31 c0 8b 00

# warn FUNC: a copy of e1000.ko whose FUNC starts with a WARN_ONCE: its
# first five bytes (the call to __fentry__, whose relocation becomes
# R_X86_64_NONE) become ud2 and a 3-byte nop, and the first __bug_table
# entry (its place's relocation addend, its flags) describes that ud2
sec_off() { readelf -SW "$1" | sed 's/\[ */[/' | awk -v n="$2" '$2 == n {print $5; exit}'; }
# reloc_index FILE SECTION OFFSET: which entry of relocation SECTION patches OFFSET
reloc_index() {
	readelf -rW "$1" | awk -v sec="$2" -v want="$(printf '%016x' "$3")" '
		/^Relocation section/ { p = index($0, "'"'"'" sec "'"'"'") > 0; n = -1; next }
		p && /^[0-9a-f]+ / { n++; if ($1 == want) { print n; exit } }'
}
le64() { local i; for ((i = 0; i < 8; i++)); do printf '%02x ' $((($1 >> (8 * i)) & 255)); done; }
warn() {
	local f="$T/warn.ko" value k
	cp "$T/e1000.ko" "$f"
	value=$((0x$(readelf -sW "$f" | awk -v s="$1" '$8 == s {print $2; exit}')))
	k=$(reloc_index "$f" .rela.text $((value + 1)))
	patch "$f" $((0x$(sec_off "$f" .rela.text) + 24 * k + 8)) 00 00 00 00
	patch "$f" "$(func_offset "$f" "$1")" 0f 0b 0f 1f 00
	k=$(reloc_index "$f" .rela__bug_table 0)
	# shellcheck disable=SC2046
	patch "$f" $((0x$(sec_off "$f" .rela__bug_table) + 24 * k + 16)) $(le64 "$value")
	patch "$f" $((0x$(sec_off "$f" __bug_table) + 10)) 03 00	# WARNING | ONCE
}
warn e1000_xmit_frame
# a fault inside the library, reached from module code: e1000's transmit
# made to call netif_carrier_off(NULL) (xor %edi,%edi; call: the __fentry__
# call's relocation moved by 3 and pointed at that import)
lib_fault() {
	local f="$T/libfault.ko" value k sym rt
	cp "$T/e1000.ko" "$f"
	value=$((0x$(readelf -sW "$f" | awk '$8 == "e1000_xmit_frame" {print $2; exit}')))
	sym=$(readelf -sW "$f" | awk '$7 == "UND" && $8 == "netif_carrier_off" {sub(":", "", $1); print $1; exit}')
	k=$(reloc_index "$f" .rela.text $((value + 1)))
	rt=$((0x$(sec_off "$f" .rela.text) + 24 * k))
	# shellcheck disable=SC2046
	patch "$f" $rt $(le64 $((value + 3)))
	# shellcheck disable=SC2046
	patch "$f" $((rt + 8)) $(le64 $(((sym << 32) | 4)))	# R_X86_64_PLT32
	patch "$f" "$(func_offset "$f" e1000_xmit_frame)" 31 ff e8 00 00 00 00
}
lib_fault

# One machine, three NICs: each bad module beside a good one (the binary
# e1000, with a WARN_ONCE on every transmit) that must keep serving frames
# through it all.
dde_bg "$T/bad.log" --nic "e1000,net=udp:$((base + 6)):$((base + 7))" --nic e1000,net=none \
	--nic e1000,net=none --driver "ko:$T/warn.ko@00:01.0" --driver "ko:$T/initfail.ko@00:02.0" \
	--driver "ko:$T/truncated.ko@00:03.0" --net-socket "@dde-test-kobad-$$"
bad_pid=$bg
wait_for "netd: interface net0: link up" 60 "$T/bad.log"
wait_for "driver ko:.*truncated.ko@00:03.0 exited with status 1" 10 "$T/bad.log"
grep -q "ksrv: e1000: init failed: -ENODEV" "$T/bad.log" &&
	grep -q "driver ko:.*initfail.ko@00:02.0 exited with status 1" "$T/bad.log" &&
	ok "a module whose init fails: its driver stops with the module and the error" ||
	not_ok "a module whose init fails" "$(grep -v '^\[' "$T/bad.log" | tail -8)"
grep -Eq "truncated.ko: .*(truncated|beyond the end)" "$T/bad.log" &&
	ok "a truncated module in a running machine: a clear error" ||
	not_ok "a truncated module in a running machine" "$(grep truncated "$T/bad.log")"
# frames_1000 NAME SOCKET IF: 1,000 frames each way through interface IF,
# whose NIC's netdev is udp:base+6:base+7, all intact
frames_1000() {
	DDE_NET=$2 "$FRAMES" --if "$3" --qemu-listen $((base + 6)) --qemu-peer $((base + 7)) \
		--count 1000 --window 32 >"$T/frames.out" 2>&1
	grep -q "^tx: 1000 frames .*0 lost, 0 bad" "$T/frames.out" &&
		grep -q "^rx: 1000 frames .*0 lost, 0 bad" "$T/frames.out" &&
		ok "$1" || not_ok "$1" "$(cat "$T/frames.out")"
}
frames_1000 "the good driver beside them keeps serving (1,000 frames each way)" \
	"@dde-test-kobad-$$" net0
[ "$(grep -c "WARNING: at .*e1000_main.c:[0-9]* e1000_xmit_frame+0x0/0x[0-9a-f]* \[e1000\] (the driver continues)" \
	"$T/bad.log")" = 1 ] &&
	ok "a WARN_ONCE on every transmit: logged once with file, line and function, the driver goes on" ||
	not_ok "a WARN is logged once and the driver goes on" "$(grep -i warn "$T/bad.log" | head -3)"
dde_stop $bad_pid

# the faulting module: its report, and the other driver (source-built
# 8139cp) and ddeio serve on
dde_bg "$T/fault.log" --nic "e1000,net=udp:$((base + 8)):$((base + 9))" \
	--nic "rtl8139,net=udp:$((base + 6)):$((base + 7))" \
	--nic "e1000,net=udp:$((base + 10)):$((base + 11))" \
	--driver "ko:$T/fault.ko@00:01.0" --driver 8139cp@00:02.0 \
	--driver "ko:$T/libfault.ko@00:03.0" --net-socket "@dde-test-kofault-$$"
fault_pid=$bg
wait_count "netd: interface net[012]: link up" 3 60 "$T/fault.log"
# a frame sent on a bad module's interface makes it transmit
DDE_NET=@dde-test-kofault-$$ timeout 20 "$FRAMES" --if net0 --qemu-listen $((base + 8)) \
	--qemu-peer $((base + 9)) --count 1 --window 1 >/dev/null 2>&1
DDE_NET=@dde-test-kofault-$$ timeout 20 "$FRAMES" --if net2 --qemu-listen $((base + 10)) \
	--qemu-peer $((base + 11)) --count 1 --window 1 >/dev/null 2>&1
if wait_for "killed by signal 11" 20 "$T/fault.log" &&
	grep -Eq "the module faulted: Segmentation fault at e1000_xmit_frame\+0x7/0x[0-9a-f]+ \[e1000\]" \
		"$T/fault.log"; then
	ok "a module that faults: the report names the module, the function and the offset"
else
	not_ok "a module that faults is reported" "$(grep -v '^\[' "$T/fault.log" | tail -8)"
fi
if wait_for "libfault.ko@00:03.0 was killed by signal 11" 20 "$T/fault.log" &&
	grep -Eq "the driver faulted in the library: Segmentation fault at netif_carrier_off\+0x[0-9a-f]+, touching address 0x[0-9a-f]+, called by the module from e1000_xmit_frame\+0x7/0x[0-9a-f]+ \[e1000\]" \
		"$T/fault.log"; then
	ok "a fault in the library reached from module code names the library function and the module's call"
else
	not_ok "a fault in the library is attributed" "$(grep -v '^\[' "$T/fault.log" | tail -8)"
fi
frames_1000 "ddeio and the other driver serve on (1,000 frames each way through 8139cp)" \
	"@dde-test-kofault-$$" net1
dde_stop $fault_pid

no_leftovers "no QEMU, ddeio or netd left behind"
finish
