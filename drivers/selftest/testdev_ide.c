/*
 * testdev_ide — a minimal driver for the primary channel of QEMU's PIIX
 * IDE (piix3-ide, piix4-ide: what Linux's ata_piix drives), written only
 * against ddekit, for the benchmarks: reads by bus master DMA, the
 * cheapest way the model moves sectors. An IDE channel takes one command
 * at a time, so each costs its register writes (posted, sent to QEMU in
 * one batch by ddeio, but each still a qtest command QEMU parses) and
 * the status reads that wait for its end (round trips); no interrupts
 * (nIEN). See testdev.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "testdev.h"
#include "testdev_util.h"

/* Compatibility mode: the primary channel's fixed ports, as on a PC. */
enum {
	ATA_DATA = 0x1f0,
	ATA_ERROR = 0x1f1,
	ATA_COUNT = 0x1f2,
	ATA_LBA_LO = 0x1f3,
	ATA_LBA_MID = 0x1f4,
	ATA_LBA_HI = 0x1f5,
	ATA_DEVICE = 0x1f6,
	ATA_STATUS = 0x1f7,	/* read; written: command */
	ATA_DEVCTL = 0x3f6,	/* written; read: alternate status */
	/* Bus master registers of the primary channel, in BAR4. */
	BM_CMD = 0x0,
	BM_STATUS = 0x2,
	BM_PRDT = 0x4,
};

#define ST_ERR		0x01
#define ST_DRQ		0x08
#define ST_DF		0x20
#define ST_BSY		0x80
#define DEVCTL_NIEN	0x02
#define DEVCTL_SRST	0x04
#define DEV_LBA		0x40	/* master, LBA addressing */
#define BMCMD_START	0x01
#define BMCMD_TO_MEM	0x08	/* the device reads: the bus master writes memory */
#define BMST_ACTIVE	0x01
#define BMST_ERROR	0x02
#define BMST_INTR	0x04
#define PRD_EOT		(1u << 31)

#define ATA_IDENTIFY	0xec
#define ATA_READ_DMA	0xc8
#define ATA_READ_DMA_EXT 0x25

#define SECTOR		512u
#define PAGE		4096u
#define MAX_CHUNK	(256u * 1024)
#define PRD_LIMIT	0x10000u	/* bytes per entry, and no entry crosses it */
#define CMD_TIMEOUT_NS	10000000000ull

struct ide_prd {
	uint32_t addr;
	uint32_t count;		/* bytes in 15:0 (0: 64 KiB), PRD_EOT on the last */
};

struct testdev_ide {
	struct testdev_base b;
	uint16_t bm;			/* BAR4: the primary channel's part */
	uint64_t sectors;		/* 0 until IDENTIFY ran */
	uint16_t *ident;
	testdev_stream_fn *sink;
	void *sink_arg;
};

static void out8(uint16_t port, uint8_t v)
{
	ddekit_pio_write(port, 1, v);
}

static int in8(uint16_t port, uint8_t *v)
{
	uint32_t x = 0;
	int err = ddekit_pio_read(port, 1, &x);

	*v = (uint8_t)x;
	return err;
}

/*
 * Read the status until BSY and DRQ are clear (a command's end) or
 * @timeout_ns passes. Each read is a round trip to QEMU, long enough to
 * be the wait itself: no sleep between them. 0, -ETIMEDOUT or the read's
 * error; *@st the last status.
 */
static int ide_wait(struct testdev_ide *d, uint8_t busy, uint64_t timeout_ns,
		    uint8_t *st)
{
	uint64_t deadline = ddekit_clock_ns() + timeout_ns;
	int err;

	for (;;) {
		err = in8(ATA_STATUS, st);
		if (err) {
			testdev_err(&d->b, "status read failed: %s",
				    ddekit_last_error());
			return err;
		}
		if (!(*st & busy))
			return 0;
		if (ddekit_clock_ns() > deadline)
			return -ETIMEDOUT;
	}
}

