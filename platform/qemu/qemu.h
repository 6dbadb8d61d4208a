/* Internals shared by the files of the qemu platform backend. */
#ifndef DDE_PLATFORM_QEMU_H
#define DDE_PLATFORM_QEMU_H

#include "../platform.h"
#include "qtest.h"

#include "../../common/machine.h"

#define QEMU_MAX_DEVICES 64
#define QEMU_MAX_REGIONS 17	/* region 0 (low memory, kept) + DMA slots */
#define QEMU_LOW_MIB 16		/* region 0: the first 16 MiB, never granted */

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
};

/* Enumerate bus 0, size and assign BARs, route INTx (pci.c). */
int qemu_pci_setup(struct qemu_machine *p, char *err, size_t errlen);

#endif
