/*
 * bddf — the block device driver framework's server.
 *
 * Disk driver processes attach here and announce their disks; bddf names
 * them across drivers (sda, sdb ...; nvme0n1, nvme1n1 ...), reads their
 * partition tables and lists disks and partitions. Clients (libddeblk)
 * open one disk or partition by name; each of their requests is checked
 * (alignment, length, bounds of what they opened, read-only), split to the
 * driver's limits, given a slot in the driver's channel (at most `depth`
 * per driver: the queue depth) and copied across. A flush waits until the
 * client's earlier requests have completed, then goes to the driver. A
 * client that breaks the protocol is dropped; one that goes away
 * mid-request has its requests finished and forgotten; a driver that dies
 * fails its requests in flight (-ENODEV), and its disks stay listed, gone.
 * Only peers the access policy admits get in (common/access.h), and a
 * driver attaches only on the connection `dde run` opened for it on the
 * control channel (unless bddf runs by hand or with --open-drivers).
 *
 *   bddf --socket PATH [--depth N] [--client-depth N] [--expect NAME@SLOT]...
 *        [--control-fd N [--open-drivers]] [--allow-user U]... [--allow-group G]...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/access.h"
#include "../common/logline.h"

#include "../libddeblk/chan.h"
#include "../common/seqpacket.h"
#include "bddf.h"

#define MAX_IO (1u << 20)
#define MAX_DISKS 64
#define DRIVER_DISKS 16

enum kind { K_LISTEN, K_SOCK, K_BELL, K_CONTROL };

struct handle {
	enum kind kind;
	void *obj;
};

struct disk;
struct client;

/* A client request, split into driver requests ("parts"). */
struct creq {
	struct client *cl;
	uint64_t cookie;
	int parts, status;
	int flush_after;	/* FUA on a disk without FUA: a flush follows */
	uint16_t op;
	uint32_t slot;		/* the client's data slot */
};

/* a driver channel slot in flight */
struct dslot {
	int used;
	struct creq *cr;	/* NULL: bddf's own (a table read) */
	uint32_t off;		/* into the client's slot */
	uint32_t len;
	int done, status;	/* bddf's own */
};

struct driver {
	struct handle h_sock, h_bell;
	int sock, role;
	struct ddeblk_chan c;
	char name[64];
	struct dslot *slot;
	unsigned inflight;
	int gone, kick;
	struct disk *disk[DRIVER_DISKS];
};

struct disk {
	struct ddeblk_entry e;	/* name, size, sector size, flags, table */
	struct driver *drv;
	unsigned index;		/* the driver's */
	uint32_t max_io;
	char local[DDEBLK_NAME_MAX];	/* the driver's own name for it */
	struct bddf_table t;
};

struct client {
	struct handle h_sock, h_bell;
	int sock, role;
	struct ddeblk_chan c;
	struct disk *disk;
	struct ddeblk_entry e;	/* what was opened: start, size */
	int rdonly, dead, ring;
	unsigned inflight;
	char refused[128];	/* the access check said no: why */
	char driver[DDEBLK_NAME_MAX];	/* opened by dde for this driver instance */
	struct client *next;
};

static struct {
	int ep, listen, control;
	struct access_policy access;
	int open_drivers;	/* drivers may attach over the socket */
	struct handle h_control;
	unsigned depth, client_depth;
	struct handle h_listen;
	struct disk *disk[MAX_DISKS];
	int ndisks, nvme_ctrls, sd_disks, vd_disks;
	struct client *clients;
	struct driver *drivers[64];
	/* --expect: the disk drivers `dde run` starts, in its order: their
	 * NVMe controllers are numbered in that order, whoever comes first */
	const char *expect[64];
	int nexpect, nvme_expected, vd_expected;
	/* --fault drop-write=DISK:SECTOR: writes over it are acknowledged, not done */
	struct {
		char disk[DDEBLK_NAME_MAX];
		uint64_t sector;
	} drop[8];
	int ndrop;
} d;

void bddf_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("bddf", fmt, ap);
	va_end(ap);
}