int testdev_ide_open(unsigned dev, struct testdev_ide **out)
{
	const struct ddekit_pci_dev *p = ddekit_pci_device(dev);
	struct testdev_ide *d;
	uint8_t st = 0;
	int err;

	*out = NULL;
	d = ddekit_mem_alloc(sizeof(*d));
	if (!d) {
		ddekit_log(DDEKIT_LOG_ERROR, "ide dev%u: out of memory", dev);
		return -ENOMEM;
	}
	memset(d, 0, sizeof(*d));
	d->b.dev = dev;
	d->b.kind = "ide";
	testdev_slot(dev, d->b.slot);
	d->b.irq = DDEKIT_IRQ_NONE;
	/* prog-if bit 0: the primary channel in native mode (ports in BAR0/1) */
	if (!p || p->class_code >> 8 != 0x0101 || (p->class_code & 0x01) ||
	    p->bar[4].kind != DDEKIT_BAR_IO || p->bar[4].size < 8) {
		testdev_err(&d->b, "not an IDE controller with a compatibility-mode primary channel and bus master registers in BAR4 (class 0x%06x)",
			    p ? p->class_code : 0);
		err = -ENODEV;
		goto err_free;
	}
	d->bm = (uint16_t)p->bar[4].addr;
	d->ident = ddekit_mem_alloc(SECTOR);
	if (!d->ident) {
		testdev_err(&d->b, "out of memory");
		err = -ENOMEM;
		goto err_free;
	}

	/* Stop a DMA a previous driver left, forget its status bits. */
	out8(d->bm + BM_CMD, 0);
	out8(d->bm + BM_STATUS, BMST_ERROR | BMST_INTR);
	testdev_bus_master(dev);
	/* Software reset of the channel; nIEN stays set after it. */
	out8(ATA_DEVCTL, DEVCTL_SRST | DEVCTL_NIEN);
	ddekit_thread_sleep_us(10);
	out8(ATA_DEVCTL, DEVCTL_NIEN);
	ddekit_thread_sleep_us(2000);
	out8(ATA_DEVICE, DEV_LBA);
	err = ide_wait(d, ST_BSY, 1000000000ull, &st);
	if (err == -ETIMEDOUT)
		testdev_err(&d->b, "the primary master stays busy after a reset (status 0x%02x)",
			    st);
	if (err)
		goto err_free;
	*out = d;
	return 0;

err_free:
	testdev_ide_close(d);
	return err;
}

void testdev_ide_close(struct testdev_ide *d)
{
	if (!d)
		return;
	if (d->bm)
		out8(d->bm + BM_CMD, 0);
	ddekit_mem_free(d->ident);
	ddekit_mem_free(d);
}

int testdev_ide_identify(struct testdev_ide *d, uint64_t *sectors,
			 char model[41])
{
	uint8_t st = 0;
	int err;

	out8(ATA_DEVICE, DEV_LBA);
	out8(ATA_STATUS, ATA_IDENTIFY);
	err = ide_wait(d, ST_BSY, CMD_TIMEOUT_NS, &st);
	if (!err && (st & (ST_ERR | ST_DRQ)) != ST_DRQ) {
		/* QEMU reads 0 from the status of a channel without disks */
		testdev_err(&d->b, "IDENTIFY DEVICE failed (status 0x%02x): no disk on the primary master? Attach one with --machine pc --disk ide:FILE",
			    st);
		err = -ENODEV;
	}
	if (!err)
		err = ddekit_pio_read_rep(ATA_DATA, 2, d->ident, SECTOR / 2);
	if (!err)
		err = ide_wait(d, ST_BSY | ST_DRQ, CMD_TIMEOUT_NS, &st);
	if (err) {
		if (err != -ENODEV)
			testdev_err(&d->b, "IDENTIFY DEVICE: %s (status 0x%02x)",
				    strerror(-err), st);
		return err;
	}
	testdev_ata_identity(d->ident, sectors, model);
	d->sectors = *sectors;
	return 0;
}

void testdev_ide_stream_check(struct testdev_ide *d, testdev_stream_fn *fn,
			      void *arg)
{
	d->sink = fn;
	d->sink_arg = arg;
}

/*
 * The PRD table for @bytes at bus address @bus: entries of at most 64 KiB
 * that cross no 64 KiB boundary (the PCI IDE bus master's rule). Returns
 * the number of entries.
 */
static unsigned ide_prds(struct ide_prd *prd, uint64_t bus, uint32_t bytes)
{
	unsigned n = 0;

	while (bytes) {
		uint32_t len = PRD_LIMIT - (uint32_t)(bus & (PRD_LIMIT - 1));

		if (len > bytes)
			len = bytes;
		prd[n].addr = (uint32_t)bus;
		prd[n].count = len & 0xffff;	/* 64 KiB is written 0 */
		n++;
		bus += len;
		bytes -= len;
	}
	prd[n - 1].count |= PRD_EOT;
	return n;
}

/*
 * A read's registers and command, posted. Every write costs QEMU a qtest
 * command, so the fewest there are: READ DMA (28-bit LBA, at most 256
 * sectors) where the read fits, as libata chooses too, six writes; else
 * READ DMA EXT, its LBA and count registers written twice (the high
 * bytes first), ten.
 */
