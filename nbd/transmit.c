/*
 * dde nbd's transmission phase: NBD requests checked, split into slots of
 * the connection's bddf ring and pipelined (up to its depth), replies sent
 * as requests complete, everything in flight finished when the client
 * goes away.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../common/access.h"
#include "proto.h"
#include "server.h"

static uint32_t nbd_errno(int err)
{
	switch (-err) {
	case 0: return 0;
	case EPERM: case EROFS: return NBD_EPERM;
	case EINVAL: return NBD_EINVAL;
	case ENOSPC: return NBD_ENOSPC;
	case ENOMEM: return NBD_ENOMEM;
	case EOVERFLOW: return NBD_EOVERFLOW;
	case ENOTSUP: return NBD_ENOTSUP;
	default: return NBD_EIO;	/* EIO, and a disk gone (ENODEV) or bddf gone (EPIPE) */
	}
}

static void reply(struct conn *c, uint64_t handle, int err, struct iovec *data, int ndata)
{
	struct __attribute__((packed)) {
		uint32_t magic, error;
		uint64_t handle;
	} h = { htobe32(NBD_SIMPLE_REPLY_MAGIC), htobe32(nbd_errno(err)), handle };
	struct iovec iov[1 + MAX_DEPTH];

	iov[0] = (struct iovec){ &h, sizeof(h) };
	for (int i = 0; i < ndata; i++)
		iov[1 + i] = data[i];
	nbd_send_iov(c, iov, 1 + (err ? 0 : ndata));
}

/* a request's last chunk completed: its reply, its slots back */
static void finish(struct conn *c, struct nreq *q)
{
	struct iovec data[MAX_DEPTH];
	int n = 0;

	if (q->type == NBD_CMD_READ && !q->err) {
		for (unsigned k = 0; k < q->nchunks; k++) {
			uint32_t off = k * c->info.max_io;

			data[n++] = (struct iovec){ ddeblk_slot(c->b, q->slots[k]),
						    q->len - off < c->info.max_io ? q->len - off
										  : c->info.max_io };
		}
	}
	reply(c, q->handle, q->err, data, n);
	if (!q->streamed)
		for (unsigned k = 0; k < q->nchunks; k++)
			c->free_slot[c->nfree_slot++] = q->slots[k];
	c->free_req[c->nfree_req++] = (unsigned)(q - c->req);
	c->inflight--;
}

/* Takes what completed; waits up to @timeout_ms for the first. -1: bddf is gone. */
static int reap(struct conn *c, int timeout_ms)
{
	struct ddeblk_io done[64];
	int n = ddeblk_complete(c->b, done, 64, timeout_ms);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct nreq *q = &c->req[COOKIE_REQ(done[i].cookie)];

		if (q->streamed)
			c->free_slot[c->nfree_slot++] = COOKIE_SLOT(done[i].cookie);
		if (done[i].status && !q->err)
			q->err = done[i].status;
		if (!--q->pending)
			finish(c, q);
	}
	return 0;
}

/* bddf went away: fail what is in flight */
static void fail_all(struct conn *c)
{
	for (unsigned i = 0; i < c->info.depth; i++) {
		struct nreq *q = &c->req[i];

		if (q->pending) {
			q->pending = 0;
			q->err = -EIO;
			finish(c, q);
		}
	}
	c->closing = 1;
}

/* reads and drops @len bytes of a refused write's payload */
static int discard(struct conn *c, uint64_t len)
{
	char buf[65536];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (nbd_read_all(c, buf, n))
			return -1;
		len -= n;
	}
	return 0;
}

