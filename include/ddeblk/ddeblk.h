/*
 * libddeblk: the client library of the block device driver framework,
 * bddf (docs/block.md).
 *
 * bddf is the single entry point to every disk the drivers serve. A client
 * opens one disk or partition by name ("nvme0n1", "sda", "sda5"), sees it
 * as bytes 0 .. size-1, and reads, writes and flushes it — synchronously,
 * or asynchronously with up to `depth` requests in flight, each using one
 * of the connection's shared-memory data slots of `max_io` bytes. bddf
 * keeps every request inside the opened disk or partition.
 *
 * Offsets and lengths are multiples of the sector size (512 or 4096,
 * ddeblk_info()); the synchronous calls take any length and split it.
 *
 * Errors are negative errno values:
 *   -ENOENT       (open) no such disk or partition
 *   -ECONNREFUSED no server at that address
 *   -EINVAL       misaligned, or a slot/length out of range
 *   -ENOSPC       beyond the end of the disk or partition (nothing done)
 *   -EROFS        write to a read-only disk or a read-only open
 *   -EIO          the disk failed the request (other requests go on)
 *   -ENODEV       the disk is gone (its driver stopped or died)
 *   -EPIPE        bddf closed the connection; the handle is dead
 *   -EAGAIN       (submit) every slot of the ring is in flight
 *   -EOPNOTSUPP   a discard on a disk without DDEBLK_DISK_DISCARD
 *   -EACCES       bddf does not admit this user (ddeblk_strerror says why)
 */
#ifndef DDEBLK_H
#define DDEBLK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DDEBLK_NAME_MAX 32

enum ddeblk_op {
	DDEBLK_OP_READ = 1,
	DDEBLK_OP_WRITE = 2,
	DDEBLK_OP_FLUSH = 3,	/* everything written before is durable when it completes */
	DDEBLK_OP_DISCARD = 4,	/* the range's contents may be forgotten (trim): reads
				 * of it return zeros or the old data; no data moves */
};

#define DDEBLK_F_FUA 1		/* write: durable when it completes */

#define DDEBLK_OPEN_RDONLY 1

/* A disk or partition, as bddf lists it. */
struct ddeblk_entry {
	char name[DDEBLK_NAME_MAX];	/* "nvme0n1p2" */
	char disk[DDEBLK_NAME_MAX];	/* the whole disk's name ("nvme0n1"; itself for a disk) */
	char driver[64];		/* the driver serving it ("nvme@00:04.0") */
	uint64_t start;			/* bytes from the disk's start (0 for a disk) */
	uint64_t size;			/* bytes */
	uint32_t sector_size;		/* logical block size */
	uint32_t partno;		/* 0 for a whole disk */
	uint32_t flags;			/* DDEBLK_DISK_* */
	char table[8];			/* the disk's partition table: "dos", "gpt" or "" */
	char type[40];			/* dos: "83"; gpt: the type GUID */
	char uuid[40];			/* gpt: the partition's GUID; disk: the table's id */
	char label[72];			/* gpt: the partition's name (UTF-8) */
};

#define DDEBLK_DISK_RO 1		/* read-only */
#define DDEBLK_DISK_WC 2		/* volatile write cache: flushes matter */
#define DDEBLK_DISK_FUA 4		/* the device writes through on request */
#define DDEBLK_DISK_BOOT 8		/* dos: the active flag */
#define DDEBLK_DISK_EXTENDED 16		/* dos: an extended partition (a container) */
#define DDEBLK_DISK_GONE 32		/* its driver stopped or died */
#define DDEBLK_DISK_DISCARD 64		/* takes DDEBLK_OP_DISCARD */

struct ddeblk;

/* Connection geometry and what was opened. */
struct ddeblk_info {
	struct ddeblk_entry entry;
	uint32_t depth;			/* requests in flight at most (= data slots) */
	uint32_t max_io;		/* bytes per request at most (= slot size) */
};

/*
 * Open disk or partition @name at the server @server (a Unix socket path,
 * "@name" for the abstract namespace; NULL: $DDE_BLK). @depth: slots
 * wished (0: the server's default). @flags: DDEBLK_OPEN_RDONLY.
 */
int ddeblk_open(const char *server, const char *name, unsigned depth, unsigned flags,
		struct ddeblk **out);
void ddeblk_info(struct ddeblk *b, struct ddeblk_info *info);
void ddeblk_close(struct ddeblk *b);

/* Synchronous: any length (a multiple of the sector size); 0 or an error. */
int ddeblk_read(struct ddeblk *b, void *buf, size_t len, uint64_t offset);
int ddeblk_write(struct ddeblk *b, const void *buf, size_t len, uint64_t offset, unsigned flags);
int ddeblk_flush(struct ddeblk *b);
/* Trim @len bytes at @offset (DDEBLK_OP_DISCARD, in chunks of max_io). */
int ddeblk_discard(struct ddeblk *b, size_t len, uint64_t offset);

/* --- asynchronous --- */

struct ddeblk_io {
	uint64_t cookie;	/* yours, returned with the completion */
	uint64_t offset;
	uint32_t len;		/* <= max_io */
	uint16_t op;		/* enum ddeblk_op */
	uint16_t flags;		/* DDEBLK_F_* */
	uint32_t slot;		/* data slot, < depth: yours until the request completes */
	int32_t status;		/* completion: 0 or -errno */
};

/* Slot @slot's memory (max_io bytes): a write's data, a read's result. */
void *ddeblk_slot(struct ddeblk *b, unsigned slot);
/* Queue @n requests without waking bddf; returns how many were queued or an error. */
int ddeblk_submit(struct ddeblk *b, const struct ddeblk_io *io, unsigned n);
/* Wake bddf for what was queued. */
void ddeblk_kick(struct ddeblk *b);
/*
 * Take up to @max completions (cookie and status set), waiting up to
 * @timeout_ms (0: not at all, -1: forever) for the first. Returns how many,
 * or an error (-EPIPE: bddf is gone). With @timeout_ms 0 it also resets
 * ddeblk_fd's readiness: a poll loop on ddeblk_fd calls it after each wake.
 */
int ddeblk_complete(struct ddeblk *b, struct ddeblk_io *done, unsigned max, int timeout_ms);
/* Readable when completions may be waiting. */
int ddeblk_fd(const struct ddeblk *b);

/*
 * Every disk and partition the server knows, in order: calls @fn for each;
 * returns how many, or an error.
 */
int ddeblk_list(const char *server, void (*fn)(const struct ddeblk_entry *e, void *arg),
		void *arg);
/*
 * The same as one array (*@out, free() it), sorted as people read it:
 * disks by name (nvme0n1 < nvme1n1 < sda), each followed by its partitions.
 * Returns how many, or an error.
 */
int ddeblk_list_sorted(const char *server, struct ddeblk_entry **out);
/*
 * An error of this library as text: for the last refusal by bddf on this
 * thread (-EACCES: the access check), bddf's own words ("access denied to
 * uid 65534 (nobody) ..."); otherwise strerror's.
 */
const char *ddeblk_strerror(int err);
/* @bytes for people, in powers of 1024: "512B", "4.0K", "1.5G" */
void ddeblk_size_text(uint64_t bytes, char *out, size_t cap);

#endif
