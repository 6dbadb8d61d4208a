/*
 * The host side of the input class glue: the driver's input devices
 * announced to inputd, their events batched per report (up to and with
 * its SYN_REPORT) and sent as one message, stamped with CLOCK_MONOTONIC
 * when Linux's input core passed them on. A thread of its own takes
 * output events (a keyboard's LEDs) from inputd and hands them to the
 * Linux CPU as an lx_kit event.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ddekit/ddekit.h>
#include <lx_kit/input.h>
#include <lx_kit/kit.h>

#include "../../common/seqpacket.h"

#define OUTPUT_QUEUE 64

static struct {
	int sock;
	struct lx_kit_event *output;
	pthread_mutex_t lock;		/* the batch and the output queue */
	struct ddeinput_msg batch;	/* EVENTS being filled (one device at a time) */
	unsigned long lost;		/* events inputd did not take */
	struct { unsigned id; struct ddeinput_event ev; } queue[OUTPUT_QUEUE];
	unsigned head, tail;
} in = { .sock = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static int send_msg(struct ddeinput_msg *m)
{
	m->magic = DDEINPUT_MAGIC;
	m->version = DDEINPUT_VERSION;
	return seqpacket_send(in.sock, m, sizeof(*m), NULL, 0) < 0 ? -EPIPE : 0;
}

/* the batch to inputd; with in.lock held */
static void flush(void)
{
	if (!in.batch.count)
		return;
	in.batch.type = DDEINPUT_EVENTS;
	in.batch.magic = DDEINPUT_MAGIC;
	in.batch.version = DDEINPUT_VERSION;
	/* never blocks the Linux CPU: inputd not reading loses events, counted */
	if (send(in.sock, &in.batch, sizeof(in.batch), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (long)sizeof(in.batch)) {
		if (!in.lost)
			ddekit_log(DDEKIT_LOG_WARN, "input: the server takes no events: %s "
				   "(events are dropped, counted)", strerror(errno));
		in.lost += in.batch.count;
	}
	in.batch.count = 0;
}

static void take_message(void)
{
	struct ddeinput_msg m;
	int fds[4], nfds = 0;
	long n = seqpacket_recv(in.sock, &m, sizeof(m), fds, &nfds, 0);
	int raise = 0;

	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (n <= 0) {
		if (lx_kit_stopping())
			return;
		lx_kit_panic("the input server is gone");
	}
	if (n != sizeof(m) || m.magic != DDEINPUT_MAGIC || m.type != DDEINPUT_EVENTS ||
	    m.count > DDEINPUT_BATCH) {
		ddekit_log(DDEKIT_LOG_WARN, "input: a malformed message from the server: ignored");
		return;
	}
	pthread_mutex_lock(&in.lock);
	for (unsigned i = 0; i < m.count; i++) {
		if (in.tail - in.head == OUTPUT_QUEUE)
			break;
		in.queue[in.tail % OUTPUT_QUEUE].id = m.dev.id;
		in.queue[in.tail % OUTPUT_QUEUE].ev = m.ev[i];
		in.tail++;
		raise = 1;
	}
	pthread_mutex_unlock(&in.lock);
	if (raise)
		lx_kit_event_raise(in.output);
}

static void *channel_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = { in.sock, POLLIN, 0 };

		if (poll(&p, 1, -1) < 0)
			continue;
		take_message();
	}
	return NULL;
}

int lx_kit_input_attach(void (*output)(void *arg), void *arg)
{
	const char *server = getenv("DDE_INPUT");
	struct ddeinput_msg m = { .type = DDEINPUT_HELLO, .value = DDEINPUT_ROLE_DRIVER };
	struct pollfd p;
	int fds[4], nfds = 0;
	pthread_t t;
	long n;

	if (!server || !*server)
		return 1;
	in.sock = seqpacket_connect(server);
	if (in.sock < 0)
		return in.sock;
	snprintf(m.name, sizeof(m.name), "%s", lx_kit_driver_name());
	if (send_msg(&m))
		return -EPIPE;
	p = (struct pollfd){ in.sock, POLLIN, 0 };
	if (poll(&p, 1, 10000) != 1)
		return -ETIMEDOUT;
	n = seqpacket_recv(in.sock, &m, sizeof(m), fds, &nfds, 0);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (n != sizeof(m) || m.magic != DDEINPUT_MAGIC || m.type != DDEINPUT_WELCOME)
		return -EPROTO;
	if (m.value < 0) {
		ddekit_log(DDEKIT_LOG_ERROR, "input: the server refused: %.*s", (int)sizeof(m.error),
			   m.error);
		return m.value;
	}
	in.output = lx_kit_event_create(output, arg);
	if (!in.output || pthread_create(&t, NULL, channel_thread, NULL))
		return -ENOMEM;
	pthread_detach(t);
	ddekit_log(DDEKIT_LOG_INFO, "attached to the input server");
	return 0;
}

/* DEVICE (@dev) or GONE (@id) to inputd, after the events before it */
static int announce(unsigned type, const struct ddeinput_device *dev, unsigned id)
{
	static struct ddeinput_msg m;	/* large: not on a Linux task's stack */
	int r;

	if (in.sock < 0)
		return 1;
	pthread_mutex_lock(&in.lock);
	flush();
	memset(&m, 0, sizeof(m));
	m.type = type;
	if (dev)
		m.dev = *dev;
	m.dev.id = dev ? dev->id : id;
	r = send_msg(&m);
	pthread_mutex_unlock(&in.lock);
	return r;
}

int lx_kit_input_device(const struct ddeinput_device *dev)
{
	return announce(DDEINPUT_DEVICE, dev, 0);
}

int lx_kit_input_gone(unsigned id)
{
	return announce(DDEINPUT_GONE, NULL, id);
}

void lx_kit_input_event(unsigned id, unsigned type, unsigned code, int value)
{
	struct timespec ts;
	struct ddeinput_event *e;

	if (in.sock < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&in.lock);
	if (in.batch.count && in.batch.dev.id != id)
		flush();
	in.batch.dev.id = id;
	e = &in.batch.ev[in.batch.count++];
	e->time_ns = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
	e->type = (unsigned short)type;
	e->code = (unsigned short)code;
	e->value = value;
	if (in.batch.count == DDEINPUT_BATCH || (type == 0 && code == 0))	/* EV_SYN/SYN_REPORT */
		flush();
	pthread_mutex_unlock(&in.lock);
}

int lx_kit_input_output(unsigned *id, struct ddeinput_event *ev)
{
	int got = 0;

	pthread_mutex_lock(&in.lock);
	if (in.head != in.tail) {
		*id = in.queue[in.head % OUTPUT_QUEUE].id;
		*ev = in.queue[in.head % OUTPUT_QUEUE].ev;
		in.head++;
		got = 1;
	}
	pthread_mutex_unlock(&in.lock);
	return got;
}
