/*
 * drivers/usb/core/usb-acpi.c: the ACPI side of USB ports (power control
 * and LPM hints by the firmware's methods). A driver process has no ACPI
 * namespace: each answers as usbcore's own stand-ins do when CONFIG_ACPI
 * is off (include/linux/usb.h, drivers/usb/core/usb.h).
 */
#include <linux/usb.h>

#include "lx_emul.h"

int usb_acpi_register(void);
void usb_acpi_unregister(void);

int usb_acpi_register(void)
{
	return 0;
}

void usb_acpi_unregister(void)
{
}

int usb_acpi_set_power_state(struct usb_device *hdev, int index, bool enable)
{
	return 0;
}

bool usb_acpi_power_manageable(struct usb_device *hdev, int index)
{
	return true;
}

int usb_acpi_port_lpm_incapable(struct usb_device *hdev, int index)
{
	return 0;
}
