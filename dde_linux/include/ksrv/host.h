/*
 * Between a binary driver host's two sides (docs/ko.md): the host (ko/host.c,
 * libc) reads, checks, places and links the modules before Linux starts;
 * the Linux side (dde_linux/ksrv/module.c) sets their parameters and runs
 * their init in a Linux task. Plain C types only: both worlds include it.
 */
#ifndef KSRV_HOST_H
#define KSRV_HOST_H

struct ksrv_module {
	const char *name;		/* the module's name (.modinfo) */
	void *this_module;		/* its struct module, relocated */
	void *params;			/* its __param table (struct kernel_param[]) */
	unsigned long params_size;	/* in bytes */
	void *bug_table;		/* __bug_table (struct bug_entry[]) */
	unsigned long bug_table_size;
	int argc;			/* PARAM=VALUE arguments for it */
	char **argv;
};

/* dependencies first; the last one is the module the user named */
extern struct ksrv_module ksrv_modules[];
extern unsigned ksrv_nmodules;

/* an lx_kit event (the host raises it on SIGTERM): each module's
 * exit, the last loaded first, then the driver stops with status 0 */
void ksrv_stop(void *arg);

#endif
