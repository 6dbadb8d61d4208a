#!/bin/bash
# Any device, any driver (docs/drivers.md): device models as data
# (--device), the driver index (dde drivers, dde lspci -k), dde run
# starting the index's choice for every device, binary modules in their
# class's driver host, the refusals, and make install.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"

KO_DIR=${DDE_KO_DIR:-$(make -s --no-print-directory O="$O" ko-dir 2>/dev/null)}

# --- the index ----------------------------------------------------------------
"$DDE" drivers --stats >"$T/stats" 2>&1
mods=$(sed -n 's/.* \([0-9]*\) binary modules.*/\1/p' "$T/stats")
have=$(find "$KO_DIR" -name '*.ko' | wc -l)
[ -n "$mods" ] && [ "$mods" = "$have" ] && [ "$have" -gt 3000 ] &&
	ok "the index knows every module of the package by name ($mods)" ||
	not_ok "the index knows every module" "index: $mods, package: $have: $(cat "$T/stats")"
aliases=$(sed -n 's/.*(\([0-9]*\) PCI and virtio aliases).*/\1/p' "$T/stats")
[ "${aliases:-0}" -gt 5000 ] && ok "... with their $aliases PCI aliases" ||
	not_ok "the index has the modules' PCI aliases" "$(cat "$T/stats")"

# a model the project has no source driver for: its binary module
expect "dde drivers e1000e: Debian's e1000e claims QEMU's 82574L, and dde run would start it" 0 \
	"\* binary ko:e1000e +net" "$DDE" drivers e1000e
expect "dde drivers pcnet: pcnet32" 0 "ko:pcnet32 +net" "$DDE" drivers pcnet
# a disk model: a scratch image, removed after
ls /tmp/dde-drivers-* >"$T/before" 2>/dev/null
expect "dde drivers nvme: the source driver first, then the module" 0 \
	"\* source nvme .*block.*binary ko:nvme" bash -c "\"$DDE\" drivers nvme | tr '\n' ' '"
ls /tmp/dde-drivers-* 2>/dev/null | diff -q - "$T/before" >/dev/null &&
	ok "dde drivers MODEL leaves no scratch image" || not_ok "dde drivers MODEL leaves no scratch image"
expect "dde drivers SLOT: the device at SLOT only" 0 "^00:02.0 .*\[8086:100e\]" \
	bash -c "\"$DDE\" drivers --nic rtl8139 --nic e1000 00:02.0 | head -1"
expect "dde drivers --prefer ko: the module is the choice" 0 "\* binary ko:e1000 " \
	"$DDE" drivers --prefer ko --nic e1000 00:01.0
expect "dde lspci -k: the candidate modules and dde run's choice" 0 \
	"Kernel modules: 8139cp, ko:8139cp, ko:8139too.*dde run starts: 8139cp" \
	bash -c "\"$DDE\" lspci -k --nic rtl8139 | tr '\n' ' '"
expect "dde drivers --models: the table" 0 "virtio-blk-pci +virtio-blk +disk +1af4:1001" \
	"$DDE" drivers --models
expect "--device passes properties to QEMU (virtio-net-pci, disable-legacy=on: the modern id)" 0 \
	"\[1af4:1041\]" "$DDE" lspci --device virtio-net-pci,disable-legacy=on,net=none
one_line "--device: a model QEMU lacks is one line" "$DDE" lspci --device nosuchnic
one_line "dde drivers: a bad --prefer" "$DDE" drivers --prefer kernel

# --- dde run starts the right driver for every device -------------------------
truncate -s 64M "$T/n.img" "$T/a.img" "$T/v.img"
dde_bg "$T/auto.log" --nic e1000,net=none --nic pcnet,net=none --nic virtio-net,net=none \
	--disk "nvme:$T/n.img" --disk "ahci:$T/a.img" --disk "virtio-blk:$T/v.img"
