/*
 * EFI_PCI_IO_PROTOCOL on ddekit's grant: how a UEFI driver reaches its
 * device. An edk2 driver never touches a BAR with a plain load or store:
 * every register access, config cycle and DMA mapping goes through this
 * protocol, so the host needs no trap engine for them — each call becomes
 * ddekit's checked accessor.
 *
 * DMA: Map gives a buffer's bus address when it is in the driver's DMA
 * memory already (bddf's request slots are, and AllocateBuffer's pages),
 * and otherwise a bounce buffer from that memory, copied in on Map for
 * the device to read and out on Unmap for what it wrote.
 *
 * The controller handle also carries the device path firmware would give
 * it: PciRoot(0)/Pci(slot, func). The root bridge above it has a handle
 * of its own with EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL (config cycles by
 * bus/device/function: iPXE's way). And as firmware's memory is
 * identity-mapped, the DMA region is also mapped at its bus address and
 * the host's DMA pages come from there, for drivers that give the device
 * a pointer as its bus address (iPXE's); their BARs are mapped at their
 * bus addresses for the same reason (the trap engine serves them).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <ddekit/ddekit.h>
#include <efi/guids.h>

#include "host.h"

struct pci {
	struct efi_pci_io_protocol io;	/* first: the protocol pointer is the device */
	unsigned index;
	const struct ddekit_pci_dev *dev;
	volatile uint8_t *bar[DDEKIT_PCI_BARS];
	size_t bar_size[DDEKIT_PCI_BARS];
	uint64_t attributes;
	struct {
		struct efi_device_path_acpi acpi;
		struct efi_device_path_pci pci;
		struct efi_device_path_protocol end;
	} __attribute__((packed)) path;
};

/* a mapping: where the device sees the buffer, and the bounce if there is one */
struct mapping {
	uint32_t op;
	void *host, *bounce;
	uint64_t bytes, pages;
};

static struct pci *pci_of(const void *this)
{
	return (struct pci *)this;
}

static unsigned width_bytes(uint32_t w)
{
	return 1u << (w & 3);
}

/* MMIO or port access of SIZE bytes at OFFSET of BAR: 0, or -1 */
static int bar_access(struct pci *p, unsigned bar, uint64_t offset, unsigned size, bool write,
		      uint64_t *v, bool io)
{
	const struct ddekit_pci_bar *b;

	if (bar >= DDEKIT_PCI_BARS)
		return -1;
	b = &p->dev->bar[bar];
	if (offset + size < offset || offset + size > b->size)
		return -1;
	if (io) {
		uint32_t x = (uint32_t)*v;

		if (b->kind != DDEKIT_BAR_IO)
			return -1;
		if (write)
			return ddekit_pio_write((uint16_t)(b->addr + offset), size, x) ? -1 : 0;
		if (ddekit_pio_read((uint16_t)(b->addr + offset), size, &x))
			return -1;
		*v = x;
		return 0;
	}
	if (b->kind != DDEKIT_BAR_MEM32 && b->kind != DDEKIT_BAR_MEM64)
		return -1;
	if (!p->bar[bar]) {
		p->bar[bar] = ddekit_mmio_map(p->index, bar, &p->bar_size[bar]);
		if (!p->bar[bar])
			return -1;
	}
	if (write)
		return ddekit_mmio_write(p->bar[bar] + offset, size, *v) ? -1 : 0;
	return ddekit_mmio_read(p->bar[bar] + offset, size, v) ? -1 : 0;
}

static efi_status rw(void *this, uint32_t width, unsigned bar, uint64_t offset, uint64_t count,
		     void *buffer, bool write, bool io)
{
	struct pci *p = pci_of(this);
	unsigned size = width_bytes(width);
	uint8_t *buf = buffer;

	if (!buffer || width >= 12 || (size == 8 && io))
		return EFI_INVALID_PARAMETER;
	for (uint64_t k = 0; k < count; k++) {
		/* Fifo: the same register; Fill: the same buffer element */
		uint64_t off = offset + (width >= 4 && width < 8 ? 0 : k * size);
		uint8_t *elem = buf + (width >= 8 ? 0 : k * size);
		uint64_t v = 0;

		if (write)
			memcpy(&v, elem, size);
		if (bar_access(p, bar, off, size, write, &v, io))
			return bar >= DDEKIT_PCI_BARS ? EFI_INVALID_PARAMETER : EFI_UNSUPPORTED;
		if (!write)
			memcpy(elem, &v, size);
	}
	return EFI_SUCCESS;
}

