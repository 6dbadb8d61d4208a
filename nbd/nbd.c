/*
 * dde nbd: disks and partitions of the block server (bddf) exported over
 * NBD, so that real tools — qemu-img, nbdcopy, nbdinfo, the kernel's
 * nbd-client — can use them (docs/block.md, "NBD").
 *
 * A client of bddf like any other (libddeblk): each NBD connection opens
 * its export at bddf with a ring of its own, so bddf keeps it inside the
 * disk or partition, and several connections (to one export or to
 * several) run at once. The handshake is fixed newstyle only, with
 * NBD_OPT_GO/INFO (size, block sizes, name, description), LIST and
 * EXPORT_NAME; transmission takes READ, WRITE (also FUA), WRITE_ZEROES,
 * TRIM (when the disk takes discards), FLUSH and DISC,
 * pipelined: each connection keeps up to its ring's depth of requests at
 * bddf, a request larger than one data slot is split across several,
 * replies go out as requests complete (simple replies, in any order).
 *
 * One thread accepts; one thread per connection runs a loop over the
 * socket and the ring's completions. Listening is on a Unix socket or on
 * loopback unless --bind says otherwise.
 *
 * Who is served: on TCP, clients that bring the PSK or a certificate
 * (NBD_OPT_STARTTLS, then everything through TLS: nbd/transport.c), or
 * anyone with --insecure; on the Unix socket, its owner, root and the users
 * and groups of --allow-user/--allow-group, by the peer's credentials
 * (common/access.h). A refused client is told why in an option error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <ddeblk/ddeblk.h>
#include "../common/access.h"
#include "nbd.h"
#include "proto.h"
#include "transport.h"

#define MAX_EXPORTS 16
#define DEFAULT_CONNS 16
#define MAX_DEPTH 256		/* --depth at most: a request's chunks at most */

struct config {
	const char *server;		/* bddf: NULL for $DDE_BLK */
	char *exports[MAX_EXPORTS];	/* names at bddf; the first is the default */
	int nexports;
	int read_only;
	unsigned depth;			/* ring depth per connection */
	unsigned max_conns;
	char sock_path[108];		/* listening on a Unix socket... */
	const char *port, *bind;	/* ... or on TCP */
	const char *tls_psk, *tls_certs;
	int insecure;			/* TCP without TLS */
};

static struct config cfg;
static struct access_policy peers;	/* who may use the Unix socket */
static unsigned nconns, nclients;
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t stopping;

/* --- the socket: whole reads and writes ------------------------------------ */

struct conn {
	struct nbd_transport io;	/* the socket, or TLS over it */
	char peer[80];
	char denied[256];		/* the peer is refused: why (access_check) */
	char tls_who[80];		/* TLS: the client's credentials */
	int tls_refused;		/* options refused for want of TLS */
	const char *export;		/* the name chosen */
	struct ddeblk *b;
	struct ddeblk_info info;
	uint16_t tflags;		/* transmission flags */
	int no_zeroes;
	int closing;			/* DISC seen, or the client went away */
	int dead;			/* the socket failed: send nothing more */
	/* transmission: requests in flight and the free data slots */
	struct nreq *req;
	unsigned *free_req, nfree_req;
	unsigned *free_slot, nfree_slot;
	unsigned inflight;		/* requests at bddf */
};

/*
 * A request in flight: split over nchunks slots of max_io bytes. A chunk's
 * cookie: the request, the slot, the chunk. A read or write holds its
 * slots until the reply (the data is there); the chunks of a trim or a
 * write of zeroes carry no data of the client's and give their slot back
 * as each completes, so these stream through the ring a slot at a time,
 * at any length.
 */
