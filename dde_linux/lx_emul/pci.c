/*
 * PCI from the I/O server's grants: each device granted to this driver
 * process becomes a struct pci_dev on bus 0000:00, with Linux's names,
 * resources, interrupt line and DMA mask. A PCI driver registering itself
 * is matched against them and probed at once, in the registering task.
 * Config space goes through ddekit; BARs map through ddekit's MMIO mapping
 * (plain loads and stores on it are trapped and emulated, so readl/writel
 * and ioread32 work unchanged) and port I/O through the trap engine too.
 */
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/vga_switcheroo.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <asm/unaligned.h>

#include <lx_kit/kit.h>
#include "lx_emul.h"

struct lx_pci {
	struct pci_dev pdev;
	unsigned index;		/* in the grant */
	void *bar_virt[PCI_STD_NUM_BARS];
	unsigned intx;		/* the INTx line (pdev.irq while no MSI) */
	unsigned vec_first, nvec;	/* MSI/MSI-X vectors' lines, while enabled */
	unsigned saved[4];	/* pci_save_state's registers */
};

static struct pci_bus lx_pci_bus0 = { .number = 0 };
static struct lx_pci *devices;
static unsigned ndevices;

struct bus_type pci_bus_type = { .name = "pci" };

static struct lx_pci *lx_of(const struct pci_dev *pdev)
{
	return container_of(pdev, struct lx_pci, pdev);
}

static void setup_dev(struct lx_pci *d, unsigned index)
{
	struct lx_kit_pci_dev k;
	struct pci_dev *p = &d->pdev;

	d->index = index;
	lx_kit_pci_get(index, &k);
	p->bus = &lx_pci_bus0;
	p->devfn = PCI_DEVFN(k.slot, k.func);
	p->vendor = k.vendor;
	p->device = k.device;
	p->subsystem_vendor = k.subsystem_vendor;
	p->subsystem_device = k.subsystem_device;
	p->class = k.class_code;
	p->revision = k.revision;
	p->pin = k.irq_pin;
	p->irq = k.irq;
	d->intx = k.irq;
	p->hdr_type = PCI_HEADER_TYPE_NORMAL;
	p->current_state = PCI_D0;
	p->dma_mask = DMA_BIT_MASK(32);
	p->cfg_size = PCI_CFG_SPACE_SIZE;
	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		struct resource *r = &p->resource[i];

		if (!k.bar[i].kind || !k.bar[i].size)
			continue;
		r->start = k.bar[i].addr;
		r->end = k.bar[i].addr + k.bar[i].size - 1;
		r->flags = k.bar[i].kind == 1 ? IORESOURCE_IO : IORESOURCE_MEM;
		if (k.bar[i].kind == 3)
			r->flags |= IORESOURCE_MEM_64;
		if (k.bar[i].prefetchable)
			r->flags |= IORESOURCE_PREFETCH;
		r->name = NULL;
	}
	/*
	 * as pci_setup_device(): an IDE controller in compatibility mode has
	 * the PC's fixed ports as its BARs 0-3 (ddeio grants them with the
	 * device, and ISA lines 14/15)
	 */
	if ((p->class >> 8) == PCI_CLASS_STORAGE_IDE) {
		static const struct { unsigned bar, mode_bit, start, len; } legacy[] = {
			{ 0, 1, 0x1f0, 8 }, { 1, 1, 0x3f6, 1 }, { 2, 4, 0x170, 8 }, { 3, 4, 0x376, 1 },
		};

		for (unsigned i = 0; i < ARRAY_SIZE(legacy); i++) {
			struct resource *r = &p->resource[legacy[i].bar];

			if (p->class & legacy[i].mode_bit)
				continue;	/* that channel is in native mode */
			r->start = legacy[i].start;
			r->end = legacy[i].start + legacy[i].len - 1;
			r->flags = IORESOURCE_IO;
		}
	}
	device_initialize(&p->dev);
	p->dev.bus = &pci_bus_type;
	p->dev.dma_mask = &p->dma_mask;
	p->dev.coherent_dma_mask = DMA_BIT_MASK(32);
	/* as pci_setup_device(): DMA segment limits every PCI device starts with */
	p->dev.dma_parms = &p->dma_parms;
	dma_set_max_seg_size(&p->dev, 65536);
	dma_set_seg_boundary(&p->dev, 0xffffffff);
	dev_set_name(&p->dev, "0000:00:%02x.%x", k.slot, k.func);
}

/*
 * PCI fixups (DECLARE_PCI_FIXUP_*) of the code linked in, collected by
 * dde_linux/lx.ld, run as drivers/pci/quirks.c's pci_fixup_device does:
 * early and header ones when the device is set up, final ones before any
 * driver can bind, enable ones at the first pci_enable_device. USB's
 * quirk_usb_early_handoff is one: it stops and resets a host controller
 * that is still running, e.g. the schedule of a driver that died.
 */
extern const struct pci_fixup __lx_pci_fixups_early[], __lx_pci_fixups_header[],
	__lx_pci_fixups_final[], __lx_pci_fixups_enable[], __lx_pci_fixups_end[];

