/*
 * sysfs and uevents (fs/sysfs, lib/kobject_uevent.c): a driver process shows
 * its objects nowhere and nobody listens for its events.
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

/* ---- sysfs: the objects exist, their directories and files nowhere ---- */

int sysfs_create_dir_ns(struct kobject *kobj, const void *ns)
{
	return 0;
}

void sysfs_remove_dir(struct kobject *kobj)
{
}

/* the directories' nodes: none is ever made (kobj->sd stays NULL) */
void kernfs_get(struct kernfs_node *kn)
{
}

void kernfs_put(struct kernfs_node *kn)
{
}

int sysfs_rename_dir_ns(struct kobject *kobj, const char *new_name, const void *new_ns)
{
	return 0;
}

int sysfs_move_dir_ns(struct kobject *kobj, struct kobject *new_parent_kobj, const void *new_ns)
{
	return 0;
}

int sysfs_create_file_ns(struct kobject *kobj, const struct attribute *attr, const void *ns)
{
	return 0;
}

int sysfs_create_files(struct kobject *kobj, const struct attribute * const *attr)
{
	return 0;
}

void sysfs_remove_file_ns(struct kobject *kobj, const struct attribute *attr, const void *ns)
{
}

int sysfs_create_group(struct kobject *kobj, const struct attribute_group *grp)
{
	return 0;
}

int sysfs_create_groups(struct kobject *kobj, const struct attribute_group **groups)
{
	return 0;
}

int sysfs_add_file_to_group(struct kobject *kobj, const struct attribute *attr, const char *group)
{
	return 0;
}

void sysfs_remove_file_from_group(struct kobject *kobj, const struct attribute *attr,
				  const char *group)
{
}

void sysfs_remove_group(struct kobject *kobj, const struct attribute_group *grp)
{
}

void sysfs_remove_groups(struct kobject *kobj, const struct attribute_group **groups)
{
}

int sysfs_create_link(struct kobject *kobj, struct kobject *target, const char *name)
{
	return 0;
}

void sysfs_remove_link(struct kobject *kobj, const char *name)
{
}

int sysfs_emit_at(char *buf, int at, const char *fmt, ...)
{
	va_list args;
	int len;

	if (at < 0 || at >= PAGE_SIZE)
		return 0;
	va_start(args, fmt);
	len = vscnprintf(buf + at, PAGE_SIZE - at, fmt, args);
	va_end(args);
	return len;
}

int sysfs_emit(char *buf, const char *fmt, ...)
{
	va_list args;
	int len;

	va_start(args, fmt);
	len = vscnprintf(buf, PAGE_SIZE, fmt, args);
	va_end(args);
	return len;
}

int device_create_file(struct device *dev, const struct device_attribute *attr)
{
	return 0;
}

void device_remove_file(struct device *dev, const struct device_attribute *attr)
{
}

bool device_remove_file_self(struct device *dev, const struct device_attribute *attr)
{
	return false;
}

/* ---- uevents: nobody listens ---- */

int kobject_uevent_env(struct kobject *kobj, enum kobject_action action, char *envp[])
{
	return 0;
}

int kobject_uevent(struct kobject *kobj, enum kobject_action action)
{
	return 0;
}

int add_uevent_var(struct kobj_uevent_env *env, const char *format, ...)
{
	return 0;
}

int sysfs_merge_group(struct kobject *kobj, const struct attribute_group *grp)
{
	return 0;
}

void sysfs_unmerge_group(struct kobject *kobj, const struct attribute_group *grp)
{
}

void sysfs_notify(struct kobject *kobj, const char *dir, const char *attr)
{
}

int device_create_bin_file(struct device *dev, const struct bin_attribute *attr)
{
	return 0;
}

void device_remove_bin_file(struct device *dev, const struct bin_attribute *attr)
{
}

int driver_create_file(struct device_driver *drv, const struct driver_attribute *attr)
{
	return 0;
}

void driver_remove_file(struct device_driver *drv, const struct driver_attribute *attr)
{
}
