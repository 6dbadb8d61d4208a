/*
 * The bddf channel (docs/block.md): one shared memory object per
 * connection, private to libddeblk and bddf.
 *
 * Layout: a header, a submission ring and a completion ring of `depth`
 * fixed entries each, then `depth` data slots of `max_io` bytes — or, on
 * a driver's channel, no slots: the driver gives bddf its own memory for
 * them (DMA-able memory, so that the device reads and writes the slots
 * and the driver copies nothing; HELLO with the memory's fd). The
 * requester (a client towards bddf; bddf towards a driver) owns the data
 * slots: a request names its slot, the server reads a write's data from it
 * and puts a read's data into it before completing. Each side has a
 * doorbell (an eventfd) rung after it pushes entries. bddf creates the
 * memory and the doorbells and trusts nothing the other side writes into
 * them: indexes, slots, lengths and offsets are checked on every use
 * against bddf's own copy of the geometry.
 */
#ifndef DDEBLK_CHAN_H
#define DDEBLK_CHAN_H

#include <stdatomic.h>
#include <stdint.h>

#include <ddeblk/ddeblk.h>

#define DDEBLK_MAGIC 0x4b4c4244u	/* "DBLK" */
#define DDEBLK_VERSION 2

struct ddeblk_sqe {
	uint64_t cookie;	/* the requester's, returned in the completion */
	uint64_t offset;	/* bytes, from the start of the opened disk/partition */
	uint32_t len;		/* bytes; <= max_io */
	uint16_t op;		/* DDEBLK_OP_* */
	uint16_t flags;		/* DDEBLK_F_* */
	uint32_t slot;		/* data slot (read/write) */
	uint32_t disk;		/* driver channel: the driver's disk index */
};

struct ddeblk_cqe {
	uint64_t cookie;
	int32_t status;		/* 0 or -errno */
	uint32_t pad;
};

struct ddeblk_ring {
	_Atomic uint32_t head;	/* next entry the producer fills */
	uint32_t pad0[15];
	_Atomic uint32_t tail;	/* next entry the consumer takes */
	uint32_t pad1[15];
};

struct ddeblk_shm {
	uint32_t magic, version, depth, max_io;
	uint32_t pad[12];
	struct ddeblk_ring sq, cq;
	/* then: sq entries[depth], cq entries[depth], data[depth][max_io] */
};

static inline uint64_t ddeblk_shm_size(uint32_t depth, uint32_t max_io)
{
	return sizeof(struct ddeblk_shm) + (uint64_t)depth * sizeof(struct ddeblk_sqe) +
	       (uint64_t)depth * sizeof(struct ddeblk_cqe) + (uint64_t)depth * max_io + 4095;
}

/* One side's view of a mapped channel; depth and max_io are its own copy. */
struct ddeblk_chan {
	struct ddeblk_shm *shm;
	uint64_t size;
	uint32_t depth, max_io;
	struct ddeblk_sqe *sqe;
	struct ddeblk_cqe *cqe;
	uint8_t *data;
	uint64_t ext_size;	/* data is the driver's memory mapped apart (bytes), or 0 */
	int my_bell, peer_bell;	/* eventfds: rung by the peer / by me */
};

/*
 * Map @fd (@depth, @max_io as agreed); 0 or -errno. @ext: the slots are
 * not in @fd but there (the driver's memory: mapped by the caller).
 */
int ddeblk_chan_map(struct ddeblk_chan *c, int fd, uint32_t depth, uint32_t max_io, int create,
		    void *ext);
void ddeblk_chan_unmap(struct ddeblk_chan *c);
/* Producer/consumer of each ring: 0, -EAGAIN (full/empty), -EPROTO (peer broke it). */
int ddeblk_sq_push(struct ddeblk_chan *c, const struct ddeblk_sqe *e);
int ddeblk_sq_pop(struct ddeblk_chan *c, struct ddeblk_sqe *e);
int ddeblk_sq_peek(struct ddeblk_chan *c, struct ddeblk_sqe *e);
int ddeblk_cq_push(struct ddeblk_chan *c, const struct ddeblk_cqe *e);
int ddeblk_cq_pop(struct ddeblk_chan *c, struct ddeblk_cqe *e);
static inline void *ddeblk_slot_of(struct ddeblk_chan *c, uint32_t slot)
{
	return c->data + (uint64_t)slot * c->max_io;
}
#include "../common/bell.h"

/* --- control messages (SOCK_SEQPACKET) --- */
enum {
	DDEBLK_MSG_HELLO = 1,	/* -> bddf: role, name (client: what to open); a driver:
				 * 0 fds, or 1: its memory for the slots (data_off,
				 * depth slots of max_io bytes; sealed against shrinking;
				 * bddf may not take it: WELCOME's flags say) */
	DDEBLK_MSG_WELCOME,		/* bddf ->: status, geometry, info; 3 fds: shm, bddf's bell, yours */
	DDEBLK_MSG_DISK,		/* driver -> bddf: a disk (index, name, size ...) */
	DDEBLK_MSG_DISK_GONE,	/* driver -> bddf: disk index is gone */
	DDEBLK_MSG_LIST,		/* tool -> bddf; bddf -> tool: one entry per message, then LIST_END */
	DDEBLK_MSG_LIST_END,
	DDEBLK_MSG_CHANNEL,	/* dde -> bddf on its control channel: name = a driver
				 * instance, 1 fd = bddf's end of that driver's connection,
				 * the only one on which it may attach as that driver */
	DDEBLK_MSG_GIVE_UP,	/* dde -> bddf on its control channel: name = a driver
				 * instance that will not come back (dde gave up
				 * restarting it): its requests fail, its disks are gone */
	DDEBLK_MSG_HUNG,	/* bddf -> dde on the control channel: name = a driver
				 * instance that hangs (error: how; value: for how many
				 * ms): dde kills it, and so restarts it */
};

enum { DDEBLK_ROLE_CLIENT = 1, DDEBLK_ROLE_DRIVER = 2, DDEBLK_ROLE_TOOL = 3 };

/* WELCOME to a driver that gave its memory: bddf took it for the slots (else they are bddf's) */
#define DDEBLK_SLOTS_TAKEN 1u

struct ddeblk_msg {
	uint32_t magic;
	uint16_t version, type;
	int32_t value;		/* HELLO: role; WELCOME: 0 or -errno */
	uint32_t flags;		/* HELLO: DDEBLK_OPEN_*; DISK: DDEBLK_DISK_*; WELCOME
				 * (driver): DDEBLK_SLOTS_TAKEN */
	uint32_t depth, max_io;	/* HELLO: wished (0: default; a driver giving its memory:
				 * the slots it has); WELCOME: granted */
	uint32_t index;		/* DISK, DISK_GONE: the driver's disk index */
	uint64_t data_off;	/* HELLO (driver) with 1 fd: its slots start there in the fd */
	char name[DDEBLK_NAME_MAX];	/* HELLO: client: disk/partition; driver: driver instance */
	struct ddeblk_entry entry;	/* WELCOME (client), DISK, LIST */
	char error[128];		/* WELCOME with an error: why */
};

#endif
