/*
 * Unit-test helpers for the tests of a class server (sndd, netd): time,
 * the build's own files, and the server of the build started for one test
 * with its log in a file, killed with the test process. Include after
 * <cmocka.h> and the system headers.
 */
#ifndef DDE_TEST_SERVER_H
#define DDE_TEST_SERVER_H

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/clock.h"
#include "../../common/seqpacket.h"

static inline void sleep_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&t, &t))
		;
}

/* BUILD/REL, from where this test lives (BUILD/tests/unit/) */
static inline void build_path(const char *rel, char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(exe, '/');

		if (slash)
			*slash = 0;
	}
	if (snprintf(out, cap, "%s/%s", exe, rel) >= (int)cap)
		out[0] = 0;
}

/*
 * Start BUILD/bin/@name on a socket of its own (its name into @socket, its
 * stderr into the file @log names), with a control channel if
 * @with_control (our end into *@control, else -1); wait until it listens.
 * Returns its pid, or -1.
 */
static inline pid_t start_server(const char *name, int with_control, char *socket, size_t scap,
				 char *log, size_t lcap, int *control)
{
	char bin[PATH_MAX], rel[64], ctl[16];
	pid_t parent = getpid(), pid;
	int sp[2] = { -1, -1 };

	snprintf(rel, sizeof(rel), "bin/%s", name);
	build_path(rel, bin, sizeof(bin));
	snprintf(socket, scap, "@dde-test-%s-%d-%ld", name, (int)parent, (long)mono_ms() ^ random());
	snprintf(log, lcap, "/tmp/dde-test-%s-%d.log", name, (int)parent);
	*control = -1;
	if (with_control && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp))
		return -1;
	snprintf(ctl, sizeof(ctl), "%d", sp[1]);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || fd < 0 || dup2(fd, 2) != 2)
			_exit(126);
		if (with_control) {
			fcntl(sp[1], F_SETFD, 0);
			execl(bin, name, "--socket", socket, "--control-fd", ctl, (char *)NULL);
		}
		execl(bin, name, "--socket", socket, (char *)NULL);
		_exit(127);
	}
	if (with_control)
		close(sp[1]);
	*control = sp[0];
	for (int t = 0; t < 500 && pid > 0; t++) {
		int fd = seqpacket_connect(socket);

		if (fd >= 0) {
			close(fd);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		sleep_ms(10);
	}
	return -1;
}

/* Stop a program the test started: SIGTERM, and SIGKILL after 2 s. */
/* SIGTERM, 2 s to end, then SIGKILL: its wait status, -1 if it had to be killed */
static inline int stop_server_status(pid_t pid)
{
	int status = -1;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static inline void stop_server(pid_t pid)
{
	stop_server_status(pid);
}

#endif