static void run_fixups(struct pci_dev *dev, const struct pci_fixup *f,
		       const struct pci_fixup *end)
{
	for (; f < end; f++) {
		void (*hook)(struct pci_dev *) = offset_to_ptr(&f->hook_offset);

		if (f->class != (u32)(dev->class >> f->class_shift) && f->class != (u32)PCI_ANY_ID)
			continue;
		if (f->vendor != dev->vendor && f->vendor != (u16)PCI_ANY_ID)
			continue;
		if (f->device != dev->device && f->device != (u16)PCI_ANY_ID)
			continue;
		pci_dbg(dev, "calling %pS\n", hook);
		hook(dev);
	}
}

void lx_emul_pci_init(void)
{
	ndevices = lx_kit_pci_count();
	devices = kcalloc(ndevices ? ndevices : 1, sizeof(*devices), GFP_KERNEL);
	if (!devices)
		panic("lx_emul: no memory for PCI devices");
	for (unsigned i = 0; i < ndevices; i++) {
		setup_dev(&devices[i], i);
		run_fixups(&devices[i].pdev, __lx_pci_fixups_early, __lx_pci_fixups_header);
		run_fixups(&devices[i].pdev, __lx_pci_fixups_header, __lx_pci_fixups_final);
	}
	for (unsigned i = 0; i < ndevices; i++)
		run_fixups(&devices[i].pdev, __lx_pci_fixups_final, __lx_pci_fixups_enable);
}

/* ---- drivers ---- */

static const struct pci_device_id *match(const struct pci_device_id *id, const struct pci_dev *p)
{
	for (; id && (id->vendor || id->subvendor || id->class_mask); id++) {
		if ((id->vendor == PCI_ANY_ID || id->vendor == p->vendor) &&
		    (id->device == PCI_ANY_ID || id->device == p->device) &&
		    (id->subvendor == PCI_ANY_ID || id->subvendor == p->subsystem_vendor) &&
		    (id->subdevice == PCI_ANY_ID || id->subdevice == p->subsystem_device) &&
		    !((id->class ^ p->class) & id->class_mask))
			return id;
	}
	return NULL;
}

/*
 * The PCI functions this process may see: its granted ones only (a quirk
 * looking for a host bridge's errata finds none, as on a machine without).
 */
struct pci_dev *pci_get_device(unsigned int vendor, unsigned int device, struct pci_dev *from)
{
	unsigned i = from ? (unsigned)(lx_of(from)->index + 1) : 0;
	struct pci_dev *found = NULL;

	for (; i < ndevices && !found; i++) {
		struct pci_dev *p = &devices[i].pdev;

		if ((vendor == PCI_ANY_ID || p->vendor == vendor) &&
		    (device == PCI_ANY_ID || p->device == device))
			found = p;
	}
	if (found)
		get_device(&found->dev);
	if (from)
		put_device(&from->dev);
	return found;
}

/* by class (HD Audio looks for the GPU beside it), among the granted functions */
struct pci_dev *pci_get_class(unsigned int class, struct pci_dev *from)
{
	unsigned i = from ? (unsigned)(lx_of(from)->index + 1) : 0;
	struct pci_dev *found = NULL;

	for (; i < ndevices && !found; i++)
		if (devices[i].pdev.class == class)
			found = &devices[i].pdev;
	if (found)
		get_device(&found->dev);
	if (from)
		put_device(&from->dev);
	return found;
}

struct pci_dev *pci_get_domain_bus_and_slot(int domain, unsigned int bus, unsigned int devfn)
{
	for (unsigned i = 0; i < ndevices; i++) {
		struct pci_dev *p = &devices[i].pdev;

		if (!domain && p->bus->number == bus && p->devfn == devfn)
			return pci_dev_get(p);
	}
	return NULL;
}

/* a function beside the driver's (OHCI's AMD quirk looks for the SMBus) */
struct pci_dev *pci_get_slot(struct pci_bus *bus, unsigned int devfn)
{
	return bus ? pci_get_domain_bus_and_slot(0, bus->number, devfn) : NULL;
}

/* no hybrid graphics: no switcheroo to register an HDMI codec's controller with */
int vga_switcheroo_register_audio_client(struct pci_dev *pdev,
					 const struct vga_switcheroo_client_ops *ops,
					 struct pci_dev *vga_dev)
{
	return -ENODEV;
}

void vga_switcheroo_unregister_client(struct pci_dev *pdev)
{
}

enum vga_switcheroo_state vga_switcheroo_get_client_state(struct pci_dev *pdev)
{
	return VGA_SWITCHEROO_ON;
}

/* no ACPI power resources (_PR3) here */
bool pci_pr3_present(struct pci_dev *pdev)
{
	return false;
}

struct pci_dev *pci_dev_get(struct pci_dev *dev)
{
	if (dev)
		get_device(&dev->dev);
	return dev;
}

void pci_dev_put(struct pci_dev *dev)
{
	if (dev)
		put_device(&dev->dev);
}

const struct pci_device_id *pci_match_id(const struct pci_device_id *ids, struct pci_dev *dev)
{
	return match(ids, dev);
}

