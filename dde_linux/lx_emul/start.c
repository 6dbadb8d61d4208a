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

extern initcall_entry_t __lx_initcall_start[], __lx_initcall_end[];
extern const struct kernel_param __start___param[], __stop___param[];

static int lx_argc;
static char **lx_argv;

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

/*
 * Module parameters, given as `dde run --driver NAME,PARAM=VALUE,...`:
 * the driver's own (module_param) and those of the reused core files. As
 * built-in code, Linux names them MODULE.PARAM; the short name is enough
 * when only one has it. Linux's parse_args checks and sets them, before
 * any initcall runs, as the kernel's command line would.
 */
static const struct kernel_param *find_param(const char *name, size_t len)
{
	const struct kernel_param *found = NULL;

	for (const struct kernel_param *kp = __start___param; kp < __stop___param; kp++) {
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

static int set_params(void)
{
	for (int i = 1; i < lx_argc; i++) {
		const char *arg = lx_argv[i], *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct kernel_param *kp = find_param(arg, len);
		char *buf, *err;

		if (IS_ERR(kp))
			return PTR_ERR(kp);
		if (!kp) {
			pr_err("lx_emul: %s has no parameter '%.*s'; it has:\n", lx_kit_driver_name(),
			       (int)len, arg);
			for (kp = __start___param; kp < __stop___param; kp++)
				pr_err("lx_emul:   %s\n", kp->name);
			return -ENOENT;
		}
		buf = kasprintf(GFP_KERNEL, "%s%s", kp->name, eq ? eq : "");
		if (!buf)
			return -ENOMEM;
		err = parse_args("parameters", buf, __start___param,
				 __stop___param - __start___param, S16_MIN, S16_MAX, NULL, NULL);
		kfree(buf);
		if (IS_ERR(err))
			return PTR_ERR(err);
		pr_info("lx_emul: parameter %s%s\n", kp->name, eq ? eq : "");
	}
	return 0;
}

static void init_main(void *arg)
{
	int r;

	lx_emul_task_bind(current, lx_kit_task_self());
	r = set_params();
	if (r) {
		pr_err("lx_emul: bad driver parameters (%d): not starting\n", r);
		lx_kit_stop(2);
		return;
	}
	lx_emul_workqueues_init();
	lx_emul_pci_init();
	run_initcalls();
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