static EFIAPI efi_status mem_read(void *this, uint32_t w, uint8_t bar, uint64_t off, uint64_t n,
				  void *buf)
{
	return rw(this, w, bar, off, n, buf, false, false);
}

static EFIAPI efi_status mem_write(void *this, uint32_t w, uint8_t bar, uint64_t off, uint64_t n,
				   void *buf)
{
	return rw(this, w, bar, off, n, buf, true, false);
}

static EFIAPI efi_status io_read(void *this, uint32_t w, uint8_t bar, uint64_t off, uint64_t n,
				 void *buf)
{
	return rw(this, w, bar, off, n, buf, false, true);
}

static EFIAPI efi_status io_write(void *this, uint32_t w, uint8_t bar, uint64_t off, uint64_t n,
				  void *buf)
{
	return rw(this, w, bar, off, n, buf, true, true);
}

static efi_status poll(void *this, uint32_t width, uint8_t bar, uint64_t offset, uint64_t mask,
		       uint64_t value, uint64_t delay_100ns, uint64_t *result, bool io)
{
	uint64_t until = ddekit_clock_ns() + delay_100ns * 100;

	if (!result || width > 3)
		return EFI_INVALID_PARAMETER;
	for (;;) {
		efi_status s;

		*result = 0;
		s = rw(this, width, bar, offset, 1, result, false, io);
		if (s)
			return s;
		if ((*result & mask) == value)
			return EFI_SUCCESS;
		if (!delay_100ns || ddekit_clock_ns() >= until)
			return EFI_TIMEOUT;
		ddekit_thread_sleep_us(10);
	}
}

static EFIAPI efi_status poll_mem(void *this, uint32_t w, uint8_t bar, uint64_t off, uint64_t mask,
				  uint64_t value, uint64_t delay, uint64_t *result)
{
	return poll(this, w, bar, off, mask, value, delay, result, false);
}

static EFIAPI efi_status poll_io(void *this, uint32_t w, uint8_t bar, uint64_t off, uint64_t mask,
				 uint64_t value, uint64_t delay, uint64_t *result)
{
	return poll(this, w, bar, off, mask, value, delay, result, true);
}

static efi_status config(void *this, uint32_t width, uint32_t offset, uint64_t count,
			 void *buffer, bool write)
{
	struct pci *p = pci_of(this);
	unsigned size = width_bytes(width);
	uint8_t *buf = buffer;

	if (!buffer || (width > 2 && width != 4 && width != 5 && width != 6))
		return EFI_INVALID_PARAMETER;
	if (size > 4)
		return EFI_INVALID_PARAMETER;
	for (uint64_t k = 0; k < count; k++) {
		uint32_t off = offset + (width >= 4 ? 0 : (uint32_t)(k * size)), v = 0;
		uint8_t *elem = buf + k * size;

		if (off + size > 256)
			return EFI_UNSUPPORTED;
		if (write) {
			memcpy(&v, elem, size);
			if (ddekit_pci_config_write(p->index, off, size, v))
				return EFI_DEVICE_ERROR;
		} else {
			if (ddekit_pci_config_read(p->index, off, size, &v))
				return EFI_DEVICE_ERROR;
			memcpy(elem, &v, size);
		}
	}
	return EFI_SUCCESS;
}

static EFIAPI efi_status pci_read(void *this, uint32_t w, uint32_t off, uint64_t n, void *buf)
{
	return config(this, w, off, n, buf, false);
}

static EFIAPI efi_status pci_write(void *this, uint32_t w, uint32_t off, uint64_t n, void *buf)
{
	return config(this, w, off, n, buf, true);
}

