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
 */
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
				p->watch[i].state = offset == RTL_CP_CMD ? value & RTL_CPLUS_RX : 0;
	if (offset != RTL_INTR_MASK || size < 2 || !(value & RTL_RX_OVERFLOW) || w->state)
		return;
	/* no access of the driver's comes between (one event loop): CAPR is its own */
	if (!access(p, w, w->base + RTL_CAPR, 2, &capr, false))
		access(p, w, w->base + RTL_CAPR, 2, &capr, true);	/* posted */
}

static const struct quirk {
	uint16_t vendor, device;
	void (*after_write)(struct qemu_machine *p, struct qemu_watch *w, uint64_t offset,
			    unsigned size, uint64_t value);
} quirks[] = {
	{ 0x10ec, 0x8139, rtl8139 },	/* receive resumes after an unmask */
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
