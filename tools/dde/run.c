/*
 * dde run: start the machine and the I/O server in the foreground, start
 * each --driver as its own process with its devices, log, and stop
 * everything on Ctrl-C or when the last driver has exited.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../common/slot.h"
#include "../../ddekit/client.h"
#include "dde.h"
#include "session.h"

#define MAX_DRIVERS 16
#define MAX_DRIVER_ARGS 16

struct driver {
	char spec[256];		/* as given: NAME[,ARG...]@SLOT[,SLOT...] */
	char name[64];
	char path[PATH_MAX];
	char slots[128];	/* "00:02.0,00:03.0" */
	char *args[MAX_DRIVER_ARGS];
	int nargs;
	char argbuf[256];
	pid_t pid;
	int status;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde run [machine options] [--driver NAME[,ARG...]@SLOT[,SLOT...] ...]\n"
		"\n"
		"Start the machine and its I/O server, then each driver as a process of its\n"
		"own holding exactly the devices at SLOT (as `dde lspci` shows them). Runs\n"
		"until Ctrl-C, or until the last driver exits. With no --driver, the machine\n"
		"waits for drivers started by hand (it prints how).\n"
		"  --driver NAME@SLOT         run driver NAME (a program in build/drivers/,\n"
		"                             or in $DDE_DRIVER_PATH) for the device at SLOT;\n"
		"                             ARGs after a comma are passed to the driver\n"
		"\n"
		"Drivers available: selftest (register read, interrupt and DMA self-test of\n"
		"e1000, NVMe and AHCI devices).\n"
		"\n%s", machine_options_help);
}

static int find_driver(struct driver *d)
{
	const char *env = getenv("DDE_DRIVER_PATH");
	char dirs[PATH_MAX * 2], *save = NULL;

	if (env && *env) {
		snprintf(dirs, sizeof(dirs), "%s", env);
		for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			char name[sizeof(d->name)];

			memcpy(name, d->name, sizeof(name));
			snprintf(d->path, sizeof(d->path), "%s/%s", dir, name);
			if (access(d->path, X_OK) == 0)
				return 0;
		}
	}
	char rel[128];

	snprintf(rel, sizeof(rel), "../drivers/%s", d->name);
	session_sibling(rel, d->path, sizeof(d->path));
	return access(d->path, X_OK);
}

