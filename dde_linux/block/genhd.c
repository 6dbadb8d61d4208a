/*
 * Disks, as much of Linux's genhd and bdev as a driver process needs: a
 * gendisk with its whole-disk block_device (part0), a capacity, and its
 * addition and removal, which the block glue (glue.c) turns into disks at
 * the block server. Linux's own block/genhd.c and bdev.c reach the page
 * cache, inodes, cgroups and sysfs; partitions are bddf's business, above
 * every driver. Requests still go through Linux's blk-mq unchanged.
 */
#include <linux/blkdev.h>
#include <linux/backing-dev.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/blk-mq.h>
#include <linux/part_stat.h>
#include <linux/slab.h>

#include "blk.h"		/* Linux's block/ (blk_queue_start_drain) */
#include "blk-mq.h"
#include "blk-rq-qos.h"
#include "block.h"

struct class block_class = { .name = "block" };

/* a disk is live while its part0's inode is hashed (disk_live()) */
static HLIST_HEAD(live_disks);

/*
 * The last reference to a disk gone (put_disk), as Linux's disk_release:
 * the queue reference the disk holds is dropped (a SCSI device's queue
 * outlives its disk; a queue the disk owns goes with it), the driver's
 * free_disk runs (sd's drops its scsi_disk, and so the SCSI device, its
 * host and the USB device under them), and the disk is freed.
 */
static void disk_release(struct device *dev)
{
	struct gendisk *disk = dev_to_disk(dev);
	struct request_queue *q = disk->queue;

	if (queue_is_mq(q) && test_bit(GD_OWNS_QUEUE, &disk->state) &&
	    !test_bit(GD_ADDED, &disk->state))
		blk_mq_exit_queue(q);	/* never added: del_gendisk did not */
	xa_destroy(&disk->part_tbl);
	q->disk = NULL;
	blk_put_queue(q);
	if (test_bit(GD_ADDED, &disk->state) && disk->fops && disk->fops->free_disk)
		disk->fops->free_disk(disk);
	free_percpu(disk->part0->bd_stats);
	kfree(disk->part0->bd_inode);
	kfree(disk->bdi);
	kfree(disk->part0);
	kfree(disk);
}

const struct device_type disk_type = { .name = "disk", .release = disk_release };

struct gendisk *__alloc_disk_node(struct request_queue *q, int node_id,
				  struct lock_class_key *lkclass)
{
	struct gendisk *disk = kzalloc(sizeof(*disk), GFP_KERNEL);
	struct block_device *part0 = kzalloc(sizeof(*part0), GFP_KERNEL);
	struct inode *inode = kzalloc(sizeof(*inode), GFP_KERNEL);
	/* the queue's limits are copied into it; nobody writes back through it */
	struct backing_dev_info *bdi = kzalloc(sizeof(*bdi), GFP_KERNEL);

	if (!disk || !part0 || !inode || !bdi)
		goto fail;
	kref_init(&bdi->refcnt);
	bdi->ra_pages = (SZ_128K / PAGE_SIZE);
	bdi->io_pages = (SZ_128K / PAGE_SIZE);
	disk->bdi = bdi;
	INIT_HLIST_NODE(&inode->i_hash);
	part0->bd_inode = inode;
	part0->bd_stats = alloc_percpu(struct disk_stats);
	if (!part0->bd_stats)
		goto fail;
	disk->queue = q;
	disk->part0 = part0;
	disk->node_id = node_id;
	part0->bd_disk = disk;
	part0->bd_queue = q;
	part0->bd_partno = 0;
	spin_lock_init(&part0->bd_size_lock);
	mutex_init(&part0->bd_fsfreeze_mutex);
	mutex_init(&disk->open_mutex);
	xa_init(&disk->part_tbl);
	disk_to_dev(disk)->class = &block_class;
	disk_to_dev(disk)->type = &disk_type;
	device_initialize(disk_to_dev(disk));
	q->disk = disk;
	return disk;
fail:
	if (part0)
		free_percpu(part0->bd_stats);
	kfree(bdi);
	kfree(inode);
	kfree(part0);
	kfree(disk);
	return NULL;
}

void set_capacity(struct gendisk *disk, sector_t sectors)
{
	disk->part0->bd_nr_sectors = sectors;
}

bool set_capacity_and_notify(struct gendisk *disk, sector_t size)
{
	sector_t before = get_capacity(disk);

	set_capacity(disk, size);
	if (before == size || !disk_live(disk))
		return false;
	pr_info("%s: detected capacity change from %llu to %llu\n", disk->disk_name,
		(unsigned long long)before, (unsigned long long)size);
	lx_block_disk_changed(disk);
	return true;
}

void set_disk_ro(struct gendisk *disk, bool read_only)
{
	if (read_only == test_bit(GD_READ_ONLY, &disk->state))
		return;
	if (read_only)
		set_bit(GD_READ_ONLY, &disk->state);
	else
		clear_bit(GD_READ_ONLY, &disk->state);
	if (disk_live(disk))
		lx_block_disk_changed(disk);
}

/* block majors name device nodes nobody opens here: any request is granted */
int __register_blkdev(unsigned int major, const char *name, void (*probe)(dev_t devt))
{
	static unsigned int dynamic = BLKDEV_MAJOR_MAX;

	return major ? 0 : (int)--dynamic;
}

void unregister_blkdev(unsigned int major, const char *name)
{
}

void disk_uevent(struct gendisk *disk, enum kobject_action action)
{
}

int device_add_disk(struct device *parent, struct gendisk *disk,
		    const struct attribute_group **groups)
{
	disk_to_dev(disk)->parent = parent;
	dev_set_name(disk_to_dev(disk), "%s", disk->disk_name);
	hlist_add_head(&disk->part0->bd_inode->i_hash, &live_disks);
	set_bit(GD_ADDED, &disk->state);
	lx_block_disk_added(disk);
	return 0;
}

void blk_mark_disk_dead(struct gendisk *disk)
{
	set_bit(GD_DEAD, &disk->state);
	blk_queue_start_drain(disk->queue);
}

void del_gendisk(struct gendisk *disk)
{
	struct request_queue *q = disk->queue;

	lx_block_disk_removed(disk);
	hlist_del_init(&disk->part0->bd_inode->i_hash);
	set_bit(GD_DEAD, &disk->state);
	if (test_bit(GD_OWNS_QUEUE, &disk->state))
		blk_queue_flag_set(QUEUE_FLAG_DYING, q);
	set_capacity(disk, 0);
	blk_queue_start_drain(q);
	blk_mq_freeze_queue_wait(q);
	blk_sync_queue(q);
	if (queue_is_mq(q))
		blk_mq_cancel_work_sync(q);
	blk_mq_quiesce_queue(q);
	rq_qos_exit(q);
	blk_mq_unquiesce_queue(q);
	/*
	 * As Linux: a queue the disk does not own (a SCSI device's) takes
	 * requests again (passthrough: the device's remove syncs its cache);
	 * one it owns stays frozen, failing all I/O, and is torn down.
	 */
	if (!test_bit(GD_OWNS_QUEUE, &disk->state)) {
		blk_queue_flag_clear(QUEUE_FLAG_INIT_DONE, q);
		__blk_mq_unfreeze_queue(q, true);
	} else if (queue_is_mq(q)) {
		blk_mq_exit_queue(q);
	}
}

void put_disk(struct gendisk *disk)
{
	if (disk)
		put_device(disk_to_dev(disk));
}
