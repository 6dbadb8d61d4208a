/*
 * ddeio's requests on granted devices: config space, ports, MMIO, DMA
 * memory, interrupt lines, MSI vectors and BAR mappings. Each is checked
 * against the client's grant first; a refusal names the driver, the
 * device and the resource.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/slot.h"
#include "../platform/platform.h"
#include "log.h"
#include "msi.h"
#include "state.h"

/* ---- grant checks ---- */

static const struct ddeio_res *find_res(struct server *s, const struct client *c,
					bool io, uint64_t addr, unsigned size,
					unsigned *dev_out)
{
	for (unsigned i = 0; i < c->ndev; i++) {
		const struct ddeio_device *d = platform_device(s->p, c->dev[i]);

		for (unsigned b = 0; b < 6 + DDEIO_LEGACY_RES; b++) {
			const struct ddeio_res *r = b < 6 ? &d->bar[b] : &d->legacy[b - 6];

			if (r->kind == DDEIO_RES_NONE || (r->kind == DDEIO_RES_IO) != io)
				continue;
			if (addr >= r->start && addr + size <= r->start + r->size &&
			    addr + size > addr) {
				*dev_out = i;
				return r;
			}
		}
	}
	return NULL;
}

/* Who owns @addr on the machine, for the refusal message. */
static void describe_owner(struct server *s, bool io, uint64_t addr, char *out,
			   size_t cap)
{
	for (unsigned i = 0; i < platform_device_count(s->p); i++) {
		const struct ddeio_device *d = platform_device(s->p, i);

		for (unsigned b = 0; b < 6 + DDEIO_LEGACY_RES; b++) {
			const struct ddeio_res *r = b < 6 ? &d->bar[b] : &d->legacy[b - 6];
			char slot[16];

			if (r->kind == DDEIO_RES_NONE || (r->kind == DDEIO_RES_IO) != io ||
			    addr < r->start || addr >= r->start + r->size)
				continue;
			slot_format(d->bdf, slot);
			if (b < 6)
				snprintf(out, cap, "it belongs to %s BAR%u, %s", slot, b,
					 s->dev_owner[i] ? "granted to another driver" :
					 "not granted to this driver");
			else
				snprintf(out, cap, "it belongs to %s (legacy ports)", slot);
			return;
		}
	}
	snprintf(out, cap, "no device decodes it");
}

static bool line_granted(struct server *s, const struct client *c, uint64_t line)
{
	for (unsigned i = 0; i < c->ndev; i++) {
		const struct ddeio_device *d = platform_device(s->p, c->dev[i]);

		if (line != DDEIO_IRQ_NONE &&
		    (d->irq == line || d->legacy_irq[0] == line || d->legacy_irq[1] == line))
			return true;
	}
	return false;
}

static bool valid_access_size(uint32_t size, uint32_t max)
{
	return (size == 1 || size == 2 || size == 4 || size == 8) && size <= max;
}

/* ---- requests ---- */

int do_config(struct server *s, struct client *c, const struct ddeio_msg *m,
	      struct reply *r)
{
	const struct ddeio_device *d;
	char slot[16];
	uint32_t v = 0;
	int rc;

	if (m->dev >= c->ndev)
		return refuse(c, r, -EACCES, "driver '%s' asked for the config space of device "
			      "#%u, but holds %u device(s)", c->name, m->dev, c->ndev);
	d = platform_device(s->p, c->dev[m->dev]);
	slot_format(d->bdf, slot);
	if (!valid_access_size(m->size, 4) || m->addr + m->size > 256 || m->addr % m->size)
		return refuse(c, r, -EINVAL, "driver '%s': bad config access to %s at 0x%llx, "
			      "size %u", c->name, slot, (unsigned long long)m->addr, m->size);
	if (m->op == DDEIO_OP_CONFIG_READ) {
		rc = platform_config_read(s->p, d->bdf, (unsigned)m->addr, m->size, &v);
		r->m.value = v;
		return rc;
	}
	if ((m->addr < 0x28 && m->addr + m->size > 0x10) ||
	    (m->addr < 0x34 && m->addr + m->size > 0x30))
		return refuse(c, r, -EPERM, "driver '%s' may not write %s config 0x%llx: BARs "
			      "and the ROM BAR belong to the platform", c->name, slot,
			      (unsigned long long)m->addr);
	if (msi_owns_config(s->p, d, (unsigned)m->addr, m->size))
		return refuse(c, r, -EPERM, "driver '%s' may not write %s config 0x%llx: the "
			      "MSI/MSI-X capability is the I/O server's (ask for vectors)",
			      c->name, slot, (unsigned long long)m->addr);
	return platform_config_write(s->p, d->bdf, (unsigned)m->addr, m->size,
				     (uint32_t)m->value);
}

