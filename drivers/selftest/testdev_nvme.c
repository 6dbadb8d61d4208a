/*
 * testdev_nvme — a minimal NVMe driver for QEMU's `nvme` (1b36:0010),
 * written only against ddekit: an admin queue and one I/O queue pair in
 * DMA memory, INTx interrupts (or two MSI-X vectors, one per queue) for
 * synchronous commands. The polled
 * benchmark loop is in testdev_nvme_stream.c. See testdev.h.
 *
 * Interrupts: the controller holds INTx asserted while a completion queue
 * has unconsumed entries. The handler only masks vector 0 (INTMS, a
 * posted write), counts and wakes the waiter; the waiter consumes the
 * completions, rings the CQ head doorbell and unmasks (INTMC) before it
 * sleeps again. So the handler needs no register reads at all.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "testdev_nvme_priv.h"

static void nvme_irq_handler(void *arg)
{
	struct testdev_nvme *n = arg;

	testdev_wr32(n->b.regs, NVME_INTMS, 1);
	__atomic_fetch_add(&n->irq_count, 1, __ATOMIC_RELAXED);
	ddekit_sem_up(n->b.irq_sem);
}

/* MSI-X: a message per batch of completions, nothing to mask. */
static void nvme_vector_handler(void *arg)
{
	struct nvme_vector *v = arg;

	__atomic_fetch_add(&v->count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&v->n->irq_count, 1, __ATOMIC_RELAXED);
	ddekit_sem_up(v->n->b.irq_sem);
}

/*
 * Submit one command and wait for its completion by interrupt.
 * Returns 0, -EIO (NVMe error status) or -ETIMEDOUT.
 */
static int nvme_sync_cmd(struct testdev_nvme *n, struct nvme_queue *q,
			 struct nvme_sqe *cmd, const char *what)
{
	uint64_t deadline = ddekit_clock_ns() + CMD_TIMEOUT_NS, now;
	unsigned cid = nvme_queue_cmd(q, cmd);
	struct nvme_cqe c;

	nvme_sq_doorbell(n, q);
	for (;;) {
		if (nvme_reap(q, &c)) {
			nvme_cq_doorbell(n, q);
			if (c.cid != cid)
				continue;	/* a stale completion */
			if (c.status >> 1) {
				testdev_err(&n->b, "%s failed, status 0x%04x",
					    what, c.status >> 1);
				return -EIO;
			}
			return 0;
		}
		now = ddekit_clock_ns();
		if (now > deadline)
			break;
		/* Unmask before sleeping: the handler left vector 0 masked. */
		if (!n->msix)
			testdev_wr32(n->b.regs, NVME_INTMC, 1);
		ddekit_sem_down(n->b.irq_sem, (deadline - now) / 1000 + 1);
	}
	testdev_err(&n->b, "%s did not complete within %llu s (%lu interrupts so far)",
		    what, CMD_TIMEOUT_NS / 1000000000ull,
		    __atomic_load_n(&n->irq_count, __ATOMIC_RELAXED));
	return -ETIMEDOUT;
}

static int nvme_alloc_queue(struct testdev_nvme *n, struct nvme_queue *q,
			    unsigned qid)
{
	q->qid = qid;
	q->phase = 1;
	q->sq = ddekit_dma_alloc(QUEUE_DEPTH * sizeof(*q->sq), PAGE, &q->sq_bus);
	q->cq = ddekit_dma_alloc(QUEUE_DEPTH * sizeof(*q->cq), PAGE, &q->cq_bus);
	if (!q->sq || !q->cq) {
		testdev_err(&n->b, "out of DMA memory for queue %u", qid);
		return -ENOMEM;
	}
	return 0;
}

static int nvme_identify(struct testdev_nvme *n)
{
	const uint8_t *id = n->scratch;
	struct nvme_sqe cmd = { .cdw0 = OP_IDENTIFY, .prp1 = n->scratch_bus,
				.cdw10 = 1 };	/* CNS 1: controller */
	unsigned lbaf, mdts, i;
	int err;

	err = nvme_sync_cmd(n, &n->admin, &cmd, "identify controller");
	if (err)
		return err;
	memcpy(n->model, id + 24, 40);
	for (i = 40; i > 0 && (n->model[i - 1] == ' ' || !n->model[i - 1]); i--)
		;
	n->model[i] = 0;
	mdts = id[77];
	n->max_transfer = MAX_CHUNK;
	if (mdts && (PAGE << mdts) < n->max_transfer)
		n->max_transfer = PAGE << mdts;

	cmd = (struct nvme_sqe){ .cdw0 = OP_IDENTIFY, .nsid = 1,
				 .prp1 = n->scratch_bus };	/* CNS 0: namespace */
	err = nvme_sync_cmd(n, &n->admin, &cmd, "identify namespace 1");
	if (err)
		return err;
	memcpy(&n->blocks, id, 8);
	lbaf = id[26] & 0xf;
	n->block_size = 1u << id[128 + 4 * lbaf + 2];
	if (!n->blocks || n->block_size < 512 || n->block_size > PAGE) {
		testdev_err(&n->b, "namespace 1 unusable (%llu blocks of %u bytes)",
			    (unsigned long long)n->blocks, n->block_size);
		return -ENODEV;
	}
	return 0;
}

