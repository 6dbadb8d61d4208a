/*
 * ddekit clock and timers: one timer thread, started on first use, runs
 * due timers in deadline order; the list is kept sorted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <ddekit/ddekit.h>

struct timer {
	struct timer *next;
	int id;
	uint64_t deadline;
	void (*fn)(void *);
	void *arg;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct timer *list;
	int next_id;
	int running_id;		/* timer being run, 0 if none */
	pthread_cond_t ran;	/* signalled when running_id goes back to 0 */
	pthread_t thread;
	bool started;
} timers = { .lock = PTHREAD_MUTEX_INITIALIZER };

uint64_t ddekit_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void timer_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&timers.lock);
	timers.thread = pthread_self();
	for (;;) {
		struct timer *t = timers.list;
		uint64_t now = ddekit_clock_ns();

		if (!t) {
			pthread_cond_wait(&timers.wake, &timers.lock);
			continue;
		}
		if (t->deadline > now) {
			struct timespec ts = { (time_t)(t->deadline / 1000000000u),
					       (long)(t->deadline % 1000000000u) };

			pthread_cond_timedwait(&timers.wake, &timers.lock, &ts);
			continue;
		}
		timers.list = t->next;
		timers.running_id = t->id;
		pthread_mutex_unlock(&timers.lock);
		t->fn(t->arg);
		free(t);
		pthread_mutex_lock(&timers.lock);
		timers.running_id = 0;
		pthread_cond_broadcast(&timers.ran);
	}
}

int ddekit_timer_add(void (*fn)(void *arg), void *arg, uint64_t deadline_ns)
{
	struct timer *t = malloc(sizeof(*t)), **pp;
	int id;

	if (!t)
		return -ENOMEM;
	pthread_mutex_lock(&timers.lock);
	if (!timers.started) {
		pthread_condattr_t a;

		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_init(&timers.wake, &a);
		pthread_cond_init(&timers.ran, &a);
		pthread_condattr_destroy(&a);
		if (!ddekit_thread_create("ddekit-timer", timer_thread, NULL)) {
			pthread_mutex_unlock(&timers.lock);
			free(t);
			return -EAGAIN;
		}
		timers.started = true;
	}
	/* ids stay positive and skip 0 when they wrap */
	timers.next_id = timers.next_id == 0x7fffffff ? 1 : timers.next_id + 1;
	id = timers.next_id;
	*t = (struct timer){ NULL, id, deadline_ns, fn, arg };
	for (pp = &timers.list; *pp && (*pp)->deadline <= deadline_ns; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	pthread_cond_signal(&timers.wake);
	pthread_mutex_unlock(&timers.lock);
	return id;
}

int ddekit_timer_del(int id)
{
	struct timer **pp, *t;

	pthread_mutex_lock(&timers.lock);
	for (pp = &timers.list; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			t = *pp;
			*pp = t->next;
			pthread_mutex_unlock(&timers.lock);
			free(t);
			return 0;
		}
	}
	/* Running now: wait for it to finish, unless this is the timer itself. */
	while (id > 0 && timers.running_id == id && !pthread_equal(timers.thread, pthread_self()))
		pthread_cond_wait(&timers.ran, &timers.lock);
	pthread_mutex_unlock(&timers.lock);
	return -ENOENT;
}
