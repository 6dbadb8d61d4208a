#!/bin/bash
# Debian's binary block drivers in the block class's driver host
# (build/drivers/ko-block): nvme.ko with nvme-core, ahci.ko and ata_piix.ko
# with libata, scsi_mod and sd_mod, virtio_blk.ko with virtio_pci, chosen
# by dde run --prefer ko, pass
# the block tests the source drivers pass (test_block.sh on two NVMe
# controllers: listings, reads, writes, bounds, kill -9; test_block_ata.sh
# on AHCI and PIIX IDE; test_block_virtio.sh), natively and on the translated
# engine. (AHCI there is also the test of Linux tasks switching in the
# middle of translated code: a port's probe waits in module code while
# libata's error handler, in another task, sleeps in module code too.)
. "$(dirname "$0")/lib.sh"

for engine in native dbt; do
	kinds="ahci ide"
	for t in "KO=1 test_block.sh" "KO=1 test_block_ata.sh" "KO=1 test_block_virtio.sh"; do
		set -- $t
		env "$1" ENGINE=$engine ATA_KINDS="$kinds" O="$O" bash "$(dirname "$0")/$2" >"$T/out" 2>&1
		rc=$?
		line=$(tail -1 "$T/out")
		if [ $rc = 0 ] && [[ "$line" =~ ^[0-9]+\ passed,\ 0\ failed ]]; then
			ok "$2 on the binary modules ($engine engine, ATA: $kinds): $line"
		else
			not_ok "$2 with $1 ($engine engine)" "$(grep -v '^ok' "$T/out" | head -20)"
		fi
	done
done
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
