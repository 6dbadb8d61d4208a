/*
 * ddekit interrupts: one thread per attached line.
 *
 * INTx (and legacy ISA) lines: the event thread (client.c) posts a
 * semaphore when the I/O server delivers the line; the line's thread runs
 * the handler and then unmasks the line at the server, which delivers it
 * again at once if the device still asserts it.
 *
 * Message-signalled vectors (lines DDEKIT_MSI_LINES..): the I/O server
 * hands over one eventfd per vector, which the machine signals when the
 * device sends the message. The line's thread waits on it and runs the
 * handler: no server in between, nothing to acknowledge (a message is an
 * edge). Masking is ours alone: a message that comes while the line is
 * masked is held and run at the unmask.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "client.h"

#define LINES 256

struct irq_line {
	void (*handler)(void *);
	void *arg;
	struct ddekit_thread *thread;
	struct ddekit_sem *pending;	/* INTx: delivered by the event thread */
	int efd;			/* a vector's eventfd; -1 for INTx lines */
	int dev;			/* a vector's device (grant index) */
	int masked;			/* nesting count of ddekit_irq_mask */
	bool held;			/* a vector's message came while masked */
	bool stop;
	unsigned long count;		/* handler runs */
};

static struct irq_line line[LINES];
static pthread_mutex_t irq_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_vector(unsigned irq)
{
	return irq >= DDEKIT_MSI_LINES && irq < LINES && line[irq].efd >= 0;
}

static int irq_request(uint16_t op, unsigned irq)
{
	struct ddeio_msg m = { .op = op, .addr = irq };

	return is_vector(irq) ? 0 : ddeio_call(&m, NULL, 0, NULL, NULL);
}

static void kick(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0) {
		/* a full counter: it is pending anyway */
	}
}

static void intx_thread(void *arg)
{
	struct irq_line *l = arg;
	unsigned irq = (unsigned)(l - line);

	for (;;) {
		ddekit_sem_down(l->pending, 0);
		if (l->stop)
			break;
		l->count++;
		l->handler(l->arg);
		pthread_mutex_lock(&irq_lock);
		if (!l->masked && !l->stop)
			irq_request(DDEIO_OP_IRQ_UNMASK, irq);	/* the EOI */
		pthread_mutex_unlock(&irq_lock);
	}
}

static void vector_thread(void *arg)
{
	struct irq_line *l = arg;

	for (;;) {
		struct pollfd pfd = { l->efd, POLLIN, 0 };
		uint64_t n;

		/* poll first: the eventfd may be non-blocking (QEMU and VFIO make
		 * theirs so, and it is the same file) */
		if (poll(&pfd, 1, -1) < 0 || read(l->efd, &n, sizeof(n)) != sizeof(n))
			continue;
		pthread_mutex_lock(&irq_lock);
		if (l->stop) {
			pthread_mutex_unlock(&irq_lock);
			break;
		}
		if (l->masked) {
			l->held = true;
			pthread_mutex_unlock(&irq_lock);
			continue;
		}
		pthread_mutex_unlock(&irq_lock);
		l->count++;
		l->handler(l->arg);
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

	if (irq >= DDEKIT_MSI_LINES)
		return is_vector(irq);
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
	l->held = false;
	l->masked = 0;
	if (is_vector(irq)) {
		snprintf(name, sizeof(name), "msi%u", irq);
		l->thread = ddekit_thread_create(name, vector_thread, l);
		pthread_mutex_unlock(&irq_lock);
		return l->thread ? 0 : -ENOMEM;
	}
	l->pending = ddekit_sem_create(0);
	snprintf(name, sizeof(name), "irq%u", irq);
	l->thread = l->pending ? ddekit_thread_create(name, intx_thread, l) : NULL;
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
	if (l->efd >= 0)
		kick(l->efd);
	else
		ddekit_sem_up(l->pending);
	ddekit_thread_join(t);
	pthread_mutex_lock(&irq_lock);
	if (l->pending)
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
	struct irq_line *l;
	int r = 0;

	if (irq >= LINES || !line[irq].thread)
		return -ENOENT;
	l = &line[irq];
	pthread_mutex_lock(&irq_lock);
	if (l->masked > 0 && --l->masked == 0) {
		r = irq_request(DDEIO_OP_IRQ_UNMASK, irq);
		if (l->held) {
			l->held = false;
			kick(l->efd);	/* run what came while masked */
		}
	}
	pthread_mutex_unlock(&irq_lock);
	return r;
}

unsigned long ddekit_irq_count(unsigned irq)
{
	return irq < LINES ? line[irq].count : 0;
}

/* ---- message-signalled vectors of a device ---- */

static __attribute__((constructor)) void no_vectors(void)
{
	for (unsigned i = 0; i < LINES; i++)
		line[i].efd = -1;
}

int ddekit_pci_msi_enable(unsigned index, enum ddekit_msi_kind kind, unsigned min,
			  unsigned max, unsigned *first, enum ddekit_msi_kind *used)
{
	struct ddeio_msg m = { .op = DDEIO_OP_MSI_ENABLE, .dev = index, .size = kind,
			       .addr = min, .value = max };
	int fds[DDEIO_MAX_VECTORS], n = 0, r;
	unsigned start, run = 0;

	r = ddeio_call_fds(&m, fds, DDEIO_MAX_VECTORS, &n);
	if (r)
		return r;
	if (n < 1 || n != (int)m.value) {
		for (int i = 0; i < n; i++)
			close(fds[i]);
		ddekit_set_error("the I/O server granted %llu vectors with %d eventfds",
				 (unsigned long long)m.value, n);
		ddekit_pci_msi_disable(index);
		return -EPROTO;
	}
	pthread_mutex_lock(&irq_lock);
	for (start = DDEKIT_MSI_LINES; start < LINES && run < (unsigned)n; start++)
		run = line[start].efd < 0 && !line[start].thread ? run + 1 : 0;
	if (run < (unsigned)n) {
		pthread_mutex_unlock(&irq_lock);
		for (int i = 0; i < n; i++)
			close(fds[i]);
		ddekit_pci_msi_disable(index);
		ddekit_set_error("no room for %d more interrupt vectors", n);
		return -ENOSPC;
	}
	start -= (unsigned)n;
	for (int i = 0; i < n; i++) {
		line[start + (unsigned)i].efd = fds[i];
		line[start + (unsigned)i].dev = (int)index;
		line[start + (unsigned)i].count = 0;
	}
	pthread_mutex_unlock(&irq_lock);
	*first = start;
	if (used)
		*used = (enum ddekit_msi_kind)m.size;
	return n;
}

int ddekit_pci_msi_disable(unsigned index)
{
	struct ddeio_msg m = { .op = DDEIO_OP_MSI_DISABLE, .dev = index };
	unsigned mine[LINES], n = 0;

	/* the device's vectors, picked under the lock; detached outside it */
	pthread_mutex_lock(&irq_lock);
	for (unsigned i = DDEKIT_MSI_LINES; i < LINES; i++)
		if (line[i].efd >= 0 && line[i].dev == (int)index)
			mine[n++] = i;
	pthread_mutex_unlock(&irq_lock);
	for (unsigned k = 0; k < n; k++) {
		unsigned i = mine[k];

		if (line[i].thread)
			ddekit_irq_detach(i);
		pthread_mutex_lock(&irq_lock);
		close(line[i].efd);
		line[i].efd = -1;
		pthread_mutex_unlock(&irq_lock);
	}
	return ddeio_call(&m, NULL, 0, NULL, NULL);
}
