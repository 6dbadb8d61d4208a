/*
 * The frame of a class server whose drivers and clients meet on one
 * socket (sndd, inputd): the command line they share, the listening
 * socket with its access policy (common/access.h), dde's control channel
 * (a connection per driver unit, opened by `dde run`), and the epoll loop,
 * one event at a time. The server keeps its connections and their
 * protocol; the frame calls it back.
 *
 *   PROG --socket PATH [--control-fd N [--open-drivers]] [its own options]
 *        [--allow-user U]... [--allow-group G]...
 */
#ifndef COMMON_CLASSSRV_H
#define COMMON_CLASSSRV_H

#include <signal.h>
#include <stddef.h>

#include "access.h"

enum classsrv_kind { CS_LISTEN, CS_SOCK, CS_CONTROL };

/* What an epoll event names: the listening socket, a connection, dde's channel. */
struct classsrv_handle {
	enum classsrv_kind kind;
	void *obj;
};

struct classsrv {
	/* the server's: set before classsrv_start */
	const char *prog;		/* "sndd": log lines and messages */
	const char *usage;		/* its own options for the usage line, or NULL */
	size_t channel_msg;		/* the size of a control channel message */
	/* its option at @arg (no value): 1 if it is one, 0 if not */
	int (*option)(const char *arg);
	/*
	 * A connection (non-blocking): accepted on the socket (@unit NULL;
	 * @refused: the access policy's why, to be told at its hello, or
	 * NULL), or opened by dde for the driver of @unit
	 */
	void (*connected)(int fd, const char *refused, const char *unit);
	/* a control channel message: the unit it names, or NULL if malformed */
	const char *(*channel_unit)(const void *msg);
	/* dde closed the control channel (it is gone); may be NULL */
	void (*channel_closed)(void);
	void (*readable)(void *conn);	/* a connection's socket has something */
	void (*after)(void);		/* after each event: drop what broke */

	/* the frame's */
	const char *path;
	int ep, lfd, control;
	int open_drivers;		/* drivers may attach over the socket */
	struct access_policy access;
	volatile sig_atomic_t stop;
};

/*
 * Parses the command line, listens, watches the control channel; SIGTERM
 * and SIGINT end classsrv_serve. 0, or the exit status (the error said).
 */
int classsrv_start(struct classsrv *s, int argc, char **argv);
void classsrv_watch(struct classsrv *s, int fd, struct classsrv_handle *h);
/* Until SIGTERM or SIGINT (or the server sets s->stop). */
void classsrv_serve(struct classsrv *s);
/* After the server closed its connections: the socket's file goes. */
void classsrv_end(struct classsrv *s);

#endif
