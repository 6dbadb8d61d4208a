/*
 * modules (kernel/module): everything is built in.
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

/* ---- modules: everything is built in (THIS_MODULE is NULL) ---- */

bool try_module_get(struct module *module)
{
	return true;
}

void __module_get(struct module *module)
{
}

void module_put(struct module *module)
{
}

/* a module asked for by alias (HID asks for a device's own driver): every
 * driver of the process is built in, or (a binary driver host) loaded up
 * front; none is loaded later */
int __request_module(bool wait, const char *fmt, ...)
{
	return -ENOENT;
}
