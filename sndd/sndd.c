/*
 * sndd — the sound class server.
 *
 * Sound driver processes attach here and describe the PCMs of their card;
 * sndd names them ("snd0.0": the card's unit and the PCM device, one name
 * for both directions) and lists them. A client opens one PCM direction:
 * sndd admits one stream per PCM direction (a second gets -EBUSY, with who
 * has it), makes the stream's ring and doorbells, and hands them to the
 * driver and then to the client; from there samples go between the two
 * directly, and sndd only forwards the stream's control requests and their
 * answers (libddesnd/proto.h). sndd never waits for anyone: a peer that
 * breaks the protocol or does not take its messages is dropped. A driver
 * that dies takes its PCMs with it (its clients get GONE); the one dde
 * restarts gets the card back under the same name. A client that goes
 * away has its streams closed at the driver. Only peers the access
 * policy admits get in (common/access.h), and a driver attaches only on
 * the connection `dde run` opened for it on the control channel, as the
 * card dde named (unless sndd runs by hand or with --open-drivers).
 *
 *   sndd --socket PATH [--control-fd N [--open-drivers]]
 *        [--allow-user U]... [--allow-group G]...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/logline.h"
#include "../common/seqpacket.h"
#include "sndd.h"

struct sndd srv;


void sndd_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("sndd", fmt, ap);
	va_end(ap);
}

void msg_init(struct ddesnd_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDESND_MAGIC;
	m->version = DDESND_VERSION;
	m->type = (uint16_t)type;
}

void send_to(struct peer *p, struct ddesnd_msg *m, const int *fds, int nfds)
{
	if (p->broken)
		return;
	if (seqpacket_send(p->sock, m, sizeof(*m), fds, nfds))
		p->broken = "does not take its messages; disconnected";
}

const char *who(const struct peer *p, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s (pid %d)", p->name[0] ? p->name : "a program", (int)p->pid);
	return buf;
}

/* ---- connections ---- */

static struct peer *new_peer(int fd)
{
	struct peer *p = calloc(1, sizeof(*p));
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!p) {
		close(fd);
		return NULL;
	}
	p->sock = fd;
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) && len == sizeof(cred))
		p->pid = cred.pid;
	p->h = (struct classsrv_handle){ CS_SOCK, p };
	p->next = srv.peers;
	srv.peers = p;
	classsrv_watch(&srv.cs, fd, &p->h);
	return p;
}

