/*
 * Block class glue: connects the driver's disks to the block server, bddf.
 * Each gendisk the driver adds is announced to bddf; bddf's requests (read,
 * write, flush of a byte range of a disk) become blk-mq requests on the
 * disk's queue, their data in the request's slot (the driver's DMA memory,
 * given to bddf: no copy) or else a DMA-able copy, inserted as Linux's
 * own passthrough path inserts them (no bio-level splitting, merging,
 * cgroups or throttling: bddf sends requests within the queue's limits).
 * Completions go back as the driver completes them.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/kthread.h>
#include <linux/radix-tree.h>
#include <linux/slab.h>

#include <lx_kit/blk.h>
#include <lx_kit/kit.h>
#include "blk.h"		/* Linux's block/: blk_dev_init */
#include "blk-mq-sched.h"	/* Linux's block/: blk_mq_sched_insert_request */
#include "lx_emul.h"
#include "block.h"

#define MAX_DISKS 16
#define MAX_IO (1u << 20)	/* bytes per request at most, whatever the queue allows */

static struct {
	struct gendisk *disk[MAX_DISKS];
	struct task_struct *io_task;
	bool attached;
	bool completed;		/* completions to tell bddf about */
} glue;

struct lx_block_io {
	unsigned long long cookie;
	void *buf;		/* the data, DMA-able: the slot itself, or a copy */
	void *data;		/* the request's slot in the channel */
	unsigned len;
	bool read;
};

static int disk_index(struct gendisk *disk)
{
	for (int i = 0; i < MAX_DISKS; i++)
		if (glue.disk[i] == disk)
			return i;
	return -1;
}

static void announce(int i)
{
	struct gendisk *disk = glue.disk[i];
	struct request_queue *q = disk->queue;
	struct lx_kit_blk_disk d = { 0 };
	int r;

	strscpy(d.name, disk->disk_name, sizeof(d.name));
	d.bytes = (unsigned long long)get_capacity(disk) << SECTOR_SHIFT;
	d.sector_size = queue_logical_block_size(q);
	d.max_io = min_t(unsigned, queue_max_hw_sectors(q) << SECTOR_SHIFT, MAX_IO);
	d.read_only = get_disk_ro(disk);
	d.write_cache = test_bit(QUEUE_FLAG_WC, &q->queue_flags);
	d.fua = test_bit(QUEUE_FLAG_FUA, &q->queue_flags);
	/* bddf's discards are at most max_io: within any limit the driver sets */
	d.discard = (unsigned long long)q->limits.max_discard_sectors << SECTOR_SHIFT >= d.max_io;
	pr_info("%s: %llu bytes (%llu MiB), %u-byte sectors, requests up to %u KiB%s%s%s%s\n",
		d.name, d.bytes, d.bytes >> 20, d.sector_size, d.max_io >> 10,
		d.read_only ? ", read-only" : "", d.write_cache ? ", write cache" : "",
		d.fua ? ", FUA" : "", d.discard ? ", discard" : "");
	r = lx_kit_blk_disk(i, &d);
	if (r < 0)
		pr_err("%s: cannot announce to the block server: %d\n", d.name, r);
}

void lx_block_disk_added(struct gendisk *disk)
{
	for (int i = 0; i < MAX_DISKS; i++) {
		if (!glue.disk[i]) {
			glue.disk[i] = disk;
			announce(i);
			return;
		}
	}
	pr_warn("%s: more than %d disks in one driver process: not served\n", disk->disk_name,
		MAX_DISKS);
}

void lx_block_disk_changed(struct gendisk *disk)
{
	int i = disk_index(disk);

	if (i >= 0)
		announce(i);
}

void lx_block_disk_removed(struct gendisk *disk)
{
	int i = disk_index(disk);

	if (i < 0)
		return;
	pr_info("%s: removed\n", disk->disk_name);
	lx_kit_blk_disk_gone(i);
	glue.disk[i] = NULL;
}

/* ---- requests ---- */

static void complete_io(unsigned long long cookie, int status)
{
	lx_kit_blk_done(cookie, status);
	glue.completed = true;
	wake_up_process(glue.io_task);	/* it tells bddf, once per batch */
}

/*
 * The request's outcome as bddf's clients know it: the disk's own failures
 * — a medium error (Linux: -ENODATA), a timeout, a transport or protection
 * error — are -EIO; what bddf must tell apart keeps its meaning.
 */
static int client_errno(blk_status_t status)
{
	int err = blk_status_to_errno(status);

	switch (err) {
	case 0:
	case -EOPNOTSUPP:	/* an operation the disk has not */
	case -ENOSPC:
	case -ENOMEM:
	case -EAGAIN:
	case -ENODEV:		/* the disk went away */
		return err;
	default:
		return -EIO;
	}
}

static enum rq_end_io_ret end_io(struct request *rq, blk_status_t status)
{
	struct lx_block_io *io = rq->end_io_data;
	int err = client_errno(status);

	if (io->read && !err && io->buf != io->data)
		memcpy(io->data, io->buf, io->len);
	complete_io(io->cookie, err);
	if (io->buf != io->data)
		kfree(io->buf);
	kfree(io);
	return RQ_END_IO_FREE;
}

