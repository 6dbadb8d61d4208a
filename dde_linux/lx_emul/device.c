/*
 * The driver model, as much as a driver process needs: devices have names,
 * reference counts (the last put calls the release function, as Linux's
 * device_release does) and managed resources (drivers/base/devres.c,
 * reused); there is no sysfs and no hotplug. Devices added outside a bus
 * (class devices: a controller's, a disk's) are only named. A bus's devices
 * meet its drivers as in drivers/base/dd.c, but synchronously: adding a
 * device tries the bus's registered drivers (bus->match, then bus->probe
 * or the driver's probe), registering a driver tries the bus's unbound
 * devices (the SCSI bus binds sd to each disk this way).
 */
#include <linux/device.h>
#include <linux/fwnode.h>
#include <linux/slab.h>

#include "lx_emul.h"

void device_initialize(struct device *dev)
{
	kref_init(&dev->kobj.kref);
	INIT_LIST_HEAD(&dev->kobj.entry);
	dev->kobj.state_initialized = 1;
	INIT_LIST_HEAD(&dev->dma_pools);
	mutex_init(&dev->mutex);
	spin_lock_init(&dev->devres_lock);
	INIT_LIST_HEAD(&dev->devres_head);
	INIT_LIST_HEAD(&dev->power.entry);
	set_dev_node(dev, NUMA_NO_NODE);
}

/*
 * Every device added, in the order it was (Linux's dpm_list): system
 * sleep (lx_emul/pm.c) suspends the last added first, children before
 * their parents, and resumes in this order.
 */
LIST_HEAD(lx_dpm_list);

int dev_set_name(struct device *dev, const char *fmt, ...)
{
	va_list ap;
	char *name;

	va_start(ap, fmt);
	name = kvasprintf(GFP_KERNEL, fmt, ap);
	va_end(ap);
	if (!name)
		return -ENOMEM;
	kfree(dev->kobj.name);
	dev->kobj.name = name;
	return 0;
}

struct device *get_device(struct device *dev)
{
	if (dev)
		kref_get(&dev->kobj.kref);
	return dev;
}

/* drivers/base/devres.c, declared in drivers/base/base.h (not on our path) */
int devres_release_all(struct device *dev);

static void device_release(struct kref *kref)
{
	struct device *dev = container_of(kref, struct device, kobj.kref);

	devres_release_all(dev);
	kfree(dev->kobj.name);
	dev->kobj.name = NULL;
	/* the owner's release frees the object the device is embedded in */
	if (dev->release)
		dev->release(dev);
	else if (dev->type && dev->type->release)
		dev->type->release(dev);
	else if (dev->class && dev->class->dev_release)
		dev->class->dev_release(dev);
}

void put_device(struct device *dev)
{
	if (dev)
		kref_put(&dev->kobj.kref, device_release);
}

struct fwnode_handle *__dev_fwnode(struct device *dev)
{
	return dev->fwnode;
}

/* ---- buses: devices meet drivers ---- */

#define MAX_BUS_DEVICES 256
#define MAX_DRIVERS 32
static struct device *bus_devices[MAX_BUS_DEVICES];
static struct device_driver *drivers[MAX_DRIVERS];
static DEFINE_MUTEX(bus_lock);

int bus_register(struct bus_type *bus)
{
	return 0;	/* a bus is its type: nothing to set up without sysfs */
}

void bus_unregister(struct bus_type *bus)
{
}

/* @drv for @dev: 1 bound, 0 not (no match, or its probe declined) */
static int try_bind(struct device *dev, struct device_driver *drv)
{
	int r;

	if (dev->driver || drv->bus != dev->bus)
		return 0;
	r = dev->bus->match ? dev->bus->match(dev, drv) : 1;
	if (r <= 0)
		return 0;
	dev->driver = drv;
	r = dev->bus->probe ? dev->bus->probe(dev) : drv->probe ? drv->probe(dev) : 0;
	if (r) {
		dev->driver = NULL;
		devres_release_all(dev);
		if (r != -ENODEV && r != -ENXIO)
			dev_warn(dev, "probe of %s failed with error %d\n", drv->name, r);
		return 0;
	}
	return 1;
}

static void unbind(struct device *dev)
{
	struct device_driver *drv = dev->driver;

	if (!drv)
		return;
	if (dev->bus && dev->bus->remove)
		dev->bus->remove(dev);
	else if (drv->remove)
		drv->remove(dev);
	devres_release_all(dev);
	dev->driver = NULL;
}

/* bind @dev now (the HDA bus binds a codec once its driver is known): 1 bound, 0 not */
int device_attach(struct device *dev)
{
	for (int k = 0; k < MAX_DRIVERS && !dev->driver; k++)
		if (drivers[k])
			try_bind(dev, drivers[k]);
	return dev->driver ? 1 : 0;
}

