#!/bin/bash
# make check-vfio: the vfio platform backend on PCI devices that are real to
# it. A QEMU guest runs Debian's own kernel (boot/vmlinuz of the
# linux-image package the build fetched) and an initramfs made here
# (busybox, the vfio modules of the same package, our programs and their
# libraries); the guest has QEMU's Intel IOMMU with interrupt remapping, an
# e1000 and an NVMe. Inside, guest/init binds both to vfio-pci and runs
#   1. ddeio --vfio for both and the self-test driver over it: a register
#      read, an interrupt (the NVMe's by MSI-X) and DMA on each (the NVMe's
#      first block, CRC32, compared here with the image's);
#   2. a driver that tells the NVMe to DMA past its region: the guest's
#      IOMMU blocks it (its DMAR fault), the read into the region works;
#   3. `dde run --vfio` with Linux's e1000 driver, netd's TAP export, and
#      the guest kernel's own DHCP client (busybox udhcpc) on it: QEMU's
#      lease 10.0.2.15 and a page fetched from this host (10.0.2.2).
# Exit 0 if all passed, 77 (skip) if this machine cannot run it.
set -u
O=${O:-build}
LX_DIR=${LX_DIR:?LX_DIR: the Linux package cache (make check-vfio sets it)}
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/dde-vfio-XXXXXX)
httpd=""
cleanup() {
	[ -n "$httpd" ] && kill "$httpd" 2>/dev/null && wait "$httpd" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/    /'; fail=$((fail + 1)); }

deb=$(ls "$LX_DIR"/debs/linux-image-*.deb 2>/dev/null | head -1)
mods=$(ls -d "$LX_DIR"/modules-tree/lib/modules/*/kernel 2>/dev/null | head -1)
if [ -z "$deb" ] || [ -z "$mods" ]; then
	echo "no linux-image package in $LX_DIR (make deps fetches it)"
	exit 77
fi

# --- the kernel and the initramfs ---
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$T" --wildcards './boot/vmlinuz-*' || exit 1
kernel=$(ls "$T"/boot/vmlinuz-* | head -1)
R=$T/root
mkdir -p "$R"/{bin,proc,sys,dev,tmp,lib/modules,dde/bin,dde/drivers,dde/tests,etc,www}
cp /usr/bin/busybox "$R/bin/busybox"
for m in virt/lib/irqbypass drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 \
	drivers/vfio/vfio_virqfd drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci \
	drivers/net/tun; do
	cp "$mods/$m.ko" "$R/lib/modules/" || exit 1
done
cp "$O"/bin/{dde,ddeio,netd} "$R/dde/bin/"
cp -a "$O"/drivers/{selftest,e1000,e1000.class,e1000.aliases} "$R/dde/drivers/"
cp -a "$O/share" "$R/dde/"
cp "$O"/tests/vfio/{mmio_cost,dma_escape} "$R/dde/tests/"
# the libraries they need, where the loader looks for them
for f in "$R"/bin/busybox "$R"/dde/bin/* "$R"/dde/drivers/selftest "$R"/dde/drivers/e1000 "$R"/dde/tests/*; do
	ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'
done | sort -u | while read -r lib; do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
[ -e "$R/lib64" ] || { mkdir -p "$R/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"; }
echo "root:x:0:0:root:/:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"
cp "$here/guest-init" "$R/init"
chmod +x "$R/init"
(cd "$R" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$T/initrd" || exit 1

# --- what the guest is checked against ---
head -c 4M /dev/urandom >"$T/disk.img"
# CRC32 of the first block: the one gzip keeps in its trailer (little-endian)
crc=0x$(head -c 512 "$T/disk.img" | gzip -c | tail -c 8 | head -c 4 | od -An -tx1 |
	awk '{ print $4 $3 $2 $1 }')
mkdir -p "$T/www"
echo "<html><body>Hello from the host of the vfio guest</body></html>" >"$T/www/index.html"
port=$((45000 + $$ % 1000))
busybox httpd -f -p "127.0.0.1:$port" -h "$T/www" &
httpd=$!

accel=tcg
[ -w /dev/kvm ] && accel=kvm
echo "guest: $(basename "$kernel"), accel $accel, initramfs $(($(stat -c %s "$T/initrd") / 1024)) KiB"
timeout 600 qemu-system-x86_64 -machine q35,accel=$accel,kernel-irqchip=split \
	-device intel-iommu,intremap=on -cpu max -smp 2 -m 1024 \
	-kernel "$kernel" -initrd "$T/initrd" \
	-append "console=ttyS0 intel_iommu=on panic=-1 quiet dde_port=$port" \
	-netdev user,id=n0 -device e1000,netdev=n0 \
	-drive if=none,id=d0,file="$T/disk.img",format=raw -device nvme,drive=d0,serial=vfio0 \
	-display none -serial stdio -monitor none -no-reboot -nodefaults >"$T/console" 2>&1
rc=$?
sed 's/^/    guest: /' "$T/console" | grep -E "VFIO-GUEST|ddeio|selftest|dde:|netd|error|not ok|DMAR" | head -60
[ $rc = 0 ] || not_ok "the guest ran to its end (QEMU exit $rc)" "$(tail -20 "$T/console")"

g() { grep -q "VFIO-GUEST: $1" "$T/console"; }
g "bound: .*0000:00:0[0-9].0 .*0000:00:0[0-9].0" && ok "in the guest, the e1000 and the NVMe are bound to vfio-pci" ||
	not_ok "both devices bound to vfio-pci" "$(grep VFIO-GUEST "$T/console")"
g "selftest rc=0" && grep -q "selftest: 2 devices passed, 0 failed" "$T/console" &&
	ok "the self-test driver passes on both devices through ddeio --vfio (register, interrupt, DMA)" ||
	not_ok "self-test over vfio" "$(grep -E 'selftest|ddeio|e1000|nvme' "$T/console" | tail -20)"
grep -q "nvme .*: interrupts by MSI-X" "$T/console" &&
	ok "the NVMe's interrupts are MSI-X vectors VFIO programs and signals, one eventfd each" ||
	not_ok "NVMe MSI-X over vfio" "$(grep -E 'nvme|MSI' "$T/console")"
grep -qi "nvme.*crc32 $crc\|crc32.*$crc" "$T/console" &&
	ok "the NVMe's first block came by DMA into the driver's region: CRC32 $crc, the image's" ||
	not_ok "the NVMe's first block (image CRC32 $crc)" "$(grep -i crc "$T/console")"
# the NVMe told to write past its driver's region: blocked by the guest's IOMMU
first4=$(od -An -tx1 -N4 "$T/disk.img" | tr -d ' \n')
out=$(sed -n 's/.*VFIO-GUEST: dma: own 0 \([0-9a-f]*\), outside \(0x[0-9a-f]*\) .*/\1 \2/p' "$T/console")
if [ "${out% *}" = "$first4" ] && [ -n "${out#* }" ] &&
	grep -qi "DMAR:.*fault addr 0x0*${out#* 0x}" "$T/console"; then
	ok "an NVMe told to DMA past its driver's region is blocked (the guest kernel's DMAR fault at ${out#* }); into its own region it works"
else
	not_ok "DMA outside the region blocked" "$(grep -E 'VFIO-GUEST: dma|DMAR' "$T/console" | head -5)"
fi
g "lease 10.0.2.15" && ok "Linux's e1000 driver over vfio: the guest's DHCP client gets QEMU's lease 10.0.2.15" ||
	not_ok "DHCP through e1000 over vfio" "$(grep -E 'VFIO-GUEST|netd|e1000' "$T/console" | tail -20)"
g "page: <html><body>Hello from the host of the vfio guest" &&
	ok "a page fetched over TCP from the host (10.0.2.2) through it" ||
	not_ok "a page fetched from the host" "$(grep -E 'VFIO-GUEST: (page|wget)' "$T/console")"
grep -q "VFIO-GUEST: mmio read mapped" "$T/console" && grep -q "VFIO-GUEST: mmio read trapped" "$T/console" &&
	ok "the e1000's BAR mapped straight into the driver, and trapped through ddeio when told (DDE_TRAP_BARS)" ||
	not_ok "BAR mapped and trapped" "$(grep 'mmio' "$T/console")"
# exactly one kill: the drivers that leave through ddekit_exit are left alone
g "leave-mapped rc=137" && [ "$(grep -c "left with its device's BAR still mapped: killed" "$T/console")" = 1 ] &&
	ok "a driver that drops its connection but keeps its BAR mapped is killed (and one that leaves cleanly is not)" ||
	not_ok "a driver leaving with its BAR mapped" "$(grep -E 'leave-mapped|killed|survived' "$T/console")"
# the figures (make bench prints them too)
sed -n 's/.*VFIO-GUEST: \(mmio read .*\)/figure: \1/p' "$T/console"
echo "$pass passed, $fail failed, 0 skipped"
[ $fail = 0 ]
