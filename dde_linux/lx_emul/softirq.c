/*
 * Softirqs: raised by interrupt handlers and timers, run by the lx_kit
 * loop's tick and when bottom halves are enabled again.
 */
#include <linux/interrupt.h>

#include "lx_emul.h"

static unsigned long pending;
static struct softirq_action actions[NR_SOFTIRQS];

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