int __pci_register_driver(struct pci_driver *drv, struct module *owner, const char *mod_name)
{
	int bound = 0;

	drv->driver.name = drv->name;
	drv->driver.bus = &pci_bus_type;
	for (unsigned i = 0; i < ndevices; i++) {
		struct pci_dev *p = &devices[i].pdev;
		const struct pci_device_id *id = match(drv->id_table, p);
		int r;

		if (!id || p->driver)
			continue;
		p->driver = drv;
		p->dev.driver = &drv->driver;
		r = drv->probe(p, id);
		if (r) {
			dev_warn(&p->dev, "probe of %s failed with error %d\n", drv->name, r);
			p->driver = NULL;
			p->dev.driver = NULL;
			continue;
		}
		bound++;
	}
	if (!bound)
		pr_warn("lx_emul: PCI driver %s found none of its devices in the grant\n",
			drv->name);
	return 0;
}

void pci_unregister_driver(struct pci_driver *drv)
{
	for (unsigned i = 0; i < ndevices; i++) {
		struct pci_dev *p = &devices[i].pdev;

		if (p->driver != drv)
			continue;
		if (drv->remove)
			drv->remove(p);
		p->driver = NULL;
		p->dev.driver = NULL;
	}
}

/* ---- config space ---- */

static int cfg_read(const struct pci_dev *dev, int where, unsigned size, u32 *val)
{
	unsigned v = ~0u;
	int r = lx_kit_pci_config_read(lx_of(dev)->index, (unsigned)where, size, &v);

	*val = v;
	return r ? PCIBIOS_DEVICE_NOT_FOUND : PCIBIOS_SUCCESSFUL;
}

static int cfg_write(const struct pci_dev *dev, int where, unsigned size, u32 val)
{
	return lx_kit_pci_config_write(lx_of(dev)->index, (unsigned)where, size, val)
		? PCIBIOS_DEVICE_NOT_FOUND : PCIBIOS_SUCCESSFUL;
}

int pci_read_config_byte(const struct pci_dev *dev, int where, u8 *val)
{
	u32 v;
	int r = cfg_read(dev, where, 1, &v);

	*val = (u8)v;
	return r;
}

int pci_read_config_word(const struct pci_dev *dev, int where, u16 *val)
{
	u32 v;
	int r = cfg_read(dev, where, 2, &v);

	*val = (u16)v;
	return r;
}

int pci_read_config_dword(const struct pci_dev *dev, int where, u32 *val)
{
	return cfg_read(dev, where, 4, val);
}

int pci_write_config_byte(const struct pci_dev *dev, int where, u8 val)
{
	return cfg_write(dev, where, 1, val);
}

int pci_write_config_word(const struct pci_dev *dev, int where, u16 val)
{
	return cfg_write(dev, where, 2, val);
}

int pci_write_config_dword(const struct pci_dev *dev, int where, u32 val)
{
	return cfg_write(dev, where, 4, val);
}

static void command_bits(struct pci_dev *dev, u16 set, u16 clear)
{
	u16 cmd, old;

	pci_read_config_word(dev, PCI_COMMAND, &cmd);
	old = cmd;
	cmd = (u16)((cmd | set) & ~clear);
	if (cmd != old)
		pci_write_config_word(dev, PCI_COMMAND, cmd);
}

/* ---- enabling, resources ---- */

static int enable(struct pci_dev *dev, unsigned long flags)
{
	u16 bits = 0;

	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		unsigned long f = dev->resource[i].flags & flags;

		if (f & IORESOURCE_IO)
			bits |= PCI_COMMAND_IO;
		if (f & IORESOURCE_MEM)
			bits |= PCI_COMMAND_MEMORY;
	}
	command_bits(dev, bits, PCI_COMMAND_INTX_DISABLE);
	if (atomic_inc_return(&dev->enable_cnt) == 1)
		run_fixups(dev, __lx_pci_fixups_enable, __lx_pci_fixups_end);
	return 0;
}

int pci_enable_device(struct pci_dev *dev)
{
	return enable(dev, IORESOURCE_MEM | IORESOURCE_IO);
}

int pci_enable_device_mem(struct pci_dev *dev)
{
	return enable(dev, IORESOURCE_MEM);
}

/* after a reset took the decoding away (ata_piix on resume): set it again,
 * without counting another enable */
int pci_reenable_device(struct pci_dev *dev)
{
	u16 bits = 0;

	if (!pci_is_enabled(dev))
		return 0;
	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (dev->resource[i].flags & IORESOURCE_IO)
			bits |= PCI_COMMAND_IO;
		if (dev->resource[i].flags & IORESOURCE_MEM)
			bits |= PCI_COMMAND_MEMORY;
	}
	command_bits(dev, bits, 0);
	return 0;
}

void pci_disable_device(struct pci_dev *dev)
{
	if (atomic_dec_return(&dev->enable_cnt) == 0)
		command_bits(dev, 0, PCI_COMMAND_MASTER);
}

/* managed enabling (drivers/pci/pci.c's pcim_*): disabled with the
 * device's resources unless the driver pinned it */
struct pcim_res {
	bool pinned;
};

