/*
 * The firmware's PCI job, done by the platform since no firmware runs:
 * enumerate bus 0, size every BAR, assign addresses (MMIO from 0xC0000000,
 * below the I/O APIC; I/O ports from 0xC000), enable decoding and bus
 * mastering, and work out (q35) or program (pc) where each INTx pin lands
 * on the I/O APIC. Every memory BAR gets a page of its own at least, so
 * that a page can be granted (or mapped in an IOMMU domain) alone. MSI and
 * MSI-X stay off until a driver asks ddeio (msi.c has the remappers).
 * Devices behind PCI bridges are not enumerated (QEMU puts ours on bus 0).
 */
#include "qemu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MMIO_BASE 0xc0000000ull
#define MMIO_LIMIT 0xfec00000ull
#define IO_BASE 0xc000u
#define IO_LIMIT 0x10000u

#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400

/* pc: PIIX3 PIRQA..D to these ISA lines (the I/O APIC pin is the same) */
static const uint8_t pc_pirq_irq[4] = { 10, 11, 5, 7 };

struct bar_ref {
	struct ddeio_device *dev;
	unsigned bar;
};

static int cfg_read(struct qemu_machine *p, uint32_t bdf, unsigned off, unsigned size,
		    uint32_t *v)
{
	return platform_config_read(&p->base, bdf, off, size, v);
}

static int cfg_write(struct qemu_machine *p, uint32_t bdf, unsigned off, unsigned size,
		     uint32_t v)
{
	return platform_config_write(&p->base, bdf, off, size, v);
}

/* Size BAR @i of @d; returns how many BAR slots it used (1 or 2). */
static int size_bar(struct qemu_machine *p, struct ddeio_device *d, unsigned i)
{
	unsigned off = 0x10 + 4 * i;
	uint32_t orig, mask, hi_mask = 0xffffffff;
	struct ddeio_res *r = &d->bar[i];
	uint64_t size;

	if (cfg_read(p, d->bdf, off, 4, &orig) || cfg_write(p, d->bdf, off, 4, 0xffffffff) ||
	    cfg_read(p, d->bdf, off, 4, &mask))
		return -EIO;
	cfg_write(p, d->bdf, off, 4, orig);
	if (mask == 0 || mask == 0xffffffff)
		return 1;
	if (orig & 1) {
		size = (uint64_t)(~(mask & ~3u) & 0xffff) + 1;
		r->kind = DDEIO_RES_IO;
		r->size = size;
		return 1;
	}
	if (((orig >> 1) & 3) == 2 && i < 5) {
		cfg_write(p, d->bdf, off + 4, 4, 0xffffffff);
		cfg_read(p, d->bdf, off + 4, 4, &hi_mask);
		cfg_write(p, d->bdf, off + 4, 4, 0);
		r->kind = DDEIO_RES_MEM64;
	} else {
		hi_mask = 0xffffffff;
		r->kind = DDEIO_RES_MEM32;
	}
	size = ~(((uint64_t)hi_mask << 32) | (mask & ~0xfu)) + 1;
	r->size = size;
	if (orig & 8)
		r->flags |= DDEIO_RES_PREFETCH;
	return r->kind == DDEIO_RES_MEM64 ? 2 : 1;
}

static int read_device(struct qemu_machine *p, uint32_t bdf, struct ddeio_device *d,
		       uint8_t *header_type)
{
	uint32_t id, class_rev, hdr, subsys, intr;

	memset(d, 0, sizeof(*d));
	if (cfg_read(p, bdf, 0x00, 4, &id) || cfg_read(p, bdf, 0x08, 4, &class_rev) ||
	    cfg_read(p, bdf, 0x0c, 4, &hdr) || cfg_read(p, bdf, 0x2c, 4, &subsys) ||
	    cfg_read(p, bdf, 0x3c, 4, &intr))
		return -EIO;
	d->bdf = bdf;
	d->vendor = id & 0xffff;
	d->device = id >> 16;
	d->class_code = class_rev >> 8;
	d->revision = class_rev & 0xff;	/* (--nic revision= applied by the config read) */
	d->subsystem_vendor = subsys & 0xffff;
	d->subsystem_device = subsys >> 16;
	d->irq_pin = (intr >> 8) & 0xff;
	d->irq = DDEIO_IRQ_NONE;
	d->legacy_irq[0] = d->legacy_irq[1] = DDEIO_IRQ_NONE;
	*header_type = (hdr >> 16) & 0xff;
	return 0;
}

