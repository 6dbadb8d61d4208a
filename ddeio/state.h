/*
 * ddeio's internal state, shared by its files: the clients, the server,
 * a reply in the making; the session (server.c) and the requests on
 * granted devices (requests.c).
 */
#ifndef DDEIO_STATE_H
#define DDEIO_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ddeio/protocol.h>

#include "server.h"

#define MAX_CLIENTS 32
#define MAX_LINES 256

enum line_state { LINE_MASKED = 0, LINE_ENABLED, LINE_DELIVERED };

struct client {
	int fd;
	int event_fd;			/* -1 for tools */
	char name[DDEIO_NAME_LEN];
	pid_t pid;
	unsigned ndev;
	unsigned dev[DDEIO_MAX_DEVICES];	/* platform device indices */
	unsigned region;		/* DMA region index, 0 = none */
	uint8_t line[MAX_LINES];	/* enum line_state per interrupt line */
	bool hello;
	bool control;			/* dde's control channel */
	bool bound;			/* opened by dde for a driver: may claim only @expect */
	struct ddeio_hello expect;
	char refused[320];		/* the access check refused it: why */
	bool dma_fault;			/* its device's DMA was blocked: to be stopped */
	int pidfd;			/* the process that said hello (its credentials), -1 */
	bool bars_mapped;		/* it has a BAR of its own mapped (BAR_MAP) */
	unsigned long requests, refusals;
};

struct server {
	struct platform *p;
	int listen_fd;
	struct client *client[MAX_CLIENTS];
	struct client *dev_owner[64];
	struct client *region_owner[17];
	unsigned next;			/* round-robin start */
	uint64_t spin_ns;
	bool batch;		/* a turn serves several requests; posted writes go out together */
	struct server_options o;
};

struct reply {
	struct ddeio_msg m;
	char payload[DDEIO_MAX_PAYLOAD];
	size_t len;
	int fd[DDEIO_MAX_VECTORS];	/* passed with the reply */
	unsigned nfd;
	bool close_fds;			/* ours to close once sent */
};

/* Refuse a request: reply (or event, for posted writes) naming everything. */
int refuse(struct client *c, struct reply *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Send @c interrupt @line (masked for it until it unmasks). */
void deliver_irq(struct client *c, unsigned line);

/* The requests on granted devices (requests.c): 0 or -errno, the reply in @r. */
int do_config(struct server *s, struct client *c, const struct ddeio_msg *m, struct reply *r);
int do_access(struct server *s, struct client *c, const struct ddeio_msg *m, struct reply *r);
int do_pio_rep(struct server *s, struct client *c, const struct ddeio_msg *m,
	       const char *payload, size_t plen, struct reply *r);
int do_mem(struct server *s, struct client *c, const struct ddeio_msg *m, const char *payload,
	   size_t plen, struct reply *r);
int do_irq(struct server *s, struct client *c, const struct ddeio_msg *m, struct reply *r);
int do_msi(struct server *s, struct client *c, const struct ddeio_msg *m, struct reply *r);
int do_bar_map(struct server *s, struct client *c, const struct ddeio_msg *m, struct reply *r);

#endif