static int nvme_create_io_queues(struct testdev_nvme *n)
{
	uint32_t size_qid = (QUEUE_DEPTH - 1) << 16 | n->io.qid;
	struct nvme_sqe cmd = { .cdw0 = OP_CREATE_CQ, .prp1 = n->io.cq_bus,
				.cdw10 = size_qid,
				.cdw11 = (uint32_t)n->msix << 16 | 1 << 1 | 1 };	/* vector, IEN, PC */
	int err;

	err = nvme_sync_cmd(n, &n->admin, &cmd, "create I/O completion queue");
	if (err)
		return err;

	cmd = (struct nvme_sqe){ .cdw0 = OP_CREATE_SQ, .prp1 = n->io.sq_bus,
				 .cdw10 = size_qid,
				 .cdw11 = n->io.qid << 16 | 1 };	/* its CQ, PC */
	return nvme_sync_cmd(n, &n->admin, &cmd, "create I/O submission queue");
}

/* Reset the controller (CC.EN 1 -> 0) and bring it up with the admin queue. */
static int nvme_enable(struct testdev_nvme *n)
{
	unsigned timeout_ms = ((n->cap >> 24) & 0xff) * 500 + 500;
	uint32_t csts = 0;
	int err;

	testdev_wr32(n->b.regs, NVME_CC, 0);
	err = testdev_poll32(n->b.regs, NVME_CSTS, CSTS_RDY, 0, timeout_ms,
			     1000, &csts);
	if (err) {
		testdev_err(&n->b, "controller did not stop (CSTS 0x%08x): %d",
			    csts, err);
		return err;
	}
	testdev_bus_master(n->b.dev);
	testdev_wr32(n->b.regs, NVME_AQA, (QUEUE_DEPTH - 1) << 16 | (QUEUE_DEPTH - 1));
	testdev_wr32(n->b.regs, NVME_ASQ, (uint32_t)n->admin.sq_bus);
	testdev_wr32(n->b.regs, NVME_ASQ + 4, (uint32_t)(n->admin.sq_bus >> 32));
	testdev_wr32(n->b.regs, NVME_ACQ, (uint32_t)n->admin.cq_bus);
	testdev_wr32(n->b.regs, NVME_ACQ + 4, (uint32_t)(n->admin.cq_bus >> 32));
	testdev_wr32(n->b.regs, NVME_CC, CC_EN | CC_IOSQES | CC_IOCQES);
	err = testdev_poll32(n->b.regs, NVME_CSTS, CSTS_RDY | CSTS_CFS, CSTS_RDY,
			     timeout_ms, 1000, &csts);
	if (err) {
		testdev_err(&n->b, "controller did not become ready (CSTS 0x%08x): %d",
			    csts, err);
		return err;
	}
	return 0;
}

