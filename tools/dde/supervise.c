/*
 * dde run's supervisor: drivers come back.
 *
 * A driver that dies of a signal (a crash, kill -9, a BUG or a stub hit,
 * which abort; or a binary driver host's fault handler, which exits with
 * 128 + the signal) or that its class server reports hung (requests or
 * frames it takes nothing of; dde then kills it) is started again on the
 * same devices, with new connections and the same sandbox. Its class
 * server keeps its disks or interface meanwhile and replays what was
 * outstanding. The first restart after a quiet spell is at once; each
 * further failure within the window (--restart-window) doubles the wait
 * from 100 ms (at most 5 s); more than --restarts failures within the
 * window and dde gives up on the driver, says so in one line, and tells
 * its class server, whose clients then get clean errors. A driver that
 * exits by itself (a status) is not restarted: it meant to.
 *
 * `dde status` asks over a socket (@dde-run-PID, printed at start as
 * DDE_RUN) for each driver's state, restarts and last cause.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/seqpacket.h"
#include "dde.h"
#include "hotplug.h"
#include "run.h"
#include "../../common/clock.h"

#define STATUS_MAX STATUS_TEXT_MAX
#define SCAN_MS 500	/* the hot-plug slots are looked at this often */

/* Why a driver's process ended, in words; whether that was a failure to restart from. */
static bool crashed(const struct driver *d, char *why, size_t cap)
{
	int st = d->status;

	if (d->hang[0]) {
		snprintf(why, cap, "%s", d->hang);
		return true;
	}
	if (WIFSIGNALED(st)) {
		snprintf(why, cap, "killed by signal %d (%s)%s", WTERMSIG(st), strsignal(WTERMSIG(st)),
			 WTERMSIG(st) == SIGSYS ? ": a system call its sandbox does not allow" :
			 WTERMSIG(st) == SIGABRT ? ": it stopped itself (a BUG, a panic or a stub)" : "");
		return true;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) > 128 && WEXITSTATUS(st) < 128 + 65) {
		/* a binary driver host reports its fault, then exits so */
		snprintf(why, cap, "stopped by a fault (signal %d, %s)", WEXITSTATUS(st) - 128,
			 strsignal(WEXITSTATUS(st) - 128));
		return true;
	}
	snprintf(why, cap, "exited with status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return false;
}

/* Failures of @d within the window, this one counted. */
static unsigned failures_in_window(struct driver *d, long long now)
{
	unsigned n = 0, cap = sizeof(d->fail_ms) / sizeof(d->fail_ms[0]);

	d->fail_ms[d->nfail++ % cap] = now;
	for (unsigned i = 0; i < cap && i < d->nfail; i++)
		n += now - d->fail_ms[i] <= (long long)run_opts.window_ms;
	return n;
}

/* @d failed (@why): a restart when it is due, or giving up. */
static void failed(struct driver *d, const char *why)
{
	long long now = mono_ms();
	unsigned n = failures_in_window(d, now);

	snprintf(d->cause, sizeof(d->cause), "%s", why);
	d->cause_ms = now;
	d->hang[0] = 0;
	if ((int)n > run_opts.restarts) {
		d->state = DRV_GIVEN_UP;
		if (run_opts.restarts)
			fprintf(stderr, "dde: driver %s@%s failed %u times within %u s (last: %s): "
				"given up; %s\n", d->name, d->slots, n, run_opts.window_ms / 1000, why,
				d->cls ? "its class server is told" : "its devices are free");
		else
			fprintf(stderr, "dde: driver %s@%s was %s; its devices are free again "
				"(--restarts 0: not restarted)\n", d->name, d->slots, why);
		class_give_up(d);
		return;
	}
	unsigned wait = n <= 1 ? 0 : 100u << (n - 2 < 6 ? n - 2 : 6);

	if (wait > 5000)
		wait = 5000;
	d->state = DRV_WAITING;
	d->restart_at = now + wait;
	fprintf(stderr, "dde: driver %s@%s was %s: restarting it%s", d->name, d->slots, why,
		wait ? "" : "\n");
	if (wait)
		fprintf(stderr, " in %u ms (failure %u within %u s)\n", wait, n,
			run_opts.window_ms / 1000);
}

