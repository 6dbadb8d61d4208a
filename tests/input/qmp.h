/*
 * QEMU's QMP monitor, for the input tests and benches (qmpsend, keylat):
 * connect and negotiate (qmp_open), one command and its return
 * (qmp_command).
 */
#ifndef DDE_TESTS_QMP_H
#define DDE_TESTS_QMP_H

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fd;
static char buf[65536];
static size_t have;

/* the next line of QMP's answer into @line: 0, or -1 (closed, timeout) */
static int next_line(char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(buf, '\n', have);

		if (nl) {
			size_t n = (size_t)(nl - buf);

			snprintf(line, cap, "%.*s", (int)n, buf);
			memmove(buf, nl + 1, have - n - 1);
			have -= n + 1;
			return 0;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (have == sizeof(buf) || poll(&p, 1, 10000) != 1)
			return -1;
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
}

/* send @cmd, wait for its return (events QEMU sends meanwhile skipped): 0 or -1 */
static int qmp_command(const char *cmd)
{
	char line[4096];

	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -1;
	for (;;) {
		if (next_line(line, sizeof(line))) {
			fprintf(stderr, "qmp: QEMU did not answer %s", cmd);
			return -1;
		}
		if (strstr(line, "\"return\""))
			return 0;
		if (strstr(line, "\"error\"")) {
			fprintf(stderr, "qmp: QEMU refused %s  %s\n", cmd, line);
			return -1;
		}
	}
}

/* connect to QMP at @path and leave it ready for commands: 0 or -1 (said why) */
static int qmp_open(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char line[4096];

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "qmp: socket path too long\n");
		return -1;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("qmp: connect");
		return -1;
	}
	if (next_line(line, sizeof(line)) || !strstr(line, "\"QMP\"") ||
	    qmp_command("{\"execute\":\"qmp_capabilities\"}\n"))
		return -1;
	return 0;
}

#endif
