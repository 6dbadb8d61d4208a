/*
 * System sleep of the driver's devices on dde run's request (`dde pm
 * suspend|resume`, docs/hotplug.md "Power management"): each bound PCI
 * device's own Linux callbacks in the order Linux's PM core and PCI core
 * call them, and the device to D3hot and back through its PM capability
 * (pci.c).
 *
 * Suspend: the driver's dev_pm_ops suspend, suspend_late and
 * suspend_noirq (or a legacy pci_driver suspend), then, as the PCI core's
 * pci_pm_suspend_noirq does, the config state saved (unless the driver
 * did) and the device put in D3hot (unless the driver did). Resume: D0,
 * the state restored, then resume_noirq, resume_early and resume (or the
 * legacy resume). A driver with none of them is told so in one line, and
 * its device is left as it is.
 *
 * "stop" runs each driver's remove and ends the process (stop_all).
 *
 * The requests come on the driver's control channel (lx_kit), are taken
 * by a kthread of their own, which may sleep in the callbacks, and are
 * answered with one line per device.
 */
#include <linux/device.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/pci.h>
#include <linux/pm.h>
#include <linux/sched.h>

#include <lx_kit/kit.h>
#include "lx_emul.h"

static struct task_struct *pm_task;

/* a request came (scheduler context): the kthread takes it */
static void pm_wake(void *arg)
{
	if (pm_task)
		wake_up_process(pm_task);
}

static const char *state_name(pci_power_t s)
{
	return s == PCI_D0 ? "D0" : s == PCI_D3hot ? "D3hot" : "D?";
}

extern struct list_head lx_dpm_list;	/* device.c: every device, in the order added */

enum phase { SUSPEND, SUSPEND_LATE, SUSPEND_NOIRQ, RESUME_NOIRQ, RESUME_EARLY, RESUME };

/* A device's callbacks, as Linux's PM core picks them: its PM domain's,
 * its type's, its class's, its bus's, else its driver's. */
static const struct dev_pm_ops *ops_of(struct device *dev)
{
	if (dev->pm_domain)
		return &dev->pm_domain->ops;
	if (dev->type && dev->type->pm)
		return dev->type->pm;
	if (dev->class && dev->class->pm)
		return dev->class->pm;
	if (dev->bus && dev->bus->pm)
		return dev->bus->pm;
	return dev->driver ? dev->driver->pm : NULL;
}

static int (*callback(struct device *dev, enum phase ph))(struct device *)
{
	const struct dev_pm_ops *o = ops_of(dev);

	if (!o)
		return NULL;
	switch (ph) {
	case SUSPEND: return o->suspend;
	case SUSPEND_LATE: return o->suspend_late;
	case SUSPEND_NOIRQ: return o->suspend_noirq;
	case RESUME_NOIRQ: return o->resume_noirq;
	case RESUME_EARLY: return o->resume_early;
	default: return o->resume;
	}
}

static bool below(struct device *dev, struct device *top)
{
	for (; dev; dev = dev->parent)
		if (dev == top)
			return true;
	return false;
}

/*
 * Phase @ph for PCI device @pdev and every device below it (its ports,
 * disks, hosts): the last added first when suspending, in order when
 * resuming. A driver without dev_pm_ops gets its legacy suspend or resume.
 * 0 or the first error (named in @why); *@n counts the callbacks run.
 */
static int run_one(struct pci_dev *pdev, struct device *dev, enum phase ph, unsigned *n,
		   char *why, size_t cap)
{
	int (*cb)(struct device *) = callback(dev, ph);
	int r;

	if (cb) {
		r = cb(dev);
	} else if (dev == &pdev->dev && !ops_of(dev) && pdev->driver) {
		/* a driver of the legacy interface */
		if (ph == SUSPEND && pdev->driver->suspend)
			r = pdev->driver->suspend(pdev, PMSG_SUSPEND);
		else if (ph == RESUME && pdev->driver->resume)
			r = pdev->driver->resume(pdev);
		else
			return 0;
	} else {
		return 0;
	}
	(*n)++;
	if (r)
		snprintf(why, cap, "%s's %s failed: %d", dev_name(dev),
			 ph <= SUSPEND_NOIRQ ? "suspend" : "resume", r);
	return r;
}

