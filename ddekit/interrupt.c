/*
 * ddekit interrupts: one thread per attached line. The event thread
 * (client.c) posts a semaphore when the I/O server delivers the line; the
 * line's thread runs the handler and then unmasks the line at the server,
 * which delivers it again at once if the device still asserts it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "client.h"

#define LINES 256

struct irq_line {
	void (*handler)(void *);
	void *arg;
	struct ddekit_thread *thread;
	struct ddekit_sem *pending;
	int masked;		/* nesting count of ddekit_irq_mask */
	bool stop;
};

static struct irq_line line[LINES];
static pthread_mutex_t irq_lock = PTHREAD_MUTEX_INITIALIZER;

static int irq_request(uint16_t op, unsigned irq)
{
	struct ddeio_msg m = { .op = op, .addr = irq };

	return ddeio_call(&m, NULL, 0, NULL, NULL);
}

static void irq_thread(void *arg)
{
	struct irq_line *l = arg;
	unsigned irq = (unsigned)(l - line);

	for (;;) {
		ddekit_sem_down(l->pending, 0);
		if (l->stop)
			break;
		l->handler(l->arg);
		pthread_mutex_lock(&irq_lock);
		if (!l->masked && !l->stop)
			irq_request(DDEIO_OP_IRQ_UNMASK, irq);	/* the EOI */
		pthread_mutex_unlock(&irq_lock);
	}
}

void ddekit_irq_dispatch(unsigned irq)
{
	if (irq < LINES && line[irq].pending)
		ddekit_sem_up(line[irq].pending);
}

static bool granted(unsigned irq)
{
	const struct ddeio_grant *g = ddeio_grant();

	for (unsigned i = 0; g && i < g->ndev; i++)
		if (g->dev[i].irq == irq || g->dev[i].legacy_irq[0] == irq ||
		    g->dev[i].legacy_irq[1] == irq)
			return true;
	return false;
}

int ddekit_irq_attach(unsigned irq, void (*handler)(void *arg), void *arg)
{
	struct irq_line *l = &line[irq < LINES ? irq : 0];
	char name[32];
	int r;

	if (irq >= LINES || irq == DDEKIT_IRQ_NONE || !granted(irq)) {
		ddekit_set_error("interrupt line %u is not wired to a device of this driver", irq);
		ddekit_log(DDEKIT_LOG_ERROR, "%s", ddekit_last_error());
		return -EACCES;
	}
	pthread_mutex_lock(&irq_lock);
	if (l->thread) {
		pthread_mutex_unlock(&irq_lock);
		ddekit_set_error("interrupt line %u already has a handler", irq);
		return -EBUSY;
	}
	l->handler = handler;
	l->arg = arg;
	l->stop = false;
	l->masked = 0;
	l->pending = ddekit_sem_create(0);
	snprintf(name, sizeof(name), "irq%u", irq);
	l->thread = l->pending ? ddekit_thread_create(name, irq_thread, l) : NULL;
	if (!l->thread) {
		ddekit_sem_destroy(l->pending);
		l->pending = NULL;
		pthread_mutex_unlock(&irq_lock);
		return -ENOMEM;
	}
	r = irq_request(DDEIO_OP_IRQ_UNMASK, irq);
	pthread_mutex_unlock(&irq_lock);
	if (r)
		ddekit_irq_detach(irq);
	return r;
}

int ddekit_irq_detach(unsigned irq)
{
	struct irq_line *l;
	struct ddekit_thread *t;

	if (irq >= LINES || !line[irq].thread)
		return -ENOENT;
	l = &line[irq];
	pthread_mutex_lock(&irq_lock);
	irq_request(DDEIO_OP_IRQ_MASK, irq);
	l->stop = true;
	t = l->thread;
	pthread_mutex_unlock(&irq_lock);
	ddekit_sem_up(l->pending);
	ddekit_thread_join(t);
	pthread_mutex_lock(&irq_lock);
	ddekit_sem_destroy(l->pending);
	l->pending = NULL;
	l->thread = NULL;
	pthread_mutex_unlock(&irq_lock);
	return 0;
}

int ddekit_irq_mask(unsigned irq)
{
	int r = 0;

	if (irq >= LINES || !line[irq].thread)
		return -ENOENT;
	pthread_mutex_lock(&irq_lock);
	if (line[irq].masked++ == 0)
		r = irq_request(DDEIO_OP_IRQ_MASK, irq);
	pthread_mutex_unlock(&irq_lock);
	return r;
}

int ddekit_irq_unmask(unsigned irq)
{
	int r = 0;

	if (irq >= LINES || !line[irq].thread)
		return -ENOENT;
	pthread_mutex_lock(&irq_lock);
	if (line[irq].masked > 0 && --line[irq].masked == 0)
		r = irq_request(DDEIO_OP_IRQ_UNMASK, irq);
	pthread_mutex_unlock(&irq_lock);
	return r;
}
