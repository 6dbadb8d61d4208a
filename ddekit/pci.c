/* ddekit PCI: the granted devices and their config space. */
#include <errno.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "client.h"

static struct ddekit_pci_dev devs[DDEIO_MAX_DEVICES];
static unsigned ndevs;
static const struct ddeio_grant *converted;

/* Translate the grant into ddekit's own types, once. */
static void convert(void)
{
	const struct ddeio_grant *g = ddeio_grant();

	if (g == converted)
		return;
	converted = g;
	ndevs = g ? g->ndev : 0;
	for (unsigned i = 0; i < ndevs; i++) {
		const struct ddeio_device *s = &g->dev[i];
		struct ddekit_pci_dev *d = &devs[i];

		memset(d, 0, sizeof(*d));
		d->bus = DDEIO_BDF_BUS(s->bdf);
		d->slot = DDEIO_BDF_SLOT(s->bdf);
		d->func = DDEIO_BDF_FUNC(s->bdf);
		d->vendor = s->vendor;
		d->device = s->device;
		d->subsystem_vendor = s->subsystem_vendor;
		d->subsystem_device = s->subsystem_device;
		d->class_code = s->class_code;
		d->revision = s->revision;
		d->irq_pin = s->irq_pin;
		d->irq = s->irq == DDEIO_IRQ_NONE ? DDEKIT_IRQ_NONE : s->irq;
		for (unsigned b = 0; b < DDEKIT_PCI_BARS; b++) {
			static const enum ddekit_bar_kind kind[] = {
				[DDEIO_RES_NONE] = DDEKIT_BAR_NONE, [DDEIO_RES_IO] = DDEKIT_BAR_IO,
				[DDEIO_RES_MEM32] = DDEKIT_BAR_MEM32,
				[DDEIO_RES_MEM64] = DDEKIT_BAR_MEM64,
			};

			d->bar[b].kind = kind[s->bar[b].kind & 3];
			d->bar[b].prefetchable = !!(s->bar[b].flags & DDEIO_RES_PREFETCH);
			d->bar[b].addr = s->bar[b].start;
			d->bar[b].size = s->bar[b].size;
		}
	}
}

unsigned ddekit_pci_count(void)
{
	convert();
	return ndevs;
}

const struct ddekit_pci_dev *ddekit_pci_device(unsigned index)
{
	convert();
	return index < ndevs ? &devs[index] : NULL;
}

int ddekit_pci_config_read(unsigned index, unsigned offset, unsigned size,
			   uint32_t *value)
{
	struct ddeio_msg m = { .op = DDEIO_OP_CONFIG_READ, .dev = index, .addr = offset,
			       .size = size };
	int r = ddeio_call(&m, NULL, 0, NULL, NULL);

	*value = r ? 0xffffffffu : (uint32_t)m.value;
	return r;
}

int ddekit_pci_config_write(unsigned index, unsigned offset, unsigned size,
			    uint32_t value)
{
	struct ddeio_msg m = { .op = DDEIO_OP_CONFIG_WRITE, .dev = index, .addr = offset,
			       .size = size, .value = value };

	return ddeio_call(&m, NULL, 0, NULL, NULL);
}