/* the registered driver of @bus named @name (gameport looks its own up) */
struct device_driver *driver_find(const char *name, struct bus_type *bus)
{
	for (int k = 0; k < MAX_DRIVERS; k++)
		if (drivers[k] && drivers[k]->bus == bus && !strcmp(drivers[k]->name, name))
			return drivers[k];
	return NULL;
}

/* try @drv on every unbound device of its bus, as driver_register does */
int driver_attach(struct device_driver *drv)
{
	for (int k = 0; k < MAX_BUS_DEVICES; k++)
		if (bus_devices[k])
			try_bind(bus_devices[k], drv);
	return 0;
}

/* @dev->driver was set by the caller, without a probe: nothing else to record */
int device_bind_driver(struct device *dev)
{
	return dev->driver ? 0 : -EINVAL;
}

/* let go of @dev and bind it again (an HD Audio codec after its reconfiguration) */
int device_reprobe(struct device *dev)
{
	unbind(dev);
	return device_attach(dev) < 0 ? -ENODEV : 0;
}

/* a driver lets go of its device (nvme after a dead controller) */
void device_release_driver(struct device *dev)
{
	unbind(dev);
}

int driver_register(struct device_driver *drv)
{
	int i;

	mutex_lock(&bus_lock);
	for (i = 0; i < MAX_DRIVERS && drivers[i]; i++)
		;
	if (i == MAX_DRIVERS) {
		mutex_unlock(&bus_lock);
		return -ENOSPC;
	}
	drivers[i] = drv;
	mutex_unlock(&bus_lock);
	for (int k = 0; k < MAX_BUS_DEVICES; k++)
		if (bus_devices[k])
			try_bind(bus_devices[k], drv);
	return 0;
}

void driver_unregister(struct device_driver *drv)
{
	for (int k = 0; k < MAX_BUS_DEVICES; k++)
		if (bus_devices[k] && bus_devices[k]->driver == drv)
			unbind(bus_devices[k]);
	mutex_lock(&bus_lock);
	for (int i = 0; i < MAX_DRIVERS; i++)
		if (drivers[i] == drv)
			drivers[i] = NULL;
	mutex_unlock(&bus_lock);
}

int device_add(struct device *dev)
{
	int i;

	if (dev->init_name) {
		dev_set_name(dev, "%s", dev->init_name);
		dev->init_name = NULL;
	}
	if (!dev_name(dev))
		return -EINVAL;
	get_device(dev->parent);	/* as the kobject's parent reference */
	dev->kobj.state_in_sysfs = 1;
	if (!dev->power.entry.next)
		INIT_LIST_HEAD(&dev->power.entry);
	list_del(&dev->power.entry);
	list_add_tail(&dev->power.entry, &lx_dpm_list);
	if (!dev->bus)
		return 0;
	mutex_lock(&bus_lock);
	for (i = 0; i < MAX_BUS_DEVICES && bus_devices[i]; i++)
		;
	if (i < MAX_BUS_DEVICES)
		bus_devices[i] = dev;
	mutex_unlock(&bus_lock);
	if (i == MAX_BUS_DEVICES) {
		put_device(dev->parent);
		dev->kobj.state_in_sysfs = 0;
		return -ENOSPC;
	}
	for (int k = 0; k < MAX_DRIVERS && !dev->driver; k++)
		if (drivers[k])
			try_bind(dev, drivers[k]);
	return 0;
}

void device_del(struct device *dev)
{
	if (dev->power.entry.next)
		list_del_init(&dev->power.entry);
	if (dev->bus) {
		unbind(dev);
		mutex_lock(&bus_lock);
		for (int i = 0; i < MAX_BUS_DEVICES; i++)
			if (bus_devices[i] == dev)
				bus_devices[i] = NULL;
		mutex_unlock(&bus_lock);
	}
	if (dev->kobj.state_in_sysfs)
		put_device(dev->parent);
	dev->kobj.state_in_sysfs = 0;
}

int device_register(struct device *dev)
{
	device_initialize(dev);
	return device_add(dev);
}

void device_unregister(struct device *dev)
{
	device_del(dev);
	put_device(dev);
}

/* @dev's children: the devices added with it as their parent */
int device_for_each_child(struct device *parent, void *data,
			  int (*fn)(struct device *dev, void *data))
{
	int r = 0;

	for (int k = 0; k < MAX_BUS_DEVICES && !r; k++)
		if (bus_devices[k] && bus_devices[k]->parent == parent)
			r = fn(bus_devices[k], data);
	return r;
}

/* ---- class devices made whole (device_create): named, found again by their number ---- */

#define MAX_CREATED 32
static struct device *created[MAX_CREATED];

static void created_release(struct device *dev)
{
	kfree(dev);
}

