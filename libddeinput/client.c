/*
 * libddeinput: the client side of the inputd channel (client.h) — the
 * connection, its requests and their answers, and the messages inputd
 * sends on its own (events, devices coming and going), kept in order
 * while a request waits for its answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/seqpacket.h"
#include "client.h"

#define TIMEOUT_MS 10000	/* for inputd's answer to a request */
#define QUEUE_MAX 256		/* messages kept while a request waits; events beyond: lost */

struct queued {
	struct ddeinput_msg m;
	struct queued *next;
};

struct ddeinput {
	int sock;
	uint32_t seq;			/* the last request's number (never 0: inputd's own) */
	int dead;			/* inputd closed the connection */
	struct queued *head, *tail;	/* what came while a request waited */
	int nqueued;
	uint32_t lost;			/* events dropped here (queue full), not yet told */
	char error[sizeof(((struct ddeinput_msg *)0)->error) + 64];
};

static int fail(struct ddeinput *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ddeinput *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return err;
}

const char *ddeinput_error(const struct ddeinput *c)
{
	return c->error[0] ? c->error : "no error";
}

int ddeinput_fd(const struct ddeinput *c)
{
	return c->sock;
}

static void msg_init(struct ddeinput_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDEINPUT_MAGIC;
	m->version = DDEINPUT_VERSION;
	m->type = (uint32_t)type;
}

/* A refusal in inputd's words, or strerror's if it gave none */
static int refused(struct ddeinput *c, const struct ddeinput_msg *m)
{
	if (m->error[0])
		return fail(c, m->value, "%s", m->error);
	return fail(c, m->value, "%s", strerror(-m->value));
}

static int send_msg(struct ddeinput *c, struct ddeinput_msg *m)
{
	if (c->dead)
		return fail(c, -ENODEV, "the input server closed the connection");
	if (++c->seq == 0)
		c->seq = 1;
	m->seq = c->seq;
	if (send(c->sock, m, sizeof(*m), MSG_NOSIGNAL) != (ssize_t)sizeof(*m)) {
		c->dead = 1;
		return fail(c, -ENODEV, "the input server closed the connection");
	}
	return 0;
}

/*
 * One message from inputd, waiting until @deadline (ms of mono_ms; -1:
 * for ever). 0, -EAGAIN (nothing in time) or -ENODEV (the connection is
 * gone, or inputd sent something malformed: as good as gone).
 */
static int recv_msg(struct ddeinput *c, struct ddeinput_msg *m, long long deadline)
{
	union {
		struct ddeinput_msg m;
		char raw[sizeof(struct ddeinput_msg) + 1];	/* longer: malformed */
	} u;
	int fds[3], nfds;
	long r;

	if (c->dead)
		return fail(c, -ENODEV, "the input server closed the connection");
	for (;;) {
		struct pollfd p = { c->sock, POLLIN, 0 };
		long long left = deadline < 0 ? 60000 : deadline - mono_ms();

		r = poll(&p, 1, (int)(left < 0 ? 0 : left > 60000 ? 60000 : left));
		if (r < 0 && errno != EINTR)
			return fail(c, -errno, "poll: %s", strerror(errno));
		if (r <= 0) {
			if (deadline >= 0 && mono_ms() >= deadline)
				return -EAGAIN;
			continue;
		}
		r = seqpacket_recv(c->sock, &u, sizeof(u), fds, &nfds, MSG_DONTWAIT);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (r != -EAGAIN && r != -EINTR)
			break;
	}
	if (r == sizeof(u.m) && u.m.magic == DDEINPUT_MAGIC && u.m.version == DDEINPUT_VERSION &&
	    u.m.count <= DDEINPUT_BATCH) {
		*m = u.m;
		m->name[sizeof(m->name) - 1] = 0;
		m->error[sizeof(m->error) - 1] = 0;
		m->dev.name[sizeof(m->dev.name) - 1] = 0;
		m->dev.phys[sizeof(m->dev.phys) - 1] = 0;
		m->dev.driver[sizeof(m->dev.driver) - 1] = 0;
		return 0;
	}
	c->dead = 1;
	if (r > 0)
		return fail(c, -ENODEV, "the input server sent a malformed message");
	return fail(c, -ENODEV, "the input server closed the connection");
}

/* A message inputd sent on its own, kept for ddeinput_next */
static void keep(struct ddeinput *c, const struct ddeinput_msg *m)
{
	struct queued *q;

	if (m->type != DDEINPUT_EVENTS && m->type != DDEINPUT_DEVICE && m->type != DDEINPUT_GONE)
		return;		/* a late answer nobody waits for */
	q = c->nqueued < QUEUE_MAX || m->type != DDEINPUT_EVENTS ? malloc(sizeof(*q)) : NULL;
	if (!q) {
		c->lost += m->count + (uint32_t)(m->value > 0 ? m->value : 0);
		return;
	}
	q->m = *m;
	q->next = NULL;
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	c->nqueued++;
}

/* The answer of @type to the last request; what else comes is kept. */
static int wait_answer(struct ddeinput *c, int type, struct ddeinput_msg *m)
{
	long long deadline = mono_ms() + TIMEOUT_MS;

	for (;;) {
		int r = recv_msg(c, m, deadline);

		if (r == -EAGAIN)
			return fail(c, -ETIMEDOUT, "the input server does not answer");
		if (r)
			return r;
		if (m->seq == c->seq && m->type == (uint32_t)type)
			return 0;
		if (!m->seq)
			keep(c, m);
	}
}

