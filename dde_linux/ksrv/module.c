/*
 * The Linux side of a binary driver host: after the library's own
 * initcalls, each module placed by the host (ko/host.c), dependencies
 * first, gets its parameters (Linux's parse_args on the module's own
 * __param table) and its init, in the init task, as load_module() and
 * do_init_module() would. A failing init stops the driver with the
 * module's name and the error.
 */
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

int lx_emul_modules_start(void)
{
	for (unsigned i = 0; i < ksrv_nmodules; i++) {
		int r = start_module(&ksrv_modules[i]);

		if (r)
			return r;
	}
	return 0;
}
