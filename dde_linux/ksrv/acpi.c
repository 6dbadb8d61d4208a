/*
 * A machine without ACPI, as binary modules that know ACPI see it (libata
 * looks for its ports' ACPI companions): no device has an ACPI node, no
 * method can be evaluated, no notification comes. The answers are those
 * Linux gives on such a machine.
 */
#include <linux/acpi.h>
#include <linux/device.h>
#include <linux/pm_qos.h>
#include <linux/suspend.h>

struct acpi_table_fadt acpi_gbl_FADT;	/* zero: no FADT, no flags */

bool is_acpi_device_node(const struct fwnode_handle *fwnode)
{
	return false;
}

struct acpi_device *acpi_find_child_device(struct acpi_device *parent, u64 address,
					   bool check_children)
{
	return NULL;
}

int acpi_bus_set_power(acpi_handle handle, int state)
{
	return -ENODEV;
}

acpi_status acpi_evaluate_object(acpi_handle object, acpi_string pathname,
				 struct acpi_object_list *parameter_objects,
				 struct acpi_buffer *return_object_buffer)
{
	return AE_NOT_FOUND;
}

void acpi_initialize_hp_context(struct acpi_device *adev, struct acpi_hotplug_context *hp,
				int (*notify)(struct acpi_device *, u32),
				void (*uevent)(struct acpi_device *, u32))
{
}

acpi_status acpi_install_notify_handler(acpi_handle device, u32 handler_type,
					acpi_notify_handler handler, void *context)
{
	return AE_NOT_EXIST;
}

acpi_status acpi_remove_notify_handler(acpi_handle device, u32 handler_type,
				       acpi_notify_handler handler)
{
	return AE_NOT_EXIST;
}

int acpi_pm_device_sleep_state(struct device *dev, int *d_min_p, int d_max_in)
{
	return -ENODEV;
}

int acpi_pm_set_device_wakeup(struct device *dev, bool enable)
{
	return -ENODEV;
}

/* a device's firmware node: only ACPI companions are ever set, and none exists */
void set_primary_fwnode(struct device *dev, struct fwnode_handle *fwnode)
{
	dev->fwnode = fwnode;
}

/* PM QoS flags in sysfs: no sysfs here */
int dev_pm_qos_expose_flags(struct device *dev, s32 value)
{
	return 0;
}

/* the system never sleeps: its default sleep is not suspend-to-idle */
bool pm_suspend_default_s2idle(void)
{
	return false;
}

bool system_entering_hibernation(void)
{
	return false;
}