/* the checks before a request goes to bddf: 0 or -errno */
static int check(const struct conn *c, uint16_t type, uint64_t off, uint32_t len)
{
	uint32_t ss = c->info.entry.sector_size ? c->info.entry.sector_size : 512;

	if (type == NBD_CMD_FLUSH)
		return 0;
	if (type != NBD_CMD_READ && type != NBD_CMD_WRITE &&
	    (type != NBD_CMD_TRIM || !(c->tflags & NBD_FLAG_SEND_TRIM)) &&
	    (type != NBD_CMD_WRITE_ZEROES || !(c->tflags & NBD_FLAG_SEND_WRITE_ZEROES)))
		return -EINVAL;
	if (type != NBD_CMD_READ && (c->tflags & NBD_FLAG_READ_ONLY))
		return -EPERM;
	if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) && len > nbd_max_payload(c))
		return -EOVERFLOW;
	if (off > c->info.entry.size || len > c->info.entry.size - off)
		return type == NBD_CMD_READ ? -EINVAL : -ENOSPC;
	if (type != NBD_CMD_TRIM && (off % ss || len % ss))
		return -EINVAL;	/* (a trim is advice: its whole sectors are trimmed) */
	return 0;
}

/* One request from the socket: -1 when the connection is to end. */
static int take_request(struct conn *c)
{
	struct __attribute__((packed)) {
		uint32_t magic;
		uint16_t flags, type;
		uint64_t handle, offset;
		uint32_t len;
	} h;
	uint32_t max_io = c->info.max_io;

	if (nbd_read_all(c, &h, sizeof(h)) || be32toh(h.magic) != NBD_REQUEST_MAGIC)
		return -1;
	uint16_t type = be16toh(h.type), flags = be16toh(h.flags);
	uint64_t off = be64toh(h.offset);
	uint32_t len = be32toh(h.len);

	if (type == NBD_CMD_DISC) {
		c->closing = 1;
		return 0;
	}
	int err = check(c, type, off, len);

	if (err) {
		if (type == NBD_CMD_WRITE && discard(c, len))
			return -1;
		reply(c, h.handle, err, NULL, 0);
		return 0;
	}
	if (type == NBD_CMD_TRIM) {
		/* its whole sectors */
		uint32_t ss = c->info.entry.sector_size ? c->info.entry.sector_size : 512;
		uint64_t end = (off + len) / ss * ss;

		off = (off + ss - 1) / ss * ss;
		len = end > off ? (uint32_t)(end - off) : 0;
	}
	if (len == 0 && type != NBD_CMD_FLUSH) {
		reply(c, h.handle, 0, NULL, 0);
		return 0;
	}
	int trim = type == NBD_CMD_TRIM, zeroes = type == NBD_CMD_WRITE_ZEROES;
	int streamed = trim || zeroes;
	unsigned need = type == NBD_CMD_FLUSH ? 1 : (len + max_io - 1) / max_io;

	/* a read or write takes all its slots now, the streamed ones one at a time below */
	while (c->nfree_slot < (streamed ? 1 : need) || !c->nfree_req)
		if (reap(c, -1)) {
			fail_all(c);
			return -1;
		}
	unsigned qi = c->free_req[--c->nfree_req];
	struct nreq *q = &c->req[qi];

	*q = (struct nreq){ .handle = h.handle, .offset = off, .len = len, .type = type,
			    .streamed = (uint16_t)streamed, .nchunks = need, .pending = need,
			    .slots = q->slots };
	c->inflight++;
	for (unsigned k = 0; k < need; k++) {
		uint32_t coff = k * max_io, n = len - coff < max_io ? len - coff : max_io;

		while (streamed && !c->nfree_slot) {
			ddeblk_kick(c->b);
			if (reap(c, -1)) {
				/* bddf is gone: the chunks not sent fail with the rest */
				q->pending -= need - k;
				q->err = -EIO;
				if (!q->pending)
					finish(c, q);
				fail_all(c);
				return -1;
			}
		}
		unsigned slot = c->free_slot[--c->nfree_slot];
		struct ddeblk_io io = {
			.cookie = COOKIE(qi, slot, k & 0xffff), .offset = off + coff, .len = n, .slot = slot,
			.op = type == NBD_CMD_READ ? DDEBLK_OP_READ :
			      type == NBD_CMD_WRITE || zeroes ? DDEBLK_OP_WRITE :
			      trim ? DDEBLK_OP_DISCARD : DDEBLK_OP_FLUSH,
			.flags = (type == NBD_CMD_WRITE || zeroes) && (flags & NBD_CMD_FLAG_FUA)
				 ? DDEBLK_F_FUA : 0,
		};

		if (!streamed)
			q->slots[k] = slot;
		if (zeroes)
			memset(ddeblk_slot(c->b, slot), 0, n);
		if (type == NBD_CMD_WRITE && nbd_read_all(c, ddeblk_slot(c->b, slot), n)) {
			/* the client went mid-payload: what was queued completes, nothing more */
			c->free_slot[c->nfree_slot++] = slot;
			q->pending -= need - k;
			q->nchunks = k;
			c->dead = 1;
			if (!q->pending)
				finish(c, q);
			return -1;
		}
		if (ddeblk_submit(c->b, &io, 1) != 1) {
			/* bddf is gone: this chunk never went */
			if (streamed)
				c->free_slot[c->nfree_slot++] = slot;
			q->err = -EIO;
			if (!--q->pending)
				finish(c, q);
		}
	}
	ddeblk_kick(c->b);
	return 0;
}