static void pcim_release(struct device *gendev, void *res)
{
	struct pcim_res *r = res;

	if (!r->pinned)
		pci_disable_device(to_pci_dev(gendev));
}

int pcim_enable_device(struct pci_dev *pdev)
{
	struct pcim_res *r = devres_alloc(pcim_release, sizeof(*r), GFP_KERNEL);
	int rc;

	if (!r)
		return -ENOMEM;
	rc = pci_enable_device(pdev);
	if (rc) {
		devres_free(r);
		return rc;
	}
	devres_add(&pdev->dev, r);
	pdev->is_managed = 1;
	return 0;
}

void pcim_pin_device(struct pci_dev *pdev)
{
	struct pcim_res *r = devres_find(&pdev->dev, pcim_release, NULL, NULL);

	if (r)
		r->pinned = true;
}

void pci_intx(struct pci_dev *pdev, int enable)
{
	command_bits(pdev, enable ? 0 : PCI_COMMAND_INTX_DISABLE,
		     enable ? PCI_COMMAND_INTX_DISABLE : 0);
}

void pci_set_master(struct pci_dev *dev)
{
	command_bits(dev, PCI_COMMAND_MASTER, 0);
	dev->is_busmaster = 1;
}

void pci_clear_master(struct pci_dev *dev)
{
	command_bits(dev, 0, PCI_COMMAND_MASTER);
	dev->is_busmaster = 0;
}

int pci_set_mwi(struct pci_dev *dev)
{
	command_bits(dev, PCI_COMMAND_INVALIDATE, 0);
	return 0;
}

void pci_clear_mwi(struct pci_dev *dev)
{
	command_bits(dev, 0, PCI_COMMAND_INVALIDATE);
}

int pci_select_bars(struct pci_dev *dev, unsigned long flags)
{
	int bars = 0;

	for (int i = 0; i < PCI_STD_NUM_BARS; i++)
		if (dev->resource[i].flags & flags)
			bars |= 1 << i;
	return bars;
}

/*
 * Region requests, as in Linux: one owner per range. A range must lie in
 * a BAR granted to this process (the I/O server would refuse any other
 * access anyway); requests are kept as children of ioport_resource and
 * iomem_resource.
 */
struct resource ioport_resource = {
	.name = "PCI IO", .start = 0, .end = IO_SPACE_LIMIT, .flags = IORESOURCE_IO,
};
struct resource iomem_resource = {
	.name = "PCI mem", .start = 0, .end = -1, .flags = IORESOURCE_MEM,
};
static DEFINE_MUTEX(region_lock);

static bool in_grant(unsigned long type, resource_size_t start, resource_size_t end)
{
	for (unsigned i = 0; i < ndevices; i++)
		for (int b = 0; b < PCI_STD_NUM_BARS; b++) {
			struct resource *r = &devices[i].pdev.resource[b];

			if ((r->flags & type) && start >= r->start && end <= r->end)
				return true;
		}
	return false;
}

struct resource *__request_region(struct resource *parent, resource_size_t start,
				  resource_size_t n, const char *name, int flags)
{
	resource_size_t end = start + n - 1;
	struct resource *res, **p;

	if (!n || end < start || !in_grant(parent->flags & IORESOURCE_TYPE_BITS, start, end)) {
		pr_err("lx_emul: %s requests %s region %pa+%pa outside its grant\n",
		       name, parent->name, &start, &n);
		return NULL;
	}
	res = kzalloc(sizeof(*res), GFP_KERNEL);
	if (!res)
		return NULL;
	res->name = name;
	res->start = start;
	res->end = end;
	res->flags = (parent->flags & IORESOURCE_TYPE_BITS) | IORESOURCE_BUSY | flags;
	mutex_lock(&region_lock);
	for (p = &parent->child; *p && (*p)->end < start; p = &(*p)->sibling)
		;
	if (*p && (*p)->start <= end) {
		pr_warn("lx_emul: %s region %pa+%pa is busy (%s)\n", parent->name, &start, &n,
			(*p)->name);
		mutex_unlock(&region_lock);
		kfree(res);
		return NULL;
	}
	res->parent = parent;
	res->sibling = *p;
	*p = res;
	mutex_unlock(&region_lock);
	return res;
}

void __release_region(struct resource *parent, resource_size_t start, resource_size_t n)
{
	struct resource **p, *res;

	mutex_lock(&region_lock);
	for (p = &parent->child; (res = *p); p = &res->sibling)
		if (res->start == start && resource_size(res) == n) {
			*p = res->sibling;
			mutex_unlock(&region_lock);
			kfree(res);
			return;
		}
	mutex_unlock(&region_lock);
	pr_warn("lx_emul: trying to free nonexistent %s region %pa+%pa\n", parent->name,
		&start, &n);
}

/* a region held until its device's driver lets go (devres) */
struct region_devres {
	struct resource *parent;
	resource_size_t start, n;
};

static void devm_region_release(struct device *dev, void *res)
{
	struct region_devres *r = res;

	__release_region(r->parent, r->start, r->n);
}

static int devm_region_match(struct device *dev, void *res, void *data)
{
	struct region_devres *r = res, *want = data;

	return r->parent == want->parent && r->start == want->start && r->n == want->n;
}

