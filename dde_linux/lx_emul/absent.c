/*
 * Kernel facilities a driver process does not have: sysfs, debugfs,
 * uevents, character devices, hwmon, power-management QoS, DMI and ACPI
 * tables, CPU hotplug. Each answers as Linux does when the facility is
 * configured out or absent (sysfs calls succeed with nobody to see the
 * files; debugfs and hwmon say -ENODEV; no DMI match), which is what the
 * drivers are written to cope with. Nothing here pretends to have done
 * work someone later relies on.
 */
#include <linux/async.h>
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

/* ---- sysfs: the objects exist, their directories and files nowhere ---- */

int sysfs_create_dir_ns(struct kobject *kobj, const void *ns)
{
	return 0;
}

void sysfs_remove_dir(struct kobject *kobj)
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

/* ---- debugfs: as configured out ---- */

struct dentry *debugfs_create_dir(const char *name, struct dentry *parent)
{
	return ERR_PTR(-ENODEV);
}

void debugfs_remove(struct dentry *dentry)
{
}

/* ---- hwmon: no such class here (the drivers treat it as optional) ---- */

struct device *hwmon_device_register_with_info(struct device *dev, const char *name, void *drvdata,
					       const struct hwmon_chip_info *info,
					       const struct attribute_group **extra_groups)
{
	return ERR_PTR(-ENODEV);
}

void hwmon_device_unregister(struct device *dev)
{
}

/* ---- device classes and character devices: named, never opened ---- */

struct class *__class_create(struct module *owner, const char *name, struct lock_class_key *key)
{
	struct class *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return ERR_PTR(-ENOMEM);
	c->name = name;
	return c;
}

void class_destroy(struct class *cls)
{
	if (!IS_ERR_OR_NULL(cls))
		kfree(cls);
}

int alloc_chrdev_region(dev_t *dev, unsigned baseminor, unsigned count, const char *name)
{
	static unsigned major = 240;	/* LOCAL/EXPERIMENTAL USE */

	*dev = MKDEV(major++, baseminor);
	return 0;
}

void unregister_chrdev_region(dev_t from, unsigned count)
{
}

void cdev_init(struct cdev *cdev, const struct file_operations *fops)
{
	memset(cdev, 0, sizeof(*cdev));
	INIT_LIST_HEAD(&cdev->list);
	cdev->ops = fops;
}

int cdev_device_add(struct cdev *cdev, struct device *dev)
{
	return device_add(dev);
}

void cdev_device_del(struct cdev *cdev, struct device *dev)
{
	device_del(dev);
}

/* ---- power management: no policy, no sleep states ---- */

int dev_pm_qos_expose_latency_tolerance(struct device *dev)
{
	return 0;
}

void dev_pm_qos_hide_latency_tolerance(struct device *dev)
{
}

/* the user's latency tolerance is the only constraint: it applies as is */
int dev_pm_qos_update_user_latency_tolerance(struct device *dev, s32 val)
{
	if (dev->power.set_latency_tolerance)
		dev->power.set_latency_tolerance(dev, val);
	return 0;
}

unsigned int pm_suspend_global_flags;

bool pm_wakeup_pending(void)
{
	return false;
}

/* ---- firmware tables: the machine's firmware is ours and has none ---- */

bool dmi_match(enum dmi_field f, const char *str)
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

/* ---- modules: everything is built in (THIS_MODULE is NULL) ---- */

bool try_module_get(struct module *module)
{
	return true;
}

void __module_get(struct module *module)
{
}

void module_put(struct module *module)
{
}

/*
 * ---- CPU hotplug: the one CPU is online from the start and never goes;
 * a state's startup runs at once for it when asked to ----
 */

#define CPUHP_SLOTS 16
static struct {
	int (*startup)(unsigned int cpu);
	int (*startup_multi)(unsigned int cpu, struct hlist_node *node);
	bool multi;
} cpuhp[CPUHP_SLOTS];

int __cpuhp_setup_state(enum cpuhp_state state, const char *name, bool invoke,
			int (*startup)(unsigned int cpu), int (*teardown)(unsigned int cpu),
			bool multi_instance)
{
	static int dyn = CPUHP_AP_ONLINE_DYN;
	int slot, r = 0;

	if (state == CPUHP_AP_ONLINE_DYN) {
		if (dyn >= CPUHP_AP_ONLINE_DYN_END)
			return -ENOSPC;
		state = r = dyn++;
	}
	slot = state % CPUHP_SLOTS;
	cpuhp[slot].multi = multi_instance;
	if (multi_instance)
		cpuhp[slot].startup_multi = (void *)startup;
	else
		cpuhp[slot].startup = startup;
	if (invoke && startup && !multi_instance) {
		int e = startup(0);

		if (e)
			return e;
	}
	return r;
}

int __cpuhp_state_add_instance(enum cpuhp_state state, struct hlist_node *node, bool invoke)
{
	int slot = state % CPUHP_SLOTS;

	if (invoke && cpuhp[slot].startup_multi)
		return cpuhp[slot].startup_multi(0, node);
	return 0;
}

int __cpuhp_state_remove_instance(enum cpuhp_state state, struct hlist_node *node, bool invoke)
{
	return 0;
}

/* ---- async function calls: work items on the unbound queue ---- */

struct async_entry {
	struct work_struct work;
	async_func_t fn;
	void *data;
	async_cookie_t cookie;
};

static async_cookie_t next_cookie = 1;
static atomic_t async_pending = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(async_done);

static void async_run(struct work_struct *work)
{
	struct async_entry *e = container_of(work, struct async_entry, work);

	e->fn(e->data, e->cookie);
	kfree(e);
	if (atomic_dec_and_test(&async_pending))
		wake_up_all(&async_done);
}

async_cookie_t async_schedule_node(async_func_t func, void *data, int node)
{
	struct async_entry *e = kzalloc(sizeof(*e), GFP_KERNEL);
	async_cookie_t cookie = next_cookie++;

	if (!e) {
		func(data, cookie);	/* as Linux does without memory: synchronously */
		return cookie;
	}
	INIT_WORK(&e->work, async_run);
	e->fn = func;
	e->data = data;
	e->cookie = cookie;
	atomic_inc(&async_pending);
	queue_work(system_unbound_wq, &e->work);
	return cookie;
}

void async_synchronize_full(void)
{
	wait_event(async_done, atomic_read(&async_pending) == 0);
}
