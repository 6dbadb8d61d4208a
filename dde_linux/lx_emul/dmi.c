/*
 * firmware tables (drivers/firmware/dmi_scan.c, ACPI tables): the
 * machine's firmware is ours and has none.
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

/* ---- firmware tables: the machine's firmware is ours and has none ---- */

bool dmi_match(enum dmi_field f, const char *str)
{
	return false;
}

const struct dmi_system_id *dmi_first_match(const struct dmi_system_id *list)
{
	return NULL;
}

int dmi_check_system(const struct dmi_system_id *list)
{
	return 0;
}

bool dmi_get_date(int field, int *yearp, int *monthp, int *dayp)
{
	return false;
}

bool acpi_storage_d3(struct device *dev)
{
	return false;
}

/* no hung-task detector: waits are not chopped into its periods */
unsigned long sysctl_hung_task_timeout_secs;

/* no laptop mode (write-back batching) */
int laptop_mode;

/* not a Xen guest */
enum xen_domain_type xen_domain_type = XEN_NATIVE;

/* not a crash-dump kernel */
unsigned long long elfcorehdr_addr = ELFCORE_ADDR_MAX;

/* no DMI tables: no product name, no vendor (xhci's quirks by board) */
const char *dmi_get_system_info(int field)
{
	return NULL;
}

/* no ACPI namespace: no node is an ACPI device's, no _DSM answers */
bool is_acpi_device_node(const struct fwnode_handle *fwnode)
{
	return false;
}

union acpi_object *acpi_evaluate_dsm(acpi_handle handle, const guid_t *guid, u64 rev, u64 func,
				     union acpi_object *argv4)
{
	return NULL;
}

/* no firmware node has properties */
int device_property_read_string(struct device *dev, const char *propname, const char **val)
{
	return -EINVAL;
}
