/*
 * The netd channel (docs/net.md): shared-memory frame rings and the control
 * messages on the Unix socket. Private to libddenet and netd.
 *
 * A port is one shared memory object holding two single-producer,
 * single-consumer rings of fixed slots: `up` (client or driver -> netd) and
 * `down` (netd -> client or driver). Each side has a doorbell (an
 * eventfd); a side that finds its ring empty (or full) says so in the ring
 * and sleeps on its doorbell, and the other side rings it after the next
 * push (or pop). netd creates the memory and the doorbells and trusts
 * nothing the other side writes into them: indexes and lengths are checked
 * on every use, with netd's own copy of the geometry.
 */
#ifndef DDENET_RING_H
#define DDENET_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ddenet/ddenet.h>

#define DDENET_MAGIC 0x54454e44u	/* "DNET" */
#define DDENET_VERSION 3
#define DDENET_SLOTS 512
#define DDENET_SLOT 2048		/* bytes per slot: length word and frame */

struct ddenet_ring {
	_Atomic uint32_t head;		/* next slot the producer fills */
	uint32_t pad0[15];
	_Atomic uint32_t tail;		/* next slot the consumer takes */
	uint32_t pad1[15];
	_Atomic uint32_t want_data;	/* the consumer sleeps until a push */
	_Atomic uint32_t want_space;	/* the producer sleeps until a pop */
	_Atomic uint64_t dropped;	/* frames netd had no room for */
	uint32_t pad2[12];
};

struct ddenet_shm {
	uint32_t magic, version, slots, slot_size;
	uint32_t pad[12];
	struct ddenet_ring up, down;
	/* then: up's slots, down's slots */
};

#define DDENET_SHM_SIZE \
	(sizeof(struct ddenet_shm) + 2ul * DDENET_SLOTS * DDENET_SLOT)

/* One direction as seen by one side. */
struct ddenet_q {
	struct ddenet_ring *r;
	uint8_t *slots;
	int peer_bell;		/* rung to wake the other side */
};

void ddenet_q_init(struct ddenet_q *q, struct ddenet_shm *shm, bool up, int peer_bell);

/* Producer: 0, -EAGAIN (full), -EMSGSIZE; -EPROTO if the peer broke the ring. */
int ddenet_q_push(struct ddenet_q *q, const void *frame, uint32_t len);
/* Producer: wake the consumer if it sleeps. */
void ddenet_q_wake_consumer(struct ddenet_q *q);
/* Producer: announce sleeping until space; true if there is space now. */
bool ddenet_q_wait_space(struct ddenet_q *q);

/* Consumer: the frame's length (copied up to @max), -EAGAIN (empty), -EPROTO. */
int ddenet_q_pop(struct ddenet_q *q, void *buf, uint32_t max);
/* Consumer: wake the producer if it waits for space. */
void ddenet_q_wake_producer(struct ddenet_q *q);
/* Consumer: announce sleeping until data; true if there is data now. */
bool ddenet_q_wait_data(struct ddenet_q *q);

#include "../common/bell.h"

/* --- control messages (SOCK_SEQPACKET) --- */
enum {
	DDENET_HELLO = 1,	/* client/driver -> netd */
	DDENET_WELCOME,		/* netd -> client/driver, with 3 fds: shm, netd's bell, yours */
	DDENET_LINK,		/* driver -> netd, netd -> clients: value = up */
	DDENET_GONE,		/* netd -> clients: the interface is gone */
	DDENET_CHANNEL,		/* dde -> netd on its control channel: ifname = the
				 * interface a driver will serve, 1 fd = netd's end of
				 * that driver's connection (the only one it may use) */
	DDENET_STATS,		/* driver -> netd: its counters (the driver's fields of
				 * stats); netd -> a QUERY peer: one per interface with
				 * its counters, then one with ifname "" (the end) */
	DDENET_GIVE_UP,		/* dde -> netd on its control channel: ifname's driver
				 * will not come back: the interface goes */
	DDENET_HUNG,		/* netd -> dde on the control channel: ifname's driver
				 * took none of the mtu frames queued to it for value
				 * ms, or (mtu 0) sent no report of its counters (its
				 * heartbeat, each second) for value ms */
};

/* QUERY: a peer that only asks for the interfaces' counters (HELLO, then STATS) */
enum { DDENET_ROLE_CLIENT = 1, DDENET_ROLE_DRIVER = 2, DDENET_ROLE_QUERY = 3 };

struct ddenet_msg {
	uint32_t magic;
	uint16_t version, type;
	int32_t value;		/* HELLO: role; WELCOME: 0 or -errno; LINK, STATS (netd -> query): up */
	char ifname[16];
	uint8_t mac[6];
	uint16_t mtu;
	char error[104];	/* WELCOME with an error: why */
	struct ddenet_counters stats;	/* STATS */
};

#endif
