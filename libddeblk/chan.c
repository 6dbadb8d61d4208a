/* The bddf channel's rings and doorbells (libddeblk/chan.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan.h"

int ddeblk_chan_map(struct ddeblk_chan *c, int fd, uint32_t depth, uint32_t max_io, int create,
		    void *ext)
{
	uint64_t size = ddeblk_shm_size(depth, ext ? 0 : max_io);
	uint8_t *p;

	if (!depth || depth > 1024 || max_io < 512 || max_io > (8u << 20) || max_io % 512)
		return -EINVAL;
	if (create && ftruncate(fd, (off_t)size))
		return -errno;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	c->shm = (struct ddeblk_shm *)p;
	c->size = size;
	c->depth = depth;
	c->max_io = max_io;
	c->sqe = (struct ddeblk_sqe *)(p + sizeof(struct ddeblk_shm));
	c->cqe = (struct ddeblk_cqe *)(c->sqe + depth);
	/* the data slots start on a page (or are elsewhere) */
	c->data = ext ? ext : (uint8_t *)(((uintptr_t)(c->cqe + depth) + 4095) & ~(uintptr_t)4095);
	c->ext_size = ext ? (uint64_t)depth * max_io : 0;
	if (create) {
		c->shm->magic = DDEBLK_MAGIC;
		c->shm->version = DDEBLK_VERSION;
		c->shm->depth = depth;
		c->shm->max_io = max_io;
	} else if (c->shm->magic != DDEBLK_MAGIC || c->shm->version != DDEBLK_VERSION ||
		   c->shm->depth != depth || c->shm->max_io != max_io) {
		munmap(p, size);
		c->shm = NULL;
		return -EPROTO;
	}
	return 0;
}

void ddeblk_chan_unmap(struct ddeblk_chan *c)
{
	if (c->shm)
		munmap(c->shm, c->size);
	c->shm = NULL;
}

/*
 * head and tail run freely (mod 2^32); an entry is index % depth. The
 * other side may write anything into them: a distance beyond depth is a
 * broken ring.
 */
static int push(struct ddeblk_ring *r, uint32_t depth, void *ents, size_t esz, const void *e)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head - tail > depth)
		return -EPROTO;
	if (head - tail == depth)
		return -EAGAIN;
	memcpy((uint8_t *)ents + (head % depth) * esz, e, esz);
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return 0;
}

static int pop(struct ddeblk_ring *r, uint32_t depth, void *ents, size_t esz, void *e, int take)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (head - tail > depth)
		return -EPROTO;
	if (head == tail)
		return -EAGAIN;
	memcpy(e, (uint8_t *)ents + (tail % depth) * esz, esz);
	if (take)
		atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return 0;
}

int ddeblk_sq_push(struct ddeblk_chan *c, const struct ddeblk_sqe *e)
{
	return push(&c->shm->sq, c->depth, c->sqe, sizeof(*e), e);
}

int ddeblk_sq_pop(struct ddeblk_chan *c, struct ddeblk_sqe *e)
{
	return pop(&c->shm->sq, c->depth, c->sqe, sizeof(*e), e, 1);
}

int ddeblk_sq_peek(struct ddeblk_chan *c, struct ddeblk_sqe *e)
{
	return pop(&c->shm->sq, c->depth, c->sqe, sizeof(*e), e, 0);
}

int ddeblk_cq_push(struct ddeblk_chan *c, const struct ddeblk_cqe *e)
{
	return push(&c->shm->cq, c->depth, c->cqe, sizeof(*e), e);
}

int ddeblk_cq_pop(struct ddeblk_chan *c, struct ddeblk_cqe *e)
{
	return pop(&c->shm->cq, c->depth, c->cqe, sizeof(*e), e, 1);
}