static int cmp_bar_size(const void *a, const void *b)
{
	const struct bar_ref *x = a, *y = b;
	uint64_t sx = x->dev->bar[x->bar].size, sy = y->dev->bar[y->bar].size;

	return sx < sy ? 1 : sx > sy ? -1 : 0;
}

/* Place BARs largest first, each naturally aligned. */
static int assign(struct qemu_machine *p, struct bar_ref *refs, unsigned n, bool io,
		  char *err, size_t errlen)
{
	uint64_t next = io ? IO_BASE : MMIO_BASE, limit = io ? IO_LIMIT : MMIO_LIMIT;

	qsort(refs, n, sizeof(*refs), cmp_bar_size);
	for (unsigned i = 0; i < n; i++) {
		struct ddeio_device *d = refs[i].dev;
		struct ddeio_res *r = &d->bar[refs[i].bar];
		uint64_t size = r->size < (io ? 16 : 4096) ? (io ? 16 : 4096) : r->size;
		unsigned off = 0x10 + 4 * refs[i].bar;

		next = (next + size - 1) & ~(size - 1);
		if (next + size > limit) {
			snprintf(err, errlen, "PCI %s space exhausted at %02x:%02x.%x BAR%u",
				 io ? "I/O" : "memory", DDEIO_BDF_BUS(d->bdf),
				 DDEIO_BDF_SLOT(d->bdf), DDEIO_BDF_FUNC(d->bdf), refs[i].bar);
			return -1;
		}
		r->start = next;
		next += size;
		cfg_write(p, d->bdf, off, 4, (uint32_t)r->start);
		if (r->kind == DDEIO_RES_MEM64)
			cfg_write(p, d->bdf, off + 4, 4, (uint32_t)(r->start >> 32));
	}
	return 0;
}

/* q35: ICH9 routes slot S pin P to PIRQ E..H (chipset slots 25-31 to A..D). */
static unsigned q35_irq(const struct ddeio_device *d)
{
	unsigned slot = DDEIO_BDF_SLOT(d->bdf), intx = d->irq_pin - 1u, pirq;

	if (slot >= 25)
		pirq = intx;	/* D25IR..D31IR default: INTA->PIRQA ... */
	else
		pirq = (slot + intx) % 4 + 4;
	return 16 + pirq;	/* PIRQ routing off: PIRQn goes to GSI 16+n */
}

/* pc: PIIX3 swizzle, pirq = (slot - 1 + pin - 1) mod 4 (QEMU's piix). */
static unsigned pc_irq(const struct ddeio_device *d)
{
	unsigned slot = DDEIO_BDF_SLOT(d->bdf);

	return pc_pirq_irq[(slot + d->irq_pin - 2u) & 3];
}

static bool is_bridge(const struct ddeio_device *d)
{
	return (d->class_code >> 16) == 0x06;
}

/* Compatibility-mode IDE: legacy ports and ISA lines 14/15, as a PC has. */
static void add_legacy_ide(struct ddeio_device *d)
{
	static const uint16_t ports[4][2] = {
		{ 0x1f0, 8 }, { 0x3f6, 1 }, { 0x170, 8 }, { 0x376, 1 },
	};

	for (unsigned i = 0; i < 4; i++) {
		d->legacy[i].kind = DDEIO_RES_IO;
		d->legacy[i].start = ports[i][0];
		d->legacy[i].size = ports[i][1];
	}
	d->legacy_irq[0] = 14;
	d->legacy_irq[1] = 15;
}

