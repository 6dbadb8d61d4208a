/*
 * The vfio backend: real PCI devices of this host, bound to Linux's
 * vfio-pci, are the machine (`--vfio 0000:BB:SS.F`, repeatable). Linux has
 * done the firmware's job already (BARs, bridges); this backend opens each
 * device through its IOMMU group and offers it to ddeio as the qemu
 * backend offers QEMU's:
 *
 *  - config space, BARs and I/O ports through the device fd's regions
 *    (pread/pwrite at the region's offset; vfio-pci virtualises what a
 *    user may not touch, such as the BAR registers and MSI capabilities);
 *  - DMA: the driver regions are memfds as on qemu; each device's group
 *    sits in a VFIO container of its own, and the region of the driver
 *    that holds the device is the only memory mapped in it (at the bus
 *    addresses the driver sees), so a device reaches its driver's memory
 *    and nothing else;
 *  - INTx: an eventfd per device (VFIO masks the line when it fires; ddeio's
 *    unmask is VFIO's unmask, after which VFIO fires again if the device
 *    still asserts it); MSI and MSI-X: VFIO programs the device and signals
 *    one eventfd per vector, which ddeio hands to the driver as on qemu.
 *
 * Devices sharing an IOMMU group cannot be confined apart: such a group is
 * refused. Blocked DMA is reported by the host kernel (DMAR faults in its
 * log), not to us.
 */
#define _GNU_SOURCE
#include "../platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../common/errtext.h"
#include "../../common/machine.h"

#define MAX_REGIONS 17
#define LINE_BASE 32		/* INTx of device i is line LINE_BASE + i */
#define LOW_MIB 16		/* bus addresses of the regions start above this */

struct vfio_dev {
	char name[MACHINE_VFIO_NAME];
	int container, group, fd;
	uint64_t cfg_off;
	uint64_t bar_off[6];		/* the BARs' regions in the device fd */
	bool bar_mmap[6];		/* whole BAR mappable, and no MSI-X table in it */
	int intx;			/* eventfd of INTx, -1 if none or off */
	int msi_index;			/* VFIO's index of the MSI kind on, -1 */
	unsigned region;		/* the DMA region mapped in its container */
};

struct vfio_machine {
	struct platform base;
	struct vfio_dev dev[MACHINE_MAX_VFIO];
	struct ddeio_device info[MACHINE_MAX_VFIO];
	unsigned ndev;
	struct platform_region region[MAX_REGIONS];
	unsigned nregions;
	int epoll;
	bool no_msi;			/* --msi off */
	void (*irq_fn)(void *ctx, unsigned line, bool level);
	void *irq_ctx;
};

static struct vfio_machine *of(const struct platform *p)
{
	return (struct vfio_machine *)p;
}

/* The last path element of the link /sys/bus/pci/devices/@name/@what, or "". */
static void sys_link(const char *name, const char *what, char *out, size_t cap)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", name, what);
	n = readlink(path, target, sizeof(target) - 1);
	out[0] = 0;
	if (n > 0) {
		const char *last;
		size_t len;

		target[n] = 0;
		last = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
		len = strlen(last) < cap - 1 ? strlen(last) : cap - 1;
		memcpy(out, last, len);
		out[len] = 0;
	}
}

static int cfg_read(struct vfio_dev *d, unsigned off, unsigned size, uint32_t *v)
{
	*v = 0;
	return pread(d->fd, v, size, (off_t)(d->cfg_off + off)) == (ssize_t)size ? 0 : -EIO;
}

static int region_info(struct vfio_dev *d, unsigned index, struct vfio_region_info *ri)
{
	*ri = (struct vfio_region_info){ .argsz = sizeof(*ri), .index = index };
	return ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, ri);
}

static int set_irqs(struct vfio_dev *d, unsigned index, uint32_t flags, unsigned count,
		    const int *fds)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int) * DDEIO_MAX_VECTORS];
	struct vfio_irq_set *s = (struct vfio_irq_set *)buf;

	if (count > DDEIO_MAX_VECTORS)
		return -EINVAL;
	*s = (struct vfio_irq_set){ .argsz = (uint32_t)(sizeof(*s) + (fds ? count * sizeof(int) : 0)),
				    .flags = flags, .index = index, .start = 0, .count = count };
	if (fds)
		memcpy(s->data, fds, count * sizeof(int));
	return ioctl(d->fd, VFIO_DEVICE_SET_IRQS, s) ? -errno : 0;
}

