/*
 * testdev_ahci — a minimal AHCI driver for QEMU's ich9-ahci, written only
 * against ddekit: one port, one command slot, synchronous IDENTIFY DEVICE
 * and READ DMA EXT completed by INTx interrupt (the polled NCQ benchmark
 * loop is testdev_ahci_stream.c). See testdev.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "testdev_ahci_priv.h"

/*
 * Clear the port's causes first (that drops the HBA's line in QEMU and
 * on hardware), then the HBA's summary bit. Only our port has IE set.
 */
static void ahci_irq_handler(void *arg)
{
	struct testdev_ahci *a = arg;
	uint32_t pis = 0;

	if (testdev_rd32(a->port_regs, PX_IS, &pis))
		return;
	testdev_wr32(a->port_regs, PX_IS, pis);
	testdev_wr32(a->b.regs, HBA_IS, 1u << a->port);
	__atomic_fetch_or(&a->irq_port_is, pis, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&a->irq_count, 1, __ATOMIC_RELAXED);
	ddekit_sem_up(a->b.irq_sem);
}

/* Clear ST then FRE and wait until the engines report stopped. */
static int ahci_port_stop(struct testdev_ahci *a)
{
	uint32_t cmd = 0;
	int err;

	err = testdev_rd32(a->port_regs, PX_CMD, &cmd);
	if (err)
		return err;
	if (cmd & (CMD_ST | CMD_CR)) {
		testdev_wr32(a->port_regs, PX_CMD, cmd & ~CMD_ST);
		err = testdev_poll32(a->port_regs, PX_CMD, CMD_CR, 0, 500,
				     1000, &cmd);
	}
	if (!err && (cmd & (CMD_FRE | CMD_FR))) {
		testdev_wr32(a->port_regs, PX_CMD, cmd & ~CMD_FRE);
		err = testdev_poll32(a->port_regs, PX_CMD, CMD_FR, 0, 500,
				     1000, &cmd);
	}
	if (err)
		testdev_err(&a->b, "port %u does not stop (CMD 0x%08x): %d",
			    a->port, cmd, err);
	return err;
}

/* Reset the HBA (a previous driver may have left it running), find a disk. */
static int ahci_find_port(struct testdev_ahci *a)
{
	uint32_t ghc = 0, pi = 0, ssts = 0;
	unsigned p;
	int err;

	testdev_wr32(a->b.regs, HBA_GHC, GHC_AE);
	testdev_wr32(a->b.regs, HBA_GHC, GHC_AE | GHC_HR);
	err = testdev_poll32(a->b.regs, HBA_GHC, GHC_HR, 0, 1000, 1000, &ghc);
	if (err) {
		testdev_err(&a->b, "HBA reset did not complete (GHC 0x%08x)", ghc);
		return err;
	}
	testdev_wr32(a->b.regs, HBA_GHC, GHC_AE);
	testdev_bus_master(a->b.dev);
	err = testdev_rd32(a->b.regs, HBA_CAP, &a->cap);
	if (!err)
		err = testdev_rd32(a->b.regs, HBA_VS, &a->vs);
	if (!err)
		err = testdev_rd32(a->b.regs, HBA_PI, &pi);
	for (p = 0; !err && p < 32; p++) {
		if (!(pi & (1u << p)))
			continue;
		err = testdev_rd32(a->b.regs, HBA_PORTS + p * PORT_STRIDE + PX_SSTS,
				   &ssts);
		if (!err && (ssts & 0xf) == SSTS_DET_PRESENT) {
			a->port = p;
			a->port_regs = a->b.regs + HBA_PORTS + p * PORT_STRIDE;
			return 0;
		}
	}
	if (err) {
		testdev_err(&a->b, "register read failed: %s", ddekit_last_error());
		return err;
	}
	testdev_err(&a->b, "no port with a disk (PI 0x%08x); attach one with --disk ahci:FILE",
		    pi);
	return -ENODEV;
}