static void setup_pc_chipset(struct qemu_machine *p)
{
	for (unsigned i = 0; i < p->ndev; i++) {
		struct ddeio_device *d = &p->dev[i];

		if (d->vendor == 0x8086 && d->device == 0x7000)	/* PIIX3 ISA */
			for (unsigned pirq = 0; pirq < 4; pirq++)
				cfg_write(p, d->bdf, 0x60 + pirq, 1, pc_pirq_irq[pirq]);
		if (d->vendor == 0x8086 && d->device == 0x7010)	/* PIIX3 IDE */
			for (unsigned ch = 0; ch < 2; ch++)	/* IDETIM: decode enable */
				cfg_write(p, d->bdf, 0x40 + 2 * ch, 2, 0x8000);
	}
}

int qemu_pci_setup(struct qemu_machine *p, char *err, size_t errlen)
{
	struct bar_ref mem[QEMU_MAX_DEVICES * 6], io[QEMU_MAX_DEVICES * 6];
	unsigned nmem = 0, nio = 0;

	p->ndev = 0;
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned func = 0; func < 8; func++) {
			uint32_t bdf = DDEIO_BDF(0, slot, func), id;
			struct ddeio_device *d;
			uint8_t hdr;

			if (cfg_read(p, bdf, 0, 4, &id)) {
				snprintf(err, errlen, "lost the machine while enumerating PCI");
				return -1;
			}
			if ((id & 0xffff) == 0xffff) {
				if (func == 0)
					break;
				continue;
			}
			if (p->ndev == QEMU_MAX_DEVICES) {
				snprintf(err, errlen, "more than %d PCI functions", QEMU_MAX_DEVICES);
				return -1;
			}
			d = &p->dev[p->ndev++];
			for (unsigned r = 0; r < p->nrevision; r++) {	/* --nic revision= */
				struct qemu_revision *q = &p->revision[r];
				unsigned seen = 0;

				for (unsigned k = 0; k + 1 < p->ndev; k++)
					seen += p->dev[k].vendor == q->vendor &&
						p->dev[k].device == q->device;
				if (!q->found && (id & 0xffff) == q->vendor && (id >> 16) == q->device &&
				    seen == q->nth) {
					q->found = 1;
					q->bdf = bdf;
				}
			}
			if (read_device(p, bdf, d, &hdr))
				return -1;
			if (!is_bridge(d) && (hdr & 0x7f) == 0) {
				/* decoding off while BARs are sized and moved */
				cfg_write(p, bdf, PCI_COMMAND, 2, 0);
				for (unsigned b = 0; b < 6;) {
					int used = size_bar(p, d, b);

					if (used < 0)
						return -1;
					if (d->bar[b].kind == DDEIO_RES_IO)
						io[nio++] = (struct bar_ref){ d, b };
					else if (d->bar[b].kind != DDEIO_RES_NONE)
						mem[nmem++] = (struct bar_ref){ d, b };
					b += (unsigned)used;
				}
			}
			if (func == 0 && !(hdr & 0x80))
				break;	/* not multi-function */
		}
	}
	if (assign(p, mem, nmem, false, err, errlen) || assign(p, io, nio, true, err, errlen))
		return -1;
	if (p->type == MACHINE_PC)
		setup_pc_chipset(p);
	for (unsigned i = 0; i < p->ndev; i++) {
		struct ddeio_device *d = &p->dev[i];
		uint16_t cmd = PCI_COMMAND_MASTER;

		if (is_bridge(d))
			continue;
		for (unsigned b = 0; b < 6; b++) {
			if (d->bar[b].kind == DDEIO_RES_IO)
				cmd |= PCI_COMMAND_IO;
			else if (d->bar[b].kind != DDEIO_RES_NONE)
				cmd |= PCI_COMMAND_MEMORY;
		}
		if (d->class_code >> 8 == 0x0101 && !(d->class_code & 0x05)) {
			add_legacy_ide(d);
			cmd |= PCI_COMMAND_IO;
		}
		if (d->irq_pin >= 1 && d->irq_pin <= 4) {
			d->irq = (uint8_t)(p->type == MACHINE_Q35 ? q35_irq(d) : pc_irq(d));
			cfg_write(p, d->bdf, 0x3c, 1, d->irq);
		}
		cfg_write(p, d->bdf, PCI_COMMAND, 2, cmd);
	}
	qemu_msi_found(p);
	return 0;
}
