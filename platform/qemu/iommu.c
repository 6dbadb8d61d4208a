/*
 * The IOMMU: QEMU's Intel VT-d (intel-iommu on q35), programmed as an OS
 * would, since none runs. Every device's DMA is translated through a
 * context entry that names a domain, one per DMA region: its second-level
 * page tables map exactly that region, at the bus addresses its driver
 * sees (identity), read and write. A device with no driver has no context
 * entry, so all its DMA is blocked; so is a device's DMA outside its
 * driver's region: QEMU records a fault, which platform_dma_faults reads.
 *
 * The tables live in low memory (region 0), which no device can reach:
 * the root table, a context table per bus, and the page tables, built for
 * every region at the start (2 MiB pages where the region allows, 4 KiB
 * otherwise).
 * Invalidation is register-based and global (context cache, then IOTLB).
 * Besides its region, a device's domain maps the doorbell page of its MSI
 * remapper while its messages are routed (msi.c), write-only.
 *
 * VT-d in legacy (non-scalable) mode, 39-bit guest address width (three
 * levels), as QEMU 7.2 models it by default.
 */
#include "qemu.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define VTD_BASE 0xfed90000ull

enum {
	R_CAP = 0x08,
	R_ECAP = 0x10,
	R_GCMD = 0x18,
	R_GSTS = 0x1c,
	R_RTADDR = 0x20,
	R_CCMD = 0x28,
	R_FSTS = 0x34,
};

#define GCMD_TE (1u << 31)
#define GCMD_SRTP (1u << 30)
#define CCMD_ICC (1ull << 63)
#define CCMD_GLOBAL (1ull << 61)
#define IOTLB_IVT (1ull << 63)
#define IOTLB_GLOBAL (1ull << 60)
#define FSTS_PFO 0x1u
#define FRCD_F (1ull << 63)

#define PTE_R 0x1ull
#define PTE_W 0x2ull
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define CTX_AW_39 1ull		/* three-level tables */

#define PAGE 4096u
#define BIG (2u << 20)

static int vtd_read(struct qemu_machine *p, unsigned reg, unsigned size, uint64_t *v)
{
	return platform_mmio_read(&p->base, VTD_BASE + reg, size, v);
}

static int vtd_write(struct qemu_machine *p, unsigned reg, unsigned size, uint64_t v)
{
	return platform_mmio_write(&p->base, VTD_BASE + reg, size, v, false);
}

/* wait until (register & mask) == want; the hardware is QEMU: quick */
static int vtd_wait(struct qemu_machine *p, unsigned reg, unsigned size, uint64_t mask,
		    uint64_t want)
{
	for (int i = 0; i < 1000; i++) {
		uint64_t v;

		if (vtd_read(p, reg, size, &v))
			return -EIO;
		if ((v & mask) == want)
			return 0;
		nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	}
	return -ETIMEDOUT;
}

static uint64_t *table_at(struct qemu_machine *p, uint64_t bus)
{
	return (uint64_t *)((uint8_t *)p->region[0].map + bus);
}

/* A zeroed page of the table pool; its bus address, or 0 when it is used up. */
static uint64_t table_page(struct qemu_machine *p)
{
	uint64_t bus;

	if (p->iommu.next_page == QEMU_IOMMU_PAGES)
		return 0;
	bus = QEMU_IOMMU_TABLES + (uint64_t)p->iommu.next_page++ * PAGE;
	memset(table_at(p, bus), 0, PAGE);
	return bus;
}

static int invalidate(struct qemu_machine *p)
{
	if (vtd_write(p, R_CCMD, 8, CCMD_ICC | CCMD_GLOBAL) ||
	    vtd_wait(p, R_CCMD, 8, CCMD_ICC, 0) ||
	    vtd_write(p, p->iommu.iotlb, 8, IOTLB_IVT | IOTLB_GLOBAL) ||
	    vtd_wait(p, p->iommu.iotlb, 8, IOTLB_IVT, 0))
		return -EIO;
	return 0;
}

static uint64_t region_tables(struct qemu_machine *p, unsigned index);

