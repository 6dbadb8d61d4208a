/* The monotonic clock in milliseconds, for timeouts and the times logged;
 * in nanoseconds, for latencies. */
#ifndef DDE_COMMON_CLOCK_H
#define DDE_COMMON_CLOCK_H

#include <time.h>

static inline long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static inline unsigned long long mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

#endif
