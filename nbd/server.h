/*
 * dde nbd's parts, shared by its files: listening and options (nbd.c), the
 * handshake (handshake.c), transmission (transmit.c), TLS (transport.c).
 */
#ifndef NBD_SERVER_H
#define NBD_SERVER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <ddeblk/ddeblk.h>
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

/* nbd.c: the options; the connections being served, under conns_lock */
extern struct config cfg;
extern unsigned nconns;
extern pthread_mutex_t conns_lock;

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
	int structured;			/* NBD_OPT_STRUCTURED_REPLY acknowledged */
	int meta_sel, meta_export;	/* SET_META_CONTEXT chose base:allocation, on this export */
	int meta;			/* ... the export served: BLOCK_STATUS answered */
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
	uint32_t len;			/* (a block status: what is read of the range) */
	uint32_t want;			/* the length the client asked for */
	uint16_t type, flags;
	uint16_t streamed;		/* a trim or a write of zeroes: slots freed per chunk */
	uint32_t nchunks, pending;
	int err;			/* the first chunk's error (-errno) */
	int err_chunk;			/* ... that chunk, -1 if not known */
	unsigned *slots;		/* nchunks slot numbers */
};

/* our one metadata context, base:allocation: its id on this server */
#define META_BASE_ALLOCATION 1

/* handshake.c: whole reads and writes on the connection (0 or -1) */
int nbd_read_all(struct conn *c, void *buf, size_t len);
int nbd_send_iov(struct conn *c, struct iovec *iov, int n);
int nbd_send_all(struct conn *c, const void *buf, size_t len);
/* The fixed newstyle handshake up to transmission: 0, or -1 (closed). */
int nbd_handshake(struct conn *c);
/* the most a request may carry on this connection */
uint32_t nbd_max_payload(const struct conn *c);

/* transmit.c: one connection, handshake to close (a thread's body) */
void *nbd_conn_main(void *arg);

#endif
