/*
 * ddekit PCI: the devices granted to this driver and their config space.
 * The platform has already assigned BARs, enabled decoding and bus
 * mastering and routed the interrupt, as firmware would.
 */
#ifndef DDEKIT_PCI_H
#define DDEKIT_PCI_H

#include <stdint.h>

enum ddekit_bar_kind {
	DDEKIT_BAR_NONE = 0,
	DDEKIT_BAR_IO,
	DDEKIT_BAR_MEM32,
	DDEKIT_BAR_MEM64,
};

#define DDEKIT_PCI_BARS 6
#define DDEKIT_IRQ_NONE 0xffu

struct ddekit_pci_bar {
	enum ddekit_bar_kind kind;
	int prefetchable;
	uint64_t addr;	/* bus address (port number for I/O BARs) */
	uint64_t size;
};

struct ddekit_pci_dev {
	uint8_t bus, slot, func;
	uint16_t vendor, device;
	uint16_t subsystem_vendor, subsystem_device;
	uint32_t class_code;	/* base class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
	uint8_t irq_pin;	/* 1 = INTA ... 4 = INTD, 0 = none */
	unsigned irq;		/* interrupt line for ddekit_irq_attach, or DDEKIT_IRQ_NONE */
	struct ddekit_pci_bar bar[DDEKIT_PCI_BARS];
};

/* Number of devices granted to this driver. */
unsigned ddekit_pci_count(void);

/* Device @index (0 .. count-1), or NULL. */
const struct ddekit_pci_dev *ddekit_pci_device(unsigned index);

/*
 * Read or write @size (1, 2 or 4) bytes at @offset (< 256) of device
 * @index's config space. Writes to BARs and the expansion ROM are refused
 * (-EPERM): the platform owns the address map.
 */
int ddekit_pci_config_read(unsigned index, unsigned offset, unsigned size,
			   uint32_t *value);
int ddekit_pci_config_write(unsigned index, unsigned offset, unsigned size,
			    uint32_t value);

/*
 * Message-signalled interrupts of device @index: between @min and @max
 * vectors of @kind (ANY: MSI-X where the device has it, else MSI). Returns
 * how many, vector k being interrupt line *@first + k (for
 * ddekit_irq_attach), the kind in *@used; or -errno, the device's INTx
 * line staying: -EOPNOTSUPP (this machine delivers none), -ENODEV (the
 * device has no such capability), -ENOSPC (fewer than @min). The I/O
 * server programs the device and hands over the vectors: each message
 * wakes its handler directly, with no round trip to the server.
 */
enum ddekit_msi_kind { DDEKIT_MSI_ANY = 0, DDEKIT_MSI_MSIX, DDEKIT_MSI_MSI };
#define DDEKIT_MSI_LINES 64	/* line numbers of vectors start here */

int ddekit_pci_msi_enable(unsigned index, enum ddekit_msi_kind kind, unsigned min,
			  unsigned max, unsigned *first, enum ddekit_msi_kind *used);
/* Back to INTx: the device's vectors are detached and gone. */
int ddekit_pci_msi_disable(unsigned index);

#endif
