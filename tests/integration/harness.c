/* Integration-test harness; see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
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

#include <ddekit/ddekit.h>

#include "../../ddekit/client.h"
#include "../../common/slot.h"

void harness_path(const char *rel, char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	/* tests live in BUILD/tests/<kind>/ */
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(exe, '/');

		if (slash)
			*slash = 0;
	}
	snprintf(out, cap, "%s/%s", exe, rel);
}

int harness_start(struct harness *h, const char *const *args)
{
	return harness_start_logged(h, args, NULL);
}

int harness_start_logged(struct harness *h, const char *const *args, const char *log)
{
	char ddeio[PATH_MAX], fdtext[16], name[48];
	const char *argv[64];
	int pipefd[2], argc = 0;
	pid_t parent = getpid();
	char buf[8];

	memset(h, 0, sizeof(*h));
	harness_path("bin/ddeio", ddeio, sizeof(ddeio));
	snprintf(name, sizeof(name), "dde-test-%d-%ld", (int)parent, (long)time(NULL) ^ random());
	snprintf(h->socket, sizeof(h->socket), "@%s", name);
	if (pipe2(pipefd, O_CLOEXEC))
		return -1;
	snprintf(fdtext, sizeof(fdtext), "%d", pipefd[1]);
	argv[argc++] = ddeio;
	for (; args && *args && argc < 56; args++)
		argv[argc++] = *args;
	argv[argc++] = "--socket";
	argv[argc++] = name;
	argv[argc++] = "--ready-fd";
	argv[argc++] = fdtext;
	if (!log)
		argv[argc++] = "--quiet";
	argv[argc] = NULL;
	h->ddeio = fork();
	if (h->ddeio == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		fcntl(pipefd[1], F_SETFD, 0);
		if (log) {
			int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

			if (fd < 0 || dup2(fd, 2) != 2)
				_exit(126);
		}
		execv(ddeio, (char **)argv);
		_exit(127);
	}
	close(pipefd[1]);
	struct pollfd pfd = { pipefd[0], POLLIN, 0 };
	ssize_t n = poll(&pfd, 1, 30000) == 1 ? read(pipefd[0], buf, sizeof(buf)) : -1;

	close(pipefd[0]);
	if (n <= 0) {
		fprintf(stderr, "harness: ddeio did not come up\n");
		harness_stop(h);
		return -1;
	}
	return 0;
}

pid_t harness_qemu_pid(const struct harness *h)
{
	char path[64], buf[256];
	FILE *f;
	pid_t pid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)h->ddeio, (int)h->ddeio);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		pid = (pid_t)atoi(buf);
	fclose(f);
	return pid;
}

void harness_stop(struct harness *h)
{
	if (h->ddeio <= 0)
		return;
	kill(h->ddeio, SIGTERM);
	for (int i = 0; i < 3000; i++) {
		if (waitpid(h->ddeio, NULL, WNOHANG) == h->ddeio) {
			h->ddeio = 0;
			return;
		}
		usleep(1000);
	}
	kill(h->ddeio, SIGKILL);
	waitpid(h->ddeio, NULL, 0);
	h->ddeio = 0;
}

int harness_driver(const struct harness *h, const char *slots, const char *name)
{
	setenv("DDE_IO", h->socket, 1);
	setenv("DDE_DEVICES", slots, 1);
	unsetenv("DDE_DRIVER");
	return ddekit_init(name);
}

pid_t harness_fork_driver(const struct harness *h, const char *slots,
			  int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (harness_driver(h, slots, "test-driver"))
		_exit(100);
	int r = fn(arg);

	ddekit_exit();
	_exit(r);
}

int harness_wait(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int harness_list(const struct harness *h, struct ddeio_device *out, unsigned cap)
{
	unsigned n = 0;
	uint64_t total = 1;

	if (ddeio_connect(h->socket, "test-lister", NULL, 0))
		return -1;
	while (n < total && n < cap) {
		struct ddeio_msg m = { .op = DDEIO_OP_LIST, .addr = n };
		char buf[DDEIO_MAX_PAYLOAD];
		size_t len = sizeof(buf);

		if (ddeio_call(&m, NULL, 0, buf, &len))
			break;
		total = m.value;
		if (len < sizeof(*out))
			break;
		for (size_t k = 0; k + sizeof(*out) <= len && n < cap; k += sizeof(*out))
			memcpy(&out[n++], buf + k, sizeof(*out));
	}
	ddeio_disconnect();
	return (int)n;
}

const struct ddeio_device *harness_find(const struct ddeio_device *devs, int n,
					uint16_t vendor, uint16_t device)
{
	for (int i = 0; i < n; i++)
		if (devs[i].vendor == vendor && devs[i].device == device)
			return &devs[i];
	return NULL;
}

const char *harness_slot(const struct ddeio_device *d)
{
	static char text[4][16];
	static unsigned next;
	char *t = text[next++ % 4];

	slot_format(d->bdf, t);
	return t;
}

int harness_image(char *path_out, size_t cap, unsigned mib, unsigned seed)
{
	char tmpl[] = "/tmp/dde-test-img-XXXXXX";
	int fd = mkstemp(tmpl);
	uint32_t x = seed * 2654435761u + 1;
	char block[4096];

	if (fd < 0)
		return -1;
	for (unsigned i = 0; i < mib * 256; i++) {
		for (size_t k = 0; k < sizeof(block); k++) {
			x = x * 1103515245u + 12345u;
			block[k] = (char)(x >> 16);
		}
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block)) {
			close(fd);
			unlink(tmpl);
			return -1;
		}
	}
	close(fd);
	snprintf(path_out, cap, "%s", tmpl);
	return 0;
}

static int free_udp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

int harness_udp_peer(uint16_t *qemu_port, uint16_t *peer_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int q = free_udp_port();

	if (fd < 0 || q < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*qemu_port = (uint16_t)q;
	*peer_port = ntohs(a.sin_port);
	return fd;
}

bool harness_alive(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	bool alive = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');

		alive = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	}
	fclose(f);
	return alive;
}

void harness_cpu_model(char *out, size_t cap)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(out, cap, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(out, cap, "%s", colon + 2);
			out[strcspn(out, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
}