#define COOKIE(req, slot, k) ((uint64_t)(req) << 32 | (uint64_t)(slot) << 16 | (k))
#define COOKIE_REQ(c) ((unsigned)((c) >> 32))
#define COOKIE_SLOT(c) ((unsigned)((c) >> 16) & 0xffff)
struct nreq {
	uint64_t handle;
	uint64_t offset;
	uint32_t len;
	uint16_t type;
	uint16_t streamed;		/* a trim or a write of zeroes: slots freed per chunk */
	uint32_t nchunks, pending;
	int err;			/* the first chunk's error (-errno) */
	unsigned *slots;		/* nchunks slot numbers */
};

static int read_all(struct conn *c, void *buf, size_t len)
{
	return nbd_transport_read(&c->io, buf, len);
}

/* writev to the end, or mark the connection dead */
static int send_iov(struct conn *c, struct iovec *iov, int n)
{
	if (!c->dead && nbd_transport_send(&c->io, iov, n))
		c->dead = 1;
	return c->dead ? -1 : 0;
}

static int send_all(struct conn *c, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return send_iov(c, &iov, 1);
}

/* --- handshake -------------------------------------------------------------- */

static int export_index(const char *name)
{
	if (!*name)
		return 0;	/* the default export */
	for (int i = 0; i < cfg.nexports; i++)
		if (!strcmp(cfg.exports[i], name))
			return i;
	return -1;
}

static int opt_reply(struct conn *c, uint32_t opt, uint32_t type, const void *data, uint32_t len)
{
	struct __attribute__((packed)) {
		uint64_t magic;
		uint32_t opt, type, len;
	} h = { htobe64(NBD_REP_MAGIC), htobe32(opt), htobe32(type), htobe32(len) };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)data, len } };

	return send_iov(c, iov, len ? 2 : 1);
}

static int opt_error(struct conn *c, uint32_t opt, uint32_t type, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return opt_reply(c, opt, type, msg, (uint32_t)strlen(msg));
}

/* Opens export @i at bddf for this connection (its size and limits in c->info). */
static int open_export(struct conn *c, int i)
{
	int r = ddeblk_open(cfg.server, cfg.exports[i], cfg.depth,
			    cfg.read_only ? DDEBLK_OPEN_RDONLY : 0, &c->b);

	if (r)
		return r;
	ddeblk_info(c->b, &c->info);
	c->export = cfg.exports[i];
	c->tflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
		    NBD_FLAG_CAN_MULTI_CONN;
	if (cfg.read_only || (c->info.entry.flags & DDEBLK_DISK_RO))
		c->tflags |= NBD_FLAG_READ_ONLY;
	else
		c->tflags |= NBD_FLAG_SEND_WRITE_ZEROES |
			     (c->info.entry.flags & DDEBLK_DISK_DISCARD ? NBD_FLAG_SEND_TRIM : 0);
	return 0;
}

/* the largest request this connection takes: every slot of its ring */
static uint32_t max_payload(const struct conn *c)
{
	unsigned d = c->info.depth < MAX_DEPTH ? c->info.depth : MAX_DEPTH;
	uint64_t m = (uint64_t)d * c->info.max_io;

	return m < NBD_MAX_PAYLOAD ? (uint32_t)m : NBD_MAX_PAYLOAD;
}

static int send_info(struct conn *c, uint32_t opt, uint16_t type)
{
	uint8_t b[4096 + 2];
	uint32_t len = 2;
	uint16_t t = htobe16(type);

	memcpy(b, &t, 2);
	if (type == NBD_INFO_EXPORT) {
		uint64_t size = htobe64(c->info.entry.size);
		uint16_t fl = htobe16(c->tflags);

		memcpy(b + 2, &size, 8);
		memcpy(b + 10, &fl, 2);
		len = 12;
	} else if (type == NBD_INFO_BLOCK_SIZE) {
		uint32_t min = c->info.entry.sector_size ? c->info.entry.sector_size : 512;
		uint32_t v[3] = { htobe32(min), htobe32(min > 4096 ? min : 4096),
				  htobe32(max_payload(c)) };

		memcpy(b + 2, v, sizeof(v));
		len = 14;
	} else if (type == NBD_INFO_NAME) {
		len += (uint32_t)snprintf((char *)b + 2, sizeof(b) - 2, "%s", c->export);
	} else if (type == NBD_INFO_DESCRIPTION) {
		len += (uint32_t)snprintf((char *)b + 2, sizeof(b) - 2, "%s of %s",
					  c->info.entry.partno ? "partition" : "disk",
					  c->info.entry.driver);
	} else {
		return 0;	/* unknown kinds are not answered */
	}
	return opt_reply(c, opt, NBD_REP_INFO, b, len);
}

