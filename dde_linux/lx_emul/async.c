/*
 * async function calls (kernel/async.c).
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