static void watch(int fd, struct handle *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

	epoll_ctl(d.ep, EPOLL_CTL_ADD, fd, &ev);
}

static void msg_init(struct ddeblk_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDEBLK_MAGIC;
	m->version = DDEBLK_VERSION;
	m->type = (uint16_t)type;
}

static void send_msg(int sock, const struct ddeblk_msg *m, const int *fds, int nfds)
{
	seqpacket_send(sock, m, sizeof(*m), fds, nfds);	/* never waits for a peer */
}

/* A channel for a peer: memory and two doorbells; sends WELCOME with them. */
static int make_channel(int sock, struct ddeblk_chan *c, unsigned depth, struct ddeblk_msg *welcome)
{
	int fds[3] = { -1, -1, -1 }, r;

	fds[0] = memfd_create("dde-blk", MFD_CLOEXEC);
	fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);	/* bddf's bell */
	fds[2] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);	/* the peer's */
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
		r = -errno;
		goto fail;
	}
	r = ddeblk_chan_map(c, fds[0], depth, MAX_IO, 1);
	if (r)
		goto fail;
	c->my_bell = fds[1];
	c->peer_bell = fds[2];
	welcome->depth = depth;
	welcome->max_io = MAX_IO;
	send_msg(sock, welcome, fds, 3);
	close(fds[0]);
	return 0;
fail:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

static void refuse(int sock, int err, const char *why)
{
	struct ddeblk_msg m;

	msg_init(&m, DDEBLK_MSG_WELCOME);
	m.value = err;
	snprintf(m.error, sizeof(m.error), "%s", why);
	send_msg(sock, &m, NULL, 0);
}

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

