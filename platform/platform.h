/*
 * The platform interface: what the I/O server needs from the machine.
 *
 * A backend owns the hardware: it starts (or opens) the machine, does the
 * firmware's job (assigns BARs, enables decoding and bus mastering, routes
 * INTx), and offers config, port, MMIO and physical-memory access plus
 * interrupt line events. Each backend is a table of these operations
 * (struct platform_ops) and its state begins with struct platform;
 * platform.c picks the backend and forwards every call to it. The qemu
 * backend (platform/qemu) is the embedded default; a vfio backend for real
 * PCI devices is the same table over Linux's VFIO.
 *
 * Not thread-safe: the I/O server calls it from its one event loop.
 */
#ifndef DDE_PLATFORM_H
#define DDE_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ddeio/protocol.h>

struct machine_config;
struct platform_region;

/* A DMA the IOMMU blocked. */
struct platform_fault {
	uint32_t bdf;		/* the device */
	uint64_t addr;		/* the bus address (page) it tried */
	bool write;
	unsigned reason;	/* the IOMMU's fault reason code */
	bool overflow;		/* faults were lost: not all are reported */
};

/* A backend: the functions below, as it implements them. */
struct platform_ops {
	const char *name;
	struct platform *(*start)(const struct machine_config *cfg, char *err, size_t errlen);
	void (*stop)(struct platform *p);
	pid_t (*pid)(const struct platform *p);
	unsigned (*device_count)(const struct platform *p);
	const struct ddeio_device *(*device)(const struct platform *p, unsigned index);
	unsigned (*region_count)(const struct platform *p);
	const struct platform_region *(*region)(const struct platform *p, unsigned index);
	void (*region_scrub)(struct platform *p, unsigned index);
	int (*config_read)(struct platform *p, uint32_t bdf, unsigned offset, unsigned size,
			   uint32_t *value);
	int (*config_write)(struct platform *p, uint32_t bdf, unsigned offset, unsigned size,
			    uint32_t value);
	int (*pio_read)(struct platform *p, uint16_t port, unsigned size, uint32_t *value);
	int (*pio_write)(struct platform *p, uint16_t port, unsigned size, uint32_t value,
			 bool posted);
	int (*pio_read_rep)(struct platform *p, uint16_t port, unsigned size, void *buf,
			    unsigned count);
	int (*pio_write_rep)(struct platform *p, uint16_t port, unsigned size, const void *buf,
			     unsigned count, bool posted);
	int (*mmio_read)(struct platform *p, uint64_t addr, unsigned size, uint64_t *value);
	int (*mmio_write)(struct platform *p, uint64_t addr, unsigned size, uint64_t value,
			  bool posted);
	void (*set_irq_handler)(struct platform *p,
				void (*handler)(void *ctx, unsigned line, bool level), void *ctx);
	bool (*irq_level)(const struct platform *p, unsigned line);
	int (*sync)(struct platform *p);
	void (*batch_posted)(struct platform *p, bool on);	/* optional */
	int (*flush)(struct platform *p);			/* optional */
	int (*event_fd)(const struct platform *p);
	int (*poll_events)(struct platform *p);
	bool (*iommu)(const struct platform *p);
	int (*dma_confine)(struct platform *p, uint32_t bdf, unsigned region);
	int (*dma_faults)(struct platform *p, struct platform_fault *f, unsigned max);
	int (*msi_route)(struct platform *p, uint32_t bdf, unsigned region, unsigned count,
			 int *fds, uint64_t *addr, uint32_t *data);
	void (*msi_unroute)(struct platform *p, uint32_t bdf, unsigned region);
	int (*irq_unmask)(struct platform *p, unsigned line);
	int (*msi_setup)(struct platform *p, uint32_t bdf, enum ddeio_msi_kind kind,
			 unsigned count, int *fds);
	void (*msi_teardown)(struct platform *p, uint32_t bdf);
	int (*bar_map)(struct platform *p, uint32_t bdf, unsigned bar, int *fd, uint64_t *offset);
	int (*hotplug_scan)(struct platform *p, struct ddeio_hp_event *ev, unsigned max);
	int (*hotplug_eject)(struct platform *p, uint32_t bdf, struct ddeio_hp_event *ev,
			     unsigned max);
};

