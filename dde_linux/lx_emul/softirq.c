/*
 * Softirqs: raised by interrupt handlers and timers, run by the lx_kit
 * loop's tick and when bottom halves are enabled again.
 */
#include <linux/interrupt.h>
#include <linux/sched.h>

#include "lx_emul.h"

static unsigned long pending;
static void tasklet_action(struct softirq_action *a);
static void tasklet_hi_action(struct softirq_action *a);
static struct softirq_action actions[NR_SOFTIRQS] = {
	[HI_SOFTIRQ] = { tasklet_hi_action },
	[TASKLET_SOFTIRQ] = { tasklet_action },
};

void open_softirq(int nr, void (*action)(struct softirq_action *))
{
	actions[nr].action = action;
}

void raise_softirq_irqoff(unsigned int nr)
{
	pending |= 1ul << nr;
}

void raise_softirq(unsigned int nr)
{
	raise_softirq_irqoff(nr);
}

void __raise_softirq_irqoff(unsigned int nr)
{
	raise_softirq_irqoff(nr);
}

void lx_emul_softirqs_run(void)
{
	if (in_interrupt())
		return;
	while (pending) {
		unsigned long p = pending;

		pending = 0;
		__preempt_count_add(SOFTIRQ_OFFSET);
		for (unsigned int nr = 0; nr < NR_SOFTIRQS; nr++)
			if (p & (1ul << nr) && actions[nr].action)
				actions[nr].action(&actions[nr]);
		__preempt_count_sub(SOFTIRQ_OFFSET);
	}
}

/*
 * ---- tasklets (kernel/softirq.c's): queued per priority, run by their
 * softirq; one that is disabled or running is queued again ----
 */

static struct tasklet_struct *tl_head[2], **tl_tail[2] = { &tl_head[0], &tl_head[1] };

static void tasklet_queue(struct tasklet_struct *t, int hi)
{
	unsigned long flags;

	local_irq_save(flags);
	t->next = NULL;
	*tl_tail[hi] = t;
	tl_tail[hi] = &t->next;
	raise_softirq_irqoff(hi ? HI_SOFTIRQ : TASKLET_SOFTIRQ);
	local_irq_restore(flags);
}

void __tasklet_schedule(struct tasklet_struct *t)
{
	tasklet_queue(t, 0);
}

void __tasklet_hi_schedule(struct tasklet_struct *t)
{
	tasklet_queue(t, 1);
}

static void tasklets_run(int hi)
{
	struct tasklet_struct *list;
	unsigned long flags;

	local_irq_save(flags);
	list = tl_head[hi];
	tl_head[hi] = NULL;
	tl_tail[hi] = &tl_head[hi];
	local_irq_restore(flags);
	while (list) {
		struct tasklet_struct *t = list;

		list = list->next;
		if (tasklet_trylock(t)) {
			if (!atomic_read(&t->count)) {
				if (!test_and_clear_bit(TASKLET_STATE_SCHED, &t->state))
					BUG();
				if (t->use_callback)
					t->callback(t);
				else
					t->func(t->data);
				tasklet_unlock(t);
				continue;
			}
			tasklet_unlock(t);
		}
		tasklet_queue(t, hi);
	}
}

static void tasklet_action(struct softirq_action *a)
{
	tasklets_run(0);
}

static void tasklet_hi_action(struct softirq_action *a)
{
	tasklets_run(1);
}

void tasklet_setup(struct tasklet_struct *t, void (*callback)(struct tasklet_struct *))
{
	t->next = NULL;
	t->state = 0;
	atomic_set(&t->count, 0);
	t->callback = callback;
	t->use_callback = true;
	t->data = 0;
}

void tasklet_init(struct tasklet_struct *t, void (*func)(unsigned long), unsigned long data)
{
	t->next = NULL;
	t->state = 0;
	atomic_set(&t->count, 0);
	t->func = func;
	t->use_callback = false;
	t->data = data;
}

void tasklet_unlock(struct tasklet_struct *t)
{
	clear_bit(TASKLET_STATE_RUN, &t->state);
}

void tasklet_unlock_wait(struct tasklet_struct *t)
{
	while (test_bit(TASKLET_STATE_RUN, &t->state))
		schedule_timeout_uninterruptible(1);
}

void tasklet_kill(struct tasklet_struct *t)
{
	while (test_and_set_bit(TASKLET_STATE_SCHED, &t->state))
		schedule_timeout_uninterruptible(1);
	tasklet_unlock_wait(t);
	clear_bit(TASKLET_STATE_SCHED, &t->state);
}
