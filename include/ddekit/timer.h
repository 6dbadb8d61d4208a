/* ddekit clock and timers. */
#ifndef DDEKIT_TIMER_H
#define DDEKIT_TIMER_H

#include <stdint.h>

/* Monotonic time in nanoseconds (the machine's clock runs in real time). */
uint64_t ddekit_clock_ns(void);

/*
 * Call @fn(@arg) once, in the timer thread, when ddekit_clock_ns()
 * reaches @deadline_ns. Returns a timer id > 0, or a negative errno.
 * Timer functions must not block for long: they share one thread.
 */
int ddekit_timer_add(void (*fn)(void *arg), void *arg, uint64_t deadline_ns);

/*
 * Cancel a pending timer. Returns 0 if it was cancelled before running,
 * -ENOENT if it already ran or never existed. If the timer function is
 * running right now, first waits until it has returned (unless called from
 * that timer function), so that afterwards it is certainly not running.
 */
int ddekit_timer_del(int id);

#endif