struct ddeinput *ddeinput_connect(const char *socket, const char *myname, char *err,
				  size_t cap)
{
	struct ddeinput *c;
	struct ddeinput_msg m;
	int r;

	if (!err)
		cap = 0;
	if (!socket || !*socket)
		socket = getenv("DDE_INPUT");
	if (!socket || !*socket) {
		snprintf(err, cap, "which input server? DDE_INPUT is not set (dde run prints it)");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	c->sock = seqpacket_connect(socket);
	if (c->sock < 0) {
		snprintf(err, cap, "cannot reach the input server %s: %s", socket,
			 strerror(-c->sock));
		free(c);
		return NULL;
	}
	msg_init(&m, DDEINPUT_HELLO);
	m.value = DDEINPUT_ROLE_CLIENT;
	snprintf(m.name, sizeof(m.name), "%s", myname ? myname : program_invocation_short_name);
	r = send_msg(c, &m);
	if (!r)
		r = wait_answer(c, DDEINPUT_WELCOME, &m);
	if (!r && m.value < 0)
		r = refused(c, &m);
	if (r) {
		snprintf(err, cap, "the input server %s: %s", socket, c->error);
		ddeinput_close(c);
		return NULL;
	}
	return c;
}

void ddeinput_close(struct ddeinput *c)
{
	if (!c)
		return;
	while (c->head) {
		struct queued *q = c->head;

		c->head = q->next;
		free(q);
	}
	close(c->sock);
	free(c);
}

int ddeinput_list(struct ddeinput *c, struct ddeinput_info *out, int max)
{
	struct ddeinput_msg m;
	int n = 0, r;

	msg_init(&m, DDEINPUT_LIST);
	r = send_msg(c, &m);
	while (!r) {
		r = recv_msg(c, &m, mono_ms() + TIMEOUT_MS);
		if (r == -EAGAIN)
			return fail(c, -ETIMEDOUT, "the input server did not list its devices");
		if (r)
			break;
		if (m.seq != c->seq) {
			if (!m.seq)
				keep(c, &m);
			continue;
		}
		if (m.type == DDEINPUT_LIST_END)
			return n;
		if (m.type != DDEINPUT_DEVICE)
			continue;
		if (n < max) {
			memcpy(out[n].name, m.name, sizeof(out[n].name));
			out[n].dev = m.dev;
		}
		n++;
	}
	return r;
}

static int name_fits(struct ddeinput *c, const char *name)
{
	if (strlen(name) >= DDEINPUT_NAME)
		return fail(c, -ENOENT, "no input device %s (dde input lists them)", name);
	return 0;
}

int ddeinput_subscribe(struct ddeinput *c, const char *name)
{
	struct ddeinput_msg m;
	int r;

	if (!name)
		name = "";
	r = name_fits(c, name);
	if (r)
		return r;
	msg_init(&m, DDEINPUT_SUBSCRIBE);
	memcpy(m.name, name, strlen(name) + 1);
	r = send_msg(c, &m);
	if (!r)
		r = wait_answer(c, DDEINPUT_SUBSCRIBED, &m);
	if (!r && m.value < 0)
		r = refused(c, &m);
	return r;
}

int ddeinput_send(struct ddeinput *c, const char *name, const struct ddeinput_event *ev, int n)
{
	struct ddeinput_msg m;
	int r = name_fits(c, name);

	if (r)
		return r;
	if (n <= 0 || n > DDEINPUT_BATCH)
		return fail(c, -EINVAL, "%d events: one message takes 1 to %d", n,
			    DDEINPUT_BATCH);
	msg_init(&m, DDEINPUT_EVENTS);
	memcpy(m.name, name, strlen(name) + 1);
	m.count = (uint32_t)n;
	memcpy(m.ev, ev, (size_t)n * sizeof(*ev));
	r = send_msg(c, &m);
	if (!r)
		r = wait_answer(c, DDEINPUT_SENT, &m);
	if (r)
		return r;
	return m.value < 0 ? refused(c, &m) : m.value;
}

/* @m is what the program gets: the events lost here are told with the next events */
static int hand_out(struct ddeinput *c, struct ddeinput_msg *m)
{
	if (m->type == DDEINPUT_EVENTS && c->lost) {
		uint64_t all = (uint64_t)(m->value > 0 ? m->value : 0) + c->lost;

		m->value = all > INT32_MAX ? INT32_MAX : (int32_t)all;
		c->lost = 0;
	}
	return (int)m->type;
}

int ddeinput_next(struct ddeinput *c, struct ddeinput_msg *out, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;

	if (c->head) {
		struct queued *q = c->head;

		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
		c->nqueued--;
		*out = q->m;
		free(q);
		return hand_out(c, out);
	}
	for (;;) {
		int r = recv_msg(c, out, deadline);

		if (r == -EAGAIN)
			return 0;
		if (r)
			return r;
		if (!out->seq && (out->type == DDEINPUT_EVENTS || out->type == DDEINPUT_DEVICE ||
				  out->type == DDEINPUT_GONE))
			return hand_out(c, out);
		/* a late answer to a request that gave up waiting: not news */
	}
}
