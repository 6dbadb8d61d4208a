/*
 * escape — a driver on ddekit that tries to leave its sandbox once it is
 * up (tests/cli/test_sandbox.sh). Each argument is one attempt, made in
 * order after ddekit_init:
 *
 *   open:PATH        open a file of the host (another disk's image,
 *                    /etc/shadow, /dev/mem)
 *   connect:ADDR     make a Unix socket and connect to a server's address
 *                    ("@name": abstract, else a path)
 *   ptrace:ppid      attach to dde run (its parent), or to a pid
 *   kill:ppid        signal dde run, or a pid
 *   exec:PATH        execve a program
 *   noseal           (first) skip the driver's own filter: only the
 *                    namespaces, the user and dde's first filter hold
 *
 * Each attempt prints "escape: ATTEMPT: blocked (REASON)" when the call
 * fails, and "escape: ATTEMPT: SUCCEEDED" (exit status 3) when it works.
 * A call the filter forbids ends the driver with SIGSYS: ddekit names it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

static int blocked(const char *what, int err)
{
	fprintf(stderr, "escape: %s: blocked (%s)\n", what, strerror(err));
	return 0;
}

static pid_t target(const char *arg)
{
	return !strcmp(arg, "ppid") ? getppid() : (pid_t)atoi(arg);
}

static int attempt(const char *what)
{
	const char *arg = strchr(what, ':') ? strchr(what, ':') + 1 : "";

	fprintf(stderr, "escape: trying %s\n", what);
	if (!strncmp(what, "open:", 5)) {
		int fd = open(arg, O_RDONLY);

		if (fd < 0)
			return blocked(what, errno);
		close(fd);
	} else if (!strncmp(what, "connect:", 8)) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(arg) +
					    (arg[0] != '@'));
		int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

		if (fd < 0)
			return blocked(what, errno);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", arg);
		if (arg[0] == '@')
			a.sun_path[0] = 0;
		if (connect(fd, (struct sockaddr *)&a, len)) {
			int e = errno;

			close(fd);
			return blocked(what, e);
		}
		close(fd);
	} else if (!strncmp(what, "ptrace:", 7)) {
		if (ptrace(PTRACE_ATTACH, target(arg), NULL, NULL))
			return blocked(what, errno);
		ptrace(PTRACE_DETACH, target(arg), NULL, NULL);
	} else if (!strncmp(what, "kill:", 5)) {
		if (kill(target(arg), 0))
			return blocked(what, errno);
	} else if (!strncmp(what, "exec:", 5)) {
		char *argv[] = { (char *)arg, NULL };

		execv(arg, argv);
		return blocked(what, errno);
	} else {
		fprintf(stderr, "escape: unknown attempt '%s'\n", what);
		return 2;
	}
	fprintf(stderr, "escape: %s: SUCCEEDED\n", what);
	return 3;
}

int main(int argc, char **argv)
{
	int i = 1, r = 0;

	if (i < argc && !strcmp(argv[i], "noseal")) {
		unsetenv("DDE_SANDBOX");
		i++;
	}
	if (ddekit_init("escape"))
		return 1;
	fprintf(stderr, "escape: sandbox up (uid %u)\n", (unsigned)getuid());
	for (; i < argc && !r; i++)
		r = attempt(argv[i]);
	ddekit_exit();
	return r;
}