struct resource *__devm_request_region(struct device *dev, struct resource *parent,
				       resource_size_t start, resource_size_t n, const char *name)
{
	struct region_devres *r = devres_alloc(devm_region_release, sizeof(*r), GFP_KERNEL);
	struct resource *res;

	if (!r)
		return NULL;
	*r = (struct region_devres){ parent, start, n };
	res = __request_region(parent, start, n, name, 0);
	if (res)
		devres_add(dev, r);
	else
		devres_free(r);
	return res;
}

void __devm_release_region(struct device *dev, struct resource *parent, resource_size_t start,
			   resource_size_t n)
{
	struct region_devres want = { parent, start, n };

	WARN_ON(devres_release(dev, devm_region_release, devm_region_match, &want));
}

static struct resource *bar_parent(struct pci_dev *dev, int bar)
{
	return dev->resource[bar].flags & IORESOURCE_IO ? &ioport_resource : &iomem_resource;
}

void pci_release_selected_regions(struct pci_dev *dev, int bars)
{
	for (int b = 0; b < PCI_STD_NUM_BARS; b++)
		if ((bars & (1 << b)) && pci_resource_len(dev, b))
			__release_region(bar_parent(dev, b), dev->resource[b].start,
					 resource_size(&dev->resource[b]));
}

int pci_request_selected_regions(struct pci_dev *dev, int bars, const char *name)
{
	for (int b = 0; b < PCI_STD_NUM_BARS; b++) {
		struct resource *r = &dev->resource[b];

		if (!(bars & (1 << b)) || !pci_resource_len(dev, b))
			continue;
		if (!__request_region(bar_parent(dev, b), r->start, resource_size(r), name, 0)) {
			pci_release_selected_regions(dev, bars & ((1 << b) - 1));
			return -EBUSY;
		}
	}
	return 0;
}

int pci_request_region(struct pci_dev *dev, int bar, const char *name)
{
	return pci_request_selected_regions(dev, 1 << bar, name);
}

void pci_release_region(struct pci_dev *dev, int bar)
{
	pci_release_selected_regions(dev, 1 << bar);
}

int pci_request_regions(struct pci_dev *dev, const char *name)
{
	return pci_request_selected_regions(dev, (1 << PCI_STD_NUM_BARS) - 1, name);
}

void pci_release_regions(struct pci_dev *dev)
{
	pci_release_selected_regions(dev, (1 << PCI_STD_NUM_BARS) - 1);
}

/* ---- power management (docs/hotplug.md "Power management") ---- */

/*
 * The config registers a driver may write that a D3hot to D0 transition
 * may lose (a device without No_Soft_Reset): command, cache line size and
 * latency timer, interrupt line. BARs and MSI belong to the I/O server.
 */
static const struct { unsigned off, size; } saved_regs[] = {
	{ PCI_COMMAND, 2 }, { PCI_CACHE_LINE_SIZE, 1 }, { PCI_LATENCY_TIMER, 1 },
	{ PCI_INTERRUPT_LINE, 1 },
};

int pci_save_state(struct pci_dev *dev)
{
	struct lx_pci *d = lx_of(dev);

	for (unsigned i = 0; i < ARRAY_SIZE(saved_regs); i++)
		lx_kit_pci_config_read(d->index, saved_regs[i].off, saved_regs[i].size,
				       &d->saved[i]);
	dev->state_saved = true;
	return 0;
}

void pci_restore_state(struct pci_dev *dev)
{
	struct lx_pci *d = lx_of(dev);
	unsigned v;

	if (!dev->state_saved)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(saved_regs); i++)
		if (!lx_kit_pci_config_read(d->index, saved_regs[i].off, saved_regs[i].size, &v) &&
		    v != d->saved[i])
			lx_kit_pci_config_write(d->index, saved_regs[i].off, saved_regs[i].size,
						d->saved[i]);
	dev->state_saved = false;
}

/*
 * D0 or D3hot through the device's PM capability (PMCSR), with the 10 ms
 * the PCI PM spec gives a device to get there; a device without one stays
 * powered, as Linux keeps such a device in D0.
 */
int pci_set_power_state(struct pci_dev *dev, pci_power_t state)
{
	int pm = pci_find_capability(dev, PCI_CAP_ID_PM);
	u16 csr;

	if (state != PCI_D0 && state != PCI_D3hot)
		state = state < PCI_D0 ? PCI_D0 : PCI_D3hot;	/* D1, D2, D3cold: not here */
	if (!pm) {
		dev->current_state = PCI_D0;
		return 0;
	}
	pci_read_config_word(dev, pm + PCI_PM_CTRL, &csr);
	if ((csr & PCI_PM_CTRL_STATE_MASK) == (u16)state) {
		dev->current_state = state;
		return 0;
	}
	csr = (csr & ~PCI_PM_CTRL_STATE_MASK) | (u16)state;
	pci_write_config_word(dev, pm + PCI_PM_CTRL, csr);
	msleep(10);
	pci_read_config_word(dev, pm + PCI_PM_CTRL, &csr);
	dev->current_state = (pci_power_t)(csr & PCI_PM_CTRL_STATE_MASK);
	return dev->current_state == state ? 0 : -EIO;
}

