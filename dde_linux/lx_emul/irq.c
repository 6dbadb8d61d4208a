/*
 * Interrupt entry: Linux's handlers of a line run in hard-interrupt context
 * (preempt count HARDIRQ, interrupt flag clear) on the Linux CPU when
 * ddekit delivers the line; the line is acknowledged after they return.
 * Shared lines, disable/enable nesting and threaded handlers (a kernel
 * thread per action, woken by IRQ_WAKE_THREAD) behave as in Linux.
 */
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <lx_kit/kit.h>
#include "lx_emul.h"

struct lx_irq_action {
	irq_handler_t handler, thread_fn;
	void *dev_id;
	const char *name;
	unsigned int irq;
	struct task_struct *thread;
	bool thread_pending;
	struct lx_irq_action *next;
};

struct lx_irq_line {
	struct lx_irq_action *actions;
	int depth;		/* disable_irq nesting */
	bool attached;
};

#define LINES 256
static struct lx_irq_line lines[LINES];
extern unsigned long lx_emul_irq_flags;

static void handle_line(void *arg)
{
	struct lx_irq_line *l = arg;
	unsigned long flags = lx_emul_irq_flags;

	if (l->depth)
		return;	/* masked meanwhile; the line stays masked */
	__preempt_count_add(HARDIRQ_OFFSET);
	lx_emul_irq_flags = 0;
	for (struct lx_irq_action *a = l->actions; a; a = a->next) {
		irqreturn_t r = a->handler(a->irq, a->dev_id);

		if (r == IRQ_WAKE_THREAD && a->thread) {
			a->thread_pending = true;
			wake_up_process(a->thread);
		}
	}
	lx_emul_irq_flags = flags;
	__preempt_count_sub(HARDIRQ_OFFSET);
}

static int irq_thread(void *arg)
{
	struct lx_irq_action *a = arg;

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			return 0;
		}
		if (!a->thread_pending) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		a->thread_pending = false;
		a->thread_fn(a->irq, a->dev_id);
	}
}

static irqreturn_t default_primary(int irq, void *dev_id)
{
	return IRQ_WAKE_THREAD;
}

int request_threaded_irq(unsigned int irq, irq_handler_t handler, irq_handler_t thread_fn,
			 unsigned long flags, const char *name, void *dev)
{
	struct lx_irq_line *l;
	struct lx_irq_action *a;

	if (irq >= LINES || (!handler && !thread_fn))
		return -EINVAL;
	l = &lines[irq];
	if (l->actions && !(flags & IRQF_SHARED))
		return -EBUSY;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	a->handler = handler ? handler : default_primary;
	a->thread_fn = thread_fn;
	a->dev_id = dev;
	a->name = name;
	a->irq = irq;
	if (thread_fn) {
		a->thread = kthread_run(irq_thread, a, "irq/%u-%s", irq, name);
		if (IS_ERR(a->thread)) {
			int r = PTR_ERR(a->thread);

			kfree(a);
			return r;
		}
	}
	a->next = l->actions;
	l->actions = a;
	if (!l->attached) {
		int r = lx_kit_irq_attach(irq, handle_line, l);

		if (r) {
			l->actions = a->next;
			if (a->thread)
				kthread_stop(a->thread);
			kfree(a);
			pr_err("lx_emul: interrupt %u is not granted to this driver (%d)\n", irq, r);
			return r;
		}
		l->attached = true;
	}
	return 0;
}

const void *free_irq(unsigned int irq, void *dev_id)
{
	struct lx_irq_line *l;
	const char *name = NULL;

	if (irq >= LINES)
		return NULL;
	l = &lines[irq];
	for (struct lx_irq_action **pp = &l->actions; *pp; pp = &(*pp)->next) {
		struct lx_irq_action *a = *pp;

		if (a->dev_id != dev_id)
			continue;
		*pp = a->next;
		name = a->name;
		if (a->thread)
			kthread_stop(a->thread);
		kfree(a);
		break;
	}
	if (!name)
		WARN(1, "Trying to free already-free IRQ %u\n", irq);
	if (!l->actions && l->attached) {
		lx_kit_irq_detach(irq);
		l->attached = false;
	}
	return name;
}

void disable_irq_nosync(unsigned int irq)
{
	if (irq < LINES && lines[irq].depth++ == 0 && lines[irq].attached)
		lx_kit_irq_mask(irq);
}

/*
 * No handler of ours can be running while Linux code calls this: handlers
 * run on the same (only) CPU between tasks.
 */
void disable_irq(unsigned int irq)
{
	disable_irq_nosync(irq);
}

bool disable_hardirq(unsigned int irq)
{
	disable_irq_nosync(irq);
	return true;
}

void enable_irq(unsigned int irq)
{
	if (irq >= LINES)
		return;
	if (!lines[irq].depth) {
		WARN(1, "Unbalanced enable for IRQ %u\n", irq);
		return;
	}
	if (--lines[irq].depth == 0 && lines[irq].attached)
		lx_kit_irq_unmask(irq);
}

void synchronize_irq(unsigned int irq)
{
	/* see disable_irq; a threaded handler finishes before its thread sleeps */
}

bool synchronize_hardirq(unsigned int irq)
{
	return true;
}

/*
 * ISA interrupt autoprobing (pcnet32's VLB probe, old NICs): a driver
 * process has no ISA bus, so no unclaimed line ever fires: the probe finds
 * none, as Linux's does on a machine without ISA devices.
 */
unsigned long probe_irq_on(void)
{
	return 0;
}

int probe_irq_off(unsigned long val)
{
	return 0;
}

/* an interrupt's CPU affinity hint: there is one CPU */
int __irq_apply_affinity_hint(unsigned int irq, const struct cpumask *m, bool setaffinity)
{
	return 0;
}