static int intx_on(struct vfio_machine *m, unsigned i)
{
	struct vfio_dev *d = &m->dev[i];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
	uint64_t stale;

	if (d->intx < 0)
		return 0;
	while (read(d->intx, &stale, sizeof(stale)) == sizeof(stale))
		;	/* a signal from before it was off is not an interrupt now */
	if (set_irqs(d, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD |
		     VFIO_IRQ_SET_ACTION_TRIGGER, 1, &d->intx))
		return -EIO;
	epoll_ctl(m->epoll, EPOLL_CTL_ADD, d->intx, &ev);
	return 0;
}

static void intx_off(struct vfio_machine *m, unsigned i)
{
	struct vfio_dev *d = &m->dev[i];

	if (d->intx < 0)
		return;
	epoll_ctl(m->epoll, EPOLL_CTL_DEL, d->intx, NULL);
	set_irqs(d, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		 0, NULL);
}

/* BAR addresses as the host assigned them: /sys/.../resource, "start end flags" per line */
static void read_resources(const char *name, struct ddeio_device *info, const uint64_t *size)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", name);
	f = fopen(path, "r");
	for (unsigned b = 0; f && b < 6; b++) {
		unsigned long long start, end, flags;

		if (fscanf(f, "%llx %llx %llx", &start, &end, &flags) != 3)
			break;
		if (!size[b] || !start)
			continue;
		info->bar[b].start = start;
		info->bar[b].size = size[b];
		info->bar[b].kind = (flags & 0x100) ? DDEIO_RES_IO :	/* IORESOURCE_IO */
				    (flags & 0x100000) ? DDEIO_RES_MEM64 : DDEIO_RES_MEM32;
		if (flags & 0x2000)	/* IORESOURCE_PREFETCH */
			info->bar[b].flags |= DDEIO_RES_PREFETCH;
	}
	if (f)
		fclose(f);
}

/* The BAR that holds the MSI-X table stays trapped: the table is ddeio's. */
static void no_map_msix_table(struct vfio_dev *d)
{
	uint32_t off = 0, id, table;

	cfg_read(d, 0x34, 1, &off);
	for (int n = 0; off >= 0x40 && n < 48; n++) {
		cfg_read(d, off, 1, &id);
		if (id == 0x11 && !cfg_read(d, off + 4, 4, &table) && (table & 7) < 6)
			d->bar_mmap[table & 7] = false;
		cfg_read(d, off + 1, 1, &off);
		off &= 0xfc;
	}
}