/*
 * Phase @ph for PCI device @pdev and every device below it (its ports,
 * disks, hosts): the devices below first and the last added of them first
 * when suspending; the PCI device first, then the others in the order
 * added, when resuming. A driver without dev_pm_ops gets its legacy
 * suspend or resume. 0 or the first error (named in @why); *@n counts the
 * callbacks run.
 */
static int run_phase(struct pci_dev *pdev, enum phase ph, unsigned *n, char *why, size_t cap)
{
	struct device *top = &pdev->dev;
	bool down = ph <= SUSPEND_NOIRQ;
	struct list_head *e;
	int r;

	if (!down && (r = run_one(pdev, top, ph, n, why, cap)))
		return r;
	for (e = down ? lx_dpm_list.prev : lx_dpm_list.next; e != &lx_dpm_list;
	     e = down ? e->prev : e->next) {
		struct device *dev = list_entry(e, struct device, power.entry);

		if (dev != top && below(dev, top) && (r = run_one(pdev, dev, ph, n, why, cap)))
			return r;
	}
	return down ? run_one(pdev, top, ph, n, why, cap) : 0;
}

/* Whether the driver bound to @pdev has callbacks for system sleep. */
static bool has_pm(struct pci_dev *pdev)
{
	const struct dev_pm_ops *o = pdev->dev.driver ? ops_of(&pdev->dev) : NULL;

	return (o && (o->suspend || o->suspend_noirq || o->resume)) ||
	       (pdev->driver && (pdev->driver->suspend || pdev->driver->resume));
}