static void ring_clients(void)
{
	for (struct client *c = d.clients; c; c = c->next)
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

	for (int i = 0; i < d.ndrop; i++)
		if (!strcmp(d.drop[i].disk, dk->e.name) && d.drop[i].sector >= off / ss &&
		    d.drop[i].sector < (off + len) / ss) {
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

static void kick_drivers(void)
{
	for (unsigned i = 0; i < sizeof(d.drivers) / sizeof(d.drivers[0]); i++) {
		struct driver *dr = d.drivers[i];

		if (dr && !dr->gone && dr->kick)
			bell_ring(dr->c.peer_bell);
		if (dr)
			dr->kick = 0;
	}
}

static void serve_clients(void)
{
	for (struct client *c = d.clients; c; c = c->next)
		serve_client(c);
}

static void disk_gone(struct disk *dk)
{
	if (!dk || (dk->e.flags & DDEBLK_DISK_GONE))
		return;
	dk->e.flags |= DDEBLK_DISK_GONE;
	for (int i = 0; i < dk->t.n; i++)
		dk->t.part[i].flags |= DDEBLK_DISK_GONE;
	bddf_log("%s: gone (driver %s)", dk->e.name, dk->drv->name);
}

static void driver_gone(struct driver *dr)
{
	bddf_log("driver %s went away", dr->name);
	dr->gone = 1;
	driver_fail_all(dr);
	for (int i = 0; i < DRIVER_DISKS; i++)
		disk_gone(dr->disk[i]);
	close(dr->sock);
	close(dr->c.my_bell);
	close(dr->c.peer_bell);
	/* the struct stays: its disks name it */
}

/* Take a driver's completions. */
static void driver_completions(struct driver *dr)
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

struct scan {
	struct driver *dr;
	struct disk *dk;
};

static int scan_read(void *arg, uint64_t off, void *buf, uint32_t len)
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

/* ---- names ---- */

static void part_name(const char *disk, unsigned n, char *out)
{
	char base[DDEBLK_NAME_MAX];	/* a copy: @out may lie in the same entry as @disk */
	size_t l;

	memcpy(base, disk, sizeof(base));
	base[20] = 0;
	l = strlen(base);
	snprintf(out, DDEBLK_NAME_MAX, "%.20s%s%u", base,
		 l && base[l - 1] >= '0' && base[l - 1] <= '9' ? "p" : "", n);
}

/* a driver instance's name without "ko:" (a binary module names its disks
 * as the source driver of the same name does) */
static const char *source_name(const char *instance)
{
	return strncmp(instance, "ko:", 3) ? instance : instance + 3;
}

/* PREFIX + letters: sda .. sdz, sdaa .. (as Linux's sd_format_disk_name; vd too) */
static void letter_name(const char *prefix, int index, char *out)
{
	char buf[8];
	int n = 0;

	do {
		buf[n++] = (char)('a' + index % 26);
		index = index / 26 - 1;
	} while (index >= 0 && n < 7);
	out[0] = prefix[0];
	out[1] = prefix[1];
	for (int i = 0; i < n; i++)
		out[2 + i] = buf[n - 1 - i];
	out[2 + n] = 0;
}

/* a letter name's index: vda 0, vdz 25, vdaa 26 ... (-1 if it is none) */
static int letter_index(const char *name)
{
	int index = -1;

	for (const char *p = name + 2; *p; p++) {
		if (*p < 'a' || *p > 'z')
			return -1;
		index = (index + 1) * 26 + (*p - 'a');
	}
	return index;
}

/*
 * The place of driver DR among the drivers of its kind (names starting
 * with PREFIX, binary or not) in dde run's order (--expect), whichever
 * attaches first; -1 for a driver started by hand.
 */
static int expected_place(const struct driver *dr, const char *prefix)
{
	for (int i = 0, k = 0; i < d.nexpect; i++) {
		if (!strcmp(d.expect[i], dr->name))
			return k;
		k += !strncmp(source_name(d.expect[i]), prefix, strlen(prefix));
	}
	return -1;
}

/* A virtio disk's number: one disk per virtio device, in driver order (as
 * Linux numbers them in probe order). */
static int vd_number(struct driver *dr, const char *local)
{
	int own = letter_index(local), k = expected_place(dr, "virtio_blk@");

	if (k >= 0)
		return k + (own > 0 ? own : 0);
	return d.vd_expected + d.vd_disks++;	/* a driver started by hand */
}

/* The number of the NVMe controller a driver calls @ctrl. */
static int nvme_number(struct driver *dr, int ctrl)
{
	/* one already named: another namespace of it */
	for (int i = 0; i < d.ndisks; i++) {
		int c, n, g;

		if (d.disk[i]->drv == dr && sscanf(d.disk[i]->local, "nvme%dn%d", &c, &n) == 2 &&
		    c == ctrl && sscanf(d.disk[i]->e.name, "nvme%dn", &g) == 1)
			return g;
	}
	/* the place of its driver in dde run's order */
	int k = expected_place(dr, "nvme");

	if (k >= 0)
		return k;
	return d.nvme_expected + d.nvme_ctrls++;	/* a driver started by hand */
}

/* bddf's name for a driver's disk: unique across all drivers. */
static void global_name(struct driver *dr, const char *local, char *out)
{
	int ctrl, ns;
	char rest;

	if (sscanf(local, "nvme%dn%d%c", &ctrl, &ns, &rest) == 2) {
		snprintf(out, DDEBLK_NAME_MAX, "nvme%dn%d", nvme_number(dr, ctrl), ns);
	} else if (!strncmp(local, "sd", 2)) {
		letter_name("sd", d.sd_disks++, out);
	} else if (!strncmp(local, "vd", 2) && letter_index(local) >= 0) {
		letter_name("vd", vd_number(dr, local), out);
	} else {
		snprintf(out, DDEBLK_NAME_MAX, "%s", local);
		for (int i = 0, k = 1; i < d.ndisks; i++)
			if (!strcmp(d.disk[i]->e.name, out)) {
				snprintf(out, DDEBLK_NAME_MAX, "%.20s-%d", local, k++);
				i = -1;
			}
	}
}

static void describe(const struct disk *dk)
{
	bddf_log("%s: disk of %s (its %s): %llu bytes (%llu MiB), %u-byte sectors%s%s%s, %s%s%s",
		 dk->e.name, dk->drv->name, dk->local, (unsigned long long)dk->e.size,
		 (unsigned long long)(dk->e.size >> 20), dk->e.sector_size,
		 dk->e.flags & DDEBLK_DISK_RO ? ", read-only" : "",
		 dk->e.flags & DDEBLK_DISK_WC ? ", write cache" : "",
		 dk->e.flags & DDEBLK_DISK_DISCARD ? ", discard" : "",
		 dk->t.label[0] ? dk->t.label : "no partition table",
		 dk->t.label[0] ? " table " : "", dk->t.id);
	for (int i = 0; i < dk->t.n; i++) {
		const struct ddeblk_entry *p = &dk->t.part[i];

		bddf_log("  %s: start %llu, %llu sectors (%llu MiB), type %s%s%s%s%s", p->name,
			 (unsigned long long)(p->start / p->sector_size),
			 (unsigned long long)(p->size / p->sector_size),
			 (unsigned long long)(p->size >> 20), p->type,
			 p->flags & DDEBLK_DISK_BOOT ? ", bootable" : "",
			 p->flags & DDEBLK_DISK_EXTENDED ? ", extended" : "",
			 p->label[0] ? ", name " : "", p->label);
	}
}

/* what a driver says of its disk */
#define DISK_FLAGS (DDEBLK_DISK_RO | DDEBLK_DISK_WC | DDEBLK_DISK_FUA | DDEBLK_DISK_DISCARD)

static void disk_added(struct driver *dr, const struct ddeblk_msg *m)
{
	struct disk *dk;
	struct scan sc;
	int r;

	if (m->index >= DRIVER_DISKS || m->entry.sector_size < 512 || m->entry.sector_size > 4096 ||
	    m->entry.sector_size & (m->entry.sector_size - 1) || m->max_io < m->entry.sector_size) {
		bddf_log("driver %s announced a disk it cannot have: ignored", dr->name);
		return;
	}
	dk = dr->disk[m->index];
	if (dk) {	/* a change: size, read-only */
		dk->e.size = m->entry.size;
		dk->e.flags = (dk->e.flags & DDEBLK_DISK_GONE) | (m->entry.flags & DISK_FLAGS);
		bddf_log("%s: now %llu bytes%s", dk->e.name, (unsigned long long)dk->e.size,
			 dk->e.flags & DDEBLK_DISK_RO ? ", read-only" : "");
		return;
	}
	if (d.ndisks == MAX_DISKS) {
		bddf_log("more than %d disks: %s of %s not served", MAX_DISKS, m->entry.name, dr->name);
		return;
	}
	dk = calloc(1, sizeof(*dk));
	if (!dk)
		return;
	dk->drv = dr;
	dk->index = m->index;
	dk->max_io = m->max_io < MAX_IO ? m->max_io / m->entry.sector_size * m->entry.sector_size : MAX_IO;
	snprintf(dk->local, sizeof(dk->local), "%.*s", DDEBLK_NAME_MAX - 1, m->entry.name);
	dk->e.size = m->entry.size;
	dk->e.sector_size = m->entry.sector_size;
	dk->e.flags = m->entry.flags & DISK_FLAGS;
	snprintf(dk->e.driver, sizeof(dk->e.driver), "%s", dr->name);
	global_name(dr, dk->local, dk->e.name);
	snprintf(dk->e.disk, sizeof(dk->e.disk), "%s", dk->e.name);
	dr->disk[m->index] = dk;
	d.disk[d.ndisks++] = dk;
	sc.dr = dr;
	sc.dk = dk;
	r = bddf_read_table(dk->e.size, dk->e.sector_size, scan_read, &sc, &dk->t);
	if (r)
		bddf_log("%s: cannot read its partition table: %s", dk->e.name, strerror(-r));
	snprintf(dk->e.table, sizeof(dk->e.table), "%s", dk->t.label);
	snprintf(dk->e.uuid, sizeof(dk->e.uuid), "%s", dk->t.id);
	for (int i = 0; i < dk->t.n; i++) {
		struct ddeblk_entry *p = &dk->t.part[i];

		part_name(dk->e.name, p->partno, p->name);
		memcpy(p->disk, dk->e.name, sizeof(p->disk));
		snprintf(p->driver, sizeof(p->driver), "%s", dr->name);
		p->flags |= dk->e.flags & DDEBLK_DISK_RO;
	}
	describe(dk);
}


/* ---- connections ---- */

static struct disk *find(const char *name, const struct ddeblk_entry **e)
{
	for (int i = 0; i < d.ndisks; i++) {
		struct disk *dk = d.disk[i];

		if (!strcmp(dk->e.name, name)) {
			*e = &dk->e;
			return dk;
		}
		for (int k = 0; k < dk->t.n; k++)
			if (!strcmp(dk->t.part[k].name, name)) {
				*e = &dk->t.part[k];
				return dk;
			}
	}
	return NULL;
}

/* a disk's or partition's entry as clients see it: a partition has its disk's abilities */
static struct ddeblk_entry seen(const struct disk *dk, const struct ddeblk_entry *e)
{
	struct ddeblk_entry v = *e;

	v.flags |= dk->e.flags & (DISK_FLAGS | DDEBLK_DISK_GONE);
	return v;
}

static void list(int sock)
{
	struct ddeblk_msg m;

	for (int i = 0; i < d.ndisks; i++) {
		struct disk *dk = d.disk[i];

		msg_init(&m, DDEBLK_MSG_LIST);
		m.entry = dk->e;
		send_msg(sock, &m, NULL, 0);
		for (int k = 0; k < dk->t.n; k++) {
			msg_init(&m, DDEBLK_MSG_LIST);
			m.entry = seen(dk, &dk->t.part[k]);
			send_msg(sock, &m, NULL, 0);
		}
	}
	msg_init(&m, DDEBLK_MSG_LIST_END);
	send_msg(sock, &m, NULL, 0);
}

static void client_free(struct client *cl)
{
	for (struct client **pp = &d.clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	ddeblk_chan_unmap(&cl->c);
	free(cl);
}

static void client_close(struct client *cl)
{
	if (cl->sock >= 0) {
		close(cl->sock);	/* also leaves the epoll set */
		cl->sock = -1;
	}
	if (cl->c.my_bell >= 0) {
		close(cl->c.my_bell);
		close(cl->c.peer_bell);
		cl->c.my_bell = cl->c.peer_bell = -1;
	}
	cl->dead = 1;
	/* its requests in flight complete into the void; then it goes */
	if (!cl->inflight)
		client_free(cl);
}

static void hello_client(struct client *cl, struct ddeblk_msg *m)
{
	const struct ddeblk_entry *e;
	struct disk *dk;
	unsigned depth;
	char why[160];

	m->name[DDEBLK_NAME_MAX - 1] = 0;
	dk = find(m->name, &e);
	if (!dk) {
		snprintf(why, sizeof(why), "no disk or partition '%s'", m->name);
		refuse(cl->sock, -ENOENT, why);
		return;
	}
	if (e->flags & DDEBLK_DISK_EXTENDED) {
		snprintf(why, sizeof(why), "%s is an extended partition (a container of others)", m->name);
		refuse(cl->sock, -EISDIR, why);
		return;
	}
	depth = m->depth ? m->depth : d.client_depth;
	if (depth > 256)
		depth = 256;
	cl->disk = dk;
	cl->e = seen(dk, e);
	cl->rdonly = !!(m->flags & DDEBLK_OPEN_RDONLY);
	msg_init(m, DDEBLK_MSG_WELCOME);
	m->entry = cl->e;
	if (make_channel(cl->sock, &cl->c, depth, m)) {
		refuse(cl->sock, -ENOMEM, "no memory for the channel");
		return;
	}
	cl->h_bell = (struct handle){ K_BELL, cl };
	watch(cl->c.my_bell, &cl->h_bell);
	cl->role = DDEBLK_ROLE_CLIENT;
}

static void hello_driver(struct driver *dr, struct ddeblk_msg *m)
{
	unsigned i;

	for (i = 0; i < sizeof(d.drivers) / sizeof(d.drivers[0]) && d.drivers[i]; i++)
		;
	if (i == sizeof(d.drivers) / sizeof(d.drivers[0])) {
		refuse(dr->sock, -EMFILE, "too many drivers");
		return;
	}
	snprintf(dr->name, sizeof(dr->name), "%.*s", (int)sizeof(m->name) - 1, m->name);
	dr->slot = calloc(d.depth, sizeof(*dr->slot));
	msg_init(m, DDEBLK_MSG_WELCOME);
	if (!dr->slot || make_channel(dr->sock, &dr->c, d.depth, m)) {
		refuse(dr->sock, -ENOMEM, "no memory for the channel");
		return;
	}
	dr->h_bell = (struct handle){ K_BELL, dr };
	watch(dr->c.my_bell, &dr->h_bell);
	dr->role = DDEBLK_ROLE_DRIVER;
	d.drivers[i] = dr;
	bddf_log("driver %s attached (queue depth %u)", dr->name, d.depth);
}

static struct client *new_connection(int s);

/* A new connection: a struct client until HELLO says what it is. */
static void accept_one(void)
{
	int s = accept4(d.listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct client *cl;

	if (s < 0)
		return;
	cl = new_connection(s);
	/* refused: told why at its hello, then dropped */
	if (cl && access_check(&d.access, s, cl->refused, sizeof(cl->refused)))
		bddf_log("refused a connection: %s", cl->refused);
}

/* dde on its control channel: a connection for one of its drivers */
static void on_control(void)
{
	struct ddeblk_msg m;
	int fd, r = seqpacket_recv_fd(d.control, &m, sizeof(m), &fd);
	struct client *cl;

	if (r == 0) {
		epoll_ctl(d.ep, EPOLL_CTL_DEL, d.control, NULL);	/* dde is gone */
		close(d.control);
		d.control = -1;
	}
	if (r > 0 && (m.magic != DDEBLK_MAGIC || m.type != DDEBLK_MSG_CHANNEL)) {
		close(fd);
		r = -EPROTO;
	}
	if (r == -EPROTO)
		bddf_log("malformed message on the control channel: ignored");
	if (r <= 0)
		return;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	cl = new_connection(fd);
	if (cl)
		snprintf(cl->driver, sizeof(cl->driver), "%.*s", (int)sizeof(m.name) - 1, m.name);
}

static struct client *new_connection(int s)
{
	struct client *cl = calloc(1, sizeof(*cl));

	if (!cl) {
		close(s);
		return NULL;
	}
	cl->sock = s;
	cl->c.my_bell = cl->c.peer_bell = -1;
	cl->h_sock = (struct handle){ K_SOCK, cl };
	cl->next = d.clients;
	d.clients = cl;
	watch(s, &cl->h_sock);
	return cl;
}

static void on_driver_msg(struct driver *dr)
{
	struct ddeblk_msg m;
	ssize_t r = recv(dr->sock, &m, sizeof(m), MSG_DONTWAIT);

	if (r < 0 && errno == EAGAIN)
		return;
	if (r != sizeof(m) || m.magic != DDEBLK_MAGIC || m.version != DDEBLK_VERSION) {
		if (r != 0)
			bddf_log("driver %s sent a malformed message: dropped", dr->name);
		driver_gone(dr);
		return;
	}
	m.entry.name[DDEBLK_NAME_MAX - 1] = 0;
	if (m.type == DDEBLK_MSG_DISK)
		disk_added(dr, &m);
	else if (m.type == DDEBLK_MSG_DISK_GONE && m.index < DRIVER_DISKS)
		disk_gone(dr->disk[m.index]);
}

/* A message on a connection that is not yet a driver. */
static void on_sock(struct client *cl)
{
	struct ddeblk_msg m;
	ssize_t r = recv(cl->sock, &m, sizeof(m), MSG_DONTWAIT);

	if (r < 0 && errno == EAGAIN)
		return;
	if (r != sizeof(m) || m.magic != DDEBLK_MAGIC || m.version != DDEBLK_VERSION ||
	    cl->role || m.type != DDEBLK_MSG_HELLO) {
		if (r > 0)
			bddf_log("a client sent a malformed message: dropped");
		client_close(cl);
		return;
	}
	if (cl->refused[0]) {
		refuse(cl->sock, -EACCES, cl->refused);
		client_close(cl);
		return;
	}
	if (m.value == DDEBLK_ROLE_DRIVER && !cl->driver[0] && !d.open_drivers) {
		char why[128];

		m.name[DDEBLK_NAME_MAX - 1] = 0;
		snprintf(why, sizeof(why), "'%s': drivers attach only on the connection "
			 "`dde run` opens for them", m.name);
		bddf_log("refused a driver: %s", why);
		refuse(cl->sock, -EACCES, why);
		client_close(cl);
		return;
	}
	if (cl->driver[0] && m.value != DDEBLK_ROLE_DRIVER) {
		/* a driver's connection serves disks; it opens none */
		bddf_log("driver %s asked to be a client on its connection: dropped", cl->driver);
		refuse(cl->sock, -EACCES, "a driver's connection only attaches the driver");
		client_close(cl);
		return;
	}
	if (cl->driver[0])	/* it is who dde says it is */
		memcpy(m.name, cl->driver, sizeof(m.name));
	if (m.value == DDEBLK_ROLE_TOOL) {
		list(cl->sock);
		return;
	}
	if (m.value == DDEBLK_ROLE_CLIENT) {
		hello_client(cl, &m);
		return;
	}
	if (m.value == DDEBLK_ROLE_DRIVER) {
		struct driver *dr = calloc(1, sizeof(*dr));
		struct epoll_event ev;

		if (!dr) {
			client_close(cl);
			return;
		}
		/* the connection becomes a driver's */
		dr->sock = cl->sock;
		dr->h_sock = (struct handle){ K_SOCK, dr };
		cl->sock = -1;
		client_close(cl);
		ev.events = EPOLLIN;
		ev.data.ptr = &dr->h_sock;
		epoll_ctl(d.ep, EPOLL_CTL_MOD, dr->sock, &ev);
		hello_driver(dr, &m);
		if (dr->role != DDEBLK_ROLE_DRIVER) {
			close(dr->sock);
			free(dr->slot);
			free(dr);
		}
		return;
	}
	client_close(cl);
}

static int is_driver(void *obj)
{
	for (unsigned i = 0; i < sizeof(d.drivers) / sizeof(d.drivers[0]); i++)
		if (d.drivers[i] == obj)
			return 1;
	return 0;
}

static int number(const char *opt, const char *s, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || !v || v > max) {
		fprintf(stderr, "bddf: %s '%s': a number from 1 to %u\n", opt, s, max);
		exit(2);
	}
	return (int)v;
}

static int fault(const char *arg)
{
	const char *colon = strrchr(arg, ':');
	char *end;
	int n = d.ndrop;

	if (n == (int)(sizeof(d.drop) / sizeof(d.drop[0]))) {
		fprintf(stderr, "bddf: too many --fault options\n");
		return -1;
	}
	if (strncmp(arg, "drop-write=", 11) || !colon || colon == arg + 11 ||
	    colon - (arg + 11) >= DDEBLK_NAME_MAX || !colon[1]) {
		fprintf(stderr, "bddf: --fault '%s': drop-write=DISK:SECTOR\n", arg);
		return -1;
	}
	d.drop[n].sector = strtoull(colon + 1, &end, 10);
	if (*end) {
		fprintf(stderr, "bddf: --fault '%s': SECTOR is a number\n", arg);
		return -1;
	}
	snprintf(d.drop[n].disk, sizeof(d.drop[n].disk), "%.*s", (int)(colon - (arg + 11)), arg + 11);
	d.ndrop++;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' },
		{ "depth", required_argument, 0, 'd' },
		{ "client-depth", required_argument, 0, 'c' },
		{ "expect", required_argument, 0, 'e' },
		{ "fault", required_argument, 0, 'f' },
		{ "control-fd", required_argument, 0, 'C' },
		{ "open-drivers", no_argument, 0, 'O' },
		{ "allow-user", required_argument, 0, 'u' },
		{ "allow-group", required_argument, 0, 'g' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *path = NULL;
	char err[200];
	int opt;

	access_init(&d.access);
	d.control = -1;
	d.depth = 32;
	d.client_depth = 32;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 's')
			path = optarg;
		else if (opt == 'd')
			d.depth = (unsigned)number("--depth", optarg, 1024);
		else if (opt == 'c')
			d.client_depth = (unsigned)number("--client-depth", optarg, 256);
		else if (opt == 'e' && d.nexpect < 64) {
			d.expect[d.nexpect++] = optarg;
			d.nvme_expected += !strncmp(source_name(optarg), "nvme", 4);
			d.vd_expected += !strncmp(source_name(optarg), "virtio_blk@", 11);
		}
		else if (opt == 'f') {
			if (fault(optarg))
				return 2;
		} else if (opt == 'C') {
			d.control = number("--control-fd", optarg, 65535);
		} else if (opt == 'O') {
			d.open_drivers = 1;
		} else if (opt == 'u' || opt == 'g') {
			if (access_allow(&d.access, opt == 'g', optarg, err, sizeof(err))) {
				fprintf(stderr, "bddf: %s\n", err);
				return 2;
			}
		} else {
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: bddf --socket PATH [--depth N] [--client-depth N] [--expect DRIVER]...\n"
				"            [--fault drop-write=DISK:SECTOR]... [--control-fd N [--open-drivers]]\n"
				"            [--allow-user U]... [--allow-group G]...\n"
				"  the block server: drivers attach their disks, clients open disks and\n"
				"  partitions by name (libddeblk). --depth: requests in flight per driver\n"
				"  (default 32); --client-depth: per client unless it asks (default 32);\n"
				"  --expect NAME@SLOT: the disk drivers to come, in the order whose\n"
				"  NVMe controllers get numbers 0, 1, ...; --fault drop-write: writes\n"
				"  covering DISK's SECTOR are acknowledged but not done (to test what\n"
				"  verifies writes); --control-fd: dde's channel, on which it opens each\n"
				"  driver's connection (drivers may attach only there unless\n"
				"  --open-drivers); --allow-user/--allow-group: who may connect besides\n"
				"  bddf's own user and root\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!path) {
		fprintf(stderr, "bddf: --socket PATH is required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	d.listen = seqpacket_listen(path, 1);
	if (d.listen < 0) {
		fprintf(stderr, "bddf: cannot listen on %s: %s\n", path, strerror(errno));
		return 1;
	}
	d.ep = epoll_create1(EPOLL_CLOEXEC);
	d.h_listen = (struct handle){ K_LISTEN, NULL };
	watch(d.listen, &d.h_listen);
	if (d.control < 0) {
		d.open_drivers = 1;	/* by hand: drivers attach over the socket */
	} else {
		fcntl(d.control, F_SETFD, FD_CLOEXEC);
		fcntl(d.control, F_SETFL, O_NONBLOCK);
		d.h_control = (struct handle){ K_CONTROL, NULL };
		watch(d.control, &d.h_control);
	}
	for (;;) {
		struct epoll_event ev[32];
		int n = epoll_wait(d.ep, ev, 32, -1);

		for (int i = 0; i < n; i++) {
			struct handle *h = ev[i].data.ptr;

			if (h->kind == K_LISTEN) {
				accept_one();
			} else if (h->kind == K_CONTROL) {
				on_control();
			} else if (is_driver(h->obj)) {
				struct driver *dr = h->obj;

				if (dr->gone)
					continue;
				if (h->kind == K_SOCK)
					on_driver_msg(dr);
				else {
					bell_clear(dr->c.my_bell);
					driver_completions(dr);
				}
			} else {
				struct client *cl = h->obj;

				if (h->kind == K_SOCK)
					on_sock(cl);
				else
					bell_clear(cl->c.my_bell);
			}
		}
		/* clients gone and done */
		for (struct client *c = d.clients, *next; c; c = next) {
			next = c->next;
			if (c->dead && c->sock >= 0)
				client_close(c);
			else if (c->dead && !c->inflight)
				client_free(c);
		}
		serve_clients();
		kick_drivers();
		ring_clients();
	}
}
