/* ddekit logging, panic and the per-thread last error. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ddekit/ddekit.h>

#include "client.h"

static char driver_name[64] = "driver";
static __thread char last_error[512];
static int max_level = -1;

void ddekit_log_set_name(const char *name)
{
	snprintf(driver_name, sizeof(driver_name), "%s", name);
}

static void vlog(const char *tag, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof(line), "[%5ld.%06ld] %s: %s", (long)ts.tv_sec,
		     ts.tv_nsec / 1000, driver_name, tag);
	if (n < 0 || n >= (int)sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	/* one write per line, so lines of several threads do not mix */
	strcat(line, "\n");
	fputs(line, stderr);
}

void ddekit_log(enum ddekit_log_level level, const char *fmt, ...)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;

	if (max_level < 0) {
		const char *env = getenv("DDE_LOG");

		max_level = env ? atoi(env) : DDEKIT_LOG_INFO;
	}
	if ((int)level > max_level)
		return;
	va_start(ap, fmt);
	vlog(tag[level & 3], fmt, ap);
	va_end(ap);
}

void ddekit_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("PANIC: ", fmt, ap);
	va_end(ap);
	fflush(stderr);
	abort();
}

void ddekit_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

const char *ddekit_last_error(void)
{
	return last_error;
}