static void ide_read_cmd(uint64_t lba, uint32_t count)
{
	if (lba + count < (1u << 28) && count <= 256) {
		out8(ATA_COUNT, (uint8_t)count);	/* 256 is written 0 */
		out8(ATA_LBA_LO, (uint8_t)lba);
		out8(ATA_LBA_MID, (uint8_t)(lba >> 8));
		out8(ATA_LBA_HI, (uint8_t)(lba >> 16));
		out8(ATA_DEVICE, DEV_LBA | (uint8_t)((lba >> 24) & 0x0f));
		out8(ATA_STATUS, ATA_READ_DMA);
		return;
	}
	out8(ATA_COUNT, (uint8_t)(count >> 8));
	out8(ATA_LBA_LO, (uint8_t)(lba >> 24));
	out8(ATA_LBA_MID, (uint8_t)(lba >> 32));
	out8(ATA_LBA_HI, (uint8_t)(lba >> 40));
	out8(ATA_COUNT, (uint8_t)count);
	out8(ATA_LBA_LO, (uint8_t)lba);
	out8(ATA_LBA_MID, (uint8_t)(lba >> 8));
	out8(ATA_LBA_HI, (uint8_t)(lba >> 16));
	out8(ATA_DEVICE, DEV_LBA);
	out8(ATA_STATUS, ATA_READ_DMA_EXT);
}

int testdev_ide_read_stream(struct testdev_ide *d, uint64_t total,
			    uint32_t chunk)
{
	uint32_t nsect = chunk / SECTOR;
	uint64_t buf_bus, prd_bus, lba = 0, done;
	struct ide_prd *prd;
	uint8_t *buf, st = 0, bmst = 0, error = 0;
	uint64_t sectors;
	char model[41];
	int err = 0;

	if (!d->sectors) {
		err = testdev_ide_identify(d, &sectors, model);
		if (err)
			return err;
	}
	if (chunk < PAGE || chunk > MAX_CHUNK || chunk % PAGE ||
	    nsect > d->sectors) {
		testdev_err(&d->b, "bad stream (chunk %u, 4 KiB..%u KiB)", chunk,
			    MAX_CHUNK / 1024);
		return -EINVAL;
	}
	buf = ddekit_dma_alloc(chunk, PAGE, &buf_bus);
	prd = ddekit_dma_alloc(PAGE, PAGE, &prd_bus);	/* no table crosses 64 KiB */
	if (!buf || !prd) {
		testdev_err(&d->b, "out of DMA memory for a %u-byte buffer", chunk);
		err = -ENOMEM;
		goto out;
	}
	if (buf_bus + chunk > 1ull << 32 || prd_bus + PAGE > 1ull << 32) {
		testdev_err(&d->b, "DMA memory at bus 0x%llx is above 4 GiB: the IDE bus master addresses 32 bits",
			    (unsigned long long)buf_bus);
		err = -ENOMEM;
		goto out;
	}
	/* One buffer serves all commands: its table is written once. */
	ide_prds(prd, buf_bus, chunk);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ddekit_pio_write(d->bm + BM_PRDT, 4, (uint32_t)prd_bus);
	out8(d->bm + BM_STATUS, BMST_ERROR | BMST_INTR);

	for (done = 0; done < total; done += chunk) {
		if (lba + nsect > d->sectors)
			lba = 0;
		ide_read_cmd(lba, nsect);
		out8(d->bm + BM_CMD, BMCMD_TO_MEM | BMCMD_START);
		err = ide_wait(d, ST_BSY | ST_DRQ, CMD_TIMEOUT_NS, &st);
		/* Start is taken on its edge: clear it for the next command. */
		out8(d->bm + BM_CMD, BMCMD_TO_MEM);
		if (err == -ETIMEDOUT)
			testdev_err(&d->b, "read DMA at LBA %llu did not end within %llu s (status 0x%02x)",
				    (unsigned long long)lba,
				    CMD_TIMEOUT_NS / 1000000000ull, st);
		if (err)
			break;
		if (st & (ST_ERR | ST_DF)) {
			in8(ATA_ERROR, &error);
			testdev_err(&d->b, "read DMA at LBA %llu failed (status 0x%02x error 0x%02x)",
				    (unsigned long long)lba, st, error);
			err = -EIO;
			break;
		}
		if (d->sink)
			d->sink(d->sink_arg, lba * SECTOR, buf, chunk);
		lba += nsect;
	}
	/* A bus master error (a PRD it could not use) latches: one read for all. */
	if (!err && !(err = in8(d->bm + BM_STATUS, &bmst)) &&
	    (bmst & (BMST_ERROR | BMST_ACTIVE))) {
		testdev_err(&d->b, "bus master status 0x%02x after the stream", bmst);
		err = -EIO;
	}
out:
	if (err != -ETIMEDOUT) {	/* else leak rather than corrupt */
		testdev_dma_free(prd);
		testdev_dma_free(buf);
	}
	return err;
}
