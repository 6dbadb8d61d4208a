/* The monotonic clock in milliseconds, for timeouts and the times logged. */
#ifndef DDE_COMMON_CLOCK_H
#define DDE_COMMON_CLOCK_H

#include <time.h>

static inline long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#endif