int do_access(struct server *s, struct client *c, const struct ddeio_msg *m,
	      struct reply *r)
{
	bool io = m->op == DDEIO_OP_PIO_READ || m->op == DDEIO_OP_PIO_WRITE;
	bool write = m->op == DDEIO_OP_PIO_WRITE || m->op == DDEIO_OP_MMIO_WRITE;
	bool posted = write && (m->flags & DDEIO_F_POSTED);
	unsigned dev;
	char why[128];
	int rc;

	if (!valid_access_size(m->size, io ? 4 : 8))
		return refuse(c, r, -EINVAL, "driver '%s': bad %s access size %u", c->name,
			      io ? "port" : "MMIO", m->size);
	if (!find_res(s, c, io, m->addr, m->size, &dev)) {
		describe_owner(s, io, m->addr, why, sizeof(why));
		return refuse(c, r, -EACCES, "driver '%s' may not %s %s 0x%llx (%u bytes): %s",
			      c->name, write ? "write" : "read", io ? "I/O port" : "MMIO address",
			      (unsigned long long)m->addr, m->size, why);
	}
	if (io) {
		uint32_t v = 0;

		if (write)
			return platform_pio_write(s->p, (uint16_t)m->addr, m->size,
						  (uint32_t)m->value, posted);
		rc = platform_pio_read(s->p, (uint16_t)m->addr, m->size, &v);
		r->m.value = v;
		return rc;
	}
	if (write && msi_owns_mmio(s->p, platform_device(s->p, c->dev[dev]), m->addr, m->size))
		return refuse(c, r, -EPERM, "driver '%s' may not write MMIO address 0x%llx: the "
			      "MSI-X table is the I/O server's (ask for vectors)", c->name,
			      (unsigned long long)m->addr);
	if (write)
		return platform_mmio_write(s->p, m->addr, m->size, m->value, posted);
	return platform_mmio_read(s->p, m->addr, m->size, &r->m.value);
}

/* rep ins/outs: many elements at one port in one request */
int do_pio_rep(struct server *s, struct client *c, const struct ddeio_msg *m,
	       const char *payload, size_t plen, struct reply *r)
{
	bool write = m->op == DDEIO_OP_PIO_WRITE_REP;
	uint64_t count = write ? (m->size ? plen / m->size : 0) : m->value;
	unsigned dev;
	char why[128];
	int rc;

	if (!valid_access_size(m->size, 4) || (write && plen % m->size) ||
	    count * m->size > DDEIO_MAX_PAYLOAD)
		return refuse(c, r, -EINVAL, "driver '%s': bad string port access (%llu x %u bytes)",
			      c->name, (unsigned long long)count, m->size);
	if (!find_res(s, c, true, m->addr, m->size, &dev)) {
		describe_owner(s, true, m->addr, why, sizeof(why));
		return refuse(c, r, -EACCES, "driver '%s' may not %s I/O port 0x%llx (%u bytes): %s",
			      c->name, write ? "write" : "read", (unsigned long long)m->addr,
			      m->size, why);
	}
	if (write)
		return platform_pio_write_rep(s->p, (uint16_t)m->addr, m->size, payload,
					      (unsigned)count, m->flags & DDEIO_F_POSTED);
	rc = platform_pio_read_rep(s->p, (uint16_t)m->addr, m->size, r->payload, (unsigned)count);
	if (!rc)
		r->len = count * m->size;
	return rc;
}

int do_mem(struct server *s, struct client *c, const struct ddeio_msg *m,
	   const char *payload, size_t plen, struct reply *r)
{
	const struct platform_region *reg = c->region ? platform_region(s->p, c->region) : NULL;
	uint64_t len = m->op == DDEIO_OP_MEM_READ ? m->size : plen;

	if (len > DDEIO_MAX_PAYLOAD)
		return refuse(c, r, -EINVAL, "driver '%s': memory access of %llu bytes "
			      "(at most %d)", c->name, (unsigned long long)len, DDEIO_MAX_PAYLOAD);
	if (!reg)
		return refuse(c, r, -EACCES, "driver '%s' may not access memory 0x%llx+%llu: "
			      "it has no DMA memory", c->name, (unsigned long long)m->addr,
			      (unsigned long long)len);
	if (m->addr < reg->bus || m->addr + len > reg->bus + reg->size || m->addr + len < m->addr)
		return refuse(c, r, -EACCES, "driver '%s' may not access memory 0x%llx+%llu: "
			      "its DMA memory is 0x%llx-0x%llx", c->name,
			      (unsigned long long)m->addr, (unsigned long long)len,
			      (unsigned long long)reg->bus,
			      (unsigned long long)(reg->bus + reg->size - 1));
	if (m->op == DDEIO_OP_MEM_READ) {
		memcpy(r->payload, (char *)reg->map + (m->addr - reg->bus), len);
		r->len = len;
	} else {
		memcpy((char *)reg->map + (m->addr - reg->bus), payload, len);
	}
	return 0;
}

