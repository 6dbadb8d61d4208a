/*
 * drivers/base/platform.c: a driver process has no platform devices (the
 * SoC devices firmware describes); a platform driver registers and binds
 * nothing (EHCI's core registers those of the SoCs it knows).
 */
#include <linux/platform_device.h>

#include "lx_emul.h"

int __platform_driver_register(struct platform_driver *drv, struct module *owner)
{
	return 0;
}

void platform_driver_unregister(struct platform_driver *drv)
{
}

int __platform_register_drivers(struct platform_driver * const *drivers, unsigned int count,
				struct module *owner)
{
	return 0;
}

void platform_unregister_drivers(struct platform_driver * const *drivers, unsigned int count)
{
}
