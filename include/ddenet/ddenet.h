/*
 * libddenet: the packet API of the network server (netd).
 *
 * A client opens an interface served by netd and exchanges whole Ethernet
 * frames (destination MAC first, no FCS) with it through two shared-memory
 * rings; a Unix socket carries the control messages (docs/net.md). Every
 * client sees every frame the interface receives; frames clients send are
 * serialized onto the driver's transmit queue. A driver process uses the
 * same library from the other side (ddenet_attach).
 *
 * Errors are negative errno values:
 *   -EAGAIN    nothing to receive / no room to send within the timeout
 *   -EMSGSIZE  frame longer than DDENET_FRAME_MAX or shorter than 14 bytes
 *   -ENODEV    the interface is gone (its driver stopped or died) or netd
 *              closed the connection; the handle is dead, close it
 *   -ENOENT    (open) no such interface; -ECONNREFUSED: no server
 */
#ifndef DDENET_H
#define DDENET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DDENET_FRAME_MAX 1522	/* 1500-byte MTU, Ethernet and VLAN headers */
#define DDENET_NAME_MAX 16

struct ddenet;

struct ddenet_info {
	char ifname[DDENET_NAME_MAX];
	uint8_t mac[6];
	unsigned mtu;
	int link;		/* 1 up, 0 down */
	uint64_t dropped;	/* frames netd could not give this client: its ring was full */
};

/*
 * Open interface @ifname (NULL: the first one) of the server listening at
 * @server (a Unix socket path, "@name" for the abstract namespace; NULL:
 * $DDE_NET).
 */
int ddenet_open(const char *server, const char *ifname, struct ddenet **out);

/*
 * An error of this library as text: for netd's last refusal on this thread
 * (-EACCES: the access check), netd's own words; otherwise strerror's.
 */
const char *ddenet_strerror(int err);

/* Driver side: serve interface @ifname with address @mac. */
int ddenet_attach(const char *server, const char *ifname, const uint8_t mac[6], unsigned mtu,
		  struct ddenet **out);

/*
 * Queue one frame. Waits up to @timeout_ms (0: not at all, -1: forever) for
 * room. Returns 0 or an error.
 */
int ddenet_send(struct ddenet *n, const void *frame, size_t len, int timeout_ms);

/*
 * Queue without waking the other side; ddenet_flush wakes it once for a
 * batch. Returns 0, -EAGAIN (ring full) or an error.
 */
int ddenet_send_nowake(struct ddenet *n, const void *frame, size_t len);
void ddenet_flush(struct ddenet *n);

/*
 * Take the next frame: copies up to @max bytes into @buf and returns the
 * frame's length (longer frames are truncated to @max). Waits up to
 * @timeout_ms. Returns -EAGAIN when nothing came, or an error.
 */
ssize_t ddenet_recv(struct ddenet *n, void *buf, size_t max, int timeout_ms);

/*
 * Take up to @n frames at once, waiting (up to @timeout_ms) only for the
 * first: frame i is copied into @bufs[i] (@max bytes each, truncated as
 * ddenet_recv does) and its length put in @lens[i]. netd is woken once
 * for the batch. Returns how many (>= 1), -EAGAIN or an error.
 */
int ddenet_recv_batch(struct ddenet *n, void *const *bufs, size_t max, size_t *lens, int count,
		      int timeout_ms);

/*
 * Wait up to @timeout_ms until a frame can be received: 1, 0 on timeout,
 * or an error.
 */
int ddenet_wait(struct ddenet *n, int timeout_ms);

/* A descriptor that becomes readable when ddenet_recv may have something. */
int ddenet_fd(const struct ddenet *n);

/* The interface's address, MTU, link state and this client's drop count. */
void ddenet_info(struct ddenet *n, struct ddenet_info *info);

/* Driver side: report the link state to the server (and its clients). */
int ddenet_set_link(struct ddenet *n, int up);

void ddenet_close(struct ddenet *n);

/*
 * What an interface counted: where its frames went and where they were
 * lost. netd's own counts, and the driver's (Linux's net_device statistics
 * and the glue's), as the driver last reported them (each second in
 * which they changed).
 */
struct ddenet_counters {
	/* netd */
	uint64_t rx;			/* frames the driver handed to netd */
	uint64_t tx;			/* frames netd handed to the driver */
	uint64_t rx_client_full;	/* copies of received frames a client's ring had no room for */
	uint64_t tx_refused;		/* frames of clients or the TAP device of a bad size */
	uint32_t clients;		/* clients open now */
	uint32_t driver_reported;	/* 1: the driver's fields below are set */
	uint64_t driver_age_ms;		/* since the driver's last report */
	/* the driver: Linux's statistics of the net_device ... */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_errors, rx_dropped, rx_missed, rx_fifo, rx_over, rx_crc, rx_length;
	uint64_t tx_errors, tx_dropped;
	/* ... and the glue's */
	uint64_t rx_server_full;	/* frames received that netd's ring had no room for */
	uint64_t tx_down;		/* frames to send dropped: link down, bad size */
};

/* An interface of netd and its counters. */
struct ddenet_ifstats {
	char ifname[DDENET_NAME_MAX];
	uint8_t mac[6];
	unsigned mtu;
	int link;
	struct ddenet_counters c;
};

/*
 * The interfaces of the server at @server (NULL: $DDE_NET) and their
 * counters, without opening any (nothing is received on the way): up to
 * @max into @out; returns how many netd has, or a negative errno.
 */
int ddenet_stats(const char *server, struct ddenet_ifstats *out, int max);

/* Driver side: report the driver's counters (its fields of @c) to the server. */
int ddenet_report(struct ddenet *n, const struct ddenet_counters *c);

#endif