int qemu_iommu_setup(struct qemu_machine *p, char *err, size_t errlen)
{
	struct qemu_iommu *io = &p->iommu;
	uint64_t cap, ecap, gsts;

	if (vtd_read(p, R_CAP, 8, &cap) || vtd_read(p, R_ECAP, 8, &ecap) || cap == ~0ull ||
	    !cap) {
		snprintf(err, errlen, "the IOMMU does not answer at 0x%llx",
			 (unsigned long long)VTD_BASE);
		return -1;
	}
	if (!(cap & (1u << 9))) {	/* SAGAW: 39-bit, three levels */
		snprintf(err, errlen, "the IOMMU lacks 39-bit address translation (CAP 0x%llx)",
			 (unsigned long long)cap);
		return -1;
	}
	io->fault_regs = (unsigned)((cap >> 24) & 0x3ff) * 16;
	io->nfault_regs = (unsigned)((cap >> 40) & 0xff) + 1;
	io->iotlb = (unsigned)((ecap >> 8) & 0x3ff) * 16 + 8;
	io->big_pages = (cap >> 34) & 1;	/* SLLPS: 2 MiB */
	io->next_page = 0;
	io->root = table_page(p);
	io->context[0] = table_page(p);
	table_at(p, io->root)[0] = io->context[0] | 1;	/* bus 0 present */
	/* every region's page tables now: later only context entries change,
	 * and the MSI doorbell pages (qemu_iommu_page), whose tables come from
	 * the same pool */
	for (unsigned i = 1; i < p->nregions; i++) {
		if (!region_tables(p, i)) {
			snprintf(err, errlen, "the IOMMU's page tables do not fit in %u KiB",
				 QEMU_IOMMU_PAGES * PAGE / 1024);
			return -1;
		}
	}
	if (vtd_write(p, R_RTADDR, 8, io->root) || vtd_write(p, R_GCMD, 4, GCMD_SRTP) ||
	    vtd_wait(p, R_GSTS, 4, GCMD_SRTP, GCMD_SRTP) || invalidate(p) ||
	    vtd_read(p, R_GSTS, 4, &gsts) ||
	    vtd_write(p, R_GCMD, 4, (gsts & ~(uint64_t)GCMD_SRTP) | GCMD_TE) ||
	    vtd_wait(p, R_GSTS, 4, GCMD_TE, GCMD_TE)) {
		snprintf(err, errlen, "the IOMMU did not take its tables");
		return -1;
	}
	io->on = true;
	return 0;
}

/* Entry @e points to a table of the next level, a new one if it did not: 0 or -ENOMEM. */
static int next_level(struct qemu_machine *p, uint64_t *e)
{
	uint64_t t;

	if (*e & PTE_R)
		return 0;
	t = table_page(p);
	if (!t)
		return -ENOMEM;
	*e = t | PTE_R | PTE_W;
	return 0;
}

/* The page tables of region @index (built once): the top's bus address, 0 if no room. */
static uint64_t region_tables(struct qemu_machine *p, unsigned index)
{
	struct qemu_iommu *io = &p->iommu;
	const struct platform_region *r = &p->region[index];
	uint64_t top, addr, end = r->bus + r->size;

	if (io->top[index])
		return io->top[index];
	top = table_page(p);
	if (!top)
		return 0;
	for (addr = r->bus; addr < end;) {
		uint64_t *l3 = table_at(p, top), *l2, *l1;
		unsigned i3 = (addr >> 30) & 511, i2 = (addr >> 21) & 511;

		if (next_level(p, &l3[i3]))
			return 0;
		l2 = table_at(p, l3[i3] & PTE_ADDR);
		if (io->big_pages && addr % BIG == 0 && end - addr >= BIG) {
			l2[i2] = addr | PTE_PS | PTE_R | PTE_W;
			addr += BIG;
			continue;
		}
		if (next_level(p, &l2[i2]))
			return 0;
		l1 = table_at(p, l2[i2] & PTE_ADDR);
		l1[(addr >> 12) & 511] = addr | PTE_R | PTE_W;
		addr += PAGE;
	}
	io->top[index] = top;
	return top;
}