static EFIAPI efi_status copy_mem(void *this, uint32_t width, uint8_t dbar, uint64_t doff,
				  uint8_t sbar, uint64_t soff, uint64_t count)
{
	unsigned size = width_bytes(width);
	uint64_t v;

	if (width > 3)
		return EFI_INVALID_PARAMETER;
	/* overlapping ranges: copy from the end, as memmove would */
	bool down = dbar == sbar && doff > soff && doff < soff + count * size;

	for (uint64_t k = 0; k < count; k++) {
		uint64_t i = down ? count - 1 - k : k;
		efi_status s = rw(this, width, sbar, soff + i * size, 1, &v, false, false);

		if (!s)
			s = rw(this, width, dbar, doff + i * size, 1, &v, true, false);
		if (s)
			return s;
	}
	return EFI_SUCCESS;
}

/*
 * Firmware's memory is identity-mapped: a driver may hand the device a
 * pointer as its bus address (iPXE of 2019 does, for its rings and
 * buffers: virt_to_bus is the identity in its EFI build, and it never
 * calls Map). So the DMA region is mapped a second time, at its own bus
 * address where that is free in this process, and the host's DMA pages
 * (AllocateBuffer, bounce buffers, AllocatePages, the images: efi/boot.c)
 * are given in that view: there, a pointer is its bus address.
 */
static struct {
	bool tried;
	uint8_t *virt;		/* ddekit's view */
	uint8_t *alias;		/* the view at the bus address, or NULL */
	uint64_t bus;
	size_t size;
} ident;

static void identity_setup(void)
{
	void *virt, *p;
	uint64_t off;
	int fd;

	if (ident.tried)
		return;
	ident.tried = true;
	ddekit_dma_region(&virt, &ident.bus, &ident.size);
	ident.virt = virt;
	if (!virt || !ident.size || (fd = ddekit_dma_share(virt, ident.size, &off)) < 0)
		return;
	p = mmap((void *)(uintptr_t)ident.bus, ident.size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED_NOREPLACE, fd, (off_t)off);
	if (p == MAP_FAILED || p != (void *)(uintptr_t)ident.bus) {
		if (p != MAP_FAILED)
			munmap(p, ident.size);
		efi_log("the DMA region's bus address %#llx is taken in this process: pointers "
			"are not bus addresses (a driver that takes them for such fails)",
			(unsigned long long)ident.bus);
		return;
	}
	ident.alias = p;
}

void *efi_dma_pages(size_t pages, uint64_t *bus)
{
	uint8_t *p;

	identity_setup();
	p = ddekit_dma_alloc(pages * 4096, 4096, bus);
	if (p && ident.alias)
		p = ident.alias + (p - ident.virt);	/* *bus == p */
	return p;
}

void efi_dma_free_pages(void *p, size_t pages)
{
	uint8_t *q = p;

	if (ident.alias && q >= ident.alias && q < ident.alias + ident.size)
		q = ident.virt + (q - ident.alias);
	ddekit_dma_free(q);
}

/* the bus address of [p, p+n) if it is inside the driver's DMA region (either view), else 0 */
static uint64_t dma_bus(const void *p, uint64_t n)
{
	const uint8_t *q = p;

	identity_setup();
	if (!ident.virt || n > ident.size)
		return 0;
	if (q >= ident.virt && (size_t)(q - ident.virt) <= ident.size - n)
		return ident.bus + (uint64_t)(q - ident.virt);
	if (ident.alias && q >= ident.alias && (size_t)(q - ident.alias) <= ident.size - n)
		return ident.bus + (uint64_t)(q - ident.alias);
	return 0;
}

static EFIAPI efi_status map(void *this, uint32_t op, void *host, uint64_t *bytes,
			     uint64_t *device, void **mapping)
{
	struct mapping *m;

	if (!host || !bytes || !device || !mapping || op > 5)
		return EFI_INVALID_PARAMETER;
	m = calloc(1, sizeof(*m));
	if (!m)
		return EFI_OUT_OF_RESOURCES;
	m->op = op;
	m->host = host;
	m->bytes = *bytes;
	if ((*device = dma_bus(host, *bytes))) {
		/* the driver's DMA memory already: no copy */
	} else {
		/* a common buffer must be the device's own memory: AllocateBuffer's */
		if (op == 2 || op == 5) {
			free(m);
			return EFI_UNSUPPORTED;
		}
		m->pages = (*bytes + 4095) / 4096;
		m->bounce = efi_dma_pages(m->pages, device);
		if (!m->bounce) {
			free(m);
			return EFI_OUT_OF_RESOURCES;
		}
		/* the device reads it: what is there now */
		if (op == 0 || op == 3)
			memcpy(m->bounce, host, *bytes);
	}
	*mapping = m;
	return EFI_SUCCESS;
}