/* A driver's process ended (waitpid's @status). */
static void ended(struct driver *d, int status, bool *failure)
{
	char why[200];

	d->pid = 0;
	d->status = status;
	if (!crashed(d, why, sizeof(why))) {
		describe_exit(d);
		d->state = DRV_EXITED;
		*failure |= !WIFEXITED(status) || WEXITSTATUS(status);
		return;
	}
	failed(d, why);
	*failure |= d->state == DRV_GIVEN_UP;
}

static const char *state_name(const struct driver *d)
{
	switch (d->state) {
	case DRV_RUNNING:
		return "running";
	case DRV_WAITING:
		return "restarting";
	case DRV_EXITED:
		return "exited";
	case DRV_STOPPED:
		return "stopped";
	case DRV_REMOVED:
		return "removed";
	default:
		return "given up";
	}
}

/*
 * A request on the status socket: "status" (`dde status`: one line per
 * driver), or one of `dde hotplug` and `dde driver` (hotplug.c).
 */
static void answer(int listen, struct session *s, struct driver *drv, int *ndrv)
{
	int fd = accept4(listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char *out, why[160], req[1100];
	struct pollfd p = { fd, POLLIN, 0 };
	size_t len = 0;
	long long now = mono_ms();
	long n;

	if (fd < 0)
		return;
	if (access_check(&run_opts.access, fd, why, sizeof(why))) {
		fprintf(stderr, "dde: refused a request: %s\n", why);
		close(fd);
		return;
	}
	if (poll(&p, 1, 2000) != 1 || (n = recv(fd, req, sizeof(req) - 1, 0)) <= 0) {
		close(fd);
		return;
	}
	req[n] = 0;
	if (strcmp(req, "status")) {
		hotplug_request(fd, req, s, drv, ndrv);
		close(fd);
		return;
	}
	out = malloc(STATUS_MAX);
	if (!out) {
		close(fd);
		return;
	}
	len += (size_t)snprintf(out, STATUS_MAX, "%-36s %-10s %7s %8s  %s\n", "DRIVER", "STATE",
				"PID", "RESTARTS", "LAST FAILURE");
	for (int i = 0; i < *ndrv && len < STATUS_MAX - 400; i++) {
		const struct driver *d = &drv[i];
		char ago[32] = "";

		if (d->state == DRV_REMOVED)
			continue;
		if (d->cause[0])
			snprintf(ago, sizeof(ago), " (%.1f s ago)", (double)(now - d->cause_ms) / 1000);
		len += (size_t)snprintf(out + len, STATUS_MAX - len, "%-36s %-10s %7d %8u  %s%s\n",
					d->instance, state_name(d), (int)d->pid, d->restarts,
					d->cause[0] ? d->cause : "-", ago);
	}
	seqpacket_send(fd, out, len, NULL, 0);
	free(out);
	close(fd);
}

/* Reap what ended; -1 if the I/O server or a class server did (dde stops). */
static int reap(struct session *s, struct driver *drv, int ndrv, bool *failure)
{
	struct dde_class *gone;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == s->ddeio) {
			fprintf(stderr, "dde: the I/O server exited; stopping\n");
			s->ddeio = 0;
			return -1;
		}
		if ((gone = class_of_server(pid))) {
			fprintf(stderr, "dde: the %s server exited; stopping\n", gone->what);
			gone->pid = 0;
			return -1;
		}
		for (int i = 0; i < ndrv; i++)
			if (drv[i].pid == pid)
				ended(&drv[i], status, failure);
	}
	return 0;
}

