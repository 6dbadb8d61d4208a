/* Shared-memory frame rings of the netd channel (see ring.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"

void ddenet_q_init(struct ddenet_q *q, struct ddenet_shm *shm, bool up, int peer_bell)
{
	q->r = up ? &shm->up : &shm->down;
	q->slots = (uint8_t *)(shm + 1) + (up ? 0 : (size_t)DDENET_SLOTS * DDENET_SLOT);
	q->peer_bell = peer_bell;
}

/* The ring's fill level; anything impossible means the peer broke it. */
static int used(struct ddenet_ring *r, uint32_t *head, uint32_t *tail)
{
	*head = atomic_load_explicit(&r->head, memory_order_acquire);
	*tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	return *head - *tail > DDENET_SLOTS ? -EPROTO : (int)(*head - *tail);
}

int ddenet_q_push(struct ddenet_q *q, const void *frame, uint32_t len)
{
	uint32_t head, tail;
	int n = used(q->r, &head, &tail);
	uint8_t *slot;

	if (n < 0)
		return n;
	if (len > DDENET_SLOT - 4)
		return -EMSGSIZE;
	if (n == DDENET_SLOTS)
		return -EAGAIN;
	slot = q->slots + (size_t)(head % DDENET_SLOTS) * DDENET_SLOT;
	memcpy(slot, &len, 4);
	memcpy(slot + 4, frame, len);
	atomic_store_explicit(&q->r->head, head + 1, memory_order_release);
	return 0;
}

void ddenet_q_wake_consumer(struct ddenet_q *q)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_exchange(&q->r->want_data, 0))
		bell_ring(q->peer_bell);
}

bool ddenet_q_wait_space(struct ddenet_q *q)
{
	uint32_t head, tail;

	atomic_store(&q->r->want_space, 1);
	atomic_thread_fence(memory_order_seq_cst);
	return used(q->r, &head, &tail) != DDENET_SLOTS;
}

int ddenet_q_pop(struct ddenet_q *q, void *buf, uint32_t max)
{
	uint32_t head, tail, len;
	int n = used(q->r, &head, &tail);
	const uint8_t *slot;

	if (n < 0)
		return n;
	if (n == 0)
		return -EAGAIN;
	slot = q->slots + (size_t)(tail % DDENET_SLOTS) * DDENET_SLOT;
	memcpy(&len, slot, 4);
	if (len > DDENET_SLOT - 4)
		return -EPROTO;
	memcpy(buf, slot + 4, len < max ? len : max);
	atomic_store_explicit(&q->r->tail, tail + 1, memory_order_release);
	return (int)len;
}

void ddenet_q_wake_producer(struct ddenet_q *q)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_exchange(&q->r->want_space, 0))
		bell_ring(q->peer_bell);
}

bool ddenet_q_wait_data(struct ddenet_q *q)
{
	uint32_t head, tail;

	atomic_store(&q->r->want_data, 1);
	atomic_thread_fence(memory_order_seq_cst);
	return used(q->r, &head, &tail) != 0;
}