static EFIAPI efi_status unmap(void *this, void *mapping)
{
	struct mapping *m = mapping;

	if (!m)
		return EFI_INVALID_PARAMETER;
	if (m->bounce) {
		/* the device wrote it: back to where the driver looks */
		if (m->op == 1 || m->op == 4)
			memcpy(m->host, m->bounce, m->bytes);
		efi_dma_free_pages(m->bounce, m->pages);
	}
	free(m);
	return EFI_SUCCESS;
}

static EFIAPI efi_status allocate_buffer(void *this, uint32_t type, uint32_t memtype,
					 uint64_t pages, void **host, uint64_t attrs)
{
	uint64_t bus;

	if (!host || !pages)
		return EFI_INVALID_PARAMETER;
	*host = efi_dma_pages(pages, &bus);
	return *host ? EFI_SUCCESS : EFI_OUT_OF_RESOURCES;
}

static EFIAPI efi_status free_buffer(void *this, uint64_t pages, void *host)
{
	if (!host)
		return EFI_INVALID_PARAMETER;
	efi_dma_free_pages(host, pages);
	return EFI_SUCCESS;
}

static EFIAPI efi_status flush(void *this)
{
	return EFI_SUCCESS;	/* accesses are in order through ddeio */
}

static EFIAPI efi_status get_location(void *this, uint64_t *seg, uint64_t *bus, uint64_t *dev,
				      uint64_t *func)
{
	struct pci *p = pci_of(this);

	if (!seg || !bus || !dev || !func)
		return EFI_INVALID_PARAMETER;
	*seg = 0;
	*bus = p->dev->bus;
	*dev = p->dev->slot;
	*func = p->dev->func;
	return EFI_SUCCESS;
}

#define PCI_IO_SUPPORTED (EFI_PCI_IO_ATTRIBUTE_IO | EFI_PCI_IO_ATTRIBUTE_MEMORY | \
			  EFI_PCI_IO_ATTRIBUTE_BUS_MASTER | EFI_PCI_IO_ATTRIBUTE_DUAL_ADDRESS_CYCLE)

static EFIAPI efi_status attributes(void *this, uint32_t op, uint64_t attrs, uint64_t *result)
{
	struct pci *p = pci_of(this);
	uint32_t cmd;

	switch (op) {
	case EfiPciIoAttributeOperationGet:
		if (!result)
			return EFI_INVALID_PARAMETER;
		*result = p->attributes;
		return EFI_SUCCESS;
	case EfiPciIoAttributeOperationSupported:
		if (!result)
			return EFI_INVALID_PARAMETER;
		*result = PCI_IO_SUPPORTED;
		return EFI_SUCCESS;
	case EfiPciIoAttributeOperationSet:
	case EfiPciIoAttributeOperationEnable:
	case EfiPciIoAttributeOperationDisable:
		if (attrs & ~(uint64_t)PCI_IO_SUPPORTED)
			return EFI_UNSUPPORTED;
		break;
	default:
		return EFI_INVALID_PARAMETER;
	}
	uint64_t want = op == EfiPciIoAttributeOperationSet ? attrs :
			op == EfiPciIoAttributeOperationEnable ? p->attributes | attrs :
								 p->attributes & ~attrs;

	/* the command register's decode and bus-master bits follow the attributes */
	if (ddekit_pci_config_read(p->index, 4, 2, &cmd))
		return EFI_DEVICE_ERROR;
	cmd &= ~7u;
	cmd |= (want & EFI_PCI_IO_ATTRIBUTE_IO ? 1 : 0) | (want & EFI_PCI_IO_ATTRIBUTE_MEMORY ? 2 : 0) |
	       (want & EFI_PCI_IO_ATTRIBUTE_BUS_MASTER ? 4 : 0);
	if (ddekit_pci_config_write(p->index, 4, 2, cmd))
		return EFI_DEVICE_ERROR;
	p->attributes = want;
	return EFI_SUCCESS;
}

