/*
 * The host side of the block class glue: the driver's disks at bddf
 * through libddeblk. A thread of its own sleeps on the channel and hands
 * "requests queued" to the Linux CPU as an lx_kit event; completions are
 * queued from the Linux CPU and bddf is woken once per batch.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddeblk/driver.h>
#include <ddekit/ddekit.h>
#include <lx_kit/blk.h>
#include <lx_kit/kit.h>

static struct {
	struct ddeblk_drv *d;
	struct lx_kit_event *kick;
	struct ddekit_sem *drained;
	atomic_int armed;	/* the channel thread waits for Linux to drain */
	int pending;		/* completions since the last flush */
	int zero_copy;		/* the slots are our DMA memory */
} blk;

static void channel_thread(void *arg)
{
	for (;;) {
		int r = ddeblk_drv_wait(blk.d, -1);

		if (r < 0) {
			if (lx_kit_stopping())
				return;
			lx_kit_panic("the block server is gone");
		}
		if (r == 0)
			continue;
		atomic_store(&blk.armed, 1);
		lx_kit_event_raise(blk.kick);
		ddekit_sem_down(blk.drained, 0);
	}
}

/*
 * The request slots in the driver's own DMA memory, given to bddf: the
 * device then reads and writes the data where bddf puts and takes it.
 * SLOTS slots of SLOT bytes (the size of NVMe's largest command on QEMU's
 * model; bddf splits larger requests): 16 MiB of the 64 MiB region, in
 * place of the buffers the glue would otherwise allocate per request.
 */
#define SLOTS 32
#define SLOT (512u << 10)

static int attach_own_slots(const char *server, const char *name)
{
	uint64_t bus, off;
	void *mem = ddekit_dma_alloc((size_t)SLOTS * SLOT, 4096, &bus);
	int fd, r;

	if (!mem)
		return -ENOMEM;
	fd = ddekit_dma_share(mem, (size_t)SLOTS * SLOT, &off);
	if (fd < 0) {
		ddekit_dma_free(mem);
		return -ENOMEM;
	}
	r = ddeblk_drv_attach_mem(server, name, mem, fd, off, SLOTS, SLOT, &blk.d);
	if (r || !ddeblk_drv_own_slots(blk.d)) {
		ddekit_dma_free(mem);
		if (!r)
			ddekit_log(DDEKIT_LOG_WARN, "the block server did not take DMA memory for "
				   "the request slots (its log says why): requests are copied");
		return r;
	}
	blk.zero_copy = 1;
	return 0;
}

int lx_kit_blk_zero_copy(void)
{
	return blk.zero_copy;
}

int lx_kit_blk_attach(void (*kick)(void *arg), void *arg)
{
	const char *server = getenv("DDE_BLK");
	const char *name = getenv("DDE_DRIVER");	/* NAME@SLOT, from dde run */
	int r;

	if (!server || !*server)
		return 1;
	if (!name || !*name)
		name = lx_kit_driver_name();
	r = attach_own_slots(server, name);
	if (r == -ENOMEM)	/* no DMA memory to spare: bddf's slots, and copies */
		r = ddeblk_drv_attach(server, name, &blk.d);
	if (r)
		return r;
	blk.kick = lx_kit_event_create(kick, arg);
	blk.drained = ddekit_sem_create(0);
	if (!blk.kick || !blk.drained || !ddekit_thread_create("lx-blk", channel_thread, NULL))
		return -ENOMEM;
	ddekit_log(DDEKIT_LOG_INFO, "attached to the block server as %s%s", name,
		   blk.zero_copy ? " (request slots in DMA memory: no copies)" : "");
	return 0;
}

int lx_kit_blk_disk(unsigned index, const struct lx_kit_blk_disk *d)
{
	struct ddeblk_entry e;

	if (!blk.d)
		return 1;
	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", d->name);
	snprintf(e.disk, sizeof(e.disk), "%s", d->name);
	e.size = d->bytes;
	e.sector_size = d->sector_size;
	e.flags = (d->read_only ? DDEBLK_DISK_RO : 0) | (d->write_cache ? DDEBLK_DISK_WC : 0) |
		  (d->fua ? DDEBLK_DISK_FUA : 0) | (d->discard ? DDEBLK_DISK_DISCARD : 0);
	return ddeblk_drv_disk(blk.d, index, &e, d->max_io);
}

void lx_kit_blk_disk_gone(unsigned index)
{
	if (blk.d)
		ddeblk_drv_disk_gone(blk.d, index);
}

int lx_kit_blk_next(struct lx_kit_blk_req *r)
{
	struct ddeblk_req q;
	int rc;

	if (!blk.d)
		return 0;
	rc = ddeblk_drv_next(blk.d, &q);
	if (rc < 0)
		lx_kit_panic("the block server broke the channel");
	if (rc == 0) {
		if (atomic_exchange(&blk.armed, 0))
			ddekit_sem_up(blk.drained);
		/* a request may have come between the pop and disarming */
		rc = ddeblk_drv_next(blk.d, &q);
		if (rc <= 0)
			return 0;
	}
	r->cookie = q.cookie;
	r->offset = q.offset;
	r->len = q.len;
	r->op = q.op;
	r->flags = q.flags;
	r->disk = q.disk;
	r->data = q.data;
	return 1;
}

void lx_kit_blk_done(unsigned long long cookie, int status)
{
	/* bddf never has more requests in flight than the ring holds */
	if (ddeblk_drv_done(blk.d, cookie, status))
		lx_kit_panic("the block server's completion ring is full");
	blk.pending++;
}

void lx_kit_blk_flush(void)
{
	if (blk.pending) {
		ddeblk_drv_kick(blk.d);
		blk.pending = 0;
	}
}
