/*
 * ddeio's side of MSI and MSI-X: the device's capability (and MSI-X table)
 * are programmed by ddeio alone, with the address and data the platform
 * routes to eventfds; drivers get the eventfds and may not write either.
 */
#ifndef DDEIO_MSI_H
#define DDEIO_MSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ddeio/protocol.h>

struct platform;

/*
 * Route between @min and @max vectors of device @d (DMA region @region) of
 * @kind (DDEIO_MSI_ANY: MSI-X if the device has it) to eventfds in @fds
 * and turn them on at the device; INTx is disabled. Returns the count, or
 * -errno with a reason in @why. *@used: the kind taken, *@addr: where its
 * messages go.
 */
int msi_enable(struct platform *p, const struct ddeio_device *d, unsigned region,
	       enum ddeio_msi_kind kind, unsigned min, unsigned max, int *fds,
	       enum ddeio_msi_kind *used, uint64_t *addr, char *why, size_t whylen);

/* Messages off, INTx back on, routes taken away (also when its driver goes). */
void msi_disable(struct platform *p, const struct ddeio_device *d, unsigned region);

/* Whether a driver's write would touch what ddeio owns: the MSI or MSI-X
 * capability in config space, or the MSI-X table in a BAR. */
bool msi_owns_config(struct platform *p, const struct ddeio_device *d, unsigned offset,
		     unsigned size);
bool msi_owns_mmio(struct platform *p, const struct ddeio_device *d, uint64_t addr,
		   unsigned size);

/* Device @bdf is gone (unplugged): what was learnt of its capabilities goes
 * (another device may come at its address). */
void msi_forget(uint32_t bdf);

#endif
