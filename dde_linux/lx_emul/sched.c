/*
 * Tasks, sleeping and waking, delays: Linux's scheduler interface on the
 * cooperative tasks of lx_kit (one Linux CPU, see lx_kit/kit.h).
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/static_call.h>
#include <linux/string.h>

#include <lx_kit/kit.h>
#include "lx_emul.h"

/* The per-CPU variables of the one CPU (GS base 0: %gs:x is plain x). */
DEFINE_PER_CPU(struct task_struct *, current_task);
DEFINE_PER_CPU(int, __preempt_count) = INIT_PREEMPT_COUNT;
DEFINE_PER_CPU_READ_MOSTLY(int, cpu_number);
DEFINE_PER_CPU_READ_MOSTLY(unsigned long, this_cpu_off);

enum system_states system_state = SYSTEM_RUNNING;

/* Our part of a task: the lx_kit task that runs it. */
struct lx_task {
	struct lx_kit_task *kit;
	int (*fn)(void *);
	void *arg;
	bool should_stop;
	int result;
	struct task_struct *stopper;	/* waiting in kthread_stop */
};

#define LX_TASK(t) ((struct lx_task *)(t)->stack)

void lx_emul_task_init(struct task_struct *t, const char *name)
{
	t->__state = TASK_RUNNING;
	t->stack = kzalloc(sizeof(struct lx_task), GFP_KERNEL);
	t->pid = 1;
	refcount_set(&t->usage, 1);
	strscpy(t->comm, name, sizeof(t->comm));
}

void schedule(void)
{
	struct task_struct *t = current;

	if (READ_ONCE(t->__state) == TASK_RUNNING) {
		lx_kit_task_yield();
		return;
	}
	while (READ_ONCE(t->__state) != TASK_RUNNING)
		lx_kit_task_block();
}

int wake_up_state(struct task_struct *p, unsigned int state)
{
	if (!(READ_ONCE(p->__state) & state))
		return 0;
	WRITE_ONCE(p->__state, TASK_RUNNING);
	if (LX_TASK(p) && LX_TASK(p)->kit)
		lx_kit_task_wakeup(LX_TASK(p)->kit);
	return 1;
}

int wake_up_process(struct task_struct *p)
{
	return wake_up_state(p, TASK_NORMAL);
}

int default_wake_function(struct wait_queue_entry *curr, unsigned mode, int wake_flags,
			  void *key)
{
	return wake_up_state(curr->private, mode);
}

/* ---- sleeping with a timeout ---- */

static void process_timeout(struct timer_list *t)
{
	struct { struct timer_list timer; struct task_struct *task; } *s = (void *)t;

	wake_up_process(s->task);
}

signed long schedule_timeout(signed long timeout)
{
	struct { struct timer_list timer; struct task_struct *task; } s;
	unsigned long expire;

	if (timeout == MAX_SCHEDULE_TIMEOUT) {
		schedule();
		return timeout;
	}
	if (timeout < 0) {
		__set_current_state(TASK_RUNNING);
		return 0;
	}
	expire = timeout + jiffies;
	s.task = current;
	timer_setup_on_stack(&s.timer, process_timeout, 0);
	mod_timer(&s.timer, expire);
	schedule();
	del_timer_sync(&s.timer);
	timeout = expire - jiffies;
	return timeout < 0 ? 0 : timeout;
}

signed long schedule_timeout_uninterruptible(signed long timeout)
{
	__set_current_state(TASK_UNINTERRUPTIBLE);
	return schedule_timeout(timeout);
}

signed long schedule_timeout_interruptible(signed long timeout)
{
	__set_current_state(TASK_INTERRUPTIBLE);
	return schedule_timeout(timeout);
}

void msleep(unsigned int msecs)
{
	unsigned long timeout = msecs_to_jiffies(msecs) + 1;

	while (timeout)
		timeout = schedule_timeout_uninterruptible(timeout);
}

unsigned long msleep_interruptible(unsigned int msecs)
{
	msleep(msecs);
	return 0;
}

/* usleep_range: a precise sleep, not rounded up to jiffies. */
void usleep_range_state(unsigned long min, unsigned long max, unsigned int state)
{
	lx_emul_sleep_ns(min * NSEC_PER_USEC);
}

void __const_udelay(unsigned long xloops)
{
	/* xloops = usecs * 2^32 / 10^6 (asm/delay.h), rounded up */
	lx_kit_busy_wait_ns(((unsigned long long)xloops * 1000000ull >> 32) * 1000 + 1000);
}

void __udelay(unsigned long usecs)
{
	lx_kit_busy_wait_ns(usecs * 1000ull);
}

void __ndelay(unsigned long nsecs)
{
	lx_kit_busy_wait_ns(nsecs);
}

/* Preemption never happens: tasks switch only where they sleep. */
int __cond_resched(void)
{
	return 0;
}

DEFINE_STATIC_CALL_RET0(cond_resched, __cond_resched);
DEFINE_STATIC_CALL_RET0(might_resched, __cond_resched);

/* ---- kernel threads ---- */

static void kthread_entry(void *arg)
{
	struct task_struct *t = arg;
	int r;

	/* created stopped, as in Linux: wake_up_process starts it */
	while (READ_ONCE(t->__state) != TASK_RUNNING)
		lx_kit_task_block();
	r = LX_TASK(t)->should_stop ? -EINTR : LX_TASK(t)->fn(LX_TASK(t)->arg);
	LX_TASK(t)->result = r;
	t->__state = TASK_DEAD;
	if (LX_TASK(t)->stopper)
		wake_up_process(LX_TASK(t)->stopper);
	lx_kit_task_exit();
}

struct task_struct *kthread_create_on_node(int (*threadfn)(void *data), void *data, int node,
					   const char namefmt[], ...)
{
	struct task_struct *t = kzalloc(sizeof(*t), GFP_KERNEL);
	va_list ap;
	char name[TASK_COMM_LEN];

	if (!t)
		return ERR_PTR(-ENOMEM);
	va_start(ap, namefmt);
	vsnprintf(name, sizeof(name), namefmt, ap);
	va_end(ap);
	lx_emul_task_init(t, name);
	LX_TASK(t)->fn = threadfn;
	LX_TASK(t)->arg = data;
	t->__state = TASK_UNINTERRUPTIBLE;
	LX_TASK(t)->kit = lx_kit_task_create(kthread_entry, t, t, name);
	if (!LX_TASK(t)->kit) {
		kfree(t);
		return ERR_PTR(-ENOMEM);
	}
	return t;
}

void lx_emul_task_bind(struct task_struct *t, struct lx_kit_task *kit)
{
	LX_TASK(t)->kit = kit;
}

bool kthread_should_stop(void)
{
	return LX_TASK(current)->should_stop;
}

int kthread_stop(struct task_struct *t)
{
	struct lx_task *lt = LX_TASK(t);
	int r;

	lt->should_stop = true;
	lt->stopper = current;
	wake_up_process(t);
	for (;;) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		if (READ_ONCE(t->__state) == TASK_DEAD)
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	r = lt->result;
	kfree(lt);
	kfree(t);
	return r;
}

/* tasks here have no struct pid (task_pid is NULL): a put of one is of nothing */
void put_pid(struct pid *pid)
{
	if (pid)
		panic("lx_emul: put_pid(%px): no task has a struct pid here", pid);
}

/* give the CPU to another task that is ready (usbcore waits so for a reset) */
void yield(void)
{
	set_current_state(TASK_RUNNING);
	schedule();
}
