/*
 * A dde_linux driver process: connect to the I/O server with the devices
 * given by `dde run` (ddekit_init), then hand over to the Linux side.
 */
#include <stdio.h>
#include <stdlib.h>

#include <ddekit/ddekit.h>
#include <lx_kit/kit.h>

extern const char lx_stub_driver[];	/* the driver's name, from gen-stubs */
int lx_emul_start(void);		/* the Linux side: dde_linux/lx_emul/start.c */

const char *lx_kit_driver_name(void)
{
	return lx_stub_driver;
}

int main(int argc, char **argv)
{
	int r;

	if (argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "usage: %s (started by `dde run --driver %s@SLOT`, or with "
			"DDE_IO and DDE_DEVICES set)\n", argv[0], lx_stub_driver);
		return 2;
	}
	r = ddekit_init(lx_stub_driver);
	if (r)
		return 1;
	r = lx_emul_start();
	ddekit_exit();
	return r;
}
