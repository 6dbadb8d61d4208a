/*
 * device classes and character devices (fs/char_dev.c,
 * drivers/base/class.c): named, never opened.
 * Each answers as Linux does when the facility is configured out or
 * absent, which is what the drivers are written to cope with. Nothing here
 * pretends to have done work someone later relies on.
 */
#include <linux/async.h>
#include <linux/attribute_container.h>
#include <linux/libata.h>
#include <linux/pm_runtime.h>
#include <linux/transport_class.h>
#include <scsi/scsi_device.h>
#include <linux/cdev.h>
#include <linux/cpuhotplug.h>
#include <linux/crash_dump.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/dmi.h>
#include <linux/fs.h>
#include <linux/hwmon.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/pm_qos.h>
#include <linux/slab.h>
#include <linux/suspend.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <linux/writeback.h>
#include <xen/xen.h>

#include "lx_emul.h"

#include "lx_emul.h"

/* ---- device classes and character devices: named, never opened ---- */

struct class *__class_create(struct module *owner, const char *name, struct lock_class_key *key)
{
	struct class *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return ERR_PTR(-ENOMEM);
	c->name = name;
	return c;
}

void class_destroy(struct class *cls)
{
	if (!IS_ERR_OR_NULL(cls))
		kfree(cls);
}

int alloc_chrdev_region(dev_t *dev, unsigned baseminor, unsigned count, const char *name)
{
	static unsigned major = 240;	/* LOCAL/EXPERIMENTAL USE */

	*dev = MKDEV(major++, baseminor);
	return 0;
}

int register_chrdev_region(dev_t from, unsigned count, const char *name)
{
	return 0;	/* a fixed range (the input core's): nobody else wants it here */
}

void unregister_chrdev_region(dev_t from, unsigned count)
{
}

void cdev_init(struct cdev *cdev, const struct file_operations *fops)
{
	memset(cdev, 0, sizeof(*cdev));
	INIT_LIST_HEAD(&cdev->list);
	cdev->ops = fops;
}

int cdev_device_add(struct cdev *cdev, struct device *dev)
{
	return device_add(dev);
}

void cdev_device_del(struct cdev *cdev, struct device *dev)
{
	device_del(dev);
}

/* a fixed major (ALSA's 116) or, for 0, one of the local ones */
int __register_chrdev(unsigned int major, unsigned int baseminor, unsigned int count,
		      const char *name, const struct file_operations *fops)
{
	dev_t dev;

	if (major)
		return 0;
	alloc_chrdev_region(&dev, baseminor, count, name);
	return MAJOR(dev);
}

void __unregister_chrdev(unsigned int major, unsigned int baseminor, unsigned int count,
			 const char *name)
{
}

/* a character device's node: none is made; its owner keeps the cdev */
int cdev_add(struct cdev *p, dev_t dev, unsigned count)
{
	p->dev = dev;
	p->count = count;
	return 0;
}

void cdev_del(struct cdev *p)
{
}
