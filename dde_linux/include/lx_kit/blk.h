/*
 * The host side of the block class glue (plain C types): the driver's
 * disks served to the block server, bddf, through libddeblk.
 */
#ifndef LX_KIT_BLK_H
#define LX_KIT_BLK_H

struct lx_kit_blk_disk {
	char name[32];
	unsigned long long bytes;
	unsigned sector_size, max_io;
	int read_only, write_cache, fua, discard;
};

struct lx_kit_blk_req {
	unsigned long long cookie, offset;
	unsigned len, op, flags, disk;
	void *data;		/* its slot: DMA memory if lx_kit_blk_zero_copy() */
};

/* ops and flags as in <ddeblk/ddeblk.h> */
#define LX_KIT_BLK_READ 1
#define LX_KIT_BLK_WRITE 2
#define LX_KIT_BLK_FLUSH 3
#define LX_KIT_BLK_DISCARD 4
#define LX_KIT_BLK_FUA 1

/*
 * Connect to bddf ($DDE_BLK); @kick runs on the Linux CPU (an lx_kit
 * event) when bddf has queued requests. 0, 1 when no server is configured
 * (disks are only logged), or -errno.
 */
int lx_kit_blk_attach(void (*kick)(void *arg), void *arg);
/*
 * 1 if the requests' slots are the driver's DMA memory (bddf copies into
 * and out of them, the device reads and writes them: the driver copies
 * nothing), 0 if they are bddf's memory.
 */
int lx_kit_blk_zero_copy(void);
int lx_kit_blk_disk(unsigned index, const struct lx_kit_blk_disk *d);
void lx_kit_blk_disk_gone(unsigned index);
/* The next request: 1, or 0 when none is queued (the kick comes again). */
int lx_kit_blk_next(struct lx_kit_blk_req *r);
void lx_kit_blk_done(unsigned long long cookie, int status);
/* Wake bddf for the completions since the last call. */
void lx_kit_blk_flush(void);

#endif