/* the request's end gives its bio back (a mapped bio's own end_io does that) */
static void discard_bio_done(struct bio *bio)
{
	bio_put(bio);
}

static int submit(const struct lx_kit_blk_req *r)
{
	bool zero_copy = lx_kit_blk_zero_copy();
	struct gendisk *disk = r->disk < MAX_DISKS ? glue.disk[r->disk] : NULL;
	struct request_queue *q;
	struct lx_block_io *io;
	struct request *rq;
	blk_opf_t opf;
	int err;

	if (!disk)
		return -ENXIO;
	q = disk->queue;
	switch (r->op) {
	case LX_KIT_BLK_READ:
		opf = REQ_OP_READ;
		break;
	case LX_KIT_BLK_WRITE:
		opf = REQ_OP_WRITE;
		if (r->flags & LX_KIT_BLK_FUA) {
			if (!test_bit(QUEUE_FLAG_FUA, &q->queue_flags))
				return -EOPNOTSUPP;	/* bddf follows with a flush */
			opf |= REQ_FUA;
		}
		break;
	case LX_KIT_BLK_FLUSH:
		if (!test_bit(QUEUE_FLAG_WC, &q->queue_flags))
			return 0;	/* nothing is cached: done (as Linux does) */
		opf = REQ_OP_FLUSH;
		break;
	case LX_KIT_BLK_DISCARD:
		if ((unsigned long long)q->limits.max_discard_sectors << SECTOR_SHIFT < r->len)
			return -EOPNOTSUPP;
		opf = REQ_OP_DISCARD;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (r->op != LX_KIT_BLK_FLUSH &&
	    (!r->len || r->len > MAX_IO || r->offset % queue_logical_block_size(q) ||
	     r->len % queue_logical_block_size(q) ||
	     (r->offset + r->len) >> SECTOR_SHIFT > get_capacity(disk)))
		return -EINVAL;
	io = kzalloc(sizeof(*io), GFP_NOIO);
	if (!io)
		return -ENOMEM;
	io->cookie = r->cookie;
	io->data = r->data;
	io->len = r->len;
	io->read = r->op == LX_KIT_BLK_READ;
	rq = blk_mq_alloc_request(q, opf, 0);	/* waits for a free tag */
	if (IS_ERR(rq)) {
		kfree(io);
		return PTR_ERR(rq);
	}
	if (r->op == LX_KIT_BLK_DISCARD) {
		/* a range without data: one bio of no pages, as blkdev_issue_discard makes */
		struct bio *bio = bio_alloc(NULL, 0, opf, GFP_NOIO);

		if (!bio) {
			blk_mq_free_request(rq);
			kfree(io);
			return -ENOMEM;
		}
		bio->bi_iter.bi_sector = r->offset >> SECTOR_SHIFT;
		bio->bi_iter.bi_size = r->len;
		bio->bi_end_io = discard_bio_done;
		blk_rq_bio_prep(rq, bio, 1);
	} else if (r->op != LX_KIT_BLK_FLUSH) {
		/* the slot itself when it is DMA memory, else a copy */
		io->buf = zero_copy ? r->data : kmalloc(r->len, GFP_NOIO);
		err = io->buf ? 0 : -ENOMEM;
		if (!err && !io->read && !zero_copy)
			memcpy(io->buf, r->data, r->len);
		if (!err)
			err = blk_rq_map_kern(q, rq, io->buf, r->len, GFP_NOIO);
		if (err) {
			blk_mq_free_request(rq);
			if (!zero_copy)
				kfree(io->buf);
			kfree(io);
			return err;
		}
		rq->bio->bi_iter.bi_sector = r->offset >> SECTOR_SHIFT;
	}
	rq->__sector = r->offset >> SECTOR_SHIFT;
	rq->end_io = end_io;
	rq->end_io_data = io;
	blk_mq_sched_insert_request(rq, false, true, false);
	return 1;
}

static void kick(void *arg)
{
	wake_up_process(glue.io_task);
}

static int io_thread(void *arg)
{
	while (!kthread_should_stop()) {
		struct lx_kit_blk_req r;
		int rc;

		set_current_state(TASK_INTERRUPTIBLE);
		if (glue.completed) {
			glue.completed = false;
			lx_kit_blk_flush();
		}
		if (!glue.attached || !lx_kit_blk_next(&r)) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		rc = submit(&r);
		if (rc <= 0)
			complete_io(r.cookie, rc);
	}
	return 0;
}

static int __init lx_block_init(void)
{
	int r;

	radix_tree_init();	/* start_kernel's: the nodes of xarrays (bio slabs, tags, IDs) */
	blk_dev_init();		/* genhd's initcall: kblockd and the queue cache */
	glue.io_task = kthread_run(io_thread, NULL, "blk-io");
	if (IS_ERR(glue.io_task))
		return PTR_ERR(glue.io_task);
	r = lx_kit_blk_attach(kick, NULL);
	if (r < 0)	/* started to serve bddf: without it, stop */
		panic("cannot attach to the block server ($DDE_BLK): %pe", ERR_PTR(r));
	glue.attached = r == 0;
	return 0;
}
core_initcall(lx_block_init);
