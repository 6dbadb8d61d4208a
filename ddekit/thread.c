/* ddekit threads on POSIX threads, each with a name for logs and gdb. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ddekit/ddekit.h>

#include "client.h"

struct ddekit_thread {
	pthread_t pthread;
	char name[32];
	void (*fn)(void *);
	void *arg;
};

static __thread const char *thread_name;

static void *trampoline(void *p)
{
	struct ddekit_thread *t = p;
	char os_name[16];	/* the kernel keeps 15 characters */

	thread_name = t->name;
	size_t n = strnlen(t->name, sizeof(os_name) - 1);

	memcpy(os_name, t->name, n);
	os_name[n] = 0;
	pthread_setname_np(pthread_self(), os_name);
	t->fn(t->arg);
	return NULL;
}

struct ddekit_thread *ddekit_thread_create(const char *name, void (*fn)(void *arg),
					   void *arg)
{
	struct ddekit_thread *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return NULL;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->fn = fn;
	t->arg = arg;
	r = pthread_create(&t->pthread, NULL, trampoline, t);
	if (r) {
		ddekit_log(DDEKIT_LOG_ERROR, "cannot start thread '%s': %s", name, strerror(r));
		free(t);
		return NULL;
	}
	return t;
}

void ddekit_thread_join(struct ddekit_thread *t)
{
	if (!t)
		return;
	pthread_join(t->pthread, NULL);
	free(t);
}

const char *ddekit_thread_name(void)
{
	return thread_name ? thread_name : "main";
}

void ddekit_thread_sleep_us(unsigned long us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void ddekit_thread_yield(void)
{
	sched_yield();
}
