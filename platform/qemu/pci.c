/*
 * The firmware's PCI job, done by the platform since no firmware runs:
 * enumerate bus 0, size every BAR, assign addresses (MMIO from 0xC0000000,
 * below the I/O APIC; I/O ports from 0xC000), enable decoding and bus
 * mastering, and work out (q35) or program (pc) where each INTx pin lands
 * on the I/O APIC. Every memory BAR gets a page of its own at least, so
 * that a page can be granted (or mapped in an IOMMU domain) alone. MSI and
 * MSI-X stay off until a driver asks ddeio (msi.c has the remappers).
 *
 * Bridges on bus 0 (PCIe root ports, PCI-PCI bridges) get a bus each
 * (1, 2, ... in slot order) and windows of their own (32 MiB of memory
 * from 0xE0000000, 4 KiB of ports from 0x2000), and the devices behind
 * them are enumerated and placed in those windows. Bridges behind bridges
 * are not enumerated.
 *
 * Hot-plug capable root ports (--hotplug-ports): the platform plays the
 * OS's part of PCIe native hotplug. A device QEMU plugs (device_add)
 * sets Presence Detect; the scan powers the slot on (Slot Control: power
 * controller on, power indicator on), enumerates the device and places
 * it in the port's window. `device_del` presses the slot's attention
 * button; the scan reports it, and once the device's driver is gone the
 * eject powers the slot off (power indicator off), on which QEMU removes
 * the device.
 */
#include "qemu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MMIO_BASE 0xc0000000ull
#define MMIO_LIMIT 0xe0000000ull	/* bus 0; the bridges' windows above */
#define BRIDGE_MMIO_BASE 0xe0000000ull
#define BRIDGE_MMIO_SIZE 0x2000000ull	/* 32 MiB each: 8 up to 0xF0000000 */
#define IO_BASE 0xc000u
#define IO_LIMIT 0x10000u
#define BRIDGE_IO_BASE 0x2000u
#define BRIDGE_IO_SIZE 0x1000u

/* PCI Express capability: slot registers */
#define PCI_CAP_ID_EXP 0x10
#define EXP_SLTCAP 0x14
#define EXP_SLTCAP_HPC 0x40
#define EXP_SLTCTL 0x18
#define EXP_SLTCTL_PIC 0x300
#define EXP_SLTCTL_PIC_ON 0x100
#define EXP_SLTCTL_PIC_OFF 0x300
#define EXP_SLTCTL_AIC 0xc0
#define EXP_SLTCTL_AIC_OFF 0xc0
#define EXP_SLTCTL_PCC 0x400	/* 1: power off */
#define EXP_SLTSTA 0x1a
#define EXP_SLTSTA_ABP 0x1
#define EXP_SLTSTA_PDC 0x8
#define EXP_SLTSTA_PDS 0x40
#define EXP_FLAGS_SLOT 0x100	/* PCIe capabilities register: slot implemented */

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

/* Place BARs largest first, each naturally aligned, from *@next below @limit. */
static int assign(struct qemu_machine *p, struct bar_ref *refs, unsigned n, bool io,
		  uint64_t *nextp, uint64_t limit, char *err, size_t errlen)
{
	uint64_t next = *nextp;

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
	*nextp = next;
	return 0;
}

/* The bridge whose bus is @bus, or NULL (bus 0). */
static struct qemu_bridge *bridge_of_bus(struct qemu_machine *p, unsigned bus)
{
	for (unsigned i = 0; i < p->nbridges; i++)
		if (p->bridge[i].secondary == bus)
			return &p->bridge[i];
	return NULL;
}

/* q35: ICH9 routes slot S pin P to PIRQ E..H (chipset slots 25-31 to A..D);
 * behind a bridge, the pin is swizzled to the bridge's own (as QEMU's
 * bridges do: pin + slot). */
