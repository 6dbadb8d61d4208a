/*
 * ddeio — the I/O server. Owns the platform (starts the machine), and
 * serves driver processes on an abstract Unix socket until it is told to
 * stop (SIGINT, SIGTERM, SIGHUP) or the machine dies.
 *
 *   ddeio [machine options] --socket NAME [--ready-fd N] [--control-fd N]
 *         [--open-claims] [--allow-user U]... [--allow-group G]...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "../common/logline.h"
#include "../common/machine.h"
#include "../platform/platform.h"
#include "log.h"
#include "server.h"

static int log_level = 2;

void ddeio_log(int level, const char *fmt, ...)
{
	static const char *const prefix[] = { "ddeio: error", "ddeio: warning", "ddeio", "ddeio" };
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_line(prefix[level & 3], fmt, ap);	/* one write: drivers log to the same file */
	va_end(ap);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ddeio [machine options] --socket NAME [--ready-fd N] [--quiet]\n"
		"             [--control-fd N [--open-claims]] [--allow-user U] [--allow-group G]\n"
		"\n"
		"The I/O server: starts the machine, assigns its PCI resources and grants\n"
		"each driver process exactly its own devices, on the abstract Unix socket\n"
		"@NAME (drivers find it in $DDE_IO). Normally started by `dde`.\n"
		"  --socket NAME     socket name (abstract namespace; nothing on disk)\n"
		"  --ready-fd N      write \"ready\\n\" to fd N once serving, then close it\n"
		"  --control-fd N    dde's control channel: devices are then granted only on\n"
		"                    the connections dde opens there for its drivers\n"
		"  --open-claims     with --control-fd: clients of the socket may claim\n"
		"                    devices too (drivers started by hand)\n"
		"  --allow-user U, --allow-group G  admit these users or groups to the\n"
		"                    socket besides ddeio's own user and root (repeatable)\n"
		"  --quiet           log only warnings and errors\n"
		"\n%s", machine_options_help);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		MACHINE_GETOPT_OPTIONS,
		{ "socket", required_argument, 0, 'k' },
		{ "ready-fd", required_argument, 0, 'r' },
		{ "quiet", no_argument, 0, 'q' },
		{ "control-fd", required_argument, 0, 'c' },
		{ "open-claims", no_argument, 0, 'o' },
		{ "allow-user", required_argument, 0, 'u' },
		{ "allow-group", required_argument, 0, 'g' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct machine_config cfg;
	struct server_options so = { .control_fd = -1 };
	const char *socket_name = NULL;
	int ready_fd = -1, opt, idx, rc;
	char err[512];
	struct platform *p;
	struct server *s;
	sigset_t sigs;
	volatile bool stop = false;
	int sfd;

	machine_config_init(&cfg);
	access_init(&so.access);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		switch (opt) {
		case 'k':
			socket_name = optarg;
			break;
		case 'r':
			ready_fd = atoi(optarg);
			break;
		case 'q':
			log_level = 1;
			break;
		case 'c':
			so.control_fd = atoi(optarg);
			break;
		case 'o':
			so.open_claims = true;
			break;
		case 'u':
		case 'g':
			if (access_allow(&so.access, opt == 'g', optarg, err, sizeof(err))) {
				fprintf(stderr, "ddeio: %s\n", err);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case '?':
			fprintf(stderr, "ddeio: unknown or incomplete option '%s' (see ddeio --help)\n",
				argv[optind - 1]);
			return 2;
		default:
			if (opt < MACHINE_OPT_FIRST || opt > MACHINE_OPT_LAST)
				return 2;
			if (machine_config_set(&cfg, opts[idx].name, optarg, err, sizeof(err))) {
				fprintf(stderr, "ddeio: %s\n", err);
				return 2;
			}
		}
	}
	if (!socket_name || optind != argc) {
		fprintf(stderr, "ddeio: %s (see ddeio --help)\n",
			socket_name ? "unexpected argument" : "--socket NAME is required");
		return 2;
	}
	if (machine_config_check(&cfg, err, sizeof(err))) {
		fprintf(stderr, "ddeio: %s\n", err);
		return 2;
	}
	/* Signals arrive as readable data on sfd, handled in the event loop. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	p = platform_start(&cfg, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "ddeio: %s\n", err);
		return 1;
	}
	/* run by hand (no dde, no control channel): any admitted client may claim */
	if (so.control_fd < 0)
		so.open_claims = true;
	s = server_create(p, socket_name, &so);
	if (!s) {
		platform_stop(p);
		return 1;
	}
	if (cfg.nvfio)
		log_info("machine: this host's %u device(s) through VFIO, serving on @%s",
			 platform_device_count(p), socket_name);
	else
		log_info("machine %s up (QEMU pid %d), %u PCI functions, serving on @%s",
			 machine_type_name(cfg.type), (int)platform_pid(p),
			 platform_device_count(p), socket_name);
	if (ready_fd >= 0) {
		if (write(ready_fd, "ready\n", 6) != 6)
			log_warn("ready fd %d: %s", ready_fd, strerror(errno));
		close(ready_fd);
	}
	rc = server_run(s, &stop, sfd);
	server_destroy(s);
	platform_stop(p);
	log_info("stopped");
	return rc ? 1 : 0;
}
