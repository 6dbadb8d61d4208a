/*
 * power management (drivers/base/power, kernel/power): no policy, no
 * sleep states, devices stay powered.
 * Each answers as Linux does when the facility is configured out or
 * absent, which is what the drivers are written to cope with. Nothing here
 * pretends to have done work someone later relies on.
 */
#include <linux/async.h>
#include <linux/blkdev.h>
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

/*
 * CPU latency requests (ALSA asks for one while a stream runs): there are
 * no CPU idle states to hold off; a request is only marked active, as
 * cpu_latency_qos_request_active reports it.
 */
static struct pm_qos_constraints cpu_latency;

bool cpu_latency_qos_request_active(struct pm_qos_request *req)
{
	return req->qos == &cpu_latency;
}

void cpu_latency_qos_add_request(struct pm_qos_request *req, s32 value)
{
	req->qos = &cpu_latency;
}

void cpu_latency_qos_update_request(struct pm_qos_request *req, s32 new_value)
{
}

void cpu_latency_qos_remove_request(struct pm_qos_request *req)
{
	req->qos = NULL;
}

unsigned int pm_suspend_global_flags;

bool pm_wakeup_pending(void)
{
	return false;
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

int pm_runtime_get_if_active(struct device *dev, bool ign_usage_count)
{
	return -EINVAL;	/* as with runtime PM disabled: the device is simply on */
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

/* system sleep through runtime PM: nothing was ever runtime-suspended */
int pm_runtime_force_suspend(struct device *dev)
{
	return 0;
}

int pm_runtime_force_resume(struct device *dev)
{
	return 0;
}

void __pm_runtime_use_autosuspend(struct device *dev, bool use)
{
}

void pm_runtime_set_autosuspend_delay(struct device *dev, int delay)
{
}

/*
 * A queue's device, as block/blk-pm.c records it: a request that is not
 * for power management waits while its SCSI device is quiesced for system
 * sleep (blk_queue_enter sleeps on the queue's device being set; without
 * it, it would spin and the one Linux CPU would never resume the device).
 */
void blk_pm_runtime_init(struct request_queue *q, struct device *dev)
{
	q->dev = dev;
	q->rpm_status = RPM_ACTIVE;
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

/* ---- PM QoS flags and wake-up sources: none are set, none wake ---- */

int dev_pm_qos_add_request(struct device *dev, struct dev_pm_qos_request *req,
			   enum dev_pm_qos_req_type type, s32 value)
{
	req->dev = dev;
	req->type = type;
	return 1;	/* as a new constraint: its value is the target */
}

int dev_pm_qos_remove_request(struct dev_pm_qos_request *req)
{
	req->dev = NULL;
	return 0;
}

int dev_pm_qos_expose_flags(struct device *dev, s32 value)
{
	return 0;
}

enum pm_qos_flags_status dev_pm_qos_flags(struct device *dev, s32 mask)
{
	return PM_QOS_FLAGS_UNDEFINED;
}

int device_wakeup_enable(struct device *dev)
{
	return 0;
}

int device_wakeup_disable(struct device *dev)
{
	return 0;
}

int pm_runtime_barrier(struct device *dev)
{
	return 0;	/* no runtime PM request is ever pending */
}

void pm_runtime_no_callbacks(struct device *dev)
{
}

/* runtime PM's workqueue (a host's remote wake-up work is queued there) */
struct workqueue_struct *pm_wq;

static int __init pm_wq_init(void)
{
	pm_wq = system_freezable_wq;
	return 0;
}
core_initcall(pm_wq_init);

/* ---- system sleep's bookkeeping: nothing waits, nothing wakes ---- */

int device_pm_wait_for_dev(struct device *subordinate, struct device *dev)
{
	return 0;	/* devices resume in order here (lx_emul/pm.c) */
}

void pm_wakeup_dev_event(struct device *dev, unsigned int msec, bool hard)
{
}

void __suspend_report_result(const char *function, struct device *dev, void *fn, int ret)
{
	if (ret)
		dev_err(dev, "%s(): %ps returns %d\n", function, fn, ret);
}

/* the name of a device's sysfs power group (usbcore adds files to it) */
const char power_group_name[] = "power";

/* the sleep state being entered: none (PM_SUSPEND_ON) but during dde pm */
suspend_state_t pm_suspend_target_state;