static unsigned q35_irq(struct qemu_machine *p, const struct ddeio_device *d)
{
	unsigned slot = DDEIO_BDF_SLOT(d->bdf), intx = d->irq_pin - 1u, pirq;
	struct qemu_bridge *b = bridge_of_bus(p, DDEIO_BDF_BUS(d->bdf));

	if (b) {
		intx = (intx + slot) % 4;
		slot = DDEIO_BDF_SLOT(b->bdf);
	}

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

/* An entry for a new device: a hole an unplugged one left, or a new one. */
static struct ddeio_device *new_entry(struct qemu_machine *p)
{
	for (unsigned i = 0; i < p->ndev; i++)
		if (p->dev[i].bdf == DDEIO_BDF_NONE) {
			p->dma_region[i] = 0;
			return &p->dev[i];
		}
	return p->ndev < QEMU_MAX_DEVICES ? &p->dev[p->ndev++] : NULL;
}

/* --nic ...,revision=N: is the device at @bdf (@id) the one it names? */
static void note_revision(struct qemu_machine *p, uint32_t bdf, uint32_t id)
{
	for (unsigned r = 0; r < p->nrevision; r++) {
		struct qemu_revision *q = &p->revision[r];
		unsigned seen = 0;

		for (unsigned k = 0; k < p->ndev; k++)
			seen += p->dev[k].bdf != DDEIO_BDF_NONE && p->dev[k].vendor == q->vendor &&
				p->dev[k].device == q->device;
		if (!q->found && (id & 0xffff) == q->vendor && (id >> 16) == q->device &&
		    seen == q->nth) {
			q->found = 1;
			q->bdf = bdf;
		}
	}
}

struct bar_list {
	struct bar_ref mem[QEMU_MAX_DEVICES * 6], io[QEMU_MAX_DEVICES * 6];
	unsigned nmem, nio;
};

/*
 * Enumerate bus @bus: every function a device entry, its BARs sized (into
 * @bl) with decoding off; the number found, or -1 (@err).
 */
static int scan_bus(struct qemu_machine *p, unsigned bus, struct bar_list *bl, char *err,
		    size_t errlen)
{
	int found = 0;

	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned func = 0; func < 8; func++) {
			uint32_t bdf = DDEIO_BDF(bus, slot, func), id;
			struct ddeio_device *d;
			uint8_t hdr;

			if (cfg_read(p, bdf, 0, 4, &id)) {
				snprintf(err, errlen, "lost the machine while enumerating PCI");
				return -1;
			}
			if ((id & 0xffff) == 0xffff || id == 0) {
				if (func == 0)
					break;
				continue;
			}
			d = new_entry(p);
			if (!d) {
				snprintf(err, errlen, "more than %d PCI functions", QEMU_MAX_DEVICES);
				return -1;
			}
			d->bdf = DDEIO_BDF_NONE;	/* not counted as one of its kind */
			note_revision(p, bdf, id);	/* before its config is read */
			if (read_device(p, bdf, d, &hdr)) {
				d->bdf = DDEIO_BDF_NONE;
				snprintf(err, errlen, "lost the machine while enumerating PCI");
				return -1;
			}
			found++;
			if (!is_bridge(d) && (hdr & 0x7f) == 0) {
				/* decoding off while BARs are sized and moved */
				cfg_write(p, bdf, PCI_COMMAND, 2, 0);
				for (unsigned b = 0; b < 6;) {
					int used = size_bar(p, d, b);

					if (used < 0)
						return -1;
					if (d->bar[b].kind == DDEIO_RES_IO)
						bl->io[bl->nio++] = (struct bar_ref){ d, b };
					else if (d->bar[b].kind != DDEIO_RES_NONE)
						bl->mem[bl->nmem++] = (struct bar_ref){ d, b };
					b += (unsigned)used;
				}
			}
			if (func == 0 && !(hdr & 0x80))
				break;	/* not multi-function */
		}
	}
	return found;
}

/* Decoding and bus mastering on, the interrupt line routed. */
static void enable_device(struct qemu_machine *p, struct ddeio_device *d)
{
	uint16_t cmd = PCI_COMMAND_MASTER;

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
		d->irq = (uint8_t)(p->type == MACHINE_Q35 ? q35_irq(p, d) : pc_irq(d));
		cfg_write(p, d->bdf, 0x3c, 1, d->irq);
	}
	cfg_write(p, d->bdf, PCI_COMMAND, 2, cmd);
}

