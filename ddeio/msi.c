/*
 * MSI and MSI-X, as the PCI spec lays them out: found by walking the
 * capability list once per device (kept), programmed through the
 * platform's config and MMIO accesses.
 */
#include "msi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../platform/platform.h"

#define CAP_MSI 0x05
#define CAP_MSIX 0x11
#define MSI_ENABLE 0x0001u
#define MSI_64BIT 0x0080u
#define MSI_MASKBIT 0x0100u
#define MSIX_ENABLE 0x8000u
#define MSIX_MASKALL 0x4000u
#define CMD_INTX_OFF 0x0400u

struct caps {
	bool probed;
	uint32_t bdf;
	uint8_t msi, msix;		/* capability offsets, 0: none */
	uint16_t msi_ctrl;
	unsigned table_size;		/* MSI-X entries */
	uint64_t table;			/* the MSI-X table's bus address */
	enum ddeio_msi_kind on;		/* enabled now: MSIX or MSI, ANY: off */
};

#define MAX_DEVICES 64

static struct caps caps[MAX_DEVICES];	/* by bdf, filled as devices are first seen */
static struct caps no_caps = { .probed = true };	/* for a 65th device: no MSI */

static uint32_t cfg(struct platform *p, uint32_t bdf, unsigned off, unsigned size)
{
	uint32_t v = 0;

	if (platform_config_read(p, bdf, off, size, &v))
		return 0;
	return v;
}

static struct caps *probe(struct platform *p, const struct ddeio_device *d)
{
	struct caps *c = NULL;

	for (unsigned i = 0; i < MAX_DEVICES; i++)
		if (caps[i].probed && caps[i].bdf == d->bdf)
			return &caps[i];
	for (unsigned i = 0; i < MAX_DEVICES && !c; i++)
		if (!caps[i].probed)
			c = &caps[i];
	if (!c)
		return &no_caps;
	*c = (struct caps){ .probed = true, .bdf = d->bdf };
	if (!(cfg(p, d->bdf, 0x06, 2) & 0x10))	/* no capability list */
		return c;
	unsigned off = cfg(p, d->bdf, 0x34, 1) & 0xfc;

	for (int n = 0; off >= 0x40 && n < 48; n++) {
		unsigned id = cfg(p, d->bdf, off, 1);

		if (id == CAP_MSI && !c->msi) {
			c->msi = (uint8_t)off;
			c->msi_ctrl = (uint16_t)cfg(p, d->bdf, off + 2, 2);
		} else if (id == CAP_MSIX && !c->msix) {
			uint32_t t = cfg(p, d->bdf, off + 4, 4);
			const struct ddeio_res *tb = &d->bar[t & 7];

			if ((t & 7) < 6 && tb->kind >= DDEIO_RES_MEM32) {
				c->msix = (uint8_t)off;
				c->table_size = (cfg(p, d->bdf, off + 2, 2) & 0x7ff) + 1;
				c->table = tb->start + (t & ~7u);
			}
		}
		off = cfg(p, d->bdf, off + 1, 1) & 0xfc;
	}
	return c;
}

#define NO_MSI "this machine delivers no message-signalled interrupts (--msi off)"

static unsigned pow2_ceil(unsigned n)
{
	unsigned v = 1;

	while (v < n)
		v *= 2;
	return v;
}

static void intx(struct platform *p, uint32_t bdf, bool on)
{
	uint32_t cmd = cfg(p, bdf, 0x04, 2);

	platform_config_write(p, bdf, 0x04, 2, on ? cmd & ~CMD_INTX_OFF : cmd | CMD_INTX_OFF);
}

static void msix_program(struct platform *p, const struct ddeio_device *d, struct caps *c,
			 unsigned n, uint64_t addr, uint32_t data)
{
	unsigned ctrl = cfg(p, d->bdf, c->msix + 2, 2);

	/* every vector masked while the table is written */
	platform_config_write(p, d->bdf, c->msix + 2, 2, ctrl | MSIX_ENABLE | MSIX_MASKALL);
	for (unsigned k = 0; k < c->table_size; k++) {
		uint64_t e = c->table + 16ull * k;

		platform_mmio_write(p, e + 0, 4, (uint32_t)addr, true);
		platform_mmio_write(p, e + 4, 4, (uint32_t)(addr >> 32), true);
		platform_mmio_write(p, e + 8, 4, data + k, true);
		platform_mmio_write(p, e + 12, 4, k < n ? 0 : 1, true);	/* masked if unused */
	}
	platform_sync(p);
	platform_config_write(p, d->bdf, c->msix + 2, 2, (ctrl | MSIX_ENABLE) & ~MSIX_MASKALL);
}

static void msi_program(struct platform *p, const struct ddeio_device *d, struct caps *c,
			unsigned n, uint64_t addr, uint32_t data)
{
	unsigned off = c->msi, data_off = c->msi_ctrl & MSI_64BIT ? off + 12 : off + 8;
	unsigned log2n = 0;

	while ((1u << log2n) < n)
		log2n++;	/* n vectors routed: a power of two for MSI */
	platform_config_write(p, d->bdf, off + 4, 4, (uint32_t)addr);
	if (c->msi_ctrl & MSI_64BIT)
		platform_config_write(p, d->bdf, off + 8, 4, (uint32_t)(addr >> 32));
	platform_config_write(p, d->bdf, data_off, 2, data);
	if (c->msi_ctrl & MSI_MASKBIT)
		platform_config_write(p, d->bdf, data_off + 4, 4, 0);	/* all unmasked */
	platform_config_write(p, d->bdf, off + 2, 2,
			      (c->msi_ctrl & ~0x70u) | log2n << 4 | MSI_ENABLE);
}