/* INTx, or MSI-X vectors (0: admin queue, 1: I/O queue) */
static int nvme_interrupts(struct testdev_nvme *n)
{
	int r;

	if (!n->msix)
		return testdev_base_attach(&n->b, nvme_irq_handler, n);
	r = ddekit_pci_msi_enable(n->b.dev, DDEKIT_MSI_MSIX, 2, 2, &n->vec_first, NULL);
	if (r < 0) {
		n->msix = false;
		testdev_err(&n->b, "no MSI-X: %s", ddekit_last_error());
		return r;
	}
	n->msix = true;
	for (unsigned v = 0; v < 2; v++) {
		n->vec[v].n = n;
		r = ddekit_irq_attach(n->vec_first + v, nvme_vector_handler, &n->vec[v]);
		if (r) {
			testdev_err(&n->b, "cannot attach vector %u: %s", v, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int nvme_open(unsigned dev, bool msix, struct testdev_nvme **out)
{
	struct testdev_nvme *n;
	uint32_t lo = 0, hi = 0;
	int err;

	*out = NULL;
	n = ddekit_mem_alloc(sizeof(*n));
	if (!n) {
		ddekit_log(DDEKIT_LOG_ERROR, "nvme dev%u: out of memory", dev);
		return -ENOMEM;
	}
	n->msix = msix;
	err = testdev_base_init(&n->b, dev, 0, "nvme");
	if (err)
		goto err_close;
	err = testdev_rd32(n->b.regs, NVME_CAP, &lo);
	if (!err)
		err = testdev_rd32(n->b.regs, NVME_CAP + 4, &hi);
	if (!err)
		err = testdev_rd32(n->b.regs, NVME_VS, &n->vs);
	if (err) {
		testdev_err(&n->b, "reading CAP/VS failed: %s", ddekit_last_error());
		goto err_close;
	}
	n->cap = (uint64_t)hi << 32 | lo;
	n->stride = 4u << ((n->cap >> 32) & 0xf);
	if (((n->cap >> 48) & 0xf) > 0) {	/* MPSMIN above 4 KiB */
		testdev_err(&n->b, "4 KiB pages not supported (CAP 0x%016llx)",
			    (unsigned long long)n->cap);
		err = -ENODEV;
		goto err_close;
	}

	err = nvme_alloc_queue(n, &n->admin, 0);
	if (!err)
		err = nvme_alloc_queue(n, &n->io, 1);
	if (err)
		goto err_close;
	err = -ENOMEM;
	n->scratch = ddekit_dma_alloc(PAGE, PAGE, &n->scratch_bus);
	n->prp_lists = ddekit_dma_alloc(PRP_LIST_PAGES * PAGE, PAGE,
					&n->prp_lists_bus);
	if (!n->scratch || !n->prp_lists) {
		testdev_err(&n->b, "out of DMA memory");
		goto err_close;
	}

	/* MSI-X first: QEMU's nvme takes the admin queue's vector into use
	 * when the controller is enabled, and only if MSI-X is on by then */
	err = nvme_interrupts(n);
	if (err)
		goto err_close;
	err = nvme_enable(n);
	if (err)
		goto err_close;

	err = nvme_identify(n);
	if (!err)
		err = nvme_create_io_queues(n);
	if (err)
		goto err_close;
	*out = n;
	return 0;

err_close:
	testdev_nvme_close(n);
	return err;
}

int testdev_nvme_open(unsigned dev, struct testdev_nvme **out)
{
	return nvme_open(dev, false, out);
}

int testdev_nvme_open_msix(unsigned dev, struct testdev_nvme **out)
{
	return nvme_open(dev, true, out);
}

unsigned long testdev_nvme_vector_count(struct testdev_nvme *n, unsigned v)
{
	return v < 2 ? __atomic_load_n(&n->vec[v].count, __ATOMIC_RELAXED) : 0;
}

void testdev_nvme_close(struct testdev_nvme *n)
{
	uint32_t csts;

	if (!n)
		return;
	if (n->b.regs) {
		/* Disabling the controller deletes the queues and stops DMA. */
		testdev_wr32(n->b.regs, NVME_INTMS, 1);
		testdev_wr32(n->b.regs, NVME_CC, 0);
		testdev_poll32(n->b.regs, NVME_CSTS, CSTS_RDY, 0, 1000, 1000, &csts);
	}
	if (n->msix)
		ddekit_pci_msi_disable(n->b.dev);	/* detaches the vectors */
	testdev_base_fini(&n->b);
	testdev_dma_free(n->prp_lists);
	testdev_dma_free(n->scratch);
	testdev_dma_free(n->io.sq);
	testdev_dma_free(n->io.cq);
	testdev_dma_free(n->admin.sq);
	testdev_dma_free(n->admin.cq);
	ddekit_mem_free(n);
}

int testdev_nvme_regs(struct testdev_nvme *n, uint64_t *cap, uint32_t *vs)
{
	*cap = n->cap;
	*vs = n->vs;
	return 0;
}

int testdev_nvme_info(struct testdev_nvme *n, uint64_t *blocks,
		      uint32_t *block_size, char model[41])
{
	*blocks = n->blocks;
	*block_size = n->block_size;
	memcpy(model, n->model, 41);
	return 0;
}

unsigned long testdev_nvme_irq_count(struct testdev_nvme *n)
{
	return __atomic_load_n(&n->irq_count, __ATOMIC_RELAXED);
}

int testdev_nvme_read(struct testdev_nvme *n, uint64_t lba, uint32_t count,
		      void *buf)
{
	uint64_t bus = ddekit_dma_virt_to_bus(buf);
	uint32_t per_cmd = n->max_transfer / n->block_size;
	struct nvme_sqe cmd;
	int err;

	if (!bus) {
		testdev_err(&n->b, "read buffer %p is not DMA memory", buf);
		return -EINVAL;
	}
	if (lba + count > n->blocks || lba + count < lba) {
		testdev_err(&n->b, "read of %u blocks at %llu beyond the end (%llu)",
			    count, (unsigned long long)lba,
			    (unsigned long long)n->blocks);
		return -EINVAL;
	}
	while (count) {
		uint32_t c = count < per_cmd ? count : per_cmd;

		cmd = nvme_read_cmd(lba, c);
		nvme_set_prps(&cmd, bus, c * n->block_size,
			      n->prp_lists + STREAM_BUFS * (PAGE / 8),
			      n->prp_lists_bus + STREAM_BUFS * PAGE);
		err = nvme_sync_cmd(n, &n->io, &cmd, "read");
		if (err)
			return err;
		lba += c;
		count -= c;
		bus += (uint64_t)c * n->block_size;
	}
	return 0;
}

int testdev_nvme_read_to_bus(struct testdev_nvme *n, uint64_t lba, uint64_t bus)
{
	struct nvme_sqe cmd = nvme_read_cmd(lba, 1);

	if (lba >= n->blocks || n->block_size > PAGE - (bus & (PAGE - 1)))
		return -EINVAL;
	cmd.prp1 = bus;		/* one block inside one page: no list */
	return nvme_sync_cmd(n, &n->io, &cmd, "read to a chosen bus address");
}