/* The offset of capability @id in @bdf's list, 0 if none. */
static unsigned find_cap(struct qemu_machine *p, uint32_t bdf, unsigned id)
{
	uint32_t status, ptr, hdr;

	if (cfg_read(p, bdf, 0x06, 2, &status) || !(status & 0x10) ||
	    cfg_read(p, bdf, 0x34, 1, &ptr))
		return 0;
	for (unsigned n = 0; ptr >= 0x40 && n < 48; n++) {
		if (cfg_read(p, bdf, ptr & ~3u, 2, &hdr))
			return 0;
		if ((hdr & 0xff) == id)
			return ptr & ~3u;
		ptr = hdr >> 8;
	}
	return 0;
}

/* Bridge @d on bus 0 gets bus @bus and windows; its hot-plug slot found. */
static int setup_bridge(struct qemu_machine *p, const struct ddeio_device *d, unsigned bus,
			char *err, size_t errlen)
{
	struct qemu_bridge *b = &p->bridge[p->nbridges];
	unsigned n = p->nbridges;
	uint32_t flags, sltcap;

	if (n == QEMU_MAX_BRIDGES) {
		snprintf(err, errlen, "more than %d PCI bridges", QEMU_MAX_BRIDGES);
		return -1;
	}
	memset(b, 0, sizeof(*b));
	b->bdf = d->bdf;
	b->secondary = (uint8_t)bus;
	b->mem = b->mem_next = BRIDGE_MMIO_BASE + n * BRIDGE_MMIO_SIZE;
	b->mem_size = BRIDGE_MMIO_SIZE;
	b->io = b->io_next = BRIDGE_IO_BASE + n * BRIDGE_IO_SIZE;
	b->io_size = BRIDGE_IO_SIZE;
	cfg_write(p, d->bdf, PCI_COMMAND, 2, 0);
	cfg_write(p, d->bdf, 0x18, 4, (uint32_t)bus << 8 | (uint32_t)bus << 16);
	cfg_write(p, d->bdf, 0x1c, 1, (b->io >> 8) & 0xf0);
	cfg_write(p, d->bdf, 0x1d, 1, ((b->io + b->io_size - 1) >> 8) & 0xf0);
	cfg_write(p, d->bdf, 0x30, 4, 0);
	cfg_write(p, d->bdf, 0x20, 2, (uint32_t)(b->mem >> 16) & 0xfff0);
	cfg_write(p, d->bdf, 0x22, 2, (uint32_t)((b->mem + b->mem_size - 1) >> 16) & 0xfff0);
	/* no prefetchable window (base above limit): every BAR in the one above */
	cfg_write(p, d->bdf, 0x24, 2, 0xfff0);
	cfg_write(p, d->bdf, 0x26, 2, 0);
	cfg_write(p, d->bdf, 0x28, 4, 0);
	cfg_write(p, d->bdf, 0x2c, 4, 0);
	cfg_write(p, d->bdf, PCI_COMMAND, 2,
		  PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	b->exp = find_cap(p, d->bdf, PCI_CAP_ID_EXP);
	if (b->exp && !cfg_read(p, d->bdf, b->exp + 2, 2, &flags) && (flags & EXP_FLAGS_SLOT) &&
	    !cfg_read(p, d->bdf, b->exp + EXP_SLTCAP, 4, &sltcap) && (sltcap & EXP_SLTCAP_HPC)) {
		b->hotplug = true;
		/* what happened before we looked is not news */
		cfg_write(p, d->bdf, b->exp + EXP_SLTSTA, 2, EXP_SLTSTA_PDC | EXP_SLTSTA_ABP);
	}
	p->nbridges++;
	return 0;
}

/* Place the BARs of @bl below bridge @b (its window) or on bus 0 (@b NULL). */
static int place(struct qemu_machine *p, struct qemu_bridge *b, struct bar_list *bl,
		 char *err, size_t errlen)
{
	uint64_t mem = b ? b->mem_next : MMIO_BASE, io = b ? b->io_next : IO_BASE;

	if (assign(p, bl->mem, bl->nmem, false, &mem, b ? b->mem + b->mem_size : MMIO_LIMIT,
		   err, errlen) ||
	    assign(p, bl->io, bl->nio, true, &io, b ? b->io + b->io_size : IO_LIMIT, err, errlen))
		return -1;
	if (b) {
		b->mem_next = mem;
		b->io_next = (uint32_t)io;
	}
	return 0;
}

int qemu_pci_setup(struct qemu_machine *p, char *err, size_t errlen)
{
	static struct bar_list bl;
	unsigned bus0;

	p->ndev = 0;
	p->nbridges = 0;
	memset(&bl, 0, sizeof(bl));
	if (scan_bus(p, 0, &bl, err, errlen) < 0 || place(p, NULL, &bl, err, errlen))
		return -1;
	bus0 = p->ndev;
	for (unsigned i = 0; i < bus0; i++) {
		uint32_t hdr;

		if (!is_bridge(&p->dev[i]) || cfg_read(p, p->dev[i].bdf, 0x0c, 4, &hdr) ||
		    ((hdr >> 16) & 0x7f) != 1)
			continue;	/* a host or ISA bridge, not PCI-PCI */
		if (setup_bridge(p, &p->dev[i], p->nbridges + 1, err, errlen))
			return -1;
		memset(&bl, 0, sizeof(bl));
		struct qemu_bridge *b = &p->bridge[p->nbridges - 1];

		if (scan_bus(p, b->secondary, &bl, err, errlen) < 0 || place(p, b, &bl, err, errlen))
			return -1;
	}
	if (p->type == MACHINE_PC)
		setup_pc_chipset(p);
	for (unsigned i = 0; i < p->ndev; i++)
		if (!is_bridge(&p->dev[i]))
			enable_device(p, &p->dev[i]);
	qemu_msi_found(p);
	return 0;
}

/* ---- hot-plug slots ---- */

static struct qemu_machine *machine_of(struct platform *base)
{
	return (struct qemu_machine *)base;
}

/* Devices on bridge @b's bus into @ev as @kind (holes made if @gone). */
static unsigned bus_events(struct qemu_machine *p, struct qemu_bridge *b, uint32_t kind,
			   bool gone, struct ddeio_hp_event *ev, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < p->ndev; i++) {
		struct ddeio_device *d = &p->dev[i];

		if (d->bdf == DDEIO_BDF_NONE || DDEIO_BDF_BUS(d->bdf) != b->secondary)
			continue;
		if (n < max)
			ev[n++] = (struct ddeio_hp_event){ .kind = kind, .port = b->bdf, .dev = *d };
		if (gone) {
			memset(d, 0, sizeof(*d));
			d->bdf = DDEIO_BDF_NONE;
			d->vendor = d->device = 0xffff;
		}
	}
	if (gone) {
		b->leaving = false;
		b->mem_next = b->mem;
		b->io_next = b->io;
		for (unsigned r = 0; r < p->nrevision; r++)
			if (p->revision[r].found && DDEIO_BDF_BUS(p->revision[r].bdf) == b->secondary)
				p->revision[r].found = 0;
	}
	return n;
}