/* one ACPI QWORD address space descriptor for the BAR, and the end tag */
struct __attribute__((packed)) bar_descriptor {
	uint8_t desc, len_lo, len_hi, res_type, gen_flag, specific_flag;
	uint64_t granularity, min, max, offset, length;
	uint8_t end_desc, end_checksum;
};

static EFIAPI efi_status get_bar_attributes(void *this, uint8_t bar, uint64_t *supports,
					    void **resources)
{
	struct pci *p = pci_of(this);
	const struct ddekit_pci_bar *b;
	struct bar_descriptor *d;

	if (bar >= DDEKIT_PCI_BARS || (!supports && !resources))
		return EFI_INVALID_PARAMETER;
	b = &p->dev->bar[bar];
	if (b->kind == DDEKIT_BAR_NONE)
		return EFI_UNSUPPORTED;
	if (supports)
		*supports = PCI_IO_SUPPORTED;
	if (!resources)
		return EFI_SUCCESS;
	if (!(d = efi_pool(sizeof(*d))))
		return EFI_OUT_OF_RESOURCES;
	memset(d, 0, sizeof(*d));
	d->desc = 0x8a;
	d->len_lo = 0x2b;
	d->res_type = b->kind == DDEKIT_BAR_IO ? 1 : 0;
	d->granularity = b->kind == DDEKIT_BAR_MEM64 ? 64 : 32;
	d->min = b->addr;
	d->max = b->addr + b->size - 1;
	d->length = b->size;
	d->end_desc = 0x79;
	*resources = d;
	return EFI_SUCCESS;
}

static EFIAPI efi_status set_bar_attributes(void *this, uint64_t attrs, uint8_t bar,
					    uint64_t *offset, uint64_t *length)
{
	return EFI_UNSUPPORTED;
}

/*
 * --- EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL: the bridge above the granted devices ---
 *
 * Firmware gives every PCI root bridge this protocol on a handle of its
 * own (PciRoot(0)); drivers that predate the PCI I/O protocol's use for
 * config space reach their device through it (iPXE of 2019: every config
 * cycle is a Pci.Read/Write of the root bridge at bus/device/function).
 * The bridge serves the granted devices only: config cycles to any other
 * address read all ones and write nothing, as no device answering does;
 * Mem and Io take bus addresses inside a granted device's BARs.
 */
struct root_bridge_io {
	efi_handle parent_handle;
	void *poll_mem, *poll_io;
	void *mem_read, *mem_write, *io_read, *io_write, *pci_read, *pci_write;
	void *copy_mem, *map, *unmap, *allocate_buffer, *free_buffer, *flush;
	void *get_attributes, *set_attributes, *configuration;
	uint32_t segment_number;
};

#define MAX_DEVS 8
static struct pci *devs[MAX_DEVS];	/* the controllers made so far, by grant index */

/* the granted device at a root bridge config address, or -1 */
static int dev_at(uint8_t bus, uint8_t slot, uint8_t func)
{
	unsigned n = ddekit_pci_count();

	for (unsigned i = 0; i < n; i++) {
		const struct ddekit_pci_dev *d = ddekit_pci_device(i);

		if (d && d->bus == bus && d->slot == slot && d->func == func)
			return (int)i;
	}
	return -1;
}

