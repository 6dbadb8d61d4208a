/*
 * The Linux side of a binary driver host: after the library's own
 * initcalls, each module placed by the host (ko/host.c), dependencies
 * first, gets its parameters (Linux's parse_args on the module's own
 * __param table) and its init, in the init task, as load_module() and
 * do_init_module() would. A failing init stops the driver with the
 * module's name and the error. When the driver is told to stop (SIGTERM:
 * ko/host.c raises ksrv_stop), each module's exit runs, the last
 * loaded first, in a Linux task, as delete_module() would; then the
 * driver stops.
 */
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

#include <ksrv/host.h>
#include <lx_kit/kit.h>
#include "lx_emul.h"

static int start_module(struct ksrv_module *km)
{
	struct module *mod = km->this_module;
	unsigned n = km->params_size / sizeof(struct kernel_param);
	int r;

	if (km->params_size % sizeof(struct kernel_param)) {
		pr_err("ksrv: %s: its __param table is %lu bytes, not whole kernel_params\n",
		       km->name, km->params_size);
		return 1;
	}
	mod->state = MODULE_STATE_COMING;
	mod->kp = km->params;
	mod->num_kp = n;
	r = lx_emul_set_params(km->name, km->params, n, km->argc, km->argv);
	if (r) {
		pr_err("ksrv: %s: bad module parameters (%d): not starting\n", km->name, r);
		return 2;
	}
	if (mod->init) {
		r = mod->init();
		if (r) {
			pr_err("ksrv: %s: init failed: %pe\n", km->name, ERR_PTR(r));
			mod->state = MODULE_STATE_GOING;
			return 1;
		}
	}
	mod->state = MODULE_STATE_LIVE;
	pr_info("ksrv: %s: started\n", km->name);
	return 0;
}

static struct task_struct *stopper;
static bool stop_requested;

static int stop_modules(void *arg)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (READ_ONCE(stop_requested))
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	for (unsigned i = ksrv_nmodules; i-- > 0;) {
		struct module *mod = ksrv_modules[i].this_module;

		if (mod->state != MODULE_STATE_LIVE)
			continue;
		mod->state = MODULE_STATE_GOING;
		if (mod->exit)
			mod->exit();
		mod->state = MODULE_STATE_UNFORMED;
		pr_info("ksrv: %s: exited\n", ksrv_modules[i].name);
	}
	lx_kit_stop(0);
	return 0;
}

void ksrv_stop(void *arg)
{
	WRITE_ONCE(stop_requested, true);
	if (stopper)
		wake_up_process(stopper);
	else
		lx_kit_stop(0);		/* nothing started yet */
}

int lx_emul_modules_start(void)
{
	struct task_struct *t;

	for (unsigned i = 0; i < ksrv_nmodules; i++) {
		int r = start_module(&ksrv_modules[i]);

		if (r)
			return r;
	}
	t = kthread_run(stop_modules, NULL, "ksrv-stop");
	if (!IS_ERR(t))
		stopper = t;
	return 0;
}
