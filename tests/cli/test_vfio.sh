#!/bin/bash
# The vfio platform backend (tests/vfio/run.sh, also `make check-vfio`): a
# QEMU guest with Debian's kernel and an IOMMU, its e1000 and NVMe bound to
# vfio-pci, the self-test driver and Linux's e1000 (DHCP) over ddeio --vfio.
# About half a minute with KVM.
. "$(dirname "$0")/lib.sh"

lx=${LX_DIR:-$(dirname "${DDE_KO_DIR:-$(make -s --no-print-directory O="$O" ko-dir 2>/dev/null)}")}
LX_DIR=$lx O=$O tests/vfio/run.sh >"$T/out" 2>&1
rc=$?
grep -v "^[0-9]* passed, [0-9]* failed" "$T/out"
if [ $rc = 77 ]; then
	skip "the vfio backend in a guest" "$(head -1 "$T/out")"
else
	# run.sh's own checks are counted here, one by one
	PASSED=$((PASSED + $(grep -c '^ok - ' "$T/out")))
	FAILED=$((FAILED + $(grep -c '^not ok - ' "$T/out")))
	[ $rc = 0 ] || grep -q '^not ok - ' "$T/out" || not_ok "the vfio guest test ran to its end" "exit $rc"
fi
finish
