/*
 * inputd — the input class server.
 *
 * Input driver processes (USB HID: keyboards, mice, tablets) attach here
 * and announce the Linux input devices they register; inputd names them
 * ("input0", the lowest number free), lists them, and passes each
 * device's events on to the clients that subscribed to it or to every
 * device (libddeinput/proto.h). Clients may send a device the output
 * events Linux lets programs send (LEDs, autorepeat), which inputd hands
 * to its driver. inputd never waits for anyone: a client that does not
 * read its events loses them (counted, and told in the next it gets), a
 * peer that breaks the protocol is dropped with one line saying why. A
 * driver that goes takes its devices with it (their subscribers get
 * GONE). Only peers the access policy admits get in (common/access.h),
 * and a driver attaches only on the connection `dde run` opened for it on
 * the control channel (unless inputd runs by hand or with
 * --open-drivers). With --uinput every device is also made a device of
 * the host's own input stack (uinput.c).
 *
 *   inputd --socket PATH [--control-fd N [--open-drivers]] [--uinput]
 *          [--allow-user U]... [--allow-group G]...
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
#include "inputd.h"

struct inputd srv;


void inputd_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("inputd", fmt, ap);
	va_end(ap);
}

void msg_init(struct ddeinput_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDEINPUT_MAGIC;
	m->version = DDEINPUT_VERSION;
	m->type = (uint32_t)type;
}

void send_to(struct peer *p, struct ddeinput_msg *m)
{
	if (p->broken)
		return;
	if (seqpacket_send(p->sock, m, sizeof(*m), NULL, 0))
		p->broken = "does not take its messages; disconnected";
}

const char *who(const struct peer *p, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s (pid %d)", p->name[0] ? p->name : "a program", (int)p->pid);
	return buf;
}

void driver_text(const struct peer *drv, char *buf, size_t cap)
{
	if (drv->unit[0])
		snprintf(buf, cap, "%s %s", drv->unit, drv->name);
	else
		snprintf(buf, cap, "%s", drv->name);
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

/* Forget a connection (what it had is handled by peer_drop). */
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
	char text[80];

	if (p->role == DDEINPUT_ROLE_DRIVER)
		driver_gone(p, why);
	else if (p->role == DDEINPUT_ROLE_CLIENT && strcmp(why, "disconnected") != 0)
		inputd_log("client %s: %s", who(p, text, sizeof(text)), why);
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
	struct ddeinput_msg m;

	msg_init(&m, DDEINPUT_WELCOME);
	m.value = err;
	snprintf(m.error, sizeof(m.error), "%s", why);
	send_to(p, &m);
	peer_close(p);
}

/* The driver (or dde's connection for one) of unit @unit, other than @but */
static struct peer *driver_of(const char *unit, const struct peer *but)
{
	for (struct peer *p = srv.peers; p; p = p->next)
		if (p != but && (p->role == DDEINPUT_ROLE_DRIVER || p->channel) &&
		    !strcmp(p->unit, unit))
			return p;
	return NULL;
}

static void hello_driver(struct peer *p, const struct ddeinput_msg *m)
{
	struct ddeinput_msg w;
	struct peer *other = NULL;
	char why[160], text[96];

	if (!p->channel && !srv.cs.open_drivers) {
		snprintf(why, sizeof(why), "'%s': drivers attach only on the connection "
			 "`dde run` opens for them", p->name);
		inputd_log("refused a driver: %s", why);
		refuse(p, -EACCES, why);
		return;
	}
	if (p->channel) {
		other = driver_of(p->unit, p);
		/* restarted by dde: the old driver is dead, its hangup maybe not
		 * read yet; its devices go first, so that their names are free */
		if (other && (other->broken || seqpacket_hung_up(other->sock))) {
			peer_drop(other, other->broken ? other->broken : "disconnected");
			other = driver_of(p->unit, p);
		}
	}
	if (other) {
		snprintf(why, sizeof(why), "unit %s has a driver already (%s)", p->unit,
			 other->name);
		inputd_log("refused driver %s: %s", p->name, why);
		refuse(p, -EEXIST, why);
		return;
	}
	p->role = DDEINPUT_ROLE_DRIVER;
	msg_init(&w, DDEINPUT_WELCOME);
	w.seq = m->seq;
	snprintf(w.name, sizeof(w.name), "%s", p->unit);
	send_to(p, &w);
	driver_text(p, text, sizeof(text));
	inputd_log("driver %s attached", text);
}

