/*
 * debugfs (fs/debugfs), as configured out.
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

/* ---- debugfs: as configured out ---- */

struct dentry *debugfs_create_dir(const char *name, struct dentry *parent)
{
	return ERR_PTR(-ENODEV);
}

void debugfs_remove(struct dentry *dentry)
{
}

/* regmap's debugfs files (drivers/base/regmap/regmap-debugfs.c), as configured out */
struct regmap;
void regmap_debugfs_initcall(void);
void regmap_debugfs_init(struct regmap *map);
void regmap_debugfs_exit(struct regmap *map);

void regmap_debugfs_initcall(void)
{
}

void regmap_debugfs_init(struct regmap *map)
{
}

void regmap_debugfs_exit(struct regmap *map)
{
}

struct dentry *debugfs_create_file(const char *name, umode_t mode, struct dentry *parent,
				   void *data, const struct file_operations *fops)
{
	return ERR_PTR(-ENODEV);
}

void debugfs_create_regset32(const char *name, umode_t mode, struct dentry *parent,
			     struct debugfs_regset32 *regset)
{
}

void debugfs_lookup_and_remove(const char *name, struct dentry *parent)
{
}