/* NBD_OPT_INFO and NBD_OPT_GO: 1 when transmission begins (GO), 0 to go on, -1 to close */
static int opt_info_go(struct conn *c, uint32_t opt, const uint8_t *d, uint32_t len)
{
	uint32_t nlen;
	uint16_t nreq;
	char name[DDEBLK_NAME_MAX + 1];
	int i, r;

	if (len < 6)
		return opt_error(c, opt, NBD_REP_ERR_INVALID, "option too short");
	memcpy(&nlen, d, 4);
	nlen = be32toh(nlen);
	if (nlen > len - 6)
		return opt_error(c, opt, NBD_REP_ERR_INVALID, "name beyond the option");
	memcpy(&nreq, d + 4 + nlen, 2);
	nreq = be16toh(nreq);
	if (len != 6 + nlen + 2u * nreq)
		return opt_error(c, opt, NBD_REP_ERR_INVALID, "wrong length for %u requests", nreq);
	if (nlen >= sizeof(name) || (memcpy(name, d + 4, nlen), name[nlen] = 0,
				     (i = export_index(name)) < 0))
		return opt_error(c, opt, NBD_REP_ERR_UNKNOWN, "no export '%.*s' here",
				 (int)(nlen > 200 ? 200 : nlen), (const char *)d + 4);
	r = open_export(c, i);
	if (r)
		return opt_error(c, opt, r == -ENOENT ? NBD_REP_ERR_UNKNOWN : NBD_REP_ERR_SHUTDOWN,
				 "%s at the block server: %s", cfg.exports[i], strerror(-r));
	if (send_info(c, opt, NBD_INFO_EXPORT))
		return -1;
	for (unsigned k = 0; k < nreq; k++) {
		uint16_t t;

		memcpy(&t, d + 6 + nlen + 2 * k, 2);
		t = be16toh(t);
		if (t != NBD_INFO_EXPORT && t != NBD_INFO_BLOCK_SIZE && send_info(c, opt, t))
			return -1;
	}
	/* the block sizes go out whether asked or not: requests must be in sectors */
	if (send_info(c, opt, NBD_INFO_BLOCK_SIZE) || opt_reply(c, opt, NBD_REP_ACK, NULL, 0))
		return -1;
	if (opt == NBD_OPT_GO)
		return 1;
	ddeblk_close(c->b);
	c->b = NULL;
	return 0;
}

