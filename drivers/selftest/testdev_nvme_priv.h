/*
 * testdev_nvme_priv — what testdev_nvme.c (setup, admin, synchronous
 * I/O) and testdev_nvme_stream.c (the polled benchmark loop) share: the
 * register map, the queue structures and the submission/completion
 * mechanics. Private to the NVMe testdev driver.
 */
#ifndef TESTDEV_NVME_PRIV_H
#define TESTDEV_NVME_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <ddekit/ddekit.h>

#include "testdev.h"
#include "testdev_util.h"

enum {
	NVME_CAP = 0x00,
	NVME_VS = 0x08,
	NVME_INTMS = 0x0c,
	NVME_INTMC = 0x10,
	NVME_CC = 0x14,
	NVME_CSTS = 0x1c,
	NVME_AQA = 0x24,
	NVME_ASQ = 0x28,
	NVME_ACQ = 0x30,
	NVME_DOORBELLS = 0x1000,
};

#define CC_EN		(1u << 0)
#define CC_IOSQES	(6u << 16)	/* 64-byte SQ entries */
#define CC_IOCQES	(4u << 20)	/* 16-byte CQ entries */
#define CSTS_RDY	(1u << 0)
#define CSTS_CFS	(1u << 1)

#define OP_CREATE_SQ	0x01
#define OP_READ		0x02
#define OP_CREATE_CQ	0x05
#define OP_IDENTIFY	0x06

#define QUEUE_DEPTH	64
#define PAGE		4096u
#define MAX_CHUNK	(256u * 1024)
#define STREAM_BUFS	4
#define MAX_STREAM_DEPTH 32
#define PRP_LIST_PAGES	(STREAM_BUFS + 1)	/* the last for sync reads */
#define CMD_TIMEOUT_NS	5000000000ull

struct nvme_sqe {
	uint32_t cdw0;		/* opcode 7:0, command id 31:16 */
	uint32_t nsid;
	uint64_t rsvd;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;	/* phase in bit 0 */
};

struct nvme_queue {
	unsigned qid;
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	uint64_t sq_bus, cq_bus;
	unsigned sq_tail, cq_head;
	uint16_t phase;
};

struct testdev_nvme {
	struct testdev_base b;
	unsigned long irq_count;	/* atomic */
	bool msix;			/* vectors: admin queue on the first, I/O on the next */
	unsigned vec_first;
	struct nvme_vector {
		struct testdev_nvme *n;
		unsigned long count;	/* atomic */
	} vec[2];
	unsigned stride;		/* doorbell stride in bytes */
	uint64_t cap;
	uint32_t vs;
	uint32_t max_transfer;		/* bytes per command */

	struct nvme_queue admin, io;
	void *scratch;			/* identify data */
	uint64_t scratch_bus;
	uint64_t *prp_lists;		/* one page per stream buffer */
	uint64_t prp_lists_bus;

	uint64_t blocks;
	uint32_t block_size;
	char model[41];
};

static inline void nvme_sq_doorbell(struct testdev_nvme *n,
				    struct nvme_queue *q)
{
	/* Entries must be visible to the device before it sees the tail. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	testdev_wr32(n->b.regs, NVME_DOORBELLS + 2 * q->qid * n->stride,
		     q->sq_tail);
}

static inline void nvme_cq_doorbell(struct testdev_nvme *n,
				    struct nvme_queue *q)
{
	testdev_wr32(n->b.regs, NVME_DOORBELLS + (2 * q->qid + 1) * n->stride,
		     q->cq_head);
}

/* Put @cmd at the SQ tail with command id = slot; the caller rings. */
static inline unsigned nvme_queue_cmd(struct nvme_queue *q,
				      struct nvme_sqe *cmd)
{
	unsigned slot = q->sq_tail;

	cmd->cdw0 = (cmd->cdw0 & 0xffff) | slot << 16;
	q->sq[slot] = *cmd;
	q->sq_tail = (slot + 1) % QUEUE_DEPTH;
	return slot;
}

/* Take the next completion if the device has posted one (phase check). */
static inline bool nvme_reap(struct nvme_queue *q, struct nvme_cqe *out)
{
	struct nvme_cqe *c = &q->cq[q->cq_head];

	if ((__atomic_load_n(&c->status, __ATOMIC_ACQUIRE) & 1) != q->phase)
		return false;
	*out = *c;
	if (++q->cq_head == QUEUE_DEPTH) {
		q->cq_head = 0;
		q->phase ^= 1;
	}
	return true;
}

/*
 * Fill PRP1/PRP2 for @bytes at bus address @bus, using @list (a page of
 * DMA memory at @list_bus) when more than two pages are touched.
 */
static inline void nvme_set_prps(struct nvme_sqe *cmd, uint64_t bus,
				 uint32_t bytes, uint64_t *list,
				 uint64_t list_bus)
{
	uint64_t page = (bus & ~(uint64_t)(PAGE - 1)) + PAGE;
	uint32_t first = PAGE - (bus & (PAGE - 1));
	unsigned i;

	cmd->prp1 = bus;
	cmd->prp2 = 0;
	if (bytes <= first)
		return;
	if (bytes - first <= PAGE) {
		cmd->prp2 = page;
		return;
	}
	for (i = 0; first + i * PAGE < bytes; i++)
		list[i] = page + (uint64_t)i * PAGE;
	cmd->prp2 = list_bus;
}

static inline struct nvme_sqe nvme_read_cmd(uint64_t lba, uint32_t count)
{
	return (struct nvme_sqe){ .cdw0 = OP_READ, .nsid = 1,
				  .cdw10 = (uint32_t)lba,
				  .cdw11 = (uint32_t)(lba >> 32),
				  .cdw12 = count - 1 };
}

#endif
