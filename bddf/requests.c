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
#include <time.h>
#include <unistd.h>

#include "../common/bell.h"
#include "server.h"
#include "../common/clock.h"

/* ---- requests to drivers ---- */

/* a request's parts are sent again to this many restarts of its driver; then -EIO */
#define MAX_TRIES 3

static int free_slot(struct driver *dr)
{
	if (dr->gone || dr->inflight >= dr->c.depth)
		return -1;
	for (unsigned i = 0; i < dr->c.depth; i++)
		if (!dr->slot[i].used)
			return (int)i;
	return -1;
}

/* Part @p into slot @s of its driver (a write's data copied from its client). */
static void to_driver(struct driver *dr, int s, const struct part *p)
{
	struct ddeblk_sqe e = { .cookie = (uint64_t)s, .offset = p->offset, .len = p->len,
				.op = p->op, .flags = p->flags, .slot = (uint32_t)s,
				.disk = p->dk->index };

	if (p->op == DDEBLK_OP_WRITE && p->cr)
		memcpy(ddeblk_slot_of(&dr->c, (uint32_t)s),
		       (uint8_t *)ddeblk_slot_of(&p->cr->cl->c, p->cr->slot) + p->off, p->len);
	dr->slot[s].since = mono_ms();
	dr->slot[s].used = 1;
	dr->slot[s].p = *p;
	dr->slot[s].p.next = NULL;
	dr->inflight++;
	for (int i = 0; i < srv.ndrop; i++)	/* --fault kill-at: a request its driver dies on */
		if (srv.drop[i].kill && p->cr && p->op == DDEBLK_OP_READ && dr->supervised &&
		    srv.control >= 0 &&
		    !strcmp(srv.drop[i].disk, p->dk->e.name) &&
		    srv.drop[i].sector >= p->offset / p->dk->e.sector_size &&
		    srv.drop[i].sector < (p->offset + p->len) / p->dk->e.sector_size) {
			/* held back, in flight: the driver cannot finish it before it dies */
			report_hung(dr, 0, "fault: a read over a --fault kill-at sector");
			return;
		}
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

static void submit_flush(struct driver *dr, struct disk *dk, struct creq *cr, int s)
{
	struct part p = { .cr = cr, .dk = dk, .op = DDEBLK_OP_FLUSH };

	cr->parts = 1;
	to_driver(dr, s, &p);
}

/* Part @p of a client request is done (@data: what a read read, or NULL). */
static void part_finish(struct driver *dr, const struct part *p, int status, const void *data)
{
	struct creq *cr = p->cr;

	if (status && !cr->status)
		cr->status = status;
	if (!status && cr->op == DDEBLK_OP_READ && !cr->cl->dead && data)
		memcpy((uint8_t *)ddeblk_slot_of(&cr->cl->c, cr->slot) + p->off, data, p->len);
	if (--cr->parts)
		return;
	if (cr->flush_after && !cr->status) {
		int t = free_slot(dr);

		cr->flush_after = 0;
		if (t >= 0) {	/* the slot just freed is there at least */
			submit_flush(dr, p->dk, cr, t);
			return;
		}
		cr->status = -EIO;
	}
	client_done(cr);
}

static void part_done(struct driver *dr, unsigned s, int status)
{
	struct dslot *ds = &dr->slot[s];

	ds->used = 0;
	dr->inflight--;
	dr->hung_told = 0;
	if (dr->recovering) {	/* how long its clients waited */
		dr->recovering = 0;
		bddf_log("driver %s serves again: its first request done %lld ms after it went away",
			 dr->name, mono_ms() - dr->gone_ms);
	}
	if (!ds->p.cr) {	/* bddf's own */
		ds->done = 1;
		ds->status = status;
		return;
	}
	part_finish(dr, &ds->p, status, status ? NULL : ddeblk_slot_of(&dr->c, s));
}

/* The parts waiting for a restart fail with @status (dde gave up, or they were tried enough). */
static void fail_replays(struct driver *dr, int status)
{
	while (dr->replay) {
		struct part *p = dr->replay;

		dr->replay = p->next;
		part_finish(dr, p, status, NULL);
		free(p);
	}
	dr->replay_tail = &dr->replay;
}

void replay_parts(struct driver *dr)
{
	struct part **pp = &dr->replay;

	while (*pp && !dr->gone) {
		struct part *p = *pp;
		int s;

		if (p->dk->down) {	/* not announced again yet */
			pp = &p->next;
			continue;
		}
		if ((s = free_slot(dr)) < 0)
			break;
		*pp = p->next;
		if (p->len > p->dk->max_io)	/* the new driver takes less at once */
			part_finish(dr, p, -EIO, NULL);
		else
			to_driver(dr, s, p);
		free(p);
	}
	dr->replay_tail = pp;
	while (*dr->replay_tail)
		dr->replay_tail = &(*dr->replay_tail)->next;
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

	if ((dk->e.flags & DDEBLK_DISK_GONE) || (dk->drv->gone && !dk->down))
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
		if (!srv.drop[i].kill && !strcmp(srv.drop[i].disk, dk->e.name) &&
		    srv.drop[i].sector >= off / ss &&
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
	/* its driver is being restarted, or has requests to send again first: they wait */
	if (cl->disk->down || dr->replay)
		return;
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
			struct part p = { .cr = cr, .dk = dk, .op = e.op, .flags = flags,
					  .offset = cl->e.start + e.offset + off, .off = off,
					  .len = e.len - off < chunk ? e.len - off : chunk };

			to_driver(dr, free_slot(dr), &p);
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
	for (unsigned i = 0; i < sizeof(srv.drivers) / sizeof(srv.drivers[0]); i++)
		if (srv.drivers[i] && srv.drivers[i]->replay)
			replay_parts(srv.drivers[i]);
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

/* The driver's slots are free again; what was in them waits for its restart. */
static void keep_for_replay(struct driver *dr)
{
	unsigned waiting = 0, failed = 0;

	for (unsigned s = 0; s < dr->c.depth; s++) {
		struct dslot *ds = &dr->slot[s];
		struct part *p;

		if (!ds->used)
			continue;
		ds->used = 0;
		dr->inflight--;
		if (!ds->p.cr) {	/* bddf's own read: its reader sees the driver gone */
			ds->done = 1;
			ds->status = -ENODEV;
			continue;
		}
		p = malloc(sizeof(*p));
		if (!p || ++ds->p.tries > MAX_TRIES) {
			/* a request that takes its driver down again and again */
			part_finish(dr, &ds->p, -EIO, NULL);
			free(p);
			failed++;
			continue;
		}
		*p = ds->p;
		p->next = NULL;
		*dr->replay_tail = p;
		dr->replay_tail = &p->next;
		waiting++;
	}
	bddf_log("driver %s went away: its disks wait for its restart; %u request part%s to "
		 "send again%s", dr->name, waiting, waiting == 1 ? "" : "s",
		 failed ? ", some failed (-EIO): tried on too many restarts" : "");
}

void driver_gone(struct driver *dr)
{
	dr->gone = 1;
	dr->gone_ms = mono_ms();
	if (dr->supervised && !dr->given_up && srv.control >= 0) {
		dr->recovering = 1;
		keep_for_replay(dr);
		for (int i = 0; i < DRIVER_DISKS; i++)
			if (dr->disk[i])
				dr->disk[i]->down = 1;
	} else {
		bddf_log("driver %s went away", dr->name);
		for (unsigned s = 0; s < dr->c.depth; s++)
			if (dr->slot[s].used)
				part_done(dr, s, -ENODEV);
		fail_replays(dr, -ENODEV);
		for (int i = 0; i < DRIVER_DISKS; i++)
			disk_gone(dr->disk[i]);
	}
	close(dr->sock);
	close(dr->c.my_bell);
	close(dr->c.peer_bell);
	dr->sock = dr->c.my_bell = dr->c.peer_bell = -1;
	if (dr->c.ext_size) {	/* its memory: nothing of ours is in it any more */
		munmap(dr->c.data, dr->c.ext_size);
		dr->c.data = NULL;
		dr->c.ext_size = 0;
	}
	ddeblk_chan_unmap(&dr->c);
	/* the struct stays: its disks name it, a restarted driver takes it on */
}

void driver_given_up(struct driver *dr)
{
	dr->given_up = 1;
	bddf_log("driver %s will not be restarted: its disks are gone", dr->name);
	fail_replays(dr, -ENODEV);
	for (int i = 0; i < DRIVER_DISKS; i++) {
		if (dr->disk[i])
			dr->disk[i]->down = 0;
		disk_gone(dr->disk[i]);
	}
}

/*
 * A given-up driver whose disks no client holds open any more and nothing
 * waits for: its gone disks leave the list (their names are free for the
 * disks to come: a device plugged again) and the driver goes. 1 if so.
 */
int reap_driver(struct driver *dr)
{
	unsigned slot;

	if (!dr || !dr->given_up || dr->replay)
		return 0;
	for (int k = 0; k < srv.ndisks; k++)	/* an orphan held by a client refers to it */
		if (srv.disk[k]->drv == dr && srv.disk[k]->orphan)
			return 0;
	for (struct client *cl = srv.clients; cl; cl = cl->next)
		if (cl->disk && cl->disk->drv == dr)
			return 0;
	for (slot = 0; slot < sizeof(srv.drivers) / sizeof(srv.drivers[0]); slot++)
		if (srv.drivers[slot] == dr)
			break;
	for (int d = 0; d < DRIVER_DISKS; d++) {
		struct disk *dk = dr->disk[d];

		if (!dk)
			continue;
		for (int k = 0; k < srv.ndisks; k++)
			if (srv.disk[k] == dk) {
				memmove(&srv.disk[k], &srv.disk[k + 1],
					(size_t)(srv.ndisks - k - 1) * sizeof(dk));
				srv.ndisks--;
				break;
			}
		free(dk);
	}
	free(dr->slot);
	free(dr);
	if (slot < sizeof(srv.drivers) / sizeof(srv.drivers[0]))
		srv.drivers[slot] = NULL;
	return 1;
}

/*
 * A gone disk whose driver's index went to a new disk: it leaves the list
 * now, or when the last client that holds it (its requests fail, -ENODEV)
 * is freed. 1 if it was freed.
 */
int disk_release(struct disk *dk)
{
	dk->orphan = 1;
	for (struct client *cl = srv.clients; cl; cl = cl->next)
		if (cl->disk == dk)	/* open, or its requests still in flight */
			return 0;
	for (int k = 0; k < srv.ndisks; k++)
		if (srv.disk[k] == dk) {
			memmove(&srv.disk[k], &srv.disk[k + 1], (size_t)(srv.ndisks - k - 1) * sizeof(dk));
			srv.ndisks--;
			break;
		}
	free(dk);
	return 1;
}

void disk_not_back(struct disk *dk)
{
	struct driver *dr = dk->drv;
	unsigned n = 0;

	dk->down = 0;
	for (struct part **pp = &dr->replay; *pp;) {
		struct part *p = *pp;

		if (p->dk != dk) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		part_finish(dr, p, -ENODEV, NULL);
		free(p);
		n++;
	}
	dr->replay_tail = &dr->replay;
	while (*dr->replay_tail)
		dr->replay_tail = &(*dr->replay_tail)->next;
	bddf_log("%s: its restarted driver %s did not announce it again within %lld ms: %u "
		 "request part%s failed", dk->e.name, dr->name, mono_ms() - dr->back_ms, n,
		 n == 1 ? "" : "s");
	disk_gone(dk);
}

void disk_back(struct disk *dk)
{
	unsigned n = 0;

	dk->down = 0;
	for (struct part *p = dk->drv->replay; p; p = p->next)
		n += p->dk == dk;
	bddf_log("%s: back %lld ms after its driver went away (%s, restart %u): %u request "
		 "part%s sent again", dk->e.name, mono_ms() - dk->drv->gone_ms, dk->drv->name,
		 dk->drv->restarts, n, n == 1 ? "" : "s");
	replay_parts(dk->drv);
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
		struct part rd = { .dk = sc->dk, .op = DDEBLK_OP_READ, .offset = off + done, .len = n };

		dr->slot[s].done = 0;
		to_driver(dr, s, &rd);
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
