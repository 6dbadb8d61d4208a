/*
 * ddekit synchronisation: mutexes, counting semaphores, condition
 * variables. Objects are opaque and created on the heap so that the
 * Linux emulation can embed a pointer in its own structures.
 */
#ifndef DDEKIT_LOCK_H
#define DDEKIT_LOCK_H

#include <stdbool.h>
#include <stdint.h>

struct ddekit_mutex;
struct ddekit_sem;
struct ddekit_cond;

/* A non-recursive mutex; NULL if out of memory. */
struct ddekit_mutex *ddekit_mutex_create(void);
void ddekit_mutex_destroy(struct ddekit_mutex *m);
void ddekit_mutex_lock(struct ddekit_mutex *m);
/* Take the mutex if it is free; true if taken. */
bool ddekit_mutex_trylock(struct ddekit_mutex *m);
void ddekit_mutex_unlock(struct ddekit_mutex *m);

/* A counting semaphore starting at @value; NULL if out of memory. */
struct ddekit_sem *ddekit_sem_create(unsigned value);
void ddekit_sem_destroy(struct ddekit_sem *s);
void ddekit_sem_up(struct ddekit_sem *s);
/*
 * Take the semaphore, waiting at most @timeout_us microseconds
 * (0 = forever). Returns 0, or -ETIMEDOUT.
 */
int ddekit_sem_down(struct ddekit_sem *s, uint64_t timeout_us);

/* A condition variable used with a ddekit mutex; NULL if out of memory. */
struct ddekit_cond *ddekit_cond_create(void);
void ddekit_cond_destroy(struct ddekit_cond *c);
/*
 * Release @m, wait for a signal for at most @timeout_us microseconds
 * (0 = forever), take @m again. Returns 0, or -ETIMEDOUT.
 */
int ddekit_cond_wait(struct ddekit_cond *c, struct ddekit_mutex *m,
		     uint64_t timeout_us);
void ddekit_cond_signal(struct ddekit_cond *c);
void ddekit_cond_broadcast(struct ddekit_cond *c);

#endif