int qemu_dma_confine(struct platform *base, uint32_t bdf, unsigned region)
{
	struct qemu_machine *p = (struct qemu_machine *)base;
	struct qemu_iommu *io = &p->iommu;
	unsigned bus = (bdf >> 8) & 0xff;
	uint64_t *ctx, top = 0;

	if (region >= p->nregions)
		return -EINVAL;
	for (unsigned d = 0; d < p->ndev; d++)
		if (p->dev[d].bdf == bdf)
			p->dma_region[d] = region;	/* the device quirks' bounds (quirks.c) */
	/* a new driver (or none): what a quirk knew of the last one's rings is void */
	for (unsigned i = 0; i < p->nwatch; i++)
		if (p->watch[i].bdf == bdf)
			memset(p->watch[i].state, 0, sizeof(p->watch[i].state));
	if (!io->on)
		return 0;
	if (region && !(top = region_tables(p, region)))
		return -ENOMEM;
	if (!io->context[bus]) {
		if (!region)
			return 0;
		io->context[bus] = table_page(p);
		if (!io->context[bus])
			return -ENOMEM;
		table_at(p, io->root)[2 * bus] = io->context[bus] | 1;
	}
	ctx = table_at(p, io->context[bus]) + 2 * (bdf & 0xff);
	if (region) {
		ctx[1] = CTX_AW_39 | (uint64_t)region << 8;	/* domain: the region */
		ctx[0] = top | 1;				/* present, translated */
	} else {
		ctx[0] = 0;
		ctx[1] = 0;
	}
	return invalidate(p);
}

int qemu_iommu_page(struct qemu_machine *p, unsigned region, uint64_t page, bool map)
{
	uint64_t top, *l3, *l2, *l1;

	if (!p->iommu.on || !region || region >= p->nregions || page % PAGE ||
	    !(top = region_tables(p, region)))
		return -EINVAL;
	l3 = table_at(p, top);
	if (next_level(p, &l3[(page >> 30) & 511]))
		return -ENOMEM;
	l2 = table_at(p, l3[(page >> 30) & 511] & PTE_ADDR);
	if (l2[(page >> 21) & 511] & PTE_PS)
		return -EEXIST;	/* inside the region's own memory */
	if (next_level(p, &l2[(page >> 21) & 511]))
		return -ENOMEM;
	l1 = table_at(p, l2[(page >> 21) & 511] & PTE_ADDR);
	l1[(page >> 12) & 511] = map ? page | PTE_W : 0;	/* written to, never read */
	return invalidate(p);
}

bool qemu_iommu(const struct platform *base)
{
	return ((const struct qemu_machine *)base)->iommu.on;
}

int qemu_dma_faults(struct platform *base, struct platform_fault *f, unsigned max)
{
	struct qemu_machine *p = (struct qemu_machine *)base;
	struct qemu_iommu *io = &p->iommu;
	unsigned n = 0;
	uint64_t fsts;

	if (!io->on)
		return 0;
	for (unsigned i = 0; i < io->nfault_regs; i++) {
		unsigned reg = io->fault_regs + 16 * i;
		uint64_t lo, hi;

		if (vtd_read(p, reg + 8, 8, &hi))
			return -EIO;
		if (!(hi & FRCD_F))
			continue;
		if (vtd_read(p, reg, 8, &lo))
			return -EIO;
		if (n < max)
			f[n++] = (struct platform_fault){
				.bdf = (uint32_t)(hi & 0xffff),
				.addr = lo & ~0xfffull,
				.write = !((hi >> 62) & 1),
				.reason = (unsigned)((hi >> 32) & 0xff),
			};
		vtd_write(p, reg + 12, 4, FRCD_F >> 32);	/* taken */
	}
	if (!vtd_read(p, R_FSTS, 4, &fsts) && (fsts & FSTS_PFO)) {
		vtd_write(p, R_FSTS, 4, FSTS_PFO);
		if (n < max)
			f[n++] = (struct platform_fault){ .overflow = true };
	}
	return (int)n;
}
