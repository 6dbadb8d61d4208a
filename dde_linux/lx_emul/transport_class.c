/*
 * device classes' registration, transport classes, attribute containers
 * (drivers/base/transport_class.c, attribute_container.c).
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

/* ---- device classes' registration, transport classes, attribute containers:
 * sysfs views of devices (a class device's attributes, SCSI and ATA
 * transport attributes), nothing a driver process shows ---- */

int __class_register(struct class *cls, struct lock_class_key *key)
{
	return 0;
}

void class_unregister(struct class *cls)
{
}

/* class interfaces watch a class's devices come and go: nobody watches here */
int class_interface_register(struct class_interface *ci)
{
	return 0;
}

void class_interface_unregister(struct class_interface *ci)
{
}

/* no class keeps a list of its devices: a lookup finds none */
struct device *class_find_device(struct class *class, struct device *start, const void *data,
				 int (*match)(struct device *, const void *))
{
	return NULL;
}

int transport_class_register(struct transport_class *tclass)
{
	return 0;
}

void transport_class_unregister(struct transport_class *tclass)
{
}

int anon_transport_class_register(struct anon_transport_class *atc)
{
	return 0;
}

void anon_transport_class_unregister(struct anon_transport_class *atc)
{
}

void transport_setup_device(struct device *dev)
{
}

int transport_add_device(struct device *dev)
{
	return 0;
}

void transport_configure_device(struct device *dev)
{
}

void transport_remove_device(struct device *dev)
{
}

void transport_destroy_device(struct device *dev)
{
}

int attribute_container_register(struct attribute_container *cont)
{
	return 0;
}

int attribute_container_unregister(struct attribute_container *cont)
{
	return 0;
}
