/*
 * init/version.c: the system's name and release, as uname(2) gives them
 * (a USB root hub's manufacturer string is "Linux RELEASE xhci-hcd").
 */
#include <generated/utsrelease.h>
#include <linux/utsname.h>

#include "lx_emul.h"

struct uts_namespace init_uts_ns = {
	.ns.count = REFCOUNT_INIT(2),
	.name = {
		.sysname = "Linux",
		.nodename = "dde",
		.release = UTS_RELEASE,
		.version = "dde_linux",
		.machine = "x86_64",
		.domainname = "(none)",
	},
};