static int open_device(struct vfio_machine *m, unsigned i, const char *name, char *err,
		       size_t errlen)
{
	struct vfio_dev *d = &m->dev[i];
	struct ddeio_device *info = &m->info[i];
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri;
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_INTX_IRQ_INDEX };
	char group[32], driver[64], path[96];
	unsigned dom, bus, slot, fn;
	uint64_t size[6] = { 0 };
	uint32_t id, class_rev, subsys, intr;
	DIR *dir;
	int n = 0;

	snprintf(d->name, sizeof(d->name), "%s", name);
	d->container = d->group = d->fd = d->intx = -1;
	d->msi_index = -1;
	if (sscanf(name, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4 || dom || slot > 31 || fn > 7)
		return errtext(err, errlen, "--vfio %s: a PCI address 0000:BB:SS.F (domain 0)", name);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", name);
	if (access(path, F_OK))
		return errtext(err, errlen, "--vfio %s: no such PCI device on this host", name);
	sys_link(name, "driver", driver, sizeof(driver));
	if (strcmp(driver, "vfio-pci"))
		return errtext(err, errlen, "--vfio %s: the device is bound to %s, not vfio-pci "
			    "(echo vfio-pci >/sys/bus/pci/devices/%s/driver_override; then unbind "
			    "and bind it)", name, driver[0] ? driver : "no driver", name);
	sys_link(name, "iommu_group", group, sizeof(group));
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/devices", group);
	dir = opendir(path);
	for (struct dirent *e; dir && (e = readdir(dir));)
		n += e->d_name[0] != '.';
	if (dir)
		closedir(dir);
	if (n != 1)
		return errtext(err, errlen, "--vfio %s: its IOMMU group %s has %d devices; they could "
			    "not be confined apart", name, group[0] ? group : "(none)", n);
	d->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	d->group = open(path, O_RDWR | O_CLOEXEC);
	if (d->container < 0 || d->group < 0)
		return errtext(err, errlen, "--vfio %s: %s: %s", name,
			    d->container < 0 ? "/dev/vfio/vfio" : path, strerror(errno));
	if (ioctl(d->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		return errtext(err, errlen, "--vfio: this kernel's VFIO lacks the type 1 IOMMU");
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &gs) || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return errtext(err, errlen, "--vfio %s: IOMMU group %s is not viable", name, group);
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) ||
	    ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return errtext(err, errlen, "--vfio %s: setting up its IOMMU: %s", name, strerror(errno));
	d->fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, name);
	if (d->fd < 0)
		return errtext(err, errlen, "--vfio %s: %s", name, strerror(errno));
	if (region_info(d, VFIO_PCI_CONFIG_REGION_INDEX, &ri))
		return errtext(err, errlen, "--vfio %s: no config space region", name);
	d->cfg_off = ri.offset;
	for (unsigned b = 0; b < 6; b++) {
		if (!region_info(d, VFIO_PCI_BAR0_REGION_INDEX + b, &ri) && ri.size) {
			d->bar_off[b] = ri.offset;
			size[b] = ri.size;
			/* mappable without holes: no sparse-mmap capability */
			d->bar_mmap[b] = (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) &&
					 !(ri.flags & VFIO_REGION_INFO_FLAG_CAPS);
			if (getenv("DDE_VFIO_DEBUG"))
				fprintf(stderr, "ddeio: vfio: %s BAR%u: %llu bytes, flags 0x%x\n", name, b,
					(unsigned long long)ri.size, ri.flags);
		}
	}
	if (cfg_read(d, 0x00, 4, &id) || cfg_read(d, 0x08, 4, &class_rev) ||
	    cfg_read(d, 0x2c, 4, &subsys) || cfg_read(d, 0x3c, 4, &intr))
		return errtext(err, errlen, "--vfio %s: config space unreadable", name);
	*info = (struct ddeio_device){
		.bdf = DDEIO_BDF(bus, slot, fn), .vendor = id & 0xffff, .device = id >> 16,
		.subsystem_vendor = subsys & 0xffff, .subsystem_device = subsys >> 16,
		.class_code = class_rev >> 8, .revision = class_rev & 0xff,
		.irq_pin = (intr >> 8) & 0xff, .irq = DDEIO_IRQ_NONE,
		.legacy_irq = { DDEIO_IRQ_NONE, DDEIO_IRQ_NONE },
	};
	read_resources(name, info, size);
	no_map_msix_table(d);
	if (info->irq_pin && !ioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) && ii.count) {
		d->intx = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		info->irq = (uint8_t)(LINE_BASE + i);
		if (d->intx < 0 || intx_on(m, i))
			return errtext(err, errlen, "--vfio %s: its INTx: %s", name, strerror(errno));
	}
	/* a device starts with no driver: no DMA, no bus mastering */
	uint32_t cmd;

	if (!cfg_read(d, 0x04, 2, &cmd)) {
		cmd = (cmd & ~0x4u) | 0x3u;	/* memory and I/O decoding on, no mastering */
		pwrite(d->fd, &cmd, 2, (off_t)(d->cfg_off + 0x04));
	}
	return 0;
}

static int make_regions(struct vfio_machine *m, const struct machine_config *cfg, char *err,
			size_t errlen)
{
	m->region[0] = (struct platform_region){ .fd = -1 };	/* none: as qemu's low memory */
	m->nregions = 1;
	for (unsigned i = 1; i <= cfg->dma_slots && i < MAX_REGIONS; i++) {
		uint64_t size = (uint64_t)cfg->dma_mib << 20;
		char name[32];

		snprintf(name, sizeof(name), "dde-dma%u", i);
		if (platform_region_make(&m->region[i], name, ((uint64_t)LOW_MIB << 20) +
					 (i - 1) * size, size, false, err, errlen))
			return -1;
		m->nregions++;
	}
	return 0;
}

