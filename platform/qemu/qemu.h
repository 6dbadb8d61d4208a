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

/* The machine: the platform's state in this backend. */
struct qemu_machine {
	struct platform base;	/* base.ops = &platform_qemu_ops */
	enum machine_type type;
	pid_t pid;
	struct qtest *qt;
	struct platform_region region[QEMU_MAX_REGIONS];
	unsigned nregions;
	struct ddeio_device dev[QEMU_MAX_DEVICES];
	unsigned ndev;
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
};

/* Enumerate bus 0, size and assign BARs, route INTx (pci.c). */
int qemu_pci_setup(struct qemu_machine *p, char *err, size_t errlen);

/* The IOMMU (iommu.c): its tables set up and translation on, every device blocked. */
int qemu_iommu_setup(struct qemu_machine *p, char *err, size_t errlen);
int qemu_dma_confine(struct platform *base, uint32_t bdf, unsigned region);
int qemu_dma_faults(struct platform *base, struct platform_fault *f, unsigned max);
bool qemu_iommu(const struct platform *base);

#endif
