/* libddeblk: the client and driver sides of the bddf channel. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ddeblk/ddeblk.h>
#include <ddeblk/driver.h>
#include "chan.h"
#include "../common/seqpacket.h"

/* why bddf refused this thread's last hello (ddeblk_strerror) */
static __thread char refusal[sizeof(((struct ddeblk_msg *)0)->error)];
static __thread int refusal_err;

const char *ddeblk_strerror(int err)
{
	if (err < 0 && err == refusal_err && refusal[0])
		return refusal;
	return strerror(err < 0 ? -err : err);
}

/* A WELCOME that refuses: remember why (bddf's words, if any), return the error. */
static int refused(const struct ddeblk_msg *m)
{
	if (!m->error[0])
		return m->value;
	memcpy(refusal, m->error, sizeof(refusal));
	refusal[sizeof(refusal) - 1] = 0;
	refusal_err = m->value;
	return m->value;
}

static int connect_to(const char *server)
{
	if (!server)
		server = getenv("DDE_BLK");
	return seqpacket_connect(server);
}

static void msg_init(struct ddeblk_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDEBLK_MAGIC;
	m->version = DDEBLK_VERSION;
	m->type = (uint16_t)type;
}

static int send_msg(int sock, const struct ddeblk_msg *m)
{
	return seqpacket_send(sock, m, sizeof(*m), NULL, 0);
}

