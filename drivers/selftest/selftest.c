/*
 * selftest — the platform's self-test driver. For every device granted to
 * it, it proves the three paths a real driver needs, using the testdev
 * drivers: a register read, one interrupt, one DMA transfer. Disk reads
 * print the CRC32 (zlib's) of the first 512 bytes, to be compared with
 * the image file:
 *   python3 -c 'import zlib; print(hex(zlib.crc32(open("IMG","rb").read(512))))'
 * Exit status 0 only if every recognised device passed.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "testdev.h"
#include "testdev_util.h"

#define CLASS_AHCI	0x010601

/* Bitwise CRC-32 (IEEE 802.3, reflected, as zlib): speed does not matter. */
static uint32_t crc32(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffff;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320 & -(crc & 1));
	}
	return ~crc;
}

static int test_e1000(unsigned dev, const char *slot)
{
	struct testdev_e1000 *e;
	uint8_t mac[6], frame[60];
	uint64_t latency_ns = 0;
	uint32_t status = 0;
	int err;

	err = testdev_e1000_open(dev, &e);
	if (err)
		return err;
	err = testdev_e1000_eeprom_mac(e, mac);
	if (!err)
		err = testdev_e1000_wait_link(e, 3000);
	if (!err)
		err = testdev_e1000_status(e, &status);
	if (err)
		goto out;
	ddekit_log(DDEKIT_LOG_INFO,
		   "e1000 %s: STATUS 0x%08x, link up, MAC %02x:%02x:%02x:%02x:%02x:%02x (EEPROM)",
		   slot, status, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);

	err = testdev_e1000_irq_selftest(e, &latency_ns);
	if (err)
		goto out;
	ddekit_log(DDEKIT_LOG_INFO,
		   "e1000 %s: interrupt OK (ICS self-test, latency %llu us)",
		   slot, (unsigned long long)(latency_ns / 1000));

	/* Broadcast, from us, local experimental EtherType 0x88b5. */
	memset(frame, 0, sizeof(frame));
	memset(frame, 0xff, 6);
	memcpy(frame + 6, mac, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	memcpy(frame + 14, "dde selftest", 12);
	err = testdev_e1000_send(e, frame, sizeof(frame));
	if (err)
		goto out;
	ddekit_log(DDEKIT_LOG_INFO,
		   "e1000 %s: DMA OK (60-byte broadcast frame sent, descriptor done)",
		   slot);
out:
	testdev_e1000_close(e);
	return err;
}

/*
 * Judge a disk read of sector 0 into @buf: it must have completed, and
 * interrupts must have been seen (the testdev drivers wait for them).
 */
static int report_read(const char *kind, const char *slot, const char *what,
		       int err, unsigned long irqs, const void *buf)
{
	if (err)
		return err;
	if (!irqs) {
		ddekit_log(DDEKIT_LOG_ERROR,
			   "%s %s: %s completed, but no interrupt was seen",
			   kind, slot, what);
		return -EIO;
	}
	ddekit_log(DDEKIT_LOG_INFO,
		   "%s %s: DMA OK (%s), crc32 of first 512 bytes 0x%08x; interrupts OK (%lu)",
		   kind, slot, what, crc32(buf, 512), irqs);
	return 0;
}

static int test_nvme(unsigned dev, const char *slot, void *buf)
{
	struct testdev_nvme *n;
	uint64_t cap = 0, blocks = 0;
	uint32_t vs = 0, bs = 0;
	char model[41];
	int err;

	/* MSI-X where the machine delivers it (a vector per queue), else INTx */
	const char *irq = "MSI-X";

	err = testdev_nvme_open_msix(dev, &n);
	if (err == -EOPNOTSUPP || err == -ENODEV || err == -ENOSPC) {
		irq = "INTx";
		err = testdev_nvme_open(dev, &n);
	}
	if (err)
		return err;
	ddekit_log(DDEKIT_LOG_INFO, "nvme %s: interrupts by %s", slot, irq);
	testdev_nvme_regs(n, &cap, &vs);
	testdev_nvme_info(n, &blocks, &bs, model);
	ddekit_log(DDEKIT_LOG_INFO,
		   "nvme %s: CAP 0x%016llx, VS %u.%u.%u, model \"%s\", %llu blocks of %u bytes (%llu MiB)",
		   slot, (unsigned long long)cap, vs >> 16, (vs >> 8) & 0xff,
		   vs & 0xff, model, (unsigned long long)blocks, bs,
		   (unsigned long long)(blocks * bs >> 20));

	err = testdev_nvme_read(n, 0, 1, buf);
	err = report_read("nvme", slot, "read LBA 0", err,
			  testdev_nvme_irq_count(n), buf);
	testdev_nvme_close(n);
	return err;
}

static int test_ahci(unsigned dev, const char *slot, void *buf)
{
	struct testdev_ahci *a;
	uint32_t cap = 0, vs = 0;
	uint64_t sectors = 0;
	unsigned port = 0;
	char model[41];
	int err;

	err = testdev_ahci_open(dev, &a);
	if (err)
		return err;
	testdev_ahci_regs(a, &cap, &vs, &port);
	ddekit_log(DDEKIT_LOG_INFO, "ahci %s: CAP 0x%08x, VS %u.%u, disk on port %u",
		   slot, cap, vs >> 16, vs & 0xffff, port);
	err = testdev_ahci_identify(a, &sectors, model);
	if (err)
		goto out;
	ddekit_log(DDEKIT_LOG_INFO,
		   "ahci %s: IDENTIFY: model \"%s\", %llu sectors (%llu MiB)",
		   slot, model, (unsigned long long)sectors,
		   (unsigned long long)(sectors >> 11));

	err = testdev_ahci_read(a, 0, 1, buf);
	err = report_read("ahci", slot, "READ DMA EXT of sector 0", err,
			  testdev_ahci_irq_count(a), buf);
out:
	testdev_ahci_close(a);
	return err;
}

int main(void)
{
	unsigned i, count, passed = 0, failed = 0;
	uint64_t bus;
	void *buf;
	int err;

	err = ddekit_init("selftest");
	if (err)
		return 1;
	/* One block for the disk reads; NVMe blocks are at most 4 KiB here. */
	buf = ddekit_dma_alloc(4096, 4096, &bus);
	if (!buf) {
		ddekit_log(DDEKIT_LOG_ERROR, "selftest: out of DMA memory");
		ddekit_exit();
		return 1;
	}

	count = ddekit_pci_count();
	for (i = 0; i < count; i++) {
		const struct ddekit_pci_dev *d = ddekit_pci_device(i);
		char slot[16];

		if (!d)
			continue;
		testdev_slot(i, slot);
		/* Stale data must not pass for a read that wrote nothing. */
		memset(buf, 0, 4096);
		if (d->vendor == 0x8086 && d->device == 0x100e) {
			err = test_e1000(i, slot);
		} else if (d->vendor == 0x1b36 && d->device == 0x0010) {
			err = test_nvme(i, slot, buf);
		} else if (d->class_code == CLASS_AHCI) {
			err = test_ahci(i, slot, buf);
		} else {
			ddekit_log(DDEKIT_LOG_INFO,
				   "%s: no self-test for %04x:%04x", slot,
				   d->vendor, d->device);
			continue;
		}
		if (err) {
			ddekit_log(DDEKIT_LOG_ERROR, "%s: self-test FAILED: %s",
				   slot, strerror(-err));
			failed++;
		} else {
			ddekit_log(DDEKIT_LOG_INFO, "%s: self-test passed", slot);
			passed++;
		}
	}
	ddekit_log(DDEKIT_LOG_INFO, "selftest: %u devices passed, %u failed",
		   passed, failed);
	ddekit_dma_free(buf);
	ddekit_exit();
	return failed ? 1 : 0;
}