/* 0: transmission begins (c->b open); -1: the connection ends */
static int handshake(struct conn *c)
{
	struct __attribute__((packed)) {
		uint64_t magic, opt_magic;
		uint16_t flags;
	} hello = { htobe64(NBD_MAGIC), htobe64(NBD_IHAVEOPT),
		    htobe16(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES) };
	uint32_t cflags;
	uint8_t *d = malloc(NBD_MAX_OPTION);
	unsigned refusals = 0;

	if (!d || send_all(c, &hello, sizeof(hello)) || read_all(c, &cflags, 4))
		goto out;
	cflags = be32toh(cflags);
	if (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES))
		goto out;	/* flags we do not know: the spec says close */
	c->no_zeroes = !!(cflags & NBD_FLAG_C_NO_ZEROES);
	for (;;) {
		struct __attribute__((packed)) {
			uint64_t magic;
			uint32_t opt, len;
		} o;
		int r = 0;

		if (read_all(c, &o, sizeof(o)) || be64toh(o.magic) != NBD_IHAVEOPT)
			goto out;
		o.opt = be32toh(o.opt);
		o.len = be32toh(o.len);
		if (o.len > NBD_MAX_OPTION)
			goto out;	/* nothing we take is that long */
		if (read_all(c, d, o.len))
			goto out;

		/*
		 * A peer the access policy refuses, or a client that has to
		 * start TLS first: every option gets the error and its text
		 * (the client shows it), until the client gives up.
		 */
		uint32_t deny = c->denied[0] ? NBD_REP_ERR_POLICY :
				nbd_tls_kind() && !c->io.tls && o.opt != NBD_OPT_STARTTLS
				? NBD_REP_ERR_TLS_REQD : 0;

		if (deny && o.opt != NBD_OPT_ABORT) {
			/* EXPORT_NAME has no error reply: the spec says close */
			if (o.opt == NBD_OPT_EXPORT_NAME || ++refusals > 16)
				goto out;
			c->tls_refused |= deny == NBD_REP_ERR_TLS_REQD;
			if (deny == NBD_REP_ERR_POLICY)
				r = opt_error(c, o.opt, deny, "%s", c->denied);
			else
				r = opt_error(c, o.opt, deny, "TLS is required here (%s): "
					      "connect with an nbds:// URI and the key or certificates",
					      nbd_tls_kind());
			if (r < 0)
				goto out;
			continue;
		}
		switch (o.opt) {
		case NBD_OPT_EXPORT_NAME: {
			char name[DDEBLK_NAME_MAX + 1];
			int i;

			if (o.len >= sizeof(name))
				goto out;
			memcpy(name, d, o.len);
			name[o.len] = 0;
			if ((i = export_index(name)) < 0 || open_export(c, i))
				goto out;	/* this option has no error reply */
			struct __attribute__((packed)) {
				uint64_t size;
				uint16_t flags;
				uint8_t zero[124];
			} e = { htobe64(c->info.entry.size), htobe16(c->tflags), { 0 } };

			if (send_all(c, &e, c->no_zeroes ? 10 : sizeof(e)))
				goto out;
			free(d);
			return 0;
		}
		case NBD_OPT_ABORT:
			opt_reply(c, o.opt, NBD_REP_ACK, NULL, 0);
			goto out;
		case NBD_OPT_LIST:
			if (o.len) {
				r = opt_error(c, o.opt, NBD_REP_ERR_INVALID, "LIST takes no data");
				break;
			}
			for (int i = 0; i < cfg.nexports && !r; i++) {
				uint8_t e[4 + DDEBLK_NAME_MAX];
				uint32_t n = (uint32_t)strlen(cfg.exports[i]), be = htobe32(n);

				memcpy(e, &be, 4);
				memcpy(e + 4, cfg.exports[i], n);
				r = opt_reply(c, o.opt, NBD_REP_SERVER, e, 4 + n);
			}
			if (!r)
				r = opt_reply(c, o.opt, NBD_REP_ACK, NULL, 0);
			break;
		case NBD_OPT_INFO:
		case NBD_OPT_GO:
			r = opt_info_go(c, o.opt, d, o.len);
			if (r == 1) {
				free(d);
				return 0;
			}
			break;
		case NBD_OPT_STARTTLS: {
			char why[512];

			if (!nbd_tls_kind()) {
				r = opt_error(c, o.opt, NBD_REP_ERR_POLICY, "no TLS here: dde nbd "
					      "was started without --tls-psk or --tls-certificates");
				break;
			}
			if (c->io.tls || o.len) {
				r = opt_error(c, o.opt, NBD_REP_ERR_INVALID, c->io.tls ?
					      "TLS is on already" : "STARTTLS takes no data");
				break;
			}
			if (opt_reply(c, o.opt, NBD_REP_ACK, NULL, 0))
				goto out;
			/* from here on every byte goes through TLS, the options too */
			if (nbd_transport_start_tls(&c->io, c->tls_who, sizeof(c->tls_who),
						    why, sizeof(why))) {
				fprintf(stderr, "dde nbd: %s: %s\n", c->peer, why);
				goto out;
			}
			break;
		}
		default:
			/* structured replies, metadata contexts, ...: simple replies only */
			r = opt_reply(c, o.opt, NBD_REP_ERR_UNSUP, NULL, 0);
			break;
		}
		if (r < 0)
			goto out;
	}
