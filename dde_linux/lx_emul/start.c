/*
 * The Linux side's entry: set up the emulated CPU, memory and the init
 * task, run the initcalls (module_init of the drivers and of reused core
 * code), then serve interrupts, timers and tasks until stopped.
 */
#include <linux/init.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/printk.h>
#include <linux/string.h>

#include <lx_kit/kit.h>
#include "lx_emul.h"

extern initcall_entry_t __lx_initcall_start[], __lx_initcall_late[], __lx_initcall_end[];
extern const struct kernel_param __start___param[], __stop___param[];

static int lx_argc;
static char **lx_argv;

static struct task_struct lx_idle_task;
static struct task_struct lx_init_task;

static void run_initcalls(initcall_entry_t *from, initcall_entry_t *to)
{
	for (initcall_entry_t *e = from; e < to; e++) {
		initcall_t fn = initcall_from_entry(e);
		int r = fn();

		if (r && r != -ENODEV)
			pr_warn("lx_emul: initcall %ps returned %d\n", fn, r);
	}
}

/*
 * Module parameters, given as `dde run --driver NAME,PARAM=VALUE,...`:
 * the driver's own (module_param) and those of the reused core files. As
 * built-in code, Linux names them MODULE.PARAM; the short name is enough
 * when only one has it. Linux's parse_args checks and sets them, before
 * any initcall runs, as the kernel's command line would. A binary module's
 * parameters are its own __param table (dde_linux/ksrv/module.c).
 */
static const struct kernel_param *find_param(const struct kernel_param *params, unsigned n,
					     const char *name, size_t len)
{
	const struct kernel_param *found = NULL;

	for (const struct kernel_param *kp = params; kp < params + n; kp++) {
		const char *dot = strchr(kp->name, '.');

		if ((strlen(kp->name) == len && !strncmp(kp->name, name, len)) ||
		    (dot && strlen(dot + 1) == len && !strncmp(dot + 1, name, len))) {
			if (found) {
				pr_err("lx_emul: parameter '%.*s' is ambiguous: %s or %s\n",
				       (int)len, name, found->name, kp->name);
				return ERR_PTR(-EINVAL);
			}
			found = kp;
		}
	}
	return found;
}

int lx_emul_set_params(const char *owner, const struct kernel_param *params, unsigned n,
		       int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct kernel_param *kp = find_param(params, n, arg, len);
		char *buf, *err;

		if (IS_ERR(kp))
			return PTR_ERR(kp);
		if (!kp) {
			pr_err("lx_emul: %s has no parameter '%.*s'; it has:\n", owner, (int)len, arg);
			for (kp = params; kp < params + n; kp++)
				pr_err("lx_emul:   %s\n", kp->name);
			return -ENOENT;
		}
		buf = kasprintf(GFP_KERNEL, "%s%s", kp->name, eq ? eq : "");
		if (!buf)
			return -ENOMEM;
		err = parse_args(owner, buf, (struct kernel_param *)params, n, S16_MIN, S16_MAX,
				 NULL, NULL);
		kfree(buf);
		if (IS_ERR(err))
			return PTR_ERR(err);
		pr_info("lx_emul: parameter %s%s\n", kp->name, eq ? eq : "");
	}
	return 0;
}

/*
 * What a driver host starts after the built-in code's initcalls (binary
 * modules: dde_linux/ksrv/module.c); 0, or the process's exit status.
 */
__weak int lx_emul_modules_start(void)
{
	return 0;
}

static void init_main(void *arg)
{
	int r;

	lx_emul_task_bind(current, lx_kit_task_self());
	r = lx_emul_set_params(lx_kit_driver_name(), __start___param,
			       __stop___param - __start___param, lx_argc - 1, lx_argv + 1);
	if (r) {
		pr_err("lx_emul: bad driver parameters (%d): not starting\n", r);
		lx_kit_stop(2);
		return;
	}
	lx_emul_workqueues_init();
	lx_emul_pci_init();
	lx_emul_pm_init();
	/*
	 * Binary modules are device drivers: they start after the built-in
	 * device initcalls, before the late ones (the class glue attaches
	 * the interfaces the drivers registered there).
	 */
	run_initcalls(__lx_initcall_start, __lx_initcall_late);
	r = lx_emul_modules_start();
	if (r) {
		lx_kit_stop(r);
		return;
	}
	run_initcalls(__lx_initcall_late, __lx_initcall_end);
}

int lx_emul_start(int argc, char **argv)
{
	lx_argc = argc;
	lx_argv = argv;
	lx_emul_cpu_init();
	lx_emul_mem_init();
	lx_emul_time_init();
	lx_emul_task_init(&lx_idle_task, "idle");
	lx_emul_task_init(&lx_init_task, "init");
	return lx_kit_run(init_main, (void **)raw_cpu_ptr(&current_task), &lx_init_task,
			  &lx_idle_task, lx_emul_tick);
}
