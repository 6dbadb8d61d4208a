/*
 * A dde_linux driver process: connect to the I/O server with the devices
 * given by `dde run` (ddekit_init), then hand over to the Linux side.
 */
#include <stdio.h>
#include <stdlib.h>

#include <ddekit/ddekit.h>
#include <lx_kit/kit.h>

extern const char lx_stub_driver[];	/* the driver's name, from gen-stubs */
extern const int lx_recipe_posted_writes;	/* "option posted-writes" in its recipe */
/* the Linux side (dde_linux/lx_emul/start.c); argv[1..]: module parameters */
int lx_emul_start(int argc, char **argv);

const char *lx_kit_driver_name(void)
{
	return lx_stub_driver;
}

int main(int argc, char **argv)
{
	int r;

	if (argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "usage: %s [PARAM=VALUE...] (started by `dde run --driver "
			"%s[,PARAM=VALUE...]@SLOT`, or with DDE_IO and DDE_DEVICES set)\n",
			argv[0], lx_stub_driver);
		return 2;
	}
	r = ddekit_init(lx_stub_driver);
	if (r)
		return 1;
	/*
	 * Linux drivers are tested on machines where a device register write
	 * has taken effect when the instruction completes (and QEMU's models
	 * assume it): by default each write waits for the device. A recipe
	 * may declare that its driver flushes where order matters.
	 */
	ddekit_io_set_posted(lx_recipe_posted_writes);
	r = lx_emul_start(argc, argv);
	ddekit_exit();
	return r;
}