/* The granted device @i (for the system sleep of dde pm, lx_emul/pm.c), or NULL. */
struct pci_dev *lx_emul_pci_dev(unsigned i)
{
	return i < ndevices ? &devices[i].pdev : NULL;
}

int pci_enable_wake(struct pci_dev *dev, pci_power_t state, bool enable)
{
	return 0;
}

int pci_wake_from_d3(struct pci_dev *dev, bool enable)
{
	return 0;
}

/* no PME reaches a driver: nothing wakes a device from runtime suspend */
bool pci_dev_run_wake(struct pci_dev *dev)
{
	return false;
}

void pci_d3cold_disable(struct pci_dev *dev)
{
	dev->no_d3cold = true;
}

/* the state for system sleep: D3hot where the device can go there (as D3cold is not here) */
pci_power_t pci_choose_state(struct pci_dev *dev, pm_message_t state)
{
	return state.event == PM_EVENT_ON || !dev->pm_cap ? PCI_D0 : PCI_D3hot;
}

int pci_prepare_to_sleep(struct pci_dev *dev)
{
	return pci_set_power_state(dev, pci_choose_state(dev, PMSG_SUSPEND));
}

const char *pci_power_names[] = {
	"error", "D0", "D1", "D2", "D3hot", "D3cold", "unknown",
};

void device_set_wakeup_capable(struct device *dev, bool capable)
{
	dev->power.can_wakeup = capable;
}

int device_set_wakeup_enable(struct device *dev, bool enable)
{
	return dev->power.can_wakeup ? 0 : -EINVAL;	/* nothing here sleeps, so nothing wakes */
}

/* ---- mapping BARs ---- */

void __iomem *pci_ioremap_bar(struct pci_dev *dev, int bar)
{
	struct lx_pci *d = lx_of(dev);
	unsigned long size;

	if (bar < 0 || bar >= PCI_STD_NUM_BARS || !(dev->resource[bar].flags & IORESOURCE_MEM))
		return NULL;
	if (!d->bar_virt[bar])
		d->bar_virt[bar] = lx_kit_mmio_map(d->index, (unsigned)bar, &size);
	return (void __iomem *)d->bar_virt[bar];
}

void __iomem *ioremap(resource_size_t addr, unsigned long size)
{
	for (unsigned i = 0; i < ndevices; i++) {
		struct pci_dev *p = &devices[i].pdev;

		for (int b = 0; b < PCI_STD_NUM_BARS; b++) {
			struct resource *r = &p->resource[b];

			if (!(r->flags & IORESOURCE_MEM) || addr < r->start ||
			    addr + size - 1 > r->end)
				continue;
			return (char __iomem *)pci_ioremap_bar(p, b) + (addr - r->start);
		}
	}
	pr_err("lx_emul: ioremap of %pa (+%lu) outside this driver's BARs\n", &addr, size);
	return NULL;
}

void __iomem *ioremap_wc(resource_size_t addr, unsigned long size)
{
	return ioremap(addr, size);
}

void iounmap(volatile void __iomem *addr)
{
	/* BAR mappings live as long as the process */
}

/* --- copies to and from device memory, in accesses the device sees one by one --- */

void memcpy_fromio(void *to, const volatile void __iomem *from, size_t n)
{
	u8 *d = to;
	const volatile u8 __iomem *s = from;

	while (n && ((unsigned long)s & 3)) {
		*d++ = readb(s++);
		n--;
	}
	for (; n >= 4; n -= 4, d += 4, s += 4)
		put_unaligned(readl(s), (u32 *)d);
	while (n--)
		*d++ = readb(s++);
}

void memcpy_toio(volatile void __iomem *to, const void *from, size_t n)
{
	volatile u8 __iomem *d = to;
	const u8 *s = from;

	while (n && ((unsigned long)d & 3)) {
		writeb(*s++, d++);
		n--;
	}
	for (; n >= 4; n -= 4, d += 4, s += 4)
		writel(get_unaligned((const u32 *)s), d);
	while (n--)
		writeb(*s++, d++);
}

void memset_io(volatile void __iomem *to, int c, size_t n)
{
	volatile u8 __iomem *d = to;

	while (n--)
		writeb((u8)c, d++);
}

/* --- capabilities --- */

/* capability CAP in the standard list, from the entry whose "next" byte is at POS */
static u8 next_capability(struct pci_dev *dev, u8 pos, int cap)
{
	u8 id;

	pci_read_config_byte(dev, pos, &pos);
	/* at most 48 entries fit in the 192 bytes after the header: a loop ends there */
	for (int n = 0; n < 48 && pos >= 0x40; n++) {
		pos &= ~3;
		if (pci_read_config_byte(dev, pos + PCI_CAP_LIST_ID, &id) || id == 0xff)
			return 0;
		if (id == cap)
			return pos;
		pci_read_config_byte(dev, pos + PCI_CAP_LIST_NEXT, &pos);
	}
	return 0;
}

