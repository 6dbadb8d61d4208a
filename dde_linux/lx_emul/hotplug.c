/*
 * CPU hotplug (kernel/cpu.c): one CPU, online from the start.
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