/* Give the port its memory and start the FIS receive and command engines. */
static int ahci_port_start(struct testdev_ahci *a, uint64_t clb, uint64_t fb)
{
	uint32_t cmd = 0, tfd = 0;
	int err;

	err = ahci_port_stop(a);
	if (err)
		return err;
	testdev_wr32(a->port_regs, PX_CLB, (uint32_t)clb);
	testdev_wr32(a->port_regs, PX_CLBU, (uint32_t)(clb >> 32));
	testdev_wr32(a->port_regs, PX_FB, (uint32_t)fb);
	testdev_wr32(a->port_regs, PX_FBU, (uint32_t)(fb >> 32));
	testdev_wr32(a->port_regs, PX_SERR, 0xffffffff);
	testdev_wr32(a->port_regs, PX_IS, 0xffffffff);
	testdev_wr32(a->b.regs, HBA_IS, 1u << a->port);

	err = testdev_rd32(a->port_regs, PX_CMD, &cmd);
	if (err)
		return err;
	cmd |= CMD_FRE;
	testdev_wr32(a->port_regs, PX_CMD, cmd);
	/* The device's first D2H FIS clears BSY; only then may ST be set. */
	err = testdev_poll32(a->port_regs, PX_TFD, TFD_BSY | TFD_DRQ, 0, 1000,
			     1000, &tfd);
	if (err) {
		testdev_err(&a->b, "port %u stays busy (TFD 0x%08x)", a->port, tfd);
		return err;
	}
	testdev_wr32(a->port_regs, PX_CMD, cmd | CMD_ST);
	testdev_wr32(a->port_regs, PX_IE, PORT_IE_MASK);
	return 0;
}

int testdev_ahci_open(unsigned dev, struct testdev_ahci **out)
{
	struct testdev_ahci *a;
	uint64_t clb_bus, fb_bus;
	int err;

	*out = NULL;
	a = ddekit_mem_alloc(sizeof(*a));
	if (!a) {
		ddekit_log(DDEKIT_LOG_ERROR, "ahci dev%u: out of memory", dev);
		return -ENOMEM;
	}
	err = testdev_base_init(&a->b, dev, 5, "ahci");
	if (!err)
		err = ahci_find_port(a);
	if (err)
		goto err_close;

	err = -ENOMEM;
	a->cmd_list = ddekit_dma_alloc(32 * sizeof(*a->cmd_list), 1024, &clb_bus);
	a->rfis = ddekit_dma_alloc(256, 256, &fb_bus);
	a->table = ddekit_dma_alloc(sizeof(*a->table), 128, &a->table_bus);
	a->ident = ddekit_dma_alloc(SECTOR, 512, &a->ident_bus);
	if (!a->cmd_list || !a->rfis || !a->table || !a->ident) {
		testdev_err(&a->b, "out of DMA memory");
		goto err_close;
	}
	err = testdev_base_attach(&a->b, ahci_irq_handler, a);
	if (!err)
		err = ahci_port_start(a, clb_bus, fb_bus);
	if (err)
		goto err_close;
	testdev_wr32(a->b.regs, HBA_GHC, GHC_AE | GHC_IE);
	*out = a;
	return 0;

err_close:
	testdev_ahci_close(a);
	return err;
}

void testdev_ahci_close(struct testdev_ahci *a)
{
	if (!a)
		return;
	if (a->b.regs) {
		testdev_wr32(a->b.regs, HBA_GHC, GHC_AE);
		if (a->port_regs) {
			testdev_wr32(a->port_regs, PX_IE, 0);
			ahci_port_stop(a);
		}
	}
	testdev_base_fini(&a->b);
	testdev_dma_free(a->ident);
	testdev_dma_free(a->table);
	testdev_dma_free(a->rfis);
	testdev_dma_free(a->cmd_list);
	ddekit_mem_free(a);
}

int testdev_ahci_regs(struct testdev_ahci *a, uint32_t *cap, uint32_t *vs,
		      unsigned *port)
{
	*cap = a->cap;
	*vs = a->vs;
	*port = a->port;
	return 0;
}

unsigned long testdev_ahci_irq_count(struct testdev_ahci *a)
{
	return __atomic_load_n(&a->irq_count, __ATOMIC_RELAXED);
}

/*
 * Issue one ATA command in slot 0 with a single PRD (@bytes at @bus,
 * device to host) and wait for it by interrupt. CI is read after each
 * interrupt, and every 10 ms in case a PIO setup interrupt came first.
 */