static bool bus_populated(const struct qemu_machine *p, unsigned bus)
{
	for (unsigned i = 0; i < p->ndev; i++)
		if (p->dev[i].bdf != DDEIO_BDF_NONE && DDEIO_BDF_BUS(p->dev[i].bdf) == bus)
			return true;
	return false;
}

/* A device arrived on @b's slot: power, enumerate, place, enable. */
static unsigned arrived(struct qemu_machine *p, struct qemu_bridge *b, uint32_t ctl,
			struct ddeio_hp_event *ev, unsigned max)
{
	static struct bar_list bl;
	char err[160];
	unsigned n = 0;

	cfg_write(p, b->bdf, b->exp + EXP_SLTCTL, 2,
		  (ctl & ~(EXP_SLTCTL_PCC | EXP_SLTCTL_PIC | EXP_SLTCTL_AIC)) | EXP_SLTCTL_PIC_ON |
		  EXP_SLTCTL_AIC_OFF);
	memset(&bl, 0, sizeof(bl));
	if (scan_bus(p, b->secondary, &bl, err, sizeof(err)) < 0 ||
	    place(p, b, &bl, err, sizeof(err))) {
		fprintf(stderr, "ddeio: hotplug: port %02x:%02x.%x: %s\n", DDEIO_BDF_BUS(b->bdf),
			DDEIO_BDF_SLOT(b->bdf), DDEIO_BDF_FUNC(b->bdf), err);
		return 0;
	}
	for (unsigned i = 0; i < p->ndev; i++) {
		struct ddeio_device *d = &p->dev[i];

		if (d->bdf == DDEIO_BDF_NONE || DDEIO_BDF_BUS(d->bdf) != b->secondary)
			continue;
		if (!is_bridge(d))
			enable_device(p, d);
		if (n < max)
			ev[n++] = (struct ddeio_hp_event){ .kind = DDEIO_HP_ADDED, .port = b->bdf,
							   .dev = *d };
	}
	return n;
}

