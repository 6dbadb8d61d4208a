/*
 * Where QEMU's device models differ from the hardware in a way that stops
 * a correct driver for good, the backend makes up for it after the
 * driver's write that runs into it (docs/machine.md, "Device-model
 * quirks"). Only this backend has them: real devices (vfio) do not.
 *
 * rtl8139, ring receive mode (8139too): QEMU holds frames back while the
 * ring has less than a frame's room and RxOverflow is masked
 * (rtl8139_can_receive), and looks at its held-back frames again only
 * when the driver moves CAPR. 8139too masks the receive interrupts while
 * it polls; when its poll ends on its budget with the ring still full,
 * and the frame that arrived meanwhile had its RxOK acknowledged in the
 * loop, it unmasks and waits for an interrupt. Hardware raises one with
 * the next frame; QEMU never takes the next frame: receive stops, forever
 * (0 of 20,000 frames at full speed). So after a write to IntrMask that
 * unmasks RxOverflow, CAPR is written again with its own value: for the
 * device nothing changes, and QEMU delivers what it held back. In C+
 * receive mode (8139cp) QEMU has no such flow control, and nothing is
 * done.
 *
 * pcnet: when the descriptor the model is at is not its own, it looks for
 * one it owns further on (pcnet_receive's scan), but the scan never looks
 * at the ring's last descriptor (its "rcvrc <= 1" skips the value that
 * names it). QEMU writes a received descriptor twice (first OWN cleared
 * without ENP, docs/net.md); a driver that polls between the two stores
 * takes the first for an error frame and hands it back, and the ring's
 * order comes apart by one. When the model then scans past a last
 * descriptor that is its own, it fills the first ones while pcnet32 waits
 * at the last, which the model reaches again only after the whole ring:
 * the frames in between are stranded, and with nothing more arriving,
 * receive has stopped (0 of 200 frames after a burst). So the last
 * receive descriptor is never left to the model: after each CSR0 write
 * (pcnet32 writes CSR0 when it acknowledges an interrupt, ends a poll and
 * sends), if the driver has handed it back, it is closed as an empty
 * descriptor (OWN and every status bit cleared, by compare-and-swap in
 * the DMA memory, so that a store of the model's is never undone). The
 * driver passes it like an error frame without errors (no counter, no
 * frame) and hands it back; the model, finding it not its own, scans on
 * from the first descriptor, which it does see. The ring is one
 * descriptor shorter in effect. The ring is found from the driver's own
 * writes: the init block's address (CSR1, CSR2) and the software style
 * (BCR20; only the 32-bit styles, which Linux's pcnet32 uses) are kept,
 * and at each INIT the ring's address and length are read from the init
 * block, only inside the DMA region the device is granted.
 */
#include <stdio.h>
#include <string.h>

#include "qemu.h"

#define RTL_CAPR 0x38
#define RTL_INTR_MASK 0x3c
#define RTL_CHIP_CMD 0x37
#define RTL_CP_CMD 0xe0
#define RTL_RX_OVERFLOW 0x10
#define RTL_CMD_RESET 0x10
#define RTL_CPLUS_RX 0x0002

/* Read, or write (posted), @size bytes at @addr in the space of the watched BAR. */
static int access(struct qemu_machine *p, const struct qemu_watch *w, uint64_t addr,
		  unsigned size, uint64_t *v, bool write)
{
	uint32_t x = (uint32_t)*v;
	int r;

	if (w->io) {
		r = write ? p->base.ops->pio_write(&p->base, (uint16_t)addr, size, x, true) :
			    p->base.ops->pio_read(&p->base, (uint16_t)addr, size, &x);
		*v = x;
		return r;
	}
	return write ? p->base.ops->mmio_write(&p->base, addr, size, *v, true) :
		       p->base.ops->mmio_read(&p->base, addr, size, v);
}

static void rtl8139(struct qemu_machine *p, struct qemu_watch *w, uint64_t offset,
		    unsigned size, uint64_t value)
{
	uint64_t capr = 0;

	if ((offset == RTL_CP_CMD && size >= 2) || (offset == RTL_CHIP_CMD && (value & RTL_CMD_RESET)))
		/* C+ receive on: no flow control; a reset turns C+ mode off (both BARs) */
		for (unsigned i = 0; i < p->nwatch; i++)
			if (p->watch[i].bdf == w->bdf)
				p->watch[i].state[0] = offset == RTL_CP_CMD ? value & RTL_CPLUS_RX : 0;
	if (offset != RTL_INTR_MASK || size < 2 || !(value & RTL_RX_OVERFLOW) || w->state[0])
		return;
	/* no access of the driver's comes between (one event loop): CAPR is its own */
	if (!access(p, w, w->base + RTL_CAPR, 2, &capr, false))
		access(p, w, w->base + RTL_CAPR, 2, &capr, true);	/* posted */
}

#define PCNET_RDP 0x10
#define PCNET_RAP16 0x12	/* 16-bit I/O (WIO); BDP at 0x16 */
#define PCNET_BDP16 0x16
#define PCNET_RAP32 0x14	/* 32-bit I/O (DWIO); BDP at 0x1c */
#define PCNET_BDP32 0x1c
#define PCNET_CSR0_INIT 0x0001
#define PCNET_RX_OWN 0x8000
#define PCNET_DESC32 16		/* a 32-bit style descriptor; status at +6 */

