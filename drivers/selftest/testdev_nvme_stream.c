/*
 * testdev_nvme_stream — the NVMe benchmark loop: keep @depth reads in
 * flight on the I/O queue, poll completions in shared memory (phase
 * bits) and ring doorbells with posted writes only, so no command costs
 * a round trip to the I/O server. See testdev.h.
 */
#include <errno.h>
#include <stdint.h>

#include <ddekit/ddekit.h>

#include "testdev_nvme_priv.h"

int testdev_nvme_read_stream(struct testdev_nvme *n, uint64_t total,
			     uint32_t chunk, unsigned depth)
{
	uint32_t nblocks = chunk / n->block_size;
	uint64_t buf_bus, submitted = 0, lba = 0, deadline;
	unsigned inflight = 0, i, spins = 0;
	struct nvme_sqe cmd, prp[STREAM_BUFS];
	struct nvme_cqe c;
	uint8_t *bufs;
	int err = 0;

	if (chunk < PAGE || chunk > n->max_transfer || chunk % PAGE ||
	    !depth || depth > MAX_STREAM_DEPTH || nblocks > n->blocks) {
		testdev_err(&n->b, "bad stream (chunk %u, 4 KiB..%u KiB, depth %u, 1..%u)",
			    chunk, n->max_transfer / 1024, depth,
			    MAX_STREAM_DEPTH);
		return -EINVAL;
	}
	/* A few buffers serve all commands: the data is thrown away. */
	bufs = ddekit_dma_alloc((size_t)STREAM_BUFS * chunk, PAGE, &buf_bus);
	if (!bufs) {
		testdev_err(&n->b, "out of DMA memory for %u x %u-byte buffers",
			    STREAM_BUFS, chunk);
		return -ENOMEM;
	}
	/* Each buffer keeps its PRP list for the whole stream. */
	for (i = 0; i < STREAM_BUFS; i++)
		nvme_set_prps(&prp[i], buf_bus + (uint64_t)i * chunk, chunk,
			      n->prp_lists + i * (PAGE / 8),
			      n->prp_lists_bus + (uint64_t)i * PAGE);
	/* Completions are polled: keep the line quiet meanwhile. */
	testdev_wr32(n->b.regs, NVME_INTMS, 1);

	/*
	 * After an error, stop submitting but reap what is in flight before
	 * the buffers are freed.
	 */
	deadline = ddekit_clock_ns() + CMD_TIMEOUT_NS;
	while (inflight || (submitted < total && !err)) {
		unsigned queued = 0, reaped = 0;

		while (!err && inflight < depth && submitted < total) {
			if (lba + nblocks > n->blocks)
				lba = 0;
			cmd = nvme_read_cmd(lba, nblocks);
			cmd.prp1 = prp[n->io.sq_tail % STREAM_BUFS].prp1;
			cmd.prp2 = prp[n->io.sq_tail % STREAM_BUFS].prp2;
			nvme_queue_cmd(&n->io, &cmd);
			lba += nblocks;
			submitted += chunk;
			inflight++;
			queued++;
		}
		if (queued)
			nvme_sq_doorbell(n, &n->io);

		while (nvme_reap(&n->io, &c)) {
			if ((c.status >> 1) && !err) {
				testdev_err(&n->b, "stream read failed, status 0x%04x",
					    c.status >> 1);
				err = -EIO;
			}
			inflight--;
			reaped++;
		}
		if (reaped) {
			nvme_cq_doorbell(n, &n->io);
			deadline = ddekit_clock_ns() + CMD_TIMEOUT_NS;
			spins = 0;
			continue;
		}
		if (++spins % 256 == 0) {
			if (ddekit_clock_ns() > deadline) {
				testdev_err(&n->b, "stream read stalled, %u commands outstanding",
					    inflight);
				err = -ETIMEDOUT;
				break;
			}
			ddekit_thread_yield();
		}
		__builtin_ia32_pause();
	}
	if (!inflight)
		ddekit_dma_free(bufs);	/* else leak rather than corrupt */
	return err;
}
