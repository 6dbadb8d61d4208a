/*
 * bddf's requests: a client's request checked, split to its driver's
 * limits, given slots in the driver's channel and copied across; the
 * driver's completions back to the client; a flush after what came before
 * it; everything in flight failed when a driver dies; bddf's own reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/bell.h"
#include "server.h"

/* ---- requests to drivers ---- */

static int free_slot(struct driver *dr)
{
	if (dr->gone || dr->inflight >= dr->c.depth)
		return -1;
	for (unsigned i = 0; i < dr->c.depth; i++)
		if (!dr->slot[i].used)
			return (int)i;
	return -1;
}

static void to_driver(struct driver *dr, int s, struct disk *dk, uint16_t op, uint16_t flags,
		      uint64_t off, uint32_t len)
{
	struct ddeblk_sqe e = { .cookie = (uint64_t)s, .offset = off, .len = len, .op = op,
				.flags = flags, .slot = (uint32_t)s, .disk = dk->index };

	dr->slot[s].used = 1;
	dr->inflight++;
	dr->kick = 1;
	if (ddeblk_sq_push(&dr->c, &e))	/* never full: slots <= depth */
		bddf_log("%s: submission ring full (a bug)", dr->name);
}

static void client_done(struct creq *cr)
{
	struct client *cl = cr->cl;
	struct ddeblk_cqe e = { .cookie = cr->cookie, .status = cr->status };

	cl->inflight--;
	if (!cl->dead) {
		ddeblk_cq_push(&cl->c, &e);	/* room: inflight <= depth */
		cl->ring = 1;
	}
	free(cr);
}

static void part_done(struct driver *dr, unsigned s, int status);

/* The driver's disk went away or the driver died: everything in flight fails. */
static void driver_fail_all(struct driver *dr)
{
	for (unsigned s = 0; s < dr->c.depth; s++)
		if (dr->slot[s].used)
			part_done(dr, s, -ENODEV);
}

static void submit_flush(struct driver *dr, struct disk *dk, struct creq *cr, int s)
{
	dr->slot[s].cr = cr;
	dr->slot[s].off = 0;
	dr->slot[s].len = 0;
	cr->parts = 1;
	to_driver(dr, s, dk, DDEBLK_OP_FLUSH, 0, 0, 0);
}

static void part_done(struct driver *dr, unsigned s, int status)
{
	struct dslot *ds = &dr->slot[s];
	struct creq *cr = ds->cr;

	ds->used = 0;
	dr->inflight--;
	if (!cr) {	/* bddf's own */
		ds->done = 1;
		ds->status = status;
		return;
	}
	ds->cr = NULL;
	if (status && !cr->status)
		cr->status = status;
	if (!status && cr->op == DDEBLK_OP_READ && !cr->cl->dead)
		memcpy((uint8_t *)ddeblk_slot_of(&cr->cl->c, cr->slot) + ds->off,
		       ddeblk_slot_of(&dr->c, s), ds->len);
	if (--cr->parts)
		return;
	if (cr->flush_after && !cr->status) {
		int t = free_slot(dr);

		cr->flush_after = 0;
		if (t >= 0) {	/* the slot just freed is there at least */
			submit_flush(dr, cr->cl->disk, cr, t);
			return;
		}
		cr->status = -EIO;
	}
	client_done(cr);
}

void ring_clients(void)
{
	for (struct client *c = srv.clients; c; c = c->next)
		if (c->ring) {
			c->ring = 0;
			bell_ring(c->c.peer_bell);
		}
}

/* ---- clients' requests ---- */

static int check(struct client *cl, const struct ddeblk_sqe *e)
{
	struct disk *dk = cl->disk;
	uint32_t ss = cl->e.sector_size;

	if ((dk->e.flags & DDEBLK_DISK_GONE) || dk->drv->gone)
		return -ENODEV;
	if (e->op == DDEBLK_OP_FLUSH)
		return 0;
	if (e->op != DDEBLK_OP_READ && e->op != DDEBLK_OP_WRITE && e->op != DDEBLK_OP_DISCARD)
		return -EINVAL;
	if (e->slot >= cl->c.depth || !e->len || e->len > cl->c.max_io || e->len % ss ||
	    e->offset % ss || (e->flags & ~DDEBLK_F_FUA))
		return -EINVAL;
	if (e->offset > cl->e.size || e->len > cl->e.size - e->offset)
		return -ENOSPC;
	if (e->op != DDEBLK_OP_READ && (cl->rdonly || (dk->e.flags & DDEBLK_DISK_RO)))
		return -EROFS;
	if (e->op == DDEBLK_OP_DISCARD && !(dk->e.flags & DDEBLK_DISK_DISCARD))
		return -EOPNOTSUPP;
	return 0;
}

