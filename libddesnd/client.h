/*
 * libddesnd's insides, shared by the control side (client.c: the
 * connection, listing, opening, control requests) and the data side
 * (ring.c: positions and samples in the shared ring).
 */
#ifndef DDESND_CLIENT_H
#define DDESND_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <ddesnd/ddesnd.h>

struct ddesnd {
	int sock;
	uint32_t seq;			/* the last request's number (never 0) */
	int dead;			/* sndd closed the connection */
	struct ddesnd_stream *streams;
};

struct ddesnd_stream {
	struct ddesnd *s;
	uint32_t id;			/* sndd's stream id */
	char name[DDESND_NAME];
	struct ddesnd_params p;		/* our own copy of the geometry */
	struct ddesnd_shm *shm;
	uint8_t *data;			/* the samples: shm + DDESND_SHM_DATA */
	size_t map_size;
	int my_bell, drv_bell;
	uint64_t appl;			/* our own copy of the position we own */
	int gone;			/* the driver died (GONE), or sndd did */
	int broken;			/* the driver broke the ring: only CLOSE is left */
	int prepared;			/* positions valid: prepared, not dropped */
	int started;
	struct ddesnd_stream *next;
};

#define DDESND_TIMEOUT_MS 10000		/* for an answer of sndd or the driver */

/* client.c: remember why a request failed (ddesnd_strerror); returns @err */
int ddesnd_why(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* client.c: read what sndd said without waiting (GONE, the connection's end) */
void ddesnd_control(struct ddesnd *s);

long long ddesnd_now_ms(void);

#endif
