/*
 * hwmon (drivers/hwmon/hwmon.c): no such class here.
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

/* ---- hwmon: no such class here (the drivers treat it as optional) ---- */

struct device *hwmon_device_register_with_info(struct device *dev, const char *name, void *drvdata,
					       const struct hwmon_chip_info *info,
					       const struct attribute_group **extra_groups)
{
	return ERR_PTR(-ENODEV);
}

void hwmon_device_unregister(struct device *dev)
{
}
