/*
 * Sleeping synchronisation beyond mutexes, on one CPU without preemption
 * (see lock.c): completions, read-write semaphores, sleepable RCU. Each
 * sleeper waits on a wait queue of its kind for its condition; whoever
 * changes a condition wakes the queue.
 */
#include <linux/completion.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/srcu.h>
#include <linux/swait.h>
#include <linux/wait.h>

#include <linux/semaphore.h>

#include "lx_emul.h"

/* ---- completions: done counts complete()s; UINT_MAX is complete_all ---- */

static DECLARE_WAIT_QUEUE_HEAD(completion_waiters);

void __init_swait_queue_head(struct swait_queue_head *q, const char *name,
			     struct lock_class_key *key)
{
	raw_spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->task_list);
}

void complete(struct completion *x)
{
	if (x->done != UINT_MAX)
		x->done++;
	wake_up_all(&completion_waiters);
}

void complete_all(struct completion *x)
{
	x->done = UINT_MAX;
	wake_up_all(&completion_waiters);
}

static void take(struct completion *x)
{
	if (x->done != UINT_MAX)
		x->done--;
}

void wait_for_completion(struct completion *x)
{
	wait_event(completion_waiters, READ_ONCE(x->done));
	take(x);
}

void wait_for_completion_io(struct completion *x)
{
	wait_for_completion(x);
}

int wait_for_completion_interruptible(struct completion *x)
{
	wait_for_completion(x);
	return 0;
}

int wait_for_completion_killable(struct completion *x)
{
	wait_for_completion(x);
	return 0;
}

unsigned long wait_for_completion_timeout(struct completion *x, unsigned long timeout)
{
	long left = wait_event_timeout(completion_waiters, READ_ONCE(x->done), timeout);

	if (!left)
		return 0;
	take(x);
	return left;
}

unsigned long wait_for_completion_io_timeout(struct completion *x, unsigned long timeout)
{
	return wait_for_completion_timeout(x, timeout);
}

long wait_for_completion_interruptible_timeout(struct completion *x, unsigned long timeout)
{
	return wait_for_completion_timeout(x, timeout);
}

long wait_for_completion_killable_timeout(struct completion *x, unsigned long timeout)
{
	return wait_for_completion_timeout(x, timeout);
}

bool try_wait_for_completion(struct completion *x)
{
	if (!READ_ONCE(x->done))
		return false;
	take(x);
	return true;
}

bool completion_done(struct completion *x)
{
	return READ_ONCE(x->done) != 0;
}

/* ---- read-write semaphores: count = readers, or -1 for a writer ---- */

static DECLARE_WAIT_QUEUE_HEAD(rwsem_waiters);

void __init_rwsem(struct rw_semaphore *sem, const char *name, struct lock_class_key *key)
{
	atomic_long_set(&sem->count, 0);
	atomic_long_set(&sem->owner, 0);
	raw_spin_lock_init(&sem->wait_lock);
	INIT_LIST_HEAD(&sem->wait_list);
}

void down_read(struct rw_semaphore *sem)
{
	wait_event(rwsem_waiters, atomic_long_read(&sem->count) >= 0);
	atomic_long_inc(&sem->count);
}

int down_read_killable(struct rw_semaphore *sem)
{
	down_read(sem);
	return 0;
}

int down_read_trylock(struct rw_semaphore *sem)
{
	if (atomic_long_read(&sem->count) < 0)
		return 0;
	atomic_long_inc(&sem->count);
	return 1;
}

void down_write(struct rw_semaphore *sem)
{
	if (atomic_long_read(&sem->owner) == (long)current)
		panic("lx_emul: rw_semaphore %px taken twice for writing by %s", sem, current->comm);
	wait_event(rwsem_waiters, atomic_long_read(&sem->count) == 0);
	atomic_long_set(&sem->count, -1);
	atomic_long_set(&sem->owner, (long)current);
}

int down_write_killable(struct rw_semaphore *sem)
{
	down_write(sem);
	return 0;
}

int down_write_trylock(struct rw_semaphore *sem)
{
	if (atomic_long_read(&sem->count))
		return 0;
	atomic_long_set(&sem->count, -1);
	atomic_long_set(&sem->owner, (long)current);
	return 1;
}

void up_read(struct rw_semaphore *sem)
{
	if (atomic_long_dec_return(&sem->count) == 0)
		wake_up_all(&rwsem_waiters);
}

void up_write(struct rw_semaphore *sem)
{
	atomic_long_set(&sem->owner, 0);
	atomic_long_set(&sem->count, 0);
	wake_up_all(&rwsem_waiters);
}

void downgrade_write(struct rw_semaphore *sem)
{
	atomic_long_set(&sem->owner, 0);
	atomic_long_set(&sem->count, 1);
	wake_up_all(&rwsem_waiters);
}

/* ---- counting semaphores (kernel/locking/semaphore.c) ---- */

static DECLARE_WAIT_QUEUE_HEAD(sem_waiters);

static bool sem_take(struct semaphore *sem)
{
	unsigned long flags;
	bool taken = false;

	raw_spin_lock_irqsave(&sem->lock, flags);
	if (sem->count > 0) {
		sem->count--;
		taken = true;
	}
	raw_spin_unlock_irqrestore(&sem->lock, flags);
	return taken;
}

void down(struct semaphore *sem)
{
	wait_event(sem_waiters, sem_take(sem));
}

int down_interruptible(struct semaphore *sem)
{
	down(sem);	/* no signals reach a driver's tasks */
	return 0;
}

int down_killable(struct semaphore *sem)
{
	down(sem);
	return 0;
}

int down_trylock(struct semaphore *sem)
{
	return !sem_take(sem);
}

int down_timeout(struct semaphore *sem, long timeout)
{
	return wait_event_timeout(sem_waiters, sem_take(sem), timeout) ? 0 : -ETIME;
}

void up(struct semaphore *sem)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&sem->lock, flags);
	sem->count++;
	raw_spin_unlock_irqrestore(&sem->lock, flags);
	wake_up_all(&sem_waiters);
}

/*
 * ---- sleepable RCU: readers may sleep, so a grace period waits until
 * no reader of the domain is inside (srcu_gp_seq counts them here) ----
 */

static DECLARE_WAIT_QUEUE_HEAD(srcu_waiters);

int init_srcu_struct(struct srcu_struct *ssp)
{
	memset(ssp, 0, sizeof(*ssp));
	return 0;
}

void cleanup_srcu_struct(struct srcu_struct *ssp)
{
	if (READ_ONCE(ssp->srcu_gp_seq))
		panic("lx_emul: srcu domain %px cleaned up with readers inside", ssp);
}

int __srcu_read_lock(struct srcu_struct *ssp)
{
	WRITE_ONCE(ssp->srcu_gp_seq, ssp->srcu_gp_seq + 1);
	return 0;
}

void __srcu_read_unlock(struct srcu_struct *ssp, int idx)
{
	WRITE_ONCE(ssp->srcu_gp_seq, ssp->srcu_gp_seq - 1);
	if (!ssp->srcu_gp_seq)
		wake_up_all(&srcu_waiters);
}

void synchronize_srcu(struct srcu_struct *ssp)
{
	wait_event(srcu_waiters, READ_ONCE(ssp->srcu_gp_seq) == 0);
}

/* ---- waiting for I/O is waiting ---- */

void io_schedule(void)
{
	schedule();
}

long io_schedule_timeout(long timeout)
{
	return schedule_timeout(timeout);
}
