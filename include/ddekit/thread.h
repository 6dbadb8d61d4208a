/* ddekit threads: every thread is a real host thread. */
#ifndef DDEKIT_THREAD_H
#define DDEKIT_THREAD_H

struct ddekit_thread;

/*
 * Start @fn(@arg) in a new thread called @name (shown by gdb and top).
 * Returns NULL and logs the reason on failure.
 */
struct ddekit_thread *ddekit_thread_create(const char *name,
					   void (*fn)(void *arg), void *arg);

/* Wait for a thread to return from its function and free it. */
void ddekit_thread_join(struct ddekit_thread *thread);

/* Name of the calling thread ("main" for the initial one). */
const char *ddekit_thread_name(void);

/* Sleep the calling thread for at least @us microseconds. */
void ddekit_thread_sleep_us(unsigned long us);

/* Let other threads run. */
void ddekit_thread_yield(void);

#endif