static void vfio_stop(struct platform *base);

static struct platform *vfio_start(const struct machine_config *cfg, char *err, size_t errlen)
{
	struct vfio_machine *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->base.ops = &platform_vfio_ops;
	m->no_msi = cfg->no_msi;
	m->epoll = epoll_create1(EPOLL_CLOEXEC);
	for (unsigned i = 0; i < MACHINE_MAX_VFIO; i++)
		m->dev[i].container = m->dev[i].group = m->dev[i].fd = m->dev[i].intx = -1;
	for (unsigned i = 0; i < MAX_REGIONS; i++)
		m->region[i].fd = -1;
	if (m->epoll < 0 || make_regions(m, cfg, err, errlen))
		goto fail;
	for (unsigned i = 0; i < cfg->nvfio; i++) {
		m->ndev = i + 1;
		if (open_device(m, i, cfg->vfio[i], err, errlen))
			goto fail;
	}
	return &m->base;
fail:
	vfio_stop(&m->base);
	return NULL;
}

static void vfio_stop(struct platform *base)
{
	struct vfio_machine *m = of(base);

	for (unsigned i = 0; i < m->ndev; i++) {
		struct vfio_dev *d = &m->dev[i];

		if (d->fd >= 0) {
			uint32_t cmd;

			if (!cfg_read(d, 0x04, 2, &cmd)) {	/* no more DMA */
				cmd &= ~0x4u;
				pwrite(d->fd, &cmd, 2, (off_t)(d->cfg_off + 0x04));
			}
			ioctl(d->fd, VFIO_DEVICE_RESET);
			close(d->fd);
		}
		if (d->intx >= 0)
			close(d->intx);
		if (d->group >= 0)
			close(d->group);
		if (d->container >= 0)
			close(d->container);
	}
	for (unsigned i = 0; i < MAX_REGIONS; i++)
		platform_region_free(&m->region[i]);
	if (m->epoll >= 0)
		close(m->epoll);
	free(m);
}

static pid_t vfio_pid(const struct platform *base)
{
	return 0;	/* no machine process: the host is the machine */
}

static unsigned vfio_device_count(const struct platform *base)
{
	return of(base)->ndev;
}

static const struct ddeio_device *vfio_device(const struct platform *base, unsigned index)
{
	return index < of(base)->ndev ? &of(base)->info[index] : NULL;
}

static unsigned vfio_region_count(const struct platform *base)
{
	return of(base)->nregions;
}

static const struct platform_region *vfio_region(const struct platform *base, unsigned index)
{
	return index < of(base)->nregions ? &of(base)->region[index] : NULL;
}

static void vfio_region_scrub(struct platform *base, unsigned index)
{
	struct platform_region *r = &of(base)->region[index];

	if (index && index < of(base)->nregions)
		memset(r->map, 0, r->size);
}

static struct vfio_dev *by_bdf(struct vfio_machine *m, uint32_t bdf, unsigned *index)
{
	for (unsigned i = 0; i < m->ndev; i++) {
		if (m->info[i].bdf == bdf) {
			if (index)
				*index = i;
			return &m->dev[i];
		}
	}
	return NULL;
}

static int vfio_config_read(struct platform *base, uint32_t bdf, unsigned off, unsigned size,
			    uint32_t *v)
{
	struct vfio_dev *d = by_bdf(of(base), bdf, NULL);

	if (!d) {
		*v = 0xffffffff;	/* nothing there, as on a bus */
		return 0;
	}
	return cfg_read(d, off, size, v);
}

static int vfio_config_write(struct platform *base, uint32_t bdf, unsigned off, unsigned size,
			     uint32_t v)
{
	struct vfio_dev *d = by_bdf(of(base), bdf, NULL);

	if (!d)
		return 0;
	return pwrite(d->fd, &v, size, (off_t)(d->cfg_off + off)) == (ssize_t)size ? 0 : -EIO;
}

