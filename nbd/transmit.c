/*
 * dde nbd's transmission phase: NBD requests checked, split into slots of
 * the connection's bddf ring and pipelined (up to its depth), replies sent
 * as requests complete (simple ones, or structured chunks once the client
 * asked for them), everything in flight finished when the client goes
 * away. BLOCK_STATUS (base:allocation) is a read whose reply says where
 * the data read as zeros.
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

/* --- replies ---------------------------------------------------------------- */

static void simple_reply(struct conn *c, uint64_t handle, int err, struct iovec *data, int ndata)
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

/* one chunk of a structured reply: its header, then @n pieces of payload */
static void chunk(struct conn *c, uint64_t handle, uint16_t flags, uint16_t type,
		  const struct iovec *payload, int n)
{
	struct __attribute__((packed)) {
		uint32_t magic;
		uint16_t flags, type;
		uint64_t handle;
		uint32_t len;
	} h = { htobe32(NBD_STRUCTURED_REPLY_MAGIC), htobe16(flags), htobe16(type), handle, 0 };
	struct iovec iov[2 + MAX_DEPTH];
	size_t len = 0;

	iov[0] = (struct iovec){ &h, sizeof(h) };
	for (int i = 0; i < n; i++) {
		iov[1 + i] = payload[i];
		len += payload[i].iov_len;
	}
	h.len = htobe32((uint32_t)len);
	nbd_send_iov(c, iov, 1 + n);
}

/* success without data: a simple reply, or a NONE chunk */
static void reply_done(struct conn *c, uint64_t handle)
{
	if (c->structured)
		chunk(c, handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, NULL, 0);
	else
		simple_reply(c, handle, 0, NULL, 0);
}

/*
 * A failure: a simple reply, or an error chunk with @msg for the user and
 * the offset where it happened if @at (a read's or a write's failed chunk)
 */
static void reply_error(struct conn *c, uint64_t handle, int err, const char *msg,
			const uint64_t *at)
{
	struct __attribute__((packed)) {
		uint32_t error;
		uint16_t len;
	} e = { htobe32(nbd_errno(err)), htobe16((uint16_t)strlen(msg)) };
	uint64_t off = at ? htobe64(*at) : 0;
	struct iovec p[3] = { { &e, sizeof(e) }, { (void *)msg, strlen(msg) }, { &off, 8 } };

	if (!c->structured)
		simple_reply(c, handle, err, NULL, 0);
	else
		chunk(c, handle, NBD_REPLY_FLAG_DONE,
		      at ? NBD_REPLY_TYPE_ERROR_OFFSET : NBD_REPLY_TYPE_ERROR, p, at ? 3 : 2);
}

/* --- base:allocation ----------------------------------------------------------- */

/*
 * Zero runs are found in granules of 64 KiB (aligned on the export), not
 * per sector: a run of zeros shorter than that inside data (common in
 * file systems and binaries) would cut the data into many small extents,
 * each a request of its own for qemu-img or nbdcopy, to save them reading
 * a few sectors. A reply thus has at most STATUS_MAX / ZERO_GRAIN + 1
 * extents. (Sector sizes divide 64 KiB, so extents stay whole sectors.)
 */
#define ZERO_GRAIN (64u << 10)
/* the most one BLOCK_STATUS reads: the client asks again for the rest */
#define STATUS_MAX (16u << 20)
#define STATUS_EXTENTS (STATUS_MAX / ZERO_GRAIN + 2)

/* the most a block status request reads: with REQ_ONE, one slot */
static uint32_t status_max(const struct conn *c, uint16_t flags)
{
	uint32_t m = nbd_max_payload(c);

	if (flags & NBD_CMD_FLAG_REQ_ONE)
		/* qemu asks this way, extent by extent: each reads at most 1 MiB */
		m = c->info.max_io;
	return m < STATUS_MAX ? m : STATUS_MAX;
}

static int all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t z[16];

	/* the first 16 bytes zero, and every byte as the one 16 before it */
	if (n <= 16)
		return !memcmp(p, z, n);
	return !memcmp(p, z, 16) && !memcmp(p, p + 16, n - 16);
}

/*
 * The reply to BLOCK_STATUS, whose read completed: what reads as zeros is
 * NBD_STATE_ZERO, the rest 0 (data). Never NBD_STATE_HOLE: what is
 * allocated on the medium is the drive's secret, and a client may take a
 * hole to mean that writing there may fail.
 */
static void block_status(struct conn *c, struct nreq *q)
{
	uint32_t max_io = c->info.max_io, e[1 + 2 * STATUS_EXTENTS], pos = 0, last = 0;
	unsigned n = 0;

	e[0] = htobe32(META_BASE_ALLOCATION);
	if (q->err) {
		/*
		 * The spec lets a failure be answered with one extent of the
		 * length asked, and 0 is never wrong: the client's read then
		 * meets the error and reports it where it belongs.
		 */
		e[1] = htobe32(q->want);
		e[2] = 0;
		n = 1;
	}
	while (!q->err && pos < q->len) {
		uint64_t at = q->offset + pos;
		uint32_t end = (uint32_t)((at / ZERO_GRAIN + 1) * ZERO_GRAIN - q->offset);
		uint32_t flags = NBD_STATE_ZERO;

		if (end > q->len)
			end = q->len;
		/* the granule, slot by slot */
		for (uint32_t p = pos; p < end && flags;) {
			uint32_t k = p / max_io, stop = (k + 1) * max_io < end ? (k + 1) * max_io : end;

			if (!all_zero((uint8_t *)ddeblk_slot(c->b, q->slots[k]) + (p - k * max_io),
				      stop - p))
				flags = 0;
			p = stop;
		}
		if (n && flags == last) {
			e[2 * n - 1] = htobe32(be32toh(e[2 * n - 1]) + (end - pos));
		} else {
			e[2 * n + 1] = htobe32(end - pos);
			e[2 * n + 2] = htobe32(flags);
			last = flags;
			n++;
		}
		pos = end;
	}
	if (q->flags & NBD_CMD_FLAG_REQ_ONE) {
		/* one extent, no longer than asked */
		if (be32toh(e[1]) > q->want)
			e[1] = htobe32(q->want);
		n = 1;
	}
	struct iovec iov = { e, (1 + 2 * n) * sizeof(uint32_t) };

	chunk(c, q->handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, &iov, 1);
}

