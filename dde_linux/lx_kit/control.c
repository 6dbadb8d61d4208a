/*
 * dde run's control channel to a dde_linux driver (lx_kit side): the
 * descriptor dde run hands the driver as DDE_CONTROL=fd:N. A thread reads
 * its requests (one per message) and raises an event on the Linux CPU,
 * where lx_emul/pm.c takes them; the answers go back on the same socket.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lx_kit/kit.h>

static int ctl_fd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char pending[64];
static struct lx_kit_event *ev;

int lx_kit_control_present(void)
{
	const char *v = getenv("DDE_CONTROL");
	int fd;

	if (ctl_fd >= 0)
		return 1;
	if (!v || sscanf(v, "fd:%d", &fd) != 1 || fd < 0)
		return 0;
	ctl_fd = fd;
	return 1;
}

static void *reader(void *arg)
{
	char buf[64];

	for (;;) {
		ssize_t n = recv(ctl_fd, buf, sizeof(buf) - 1, 0);

		if (n <= 0)
			return NULL;	/* dde run is gone: nothing more will come */
		buf[n] = 0;
		pthread_mutex_lock(&lock);
		snprintf(pending, sizeof(pending), "%s", buf);
		pthread_mutex_unlock(&lock);
		lx_kit_event_raise(ev);
	}
}

void lx_kit_control_start(void (*fn)(void *arg), void *arg)
{
	pthread_t t;

	if (ctl_fd < 0 || !(ev = lx_kit_event_create(fn, arg)) ||
	    pthread_create(&t, NULL, reader, NULL))
		return;
	pthread_detach(t);
}

int lx_kit_control_take(char *buf, unsigned long cap)
{
	int got;

	pthread_mutex_lock(&lock);
	got = pending[0] != 0;
	if (got) {
		snprintf(buf, cap, "%s", pending);
		pending[0] = 0;
	}
	pthread_mutex_unlock(&lock);
	return got;
}

void lx_kit_control_reply(const char *text)
{
	if (ctl_fd >= 0 && send(ctl_fd, text, strlen(text), MSG_NOSIGNAL) < 0)
		lx_kit_log(4, "lx_kit: dde run's control channel: the answer was not sent");
}
