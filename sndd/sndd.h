/*
 * sndd's parts: the connections and their messages (sndd.c), the PCMs the
 * drivers describe and the streams clients open on them (pcms.c), the
 * mixer control requests forwarded to the cards' drivers (ctls.c).
 */
#ifndef SNDD_H
#define SNDD_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/classsrv.h"

#include "../libddesnd/proto.h"

#define SNDD_UNIT 16		/* a card's unit: "snd0" */
#define SNDD_MAX_PCMS 32	/* per driver (both directions) */
#define SNDD_MAX_STREAMS 8	/* per client connection */

/* A connection: a client, a driver, or one whose HELLO has not come yet. */
struct peer {
	struct classsrv_handle h;
	int sock, role;			/* role 0: hello pending */
	const char *broken;		/* to be dropped at the next safe point: why */
	char name[DDESND_NAME];		/* its HELLO's: the program, the driver's instance */
	pid_t pid;			/* as the kernel says (0: unknown) */
	char refused[160];		/* the access check said no: why */
	char unit[SNDD_UNIT];		/* a driver's card: "snd0" */
	int channel;			/* dde opened it for the driver of `unit` */
	int ready;			/* a driver: READY came, its PCMs are listed */
	int ctl_pending;		/* a driver: mixer requests it has not answered */
	int npcms, nstreams;
	struct peer *next;
};

/* One direction of one PCM device of a card. */
struct pcm {
	struct ddesnd_pcm_info info;	/* as the driver described it, named by sndd */
	struct peer *driver;
	struct stream *stream;		/* the one open on it, or NULL */
	struct pcm *next;
};

enum stream_state {
	ST_OPENING,	/* OPEN sent to the driver, OPENED not back yet */
	ST_OPEN,
	ST_CLOSING,	/* CLOSE sent to the driver, its REPLY not back yet */
};

struct stream {
	uint32_t id;
	enum stream_state state;
	struct pcm *pcm;
	struct peer *client;		/* NULL once the client went away */
	uint32_t open_seq;		/* the client's OPEN, answered by OPENED */
	uint32_t close_seq;		/* the CLOSE whose REPLY ends the stream */
	uint32_t pending;		/* requests forwarded to the driver, not yet answered */
	uint32_t dropping;		/* ... of which a DROP (drop_seq): 0 or 1 */
	uint32_t drop_seq;
	struct ddesnd_params params;
	int fds[3];			/* ring, client bell, driver bell: until OPENED */
	struct stream *next;
};

struct sndd {
	struct classsrv cs;		/* socket, control channel, loop */
	struct peer *peers;
	struct pcm *pcms;
	struct stream *streams;
	uint32_t next_id;
};
extern struct sndd srv;

/* sndd.c */
void sndd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_init(struct ddesnd_msg *m, int type);
/* Never waits: a peer that does not take its messages is dropped (later, safely). */
void send_to(struct peer *p, struct ddesnd_msg *m, const int *fds, int nfds);
/* "aplay (pid 1234)" */
const char *who(const struct peer *p, char *buf, size_t cap);

/* pcms.c: driver messages, client messages, and their ends */
void driver_message(struct peer *drv, const struct ddesnd_msg *m);
void client_message(struct peer *c, const struct ddesnd_msg *m);
void driver_gone(struct peer *drv, const char *why);
void client_gone(struct peer *c, const char *why);

/* ctls.c: mixer control requests, forwarded to the card's driver and answered */
void client_ctl(struct peer *c, const struct ddesnd_msg *m);
void driver_ctl(struct peer *drv, const struct ddesnd_msg *m);
void ctl_client_gone(struct peer *c);
void ctl_driver_gone(struct peer *drv, const char *why);

#endif
