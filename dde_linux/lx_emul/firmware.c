/*
 * Firmware files (drivers/base/firmware_loader): a driver process has no
 * file system to load them from. Every request fails as it would on a
 * system without the file, saying which file was asked for.
 */
#include <linux/device.h>
#include <linux/firmware.h>

#include "lx_emul.h"

int request_firmware(const struct firmware **fw, const char *name, struct device *device)
{
	dev_warn(device, "lx_emul: no firmware files here: %s\n", name);
	*fw = NULL;
	return -ENOENT;
}

int request_firmware_nowait(struct module *module, bool uevent, const char *name,
			    struct device *device, gfp_t gfp, void *context,
			    void (*cont)(const struct firmware *fw, void *context))
{
	dev_warn(device, "lx_emul: no firmware files here: %s\n", name);
	return -ENOENT;
}

void release_firmware(const struct firmware *fw)
{
	WARN_ON(fw);	/* none was ever given */
}