static void hello(struct peer *p, const struct ddeinput_msg *m)
{
	struct ddeinput_msg w;

	if (p->refused[0]) {
		refuse(p, -EACCES, p->refused);
		return;
	}
	if (m->type != DDEINPUT_HELLO || (m->value != DDEINPUT_ROLE_CLIENT &&
					  m->value != DDEINPUT_ROLE_DRIVER)) {
		inputd_log("a connection began with something else than HELLO: dropped");
		peer_close(p);
		return;
	}
	memcpy(p->name, m->name, sizeof(p->name));
	if (m->value == DDEINPUT_ROLE_DRIVER) {
		if (!p->name[0])
			snprintf(p->name, sizeof(p->name), "unnamed");
		hello_driver(p, m);
		return;
	}
	if (p->channel) {
		/* a driver's connection serves its devices; it subscribes to nothing */
		inputd_log("the driver of %s asked to be a client on its connection: dropped",
			   p->unit);
		refuse(p, -EACCES, "a driver's connection only attaches the driver");
		return;
	}
	p->role = DDEINPUT_ROLE_CLIENT;
	msg_init(&w, DDEINPUT_WELCOME);
	w.seq = m->seq;
	send_to(p, &w);
}

/* What is wrong with a message as received, whoever sent it; NULL if nothing. */
static const char *malformed(const struct ddeinput_msg *m, long len, int nfds)
{
	if (len != (long)sizeof(*m))
		return "a message of the wrong size";
	if (nfds)
		return "a descriptor nobody asked for";
	if (m->magic != DDEINPUT_MAGIC || m->version != DDEINPUT_VERSION)
		return "a message of another protocol or version";
	if (strnlen(m->name, sizeof(m->name)) == sizeof(m->name))
		return "a name without its end";
	if (m->count > DDEINPUT_BATCH)
		return "more events than a message holds";
	return NULL;
}

static void on_sock(void *conn)
{
	struct peer *p = conn;
	union {
		struct ddeinput_msg m;
		char raw[sizeof(struct ddeinput_msg) + 1];	/* longer: malformed */
	} u;
	int fds[3], nfds;
	long r = seqpacket_recv(p->sock, &u, sizeof(u), fds, &nfds, MSG_DONTWAIT);
	const char *bad;
	char why[96];

	for (int i = 0; i < nfds; i++)
		close(fds[i]);	/* nobody sends inputd descriptors */
	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		peer_drop(p, "disconnected");
		return;
	}
	bad = malformed(&u.m, r, nfds);
	if (bad && !p->role) {
		inputd_log("%s before HELLO: dropped the connection", bad);
		peer_close(p);
		return;
	}
	if (bad) {
		snprintf(why, sizeof(why), "malformed message (%s); disconnected", bad);
		peer_drop(p, why);
		return;
	}
	u.m.error[sizeof(u.m.error) - 1] = 0;	/* nobody's requests carry one */
	if (!p->role)
		hello(p, &u.m);
	else if (p->role == DDEINPUT_ROLE_DRIVER)
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
	const struct ddeinput_msg *m = msg;

	if (m->magic != DDEINPUT_MAGIC || m->version != DDEINPUT_VERSION ||
	    m->type != DDEINPUT_CHANNEL || !m->name[0] ||
	    strnlen(m->name, sizeof(m->name)) >= INPUTD_UNIT)
		return NULL;
	return m->name;
}

/* dde is gone: so are we (drivers and clients with us) */
static void channel_closed(void)
{
	inputd_log("the control channel closed (dde is gone): stopping");
	srv.cs.stop = 1;
}

static int option(const char *arg)
{
	if (strcmp(arg, "--uinput"))
		return 0;
	srv.uinput = 1;
	return 1;
}

int main(int argc, char **argv)
{
	int r;

	srv.cs = (struct classsrv){
		.prog = "inputd", .usage = "[--uinput]", .channel_msg = sizeof(struct ddeinput_msg),
		.option = option, .connected = connected, .channel_unit = channel_unit,
		.channel_closed = channel_closed,
		.readable = on_sock, .after = reap,
	};
	srv.next_serial = 1;
	r = classsrv_start(&srv.cs, argc, argv);
	if (r)
		return r;
	uinput_check();
	classsrv_serve(&srv.cs);
	/* drivers first: their devices leave the host's input stack (--uinput) */
	for (struct peer *p = srv.peers, *next; p; p = next) {
		next = p->next;
		if (p->role == DDEINPUT_ROLE_DRIVER)
			peer_drop(p, "inputd stopping");
	}
	while (srv.peers)
		peer_close(srv.peers);
	classsrv_end(&srv.cs);
	return 0;
}
