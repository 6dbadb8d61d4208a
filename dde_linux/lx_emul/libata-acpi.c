/*
 * ACPI for ATA (drivers/ata/libata-acpi.c): a machine without ACPI.
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

/* ---- ACPI for ATA (_GTF taskfiles, _PS0/_PS3, zero-power ODD): a machine
 * without ACPI, as libata runs when ACPI finds no handle ---- */

void ata_acpi_bind_port(struct ata_port *ap)
{
}

void ata_acpi_bind_dev(struct ata_device *dev)
{
}

void ata_acpi_dissociate(struct ata_host *host)
{
}

int ata_acpi_on_devcfg(struct ata_device *dev)
{
	return 0;
}

void ata_acpi_on_disable(struct ata_device *dev)
{
}

void ata_acpi_on_resume(struct ata_port *ap)
{
}

void ata_acpi_set_state(struct ata_port *ap, pm_message_t state)
{
}

unsigned int ata_acpi_gtf_filter;

void zpodd_init(struct ata_device *dev)
{
}

void zpodd_exit(struct ata_device *dev)
{
}

void zpodd_on_suspend(struct ata_device *dev)
{
}

void zpodd_post_poweron(struct ata_device *dev)
{
}