/* the offset of capability CAP in the standard list, or 0 */
u8 pci_find_capability(struct pci_dev *dev, int cap)
{
	u16 status;

	if (pci_read_config_word(dev, PCI_STATUS, &status) || !(status & PCI_STATUS_CAP_LIST))
		return 0;
	return next_capability(dev, PCI_CAPABILITY_LIST, cap);
}

/* the next capability CAP after the one at POS (virtio has several vendor ones) */
u8 pci_find_next_capability(struct pci_dev *dev, u8 pos, int cap)
{
	return next_capability(dev, pos + PCI_CAP_LIST_NEXT, cap);
}

/* capability CAP in the extended list (PCIe config space from 0x100), or 0 */
u16 pci_find_ext_capability(struct pci_dev *dev, int cap)
{
	u32 header;
	u16 pos = 0x100;

	/* at most (4096 - 256) / 8 entries: a loop ends there */
	for (int n = 0; n < 480 && pos >= 0x100; n++) {
		if (pci_read_config_dword(dev, pos, &header) || !header || header == ~0u)
			return 0;
		if (PCI_EXT_CAP_ID(header) == cap)
			return pos;
		pos = PCI_EXT_CAP_NEXT(header);
	}
	return 0;
}

/* SR-IOV: no virtual functions are ever enabled here (sysfs would) */
int pci_vfs_assigned(struct pci_dev *dev)
{
	return 0;
}

void pci_disable_sriov(struct pci_dev *dev)
{
}

int pci_enable_sriov(struct pci_dev *dev, int nr_virtfn)
{
	return -ENODEV;
}

/* PCI-X maximum memory read byte count (none of QEMU's devices is PCI-X) */
int pcix_get_mmrbc(struct pci_dev *dev)
{
	int cap = pci_find_capability(dev, PCI_CAP_ID_PCIX);
	u32 status;

	if (!cap)
		return -EINVAL;
	if (pci_read_config_dword(dev, cap + PCI_X_STATUS, &status))
		return -EINVAL;
	return 512 << ((status & PCI_X_STATUS_MAX_READ) >> 21);
}

int pcix_set_mmrbc(struct pci_dev *dev, int mmrbc)
{
	int cap = pci_find_capability(dev, PCI_CAP_ID_PCIX);
	u32 status;
	u16 cmd;
	int v;

	if (mmrbc < 512 || mmrbc > 4096 || !is_power_of_2(mmrbc))
		return -EINVAL;
	v = ffs(mmrbc) - 10;	/* 512 -> 0 ... 4096 -> 3 */
	if (!cap)
		return -EINVAL;
	if (pci_read_config_dword(dev, cap + PCI_X_STATUS, &status) ||
	    pci_read_config_word(dev, cap + PCI_X_CMD, &cmd))
		return -EINVAL;
	/* the device says how much it may read at once */
	if (v > (int)((status & PCI_X_STATUS_MAX_READ) >> 21))
		return -E2BIG;
	if (((cmd & PCI_X_CMD_MAX_READ) >> 2) != v) {
		cmd = (u16)((cmd & ~PCI_X_CMD_MAX_READ) | (v << 2));
		if (pci_write_config_word(dev, cap + PCI_X_CMD, cmd))
			return -EIO;
	}
	return 0;
}

/*
 * ---- interrupt vectors: MSI-X or MSI where the machine delivers them
 * (the I/O server programs the device and hands over one eventfd per
 * vector: docs/machine.md), else the device's INTx line, when the driver
 * accepts that (PCI_IRQ_LEGACY). No CPUs to spread over: every vector is
 * the one CPU's, and the driver's sets (nvme's queues) are told the count
 * as Linux's irq_create_affinity_masks tells them. ----
 */

static void affinity_sets(struct irq_affinity *affd, unsigned int nvec)
{
	unsigned int fixed;

	if (!affd || !affd->calc_sets)
		return;
	fixed = affd->pre_vectors + affd->post_vectors;
	affd->calc_sets(affd, nvec > fixed ? nvec - fixed : 0);
}

static int enable_vectors(struct pci_dev *dev, enum lx_kit_msi kind, unsigned int min,
			  unsigned int max)
{
	struct lx_pci *d = lx_of(dev);
	unsigned first;
	int n;

	/* what the device cannot do is not asked for (ahci asks 6.. first) */
	n = kind == LX_KIT_MSIX ? pci_msix_vec_count(dev) : pci_msi_vec_count(dev);
	if (n < 0 || (unsigned int)n < min)
		return n < 0 ? -EINVAL : -ENOSPC;
	n = lx_kit_pci_msi_enable(d->index, kind, min, max, &first);
	if (n <= 0)
		return n ? n : -ENOSPC;
	d->vec_first = first;
	d->nvec = (unsigned)n;
	if (kind == LX_KIT_MSIX) {
		dev->msix_enabled = 1;
	} else {
		dev->msi_enabled = 1;
		dev->irq = first;	/* as Linux: an MSI device's irq is its vector */
	}
	dev_info(&dev->dev, "%d %s vector(s), interrupt lines %u..%u\n", n,
		 kind == LX_KIT_MSIX ? "MSI-X" : "MSI", first, first + n - 1);
	return n;
}

