/*
 * libddeblk, driver side: a driver process serves its disks to bddf.
 * bddf is the requester on this channel: it sends requests naming the
 * driver's disk index and a data slot; the driver completes them.
 */
#ifndef DDEBLK_DRIVER_H
#define DDEBLK_DRIVER_H

#include <stdint.h>

#include <ddeblk/ddeblk.h>

struct ddeblk_drv;

struct ddeblk_req {
	uint64_t cookie;
	uint64_t offset;	/* bytes from the disk's start */
	uint32_t len;
	uint16_t op, flags;
	uint32_t disk;		/* the index given to ddeblk_drv_disk */
	void *data;		/* the request's data slot (len bytes) */
};

/* Connect to bddf at @server as driver @name (e.g. "nvme@00:04.0"). */
int ddeblk_drv_attach(const char *server, const char *name, struct ddeblk_drv **out);
/*
 * The same, with the driver's own memory for the data slots (memory its
 * device reaches: a request's data is then where the device reads and
 * writes it, and the driver copies nothing): @depth slots of @slot_size
 * bytes at @data, which is @fd from @offset on (a page boundary; the fd
 * sealed against shrinking). bddf may grant fewer slots, or not take the
 * memory at all (it logs why; the slots are then bddf's, as with
 * ddeblk_drv_attach): ddeblk_drv_own_slots says which.
 */
int ddeblk_drv_attach_mem(const char *server, const char *name, void *data, int fd,
			  uint64_t offset, uint32_t depth, uint32_t slot_size,
			  struct ddeblk_drv **out);
/* 1 if the slots are the driver's own memory (ddeblk_drv_attach_mem). */
int ddeblk_drv_own_slots(const struct ddeblk_drv *d);
/* Detach: bddf fails what is still in flight and lists the disks gone. */
void ddeblk_drv_close(struct ddeblk_drv *d);
/* Announce disk @index (name, size, sector_size, flags; max_io: its own limit). */
int ddeblk_drv_disk(struct ddeblk_drv *d, unsigned index, const struct ddeblk_entry *e,
		    unsigned max_io);
int ddeblk_drv_disk_gone(struct ddeblk_drv *d, unsigned index);
/* The next request: 1, 0 when none is queued, or -EPIPE/-EPROTO. */
int ddeblk_drv_next(struct ddeblk_drv *d, struct ddeblk_req *r);
/* Complete a request (without waking bddf: ddeblk_drv_kick does, once per batch). */
int ddeblk_drv_done(struct ddeblk_drv *d, uint64_t cookie, int status);
void ddeblk_drv_kick(struct ddeblk_drv *d);
/* Wait until bddf may have queued requests: 1, 0 on timeout, -EPIPE when bddf is gone. */
int ddeblk_drv_wait(struct ddeblk_drv *d, int timeout_ms);

#endif