int supervise(struct session *s, struct driver *drv, int *ndrvp, int sfd)
{
	char path[64];
	bool failure = false;
	int listen;
	long long next_scan = mono_ms() + SCAN_MS;

	snprintf(path, sizeof(path), "@dde-run-%d", (int)getpid());
	listen = seqpacket_listen(path, 1);
	if (listen >= 0)
		fprintf(stderr, "dde: status: DDE_RUN=%s dde status\n", path);
	for (;;) {
		struct pollfd p[2 + 8];
		struct dde_class *cls[8];
		int ctl[8], nctl = class_control_fds(ctl, cls, 8), live = 0, timeout = -1;
		long long now = mono_ms();

		int ndrv = *ndrvp;
		bool held = hotplug_ports();	/* dde run stays for what may come */

		for (int i = 0; i < ndrv; i++) {
			live += drv[i].state == DRV_RUNNING || drv[i].state == DRV_WAITING;
			held |= drv[i].state == DRV_STOPPED;	/* it may be started again */
			if (drv[i].state == DRV_WAITING) {
				long long t = drv[i].restart_at - now;

				t = t < 0 ? 0 : t;
				if (timeout < 0 || t < timeout)
					timeout = (int)t;
			}
		}
		if (!live && ndrv && !held)
			break;
		if (hotplug_ports()) {
			long long t = next_scan - now;

			t = t < 0 ? 0 : t;
			if (timeout < 0 || t < timeout)
				timeout = (int)t;
		}
		p[0] = (struct pollfd){ sfd, POLLIN, 0 };
		p[1] = (struct pollfd){ listen, POLLIN, 0 };
		for (int i = 0; i < nctl; i++)
			p[2 + i] = (struct pollfd){ ctl[i], POLLIN, 0 };
		if (poll(p, 2 + (nfds_t)nctl, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
				fprintf(stderr, "dde: %s: stopping drivers and the machine\n",
					strsignal((int)si.ssi_signo));
				failure = true;
				break;
			}
			if (reap(s, drv, ndrv, &failure)) {
				failure = true;
				break;
			}
		}
		if (p[1].revents) {
			answer(listen, s, drv, ndrvp);
			ndrv = *ndrvp;
		}
		if (hotplug_ports() && mono_ms() >= next_scan) {
			hotplug_scan(s, drv, ndrvp, NULL);
			ndrv = *ndrvp;
			next_scan = mono_ms() + SCAN_MS;
		}
		for (int i = 0; i < nctl; i++) {
			char why[160];
			bool closed;
			struct driver *d;

			if (!p[2 + i].revents)
				continue;
			d = class_hung(cls[i], drv, ndrv, why, sizeof(why), &closed);
			if (closed) {	/* its server is going: waitpid says so */
				close(cls[i]->control);
				cls[i]->control = -1;
			}
			if (d && d->suspended) {
				fprintf(stderr, "dde: the %s server reports driver %s@%s %s: it is "
					"suspended (dde pm resume)\n", cls[i]->what, d->name, d->slots,
					why);
			} else if (d && d->state == DRV_RUNNING && d->pid > 0 && !d->hang[0]) {
				snprintf(d->hang, sizeof(d->hang), "%s", why);
				fprintf(stderr, "dde: the %s server reports driver %s@%s %s: killing it\n",
					cls[i]->what, d->name, d->slots, why);
				kill(d->pid, SIGKILL);
			}
		}
		now = mono_ms();
		for (int i = 0; i < ndrv; i++) {
			struct driver *d = &drv[i];

			if (d->state != DRV_WAITING || d->restart_at > now)
				continue;
			d->restarts++;
			if (respawn_driver(s, d))
				failed(d, "could not be restarted (see above)");
		}
	}
	if (listen >= 0)
		close(listen);
	return failure;
}

int dde_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *path = getenv("DDE_RUN");
	char *buf;
	int opt, fd;
	long n;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 's') {
			path = optarg;
		} else if (opt == 'h') {
			printf("usage: dde status [--socket PATH]\n"
			       "  the drivers of a running `dde run` (at PATH, default $DDE_RUN, as\n"
			       "  dde run prints it): each one's state (running, restarting, exited,\n"
			       "  given up), process, restarts and last failure\n");
			return 0;
		} else {
			fprintf(stderr, "dde status: unknown or incomplete option '%s' (see dde status "
				"--help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde status: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!path || !*path) {
		fprintf(stderr, "dde status: which dde run? Set DDE_RUN (dde run prints it) or give "
			"--socket PATH\n");
		return 2;
	}
	fd = seqpacket_connect(path);
	if (fd < 0) {
		fprintf(stderr, "dde status: cannot reach dde run at %s: %s\n", path, strerror(errno));
		return 1;
	}
	buf = malloc(STATUS_MAX + 1);
	n = buf && !seqpacket_send(fd, "status", 6, NULL, 0) ? recv(fd, buf, STATUS_MAX, 0) : -1;
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "dde status: dde run at %s did not answer\n", path);
		free(buf);
		return 1;
	}
	fwrite(buf, 1, (size_t)n, stdout);
	free(buf);
	return 0;
}
