/*
 * ddekit mutexes, semaphores and condition variables on POSIX threads.
 * Timeouts use CLOCK_MONOTONIC so that a change of wall-clock time does
 * not shorten or stretch them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <ddekit/ddekit.h>

struct ddekit_mutex {
	pthread_mutex_t m;
};

struct ddekit_cond {
	pthread_cond_t c;
};

struct ddekit_sem {
	pthread_mutex_t m;
	pthread_cond_t c;
	unsigned value;
};

static void init_cond(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

static struct timespec deadline(uint64_t timeout_us)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(timeout_us / 1000000);
	ts.tv_nsec += (long)(timeout_us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

struct ddekit_mutex *ddekit_mutex_create(void)
{
	struct ddekit_mutex *m = malloc(sizeof(*m));
	pthread_mutexattr_t a;

	if (!m)
		return NULL;
	/* error checking: a driver that unlocks a mutex it does not hold panics */
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m->m, &a);
	pthread_mutexattr_destroy(&a);
	return m;
}

void ddekit_mutex_destroy(struct ddekit_mutex *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->m);
	free(m);
}

void ddekit_mutex_lock(struct ddekit_mutex *m)
{
	int r = pthread_mutex_lock(&m->m);

	if (r)
		ddekit_panic("mutex %p: lock failed (%d): locked twice by one thread?", (void *)m, r);
}

bool ddekit_mutex_trylock(struct ddekit_mutex *m)
{
	return pthread_mutex_trylock(&m->m) == 0;
}

void ddekit_mutex_unlock(struct ddekit_mutex *m)
{
	int r = pthread_mutex_unlock(&m->m);

	if (r)
		ddekit_panic("mutex %p: unlock by a thread that does not hold it", (void *)m);
}

struct ddekit_sem *ddekit_sem_create(unsigned value)
{
	struct ddekit_sem *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->m, NULL);
	init_cond(&s->c);
	s->value = value;
	return s;
}

void ddekit_sem_destroy(struct ddekit_sem *s)
{
	if (!s)
		return;
	pthread_cond_destroy(&s->c);
	pthread_mutex_destroy(&s->m);
	free(s);
}

void ddekit_sem_up(struct ddekit_sem *s)
{
	pthread_mutex_lock(&s->m);
	s->value++;
	pthread_cond_signal(&s->c);
	pthread_mutex_unlock(&s->m);
}

int ddekit_sem_down(struct ddekit_sem *s, uint64_t timeout_us)
{
	struct timespec ts = deadline(timeout_us);
	int r = 0;

	pthread_mutex_lock(&s->m);
	while (!s->value && r != ETIMEDOUT)
		r = timeout_us ? pthread_cond_timedwait(&s->c, &s->m, &ts) :
				 pthread_cond_wait(&s->c, &s->m);
	if (s->value) {
		s->value--;
		r = 0;
	}
	pthread_mutex_unlock(&s->m);
	return r ? -ETIMEDOUT : 0;
}

struct ddekit_cond *ddekit_cond_create(void)
{
	struct ddekit_cond *c = malloc(sizeof(*c));

	if (c)
		init_cond(&c->c);
	return c;
}

void ddekit_cond_destroy(struct ddekit_cond *c)
{
	if (!c)
		return;
	pthread_cond_destroy(&c->c);
	free(c);
}

int ddekit_cond_wait(struct ddekit_cond *c, struct ddekit_mutex *m, uint64_t timeout_us)
{
	struct timespec ts;

	if (!timeout_us)
		return pthread_cond_wait(&c->c, &m->m) ? -EINVAL : 0;
	ts = deadline(timeout_us);
	return pthread_cond_timedwait(&c->c, &m->m, &ts) == ETIMEDOUT ? -ETIMEDOUT : 0;
}

void ddekit_cond_signal(struct ddekit_cond *c)
{
	pthread_cond_signal(&c->c);
}

void ddekit_cond_broadcast(struct ddekit_cond *c)
{
	pthread_cond_broadcast(&c->c);
}