/* --- requests ---------------------------------------------------------------- */

/* a request's last chunk completed: its reply, its slots back */
static void finish(struct conn *c, struct nreq *q)
{
	struct iovec data[1 + MAX_DEPTH];
	uint64_t off = htobe64(q->offset);
	int n = 0;

	if (q->type == NBD_CMD_BLOCK_STATUS) {
		block_status(c, q);
	} else if (q->err) {
		uint64_t at = q->offset + (uint64_t)q->err_chunk * c->info.max_io;
		char msg[DDEBLK_NAME_MAX + 64];

		snprintf(msg, sizeof(msg), "%s: %s", c->export, strerror(-q->err));
		reply_error(c, q->handle, q->err, msg, q->err_chunk >= 0 ? &at : NULL);
	} else if (q->type == NBD_CMD_READ) {
		/* structured: one OFFSET_DATA chunk, the last (the data is all here) */
		if (c->structured)
			data[n++] = (struct iovec){ &off, sizeof(off) };
		for (unsigned k = 0; k < q->nchunks; k++) {
			uint32_t o = k * c->info.max_io;

			data[n++] = (struct iovec){ ddeblk_slot(c->b, q->slots[k]),
						    q->len - o < c->info.max_io ? q->len - o
									       : c->info.max_io };
		}
		if (c->structured)
			chunk(c, q->handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, data, n);
		else
			simple_reply(c, q->handle, 0, data, n);
	} else {
		reply_done(c, q->handle);
	}
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
		if (done[i].status && !q->err) {
			q->err = done[i].status;
			/* a read's or write's chunk numbers are exact: its offset for the error */
			if (!q->streamed)
				q->err_chunk = (int)(done[i].cookie & 0xffff);
		}
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

/* the checks before a request goes to bddf: 0, or -errno and why in *why */
static int check(const struct conn *c, uint16_t type, uint64_t off, uint32_t len,
		 const char **why)
{
	uint32_t ss = c->info.entry.sector_size ? c->info.entry.sector_size : 512;
	int status = type == NBD_CMD_BLOCK_STATUS;

	if (type == NBD_CMD_FLUSH)
		return 0;
	*why = "a command this export does not offer";
	if (type != NBD_CMD_READ && type != NBD_CMD_WRITE && (!status || !c->meta) &&
	    (type != NBD_CMD_TRIM || !(c->tflags & NBD_FLAG_SEND_TRIM)) &&
	    (type != NBD_CMD_WRITE_ZEROES || !(c->tflags & NBD_FLAG_SEND_WRITE_ZEROES))) {
		if (status)
			*why = "block status without base:allocation (NBD_OPT_SET_META_CONTEXT)";
		return -EINVAL;
	}
	*why = "the export is read-only";
	if (type != NBD_CMD_READ && !status && (c->tflags & NBD_FLAG_READ_ONLY))
		return -EPERM;
	*why = "longer than the maximum block size";
	if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) && len > nbd_max_payload(c))
		return -EOVERFLOW;
	*why = "beyond the end of the export";
	if (off > c->info.entry.size || len > c->info.entry.size - off)
		return type == NBD_CMD_READ || status ? -EINVAL : -ENOSPC;
	*why = "not in whole sectors";
	/* (a trim is advice: its whole sectors are trimmed; a status length is a hint) */
	if (type != NBD_CMD_TRIM && (off % ss || (!status && len % ss)))
		return -EINVAL;
	*why = "a block status of no length";
	if (status && !len)
		return -EINVAL;
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
	const char *why = "";
	int err = check(c, type, off, len, &why);

	if (err) {
		if (type == NBD_CMD_WRITE && discard(c, len))
			return -1;
		reply_error(c, h.handle, err, why, NULL);
		return 0;
	}
	uint32_t want = len;

	if (type == NBD_CMD_BLOCK_STATUS) {
		/* read whole sectors of the range, up to status_max(): the extents' source */
		uint32_t ss = c->info.entry.sector_size ? c->info.entry.sector_size : 512;
		uint64_t n = ((uint64_t)len + ss - 1) / ss * ss, m = status_max(c, flags);

		if (n > c->info.entry.size - off)
			n = c->info.entry.size - off;
		len = (uint32_t)(n < m ? n : m);
	}
	if (type == NBD_CMD_TRIM) {
		/* its whole sectors */
		uint32_t ss = c->info.entry.sector_size ? c->info.entry.sector_size : 512;
		uint64_t end = (off + len) / ss * ss;

		off = (off + ss - 1) / ss * ss;
		len = end > off ? (uint32_t)(end - off) : 0;
	}
	if (len == 0 && type != NBD_CMD_FLUSH) {
		reply_done(c, h.handle);
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

	*q = (struct nreq){ .handle = h.handle, .offset = off, .len = len, .want = want,
			    .type = type, .flags = flags, .streamed = (uint16_t)streamed,
			    .nchunks = need, .pending = need, .err_chunk = -1, .slots = q->slots };
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
			.op = type == NBD_CMD_READ || type == NBD_CMD_BLOCK_STATUS ? DDEBLK_OP_READ :
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
