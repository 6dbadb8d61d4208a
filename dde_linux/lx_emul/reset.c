/*
 * drivers/reset/core.c: reset controllers of a SoC. A PCI device has none:
 * an optional reset line is absent (NULL, which every reset_control call
 * takes as "nothing to do"), a required one is not found.
 */
#include <linux/reset.h>

#include "lx_emul.h"

struct reset_control *__devm_reset_control_get(struct device *dev, const char *id, int index,
					       bool shared, bool optional, bool acquired)
{
	return optional ? NULL : ERR_PTR(-ENOENT);
}

int reset_control_reset(struct reset_control *rstc)
{
	return rstc ? -EINVAL : 0;
}