out:
	if (c->tls_refused && !c->io.tls)
		fprintf(stderr, "dde nbd: %s: refused: the client did not start TLS "
			"(it needs an nbds:// URI)\n", c->peer);
	free(d);
	return -1;
}

/* --- transmission ----------------------------------------------------------- */

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
	send_iov(c, iov, 1 + (err ? 0 : ndata));
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

		if (read_all(c, buf, n))
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
	if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) && len > max_payload(c))
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

	if (read_all(c, &h, sizeof(h)) || be32toh(h.magic) != NBD_REQUEST_MAGIC)
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
		if (type == NBD_CMD_WRITE && read_all(c, ddeblk_slot(c->b, slot), n)) {
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

static void *conn_main(void *arg)
{
	struct conn *c = arg;

	if (!handshake(c)) {
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

/*
 * The socket file's @mode is a first fence before access_check(): 0600
 * unless users or groups are let in. Set through the umask, because a
 * chmod() after bind() would follow a link put in the socket's place.
 */
static int listen_unix(const char *path, mode_t mode)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "dde nbd: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	if (!lstat(path, &st)) {
		/* a socket nobody answers on is stale; anything else is not ours */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int live = !S_ISSOCK(st.st_mode) || !connect(probe, (struct sockaddr *)&a, sizeof(a));

		close(probe);
		if (live) {
			fprintf(stderr, "dde nbd: %s exists%s\n", path,
				S_ISSOCK(st.st_mode) ? " and a server answers there" : " (not a socket)");
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	old = umask(0777 & ~mode);
	r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r || listen(fd, 16)) {
		fprintf(stderr, "dde nbd: cannot listen on %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* TCP on --bind (default loopback) and --port (0: any free port); the port in *port */
static int listen_tcp(const char *host, const char *service, unsigned *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, one = 1, r;

	r = getaddrinfo(host, service, &hints, &res);
	if (r) {
		fprintf(stderr, "dde nbd: address %s port %s: %s\n", host, service, gai_strerror(r));
		return -1;
	}
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 16)) {
			r = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "dde nbd: cannot listen on %s port %s: %s\n", host, service,
			strerror(r ? r : EADDRNOTAVAIL));
		return -1;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde nbd --export NAME [--export NAME ...] [--socket PATH]\n"
		"               [--allow-user NAME|UID] [--allow-group NAME|GID]\n"
		"       dde nbd --export NAME ... --port N [--bind ADDR]\n"
		"               --tls-psk FILE | --tls-certificates DIR | --insecure\n"
		"       ... [--read-only] [--blk-socket PATH] [--depth N] [--max-connections N]\n"
		"  Export disks or partitions of the block server (bddf) over NBD until\n"
		"  interrupted. The first --export is also the default export (\"\").\n"
		"  --socket PATH   listen on a Unix socket (default: $TMPDIR/dde-nbd-PID.sock),\n"
		"                  mode 0600: only this user and root may connect...\n"
		"  --allow-user NAME|UID, --allow-group NAME|GID\n"
		"                  ... and these too (repeatable; the socket is then 0666 and\n"
		"                  every connection is checked by its peer's credentials)\n"
		"  --port N        listen on TCP port N instead (0: any free port), on\n"
		"                  loopback unless --bind ADDR (e.g. 0.0.0.0) says otherwise;\n"
		"                  clients must use TLS (NBD_OPT_STARTTLS, nbds:// URIs) with\n"
		"  --tls-psk FILE  a key of FILE, USER:HEXKEY lines as `psktool -u USER -p FILE`\n"
		"                  writes them (a directory: its keys.psk), or with\n"
		"  --tls-certificates DIR\n"
		"                  X.509: DIR/ca-cert.pem, server-cert.pem, server-key.pem (and\n"
		"                  ca-crl.pem if there); clients show a certificate of that CA\n"
		"  --insecure      plain TCP instead: no encryption, no authentication, anyone\n"
		"                  who reaches the port reads (and writes) the exports\n"
		"  (TLS options with --socket: TLS over the Unix socket, nbds+unix:// URIs)\n"
		"  --read-only     refuse writes\n"
		"  --blk-socket    the block server (default $DDE_BLK, as `dde run` prints it)\n"
		"  --depth N       requests in flight per connection (default 32)\n"
		"  Prints one line per export: its NBD URI. Clients: qemu-img, nbdcopy,\n"
		"  nbdinfo, nbd-client. With TLS, e.g.:\n"
		"    nbdcopy 'nbds://alice@127.0.0.1:10809/NAME?tls-psk-file=keys.psk' out.img\n"
		"    nbdcopy 'nbds://127.0.0.1:10809/NAME?tls-certificates=DIR' out.img\n"
		"    qemu-img convert -O raw \\\n"
		"      --object tls-creds-psk,id=tls0,endpoint=client,dir=DIR,username=alice \\\n"
		"      --image-opts driver=nbd,host=127.0.0.1,port=10809,export=NAME,tls-creds=tls0 \\\n"
		"      out.img    (DIR holds keys.psk; tls-creds-x509: DIR as libnbd's)\n");
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int nbd_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "export", required_argument, 0, 'e' },
		{ "socket", required_argument, 0, 's' },
		{ "port", required_argument, 0, 'p' },
		{ "bind", required_argument, 0, 'b' },
		{ "read-only", no_argument, 0, 'r' },
		{ "blk-socket", required_argument, 0, 'k' },
		{ "depth", required_argument, 0, 'd' },
		{ "max-connections", required_argument, 0, 'm' },
		{ "tls-psk", required_argument, 0, 'P' },
		{ "tls-certificates", required_argument, 0, 'C' },
		{ "insecure", no_argument, 0, 'I' },
		{ "allow-user", required_argument, 0, 'u' },
		{ "allow-group", required_argument, 0, 'g' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *sock = NULL;
	unsigned port = 0, dummy;
	int opt, lfd, status = 0;
	char err[512];

	cfg.depth = 32;
	cfg.max_conns = DEFAULT_CONNS;
	access_init(&peers);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			if (cfg.nexports == MAX_EXPORTS) {
				fprintf(stderr, "dde nbd: at most %d exports\n", MAX_EXPORTS);
				return 2;
			}
			if (!*optarg || strlen(optarg) >= DDEBLK_NAME_MAX) {
				fprintf(stderr, "dde nbd: '%s' is not a disk or partition name\n", optarg);
				return 2;
			}
			cfg.exports[cfg.nexports++] = optarg;
			break;
		case 's': sock = optarg; break;
		case 'p':
			if (parse_uint(optarg, 0, 65535, &dummy)) {
				fprintf(stderr, "dde nbd: --port wants 0..65535, not '%s'\n", optarg);
				return 2;
			}
			cfg.port = optarg;
			break;
		case 'b': cfg.bind = optarg; break;
		case 'r': cfg.read_only = 1; break;
		case 'k': cfg.server = optarg; break;
		case 'd':
			if (parse_uint(optarg, 1, MAX_DEPTH, &cfg.depth)) {
				fprintf(stderr, "dde nbd: --depth wants 1..256, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'm':
			if (parse_uint(optarg, 1, 1024, &cfg.max_conns)) {
				fprintf(stderr, "dde nbd: --max-connections wants 1..1024, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'P': cfg.tls_psk = optarg; break;
		case 'C': cfg.tls_certs = optarg; break;
		case 'I': cfg.insecure = 1; break;
		case 'u':
		case 'g':
			if (access_allow(&peers, opt == 'g', optarg, err, sizeof(err))) {
				fprintf(stderr, "dde nbd: %s\n", err);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "dde nbd: unknown or incomplete option '%s' (see dde nbd --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde nbd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!cfg.nexports) {
		fprintf(stderr, "dde nbd: what to export? Give --export NAME (see dde disks)\n");
		return 2;
	}
	if (sock && cfg.port) {
		fprintf(stderr, "dde nbd: --socket or --port, not both\n");
		return 2;
	}
	if (cfg.bind && !cfg.port) {
		fprintf(stderr, "dde nbd: --bind goes with --port\n");
		return 2;
	}
	int tls = cfg.tls_psk || cfg.tls_certs, shared = peers.nusers || peers.ngroups;

	if (cfg.insecure && (tls || !cfg.port)) {
		fprintf(stderr, "dde nbd: --insecure (plain TCP) goes with --port and without "
			"--tls-psk/--tls-certificates\n");
		return 2;
	}
	if (cfg.port && !tls && !cfg.insecure) {
		fprintf(stderr, "dde nbd: --port serves anyone who reaches it: give --tls-psk FILE "
			"or --tls-certificates DIR (or --insecure for plain, unauthenticated TCP)\n");
		return 2;
	}
	if (cfg.port && shared) {
		/* TCP has no peer credentials: there, TLS decides who is served */
		fprintf(stderr, "dde nbd: --allow-user and --allow-group go with the Unix socket; "
			"on TCP the TLS key or certificate decides who is served\n");
		return 2;
	}
	if (!cfg.server && !(getenv("DDE_BLK") && *getenv("DDE_BLK"))) {
		fprintf(stderr, "dde nbd: which block server? Set DDE_BLK (dde run prints it) "
			"or give --blk-socket PATH\n");
		return 2;
	}
	if (nbd_tls_load(cfg.tls_psk, cfg.tls_certs, err, sizeof(err))) {
		fprintf(stderr, "dde nbd: %s\n", err);
		return 2;
	}

	/* every export must exist now: a typo is an error here, not at a client */
	struct ddeblk_entry ent[MAX_EXPORTS];

	for (int i = 0; i < cfg.nexports; i++) {
		struct ddeblk *b;
		struct ddeblk_info info;
		int r = ddeblk_open(cfg.server, cfg.exports[i], 1, DDEBLK_OPEN_RDONLY, &b);

		if (r) {
			fprintf(stderr, "dde nbd: %s: %s\n", cfg.exports[i],
				r == -ENOENT ? "no such disk or partition at the block server (see dde disks)" :
				r == -ECONNREFUSED ? "no block server answers (is dde run running?)" :
				strerror(-r));
			nbd_tls_unload();
			return 1;
		}
		ddeblk_info(b, &info);
		ent[i] = info.entry;
		ddeblk_close(b);
	}

	if (cfg.port) {
		lfd = listen_tcp(cfg.bind ? cfg.bind : "127.0.0.1", cfg.port, &port);
	} else {
		if (!sock) {
			const char *tmp = getenv("TMPDIR");

			snprintf(cfg.sock_path, sizeof(cfg.sock_path), "%s/dde-nbd-%d.sock",
				 tmp && *tmp ? tmp : "/tmp", (int)getpid());
		} else {
			snprintf(cfg.sock_path, sizeof(cfg.sock_path), "%s", sock);
		}
		lfd = listen_unix(cfg.sock_path, shared ? 0666 : 0600);
	}
	if (lfd < 0) {
		nbd_tls_unload();
		return 1;
	}

	/* signals reach this thread only: poll() below returns on them */
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, old;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);

	const char *host = cfg.bind ? cfg.bind : "127.0.0.1", *tls_s = tls ? "s" : "";
	int v6 = !!strchr(host, ':');

	for (int i = 0; i < cfg.nexports; i++) {
		if (cfg.port)
			printf("dde nbd: %s (%" PRIu64 " bytes, %s) at nbd%s://%s%s%s:%u/%s\n",
			       ent[i].name, ent[i].size, ent[i].driver, tls_s, v6 ? "[" : "", host,
			       v6 ? "]" : "", port, ent[i].name);
		else
			printf("dde nbd: %s (%" PRIu64 " bytes, %s) at nbd%s+unix:///%s?socket=%s\n",
			       ent[i].name, ent[i].size, ent[i].driver, tls_s, ent[i].name, cfg.sock_path);
	}
	fflush(stdout);
	/* how a client gets in, or that anyone does */
	if (cfg.tls_psk)
		fprintf(stderr, "dde nbd: TLS with the keys of %s: clients add "
			"?tls-psk-file=FILE and USER@ to the URI\n", cfg.tls_psk);
	else if (cfg.tls_certs)
		fprintf(stderr, "dde nbd: TLS with the certificates of %s: clients add "
			"?tls-certificates=DIR (with ca-cert.pem, client-cert.pem, client-key.pem)\n",
			cfg.tls_certs);
	else if (cfg.insecure)
		fprintf(stderr, "dde nbd: warning: --insecure: no TLS, no authentication: "
			"anyone who reaches %s port %u %s the exports\n", host, port,
			cfg.read_only ? "reads" : "reads and writes");

	while (!stopping) {
		struct pollfd p = { lfd, POLLIN, 0 };

		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			status = 1;
			break;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);

		if (fd < 0)
			continue;
		pthread_mutex_lock(&conns_lock);
		int full = nconns >= cfg.max_conns;

		if (!full)
			nconns++;
		pthread_mutex_unlock(&conns_lock);
		if (full) {
			fprintf(stderr, "dde nbd: %u connections already: one refused\n", cfg.max_conns);
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		pthread_t t;
		pthread_attr_t attr;

		if (!c) {
			close(fd);
			pthread_mutex_lock(&conns_lock);
			nconns--;
			pthread_mutex_unlock(&conns_lock);
			continue;
		}
		c->io.fd = fd;
		if (ss.ss_family == AF_UNIX) {
			snprintf(c->peer, sizeof(c->peer), "client %u", ++nclients);
			/* here, not in its thread: the check looks up names (getpwuid) */
			if (access_check(&peers, fd, c->denied, sizeof(c->denied)))
				fprintf(stderr, "dde nbd: %s: %s\n", c->peer, c->denied);
		} else {
			char h[INET6_ADDRSTRLEN + 8], s[8];
			int one = 1;

			/*
			 * A reply's tail (TLS: its last record) must not wait
			 * for the client's delayed ACK of the data before it
			 */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

			getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), s, sizeof(s),
				    NI_NUMERICHOST | NI_NUMERICSERV);
			snprintf(c->peer, sizeof(c->peer), "%s:%s", h, s);
		}
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_sigmask(SIG_BLOCK, &block, &old);
		if (pthread_create(&t, &attr, conn_main, c)) {
			close(fd);
			free(c);
			pthread_mutex_lock(&conns_lock);
			nconns--;
			pthread_mutex_unlock(&conns_lock);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	close(lfd);
	if (!cfg.port)
		unlink(cfg.sock_path);
	/* connections still running use the credentials until the process ends */
	pthread_mutex_lock(&conns_lock);
	if (!nconns)
		nbd_tls_unload();
	pthread_mutex_unlock(&conns_lock);
	fprintf(stderr, "dde nbd: stopped\n");
	return status;
}