/* Whether @pdev can take part: a bound driver with callbacks (else why, in @out). */
static int can_sleep(struct pci_dev *pdev, const char *what, char *out, size_t cap)
{
	if (!pdev->driver) {
		snprintf(out, cap, "no driver is bound to it");
		return -ENODEV;
	}
	if (!has_pm(pdev)) {
		snprintf(out, cap, "driver %s has no power management callbacks (no dev_pm_ops, "
			 "no legacy %s): left as it is", pdev->driver->name, what);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Phases @from..@to of @pdev (@n callbacks run); 0, or the error in @out. */
static int run_phases(struct pci_dev *pdev, enum phase from, enum phase to, unsigned *n,
		      char *out, size_t cap)
{
	int r = 0;

	for (enum phase ph = from; ph <= to && !r; ph++)
		r = run_phase(pdev, ph, n, out, cap);
	return r;
}

static int suspend_one(struct pci_dev *pdev, char *out, size_t cap)
{
	unsigned n = 0;
	int r = can_sleep(pdev, "suspend", out, cap);

	if (r || (r = run_phases(pdev, SUSPEND, SUSPEND_NOIRQ, &n, out, cap)))
		return r;
	/* the PCI core's part (pci_pm_suspend_noirq) */
	if (!pdev->state_saved)
		pci_save_state(pdev);
	if (pdev->current_state == PCI_D0)
		pci_set_power_state(pdev, PCI_D3hot);
	snprintf(out, cap, "suspended: %u callback(s) of driver %s and the devices below it, "
		 "now %s%s", n, pdev->driver->name, state_name(pdev->current_state),
		 pci_find_capability(pdev, PCI_CAP_ID_PM) ? "" : " (no PM capability: powered)");
	return 0;
}

static int resume_one(struct pci_dev *pdev, char *out, size_t cap)
{
	unsigned n = 0;
	int r = can_sleep(pdev, "resume", out, cap);

	if (r)
		return r;
	/* the PCI core's part first (pci_pm_resume_noirq): D0, the state back */
	pci_set_power_state(pdev, PCI_D0);
	pci_restore_state(pdev);
	if ((r = run_phases(pdev, RESUME_NOIRQ, RESUME, &n, out, cap)))
		return r;
	snprintf(out, cap, "resumed: %u callback(s) of driver %s and the devices below it, now %s",
		 n, pdev->driver->name, state_name(pdev->current_state));
	return 0;
}

/* One line of an answer for device @i: "BB:SS.F: TEXT (N ms)" */
static size_t answer_line(char *answer, size_t len, size_t cap, unsigned i, const char *text,
			  u64 since)
{
	struct lx_kit_pci_dev kd = { 0 };

	lx_kit_pci_get(i, &kd);	/* its address on the machine, not Linux's view */
	return len + scnprintf(answer + len, cap - len, "%s%02x:%02x.%x: %s (%llu ms)",
			       len > 1 ? "\n" : "", kd.bus, kd.slot, kd.func, text,
			       (unsigned long long)((ktime_get_ns() - since) / 1000000));
}

/*
 * "stop" (its device leaves, or dde driver stop): each bound device's
 * driver runs its remove, as when Linux unbinds it (the interface or disk
 * unregistered: its class server hears it from the glue), then the
 * process ends.
 */
static void stop_all(void)
{
	char answer[1024];
	size_t len = 1;

	answer[0] = '0';
	answer[1] = 0;
	lx_kit_stopping_set();
	for (unsigned i = 0; lx_emul_pci_dev(i); i++) {
		struct pci_dev *pdev = lx_emul_pci_dev(i);
		struct pci_driver *pdrv = pdev->driver;
		u64 t = ktime_get_ns();

		if (!pdrv)
			continue;
		if (pdrv->remove)
			pdrv->remove(pdev);
		pdev->driver = NULL;
		pdev->dev.driver = NULL;
		len = answer_line(answer, len, sizeof(answer), i, pdrv->remove ?
				  "removed by its driver's remove" :
				  "its driver has no remove: left as it is", t);
	}
	lx_kit_control_reply(answer);
	lx_kit_stop(0);
}

/* One request: every device, the answer "0" or "1" (any failed), then a line each. */
static void serve(const char *req)
{
	bool suspend = !strcmp(req, "suspend");
	char answer[1024], line[256];
	size_t len = 1;
	int failed = 0;
	u64 t0 = ktime_get_ns();

	if (!strcmp(req, "stop")) {
		stop_all();
		return;
	}
	if (!strcmp(req, "memory")) {	/* dde driver memory: what it holds (leaks) */
		answer[0] = '0';
		lx_kit_dma_usage_text(answer + 1, sizeof(answer) - 1);
		lx_kit_control_reply(answer);
		return;
	}
	if (!suspend && strcmp(req, "resume")) {
		lx_kit_control_reply("1unknown request");
		return;
	}
	answer[0] = '0';
	answer[1] = 0;
	for (unsigned i = 0; lx_emul_pci_dev(i); i++) {
		struct pci_dev *pdev = lx_emul_pci_dev(i);
		u64 t = ktime_get_ns();
		int r = suspend ? suspend_one(pdev, line, sizeof(line)) :
				  resume_one(pdev, line, sizeof(line));

		failed |= r != 0;
		len = answer_line(answer, len, sizeof(answer), i, line, t);
	}
	if (failed)
		answer[0] = '1';
	pr_info("lx_emul: %s in %llu ms\n", suspend ? "suspended" : "resumed",
		(unsigned long long)((ktime_get_ns() - t0) / 1000000));
	lx_kit_control_reply(answer);
}

static int pm_thread(void *arg)
{
	char req[64];

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!lx_kit_control_take(req, sizeof(req))) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		serve(req);
	}
	return 0;
}

void lx_emul_pm_init(void)
{
	struct task_struct *t;

	if (!lx_kit_control_present())
		return;		/* no control channel: started by hand */
	t = kthread_run(pm_thread, NULL, "dde-pm");
	if (!IS_ERR(t))
		pm_task = t;
	lx_kit_control_start(pm_wake, NULL);
}