static int parse_driver(struct driver *d, const char *spec)
{
	const char *at = strrchr(spec, '@');
	char *save = NULL, *tok;
	size_t head;

	if (strlen(spec) >= sizeof(d->spec) || !at || at == spec || !at[1]) {
		fprintf(stderr, "dde run: --driver '%s': expected NAME@SLOT (e.g. selftest@00:02.0)\n",
			spec);
		return -1;
	}
	snprintf(d->spec, sizeof(d->spec), "%s", spec);
	head = (size_t)(at - spec);
	snprintf(d->argbuf, sizeof(d->argbuf), "%.*s", (int)head, spec);
	tok = strtok_r(d->argbuf, ",", &save);
	snprintf(d->name, sizeof(d->name), "%s", tok);
	if (strchr(d->name, '/') || d->name[0] == '.') {
		fprintf(stderr, "dde run: --driver '%s': a driver name, not a path\n", spec);
		return -1;
	}
	while ((tok = strtok_r(NULL, ",", &save)) && d->nargs < MAX_DRIVER_ARGS - 2)
		d->args[1 + d->nargs++] = tok;
	/* check and normalise the slots */
	char slots[128];

	snprintf(slots, sizeof(slots), "%s", at + 1);
	d->slots[0] = 0;
	save = NULL;
	for (tok = strtok_r(slots, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint32_t bdf;
		char text[16];

		if (slot_parse(tok, &bdf)) {
			fprintf(stderr, "dde run: --driver '%s': bad slot '%s' (want BB:SS.F, e.g. 00:02.0)\n",
				spec, tok);
			return -1;
		}
		slot_format(bdf, text);
		snprintf(d->slots + strlen(d->slots), sizeof(d->slots) - strlen(d->slots), "%s%s",
			 d->slots[0] ? "," : "", text);
	}
	if (find_driver(d)) {
		fprintf(stderr, "dde run: --driver '%s': no driver '%s' (looked for %s)\n",
			spec, d->name, d->path);
		return -1;
	}
	d->args[0] = d->path;
	d->args[1 + d->nargs] = NULL;
	return 0;
}

/* Every slot the drivers name must exist on the machine. */
static int check_slots(struct session *s, struct driver *drv, int ndrv)
{
	struct ddeio_device devs[64];
	unsigned n = 0;
	uint64_t total = 1;

	if (ddeio_connect(s->socket, "dde-run", NULL, 0)) {
		fprintf(stderr, "dde run: %s\n", ddekit_last_error());
		return -1;
	}
	while (n < total && n < 64) {
		struct ddeio_msg m = { .op = DDEIO_OP_LIST, .addr = n };
		size_t len = sizeof(devs) - n * sizeof(devs[0]);

		if (len > DDEIO_MAX_PAYLOAD)
			len = DDEIO_MAX_PAYLOAD;
		if (ddeio_call(&m, NULL, 0, &devs[n], &len) || len < sizeof(devs[0]))
			break;
		total = m.value;
		n += (unsigned)(len / sizeof(devs[0]));
	}
	ddeio_disconnect();
	for (int i = 0; i < ndrv; i++) {
		char slots[128], *save = NULL;

		snprintf(slots, sizeof(slots), "%s", drv[i].slots);
		for (char *tok = strtok_r(slots, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			uint32_t bdf;
			unsigned k;

			slot_parse(tok, &bdf);
			for (k = 0; k < n && devs[k].bdf != bdf; k++)
				;
			if (k == n) {
				fprintf(stderr, "dde run: --driver '%s': the machine has no device at %s "
					"(see dde lspci with the same machine options)\n",
					drv[i].spec, tok);
				return -1;
			}
		}
	}
	return 0;
}

static pid_t start_driver(struct driver *d, const char *socket)
{
	pid_t parent = getpid(), pid = fork();
	char io[80];
	sigset_t none;

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	snprintf(io, sizeof(io), "@%s", socket);
	setenv("DDE_IO", io, 1);
	setenv("DDE_DEVICES", d->slots, 1);
	char instance[256];

	snprintf(instance, sizeof(instance), "%s@%s", d->name, d->slots);
	setenv("DDE_DRIVER", instance, 1);
	execv(d->path, d->args);
	fprintf(stderr, "dde run: cannot start %s: %s\n", d->path, strerror(errno));
	_exit(127);
}

static void describe_exit(const struct driver *d)
{
	if (WIFEXITED(d->status))
		fprintf(stderr, "dde: driver %s@%s exited with status %d\n", d->name, d->slots,
			WEXITSTATUS(d->status));
	else if (WIFSIGNALED(d->status))
		fprintf(stderr, "dde: driver %s@%s was killed by signal %d (%s); its devices are free again\n",
			d->name, d->slots, WTERMSIG(d->status), strsignal(WTERMSIG(d->status)));
}

static void stop_drivers(struct driver *drv, int ndrv)
{
	for (int i = 0; i < ndrv; i++)
		if (drv[i].pid > 0)
			kill(drv[i].pid, SIGTERM);
	for (int t = 0; t < 200; t++) {
		int left = 0;

		for (int i = 0; i < ndrv; i++) {
			if (drv[i].pid > 0 && waitpid(drv[i].pid, &drv[i].status, WNOHANG) == drv[i].pid)
				drv[i].pid = 0;
			left += drv[i].pid > 0;
		}
		if (!left)
			return;
		usleep(10000);
	}
	for (int i = 0; i < ndrv; i++) {
		if (drv[i].pid > 0) {
			kill(drv[i].pid, SIGKILL);
			waitpid(drv[i].pid, &drv[i].status, 0);
			drv[i].pid = 0;
		}
	}
}

int dde_run(int argc, char **argv)
{
	static const struct option opts[] = {
		MACHINE_GETOPT_OPTIONS,
		{ "driver", required_argument, 0, 'd' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	static struct driver drv[MAX_DRIVERS];
	struct machine_args m = { .argc = 0 };
	struct session s = { 0 };
	int opt, idx = 0, ndrv = 0, rc, running, failed = 0, sfd;
	char err[512];
	sigset_t sigs;

	machine_config_init(&m.cfg);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		} else if (opt == 'd') {
			if (ndrv == MAX_DRIVERS) {
				fprintf(stderr, "dde run: at most %d drivers\n", MAX_DRIVERS);
				return 2;
			}
			if (parse_driver(&drv[ndrv++], optarg))
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
	/* Ctrl-C and friends are read from sfd, so that we stop in order. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	rc = session_start(&s, m.argv, m.argc, false);
	if (rc)
		return rc;
	if (check_slots(&s, drv, ndrv)) {
		session_stop(&s);
		return 2;
	}
	for (int i = 0; i < ndrv; i++) {
		drv[i].pid = start_driver(&drv[i], s.socket);
		fprintf(stderr, "dde: started driver %s@%s (pid %d)\n", drv[i].name, drv[i].slots,
			(int)drv[i].pid);
	}
	if (!ndrv)
		fprintf(stderr, "dde: no --driver given; start drivers by hand, e.g.\n"
			"  DDE_IO=@%s DDE_DEVICES=00:02.0 build/drivers/selftest\n"
			"dde: Ctrl-C stops the machine\n", s.socket);
	running = ndrv;
	while (running || !ndrv) {
		struct signalfd_siginfo si;
		pid_t pid;
		int status;

		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			fprintf(stderr, "dde: %s: stopping drivers and the machine\n",
				strsignal((int)si.ssi_signo));
			failed = 1;
			break;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == s.ddeio) {
				fprintf(stderr, "dde: the I/O server exited; stopping\n");
				s.ddeio = 0;
				failed = 1;
				goto out;
			}
			for (int i = 0; i < ndrv; i++) {
				if (drv[i].pid == pid) {
					drv[i].pid = 0;
					drv[i].status = status;
					describe_exit(&drv[i]);
					failed |= !WIFEXITED(status) || WEXITSTATUS(status);
					running--;
				}
			}
		}
	}
out:
	stop_drivers(drv, ndrv);
	session_stop(&s);
	fprintf(stderr, "dde: machine stopped\n");
	return failed ? 1 : 0;
}
