/* Internals shared by the files of the qemu platform backend. */
#ifndef DDE_PLATFORM_QEMU_H
#define DDE_PLATFORM_QEMU_H

#include "../platform.h"
#include "qtest.h"

#include "../../common/machine.h"

#define QEMU_MAX_DEVICES 64
#define QEMU_MAX_REGIONS 17	/* region 0 (low memory, kept) + DMA slots */
#define QEMU_LOW_MIB 16		/* region 0: the first 16 MiB, never granted */

/* Where the IOMMU's tables are: low memory, which no device reaches. */
#define QEMU_IOMMU_TABLES 0x800000ull
#define QEMU_IOMMU_PAGES 256		/* 1 MiB of tables */

struct qemu_iommu {
	bool on;
	unsigned fault_regs, nfault_regs;	/* fault recording registers */
	unsigned iotlb;				/* the IOTLB invalidation register */
	bool big_pages;				/* 2 MiB second-level pages */
	unsigned next_page;			/* of the table pool */
	uint64_t root;				/* root table */
	uint64_t context[256];			/* context table per bus, 0 if none */
	uint64_t top[QEMU_MAX_REGIONS];		/* each region's page tables, once built */
};

/*
 * MSI and MSI-X (msi.c): a remapper is an ivshmem-doorbell device whose
 * server is this process; a device's messages are 32-bit writes to the
 * remapper's doorbell register, each of which QEMU turns into a signal on
 * one of the eventfds we connected for peer 0. One remapper per device
 * that uses MSI, at slots QEMU_MSI_SLOT.., hidden from the device list.
 */
#define QEMU_MSI_REMAPPERS 6
#define QEMU_MSI_SLOT 0x18
/* hot-plug capable root ports (--hotplug-ports) at slots 0x10.., below the remappers */
#define QEMU_HOTPLUG_SLOT 0x10
#define QEMU_MSI_VECTORS 256	/* eventfds per remapper over the machine's life */

struct qemu_remapper {
	int sock;		/* our end of its server connection */
	int qemu_end;		/* QEMU's end, until QEMU has started */
	int shm;		/* its shared memory (unused, required), until then */
	uint64_t doorbell;	/* bus address of its doorbell register, 0: absent */
	uint32_t bdf;		/* the device it serves, once it has served one */
	bool used;		/* serves bdf */
	unsigned next;		/* eventfds connected so far: never reused */
	unsigned routed;	/* how many of them route bdf's messages now */
};

/*
 * A BAR of a device whose model needs the backend's help after some of
 * the driver's writes (quirks.c).
 */
#define QEMU_MAX_WATCH 16
struct qemu_machine;
struct qemu_watch {
	bool io;
	uint64_t base, size;
	uint32_t bdf;
	uint64_t state[3];	/* the quirk's own (per device: kept in all its BARs) */
	void (*after_write)(struct qemu_machine *p, struct qemu_watch *w, uint64_t offset,
			    unsigned size, uint64_t value);
};

/*
 * A PCI bridge on bus 0 (pci.c): a PCIe root port or a PCI-PCI bridge,
 * with the bus number and the windows the platform gave it. Hot-plug
 * capable root ports (--hotplug-ports) have their slot served as the OS
 * serves one (presence, power, the attention button).
 */
#define QEMU_MAX_BRIDGES 8
struct qemu_bridge {
	uint32_t bdf;
	uint8_t secondary;	/* its bus */
	unsigned exp;		/* its PCI Express capability's offset, 0: none */
	bool hotplug;		/* a hot-plug capable slot */
	bool leaving;		/* its device asked to go (the attention button) */
	uint64_t mem, mem_size;	/* its memory window */
	uint32_t io, io_size;	/* its I/O window */
	uint64_t mem_next;	/* where the next BAR below it goes */
	uint32_t io_next;
};

/* The machine: the platform's state in this backend. */
struct qemu_machine {
	struct platform base;	/* base.ops = &platform_qemu_ops */
	enum machine_type type;
	pid_t pid;
	struct qtest *qt;
	struct platform_region region[QEMU_MAX_REGIONS];
	unsigned nregions;
	struct ddeio_device dev[QEMU_MAX_DEVICES];	/* holes (unplugged): bdf DDEIO_BDF_NONE */
	unsigned ndev;
	struct qemu_bridge bridge[QEMU_MAX_BRIDGES];
	unsigned nbridges;
	unsigned dma_region[QEMU_MAX_DEVICES];	/* the region each device's DMA is for (0: none) */
	/* --nic ...,revision=N: the Nth device with this id shows revision REV
	 * (in the device list and in config reads of offset 8); bdf once found */
	struct qemu_revision {
		uint16_t vendor, device;
		unsigned nth;
		uint8_t rev;
		int found;
		uint32_t bdf;
	} revision[MACHINE_MAX_NICS];
	unsigned nrevision;
	struct qemu_iommu iommu;
	struct qemu_remapper remap[QEMU_MSI_REMAPPERS];
	unsigned nremap;
	struct qemu_watch watch[QEMU_MAX_WATCH];
	unsigned nwatch;
};

/* Device-model quirks (quirks.c): watch the BARs of the devices that have one ... */
void qemu_quirks_setup(struct qemu_machine *p);
/* ... and make up for the model after the driver's write of @value at @addr. */
void qemu_quirks_write(struct qemu_machine *p, bool io, uint64_t addr, unsigned size,
		       uint64_t value);

/* Enumerate bus 0 and the buses behind its bridges, size and assign BARs,
 * route INTx (pci.c). */
int qemu_pci_setup(struct qemu_machine *p, char *err, size_t errlen);
/* The hot-plug slots (pci.c): what changed since the last scan, as events
 * (at most @max); power off the slot of @bdf (its devices then go). */
int qemu_hotplug_scan(struct platform *base, struct ddeio_hp_event *ev, unsigned max);
int qemu_hotplug_eject(struct platform *base, uint32_t bdf, struct ddeio_hp_event *ev,
		       unsigned max);

/* The IOMMU (iommu.c): its tables set up and translation on, every device blocked. */
int qemu_iommu_setup(struct qemu_machine *p, char *err, size_t errlen);
int qemu_dma_confine(struct platform *base, uint32_t bdf, unsigned region);
int qemu_dma_faults(struct platform *base, struct platform_fault *f, unsigned max);
bool qemu_iommu(const struct platform *base);
/* Map (@map) or unmap the 4 KiB page at bus address @page in region @region's tables. */
int qemu_iommu_page(struct qemu_machine *p, unsigned region, uint64_t page, bool map);

/* MSI (msi.c): remappers made before QEMU starts (machine.c gives QEMU
 * their qemu_end), found on the bus (and taken out of the device list),
 * routes. */
int qemu_msi_prepare(struct qemu_machine *p, char *err, size_t errlen);
void qemu_msi_started(struct qemu_machine *p);
void qemu_msi_found(struct qemu_machine *p);
void qemu_msi_close(struct qemu_machine *p);
int qemu_msi_route(struct platform *base, uint32_t bdf, unsigned region, unsigned count,
		   int *fds, uint64_t *addr, uint32_t *data);
void qemu_msi_unroute(struct platform *base, uint32_t bdf, unsigned region);

#endif