/* @len bytes at bus address @bus, inside the DMA region of device @bdf; NULL if not. */
static void *dma_at(struct qemu_machine *p, uint32_t bdf, uint64_t bus, uint64_t len)
{
	for (unsigned d = 0; d < p->ndev; d++) {
		const struct platform_region *r;

		if (p->dev[d].bdf != bdf || !p->dma_region[d])
			continue;
		r = &p->region[p->dma_region[d]];
		if (!r->map || bus < r->bus || len > r->size || bus - r->bus > r->size - len)
			return NULL;
		return (char *)r->map + (bus - r->bus);
	}
	return NULL;
}

/* The device's quirk state: in the first of its watched BARs. */
static uint64_t *device_state(struct qemu_machine *p, uint32_t bdf)
{
	for (unsigned i = 0; i < p->nwatch; i++)
		if (p->watch[i].bdf == bdf)
			return p->watch[i].state;
	return NULL;
}

/*
 * state[0]: RAP (bits 0-6), BCR20's software style (bits 8-15);
 * state[1]: the init block's address (CSR2 << 16 | CSR1);
 * state[2]: the bus address of the last receive descriptor (0: none known).
 */
static void pcnet(struct qemu_machine *p, struct qemu_watch *w, uint64_t offset, unsigned size,
		  uint64_t value)
{
	uint64_t *st = device_state(p, w->bdf);
	unsigned rap, style;

	if (!st)
		return;
	rap = st[0] & 0x7f;
	style = (st[0] >> 8) & 0xff;
	if ((offset == PCNET_RAP16 && size == 2) || (offset == PCNET_RAP32 && size == 4)) {
		st[0] = (st[0] & ~0x7full) | (value & 0x7f);
		return;
	}
	if ((offset == PCNET_BDP16 && size == 2) || (offset == PCNET_BDP32 && size == 4)) {
		if (rap == 20)	/* BCR20, SWSTYLE */
			st[0] = (st[0] & ~0xff00ull) | (value & 0xff) << 8;
		return;
	}
	if (offset != PCNET_RDP || (size != 2 && size != 4))
		return;
	if (rap == 1 || rap == 2) {	/* the init block's address, 16 bits each */
		unsigned shift = rap == 1 ? 0 : 16;

		st[1] = (st[1] & ~(0xffffull << shift)) | (value & 0xffff) << shift;
		return;
	}
	if (rap != 0)
		return;
	/* CSR0 */
	if (value & PCNET_CSR0_INIT) {
		/* 32-bit init block: rlen in byte 2's high nibble, the ring's address at 20 */
		const uint8_t *ib = dma_at(p, w->bdf, st[1], 28);
		uint64_t was = st[2];
		uint32_t rdra;
		unsigned rlen;

		st[2] = 0;
		if (!ib || (style != 2 && style != 3))
			return;
		memcpy(&rdra, ib + 20, 4);
		rlen = ib[2] >> 4;
		st[2] = rdra + ((rlen < 9 ? 1u << rlen : 512) - 1) * (uint64_t)PCNET_DESC32;
		if (st[2] != was)
			fprintf(stderr, "qemu: pcnet %02x:%02x.%x: the last receive descriptor (0x%llx) "
				"is kept from the model, whose scan skips it (docs/machine.md)\n",
				w->bdf >> 8, (w->bdf >> 3) & 0x1f, w->bdf & 7,
				(unsigned long long)st[2]);
	}
	if (!st[2])
		return;
	uint16_t *status = dma_at(p, w->bdf, st[2] + 6, 2), owned = PCNET_RX_OWN;

	if (status && ((uintptr_t)status & 1) == 0)
		__atomic_compare_exchange_n(status, &owned, 0, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
}

static const struct quirk {
	uint16_t vendor, device;
	void (*after_write)(struct qemu_machine *p, struct qemu_watch *w, uint64_t offset,
			    unsigned size, uint64_t value);
} quirks[] = {
	{ 0x10ec, 0x8139, rtl8139 },	/* receive resumes after an unmask */
	{ 0x1022, 0x2000, pcnet },	/* the last receive descriptor is never the model's */
};

void qemu_quirks_setup(struct qemu_machine *p)
{
	p->nwatch = 0;
	for (unsigned d = 0; d < p->ndev; d++)
		for (unsigned q = 0; q < sizeof(quirks) / sizeof(quirks[0]); q++) {
			if (p->dev[d].vendor != quirks[q].vendor ||
			    p->dev[d].device != quirks[q].device)
				continue;
			for (unsigned b = 0; b < 6 && p->nwatch < QEMU_MAX_WATCH; b++) {
				const struct ddeio_res *bar = &p->dev[d].bar[b];

				if (bar->kind == DDEIO_RES_NONE || !bar->size)
					continue;
				p->watch[p->nwatch++] = (struct qemu_watch){
					.io = bar->kind == DDEIO_RES_IO, .base = bar->start,
					.size = bar->size, .bdf = p->dev[d].bdf,
					.after_write = quirks[q].after_write };
			}
		}
}

void qemu_quirks_write(struct qemu_machine *p, bool io, uint64_t addr, unsigned size,
		       uint64_t value)
{
	for (unsigned i = 0; i < p->nwatch; i++) {
		struct qemu_watch *w = &p->watch[i];

		if (w->io == io && addr >= w->base && addr - w->base < w->size) {
			w->after_write(p, w, addr - w->base, size, value);
			return;
		}
	}
}
