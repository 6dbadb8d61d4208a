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

const struct dmi_system_id *dmi_first_match(const struct dmi_system_id *list)
{
	return NULL;
}

int dmi_check_system(const struct dmi_system_id *list)
{
	return 0;
}

bool dmi_get_date(int field, int *yearp, int *monthp, int *dayp)
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

void __cpuhp_remove_state(enum cpuhp_state state, bool invoke)
{
}

/* the hotplug lock: no CPU comes or goes */
void cpus_read_lock(void)
{
}

void cpus_read_unlock(void)
{
}

/* ---- async function calls: work items on the unbound queue ---- */

struct async_entry {
	struct work_struct work;
	struct list_head pending;	/* in cookie order */
	async_func_t fn;
	void *data;
	async_cookie_t cookie;
};

static async_cookie_t next_cookie = 1;
static atomic_t async_pending = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(async_done);
static LIST_HEAD(async_list);
static DEFINE_SPINLOCK(async_lock);

static void async_run(struct work_struct *work)
{
	struct async_entry *e = container_of(work, struct async_entry, work);

	e->fn(e->data, e->cookie);
	spin_lock(&async_lock);
	list_del(&e->pending);
	spin_unlock(&async_lock);
	kfree(e);
	atomic_dec(&async_pending);
	wake_up_all(&async_done);
}

/* the oldest cookie still running or queued (next_cookie: none) */
static async_cookie_t lowest_pending(void)
{
	async_cookie_t c = next_cookie;

	spin_lock(&async_lock);
	if (!list_empty(&async_list))
		c = list_first_entry(&async_list, struct async_entry, pending)->cookie;
	spin_unlock(&async_lock);
	return c;
}

/* every call scheduled before @cookie has returned */
void async_synchronize_cookie(async_cookie_t cookie)
{
	wait_event(async_done, lowest_pending() >= cookie);
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
	spin_lock(&async_lock);
	list_add_tail(&e->pending, &async_list);
	spin_unlock(&async_lock);
	queue_work(system_unbound_wq, &e->work);
	return cookie;
}

void async_synchronize_full(void)
{
	wait_event(async_done, atomic_read(&async_pending) == 0);
}

/* ---- device classes' registration, transport classes, attribute containers:
 * sysfs views of devices (a class device's attributes, SCSI and ATA
 * transport attributes), nothing a driver process shows ---- */

int __class_register(struct class *cls, struct lock_class_key *key)
{
	return 0;
}

void class_unregister(struct class *cls)
{
}

/* class interfaces watch a class's devices come and go: nobody watches here */
int class_interface_register(struct class_interface *ci)
{
	return 0;
}

void class_interface_unregister(struct class_interface *ci)
{
}

/* no class keeps a list of its devices: a lookup finds none */
struct device *class_find_device(struct class *class, struct device *start, const void *data,
				 int (*match)(struct device *, const void *))
{
	return NULL;
}

int transport_class_register(struct transport_class *tclass)
{
	return 0;
}

void transport_class_unregister(struct transport_class *tclass)
{
}

int anon_transport_class_register(struct anon_transport_class *atc)
{
	return 0;
}

void anon_transport_class_unregister(struct anon_transport_class *atc)
{
}

void transport_setup_device(struct device *dev)
{
}

int transport_add_device(struct device *dev)
{
	return 0;
}

void transport_configure_device(struct device *dev)
{
}

void transport_remove_device(struct device *dev)
{
}

void transport_destroy_device(struct device *dev)
{
}

int attribute_container_register(struct attribute_container *cont)
{
	return 0;
}

int attribute_container_unregister(struct attribute_container *cont)
{
	return 0;
}

/* ---- ACPI for ATA (_GTF taskfiles, _PS0/_PS3, zero-power ODD): a machine
 * without ACPI, as libata runs when ACPI finds no handle ---- */

void ata_acpi_bind_port(struct ata_port *ap)
{
}

void ata_acpi_bind_dev(struct ata_device *dev)
{
}

void ata_acpi_dissociate(struct ata_host *host)
{
}

int ata_acpi_on_devcfg(struct ata_device *dev)
{
	return 0;
}

void ata_acpi_on_disable(struct ata_device *dev)
{
}

void ata_acpi_on_resume(struct ata_port *ap)
{
}

void ata_acpi_set_state(struct ata_port *ap, pm_message_t state)
{
}

unsigned int ata_acpi_gtf_filter;

void zpodd_init(struct ata_device *dev)
{
}

void zpodd_exit(struct ata_device *dev)
{
}

void zpodd_on_suspend(struct ata_device *dev)
{
}

void zpodd_post_poweron(struct ata_device *dev)
{
}

/* ---- SCSI: no device handlers (multipath), no bsg or sg nodes, no
 * sysctl or netlink ---- */

void scsi_dh_add_device(struct scsi_device *sdev)
{
}

void scsi_dh_release_device(struct scsi_device *sdev)
{
}

struct bsg_device *scsi_bsg_register_queue(struct scsi_device *sdev)
{
	return NULL;	/* no SG_IO character device: scsi_sysfs takes NULL as none */
}

int scsi_init_sysctl(void)
{
	return 0;
}

void scsi_exit_sysctl(void)
{
}

void scsi_netlink_init(void)
{
}

void scsi_netlink_exit(void)
{
}

/* ---- runtime power management: devices stay powered ---- */

int __pm_runtime_idle(struct device *dev, int rpmflags)
{
	return -EAGAIN;	/* as with runtime PM forbidden */
}

int __pm_runtime_suspend(struct device *dev, int rpmflags)
{
	return -EAGAIN;
}

int __pm_runtime_resume(struct device *dev, int rpmflags)
{
	return 1;	/* already active */
}

int __pm_runtime_set_status(struct device *dev, unsigned int status)
{
	return 0;
}

void pm_runtime_enable(struct device *dev)
{
}

void __pm_runtime_disable(struct device *dev, bool check_resume)
{
}

void pm_runtime_forbid(struct device *dev)
{
}

void pm_runtime_allow(struct device *dev)
{
}

void pm_runtime_set_autosuspend_delay(struct device *dev, int delay)
{
}

void blk_pm_runtime_init(struct request_queue *q, struct device *dev)
{
}

/* device links order suspend and resume between devices: a record only */
struct device_link *device_link_add(struct device *consumer, struct device *supplier, u32 flags)
{
	struct device_link *link = kzalloc(sizeof(*link), GFP_KERNEL);

	if (link) {
		link->consumer = consumer;
		link->supplier = supplier;
		link->flags = flags;
	}
	return link;
}

void device_link_remove(void *consumer, struct device *supplier)
{
	/* the record stays until the process ends: nobody looks it up */
}

/* ---- LEDs and the entropy pool: no LEDs blink, disks feed no pool ---- */

void ledtrig_disk_activity(bool write)
{
}

void add_disk_randomness(struct gendisk *disk)
{
}