int pci_alloc_irq_vectors_affinity(struct pci_dev *dev, unsigned int min_vecs,
				   unsigned int max_vecs, unsigned int flags,
				   struct irq_affinity *affd)
{
	int n = -ENOSPC;

	if (dev->msix_enabled || dev->msi_enabled || min_vecs > max_vecs || !min_vecs)
		return -EINVAL;
	if (!(flags & PCI_IRQ_AFFINITY))
		affd = NULL;
	if (flags & PCI_IRQ_MSIX)
		n = enable_vectors(dev, LX_KIT_MSIX, min_vecs, max_vecs);
	if (n <= 0 && (flags & PCI_IRQ_MSI))
		n = enable_vectors(dev, LX_KIT_MSI, min_vecs, max_vecs);
	if (n > 0) {
		affinity_sets(affd, (unsigned int)n);
		return n;
	}
	if (!(flags & PCI_IRQ_LEGACY) || min_vecs > 1 || !dev->irq)
		return n;
	affinity_sets(affd, 1);
	return 1;
}

void pci_free_irq_vectors(struct pci_dev *dev)
{
	struct lx_pci *d = lx_of(dev);

	if (!dev->msix_enabled && !dev->msi_enabled)
		return;
	lx_kit_pci_msi_disable(d->index);
	dev->msix_enabled = 0;
	dev->msi_enabled = 0;
	dev->irq = d->intx;
	d->nvec = 0;
}

int pci_irq_vector(struct pci_dev *dev, unsigned int nr)
{
	const struct lx_pci *d = lx_of(dev);

	if (dev->msix_enabled || dev->msi_enabled)
		return nr < d->nvec ? (int)(d->vec_first + nr) : -EINVAL;
	return nr == 0 ? (int)dev->irq : -EINVAL;
}

int pci_enable_msi(struct pci_dev *dev)
{
	int n = pci_alloc_irq_vectors(dev, 1, 1, PCI_IRQ_MSI);

	return n < 0 ? n : 0;
}

void pci_disable_msi(struct pci_dev *dev)
{
	if (dev->msi_enabled)
		pci_free_irq_vectors(dev);
}

int pci_enable_msix_range(struct pci_dev *dev, struct msix_entry *entries, int minvec,
			  int maxvec)
{
	int n;

	if (minvec < 1 || maxvec < minvec)
		return -ERANGE;
	n = pci_alloc_irq_vectors(dev, minvec, maxvec, PCI_IRQ_MSIX);
	if (n < 0)
		return n;
	for (int i = 0; entries && i < n; i++) {
		if (entries[i].entry >= (u16)n) {	/* table entries beyond ours */
			pci_free_irq_vectors(dev);
			return -EINVAL;
		}
		entries[i].vector = pci_irq_vector(dev, entries[i].entry);
	}
	return n;
}

void pci_disable_msix(struct pci_dev *dev)
{
	if (dev->msix_enabled)
		pci_free_irq_vectors(dev);
}

int pci_msix_vec_count(struct pci_dev *dev)
{
	int cap = pci_find_capability(dev, PCI_CAP_ID_MSIX);
	u16 ctrl;

	if (!cap || pci_read_config_word(dev, cap + PCI_MSIX_FLAGS, &ctrl))
		return -EINVAL;
	return (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
}

int pci_msi_vec_count(struct pci_dev *dev)
{
	int cap = pci_find_capability(dev, PCI_CAP_ID_MSI);
	u16 ctrl;

	if (!cap || pci_read_config_word(dev, cap + PCI_MSI_FLAGS, &ctrl))
		return -EINVAL;
	return 1 << ((ctrl & PCI_MSI_FLAGS_QMASK) >> 1);
}

int pci_msi_enabled(void)
{
	return 1;
}

const struct cpumask *pci_irq_get_affinity(struct pci_dev *dev, int nr)
{
	return NULL;	/* no spreading: blk-mq maps queues itself */
}

int pci_request_irq(struct pci_dev *dev, unsigned int nr, irq_handler_t handler,
		    irq_handler_t thread_fn, void *dev_id, const char *fmt, ...)
{
	int irq = pci_irq_vector(dev, nr);

	if (irq < 0)
		return irq;
	return request_threaded_irq(irq, handler, thread_fn, IRQF_SHARED, dev_name(&dev->dev),
				    dev_id);
}

void pci_free_irq(struct pci_dev *dev, unsigned int nr, void *dev_id)
{
	free_irq(pci_irq_vector(dev, nr), dev_id);
}

bool pci_device_is_present(struct pci_dev *pdev)
{
	u32 v;

	return pci_read_config_dword(pdev, PCI_VENDOR_ID, &v) == 0 && v != 0xffffffff &&
	       (v & 0xffff) != 0xffff;
}

/* no PCIe link power management, no AER on this platform's root */
bool pcie_aspm_enabled(struct pci_dev *pdev)
{
	return false;
}

int pci_enable_pcie_error_reporting(struct pci_dev *dev)
{
	return -EINVAL;
}

int pci_disable_pcie_error_reporting(struct pci_dev *dev)
{
	return -EINVAL;
}
