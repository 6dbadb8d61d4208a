/*
 * dde — the user-facing front end. Starts the machine and the I/O server,
 * lists devices, runs driver processes. Every subcommand takes the same
 * machine options (common/machine.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../../nbd/nbd.h"
#include "dde.h"
#include "hotplug.h"


static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde COMMAND [options]\n"
		"\n"
		"Run device drivers as ordinary processes on a QEMU machine (no guest OS).\n"
		"\n"
		"Commands:\n"
		"  lspci [-v] [-k] [machine options]\n"
		"                                  list the machine's PCI functions\n"
		"  drivers [SLOT|MODEL] [machine options]\n"
		"                                  which drivers claim the machine's devices\n"
		"  run [machine options] [--driver NAME@SLOT ...]\n"
		"                                  start the machine and the drivers\n"
		"  disks [--dump DISK]             list the block server's disks and partitions\n"
		"  sound                           list the sound server's PCMs\n"
		"  input [DEVICE|--all|--led DEVICE LED=0|1]\n"
		"                                  list the input server's devices, print their\n"
		"                                  events as evtest does, or set a LED\n"
		"  net                             list the network server's interfaces and\n"
		"                                  where their frames were lost\n"
		"  nbd --export NAME [--socket PATH | --port N]\n"
		"                                  export a disk or partition over NBD\n"
		"  sweep [machine options] [--write]\n"
		"                                  DSweeper's terminal UI over the machine's disks\n"
		"  ko info [-v] FILE.ko            describe a binary kernel module\n"
		"  efi info FILE.efi|FILE.rom      describe a UEFI driver image (or option ROM)\n"
		"  status                          the drivers of a running `dde run`: state,\n"
		"                                  restarts, last cause\n"
		"  faults PID [options]            inject faults into a running driver process\n"
		"  hotplug add|del ...             plug a device into a running dde run's\n"
		"                                  machine (--hotplug-ports), or unplug it\n"
		"  driver start|stop SLOT [NAME]   start or stop a device's driver\n"
		"  pm suspend|resume SLOT|--all    a driver's own power management\n"
		"  usb [list|add MODEL[:FILE]|del ID]\n"
		"                                  attach or detach a USB device of a running\n"
		"                                  dde run's machine (--usb)\n"
		"\n"
		"`dde COMMAND --help` describes a command's options.\n");
}

int dde_machine_option(struct machine_args *m, int opt, const char *name,
		       const char *value)
{
	char err[512];

	if (opt < MACHINE_OPT_FIRST || opt > MACHINE_OPT_LAST)
		return 0;
	if (machine_config_set(&m->cfg, name, value, err, sizeof(err))) {
		fprintf(stderr, "dde: %s\n", err);
		return -1;
	}
	if (m->argc + 2 > DDE_MAX_MARGS) {
		fprintf(stderr, "dde: too many machine options\n");
		return -1;
	}
	/* getopt_long's names are static strings; the value lives in argv */
	static char dashes[MACHINE_OPT_LAST - MACHINE_OPT_FIRST + 1][24];
	char *flag = dashes[opt - MACHINE_OPT_FIRST];

	snprintf(flag, sizeof(dashes[0]), "--%s", name);
	m->argv[m->argc++] = flag;
	m->argv[m->argc++] = (char *)value;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "lspci"))
		return dde_lspci(argc - 1, argv + 1);
	if (!strcmp(argv[1], "drivers"))
		return dde_drivers(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return dde_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "disks"))
		return dde_disks(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sound"))
		return dde_sound(argc - 1, argv + 1);
	if (!strcmp(argv[1], "input"))
		return dde_input(argc - 1, argv + 1);
	if (!strcmp(argv[1], "net"))
		return dde_net(argc - 1, argv + 1);
	if (!strcmp(argv[1], "nbd"))
		return nbd_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sweep"))
		return dde_sweep(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ko"))
		return dde_ko(argc - 1, argv + 1);
	if (!strcmp(argv[1], "efi"))
		return dde_efi(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return dde_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hotplug"))
		return dde_hotplug(argc - 1, argv + 1);
	if (!strcmp(argv[1], "driver"))
		return dde_driver(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pm"))
		return dde_pm(argc - 1, argv + 1);
	if (!strcmp(argv[1], "usb"))
		return dde_usb(argc - 1, argv + 1);
	if (!strcmp(argv[1], "faults"))
		return dde_faults(argc - 1, argv + 1);
	fprintf(stderr, "dde: unknown command '%s' (see dde --help)\n", argv[1]);
	return 2;
}