/* Where every backend's state begins. */
struct platform {
	const struct platform_ops *ops;
};

/* The backends built in: platform_start takes vfio when the config names
 * host devices (--vfio), else qemu. */
extern const struct platform_ops platform_qemu_ops;
extern const struct platform_ops platform_vfio_ops;

/* A region of RAM that devices can DMA to, shareable by its fd. */
struct platform_region {
	int fd;			/* memfd holding the region */
	uint64_t bus;		/* bus (guest-physical) address */
	uint64_t size;
	void *map;		/* the region mapped into this process */
};

/*
 * For backends: make region @r of @size bytes at bus address @bus, a
 * memfd called @name mapped here (inherited across exec if @inherit, as
 * QEMU needs); 0, or -1 with the reason in @err. region_free undoes it.
 */
int platform_region_make(struct platform_region *r, const char *name, uint64_t bus,
			 uint64_t size, bool inherit, char *err, size_t errlen);
void platform_region_free(struct platform_region *r);

/*
 * Start the machine described by @cfg on the backend @ops (NULL: the
 * default, qemu). On failure returns NULL with a one-line reason in @err
 * (missing QEMU package, unreadable image, ...).
 */
struct platform *platform_start_on(const struct platform_ops *ops,
				   const struct machine_config *cfg, char *err, size_t errlen);
struct platform *platform_start(const struct machine_config *cfg, char *err,
				size_t errlen);

/* Stop the machine and free everything; no process or file is left. */
void platform_stop(struct platform *p);

/* PID of the machine process (0 if none), for tests and logs. */
pid_t platform_pid(const struct platform *p);

/* PCI functions found on the machine, with their assigned resources; an
 * unplugged one leaves a hole (bdf DDEIO_BDF_NONE) that a later one fills. */
unsigned platform_device_count(const struct platform *p);
const struct ddeio_device *platform_device(const struct platform *p,
					   unsigned index);

/* DMA regions, one per driver at a time. */
unsigned platform_region_count(const struct platform *p);
const struct platform_region *platform_region(const struct platform *p,
					      unsigned index);

/* Zero a region before it is granted again. */
void platform_region_scrub(struct platform *p, unsigned index);

/* Accesses; 0 or a negative errno. Posted writes do not wait. */
int platform_config_read(struct platform *p, uint32_t bdf, unsigned offset,
			 unsigned size, uint32_t *value);
int platform_config_write(struct platform *p, uint32_t bdf, unsigned offset,
			  unsigned size, uint32_t value);
int platform_pio_read(struct platform *p, uint16_t port, unsigned size,
		      uint32_t *value);
int platform_pio_write(struct platform *p, uint16_t port, unsigned size,
		       uint32_t value, bool posted);
/* rep ins/outs: @count elements of @size bytes at one port, to/from @buf */
int platform_pio_read_rep(struct platform *p, uint16_t port, unsigned size,
			  void *buf, unsigned count);
int platform_pio_write_rep(struct platform *p, uint16_t port, unsigned size,
			   const void *buf, unsigned count, bool posted);
int platform_mmio_read(struct platform *p, uint64_t addr, unsigned size,
		       uint64_t *value);
int platform_mmio_write(struct platform *p, uint64_t addr, unsigned size,
			uint64_t value, bool posted);

/*
 * Interrupt lines. @handler is called (from inside any platform call, or
 * from platform_poll_events) whenever a line changes level.
 */
void platform_set_irq_handler(struct platform *p,
			      void (*handler)(void *ctx, unsigned line, bool level),
			      void *ctx);
bool platform_irq_level(const struct platform *p, unsigned line);
/* The driver is done with @line (its EOI): backends that mask a line when
 * it fires unmask it here (vfio); 0 where lines follow the level (qemu). */