int do_irq(struct server *s, struct client *c, const struct ddeio_msg *m,
	   struct reply *r)
{
	if (m->addr >= MAX_LINES || !line_granted(s, c, m->addr))
		return refuse(c, r, -EACCES, "driver '%s' may not use interrupt line %llu: "
			      "none of its devices is wired to it", c->name,
			      (unsigned long long)m->addr);
	if (m->op == DDEIO_OP_IRQ_MASK) {
		c->line[m->addr] = LINE_MASKED;
		return 0;
	}
	/*
	 * Level-triggered: still asserted means deliver again now. The
	 * driver's posted writes (acknowledging the device) must have taken
	 * effect first, or the line looks asserted when it no longer is; and
	 * the line is enabled only afterwards, so that a raise seen while
	 * syncing is not delivered twice.
	 */
	if (platform_sync(s->p) == -EPIPE)
		return refuse(c, r, -EIO, "the machine is gone");
	c->line[m->addr] = LINE_ENABLED;
	platform_irq_unmask(s->p, (unsigned)m->addr);
	if (platform_irq_level(s->p, (unsigned)m->addr))
		deliver_irq(c, (unsigned)m->addr);
	return 0;
}

/* MSI_ENABLE / MSI_DISABLE: vectors routed to eventfds the reply carries. */
int do_msi(struct server *s, struct client *c, const struct ddeio_msg *m,
	   struct reply *r)
{
	const struct ddeio_device *d;
	enum ddeio_msi_kind used;
	char slot[16], why[160];
	uint64_t addr = 0;
	int n;

	if (m->dev >= c->ndev)
		return refuse(c, r, -EACCES, "driver '%s' asked for interrupt vectors of device "
			      "#%u, but holds %u device(s)", c->name, m->dev, c->ndev);
	d = platform_device(s->p, c->dev[m->dev]);
	if (m->op == DDEIO_OP_MSI_DISABLE) {
		msi_disable(s->p, d, c->region);
		return 0;
	}
	slot_format(d->bdf, slot);
	if (m->size > DDEIO_MSI_MSI || m->addr > m->value)
		return refuse(c, r, -EINVAL, "driver '%s': bad vector request for %s", c->name,
			      slot);
	n = msi_enable(s->p, d, c->region, (enum ddeio_msi_kind)m->size, (unsigned)m->addr,
		       m->value > DDEIO_MAX_VECTORS ? DDEIO_MAX_VECTORS : (unsigned)m->value,
		       r->fd, &used, &addr, why, sizeof(why));
	if (n < 0) {
		snprintf(r->payload, sizeof(r->payload), "no message-signalled interrupts for "
			 "%s of driver '%s': %s", slot, c->name, why);
		r->len = strlen(r->payload) + 1;
		return n;
	}
	r->nfd = (unsigned)n;
	r->close_fds = true;
	r->m.value = (unsigned)n;
	r->m.size = used;
	log_info("driver '%s': %s sends %u %s vector(s) to 0x%llx, each straight to the driver",
		 c->name, slot, n, used == DDEIO_MSI_MSIX ? "MSI-X" : "MSI",
		 (unsigned long long)addr);
	return 0;
}

/* BAR_MAP: the fd a driver may map its BAR from, where the platform allows. */
int do_bar_map(struct server *s, struct client *c, const struct ddeio_msg *m,
	       struct reply *r)
{
	const struct ddeio_device *d;
	uint64_t offset;
	int fd, rc;

	if (m->dev >= c->ndev || m->addr >= 6)
		return refuse(c, r, -EACCES, "driver '%s' asked to map BAR %llu of device #%u, "
			      "but holds %u device(s)", c->name, (unsigned long long)m->addr,
			      m->dev, c->ndev);
	d = platform_device(s->p, c->dev[m->dev]);
	if (d->bar[m->addr].kind != DDEIO_RES_MEM32 && d->bar[m->addr].kind != DDEIO_RES_MEM64)
		return refuse(c, r, -EINVAL, "driver '%s': BAR %llu is not a memory BAR", c->name,
			      (unsigned long long)m->addr);
	rc = platform_bar_map(s->p, d->bdf, (unsigned)m->addr, &fd, &offset);
	if (rc)
		return rc;	/* (not a refusal: the driver traps its accesses instead) */
	r->fd[r->nfd++] = fd;	/* the platform's: not closed */
	r->m.value = offset;
	c->bars_mapped = true;
	return 0;
}