/*
 * Fault injection for tests of what sits above (a verifying sweeper): a
 * write of @len bytes at disk byte @off that covers a --fault drop-write
 * sector is acknowledged without being done.
 */
static int dropped(const struct disk *dk, uint64_t off, uint32_t len)
{
	uint64_t ss = dk->e.sector_size;

	for (int i = 0; i < srv.ndrop; i++)
		if (!strcmp(srv.drop[i].disk, dk->e.name) && srv.drop[i].sector >= off / ss &&
		    srv.drop[i].sector < (off + len) / ss) {
			bddf_log("%s: fault: a write of sectors %" PRIu64 "..%" PRIu64
				 " acknowledged, not done (--fault drop-write)", dk->e.name,
				 off / ss, (off + len) / ss - 1);
			return 1;
		}
	return 0;
}

/* Take what the client queued, while its driver has slots for it. */
static void serve_client(struct client *cl)
{
	struct driver *dr;
	struct ddeblk_sqe e;
	int r = 0;

	if (!cl->disk || cl->role != DDEBLK_ROLE_CLIENT)
		return;	/* not opened (yet) */
	dr = cl->disk->drv;
	while (!cl->dead && cl->inflight < cl->c.depth && (r = ddeblk_sq_peek(&cl->c, &e)) == 0) {
		struct disk *dk = cl->disk;
		int err = check(cl, &e);
		struct creq *cr;

		if (!err && e.op == DDEBLK_OP_FLUSH && cl->inflight)
			return;	/* a flush waits for what came before it */
		uint32_t chunk = dk->max_io, nparts = e.op == DDEBLK_OP_FLUSH ? 1 : (e.len + chunk - 1) / chunk;

		if (!err && dr->c.depth - dr->inflight < nparts)
			return;	/* when slots free up */
		ddeblk_sq_pop(&cl->c, &e);
		cr = calloc(1, sizeof(*cr));
		if (!cr) {
			err = -ENOMEM;
		} else {
			cr->cl = cl;
			cr->cookie = e.cookie;
			cr->op = e.op;
			cr->slot = e.slot;
		}
		cl->inflight++;
		if (err || !cr) {
			struct ddeblk_cqe c = { .cookie = e.cookie, .status = err };

			free(cr);
			cl->inflight--;
			ddeblk_cq_push(&cl->c, &c);
			cl->ring = 1;
			continue;
		}
		if (e.op == DDEBLK_OP_WRITE && dropped(dk, cl->e.start + e.offset, e.len)) {
			client_done(cr);	/* "done", as a lying disk would say */
			continue;
		}
		if (e.op == DDEBLK_OP_FLUSH) {
			if (!(dk->e.flags & DDEBLK_DISK_WC)) {
				client_done(cr);	/* nothing cached anywhere */
				continue;
			}
			submit_flush(dr, dk, cr, free_slot(dr));
			continue;
		}
		uint16_t flags = 0;

		if (e.op == DDEBLK_OP_WRITE && (e.flags & DDEBLK_F_FUA)) {
			if (dk->e.flags & DDEBLK_DISK_FUA)
				flags = DDEBLK_F_FUA;
			else if (dk->e.flags & DDEBLK_DISK_WC)
				cr->flush_after = 1;
		}
		cr->parts = (int)nparts;
		for (uint32_t off = 0; off < e.len; off += chunk) {
			uint32_t len = e.len - off < chunk ? e.len - off : chunk;
			int s = free_slot(dr);

			dr->slot[s].cr = cr;
			dr->slot[s].off = off;
			dr->slot[s].len = len;
			if (e.op == DDEBLK_OP_WRITE)
				memcpy(ddeblk_slot_of(&dr->c, (uint32_t)s),
				       (uint8_t *)ddeblk_slot_of(&cl->c, e.slot) + off, len);
			to_driver(dr, s, dk, e.op, flags, cl->e.start + e.offset + off, len);
		}
	}
	if (r == -EPROTO && !cl->dead) {
		bddf_log("client of %s broke its ring: dropped", cl->e.name);
		cl->dead = 1;
	}
}