int msi_enable(struct platform *p, const struct ddeio_device *d, unsigned region,
	       enum ddeio_msi_kind kind, unsigned min, unsigned max, int *fds,
	       enum ddeio_msi_kind *used, uint64_t *addr_out, char *why, size_t whylen)
{
	struct caps *c = probe(p, d);
	int route[DDEIO_MAX_VECTORS];
	unsigned n, routed;
	uint64_t addr;
	uint32_t data;
	int rc;

	if (c->on != DDEIO_MSI_ANY) {
		snprintf(why, whylen, "its %s is on already", c->on == DDEIO_MSI_MSIX ? "MSI-X" : "MSI");
		return -EBUSY;
	}
	if (kind == DDEIO_MSI_ANY)
		kind = c->msix ? DDEIO_MSI_MSIX : DDEIO_MSI_MSI;
	if ((kind == DDEIO_MSI_MSIX && !c->msix) || (kind == DDEIO_MSI_MSI && !c->msi)) {
		snprintf(why, whylen, "the device has no %s capability",
			 kind == DDEIO_MSI_MSIX ? "MSI-X" : "MSI");
		return -ENODEV;
	}
	if (max > DDEIO_MAX_VECTORS)
		max = DDEIO_MAX_VECTORS;
	if (kind == DDEIO_MSI_MSIX)
		n = max < c->table_size ? max : c->table_size;
	else	/* MSI: up to what the device can send (a power of two) */
		n = max < 1u << ((c->msi_ctrl >> 1) & 7) ? max : 1u << ((c->msi_ctrl >> 1) & 7);
	if (!min || n < min) {
		snprintf(why, whylen, "it asked for %u..%u vectors, the device's %s has %u",
			 min, max, kind == DDEIO_MSI_MSIX ? "MSI-X" : "MSI", n);
		return -ENOSPC;
	}
	/* a backend that programs the device itself (vfio) */
	if (p->ops->msi_setup) {
		rc = platform_msi_setup(p, d->bdf, kind, n, fds);
		if (rc) {
			snprintf(why, whylen, "%s", rc == -EOPNOTSUPP ? NO_MSI :
				 "the platform could not turn them on");
			return rc;
		}
		c->on = kind;
		*used = kind;
		*addr_out = 0;
		return (int)n;
	}
	/* MSI sends 2^k messages, k = log2 of the count enabled: route them all */
	routed = kind == DDEIO_MSI_MSI ? pow2_ceil(n) : n;
	rc = platform_msi_route(p, d->bdf, region, routed, route, &addr, &data);
	if (rc) {
		snprintf(why, whylen, "%s", rc == -EOPNOTSUPP ? NO_MSI :
			 rc == -ENOSPC ? "no MSI route left for it (one remapper per device, "
					 "vectors not reused)" : "routing its messages failed");
		return rc;
	}
	for (unsigned k = 0; k < routed; k++) {
		if (k < n)
			fds[k] = route[k];
		else
			close(route[k]);
	}
	if (kind == DDEIO_MSI_MSIX)
		msix_program(p, d, c, n, addr, data);
	else
		msi_program(p, d, c, routed, addr, data);
	intx(p, d->bdf, false);
	c->on = kind;
	*used = kind;
	*addr_out = addr;
	return (int)n;
}

void msi_disable(struct platform *p, const struct ddeio_device *d, unsigned region)
{
	struct caps *c = probe(p, d);

	if (c->on != DDEIO_MSI_ANY && p->ops->msi_setup) {
		platform_msi_teardown(p, d->bdf);
		c->on = DDEIO_MSI_ANY;
		return;
	}
	if (c->on == DDEIO_MSI_MSIX) {
		unsigned ctrl = cfg(p, d->bdf, c->msix + 2, 2);

		platform_config_write(p, d->bdf, c->msix + 2, 2, ctrl & ~(MSIX_ENABLE | MSIX_MASKALL));
	} else if (c->on == DDEIO_MSI_MSI) {
		platform_config_write(p, d->bdf, c->msi + 2, 2, c->msi_ctrl & ~(MSI_ENABLE | 0x70u));
	} else {
		return;
	}
	platform_msi_unroute(p, d->bdf, region);
	intx(p, d->bdf, true);
	c->on = DDEIO_MSI_ANY;
}

static bool overlaps(uint64_t a, unsigned alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

bool msi_owns_config(struct platform *p, const struct ddeio_device *d, unsigned offset,
		     unsigned size)
{
	struct caps *c = probe(p, d);
	unsigned msi_len = 10 + (c->msi_ctrl & MSI_64BIT ? 4 : 0) +
			   (c->msi_ctrl & MSI_MASKBIT ? 10 : 0);

	return (c->msi && overlaps(offset, size, c->msi, msi_len)) ||
	       (c->msix && overlaps(offset, size, c->msix, 12));
}

bool msi_owns_mmio(struct platform *p, const struct ddeio_device *d, uint64_t addr,
		   unsigned size)
{
	struct caps *c = probe(p, d);

	return c->msix && overlaps(addr, size, c->table, 16ull * c->table_size);
}

void msi_forget(uint32_t bdf)
{
	for (unsigned i = 0; i < MAX_DEVICES; i++)
		if (caps[i].probed && caps[i].bdf == bdf)
			caps[i] = (struct caps){ 0 };
}
