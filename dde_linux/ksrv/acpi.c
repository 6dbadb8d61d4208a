/*
 * A machine without ACPI, as binary modules that know ACPI see it (libata
 * looks for its ports' ACPI companions): no device has an ACPI node, no
 * method can be evaluated, no notification comes. The answers are those
 * Linux gives on such a machine.
 */
#include <linux/acpi.h>
#include <linux/device.h>
#include <linux/pm_qos.h>
#include <linux/pnp.h>
#include <linux/suspend.h>

struct acpi_table_fadt acpi_gbl_FADT;	/* zero: no FADT, no flags */

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

/* the system never sleeps: its default sleep is not suspend-to-idle */
bool pm_suspend_default_s2idle(void)
{
	return false;
}

bool system_entering_hibernation(void)
{
	return false;
}

/* no namespace to walk or evaluate (Intel's SoundWire scan of HD Audio) */
acpi_status acpi_walk_namespace(acpi_object_type type, acpi_handle start_object, u32 max_depth,
				acpi_walk_callback descending_callback,
				acpi_walk_callback ascending_callback, void *context,
				void **return_value)
{
	return AE_NOT_FOUND;
}

acpi_status acpi_evaluate_integer(acpi_handle handle, acpi_string pathname,
				  struct acpi_object_list *arguments, unsigned long long *data)
{
	return AE_NOT_FOUND;
}

struct acpi_device *acpi_fetch_acpi_dev(acpi_handle handle)
{
	return NULL;
}

/* no firmware node has properties or children (devices have no fwnode here) */
int fwnode_property_read_u32_array(const struct fwnode_handle *fwnode, const char *propname,
				   u32 *val, size_t nval)
{
	return -EINVAL;
}

int fwnode_property_read_u8_array(const struct fwnode_handle *fwnode, const char *propname,
				  u8 *val, size_t nval)
{
	return -EINVAL;
}

struct fwnode_handle *fwnode_get_named_child_node(const struct fwnode_handle *fwnode,
						  const char *childname)
{
	return NULL;
}

void fwnode_handle_put(struct fwnode_handle *fwnode)
{
}

/* no tables (Intel's NHLT) and no devices by hardware id */
acpi_status acpi_get_table(char *signature, u32 instance, struct acpi_table_header **out_table)
{
	return AE_NOT_FOUND;
}

void acpi_put_table(struct acpi_table_header *table)
{
}

bool acpi_dev_present(const char *hid, const char *uid, s64 hrv)
{
	return false;
}

struct acpi_device *acpi_dev_get_first_match_dev(const char *hid, const char *uid, s64 hrv)
{
	return NULL;
}

acpi_status acpi_get_handle(acpi_handle parent, acpi_string pathname, acpi_handle *ret_handle)
{
	return AE_NOT_FOUND;
}

struct device *acpi_get_first_physical_node(struct acpi_device *adev)
{
	return NULL;
}

/* no Plug and Play devices: no resources */
struct resource *pnp_get_resource(struct pnp_dev *dev, unsigned long type, unsigned int num)
{
	return NULL;
}

/* USB's ACPI companions (usbcore's usb-acpi): the bus type registers, and
 * no port has a node, a location or power resources */
int register_acpi_bus_type(struct acpi_bus_type *type)
{
	return 0;
}

int unregister_acpi_bus_type(struct acpi_bus_type *type)
{
	return 0;
}

struct acpi_device *acpi_find_child_by_adr(struct acpi_device *adev, acpi_bus_address adr)
{
	return NULL;
}

acpi_status acpi_get_physical_device_location(acpi_handle handle, struct acpi_pld_info **pld)
{
	return AE_NOT_FOUND;
}

bool acpi_bus_power_manageable(acpi_handle handle)
{
	return false;
}

bool acpi_check_dsm(acpi_handle handle, const guid_t *guid, u64 rev, u64 funcs)
{
	return false;
}
