/*
 * Starting and stopping the I/O server. ddeio runs as a child in dde's
 * own process group (so Ctrl-C reaches only dde, which then stops things
 * in order) and dies with dde whatever happens (PR_SET_PDEATHSIG), taking
 * QEMU with it. dde keeps a control channel to it (a socketpair ddeio
 * inherits), on which it opens each driver's connection.
 */
#define _GNU_SOURCE
#include "session.h"

#include <ddeio/protocol.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/seqpacket.h"

void session_sibling(const char *rel, char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	exe[n > 0 ? n : 0] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(out, cap, "%s/%s", exe, rel);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status) ? WEXITSTATUS(status) : 1;
	return 1;
}

int session_start(struct session *s, char **margv, int margc, bool quiet,
		  char *const *extra)
{
	char ddeio[PATH_MAX], fdtext[16], ctltext[16];
	int nextra = 0;

	while (extra && extra[nextra])
		nextra++;
	char **argv = calloc((size_t)(margc + nextra) + 10, sizeof(*argv));
	int pipefd[2], ctl[2], argc = 0, status;
	pid_t parent = getpid();
	char buf[8];
	ssize_t n;

	s->control = -1;
	if (!argv || pipe2(pipefd, O_CLOEXEC)) {
		free(argv);
		fprintf(stderr, "dde: %s\n", strerror(errno));
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl)) {
		fprintf(stderr, "dde: socketpair: %s\n", strerror(errno));
		free(argv);
		close(pipefd[0]);
		close(pipefd[1]);
		return 1;
	}
	srand((unsigned)time(NULL) ^ (unsigned)parent);
	snprintf(s->socket, sizeof(s->socket), "dde-io-%d-%x", (int)parent, rand());
	session_sibling("ddeio", ddeio, sizeof(ddeio));
	snprintf(fdtext, sizeof(fdtext), "%d", pipefd[1]);
	snprintf(ctltext, sizeof(ctltext), "%d", ctl[1]);
	argv[argc++] = ddeio;
	for (int i = 0; i < margc; i++)
		argv[argc++] = margv[i];
	argv[argc++] = "--socket";
	argv[argc++] = s->socket;
	argv[argc++] = "--ready-fd";
	argv[argc++] = fdtext;
	argv[argc++] = "--control-fd";
	argv[argc++] = ctltext;
	for (int i = 0; i < nextra; i++)
		argv[argc++] = extra[i];
	if (quiet)
		argv[argc++] = "--quiet";
	s->ddeio = fork();
	if (s->ddeio < 0) {
		fprintf(stderr, "dde: fork: %s\n", strerror(errno));
		free(argv);
		return 1;
	}
	if (s->ddeio == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fcntl(pipefd[1], F_SETFD, 0);
		fcntl(ctl[1], F_SETFD, 0);
		execv(ddeio, argv);
		fprintf(stderr, "dde: cannot run %s: %s (run make)\n", ddeio, strerror(errno));
		_exit(1);
	}
	free(argv);
	close(pipefd[1]);
	close(ctl[1]);
	s->control = ctl[0];
	/* Wait for "ready"; EOF means ddeio gave up (it has said why). */
	struct pollfd pfd = { pipefd[0], POLLIN, 0 };

	n = poll(&pfd, 1, 60000) == 1 ? read(pipefd[0], buf, sizeof(buf)) : -1;
	close(pipefd[0]);
	if (n > 0)
		return 0;
	if (n < 0) {
		fprintf(stderr, "dde: the I/O server did not come up within 60 s\n");
		kill(s->ddeio, SIGKILL);
	}
	waitpid(s->ddeio, &status, 0);
	s->ddeio = 0;
	close(s->control);
	s->control = -1;
	return n < 0 ? 1 : exit_code(status);
}

int session_channel(struct session *s, const char *name, const uint32_t *bdf, unsigned ndev)
{
	struct {
		struct ddeio_msg m;
		struct ddeio_hello h;
	} req = { .m = { .op = DDEIO_OP_CHANNEL, .size = sizeof(struct ddeio_hello) },
		  .h = { .version = DDEIO_PROTOCOL_VERSION, .ndev = ndev } };
	char reply[sizeof(struct ddeio_msg) + DDEIO_MAX_PAYLOAD + 1];
	struct pollfd p = { s->control, POLLIN, 0 };
	int sp[2], fds[3], nfds;
	long n;

	if (ndev > DDEIO_MAX_DEVICES || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		fprintf(stderr, "dde: a connection for %s: %s\n", name,
			ndev > DDEIO_MAX_DEVICES ? "too many devices" : strerror(errno));
		return -1;
	}
	snprintf(req.h.name, sizeof(req.h.name), "%s", name);
	memcpy(req.h.bdf, bdf, ndev * sizeof(*bdf));
	if (seqpacket_send(s->control, &req, sizeof(req), &sp[0], 1) ||
	    poll(&p, 1, 10000) != 1 ||
	    (n = seqpacket_recv(s->control, reply, sizeof(reply) - 1, fds, &nfds, 0)) <
	    (long)sizeof(struct ddeio_msg)) {
		fprintf(stderr, "dde: the I/O server did not open a connection for %s\n", name);
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	close(sp[0]);
	memcpy(&req.m, reply, sizeof(req.m));
	if (req.m.status) {
		reply[n] = 0;
		fprintf(stderr, "dde: the I/O server refused a connection for %s: %s\n", name,
			n > (long)sizeof(req.m) ? reply + sizeof(req.m) : strerror(-req.m.status));
		close(sp[1]);
		return -1;
	}
	return sp[1];
}

void session_reap(pid_t pid, unsigned ms)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (unsigned i = 0; i < ms; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void session_stop(struct session *s)
{
	if (s->control >= 0) {
		close(s->control);
		s->control = -1;
	}
	session_reap(s->ddeio, 3000);
	s->ddeio = 0;
}