static int ahci_exec(struct testdev_ahci *a, uint8_t ata_cmd, uint64_t lba,
		     uint16_t count, uint64_t bus, uint32_t bytes,
		     const char *what)
{
	struct ahci_cmd_table *t = a->table;
	uint64_t deadline = ddekit_clock_ns() + CMD_TIMEOUT_NS, now;
	uint32_t ci = 1, tfd = 0, pis, prdbc;
	uint8_t *f = t->cfis;
	int err = 0;

	memset(t, 0, sizeof(*t));
	ahci_fis_lba(f, ata_cmd, lba);
	f[12] = (uint8_t)count;
	f[13] = (uint8_t)(count >> 8);
	t->prd[0].dba = bus;
	t->prd[0].dbc = bytes - 1;

	a->cmd_list[0].flags = 5 | 1u << 16;	/* 5-dword FIS, 1 PRD */
	a->cmd_list[0].prdbc = 0;
	a->cmd_list[0].ctba = a->table_bus;

	testdev_drain_sem(&a->b);
	__atomic_store_n(&a->irq_port_is, 0, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	testdev_wr32(a->port_regs, PX_CI, 1);

	while ((now = ddekit_clock_ns()) < deadline) {
		uint64_t wait_us = (deadline - now) / 1000 + 1;

		ddekit_sem_down(a->b.irq_sem, wait_us < 10000 ? wait_us : 10000);
		err = testdev_rd32(a->port_regs, PX_CI, &ci);
		if (err || !(ci & 1))
			break;
	}
	pis = __atomic_load_n(&a->irq_port_is, __ATOMIC_ACQUIRE);
	if (!err)
		err = testdev_rd32(a->port_regs, PX_TFD, &tfd);
	if (err) {
		testdev_err(&a->b, "%s: register read failed: %s",
			    what, ddekit_last_error());
		return err;
	}
	if (ci & 1) {
		testdev_err(&a->b, "%s did not complete within %llu s (TFD 0x%02x, IS 0x%08x)",
			    what, CMD_TIMEOUT_NS / 1000000000ull, tfd & 0xff, pis);
		return -ETIMEDOUT;
	}
	prdbc = __atomic_load_n(&a->cmd_list[0].prdbc, __ATOMIC_ACQUIRE);
	if ((pis & IS_TFES) || (tfd & (TFD_ERR | TFD_BSY | TFD_DRQ)) ||
	    prdbc != bytes) {
		testdev_err(&a->b, "%s failed (TFD status 0x%02x error 0x%02x, IS 0x%08x, %u of %u bytes)",
			    what, tfd & 0xff, (tfd >> 8) & 0xff, pis, prdbc,
			    bytes);
		return -EIO;
	}
	return 0;
}

int testdev_ahci_identify(struct testdev_ahci *a, uint64_t *sectors,
			  char model[41])
{
	const uint16_t *id = a->ident;
	int err;

	err = ahci_exec(a, ATA_IDENTIFY, 0, 0, a->ident_bus, SECTOR,
			"IDENTIFY DEVICE");
	if (err)
		return err;
	testdev_ata_identity(id, sectors, model);
	a->sectors = *sectors;
	/* Words 76 (bit 8: NCQ supported; 0xffff: not reported) and 75 (depth - 1). */
	a->ncq_depth = id[76] != 0xffff && (id[76] & (1u << 8)) ?
		       (id[75] & 0x1f) + 1u : 0;
	return 0;
}

int testdev_ahci_read(struct testdev_ahci *a, uint64_t lba, uint32_t count,
		      void *buf)
{
	uint64_t bus = ddekit_dma_virt_to_bus(buf);
	int err;

	if (!bus || (bus & 1)) {
		testdev_err(&a->b, "read buffer %p is not (word-aligned) DMA memory",
			    buf);
		return -EINVAL;
	}
	while (count) {
		uint32_t c = count < SECTORS_PER_CMD ? count : SECTORS_PER_CMD;

		err = ahci_exec(a, ATA_READ_DMA_EXT, lba, (uint16_t)c, bus,
				c * SECTOR, "READ DMA EXT");
		if (err)
			return err;
		lba += c;
		count -= c;
		bus += (uint64_t)c * SECTOR;
	}
	return 0;
}
