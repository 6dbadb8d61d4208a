/*
 * The driver model, as much as a driver process needs: devices have names,
 * reference counts and managed resources (drivers/base/devres.c, reused);
 * there is no sysfs and no hotplug. Devices added outside a bus (class
 * devices: a controller's, a disk's) are only named; matching a bus's
 * drivers is not emulated and stops the driver saying so.
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
	set_dev_node(dev, NUMA_NO_NODE);
}

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

static void device_release(struct kref *kref)
{
	/* devices here are embedded in objects their owners free */
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

int device_add(struct device *dev)
{
	if (dev->bus)
		panic("lx_emul: device_add(%s) on bus %s: matching a bus's drivers is not emulated",
		      dev_name(dev), dev->bus->name);
	if (dev->init_name) {
		dev_set_name(dev, "%s", dev->init_name);
		dev->init_name = NULL;
	}
	if (!dev_name(dev))
		return -EINVAL;
	dev->kobj.state_in_sysfs = 1;
	return 0;
}

void device_del(struct device *dev)
{
	dev->kobj.state_in_sysfs = 0;
}
