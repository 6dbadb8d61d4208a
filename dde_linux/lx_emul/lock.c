/*
 * Locks on one CPU without preemption: a spinlock can never be contended
 * (its holder cannot be interrupted by another task), so taking it only
 * records the fact; interrupts are "disabled" by construction, since
 * handlers run only between tasks. Mutexes and semaphores do sleep.
 */
#include <linux/mutex.h>
#include <linux/semaphore.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "lx_emul.h"

void __lockfunc _raw_spin_lock(raw_spinlock_t *lock)
{
	if (lock->raw_lock.val.counter)
		panic("lx_emul: spinlock %px taken twice (a deadlock on one CPU)", lock);
	lock->raw_lock.val.counter = 1;
}

void __lockfunc _raw_spin_unlock(raw_spinlock_t *lock)
{
	lock->raw_lock.val.counter = 0;
}

int __lockfunc _raw_spin_trylock(raw_spinlock_t *lock)
{
	if (lock->raw_lock.val.counter)
		return 0;
	lock->raw_lock.val.counter = 1;
	return 1;
}

unsigned long __lockfunc _raw_spin_lock_irqsave(raw_spinlock_t *lock)
{
	_raw_spin_lock(lock);
	return 0;
}

void __lockfunc _raw_spin_unlock_irqrestore(raw_spinlock_t *lock, unsigned long flags)
{
	_raw_spin_unlock(lock);
}

void __lockfunc _raw_spin_lock_irq(raw_spinlock_t *lock)
{
	_raw_spin_lock(lock);
}

void __lockfunc _raw_spin_unlock_irq(raw_spinlock_t *lock)
{
	_raw_spin_unlock(lock);
}

void __lockfunc _raw_spin_lock_bh(raw_spinlock_t *lock)
{
	local_bh_disable();
	_raw_spin_lock(lock);
}

void __lockfunc _raw_spin_unlock_bh(raw_spinlock_t *lock)
{
	_raw_spin_unlock(lock);
	local_bh_enable();
}

/*
 * ---- reader-writer spinlocks (qrwlock's counter): on one CPU a holder is
 * never interrupted by another task, so a writer meeting anyone, or a
 * reader meeting a writer, is a deadlock ----
 */

void __lockfunc _raw_read_lock(rwlock_t *lock)
{
	if (atomic_read(&lock->raw_lock.cnts) & _QW_WMASK)
		panic("lx_emul: rwlock %px read-locked under its writer", lock);
	atomic_add(_QR_BIAS, &lock->raw_lock.cnts);
}

void __lockfunc _raw_read_unlock(rwlock_t *lock)
{
	atomic_sub(_QR_BIAS, &lock->raw_lock.cnts);
}

void __lockfunc _raw_write_lock(rwlock_t *lock)
{
	if (atomic_read(&lock->raw_lock.cnts))
		panic("lx_emul: rwlock %px write-locked while held", lock);
	atomic_set(&lock->raw_lock.cnts, _QW_LOCKED);
}

void __lockfunc _raw_write_unlock(rwlock_t *lock)
{
	atomic_set(&lock->raw_lock.cnts, 0);
}

#define RWLOCK_VARIANTS(kind)								\
unsigned long __lockfunc _raw_##kind##_lock_irqsave(rwlock_t *lock)			\
{											\
	_raw_##kind##_lock(lock);							\
	return 0;									\
}											\
void __lockfunc _raw_##kind##_unlock_irqrestore(rwlock_t *lock, unsigned long flags)	\
{											\
	_raw_##kind##_unlock(lock);							\
}											\
void __lockfunc _raw_##kind##_lock_irq(rwlock_t *lock)				\
{											\
	_raw_##kind##_lock(lock);							\
}											\
void __lockfunc _raw_##kind##_unlock_irq(rwlock_t *lock)				\
{											\
	_raw_##kind##_unlock(lock);							\
}											\
void __lockfunc _raw_##kind##_lock_bh(rwlock_t *lock)					\
{											\
	local_bh_disable();								\
	_raw_##kind##_lock(lock);							\
}											\
void __lockfunc _raw_##kind##_unlock_bh(rwlock_t *lock)				\
{											\
	_raw_##kind##_unlock(lock);							\
	local_bh_enable();								\
}
RWLOCK_VARIANTS(read)
RWLOCK_VARIANTS(write)

/* ---- mutexes: the owner field, and sleeping waiters ---- */

static DECLARE_WAIT_QUEUE_HEAD(mutex_waiters);

void __mutex_init(struct mutex *lock, const char *name, struct lock_class_key *key)
{
	atomic_long_set(&lock->owner, 0);
}

void mutex_lock(struct mutex *lock)
{
	if (atomic_long_read(&lock->owner) == (long)current)
		panic("lx_emul: mutex %px locked twice by %s", lock, current->comm);
	wait_event(mutex_waiters, atomic_long_read(&lock->owner) == 0);
	atomic_long_set(&lock->owner, (long)current);
}

int mutex_lock_interruptible(struct mutex *lock)
{
	mutex_lock(lock);
	return 0;
}

int mutex_lock_killable(struct mutex *lock)
{
	mutex_lock(lock);
	return 0;
}

int mutex_trylock(struct mutex *lock)
{
	if (atomic_long_read(&lock->owner))
		return 0;
	atomic_long_set(&lock->owner, (long)current);
	return 1;
}

void mutex_unlock(struct mutex *lock)
{
	atomic_long_set(&lock->owner, 0);
	wake_up_all(&mutex_waiters);
}

bool mutex_is_locked(struct mutex *lock)
{
	return atomic_long_read(&lock->owner) != 0;
}

/* ---- bottom halves ---- */

void __local_bh_enable_ip(unsigned long ip, unsigned int cnt)
{
	__preempt_count_sub(cnt);
	if (!in_interrupt() && !softirq_count())
		lx_emul_softirqs_run();
}

void _local_bh_enable(void)
{
	__preempt_count_sub(SOFTIRQ_DISABLE_OFFSET);
}
