/* ddeio's client handling: grants, access checks, interrupt delivery. */
#ifndef DDEIO_SERVER_H
#define DDEIO_SERVER_H

#include <stdbool.h>

#include "../common/access.h"

struct platform;
struct server;

struct server_options {
	struct access_policy access;	/* who may connect to the socket */
	int control_fd;			/* dde's control channel, or -1 */
	bool open_claims;		/* socket clients may claim devices */
};

/* Serve on the abstract Unix socket @name (without the leading '@'). */
struct server *server_create(struct platform *p, const char *name,
			     const struct server_options *o);
void server_destroy(struct server *s);

/*
 * Run until *@stop becomes true, @stop_fd is readable, or the machine is
 * gone. Returns 0 on a requested stop, -1 if the machine died.
 */
int server_run(struct server *s, volatile bool *stop, int stop_fd);

#endif
