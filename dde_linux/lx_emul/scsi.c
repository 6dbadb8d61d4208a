/*
 * SCSI's optional parts (drivers/scsi/scsi_dh.c, scsi_bsg.c,
 * scsi_sysctl.c, scsi_netlink.c): none of them.
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

/* ---- SCSI: no device handlers (multipath), no bsg or sg nodes, no
 * sysctl or netlink ---- */

void scsi_dh_add_device(struct scsi_device *sdev)
{
}

void scsi_dh_release_device(struct scsi_device *sdev)
{
}

struct bsg_device *scsi_bsg_register_queue(struct scsi_device *sdev)
{
	return NULL;	/* no SG_IO character device: scsi_sysfs takes NULL as none */
}

int scsi_init_sysctl(void)
{
	return 0;
}

void scsi_exit_sysctl(void)
{
}

void scsi_netlink_init(void)
{
}

void scsi_netlink_exit(void)
{
}