/* Forget a connection (what it had open is handled by peer_drop). */
static void peer_close(struct peer *p)
{
	for (struct peer **pp = &srv.peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	close(p->sock);
	free(p);
}

static void peer_drop(struct peer *p, const char *why)
{
	if (p->role == DDESND_ROLE_DRIVER) {
		ctl_driver_gone(p, why);
		driver_gone(p, why);
	} else if (p->role == DDESND_ROLE_CLIENT) {
		ctl_client_gone(p);
		client_gone(p, why);
	}
	peer_close(p);
}

/* Drop the peers that broke while we were busy with something else. */
static void reap(void)
{
	for (struct peer *p = srv.peers; p; ) {
		if (!p->broken) {
			p = p->next;
			continue;
		}
		peer_drop(p, p->broken);
		p = srv.peers;	/* dropping one may break others (GONE) */
	}
}

/* A WELCOME that refuses, with the reason, and the end of the connection. */
static void refuse(struct peer *p, int err, const char *why)
{
	struct ddesnd_msg m;

	msg_init(&m, DDESND_WELCOME);
	m.value = err;
	snprintf(m.error, sizeof(m.error), "%s", why);
	send_to(p, &m, NULL, 0);
	peer_close(p);
}

/* The driver (or dde's connection for one) of card @unit, other than @but */
static struct peer *driver_of(const char *unit, const struct peer *but)
{
	for (struct peer *p = srv.peers; p; p = p->next)
		if (p != but && (p->role == DDESND_ROLE_DRIVER || p->channel) &&
		    !strcmp(p->unit, unit))
			return p;
	return NULL;
}

/* A driver attaching over the socket: the first card unit nobody has. */
static void free_unit(char *unit)
{
	for (int n = 0;; n++) {
		snprintf(unit, SNDD_UNIT, "snd%d", n);
		if (!driver_of(unit, NULL))
			return;
	}
}

static void hello_driver(struct peer *p, const struct ddesnd_msg *m)
{
	struct ddesnd_msg w;
	struct peer *other;
	char why[160];

	if (!p->channel && !srv.cs.open_drivers) {
		snprintf(why, sizeof(why), "'%s': drivers attach only on the connection "
			 "`dde run` opens for them", m->name);
		sndd_log("refused a driver: %s", why);
		refuse(p, -EACCES, why);
		return;
	}
	if (!p->channel)
		free_unit(p->unit);
	other = driver_of(p->unit, p);
	/* restarted by dde: the old driver is dead, its hangup maybe not read yet */
	if (other && p->channel && (other->broken || seqpacket_hung_up(other->sock))) {
		peer_drop(other, other->broken ? other->broken : "disconnected");
		other = driver_of(p->unit, p);
	}
	if (other) {
		snprintf(why, sizeof(why), "card %s has a driver already (%s)", p->unit,
			 other->name);
		sndd_log("refused driver %s: %s", m->name, why);
		refuse(p, -EEXIST, why);
		return;
	}
	p->role = DDESND_ROLE_DRIVER;
	msg_init(&w, DDESND_WELCOME);
	w.seq = m->seq;
	snprintf(w.name, sizeof(w.name), "%s", p->unit);
	send_to(p, &w, NULL, 0);
	sndd_log("driver %s attached as card %s", p->name, p->unit);
}

static void hello(struct peer *p, const struct ddesnd_msg *m)
{
	struct ddesnd_msg w;

	if (p->refused[0]) {
		refuse(p, -EACCES, p->refused);
		return;
	}
	if (m->type != DDESND_HELLO || (m->value != DDESND_ROLE_CLIENT &&
					m->value != DDESND_ROLE_DRIVER)) {
		sndd_log("a connection began with something else than HELLO: dropped");
		peer_close(p);
		return;
	}
	memcpy(p->name, m->name, sizeof(p->name));
	if (m->value == DDESND_ROLE_DRIVER) {
		if (!p->name[0])
			snprintf(p->name, sizeof(p->name), "unnamed");
		hello_driver(p, m);
		return;
	}
	if (p->channel) {
		/* a driver's connection serves its card; it opens nothing */
		sndd_log("the driver of %s asked to be a client on its connection: dropped", p->unit);
		refuse(p, -EACCES, "a driver's connection only attaches the driver");
		return;
	}
	p->role = DDESND_ROLE_CLIENT;
	msg_init(&w, DDESND_WELCOME);
	w.seq = m->seq;
	send_to(p, &w, NULL, 0);
}

static void on_sock(void *conn)
{
	struct peer *p = conn;
	union {
		struct ddesnd_msg m;
		char raw[sizeof(struct ddesnd_msg) + 1];	/* longer: malformed */
	} u;
	int fds[3], nfds;
	long r = seqpacket_recv(p->sock, &u, sizeof(u), fds, &nfds, MSG_DONTWAIT);

	for (int i = 0; i < nfds; i++)
		close(fds[i]);	/* nobody sends sndd descriptors */
	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		peer_drop(p, "disconnected");
		return;
	}
	if (r != sizeof(u.m) || nfds || u.m.magic != DDESND_MAGIC ||
	    u.m.version != DDESND_VERSION) {
		if (!p->role)
			sndd_log("a malformed message before HELLO: dropped the connection");
		peer_drop(p, "malformed message; disconnected");
		return;
	}
	u.m.name[DDESND_NAME - 1] = 0;
	u.m.error[sizeof(u.m.error) - 1] = 0;
	if (!p->role)
		hello(p, &u.m);
	else if (p->role == DDESND_ROLE_DRIVER)
		driver_message(p, &u.m);
	else
		client_message(p, &u.m);
}

/* refused: told why at its hello, then dropped; a unit: dde opened it for its driver */
static void connected(int fd, const char *refused, const char *unit)
{
	struct peer *p = new_peer(fd);

	if (p && refused)
		snprintf(p->refused, sizeof(p->refused), "%s", refused);
	if (p && unit) {
		p->channel = 1;
		snprintf(p->unit, sizeof(p->unit), "%s", unit);
	}
}

/* dde's control channel: the unit of a CHANNEL message, NULL if malformed */
static const char *channel_unit(const void *msg)
{
	const struct ddesnd_msg *m = msg;

	if (m->magic != DDESND_MAGIC || m->version != DDESND_VERSION ||
	    m->type != DDESND_CHANNEL || !m->name[0] ||
	    strnlen(m->name, sizeof(m->name)) >= SNDD_UNIT)
		return NULL;
	return m->name;
}

int main(int argc, char **argv)
{
	int r;

	/* dde gone (the control channel closed): sndd serves on */
	srv.cs = (struct classsrv){
		.prog = "sndd", .channel_msg = sizeof(struct ddesnd_msg),
		.connected = connected, .channel_unit = channel_unit,
		.readable = on_sock, .after = reap,
	};
	srv.next_id = 1;
	r = classsrv_start(&srv.cs, argc, argv);
	if (r)
		return r;
	classsrv_serve(&srv.cs);
	/* clients first: their streams are closed at drivers still there */
	for (struct peer *p = srv.peers, *next; p; p = next) {
		next = p->next;
		if (p->role != DDESND_ROLE_DRIVER)
			peer_drop(p, "sndd stopping");
	}
	while (srv.peers)
		peer_drop(srv.peers, "sndd stopping");
	classsrv_end(&srv.cs);
	return 0;
}