/* The device fd and offset behind bus address (or port) @addr.. of @size bytes. */
static struct vfio_dev *locate(struct vfio_machine *m, bool io, uint64_t addr, unsigned size,
			       off_t *off)
{
	for (unsigned i = 0; i < m->ndev; i++) {
		for (unsigned b = 0; b < 6; b++) {
			const struct ddeio_res *r = &m->info[i].bar[b];

			if (r->kind == DDEIO_RES_NONE || (r->kind == DDEIO_RES_IO) != io ||
			    addr < r->start || addr + size > r->start + r->size)
				continue;
			*off = (off_t)(m->dev[i].bar_off[b] + (addr - r->start));
			return &m->dev[i];
		}
	}
	return NULL;
}

static int bar_read(struct platform *base, bool io, uint64_t addr, unsigned size, uint64_t *v)
{
	off_t off;
	struct vfio_dev *d = locate(of(base), io, addr, size, &off);

	*v = 0;
	if (!d)
		return -EFAULT;
	return pread(d->fd, v, size, off) == (ssize_t)size ? 0 : -EIO;
}

static int bar_write(struct platform *base, bool io, uint64_t addr, unsigned size, uint64_t v)
{
	off_t off;
	struct vfio_dev *d = locate(of(base), io, addr, size, &off);

	if (!d)
		return -EFAULT;
	return pwrite(d->fd, &v, size, off) == (ssize_t)size ? 0 : -EIO;
}

static int vfio_pio_read(struct platform *base, uint16_t port, unsigned size, uint32_t *value)
{
	uint64_t v;
	int r = bar_read(base, true, port, size, &v);

	*value = (uint32_t)v;
	return r;
}

static int vfio_pio_write(struct platform *base, uint16_t port, unsigned size, uint32_t value,
			  bool posted)
{
	return bar_write(base, true, port, size, value);
}

static int vfio_pio_read_rep(struct platform *base, uint16_t port, unsigned size, void *buf,
			     unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		uint64_t v;
		int r = bar_read(base, true, port, size, &v);

		if (r)
			return r;
		memcpy((char *)buf + i * size, &v, size);
	}
	return 0;
}

static int vfio_pio_write_rep(struct platform *base, uint16_t port, unsigned size,
			      const void *buf, unsigned count, bool posted)
{
	for (unsigned i = 0; i < count; i++) {
		uint64_t v = 0;
		int r;

		memcpy(&v, (const char *)buf + i * size, size);
		r = bar_write(base, true, port, size, v);
		if (r)
			return r;
	}
	return 0;
}

static int vfio_mmio_read(struct platform *base, uint64_t addr, unsigned size, uint64_t *value)
{
	return bar_read(base, false, addr, size, value);
}

static int vfio_mmio_write(struct platform *base, uint64_t addr, unsigned size, uint64_t value,
			   bool posted)
{
	return bar_write(base, false, addr, size, value);
}

static void vfio_set_irq_handler(struct platform *base,
				 void (*handler)(void *ctx, unsigned line, bool level), void *ctx)
{
	of(base)->irq_fn = handler;
	of(base)->irq_ctx = ctx;
}

static bool vfio_irq_level(const struct platform *base, unsigned line)
{
	return false;	/* VFIO fires again at the unmask if the line is still asserted */
}

static int vfio_irq_unmask(struct platform *base, unsigned line)
{
	struct vfio_machine *m = of(base);
	unsigned i = line - LINE_BASE;

	if (line < LINE_BASE || i >= m->ndev || m->dev[i].intx < 0)
		return -EINVAL;
	return set_irqs(&m->dev[i], VFIO_PCI_INTX_IRQ_INDEX,
			VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, 1, NULL);
}

static int vfio_sync(struct platform *base)
{
	return 0;	/* every access is done when its call returns */
}

static int vfio_event_fd(const struct platform *base)
{
	return of(base)->epoll;
}

static int vfio_poll_events(struct platform *base)
{
	struct vfio_machine *m = of(base);
	struct epoll_event ev[8];
	int n = epoll_wait(m->epoll, ev, 8, 0);

	for (int k = 0; k < n; k++) {
		unsigned i = ev[k].data.u32;
		uint64_t count;

		if (i < m->ndev && read(m->dev[i].intx, &count, sizeof(count)) == sizeof(count) &&
		    m->irq_fn)
			m->irq_fn(m->irq_ctx, LINE_BASE + i, true);
	}
	return 0;
}

