#!/bin/bash
# Binary modules: `dde ko info` on Debian's own .ko files (fetched by the
# build from linux-image-ABI-FLAVOUR, never installed), and bad modules:
# truncated, corrupted, another architecture, not ELF at all.
. "$(dirname "$0")/lib.sh"

KO=$(make -s --no-print-directory O="$O" ko-dir 2>/dev/null)
if [ ! -f "$KO/e1000.ko" ]; then
	not_ok "Debian's modules are in the cache" "no $KO/e1000.ko (make fetches them)"
	finish
	exit
fi

# info NAME FILE PATTERN...: `dde ko info FILE` succeeds and prints every PATTERN
info() {
	local name=$1 file=$2 p miss=""
	shift 2
	"$DDE" ko info "$file" >"$T/info" 2>&1 || miss="exit status $?"
	for p in "$@"; do grep -Eq -- "$p" "$T/info" || miss="$miss /$p/"; done
	[ -z "$miss" ] && ok "$name" || not_ok "$name" "missing:$miss; $(head -c 600 "$T/info")"
}

info "e1000.ko: name, version magic of the pinned kernel, no dependencies" "$KO/e1000.ko" \
	"^module: +e1000 - Intel\(R\) PRO/1000" \
	"^vermagic: +6.1.0-50-amd64 SMP .*modversions +\(the service library's kernel\)" \
	"^depends: +none" "x86-64, signed"
info "e1000.ko: parameters and the 37 PCI ids it claims (QEMU's 8086:100e among them)" "$KO/e1000.ko" \
	"InterruptThrottleRate \(array of int\): Interrupt Throttling Rate" \
	"^devices: +37 PCI ids:.* 8086:100e"
info "e1000.ko: 154 imports; every CRC that can be checked matches the library's" "$KO/e1000.ko" \
	"^imports: +154: " "^modversions: .*: [0-9]+ match, 0 differ"
info "e1000.ko: each section with what the loader does with it" "$KO/e1000.ko" \
	"^ +\.gnu\.linkonce\.this_module +896 +struct module" \
	"^ +__bug_table .*a WARN logs and continues, a BUG stops" \
	"^ +__versions .*checked" "^ +\.smp_locks .*ignored"
info "8139too.ko: needs mii, found beside it, whose exports serve 6 imports" "$KO/8139too.ko" \
	"^depends: +mii \(mii.ko found beside it: 10 exports\)" \
	"^imports: +90: .*, 6 from dependencies" "^devices: +24 PCI ids:.* 10ec:8139"
info "ne2k-pci.ko: needs 8390; every import is provided" "$KO/ne2k-pci.ko" \
	"^depends: +8390 \(8390.ko found beside it" "^imports: +42: .*, 0 MISSING" \
	"^modversions: .*, 0 differ, 0 not checked"
info "mii.ko: its own exports, for the modules after it" "$KO/mii.ko" \
	"^exports: +10 .*mii_link_ok"
"$DDE" ko info -v "$KO/e1000.ko" >"$T/v" 2>&1
grep -Eq "^ +kmalloc_trace +service library +crc ok" "$T/v" && grep -q "\.rela\.text .*applied" "$T/v" &&
	ok "-v lists every import and the relocation sections" ||
	not_ok "-v lists every import" "$(head -c 400 "$T/v")"

# bad modules: one clear line, status 1
cp "$KO/e1000.ko" "$T/e1000.ko"
chmod u+w "$T/e1000.ko"
head -c 5000 "$T/e1000.ko" >"$T/truncated.ko"
expect "a truncated module is refused with a clear error" 1 \
	"truncated.ko: section headers beyond the end of the file \(truncated\?\)" \
	"$DDE" ko info "$T/truncated.ko"
# corrupted: the .text section (3) claims 2 GiB
cp "$T/e1000.ko" "$T/corrupt.ko"
shoff=$(od -An -t u8 -j 40 -N 8 "$T/corrupt.ko" | tr -d ' ')
printf '\x00\x00\x00\x80\x00\x00\x00\x00' |
	dd of="$T/corrupt.ko" bs=1 seek=$((shoff + 3 * 64 + 32)) conv=notrunc status=none
expect "a corrupted section header is refused with a clear error" 1 \
	"corrupt.ko: section 3: [0-9]+ bytes at [0-9]+, beyond the end of the file" \
	"$DDE" ko info "$T/corrupt.ko"
# another architecture: e_machine 183 (AArch64)
cp "$T/e1000.ko" "$T/arm64.ko"
printf '\xb7\x00' | dd of="$T/arm64.ko" bs=1 seek=18 conv=notrunc status=none
info "a module of another architecture is described, its imports not resolved" "$T/arm64.ko" \
	"AArch64" "^imports: +not resolved: a module for AArch64; this host runs x86-64 modules"
echo "not a module" >"$T/text.ko"
expect "a file that is not ELF is refused" 1 "text.ko: not an ELF file" "$DDE" ko info "$T/text.ko"
expect "a missing file is named" 1 "nosuch.ko: No such file or directory" "$DDE" ko info "$T/nosuch.ko"
expect "ko info without a file is a usage error" 2 "give one module file" "$DDE" ko info
finish