/* One control message (blocking), and up to 3 descriptors with it. */
static int recv_msg(int sock, struct ddeblk_msg *m, int fds[3], int *nfds)
{
	long r = seqpacket_recv(sock, m, sizeof(*m), fds, nfds, 0);

	if (r <= 0)
		return -EPIPE;
	if (r != sizeof(*m) || m->magic != DDEBLK_MAGIC || m->version != DDEBLK_VERSION) {
		for (int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return 0;
}

/*
 * HELLO, then WELCOME with the channel: 0 or -errno (why in @err). A
 * driver giving its memory for the slots sends its fd (@mem_fd >= 0) and
 * has it at @ext.
 */
static int hello(int sock, struct ddeblk_msg *m, struct ddeblk_chan *c, int mem_fd, void *ext)
{
	int fds[3], n, r;

	if (seqpacket_send(sock, m, sizeof(*m), &mem_fd, mem_fd >= 0))
		return -EPIPE;
	r = recv_msg(sock, m, fds, &n);
	if (r)
		return r;
	if (m->type != DDEBLK_MSG_WELCOME || m->value) {
		for (int i = 0; i < n; i++)
			close(fds[i]);
		return m->type != DDEBLK_MSG_WELCOME ? -EPROTO : refused(m);
	}
	if (n != 3)
		return -EPROTO;
	if (!(m->flags & DDEBLK_SLOTS_TAKEN))
		ext = NULL;	/* bddf did not take the driver's memory: the slots are bddf's */
	r = ddeblk_chan_map(c, fds[0], m->depth, m->max_io, 0, ext);
	close(fds[0]);
	if (r) {
		close(fds[1]);
		close(fds[2]);
		return r;
	}
	c->peer_bell = fds[1];
	c->my_bell = fds[2];
	return 0;
}

/* ---- clients ---- */

struct ddeblk {
	int sock;
	struct ddeblk_chan c;
	struct ddeblk_info info;
	unsigned inflight;
	int dead;
};

int ddeblk_open(const char *server, const char *name, unsigned depth, unsigned flags,
		struct ddeblk **out)
{
	struct ddeblk *b;
	struct ddeblk_msg m;
	int r;

	if (!name || !*name || strlen(name) >= DDEBLK_NAME_MAX)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->sock = connect_to(server);
	if (b->sock < 0) {
		r = b->sock;
		free(b);
		return r;
	}
	msg_init(&m, DDEBLK_MSG_HELLO);
	m.value = DDEBLK_ROLE_CLIENT;
	m.flags = flags;
	m.depth = depth;
	strcpy(m.name, name);
	r = hello(b->sock, &m, &b->c, -1, NULL);
	if (r) {
		close(b->sock);
		free(b);
		return r;
	}
	b->info.entry = m.entry;
	b->info.depth = b->c.depth;
	b->info.max_io = b->c.max_io;
	*out = b;
	return 0;
}

void ddeblk_info(struct ddeblk *b, struct ddeblk_info *info)
{
	*info = b->info;
}

void ddeblk_close(struct ddeblk *b)
{
	if (!b)
		return;
	close(b->sock);
	close(b->c.my_bell);
	close(b->c.peer_bell);
	ddeblk_chan_unmap(&b->c);
	free(b);
}

void *ddeblk_slot(struct ddeblk *b, unsigned slot)
{
	return slot < b->c.depth ? ddeblk_slot_of(&b->c, slot) : NULL;
}

int ddeblk_fd(const struct ddeblk *b)
{
	return b->c.my_bell;
}

int ddeblk_submit(struct ddeblk *b, const struct ddeblk_io *io, unsigned n)
{
	unsigned i;

	if (b->dead)
		return -EPIPE;
	for (i = 0; i < n; i++) {
		struct ddeblk_sqe e = {
			.cookie = io[i].cookie, .offset = io[i].offset, .len = io[i].len,
			.op = io[i].op, .flags = io[i].flags, .slot = io[i].slot,
		};
		int r;

		if (io[i].slot >= b->c.depth || io[i].len > b->c.max_io)
			return i ? (int)i : -EINVAL;
		r = ddeblk_sq_push(&b->c, &e);
		if (r == -EAGAIN)
			break;
		if (r)
			return r;
		b->inflight++;
	}
	return i ? (int)i : -EAGAIN;
}

void ddeblk_kick(struct ddeblk *b)
{
	bell_ring(b->c.peer_bell);
}

/* bddf closed the connection (it exited, or refused us for breaking the channel)? */
static int check_alive(struct ddeblk *b)
{
	char x;

	if (b->dead)
		return -EPIPE;
	ssize_t r = recv(b->sock, &x, 1, MSG_DONTWAIT | MSG_PEEK);

	/* bddf sends nothing after WELCOME: only its end (or an error) is news */
	if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		b->dead = 1;
		return -EPIPE;
	}
	return 0;
}

int ddeblk_complete(struct ddeblk *b, struct ddeblk_io *done, unsigned max, int timeout_ms)
{
	unsigned n = 0;

	/* not waiting: the caller polls ddeblk_fd itself, whose readiness ends here */
	if (!timeout_ms)
		bell_clear(b->c.my_bell);
	for (;;) {
		struct ddeblk_cqe e;
		int r;

		while (n < max && (r = ddeblk_cq_pop(&b->c, &e)) == 0) {
			done[n].cookie = e.cookie;
			done[n].status = e.status;
			n++;
			if (b->inflight)
				b->inflight--;
		}
		if (n < max && r == -EPROTO)
			return n ? (int)n : -EPROTO;
		if (n)
			return (int)n;
		if (!timeout_ms)
			return check_alive(b);
		struct pollfd p[2] = { { b->c.my_bell, POLLIN, 0 }, { b->sock, POLLIN, 0 } };

		if (check_alive(b))
			return -EPIPE;
		r = poll(p, 2, timeout_ms);
		if (r == 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents & POLLIN)
			bell_clear(b->c.my_bell);
		if ((p[1].revents & (POLLIN | POLLHUP)) && check_alive(b)) {
			/* take what bddf completed before it went */
			while (n < max && ddeblk_cq_pop(&b->c, &e) == 0) {
				done[n].cookie = e.cookie;
				done[n++].status = e.status;
			}
			return n ? (int)n : -EPIPE;
		}
	}
}

/*
 * Synchronous requests: in chunks of max_io, as many in flight as there are
 * slots. A completion's cookie carries its chunk and its slot (chunks
 * complete in any order: a slot is reused only once its own chunk is done).
 */
#define CHUNK_BITS 40

static int sync_io(struct ddeblk *b, int op, void *buf, size_t len, uint64_t offset,
		   unsigned flags)
{
	size_t chunk = b->c.max_io, nchunks = (len + chunk - 1) / chunk, next = 0, doneck = 0;
	unsigned nfree = b->c.depth, *free_slot;
	int err = 0;

	if (b->inflight)
		return -EBUSY;	/* asynchronous requests are still in flight */
	if (nchunks >> CHUNK_BITS)
		return -EINVAL;
	free_slot = malloc(b->c.depth * sizeof(*free_slot));
	if (!free_slot)
		return -ENOMEM;
	for (unsigned i = 0; i < b->c.depth; i++)
		free_slot[i] = i;
	while (doneck < next || (next < nchunks && !err)) {
		while (next < nchunks && nfree && !err) {
			size_t off = next * chunk, n = len - off < chunk ? len - off : chunk;
			unsigned slot = free_slot[nfree - 1];
			struct ddeblk_io io = { .cookie = next | (uint64_t)slot << CHUNK_BITS,
						.offset = offset + off, .len = (uint32_t)n,
						.op = (uint16_t)op, .flags = (uint16_t)flags, .slot = slot };

			if (op == DDEBLK_OP_WRITE)
				memcpy(ddeblk_slot_of(&b->c, slot), (char *)buf + off, n);
			int r = ddeblk_submit(b, &io, 1);

			if (r == -EAGAIN)
				break;
			if (r < 0) {
				err = r;
				break;
			}
			next++;
			nfree--;
		}
		ddeblk_kick(b);
		if (doneck == next)
			break;
		struct ddeblk_io done[64];
		int n = ddeblk_complete(b, done, 64, -1);

		if (n < 0) {
			err = n;
			break;
		}
		for (int i = 0; i < n; i++) {
			size_t k = done[i].cookie & ((1ull << CHUNK_BITS) - 1), off = k * chunk;
			unsigned slot = (unsigned)(done[i].cookie >> CHUNK_BITS);

			if (done[i].status && !err)
				err = done[i].status;
			if (op == DDEBLK_OP_READ && !done[i].status)
				memcpy((char *)buf + off, ddeblk_slot_of(&b->c, slot),
				       len - off < chunk ? len - off : chunk);
			free_slot[nfree++] = slot;
			doneck++;
		}
	}
	free(free_slot);
	return err;
}

int ddeblk_read(struct ddeblk *b, void *buf, size_t len, uint64_t offset)
{
	return len ? sync_io(b, DDEBLK_OP_READ, buf, len, offset, 0) : 0;
}

int ddeblk_write(struct ddeblk *b, const void *buf, size_t len, uint64_t offset, unsigned flags)
{
	return len ? sync_io(b, DDEBLK_OP_WRITE, (void *)buf, len, offset, flags) : 0;
}

int ddeblk_discard(struct ddeblk *b, size_t len, uint64_t offset)
{
	return len ? sync_io(b, DDEBLK_OP_DISCARD, NULL, len, offset, 0) : 0;
}

int ddeblk_flush(struct ddeblk *b)
{
	struct ddeblk_io io = { .op = DDEBLK_OP_FLUSH }, done;
	int r;

	if (b->inflight)
		return -EBUSY;
	r = ddeblk_submit(b, &io, 1);
	if (r < 0)
		return r;
	ddeblk_kick(b);
	r = ddeblk_complete(b, &done, 1, -1);
	return r < 0 ? r : done.status;
}

int ddeblk_list(const char *server, void (*fn)(const struct ddeblk_entry *e, void *arg), void *arg)
{
	struct ddeblk_msg m;
	int sock = connect_to(server), n = 0, fds[3], nfds, r;

	if (sock < 0)
		return sock;
	msg_init(&m, DDEBLK_MSG_HELLO);
	m.value = DDEBLK_ROLE_TOOL;
	if (send_msg(sock, &m)) {
		close(sock);
		return -EPIPE;
	}
	for (;;) {
		r = recv_msg(sock, &m, fds, &nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (r || m.type == DDEBLK_MSG_LIST_END)
			break;
		if (m.type == DDEBLK_MSG_WELCOME && m.value < 0) {
			r = refused(&m);	/* the access check said no */
			break;
		}
		if (m.type != DDEBLK_MSG_LIST) {
			r = -EPROTO;
			break;
		}
		m.entry.name[DDEBLK_NAME_MAX - 1] = 0;
		fn(&m.entry, arg);
		n++;
	}
	close(sock);
	return r ? r : n;
}

struct collected {
	struct ddeblk_entry *e;
	int n, cap, err;
};

static void collect(const struct ddeblk_entry *e, void *arg)
{
	struct collected *c = arg;

	if (c->n == c->cap) {
		int cap = c->cap ? 2 * c->cap : 32;
		struct ddeblk_entry *ne = realloc(c->e, (size_t)cap * sizeof(*ne));

		if (!ne) {
			c->err = -ENOMEM;
			return;
		}
		c->e = ne;
		c->cap = cap;
	}
	c->e[c->n++] = *e;
}

/* disks by name (nvme0n1 < nvme1n1 < sda < sdb), each followed by its partitions */
static int by_name(const void *a, const void *b)
{
	const struct ddeblk_entry *x = a, *y = b;
	int d = strcmp(x->disk, y->disk);

	if (d)
		return d;
	return (x->partno > y->partno) - (x->partno < y->partno);
}

int ddeblk_list_sorted(const char *server, struct ddeblk_entry **out)
{
	struct collected all = { 0 };
	int n = ddeblk_list(server, collect, &all);

	if (n >= 0 && all.err)
		n = all.err;
	if (n < 0) {
		free(all.e);
		*out = NULL;
		return n;
	}
	if (all.n)	/* none yet: all.e is NULL, which qsort may not be given */
		qsort(all.e, (size_t)all.n, sizeof(*all.e), by_name);
	*out = all.e;
	return all.n;
}

void ddeblk_size_text(uint64_t bytes, char *out, size_t cap)
{
	static const char unit[] = "BKMGTP";
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(out, cap, u ? "%.1f%c" : "%.0f%c", v, unit[u]);
}

/* ---- drivers ---- */

struct ddeblk_drv {
	int sock;
	struct ddeblk_chan c;
};

int ddeblk_drv_attach(const char *server, const char *name, struct ddeblk_drv **out)
{
	return ddeblk_drv_attach_mem(server, name, NULL, -1, 0, 0, 0, out);
}

int ddeblk_drv_attach_mem(const char *server, const char *name, void *data, int fd,
			  uint64_t offset, uint32_t depth, uint32_t slot_size,
			  struct ddeblk_drv **out)
{
	struct ddeblk_drv *d = calloc(1, sizeof(*d));
	struct ddeblk_msg m;
	int r;

	if (!d)
		return -ENOMEM;
	d->sock = connect_to(server);
	if (d->sock < 0) {
		r = d->sock;
		free(d);
		return r;
	}
	msg_init(&m, DDEBLK_MSG_HELLO);
	m.value = DDEBLK_ROLE_DRIVER;
	snprintf(m.name, sizeof(m.name), "%s", name);
	if (data) {
		m.depth = depth;
		m.max_io = slot_size;
		m.data_off = offset;
	}
	r = hello(d->sock, &m, &d->c, data ? fd : -1, data);
	if (r == 0 && d->c.ext_size && (m.max_io != slot_size || m.depth > depth || !m.depth)) {
		/* bddf may grant fewer slots, never others */
		close(d->c.my_bell);
		close(d->c.peer_bell);
		ddeblk_chan_unmap(&d->c);
		r = -EPROTO;
	}
	if (r) {
		close(d->sock);
		free(d);
		return r;
	}
	*out = d;
	return 0;
}

int ddeblk_drv_own_slots(const struct ddeblk_drv *d)
{
	return d->c.ext_size != 0;
}

void ddeblk_drv_close(struct ddeblk_drv *d)
{
	if (!d)
		return;
	close(d->c.my_bell);
	close(d->c.peer_bell);
	ddeblk_chan_unmap(&d->c);	/* the driver's own slot memory stays the driver's */
	close(d->sock);
	free(d);
}

int ddeblk_drv_disk(struct ddeblk_drv *d, unsigned index, const struct ddeblk_entry *e,
		    unsigned max_io)
{
	struct ddeblk_msg m;

	msg_init(&m, DDEBLK_MSG_DISK);
	m.index = index;
	m.entry = *e;
	m.max_io = max_io;
	return send_msg(d->sock, &m);
}

int ddeblk_drv_disk_gone(struct ddeblk_drv *d, unsigned index)
{
	struct ddeblk_msg m;

	msg_init(&m, DDEBLK_MSG_DISK_GONE);
	m.index = index;
	return send_msg(d->sock, &m);
}

int ddeblk_drv_next(struct ddeblk_drv *d, struct ddeblk_req *r)
{
	struct ddeblk_sqe e;
	int rc = ddeblk_sq_pop(&d->c, &e);

	if (rc == -EAGAIN)
		return 0;
	if (rc)
		return rc;
	r->cookie = e.cookie;
	r->offset = e.offset;
	r->len = e.len;
	r->op = e.op;
	r->flags = e.flags;
	r->disk = e.disk;
	/* bddf is trusted here, but a bad slot would still be our crash */
	if (e.slot >= d->c.depth || e.len > d->c.max_io)
		return -EPROTO;
	r->data = ddeblk_slot_of(&d->c, e.slot);
	return 1;
}

int ddeblk_drv_done(struct ddeblk_drv *d, uint64_t cookie, int status)
{
	struct ddeblk_cqe e = { .cookie = cookie, .status = status };

	return ddeblk_cq_push(&d->c, &e);
}

void ddeblk_drv_kick(struct ddeblk_drv *d)
{
	bell_ring(d->c.peer_bell);
}

int ddeblk_drv_wait(struct ddeblk_drv *d, int timeout_ms)
{
	struct pollfd p[2] = { { d->c.my_bell, POLLIN, 0 }, { d->sock, POLLIN, 0 } };
	int r = poll(p, 2, timeout_ms);

	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
		return -EPIPE;	/* bddf sends nothing after WELCOME: this is its end */
	if (p[0].revents & POLLIN) {
		bell_clear(d->c.my_bell);
		return 1;
	}
	return 0;
}
