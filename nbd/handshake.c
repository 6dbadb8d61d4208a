/*
 * dde nbd's handshake: fixed newstyle, NBD_OPT_GO/INFO (size, block sizes,
 * name, description), LIST, EXPORT_NAME, STARTTLS, STRUCTURED_REPLY and
 * the metadata context base:allocation (LIST/SET_META_CONTEXT), each
 * export opened at bddf when it is chosen; and whole reads and writes on
 * the connection.
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

int nbd_read_all(struct conn *c, void *buf, size_t len)
{
	return nbd_transport_read(&c->io, buf, len);
}

/* writev to the end, or mark the connection dead */
int nbd_send_iov(struct conn *c, struct iovec *iov, int n)
{
	if (!c->dead && nbd_transport_send(&c->io, iov, n))
		c->dead = 1;
	return c->dead ? -1 : 0;
}

int nbd_send_all(struct conn *c, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return nbd_send_iov(c, &iov, 1);
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

	return nbd_send_iov(c, iov, len ? 2 : 1);
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
	/* a read's data always goes in one chunk: DF costs nothing */
	if (c->structured)
		c->tflags |= NBD_FLAG_SEND_DF;
	/*
	 * The context is active only on the export SET_META_CONTEXT named (the
	 * spec: the same export for the last SET and for GO); "" and the
	 * default's own name are one export here.
	 */
	c->meta = c->meta_sel && c->meta_export == i;
	return 0;
}

/* the largest request this connection takes: every slot of its ring */
uint32_t nbd_max_payload(const struct conn *c)
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
				  htobe32(nbd_max_payload(c)) };

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

static const char base_allocation[] = "base:allocation";

/* base:allocation asked for by one query: by its name, or (LIST only) by "base:" */
static int meta_query(const uint8_t *q, uint32_t len, int list)
{
	if (len == sizeof(base_allocation) - 1 && !memcmp(q, base_allocation, len))
		return 1;
	/* other namespaces and other base: leaves are not ours: ignored, no error */
	return list && len == 5 && !memcmp(q, "base:", 5);
}

/*
 * NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT: an export name,
 * then queries. LIST without queries lists all we have; SET without any
 * selects none. Our one context is base:allocation.
 */
static int opt_meta(struct conn *c, uint32_t opt, const uint8_t *d, uint32_t len)
{
	int set = opt == NBD_OPT_SET_META_CONTEXT, found = 0, i;
	uint32_t nlen, nq, off;
	char name[DDEBLK_NAME_MAX + 1];

	if (set)
		c->meta_sel = 0;	/* replaced, also when this fails */
	if (set && !c->structured)
		return opt_error(c, opt, NBD_REP_ERR_INVALID, "metadata contexts need structured "
				 "replies (NBD_OPT_STRUCTURED_REPLY) first");
	if (len < 8)
		return opt_error(c, opt, NBD_REP_ERR_INVALID, "option too short");
	memcpy(&nlen, d, 4);
	nlen = be32toh(nlen);
	if (nlen > len - 8)
		return opt_error(c, opt, NBD_REP_ERR_INVALID, "name beyond the option");
	memcpy(&nq, d + 4 + nlen, 4);
	nq = be32toh(nq);
	off = 8 + nlen;
	/* every query is checked before anything is answered */
	for (uint32_t k = 0; k < nq; k++) {
		uint32_t qlen;

		if (len - off < 4)
			return opt_error(c, opt, NBD_REP_ERR_INVALID,
					 "%u queries beyond the option", nq);
		memcpy(&qlen, d + off, 4);
		qlen = be32toh(qlen);
		if (qlen > len - off - 4)
			return opt_error(c, opt, NBD_REP_ERR_INVALID, "query %u beyond the option", k);
		found |= meta_query(d + off + 4, qlen, !set);
		off += 4 + qlen;
	}
	if (off != len)
		return opt_error(c, opt, NBD_REP_ERR_INVALID, "bytes after the queries");
	if (nlen >= sizeof(name) || (memcpy(name, d + 4, nlen), name[nlen] = 0,
				     (i = export_index(name)) < 0))
		return opt_error(c, opt, NBD_REP_ERR_UNKNOWN, "no export '%.*s' here",
				 (int)(nlen > 200 ? 200 : nlen), (const char *)d + 4);
	if (!set && !nq)
		found = 1;
	if (found) {
		uint8_t r[4 + sizeof(base_allocation) - 1];
		/* LIST's ids are reserved (zero); SET's is the one BLOCK_STATUS replies carry */
		uint32_t id = htobe32(set ? META_BASE_ALLOCATION : 0);

		memcpy(r, &id, 4);
		memcpy(r + 4, base_allocation, sizeof(base_allocation) - 1);
		if (opt_reply(c, opt, NBD_REP_META_CONTEXT, r, sizeof(r)))
			return -1;
	}
	if (set) {
		c->meta_sel = found;
		c->meta_export = i;
	}
	return opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
}

/* 0: transmission begins (c->b open); -1: the connection ends */
int nbd_handshake(struct conn *c)
{
	struct __attribute__((packed)) {
		uint64_t magic, opt_magic;
		uint16_t flags;
	} hello = { htobe64(NBD_MAGIC), htobe64(NBD_IHAVEOPT),
		    htobe16(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES) };
	uint32_t cflags;
	uint8_t *d = malloc(NBD_MAX_OPTION);
	unsigned refusals = 0;

	if (!d || nbd_send_all(c, &hello, sizeof(hello)) || nbd_read_all(c, &cflags, 4))
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

		if (nbd_read_all(c, &o, sizeof(o)) || be64toh(o.magic) != NBD_IHAVEOPT)
			goto out;
		o.opt = be32toh(o.opt);
		o.len = be32toh(o.len);
		if (o.len > NBD_MAX_OPTION)
			goto out;	/* nothing we take is that long */
		if (nbd_read_all(c, d, o.len))
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

			if (nbd_send_all(c, &e, c->no_zeroes ? 10 : sizeof(e)))
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
			/* what was negotiated in plain text is forgotten (the spec) */
			c->structured = 0;
			c->meta_sel = 0;
			break;
		}
		case NBD_OPT_STRUCTURED_REPLY:
			if (o.len || c->structured) {
				r = opt_error(c, o.opt, NBD_REP_ERR_INVALID, o.len ?
					      "STRUCTURED_REPLY takes no data" :
					      "structured replies are on already");
				break;
			}
			c->structured = 1;
			r = opt_reply(c, o.opt, NBD_REP_ACK, NULL, 0);
			break;
		case NBD_OPT_LIST_META_CONTEXT:
		case NBD_OPT_SET_META_CONTEXT:
			r = opt_meta(c, o.opt, d, o.len);
			break;
		default:
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