static efi_status root_config(uint32_t width, uint64_t address, uint64_t count, void *buffer,
			      bool write)
{
	unsigned size = width_bytes(width);
	uint8_t *buf = buffer;
	uint32_t reg = (address >> 32) ? (uint32_t)(address >> 32) : (uint32_t)(address & 0xff);
	int index = dev_at((uint8_t)(address >> 24), (uint8_t)(address >> 16), (uint8_t)(address >> 8));

	if (!buffer || width > 10 || size > 4 || width == 3 || width == 7 || width == 11)
		return EFI_INVALID_PARAMETER;
	for (uint64_t k = 0; k < count; k++) {
		/* Fifo: the same register; Fill: the same buffer element */
		uint32_t off = reg + (width >= 4 && width < 8 ? 0 : (uint32_t)(k * size)), v = ~0u;
		uint8_t *elem = buf + (width >= 8 ? 0 : k * size);

		if (off + size > 4096)
			return EFI_INVALID_PARAMETER;
		if (index < 0 || off + size > 256) {
			/* no device there (or extended space we do not reach): all ones */
			if (!write)
				memcpy(elem, &v, size);
			continue;
		}
		if (write) {
			memcpy(&v, elem, size);
			if (ddekit_pci_config_write((unsigned)index, off, size, v))
				return EFI_DEVICE_ERROR;
		} else {
			if (ddekit_pci_config_read((unsigned)index, off, size, &v))
				return EFI_DEVICE_ERROR;
			memcpy(elem, &v, size);
		}
	}
	return EFI_SUCCESS;
}

static EFIAPI efi_status root_pci_read(void *this, uint32_t w, uint64_t addr, uint64_t n, void *buf)
{
	return root_config(w, addr, n, buf, false);
}

static EFIAPI efi_status root_pci_write(void *this, uint32_t w, uint64_t addr, uint64_t n, void *buf)
{
	return root_config(w, addr, n, buf, true);
}

/* the controller and BAR a bus address range is in */
static struct pci *bar_at(uint64_t addr, uint64_t len, bool io, unsigned *bar, uint64_t *off)
{
	for (unsigned i = 0; i < MAX_DEVS; i++) {
		if (!devs[i])
			continue;
		for (unsigned b = 0; b < DDEKIT_PCI_BARS; b++) {
			const struct ddekit_pci_bar *r = &devs[i]->dev->bar[b];

			if ((io ? r->kind != DDEKIT_BAR_IO :
				  r->kind != DDEKIT_BAR_MEM32 && r->kind != DDEKIT_BAR_MEM64) ||
			    addr < r->addr || addr - r->addr > r->size || len > r->size - (addr - r->addr))
				continue;
			*bar = b;
			*off = addr - r->addr;
			return devs[i];
		}
	}
	return NULL;
}

static efi_status root_rw(uint32_t width, uint64_t addr, uint64_t count, void *buffer, bool write,
			  bool io)
{
	unsigned size = width_bytes(width), bar;
	uint64_t off, span = (width >= 4 && width < 8) ? size : count * size;
	struct pci *p;

	if (!buffer || width >= 12)
		return EFI_INVALID_PARAMETER;
	if (!count)
		return EFI_SUCCESS;
	p = bar_at(addr, span, io, &bar, &off);
	if (!p)
		return EFI_INVALID_PARAMETER;	/* outside the bridge's granted apertures */
	return rw(p, width, bar, off, count, buffer, write, io);
}

static EFIAPI efi_status root_mem_read(void *this, uint32_t w, uint64_t a, uint64_t n, void *buf)
{
	return root_rw(w, a, n, buf, false, false);
}

static EFIAPI efi_status root_mem_write(void *this, uint32_t w, uint64_t a, uint64_t n, void *buf)
{
	return root_rw(w, a, n, buf, true, false);
}

static EFIAPI efi_status root_io_read(void *this, uint32_t w, uint64_t a, uint64_t n, void *buf)
{
	return root_rw(w, a, n, buf, false, true);
}

static EFIAPI efi_status root_io_write(void *this, uint32_t w, uint64_t a, uint64_t n, void *buf)
{
	return root_rw(w, a, n, buf, true, true);
}

static efi_status root_poll(uint32_t width, uint64_t addr, uint64_t mask, uint64_t value,
			    uint64_t delay_100ns, uint64_t *result, bool io)
{
	uint64_t until = ddekit_clock_ns() + delay_100ns * 100;

	if (!result || width > 3)
		return EFI_INVALID_PARAMETER;
	for (;;) {
		efi_status s;

		*result = 0;
		s = root_rw(width, addr, 1, result, false, io);
		if (s)
			return s;
		if ((*result & mask) == value)
			return EFI_SUCCESS;
		if (!delay_100ns || ddekit_clock_ns() >= until)
			return EFI_TIMEOUT;
		ddekit_thread_sleep_us(10);
	}
}