int platform_irq_unmask(struct platform *p, unsigned line);

/*
 * Wait until every posted access has taken effect (so interrupt levels
 * reflect them); -EIO if one failed, -EPIPE if the machine is gone.
 */
int platform_sync(struct platform *p);

/*
 * Batching posted writes (qemu: sent to the machine together, one write
 * per batch): once on, posted writes may wait until the next access that
 * is not posted, platform_sync, or platform_flush, which the caller must
 * make before it waits for anything (an interrupt) they cause.
 */
void platform_batch_posted(struct platform *p, bool on);
int platform_flush(struct platform *p);

/* The fd to wait on for asynchronous events (interrupts, machine exit). */
int platform_event_fd(const struct platform *p);

/* Handle what arrived on the event fd; -EPIPE when the machine is gone. */
int platform_poll_events(struct platform *p);

/*
 * The IOMMU, where the machine has one (q35 unless --iommu off). Whether
 * it confines devices; then device @bdf may DMA into region @region only,
 * at its bus addresses (0: nowhere, as every device before its driver
 * claims it). 0 or -errno; without an IOMMU 0, and nothing is confined.
 */
bool platform_iommu(const struct platform *p);
int platform_dma_confine(struct platform *p, uint32_t bdf, unsigned region);
/* DMA the IOMMU blocked since the last call: up to @max into @f; the count, or -errno. */
int platform_dma_faults(struct platform *p, struct platform_fault *f, unsigned max);

/*
 * Message-signalled interrupts, where the backend can turn a device's
 * messages into something ddeio can hand a driver: eventfds. Routes
 * @count vectors (at most DDEIO_MAX_VECTORS) of device @bdf, whose DMA is
 * confined to region @region, to new eventfds, put in @fds (the caller
 * owns them). The device must then send vector k as a 32-bit write of
 * *@data + k to *@addr (*@data is aligned to @count when that is a power
 * of two, as MSI's multiple messages need). Returns 0 or -errno: -EOPNOTSUPP (the
 * backend cannot), -ENOSPC (no route left for this device).
 * msi_unroute: the device's messages reach nobody any more; eventfds
 * handed out before are never signalled again.
 */
int platform_msi_route(struct platform *p, uint32_t bdf, unsigned region, unsigned count,
		       int *fds, uint64_t *addr, uint32_t *data);
void platform_msi_unroute(struct platform *p, uint32_t bdf, unsigned region);
/*
 * A backend that programs the device's MSI itself (vfio: the host kernel
 * does) has msi_setup instead (ddeio looks at ops->msi_setup): @count
 * vectors of @kind on, signalled on new eventfds in @fds; -EOPNOTSUPP
 * with --msi off. Elsewhere msi_route, and ddeio programs the capability.
 */
int platform_msi_setup(struct platform *p, uint32_t bdf, enum ddeio_msi_kind kind,
		       unsigned count, int *fds);
void platform_msi_teardown(struct platform *p, uint32_t bdf);

/*
 * A BAR a driver may map and access with plain loads and stores (vfio: a
 * real BAR that holds no MSI-X table): the fd to mmap (the platform's own,
 * not to be closed) and the offset of the BAR in it. -EOPNOTSUPP where
 * accesses must go through ddeio (qemu: every access is a qtest command).
 */
int platform_bar_map(struct platform *p, uint32_t bdf, unsigned bar, int *fd,
		     uint64_t *offset);

/*
 * Hot-plug slots (optional; -EOPNOTSUPP where the backend has none): what
 * changed since the last scan, as up to @max events (the count, or
 * -errno); power off the slot of device @bdf, which no driver may hold,
 * its devices then gone (their events).
 */
int platform_hotplug_scan(struct platform *p, struct ddeio_hp_event *ev, unsigned max);
int platform_hotplug_eject(struct platform *p, uint32_t bdf, struct ddeio_hp_event *ev,
			   unsigned max);

#endif