static bool vfio_iommu(const struct platform *base)
{
	return true;
}

static int vfio_dma_confine(struct platform *base, uint32_t bdf, unsigned region)
{
	struct vfio_machine *m = of(base);
	struct vfio_dev *d = by_bdf(m, bdf, NULL);

	if (!d || region >= m->nregions)
		return -EINVAL;
	if (d->region) {
		const struct platform_region *r = &m->region[d->region];
		struct vfio_iommu_type1_dma_unmap um = { .argsz = sizeof(um), .iova = r->bus,
							 .size = r->size };

		ioctl(d->container, VFIO_IOMMU_UNMAP_DMA, &um);
		d->region = 0;
	}
	if (region) {
		const struct platform_region *r = &m->region[region];
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)r->map, .iova = r->bus, .size = r->size,
		};

		if (ioctl(d->container, VFIO_IOMMU_MAP_DMA, &map))
			return -errno;
		d->region = region;
	}
	return 0;
}

static int vfio_msi_setup(struct platform *base, uint32_t bdf, enum ddeio_msi_kind kind,
			  unsigned count, int *fds)
{
	struct vfio_machine *m = of(base);
	unsigned i = 0, index = kind == DDEIO_MSI_MSIX ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
	struct vfio_dev *d = by_bdf(m, bdf, &i);
	int rc;

	if (m->no_msi)
		return -EOPNOTSUPP;
	if (!d || !count || count > DDEIO_MAX_VECTORS)
		return -EINVAL;
	for (unsigned k = 0; k < count; k++) {
		fds[k] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[k] < 0) {
			rc = -errno;
			while (k--)
				close(fds[k]);
			return rc;
		}
	}
	intx_off(m, i);		/* one kind at a time */
	rc = set_irqs(d, index, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, count,
		      fds);
	if (rc) {
		for (unsigned k = 0; k < count; k++)
			close(fds[k]);
		intx_on(m, i);
		return rc;
	}
	d->msi_index = (int)index;
	return 0;
}

static void vfio_msi_teardown(struct platform *base, uint32_t bdf)
{
	struct vfio_machine *m = of(base);
	unsigned i = 0;
	struct vfio_dev *d = by_bdf(m, bdf, &i);

	if (!d || d->msi_index < 0)
		return;
	set_irqs(d, (unsigned)d->msi_index, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		 0, NULL);
	d->msi_index = -1;
	intx_on(m, i);
}

static int vfio_bar_map(struct platform *base, uint32_t bdf, unsigned bar, int *fd,
			uint64_t *offset)
{
	struct vfio_dev *d = by_bdf(of(base), bdf, NULL);
	const char *trap = getenv("DDE_TRAP_BARS");	/* to compare, and to debug */

	if (!d || bar >= 6 || !d->bar_mmap[bar] || (trap && *trap && strcmp(trap, "0")))
		return -EOPNOTSUPP;
	*fd = d->fd;
	*offset = d->bar_off[bar];
	return 0;
}

const struct platform_ops platform_vfio_ops = {
	.name = "vfio",
	.start = vfio_start,
	.stop = vfio_stop,
	.pid = vfio_pid,
	.device_count = vfio_device_count,
	.device = vfio_device,
	.region_count = vfio_region_count,
	.region = vfio_region,
	.region_scrub = vfio_region_scrub,
	.config_read = vfio_config_read,
	.config_write = vfio_config_write,
	.pio_read = vfio_pio_read,
	.pio_write = vfio_pio_write,
	.pio_read_rep = vfio_pio_read_rep,
	.pio_write_rep = vfio_pio_write_rep,
	.mmio_read = vfio_mmio_read,
	.mmio_write = vfio_mmio_write,
	.set_irq_handler = vfio_set_irq_handler,
	.irq_level = vfio_irq_level,
	.irq_unmask = vfio_irq_unmask,
	.sync = vfio_sync,
	.event_fd = vfio_event_fd,
	.poll_events = vfio_poll_events,
	.iommu = vfio_iommu,
	.dma_confine = vfio_dma_confine,
	.msi_setup = vfio_msi_setup,
	.msi_teardown = vfio_msi_teardown,
	.bar_map = vfio_bar_map,
};