int qemu_hotplug_scan(struct platform *base, struct ddeio_hp_event *ev, unsigned max)
{
	struct qemu_machine *p = machine_of(base);
	unsigned n = 0;

	for (unsigned i = 0; i < p->nbridges; i++) {
		struct qemu_bridge *b = &p->bridge[i];
		uint32_t sta, ctl;
		bool known;

		if (!b->hotplug)
			continue;
		if (cfg_read(p, b->bdf, b->exp + EXP_SLTSTA, 2, &sta) ||
		    cfg_read(p, b->bdf, b->exp + EXP_SLTCTL, 2, &ctl))
			return -EIO;
		known = bus_populated(p, b->secondary);
		if (sta & (EXP_SLTSTA_PDC | EXP_SLTSTA_ABP))
			cfg_write(p, b->bdf, b->exp + EXP_SLTSTA, 2,
				  sta & (EXP_SLTSTA_PDC | EXP_SLTSTA_ABP));
		if ((sta & EXP_SLTSTA_PDS) && !known) {
			n += arrived(p, b, ctl, ev + n, max - n);
		} else if (!(sta & EXP_SLTSTA_PDS) && known) {
			/* gone without asking */
			n += bus_events(p, b, DDEIO_HP_GONE, true, ev + n, max - n);
		} else if (known && (sta & EXP_SLTSTA_ABP) && !b->leaving) {
			b->leaving = true;
			n += bus_events(p, b, DDEIO_HP_REMOVE_REQUEST, false, ev + n, max - n);
		}
	}
	return (int)n;
}

int qemu_hotplug_eject(struct platform *base, uint32_t bdf, struct ddeio_hp_event *ev,
		       unsigned max)
{
	struct qemu_machine *p = machine_of(base);
	struct qemu_bridge *b = bridge_of_bus(p, DDEIO_BDF_BUS(bdf));
	uint32_t ctl, sta;

	if (!b || !b->hotplug)
		return -EOPNOTSUPP;
	if (cfg_read(p, b->bdf, b->exp + EXP_SLTCTL, 2, &ctl))
		return -EIO;
	/* power off, indicator off: QEMU takes the device out */
	cfg_write(p, b->bdf, b->exp + EXP_SLTCTL, 2,
		  (ctl & ~EXP_SLTCTL_PIC) | EXP_SLTCTL_PCC | EXP_SLTCTL_PIC_OFF);
	if (cfg_read(p, b->bdf, b->exp + EXP_SLTSTA, 2, &sta))
		return -EIO;
	cfg_write(p, b->bdf, b->exp + EXP_SLTSTA, 2, sta & (EXP_SLTSTA_PDC | EXP_SLTSTA_ABP));
	if (sta & EXP_SLTSTA_PDS)
		return -EBUSY;	/* still there */
	return (int)bus_events(p, b, DDEIO_HP_GONE, true, ev, max);
}