static EFIAPI efi_status root_poll_mem(void *this, uint32_t w, uint64_t a, uint64_t mask,
				       uint64_t value, uint64_t delay, uint64_t *result)
{
	return root_poll(w, a, mask, value, delay, result, false);
}

static EFIAPI efi_status root_poll_io(void *this, uint32_t w, uint64_t a, uint64_t mask,
				      uint64_t value, uint64_t delay, uint64_t *result)
{
	return root_poll(w, a, mask, value, delay, result, true);
}

static EFIAPI efi_status root_copy_mem(void *this, uint32_t width, uint64_t dst, uint64_t src,
				       uint64_t count)
{
	unsigned size = width_bytes(width);
	bool down = dst > src && dst < src + count * size;

	if (width > 3)
		return EFI_INVALID_PARAMETER;
	for (uint64_t k = 0; k < count; k++) {
		uint64_t i = down ? count - 1 - k : k, v = 0;
		efi_status s = root_rw(width, src + i * size, 1, &v, false, false);

		if (!s)
			s = root_rw(width, dst + i * size, 1, &v, true, false);
		if (s)
			return s;
	}
	return EFI_SUCCESS;
}

static EFIAPI efi_status root_get_attributes(void *this, uint64_t *supports, uint64_t *attrs)
{
	if (!supports && !attrs)
		return EFI_INVALID_PARAMETER;
	if (supports)
		*supports = 0;
	if (attrs)
		*attrs = 0;
	return EFI_SUCCESS;
}

static EFIAPI efi_status root_set_attributes(void *this, uint64_t attrs, uint64_t *base,
					     uint64_t *length)
{
	return attrs ? EFI_UNSUPPORTED : EFI_SUCCESS;
}

/* the bridge's resources: the bus numbers below it (the BARs are the devices') */
static EFIAPI efi_status root_configuration(void *this, void **resources)
{
	static struct bar_descriptor d;

	if (!resources)
		return EFI_INVALID_PARAMETER;
	memset(&d, 0, sizeof(d));
	d.desc = 0x8a;
	d.len_lo = 0x2b;
	d.res_type = 2;		/* bus numbers */
	d.min = 0;
	d.max = 0xff;
	d.length = 0x100;
	d.end_desc = 0x79;
	*resources = &d;
	return EFI_SUCCESS;
}

/* the root bridge's handle, made with the first controller */
static void root_bridge(void)
{
	static struct root_bridge_io rb;
	static struct {
		struct efi_device_path_acpi acpi;
		struct efi_device_path_protocol end;
	} __attribute__((packed)) path;
	static efi_handle h;

	if (h)
		return;
#define SET(member, fn, nargs) (rb.member = efi_export((void *)(fn), #fn, nargs))
	SET(poll_mem, root_poll_mem, 7);
	SET(poll_io, root_poll_io, 7);
	SET(mem_read, root_mem_read, 5);
	SET(mem_write, root_mem_write, 5);
	SET(io_read, root_io_read, 5);
	SET(io_write, root_io_write, 5);
	SET(pci_read, root_pci_read, 5);
	SET(pci_write, root_pci_write, 5);
	SET(copy_mem, root_copy_mem, 5);
	SET(map, map, 6);
	SET(unmap, unmap, 2);
	SET(allocate_buffer, allocate_buffer, 6);
	SET(free_buffer, free_buffer, 3);
	SET(flush, flush, 1);
	SET(get_attributes, root_get_attributes, 3);
	SET(set_attributes, root_set_attributes, 4);
	SET(configuration, root_configuration, 2);
#undef SET
	rb.segment_number = 0;
	path.acpi.header.type = 2;	/* ACPI: PNP0A03, the root bridge */
	path.acpi.header.sub_type = 1;
	path.acpi.header.length[0] = sizeof(path.acpi);
	path.acpi.hid = 0x0a0341d0;
	path.acpi.uid = 0;
	path.end.type = 0x7f;
	path.end.sub_type = 0xff;
	path.end.length[0] = 4;
	if (efi_install(&h, &EFI_GUID_DEVICE_PATH, &path) ||
	    efi_install(&h, &EFI_GUID_PCI_ROOT_BRIDGE_IO, &rb))
		efi_log("cannot install the PCI root bridge I/O protocol");
	rb.parent_handle = h;
}

