/*
 * Firmware files (drivers/base/firmware_loader): a driver process has no
 * file system to load them from. Every request fails as it would on a
 * system without the file (the asynchronous one through its callback,
 * later, with no firmware), saying which file was asked for.
 */
#include <linux/device.h>
#include <linux/firmware.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "lx_emul.h"

int request_firmware(const struct firmware **fw, const char *name, struct device *device)
{
	dev_warn(device, "lx_emul: no firmware files here: %s\n", name);
	*fw = NULL;
	return -ENOENT;
}

/* the asynchronous request's answer, "no such file", given later as Linux gives it */
struct nowait {
	struct work_struct work;
	void (*cont)(const struct firmware *fw, void *context);
	void *context;
};

static void nowait_answer(struct work_struct *work)
{
	struct nowait *n = container_of(work, struct nowait, work);

	n->cont(NULL, n->context);
	kfree(n);
}

int request_firmware_nowait(struct module *module, bool uevent, const char *name,
			    struct device *device, gfp_t gfp, void *context,
			    void (*cont)(const struct firmware *fw, void *context))
{
	struct nowait *n = kmalloc(sizeof(*n), gfp);

	if (!n)
		return -ENOMEM;
	dev_warn(device, "lx_emul: no firmware files here: %s\n", name);
	INIT_WORK(&n->work, nowait_answer);
	n->cont = cont;
	n->context = context;
	schedule_work(&n->work);
	return 0;
}

void release_firmware(const struct firmware *fw)
{
	WARN_ON(fw);	/* none was ever given */
}