# QEMU places the disks' devices first, then the NICs
want="00:01.0 .*driver nvme|00:02.0 .*driver virtio_blk|00:03.0 .*driver e1000|00:04.0 .*driver pcnet32|00:05.0 .*driver virtio_net|00:1f.2 .*driver ahci"
wait_log "$T/auto.log" "bddf: sda: disk" 60
wait_log "$T/auto.log" "bddf: vda: disk" 60
wait_count "netd: interface net[0-2] attached" 3 60 "$T/auto.log"
n=$(grep -Ec "^dde: ($want)\$" "$T/auto.log")
[ "$n" = 6 ] && [ "$(grep -c "^dde: started driver" "$T/auto.log")" = 6 ] &&
	grep -q "bddf: nvme0n1: disk" "$T/auto.log" && grep -q "bddf: sda: disk" "$T/auto.log" &&
	grep -q "bddf: vda: disk" "$T/auto.log" &&
	[ "$(grep -c "netd: interface net[0-2] attached" "$T/auto.log")" = 3 ] &&
	ok "dde run with no --driver: e1000, pcnet, virtio-net, nvme, ahci, virtio-blk get six right drivers; three interfaces and three disks attach" ||
	not_ok "dde run starts the right drivers" "$(grep "^dde:\|netd: interface\|bddf: .*disk" "$T/auto.log")"
dde_stop "$bg"

# --prefer ko: Debian's binary e1000 in the net class's driver host; a
# per-slot --driver overrides the choice for its slot
dde_bg "$T/ko.log" --prefer ko --nic e1000,net=none --nic e1000,net=none --driver e1000@00:02.0
wait_count "netd: interface net[01] attached" 2 60 "$T/ko.log"
grep -q "^dde: 00:01.0 \[8086:100e\]: driver ko:e1000$" "$T/ko.log" &&
	grep -q "^dde: started driver ko:e1000@00:01.0" "$T/ko.log" &&
	grep -q "^dde: started driver e1000@00:02.0" "$T/ko.log" &&
	grep -q "netd: interface net0 attached" "$T/ko.log" &&
	ok "--prefer ko: the binary module drives the free NIC, --driver the other" ||
	not_ok "--prefer ko" "$(grep "^dde:\|netd: interface" "$T/ko.log")"
# dde lspci -k on the running machine: the driver in use, as lspci -k shows it
io=$(sed -n 's/^dde: I\/O server on \(@[^ ]*\) .*/\1/p' "$T/ko.log")
"$DDE" lspci -k --io "$io" >"$T/inuse" 2>&1
tr '\n' ' ' <"$T/inuse" | grep -q "\[8086:100e\].*Driver in use: ko:e1000@00:01.0 .*\[8086:100e\].*Driver in use: e1000@00:02.0 .*ISA bridge.*Driver in use: none" &&
	ok "dde lspci -k --io: the driver in use of each device of a running dde run" ||
	not_ok "dde lspci -k --io" "$(cat "$T/inuse")"
DDE_IO=$io "$DDE" drivers 00:01.0 >"$T/inuse1" 2>&1
grep -q "Driver in use: ko:e1000@00:01.0" "$T/inuse1" && [ "$(grep -c '^00:' "$T/inuse1")" = 1 ] &&
	ok "dde drivers SLOT with DDE_IO: that device of the running machine, its driver in use" ||
	not_ok "dde drivers SLOT with DDE_IO" "$(cat "$T/inuse1")"
one_line "dde lspci --io with machine options is one line" "$DDE" lspci --io "$io" --nic e1000
dde_stop "$bg"

# --prefer ko on disks: Debian's nvme.ko in the block host; virtio_blk.ko,
# reached through virtio_pci's virtio id (the index follows it)
dde_bg "$T/nohost.log" --prefer ko --disk "virtio-blk:$T/v.img" --disk "nvme:$T/n.img" \
	--nic e1000,net=none