static void transmit(struct conn *c)
{
	unsigned depth = c->info.depth;

	c->req = calloc(depth, sizeof(*c->req));
	c->free_req = calloc(depth, sizeof(unsigned));
	c->free_slot = calloc(depth, sizeof(unsigned));
	unsigned *slots = calloc((size_t)depth * depth, sizeof(unsigned));

	if (!c->req || !c->free_req || !c->free_slot || !slots)
		goto out;
	for (unsigned i = 0; i < depth; i++) {
		c->req[i].slots = slots + (size_t)i * depth;
		c->free_req[c->nfree_req++] = depth - 1 - i;
		c->free_slot[c->nfree_slot++] = depth - 1 - i;
	}
	while (!c->closing || c->inflight) {
		/* with timeout 0 this also resets the doorbell, so poll below is level-true */
		if (reap(c, 0)) {
			fail_all(c);
			break;
		}
		int want = !c->closing && !c->dead;
		/* TLS may hold a request already read from the socket */
		int pending = want && nbd_transport_pending(&c->io);
		struct pollfd p[2] = {
			{ ddeblk_fd(c->b), POLLIN, 0 },
			{ c->io.fd, want ? POLLIN : 0, 0 },
		};

		if (c->closing && !c->inflight)
			break;
		/* a bddf that died is noticed by reap() within a second */
		if (poll(p, 2, pending ? 0 : c->inflight ? 1000 : -1) < 0 && errno != EINTR)
			break;
		if ((pending || (p[1].revents & (POLLIN | POLLHUP | POLLERR))) && take_request(c))
			c->closing = 1;
		if (c->dead)
			c->closing = 1;	/* the client is gone: finish what is at bddf */
	}
out:
	free(slots);
	free(c->req);
	free(c->free_req);
	free(c->free_slot);
}

void *nbd_conn_main(void *arg)
{
	struct conn *c = arg;

	if (!nbd_handshake(c)) {
		fprintf(stderr, "dde nbd: %s: serving %s%s%s\n", c->peer, c->export,
			c->io.tls ? " over TLS, " : "", c->io.tls ? c->tls_who : "");
		transmit(c);
		fprintf(stderr, "dde nbd: %s: done\n", c->peer);
	}
	if (c->b)
		ddeblk_close(c->b);
	nbd_transport_close(&c->io, c->dead);
	free(c);
	pthread_mutex_lock(&conns_lock);
	nconns--;
	pthread_mutex_unlock(&conns_lock);
	return NULL;
}

/* --- listening ------------------------------------------------------------- */
