/*
 * The Linux side's entry: set up the emulated CPU, memory and the init
 * task, run the initcalls (module_init of the drivers and of reused core
 * code), then serve interrupts, timers and tasks until stopped.
 */
#include <linux/init.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/printk.h>
#include <linux/string.h>

#include <lx_kit/kit.h>
#include "lx_emul.h"

extern initcall_entry_t __lx_initcall_start[], __lx_initcall_end[];

static struct task_struct lx_idle_task;
static struct task_struct lx_init_task;

static void run_initcalls(void)
{
	for (initcall_entry_t *e = __lx_initcall_start; e < __lx_initcall_end; e++) {
		initcall_t fn = initcall_from_entry(e);
		int r = fn();

		if (r && r != -ENODEV)
			pr_warn("lx_emul: initcall %ps returned %d\n", fn, r);
	}
}

static void init_main(void *arg)
{
	lx_emul_task_bind(current, lx_kit_task_self());
	lx_emul_workqueues_init();
	lx_emul_pci_init();
	run_initcalls();
}

int lx_emul_start(void)
{
	lx_emul_cpu_init();
	lx_emul_mem_init();
	lx_emul_time_init();
	lx_emul_task_init(&lx_idle_task, "idle");
	lx_emul_task_init(&lx_init_task, "init");
	return lx_kit_run(init_main, (void **)&current_task, &lx_init_task,
			  &lx_idle_task, lx_emul_tick);
}
