/*
 * testdev_util — what the testdev drivers share: register accessors on
 * a mapped BAR, a bounded register poll, and the common part of each
 * driver (device, registers, interrupt line and its semaphore).
 * Header-only (static inline), so each testdev_*.c links on its own.
 */
#ifndef TESTDEV_UTIL_H
#define TESTDEV_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ddekit/ddekit.h>

/* 32-bit register read; a failed read is logged by the caller's wrapper. */
static inline int testdev_rd32(volatile uint8_t *bar, unsigned off,
			       uint32_t *val)
{
	uint64_t v = 0;
	int err = ddekit_mmio_read(bar + off, 4, &v);

	*val = (uint32_t)v;
	return err;
}

/* Posted 32-bit register write; ddekit stops the driver if refused. */
static inline void testdev_wr32(volatile uint8_t *bar, unsigned off,
				uint32_t val)
{
	ddekit_mmio_write(bar + off, 4, val);
}

/*
 * Poll register @off until (value & @mask) == @want, sleeping @sleep_us
 * between reads: every read is a round trip to the I/O server, so tight
 * loops would only load it. *@last gets the last value read.
 * Returns 0, -ETIMEDOUT or the read error.
 */
static inline int testdev_poll32(volatile uint8_t *bar, unsigned off,
				 uint32_t mask, uint32_t want,
				 unsigned timeout_ms, unsigned sleep_us,
				 uint32_t *last)
{
	uint64_t deadline = ddekit_clock_ns() + timeout_ms * 1000000ull;
	uint32_t v = 0;
	int err;

	for (;;) {
		err = testdev_rd32(bar, off, &v);
		if (last)
			*last = v;
		if (err)
			return err;
		if ((v & mask) == want)
			return 0;
		if (ddekit_clock_ns() > deadline)
			return -ETIMEDOUT;
		ddekit_thread_sleep_us(sleep_us);
	}
}

/* ddekit_dma_free() that tolerates NULL, for partial-setup unwinding. */
static inline void testdev_dma_free(void *ptr)
{
	if (ptr)
		ddekit_dma_free(ptr);
}

/* "00:02.0" for device index @dev, for log lines. */
static inline const char *testdev_slot(unsigned dev, char buf[16])
{
	const struct ddekit_pci_dev *p = ddekit_pci_device(dev);

	if (!p)
		snprintf(buf, 16, "dev%u", dev);
	else
		snprintf(buf, 16, "%02x:%02x.%x", p->bus, p->slot, p->func);
	return buf;
}

/* What every testdev driver has: a device, its registers, its interrupt. */
struct testdev_base {
	unsigned dev;
	const char *kind;		/* "e1000", ... for log lines */
	char slot[16];			/* "00:02.0" */
	volatile uint8_t *regs;		/* for the accessors only */
	unsigned irq;
	bool irq_attached;
	struct ddekit_sem *irq_sem;	/* handler -> waiter */
};

#define testdev_err(b, fmt, ...) \
	ddekit_log(DDEKIT_LOG_ERROR, "%s %s: " fmt, (b)->kind, (b)->slot, \
		   ##__VA_ARGS__)

/* Fill @b for device @dev and map its memory BAR @bar. */
static inline int testdev_base_init(struct testdev_base *b, unsigned dev,
				    unsigned bar, const char *kind)
{
	const struct ddekit_pci_dev *p = ddekit_pci_device(dev);
	size_t size;

	b->dev = dev;
	b->kind = kind;
	testdev_slot(dev, b->slot);
	b->irq = p ? p->irq : DDEKIT_IRQ_NONE;
	if (!p || (p->bar[bar].kind != DDEKIT_BAR_MEM32 &&
		   p->bar[bar].kind != DDEKIT_BAR_MEM64)) {
		testdev_err(b, "BAR%u is not a memory BAR", bar);
		return -ENODEV;
	}
	b->regs = ddekit_mmio_map(dev, bar, &size);
	if (!b->regs) {
		testdev_err(b, "cannot map BAR%u: %s", bar, ddekit_last_error());
		return -ENODEV;
	}
	b->irq_sem = ddekit_sem_create(0);
	if (!b->irq_sem) {
		testdev_err(b, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Attach @handler(@arg) to the device's interrupt line. */
static inline int testdev_base_attach(struct testdev_base *b,
				      void (*handler)(void *), void *arg)
{
	int err;

	if (b->irq == DDEKIT_IRQ_NONE) {
		testdev_err(b, "no interrupt line");
		return -ENODEV;
	}
	err = ddekit_irq_attach(b->irq, handler, arg);
	if (err) {
		testdev_err(b, "cannot attach interrupt %u: %s", b->irq,
			    strerror(-err));
		return err;
	}
	b->irq_attached = true;
	return 0;
}

/* Undo init and attach, as far as they got. */
static inline void testdev_base_fini(struct testdev_base *b)
{
	if (b->irq_attached)
		ddekit_irq_detach(b->irq);
	if (b->irq_sem)
		ddekit_sem_destroy(b->irq_sem);
}

/* Forget wake-ups left over from earlier interrupts. */
static inline void testdev_drain_sem(struct testdev_base *b)
{
	while (ddekit_sem_down(b->irq_sem, 1) == 0)
		;
}

/*
 * From IDENTIFY DEVICE data (the AHCI and IDE drivers): the size in
 * sectors (LBA48 if supported, else LBA28) and the model string, whose
 * words are big-endian and padded with spaces (trimmed here).
 */
static inline void testdev_ata_identity(const uint16_t *id, uint64_t *sectors,
					char model[41])
{
	unsigned i, len = 40;

	for (i = 0; i < 20; i++) {
		model[2 * i] = (char)(id[27 + i] >> 8);
		model[2 * i + 1] = (char)id[27 + i];
	}
	while (len > 0 && (model[len - 1] == ' ' || !model[len - 1]))
		len--;
	model[len] = 0;
	if (id[83] & (1u << 10)) {	/* LBA48 supported */
		*sectors = 0;
		for (i = 0; i < 4; i++)
			*sectors |= (uint64_t)id[100 + i] << (16 * i);
	} else {
		*sectors = id[60] | (uint32_t)id[61] << 16;
	}
}

/*
 * Bus mastering on, once the device is reset: a device another driver had
 * comes with it off (ddeio turned it off when that driver ended).
 */
static inline void testdev_bus_master(unsigned dev)
{
	uint32_t cmd = 0;

	if (!ddekit_pci_config_read(dev, 0x04, 2, &cmd) && !(cmd & 0x4))
		ddekit_pci_config_write(dev, 0x04, 2, cmd | 0x4);
}

#endif
