/*
 * The platform seam: every call goes to the backend that started the
 * machine (platform.h). ddeio and the tests see only these functions.
 */
#define _GNU_SOURCE
#include "platform.h"
#include "../common/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/errtext.h"

struct platform *platform_start_on(const struct platform_ops *ops,
				   const struct machine_config *cfg, char *err, size_t errlen)
{
	if (!ops)
		ops = cfg->nvfio ? &platform_vfio_ops : &platform_qemu_ops;
	return ops->start(cfg, err, errlen);
}

struct platform *platform_start(const struct machine_config *cfg, char *err, size_t errlen)
{
	return platform_start_on(NULL, cfg, err, errlen);
}

void platform_stop(struct platform *p)
{
	if (p)
		p->ops->stop(p);
}

pid_t platform_pid(const struct platform *p)
{
	return p->ops->pid(p);
}

unsigned platform_device_count(const struct platform *p)
{
	return p->ops->device_count(p);
}

const struct ddeio_device *platform_device(const struct platform *p, unsigned index)
{
	return p->ops->device(p, index);
}

unsigned platform_region_count(const struct platform *p)
{
	return p->ops->region_count(p);
}

const struct platform_region *platform_region(const struct platform *p, unsigned index)
{
	return p->ops->region(p, index);
}

void platform_region_scrub(struct platform *p, unsigned index)
{
	p->ops->region_scrub(p, index);
}

int platform_config_read(struct platform *p, uint32_t bdf, unsigned offset, unsigned size,
			 uint32_t *value)
{
	return p->ops->config_read(p, bdf, offset, size, value);
}

int platform_config_write(struct platform *p, uint32_t bdf, unsigned offset, unsigned size,
			  uint32_t value)
{
	return p->ops->config_write(p, bdf, offset, size, value);
}

int platform_pio_read(struct platform *p, uint16_t port, unsigned size, uint32_t *value)
{
	return p->ops->pio_read(p, port, size, value);
}

int platform_pio_write(struct platform *p, uint16_t port, unsigned size, uint32_t value,
		       bool posted)
{
	return p->ops->pio_write(p, port, size, value, posted);
}

int platform_pio_read_rep(struct platform *p, uint16_t port, unsigned size, void *buf,
			  unsigned count)
{
	return p->ops->pio_read_rep(p, port, size, buf, count);
}

int platform_pio_write_rep(struct platform *p, uint16_t port, unsigned size, const void *buf,
			   unsigned count, bool posted)
{
	return p->ops->pio_write_rep(p, port, size, buf, count, posted);
}

int platform_mmio_read(struct platform *p, uint64_t addr, unsigned size, uint64_t *value)
{
	return p->ops->mmio_read(p, addr, size, value);
}

int platform_mmio_write(struct platform *p, uint64_t addr, unsigned size, uint64_t value,
			bool posted)
{
	return p->ops->mmio_write(p, addr, size, value, posted);
}

void platform_set_irq_handler(struct platform *p,
			      void (*handler)(void *ctx, unsigned line, bool level), void *ctx)
{
	p->ops->set_irq_handler(p, handler, ctx);
}

bool platform_irq_level(const struct platform *p, unsigned line)
{
	return p->ops->irq_level(p, line);
}

int platform_sync(struct platform *p)
{
	return p->ops->sync(p);
}

void platform_batch_posted(struct platform *p, bool on)
{
	if (p->ops->batch_posted)
		p->ops->batch_posted(p, on);
}

int platform_flush(struct platform *p)
{
	return p->ops->flush ? p->ops->flush(p) : 0;
}

int platform_event_fd(const struct platform *p)
{
	return p->ops->event_fd(p);
}

int platform_poll_events(struct platform *p)
{
	return p->ops->poll_events(p);
}

bool platform_iommu(const struct platform *p)
{
	return p->ops->iommu && p->ops->iommu(p);
}

int platform_dma_confine(struct platform *p, uint32_t bdf, unsigned region)
{
	return p->ops->dma_confine ? p->ops->dma_confine(p, bdf, region) : 0;
}

int platform_dma_faults(struct platform *p, struct platform_fault *f, unsigned max)
{
	return p->ops->dma_faults ? p->ops->dma_faults(p, f, max) : 0;
}

int platform_msi_route(struct platform *p, uint32_t bdf, unsigned region, unsigned count,
		       int *fds, uint64_t *addr, uint32_t *data)
{
	return p->ops->msi_route ? p->ops->msi_route(p, bdf, region, count, fds, addr, data)
				 : -EOPNOTSUPP;
}

void platform_msi_unroute(struct platform *p, uint32_t bdf, unsigned region)
{
	if (p->ops->msi_unroute)
		p->ops->msi_unroute(p, bdf, region);
}

int platform_irq_unmask(struct platform *p, unsigned line)
{
	return p->ops->irq_unmask ? p->ops->irq_unmask(p, line) : 0;
}

int platform_msi_setup(struct platform *p, uint32_t bdf, enum ddeio_msi_kind kind,
		       unsigned count, int *fds)
{
	return p->ops->msi_setup ? p->ops->msi_setup(p, bdf, kind, count, fds) : -EOPNOTSUPP;
}

void platform_msi_teardown(struct platform *p, uint32_t bdf)
{
	if (p->ops->msi_teardown)
		p->ops->msi_teardown(p, bdf);
}

int platform_bar_map(struct platform *p, uint32_t bdf, unsigned bar, int *fd,
		     uint64_t *offset)
{
	return p->ops->bar_map ? p->ops->bar_map(p, bdf, bar, fd, offset) : -EOPNOTSUPP;
}

int platform_region_make(struct platform_region *r, const char *name, uint64_t bus,
			 uint64_t size, bool inherit, char *err, size_t errlen)
{
	r->bus = bus;
	r->size = size;
	r->map = NULL;
	r->fd = memfd_create(name, MFD_ALLOW_SEALING | (inherit ? 0 : MFD_CLOEXEC));
	/*
	 * Its size is sealed: the driver that gets it (and whom it shares it
	 * with: bddf maps a block driver's slots in it) cannot shrink it under
	 * QEMU, ddeio or bddf, whose next access would then fault.
	 */
	if (r->fd < 0 || ftruncate(r->fd, (off_t)size) ||
	    fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return errtext(err, errlen, "memfd for DMA memory: %s", strerror(errno));
	r->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return errtext(err, errlen, "mapping DMA memory: %s", strerror(errno));
	}
	return 0;
}

void platform_region_free(struct platform_region *r)
{
	if (r->map)
		munmap(r->map, r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->map = NULL;
	r->fd = -1;
}

int platform_hotplug_scan(struct platform *p, struct ddeio_hp_event *ev, unsigned max)
{
	return p->ops->hotplug_scan ? p->ops->hotplug_scan(p, ev, max) : -EOPNOTSUPP;
}

int platform_hotplug_eject(struct platform *p, uint32_t bdf, struct ddeio_hp_event *ev,
			   unsigned max)
{
	return p->ops->hotplug_eject ? p->ops->hotplug_eject(p, bdf, ev, max) : -EOPNOTSUPP;
}