wait_log "$T/nohost.log" "netd: interface net0 attached" 60
wait_log "$T/nohost.log" "bddf: nvme0n1: disk" 60
wait_log "$T/nohost.log" "bddf: vda: disk" 60
grep -q "^dde: 00:01.0 \[1af4:1042\]: driver ko:virtio_blk$" "$T/nohost.log" &&
	grep -q "^dde: 00:02.0 \[1b36:0010\]: driver ko:nvme$" "$T/nohost.log" &&
	grep -q "^dde: 00:03.0 \[8086:100e\]: driver ko:e1000$" "$T/nohost.log" &&
	grep -q "bddf: nvme0n1: disk of ko:nvme@00:02.0" "$T/nohost.log" &&
	ok "--prefer ko: Debian's nvme, virtio_blk (through virtio_pci) and e1000 serve" ||
	not_ok "--prefer ko on disks and the fallback" "$(grep "^dde:\|bddf: .*disk" "$T/nohost.log")"
dde_stop "$bg"

# --- refusals, each one clear line --------------------------------------------
one_line "--driver ko:MODULE that the package lacks" "$DDE" run --nic e1000 --driver ko:nosuch@00:01.0
one_line "--driver ko:MODULE of no class dde serves" "$DDE" run --driver ko:lpc_ich@00:1f.0
one_line "--driver ko:MODULE of a class without a driver host (input: HID drivers run in a USB host)" "$DDE" run --driver ko:hid-generic@00:1f.0
expect "--driver NAME@SLOT whose PCI ids do not take the device there" 2 \
	"e1000 claims no device like the one at 00:01.0 \[1b36:0010\]" \
	"$DDE" run --disk "nvme:$T/n.img" --driver e1000@00:01.0
# a module whose dependency is missing: its driver host names it
mkdir -p "$T/ko"
cp "$KO_DIR/8139cp.ko" "$T/ko/"
DDE_KO_DIR="$T/ko" "$DDE" run --manual --nic rtl8139,net=none --driver ko:8139cp@00:01.0 >"$T/dep.log" 2>&1
grep -Eq "mii.*(not found|No such file)" "$T/dep.log" && grep -q "exited with status" "$T/dep.log" &&
	ok "a module whose dependency is missing: the host names it and stops" ||
	not_ok "a module whose dependency is missing" "$(grep -v "^\[" "$T/dep.log" | head -8)"

# --- make install: dde from PATH, outside the checkout ------------------------
if make -s --no-print-directory O="$O" install DESTDIR="$T/inst" PREFIX=/usr >"$T/inst.out" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr"
	[ -f "$T/inst/usr/lib/dde/alsa/libasound_module_pcm_dde.so" ] &&
		[ -f "$T/inst/usr/lib/dde/alsa/libasound_module_ctl_dde.so" ] &&
		grep -q 'lib "/usr/lib/dde/alsa/libasound_module_pcm_dde.so"' \
			"$T/inst/etc/alsa/conf.d/60-dde.conf" &&
		grep -q 'lib "/usr/lib/dde/alsa/libasound_module_ctl_dde.so"' \
			"$T/inst/etc/alsa/conf.d/60-dde.conf" &&
		ok "make install: the ALSA plugins (PCM, mixer) and their conf.d file naming them" ||
		not_ok "make install: the ALSA plugin" "$(ls -R "$T/inst/etc" 2>&1 | head -5)"
	(cd / && PATH="$T/inst/usr/bin:$PATH" dde run --nic e1000,net=none >"$T/inst.log" 2>&1) &
	ipid=$!
	BG_PIDS="$BG_PIDS $ipid"
	wait_log "$T/inst.log" "netd: interface net0 attached" 60 &&
		grep -q "driver e1000$" "$T/inst.log" &&
		ok "the installed dde (from PATH, cwd /) starts its e1000 driver" ||
		not_ok "the installed dde runs" "$(grep -v "^\[" "$T/inst.log" | head -8)"
	pkill -INT -f "$T/inst/usr/lib/dde/bin/dde" 2>/dev/null
	wait "$ipid" 2>/dev/null
else
	not_ok "make install" "$(tail -5 "$T/inst.out")"
fi

no_leftovers "no QEMU, ddeio or drivers left"
finish