void kick_drivers(void)
{
	for (unsigned i = 0; i < sizeof(srv.drivers) / sizeof(srv.drivers[0]); i++) {
		struct driver *dr = srv.drivers[i];

		if (dr && !dr->gone && dr->kick)
			bell_ring(dr->c.peer_bell);
		if (dr)
			dr->kick = 0;
	}
}

void serve_clients(void)
{
	for (struct client *c = srv.clients; c; c = c->next)
		serve_client(c);
}

void disk_gone(struct disk *dk)
{
	if (!dk || (dk->e.flags & DDEBLK_DISK_GONE))
		return;
	dk->e.flags |= DDEBLK_DISK_GONE;
	for (int i = 0; i < dk->t.n; i++)
		dk->t.part[i].flags |= DDEBLK_DISK_GONE;
	bddf_log("%s: gone (driver %s)", dk->e.name, dk->drv->name);
}

void driver_gone(struct driver *dr)
{
	bddf_log("driver %s went away", dr->name);
	dr->gone = 1;
	driver_fail_all(dr);
	for (int i = 0; i < DRIVER_DISKS; i++)
		disk_gone(dr->disk[i]);
	close(dr->sock);
	close(dr->c.my_bell);
	close(dr->c.peer_bell);
	if (dr->c.ext_size) {	/* its memory: nothing of ours is in it any more */
		munmap(dr->c.data, dr->c.ext_size);
		dr->c.data = NULL;
		dr->c.ext_size = 0;
	}
	/* the struct stays: its disks name it */
}

/* Take a driver's completions. */
void driver_completions(struct driver *dr)
{
	struct ddeblk_cqe e;
	int r;

	while ((r = ddeblk_cq_pop(&dr->c, &e)) == 0) {
		if (e.cookie >= dr->c.depth || !dr->slot[e.cookie].used) {
			r = -EPROTO;
			break;
		}
		part_done(dr, (unsigned)e.cookie, e.status);
	}
	if (r == -EPROTO) {
		bddf_log("driver %s broke its completion ring", dr->name);
		driver_gone(dr);
	}
}

/* ---- bddf's own reads (partition tables), synchronous ---- */

int scan_read(void *arg, uint64_t off, void *buf, uint32_t len)
{
	struct scan *sc = arg;
	struct driver *dr = sc->dr;
	uint32_t done = 0;

	while (done < len) {
		uint32_t n = len - done < sc->dk->max_io ? len - done : sc->dk->max_io;
		int s;

		while ((s = free_slot(dr)) < 0) {
			if (dr->gone)
				return -ENODEV;
			struct pollfd p = { dr->c.my_bell, POLLIN, 0 };

			if (poll(&p, 1, 30000) <= 0)
				return -ETIMEDOUT;
			bell_clear(dr->c.my_bell);
			driver_completions(dr);
		}
		dr->slot[s].cr = NULL;
		dr->slot[s].done = 0;
		to_driver(dr, s, sc->dk, DDEBLK_OP_READ, 0, off + done, n);
		bell_ring(dr->c.peer_bell);
		dr->kick = 0;
		while (!dr->slot[s].done) {
			struct pollfd p[2] = { { dr->c.my_bell, POLLIN, 0 }, { dr->sock, POLLIN, 0 } };

			if (poll(p, 2, 30000) <= 0)
				return -ETIMEDOUT;
			if (p[1].revents & (POLLHUP | POLLERR))
				return -ENODEV;
			bell_clear(dr->c.my_bell);
			driver_completions(dr);
		}
		dr->slot[s].done = 0;
		if (dr->slot[s].status)
			return dr->slot[s].status;
		memcpy((uint8_t *)buf + done, ddeblk_slot_of(&dr->c, (uint32_t)s), n);
		done += n;
	}
	return 0;
}