efi_handle efi_pci_controller(unsigned index)
{
	struct pci *p = calloc(1, sizeof(*p));
	efi_handle h = NULL;
	struct efi_pci_io_protocol *io;

	if (!p)
		return NULL;
	p->index = index;
	p->dev = ddekit_pci_device(index);
	if (!p->dev) {
		free(p);
		return NULL;
	}
	/*
	 * Every memory BAR mapped now, at its bus address: firmware is
	 * identity-mapped, and some UEFI drivers (iPXE's) reach registers
	 * through the BAR's address as a pointer rather than through PCI I/O;
	 * the trap engine then turns those accesses into ddeio's.
	 */
	ddekit_mmio_map_at_bus(true);
	for (unsigned b = 0; b < DDEKIT_PCI_BARS; b++)
		if (p->dev->bar[b].kind == DDEKIT_BAR_MEM32 || p->dev->bar[b].kind == DDEKIT_BAR_MEM64)
			p->bar[b] = ddekit_mmio_map(index, b, &p->bar_size[b]);
	/*
	 * What the command register has on: decoding and bus mastering, as
	 * firmware leaves a device at its first grant; mastering off when a
	 * driver had it before (the driver enables it: Attributes)
	 */
	uint32_t cmd = 0;

	ddekit_pci_config_read(index, 4, 2, &cmd);
	p->attributes = (cmd & 1 ? EFI_PCI_IO_ATTRIBUTE_IO : 0) |
			(cmd & 2 ? EFI_PCI_IO_ATTRIBUTE_MEMORY : 0) |
			(cmd & 4 ? EFI_PCI_IO_ATTRIBUTE_BUS_MASTER : 0);
	io = &p->io;
#define SET(member, fn, nargs) (io->member = (__typeof__(io->member))efi_export((void *)(fn), #fn, nargs))
	SET(poll_mem, poll_mem, 8);
	SET(poll_io, poll_io, 8);
	SET(mem.read, mem_read, 6);
	SET(mem.write, mem_write, 6);
	SET(io.read, io_read, 6);
	SET(io.write, io_write, 6);
	SET(pci.read, pci_read, 5);
	SET(pci.write, pci_write, 5);
	SET(copy_mem, copy_mem, 7);
	SET(map, map, 6);
	SET(unmap, unmap, 2);
	SET(allocate_buffer, allocate_buffer, 6);
	SET(free_buffer, free_buffer, 3);
	SET(flush, flush, 1);
	SET(get_location, get_location, 5);
	SET(attributes, attributes, 4);
	SET(get_bar_attributes, get_bar_attributes, 4);
	SET(set_bar_attributes, set_bar_attributes, 5);
#undef SET
	io->rom_size = 0;
	io->rom_image = NULL;

	p->path.acpi.header.type = 2;	/* ACPI: PNP0A03, the root bridge */
	p->path.acpi.header.sub_type = 1;
	p->path.acpi.header.length[0] = sizeof(p->path.acpi);
	p->path.acpi.hid = 0x0a0341d0;
	p->path.acpi.uid = 0;
	p->path.pci.header.type = 1;	/* hardware: PCI */
	p->path.pci.header.sub_type = 1;
	p->path.pci.header.length[0] = sizeof(p->path.pci);
	p->path.pci.function = p->dev->func;
	p->path.pci.device = p->dev->slot;
	p->path.end.type = 0x7f;
	p->path.end.sub_type = 0xff;
	p->path.end.length[0] = 4;
	if (efi_install(&h, &EFI_GUID_DEVICE_PATH, &p->path) ||
	    efi_install(&h, &EFI_GUID_PCI_IO, &p->io))
		return NULL;
	if (index < MAX_DEVS)
		devs[index] = p;
	root_bridge();
	return h;
}