struct device *device_create(struct class *class, struct device *parent, dev_t devt,
			     void *drvdata, const char *fmt, ...)
{
	struct device *dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	va_list ap;
	int i, r;

	if (!dev)
		return ERR_PTR(-ENOMEM);
	device_initialize(dev);
	dev->class = class;
	dev->parent = parent;
	dev->devt = devt;
	dev->release = created_release;
	dev_set_drvdata(dev, drvdata);
	va_start(ap, fmt);
	dev->kobj.name = kvasprintf(GFP_KERNEL, fmt, ap);
	va_end(ap);
	mutex_lock(&bus_lock);
	for (i = 0; i < MAX_CREATED && created[i]; i++)
		;
	if (i < MAX_CREATED)
		created[i] = dev;
	mutex_unlock(&bus_lock);
	r = !dev->kobj.name ? -ENOMEM : i == MAX_CREATED ? -ENOSPC : device_add(dev);
	if (r) {
		if (i < MAX_CREATED)
			created[i] = NULL;
		put_device(dev);
		return ERR_PTR(r);
	}
	return dev;
}

void device_destroy(struct class *class, dev_t devt)
{
	struct device *dev = NULL;

	mutex_lock(&bus_lock);
	for (int i = 0; i < MAX_CREATED && !dev; i++)
		if (created[i] && created[i]->class == class && created[i]->devt == devt) {
			dev = created[i];
			created[i] = NULL;
		}
	mutex_unlock(&bus_lock);
	if (dev)
		device_unregister(dev);
}

/* ---- walking a bus (usbcore finds devices and drivers so) ---- */

int bus_for_each_dev(struct bus_type *bus, struct device *start, void *data,
		     int (*fn)(struct device *dev, void *data))
{
	int k = 0, r = 0;

	if (start)	/* after @start */
		while (k < MAX_BUS_DEVICES && bus_devices[k++] != start)
			;
	for (; k < MAX_BUS_DEVICES && !r; k++)
		if (bus_devices[k] && bus_devices[k]->bus == bus)
			r = fn(bus_devices[k], data);
	return r;
}

struct device *bus_find_device(struct bus_type *bus, struct device *start, const void *data,
			       int (*match)(struct device *dev, const void *data))
{
	int k = 0;

	if (start)
		while (k < MAX_BUS_DEVICES && bus_devices[k++] != start)
			;
	for (; k < MAX_BUS_DEVICES; k++)
		if (bus_devices[k] && bus_devices[k]->bus == bus && match(bus_devices[k], data))
			return get_device(bus_devices[k]);
	return NULL;
}

int bus_for_each_drv(struct bus_type *bus, struct device_driver *start, void *data,
		     int (*fn)(struct device_driver *drv, void *data))
{
	int k = 0, r = 0;

	if (start)
		while (k < MAX_DRIVERS && drivers[k++] != start)
			;
	for (; k < MAX_DRIVERS && !r; k++)
		if (drivers[k] && drivers[k]->bus == bus)
			r = fn(drivers[k], data);
	return r;
}

/* every unbound device of @bus tried against the drivers again */
int bus_rescan_devices(struct bus_type *bus)
{
	for (int k = 0; k < MAX_BUS_DEVICES; k++)
		if (bus_devices[k] && bus_devices[k]->bus == bus && !bus_devices[k]->driver &&
		    device_attach(bus_devices[k]) < 0)
			break;
	return 0;
}

/*
 * Bus notifiers tell a bus's code of devices added and removed; usbcore's
 * creates sysfs files with them, which no one here reads: not called.
 */
int bus_register_notifier(struct bus_type *bus, struct notifier_block *nb)
{
	return 0;
}

int bus_unregister_notifier(struct bus_type *bus, struct notifier_block *nb)
{
	return 0;
}

/* the matches of bus_find_device_by_*() (drivers/base/core.c's) */
int device_match_name(struct device *dev, const void *name)
{
	return sysfs_streq(dev_name(dev), name);
}

int device_match_devt(struct device *dev, const void *pdevt)
{
	return dev->devt == *(dev_t *)pdevt;
}

int device_match_of_node(struct device *dev, const void *np)
{
	return dev->of_node == np;
}

/* a device takes another's firmware node (usbcore's root hub its host's): none here */
void device_set_of_node_from_dev(struct device *dev, const struct device *dev2)
{
	dev->of_node = dev2->of_node;
	dev->of_node_reused = true;
}

/*
 * A device's primary firmware node (a USB port gets its connector's, and
 * drops it again with NULL); a node that was primary before stays behind
 * it as its secondary.
 */
void set_primary_fwnode(struct device *dev, struct fwnode_handle *fwnode)
{
	struct fwnode_handle *old = dev->fwnode;
	bool old_primary = old && !IS_ERR(old->secondary);

	if (fwnode) {
		if (old_primary)
			old = old->secondary;
		if (old)
			fwnode->secondary = old;
		dev->fwnode = fwnode;
	} else if (old_primary) {
		dev->fwnode = old->secondary;
		if (!(dev->parent && old == dev->parent->fwnode))
			old->secondary = NULL;
	} else {
		dev->fwnode = NULL;
	}
}
