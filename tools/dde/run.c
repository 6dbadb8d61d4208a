/*
 * dde run: start the machine and the I/O server in the foreground, start
 * each --driver (and a driver for every other device, from the driver
 * index) as its own process with its devices, log, and stop everything on
 * Ctrl-C or when the last driver has exited.
 *
 * Each driver gets its connections to ddeio and to its class server as
 * descriptors dde opened for it on the servers' control channels (the
 * only connections on which it may claim its devices or serve its disks
 * or interface), and runs in a sandbox (sandbox.c) unless --no-sandbox.
 * The classes and their servers are classes.c; the drivers, launch.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../ddekit/client.h"
#include "dde.h"
#include "hotplug.h"
#include "run.h"

struct run_options run_opts = { .engine = "native", .stubs = "refuse", .restarts = 5,
				 .window_ms = 60000, .hang_ms = 5000 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde run [machine options] [--driver NAME[,ARG...]@SLOT[,SLOT...] ...]\n"
		"\n"
		"Start the machine and its I/O server, then each driver as a process of its\n"
		"own holding exactly the devices at SLOT (as `dde lspci` shows them). Runs\n"
		"until Ctrl-C, or until the last driver exits. Every device no --driver\n"
		"names gets the driver the driver index chooses (`dde drivers` shows it):\n"
		"the one built from source if any, else Debian's binary module.\n"
		"  --prefer ko                binary modules before source drivers\n"
		"  --manual                   start only the --driver ones (none: the machine\n"
		"                             waits for drivers started by hand; it prints how)\n"
		"  --driver NAME@SLOT         run driver NAME (a program in build/drivers/,\n"
		"                             or in $DDE_DRIVER_PATH) for the device at SLOT;\n"
		"                             ARGs after a comma are passed to the driver;\n"
		"                             for a Linux driver, module parameters P=V\n"
		"                             (e.g. --driver 8139cp,debug=16@00:01.0)\n"
		"  --driver ko:MODULE[,P=V...]@SLOT  run Debian's binary MODULE.ko (and the\n"
		"                             modules it depends on) in a driver host\n"
		"  --engine native|dbt        how binary modules run: natively in user mode\n"
		"                             (port I/O and MMIO trapped and emulated), or\n"
		"                             translated by a CPU emulator (unicorn)\n"
		"A driver that dies of a signal (a crash, kill -9, a BUG) or hangs is\n"
		"restarted on its devices; its disks and interface stay, and the block\n"
		"server sends what was in flight again (`dde status` shows restarts):\n"
		"  --restarts N               give a driver up after N+1 failures within\n"
		"                             the window (default 5; 0: never restart)\n"
		"  --restart-window MS        the window (default 60000)\n"
		"  --hang-timeout MS          a driver that holds a request (bddf), takes\n"
		"                             no frame queued to it or misses its heartbeat\n"
		"                             (netd), or hangs in its start, for MS hangs:\n"
		"                             it is killed and restarted (default 5000; 0: off)\n"
		"  --allow-stubs              bind a binary module's imports that nobody\n"
		"                             provides to stubs that stop the driver, naming\n"
		"                             the import, when used (default: refuse it)\n"
		"Network drivers attach their interface (net0, net1, ... in --driver order)\n"
		"to the network server, netd; clients open it with libddenet (DDE_NET):\n"
		"  --net-socket PATH          netd's socket (default @dde-net-PID)\n"
		"  --tap [IF=]NAME            export IF (default net0) as TAP device NAME\n"
		"  --pcap [IF=]FILE           capture IF's frames, both ways, into FILE\n"
		"Disk drivers attach their disks to the block server, bddf, which names disks and partitions (sda1,\n"
		"nvme0n1p2) across drivers; clients open them with libddeblk (DDE_BLK),\n"
		"`dde disks` lists them:\n"
		"  --blk-socket PATH          bddf's socket (default @dde-blk-PID)\n"
		"  --input-socket PATH        inputd's socket, for USB keyboards, mice and\n"
		"                             tablets (default @dde-inp-PID; clients: DDE_INPUT,\n"
		"                             `dde input`)\n"
		"  --uinput                   inputd makes each input device a device of this\n"
		"                             host too (/dev/uinput: docs/input.md)\n"
		"  --depth N                  requests in flight per disk driver (default 32)\n"
		"  --blk-fault drop-write=DISK:SECTOR  fault injection: writes covering\n"
		"                             SECTOR of DISK are acknowledged, not done\n"
		"  --blk-fault kill-at=DISK:SECTOR  a read covering SECTOR of DISK gets its\n"
		"                             driver killed (reported hung) each time\n"
		"Every driver runs in a sandbox: a user of its own, no file system but its\n"
		"program and libraries, no network, a system-call filter; it holds only the\n"
		"connections dde opened for it. The servers admit only this user and root:\n"
		"  --allow-user U, --allow-group G   admit user U / group G as well (clients\n"
		"                             of bddf, netd and ddeio; repeatable)\n"
		"  --no-sandbox               DEBUGGING ONLY: drivers run unconfined as this\n"
		"                             user, and drivers started by hand (gdb, valgrind)\n"
		"                             may claim devices and attach to the servers\n"
		"\n"
		"Drivers available: selftest (register read, interrupt and DMA self-test of\n"
		"e1000, NVMe and AHCI devices)");
	list_linux_drivers(out);
	fprintf(out, "\n%s", machine_options_help);
}

/* --tap/--pcap [IF=]VALUE -> netd's IF=VALUE */
static int netd_export(const char *opt, const char *arg)
{
	char buf[256];
	const char *eq = strchr(arg, '=');

	if (!*arg || (eq && (eq == arg || !eq[1])) || strlen(arg) > 200) {
		fprintf(stderr, "dde run: --%s '%s': expected [IF=]VALUE\n", opt, arg);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s%s", eq ? "" : "net0=", arg);
	return class_server_arg(class_find("net"), opt[0] == 't' ? "--tap" : "--pcap", strdup(buf));
}

int list_machine_devices(struct session *s, struct ddeio_device *devs, unsigned max)
{
	unsigned n = 0;
	uint64_t total = 1;

	if (ddeio_connect(s->socket, "dde-run", NULL, 0)) {
		fprintf(stderr, "dde run: %s\n", ddekit_last_error());
		return -1;
	}
	while (n < total && n < max) {
		struct ddeio_msg m = { .op = DDEIO_OP_LIST, .addr = n };
		size_t len = (max - n) * sizeof(devs[0]);

		if (len > DDEIO_MAX_PAYLOAD)
			len = DDEIO_MAX_PAYLOAD;
		if (ddeio_call(&m, NULL, 0, &devs[n], &len) || len < sizeof(devs[0]))
			break;
		total = m.value;
		n += (unsigned)(len / sizeof(devs[0]));
	}
	ddeio_disconnect();
	return (int)n;
}

static char mondir[64], monpath[96];

/* dde run's monitor socket (QEMU made it) and its directory */
static void remove_mondir(void)
{
	unlink(monpath);
	rmdir(mondir);
}

int dde_run(int argc, char **argv)
{
	static const struct option opts[] = {
		MACHINE_GETOPT_OPTIONS,
		{ "driver", required_argument, 0, 'd' },
		{ "engine", required_argument, 0, 'E' },
		{ "allow-stubs", no_argument, 0, 'S' },
		{ "net-socket", required_argument, 0, 'N' },
		{ "blk-socket", required_argument, 0, 'B' },
		{ "input-socket", required_argument, 0, 'I' },
		{ "uinput", no_argument, 0, 'U' },
		{ "depth", required_argument, 0, 'Q' },
		{ "blk-fault", required_argument, 0, 'F' },
		{ "tap", required_argument, 0, 'T' },
		{ "pcap", required_argument, 0, 'P' },
		{ "allow-user", required_argument, 0, 'U' },
		{ "allow-group", required_argument, 0, 'G' },
		{ "no-sandbox", no_argument, 0, 'X' },
		{ "manual", no_argument, 0, 'M' },
		{ "prefer", required_argument, 0, 'R' },
		{ "restarts", required_argument, 0, 'r' },
		{ "restart-window", required_argument, 0, 'W' },
		{ "hang-timeout", required_argument, 0, 'K' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	static struct driver drv[MAX_DRIVERS];
	struct dde_class *net = class_find("net"), *blk = class_find("block");
	struct dde_class *inp = class_find("input");
	struct machine_args m = { .argc = 0 };
	struct session s = { 0 };
	int opt, idx = 0, ndrv = 0, rc, failed = 0, sfd;
	char err[512];
	sigset_t sigs;

	machine_config_init(&m.cfg);
	access_init(&run_opts.access);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		} else if (opt == 'U' || opt == 'G') {
			if (access_allow(&run_opts.access, opt == 'G', optarg, err, sizeof(err))) {
				fprintf(stderr, "dde run: %s\n", err);
				return 2;
			}
		} else if (opt == 'X') {
			run_opts.no_sandbox = true;
		} else if (opt == 'M') {
			run_opts.manual = true;
		} else if (opt == 'R') {
			if (strcmp(optarg, "ko") && strcmp(optarg, "source")) {
				fprintf(stderr, "dde run: --prefer ko or --prefer source\n");
				return 2;
			}
			run_opts.prefer_ko = !strcmp(optarg, "ko");
		} else if (opt == 'r' || opt == 'W' || opt == 'K') {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || !*optarg || v < (opt == 'W') || v > (opt == 'r' ? 15 : 3600000)) {
				fprintf(stderr, "dde run: --%s '%s': %s\n", opts[idx].name, optarg,
					opt == 'r' ? "failures before giving up, 0 (never restart) to 15" :
					opt == 'W' ? "milliseconds, 1 to 3600000" :
					"milliseconds, 0 (never) to 3600000");
				return 2;
			}
			if (opt == 'r')
				run_opts.restarts = (int)v;
			else if (opt == 'W')
				run_opts.window_ms = (unsigned)v;
			else
				run_opts.hang_ms = (unsigned)v;
		} else if (opt == 'd') {
			if (ndrv == MAX_DRIVERS) {
				fprintf(stderr, "dde run: at most %d drivers\n", MAX_DRIVERS);
				return 2;
			}
			if (parse_driver(&drv[ndrv++], optarg))
				return 2;
		} else if (opt == 'E') {
			if (strcmp(optarg, "native") && strcmp(optarg, "dbt")) {
				fprintf(stderr, "dde run: --engine '%s': binary modules run natively "
					"(native) or translated by a CPU emulator (dbt)\n", optarg);
				return 2;
			}
			snprintf(run_opts.engine, sizeof(run_opts.engine), "%s", optarg);
		} else if (opt == 'S') {
			snprintf(run_opts.stubs, sizeof(run_opts.stubs), "allow");
		} else if (opt == 'U') {
			if (class_server_arg(inp, "--uinput", NULL))
				return 2;
		} else if (opt == 'N' || opt == 'B' || opt == 'I') {
			if (class_set_socket(opt == 'N' ? net : opt == 'B' ? blk : inp, opts[idx].name,
					     optarg))
				return 2;
		} else if (opt == 'Q') {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 1024) {
				fprintf(stderr, "dde run: --depth '%s': requests in flight per disk "
					"driver, 1 to 1024\n", optarg);
				return 2;
			}
			if (class_server_arg(blk, "--depth", optarg))
				return 2;
		} else if (opt == 'F') {
			if (class_server_arg(blk, "--fault", optarg))
				return 2;
		} else if (opt == 'T' || opt == 'P') {
			if (netd_export(opt == 'T' ? "tap" : "pcap", optarg))
				return 2;
		} else if (opt == '?') {
			fprintf(stderr, "dde run: unknown or incomplete option '%s' (see dde run --help)\n",
				argv[optind - 1]);
			return 2;
		} else if (dde_machine_option(&m, opt, opts[idx].name, optarg) < 0) {
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde run: unexpected argument '%s' (see dde run --help)\n", argv[optind]);
		return 2;
	}
	if (machine_config_check(&m.cfg, err, sizeof(err))) {
		fprintf(stderr, "dde: %s\n", err);
		return 2;
	}
	/* hot-plug ports or USB: dde run's own monitor of QEMU, in a directory of its own */
	if (m.cfg.hotplug_ports || m.cfg.nusb) {
		snprintf(mondir, sizeof(mondir), "/tmp/dde-run-%d-XXXXXX", (int)getpid());
		if (!mkdtemp(mondir)) {
			fprintf(stderr, "dde run: a directory for QEMU's monitor: %s\n", strerror(errno));
			return 1;
		}
		snprintf(monpath, sizeof(monpath), "%s/monitor", mondir);
		if (dde_machine_option(&m, MACHINE_OPT_FIRST + 14, "control-monitor", monpath) < 0) {
			rmdir(mondir);
			return 2;
		}
	}
	hotplug_init(&m.cfg, monpath);
	if (mondir[0])
		atexit(remove_mondir);
	/* Ctrl-C and friends are read from sfd, so that we stop in order. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (run_opts.no_sandbox)
		fprintf(stderr, "dde: --no-sandbox: drivers run UNCONFINED as uid %u, and any "
			"process of this user may claim the machine's devices (debugging only)\n",
			(unsigned)getuid());
	else if (geteuid() != 0) {
		fprintf(stderr, "dde run: the drivers' sandbox needs root (users, namespaces); "
			"run as root, or with --no-sandbox to debug\n");
		return 2;
	}
	{
		char *extra[2 * ACCESS_MAX + 2];
		int n = access_argv(&run_opts.access, extra, 2 * ACCESS_MAX);

		if (run_opts.no_sandbox)
			extra[n++] = "--open-claims";
		extra[n] = NULL;
		rc = session_start(&s, m.argv, m.argc, false, extra);
	}
	if (rc)
		return rc;
	fprintf(stderr, "dde: I/O server on @%s (clients: DDE_IO=@%s; dde lspci -k --io @%s)\n",
		s.socket, s.socket, s.socket);
	struct ddeio_device devs[64];
	int ndevs = list_machine_devices(&s, devs, 64);

	if (ndevs < 0 || check_slots(devs, ndevs, drv, ndrv) ||
	    (!run_opts.manual && auto_drivers(devs, ndevs, &m.cfg, drv, &ndrv))) {
		session_stop(&s);
		return 2;
	}
	for (int i = 0; i < ndrv; i++)
		class_add_driver(&drv[i]);
	if (run_opts.hang_ms && run_opts.restarts) {
		static char hang[16];

		snprintf(hang, sizeof(hang), "%u", run_opts.hang_ms);
		/* only to servers with drivers: an option alone would start netd */
		if ((blk->ndrivers && class_server_arg(blk, "--hang-ms", hang)) ||
		    (net->ndrivers && class_server_arg(net, "--hang-ms", hang))) {
			session_stop(&s);
			return 2;
		}
	}
	if (classes_start()) {
		session_stop(&s);
		return 1;
	}
	for (int i = 0; i < ndrv; i++) {
		if (launch_driver(&s, &drv[i], i)) {
			stop_drivers(drv, i);
			classes_stop();
			session_stop(&s);
			return 1;
		}
	}
	if (!ndrv && run_opts.no_sandbox)
		fprintf(stderr, "dde: no driver started; start drivers by hand, e.g.\n"
			"  DDE_IO=@%s DDE_DEVICES=00:02.0 build/drivers/selftest\n"
			"dde: Ctrl-C stops the machine\n", s.socket);
	else if (!ndrv)
		fprintf(stderr, "dde: no driver started (to start drivers by hand, under gdb or "
			"valgrind, run dde run --manual --no-sandbox)\n"
			"dde: Ctrl-C stops the machine\n");
	failed = supervise(&s, drv, &ndrv, sfd);
	stop_drivers(drv, ndrv);
	classes_stop();
	session_stop(&s);

	fprintf(stderr, "dde: machine stopped\n");
	return failed ? 1 : 0;
}
