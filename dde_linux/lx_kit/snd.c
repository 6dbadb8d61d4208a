/*
 * The host side of the sound class glue: the driver's connection to sndd
 * (libddesnd/proto.h) and the rings of its open streams. A thread of its
 * own sleeps on the connection and on every stream's driver doorbell; it
 * queues sndd's requests and wakes the Linux side (an lx_kit event), which
 * takes them with lx_kit_snd_next and answers each. The thread maps a
 * stream's ring when OPEN arrives and checks its geometry against the
 * message, never against what the client may write into the ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ddekit/ddekit.h>
#include <lx_kit/kit.h>
#include <lx_kit/snd.h>

#include "../../common/bell.h"
#include "../../common/seqpacket.h"

struct stream {
	int used;		/* an OPEN arrived (mapped), until the channel thread closes it */
	int live;		/* OPEN was answered with 0, CLOSE not yet */
	int closing;		/* CLOSE (or a refused OPEN) was answered: the thread closes it */
	uint32_t id;		/* sndd's stream id */
	struct ddesnd_shm *shm;
	size_t size;
	int ring_fd, client_bell, driver_bell;
	struct ddesnd_params params;
};

/*
 * requests waiting for the Linux side; the last LX_SND_MAX_STREAMS places
 * only for CLOSE, the LX_SND_MAX_STREAMS before them for DROP (sndd sends
 * one of each per stream besides its one other request)
 */
#define QUEUE 64

static struct {
	int sock;
	struct lx_kit_event *wake;
	pthread_mutex_t lock;	/* the queue and the stream table's slots */
	struct lx_kit_snd_request queue[QUEUE];
	unsigned head, tail;
	struct stream st[LX_SND_MAX_STREAMS];
	int kick;		/* wakes the thread to close streams */
} snd = { .sock = -1, .kick = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static int send_msg(struct ddesnd_msg *m)
{
	m->magic = DDESND_MAGIC;
	m->version = DDESND_VERSION;
	return seqpacket_send(snd.sock, m, sizeof(*m), NULL, 0);
}

static void close_stream(struct stream *s)
{
	if (s->shm)
		munmap(s->shm, s->size);
	if (s->ring_fd >= 0)
		close(s->ring_fd);
	if (s->client_bell >= 0)
		close(s->client_bell);
	if (s->driver_bell >= 0)
		close(s->driver_bell);
	memset(s, 0, sizeof(*s));
	s->ring_fd = s->client_bell = s->driver_bell = -1;
}

/* Close the streams whose CLOSE (or refused OPEN) was answered; under the lock. */
static void reap_closed(void)
{
	for (int i = 0; i < LX_SND_MAX_STREAMS; i++)
		if (snd.st[i].closing)
			close_stream(&snd.st[i]);
}

static int slot_of(uint32_t id)
{
	for (int i = 0; i < LX_SND_MAX_STREAMS; i++)
		if (snd.st[i].used && !snd.st[i].closing && snd.st[i].id == id)
			return i;
	return -1;
}

static void refuse(const struct ddesnd_msg *req, int type, int err, const char *why)
{
	struct ddesnd_msg m = { .type = type, .stream = req->stream, .seq = req->seq, .value = err };

	snprintf(m.error, sizeof(m.error), "%s", why);
	send_msg(&m);
}

/* OPEN: check the geometry, map the ring; the Linux side sets the hardware up. */
static int take_open(const struct ddesnd_msg *m, int fds[3], int nfds, struct lx_kit_snd_request *r)
{
	const struct ddesnd_params *p = &m->params;
	struct stream *s = NULL;
	unsigned long long bytes;
	struct stat sb;
	int i;

	if (nfds != 3) {
		refuse(m, DDESND_OPENED, -EPROTO, "OPEN without its ring and doorbells");
		return -1;
	}
	bytes = (unsigned long long)p->buffer_frames * p->frame_bytes;
	if (p->stream > DDESND_CAPTURE || !p->frame_bytes || !p->period_frames ||
	    !p->buffer_frames || p->buffer_frames % p->period_frames || bytes > DDESND_BUFFER_MAX ||
	    fstat(fds[0], &sb) || (unsigned long long)sb.st_size < DDESND_SHM_DATA + bytes) {
		refuse(m, DDESND_OPENED, -EINVAL, "bad stream geometry");
		return -1;
	}
	if (slot_of(m->stream) >= 0) {
		refuse(m, DDESND_OPENED, -EEXIST, "stream id already open");
		return -1;
	}
	reap_closed();	/* a slot a CLOSE just freed is free */
	for (i = 0; i < LX_SND_MAX_STREAMS && !s; i++)
		if (!snd.st[i].used)
			s = &snd.st[i];
	if (!s) {
		refuse(m, DDESND_OPENED, -EMFILE, "too many streams on this driver");
		return -1;
	}
	s->size = DDESND_SHM_DATA + bytes;
	s->shm = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (s->shm == MAP_FAILED) {
		s->shm = NULL;
		refuse(m, DDESND_OPENED, -ENOMEM, "cannot map the ring");
		return -1;
	}
	s->used = 1;
	s->id = m->stream;
	s->ring_fd = fds[0];
	s->client_bell = fds[1];
	s->driver_bell = fds[2];
	s->params = *p;
	r->slot = (unsigned)(s - snd.st);
	r->device = m->pcm.device;
	r->params = *p;
	return 0;
}

static const int ops[] = {
	[DDESND_OPEN] = LX_SND_OPEN, [DDESND_PREPARE] = LX_SND_PREPARE, [DDESND_START] = LX_SND_START,
	[DDESND_DROP] = LX_SND_DROP, [DDESND_PAUSE] = LX_SND_PAUSE, [DDESND_DRAIN] = LX_SND_DRAIN,
	[DDESND_CLOSE] = LX_SND_CLOSE, [DDESND_CTL_INFO] = LX_SND_CTL_INFO,
	[DDESND_CTL_READ] = LX_SND_CTL_READ, [DDESND_CTL_WRITE] = LX_SND_CTL_WRITE,
	[DDESND_CTL_ITEM] = LX_SND_CTL_ITEM,
};

static int is_ctl(int op)
{
	return op >= LX_SND_CTL_INFO && op <= LX_SND_CTL_ITEM;
}

/* One message from sndd: queued for the Linux side, or refused here. */
static void take_message(void)
{
	struct lx_kit_snd_request r = { 0 };
	struct ddesnd_msg m;
	int fds[3], nfds = 0, slot;
	long n = seqpacket_recv(snd.sock, &m, sizeof(m), fds, &nfds, MSG_DONTWAIT);

	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		if (lx_kit_stopping())
			pthread_exit(NULL);
		lx_kit_panic("the sound server is gone");
	}
	pthread_mutex_lock(&snd.lock);
	if (n != sizeof(m) || m.magic != DDESND_MAGIC || m.version != DDESND_VERSION ||
	    m.type >= sizeof(ops) / sizeof(ops[0]) || !ops[m.type]) {
		ddekit_log(DDEKIT_LOG_WARN, "sound: a message from the server was dropped (type %u)",
			   n == sizeof(m) ? m.type : 0);
		goto drop;
	}
	/* every request is answered: one that finds no room is refused at once */
	r.op = ops[m.type];
	if (snd.tail - snd.head >= QUEUE - (m.type == DDESND_CLOSE ? 0 :
					    m.type == DDESND_DROP ? LX_SND_MAX_STREAMS :
					    2 * LX_SND_MAX_STREAMS)) {
		refuse(&m, m.type == DDESND_OPEN ? DDESND_OPENED :
		       is_ctl(r.op) ? DDESND_CTL : DDESND_REPLY, -EAGAIN,
		       "the driver has too many requests waiting");
		goto drop;
	}
	r.id = m.stream;
	r.seq = m.seq;
	r.value = m.value;
	if (is_ctl(r.op)) {
		r.ctl = m.ctl;
		r.ctl.name[sizeof(r.ctl.name) - 1] = 0;
	} else if (r.op == LX_SND_OPEN) {
		if (take_open(&m, fds, nfds, &r))
			goto drop;
		nfds = 0;
	} else if ((slot = slot_of(m.stream)) < 0) {
		refuse(&m, DDESND_REPLY, -EBADF, "no such stream");
		goto drop;
	} else {
		r.slot = (unsigned)slot;
	}
	snd.queue[snd.tail++ % QUEUE] = r;
	pthread_mutex_unlock(&snd.lock);
	lx_kit_event_raise(snd.wake);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);	/* only OPEN carries descriptors */
	return;
drop:
	pthread_mutex_unlock(&snd.lock);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

/*
 * Sleep on the connection and every open stream's doorbell. Streams are
 * opened (take_open) and closed only here, so a descriptor polled is never
 * one closed meanwhile.
 */
static void *channel_thread(void *arg)
{
	for (;;) {
		struct pollfd p[2 + LX_SND_MAX_STREAMS];
		int n = 2, rang = 0;

		p[0] = (struct pollfd){ snd.sock, POLLIN, 0 };
		p[1] = (struct pollfd){ snd.kick, POLLIN, 0 };
		pthread_mutex_lock(&snd.lock);
		reap_closed();
		for (int i = 0; i < LX_SND_MAX_STREAMS; i++) {
			if (snd.st[i].used)
				p[n++] = (struct pollfd){ snd.st[i].driver_bell, POLLIN, 0 };
		}
		pthread_mutex_unlock(&snd.lock);
		if (poll(p, n, -1) < 0)
			continue;
		if (p[1].revents)
			bell_clear(snd.kick);
		for (int i = 2; i < n; i++)
			if (p[i].revents) {
				bell_clear(p[i].fd);
				rang = 1;
			}
		if (rang)
			lx_kit_event_raise(snd.wake);
		if (p[0].revents)
			take_message();
	}
	return NULL;
}

int lx_kit_snd_attach(void (*wake)(void *arg), void *arg)
{
	const char *server = getenv("DDE_SND");
	struct ddesnd_msg m = { .type = DDESND_HELLO, .value = DDESND_ROLE_DRIVER };
	struct pollfd p;
	int fds[3], nfds = 0;
	pthread_t t;
	long n;

	if (!server || !*server)
		return 1;
	for (int i = 0; i < LX_SND_MAX_STREAMS; i++)
		snd.st[i].ring_fd = snd.st[i].client_bell = snd.st[i].driver_bell = -1;
	snd.sock = seqpacket_connect(server);
	if (snd.sock < 0)
		return snd.sock;
	snprintf(m.name, sizeof(m.name), "%s", lx_kit_driver_name());
	if (send_msg(&m))
		return -EPIPE;
	p = (struct pollfd){ snd.sock, POLLIN, 0 };
	if (poll(&p, 1, 10000) != 1)
		return -ETIMEDOUT;
	n = seqpacket_recv(snd.sock, &m, sizeof(m), fds, &nfds, 0);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (n != sizeof(m) || m.magic != DDESND_MAGIC || m.type != DDESND_WELCOME)
		return -EPROTO;
	if (m.value < 0) {
		ddekit_log(DDEKIT_LOG_ERROR, "sound: the server refused: %.*s", (int)sizeof(m.error),
			   m.error);
		return m.value;
	}
	snd.wake = lx_kit_event_create(wake, arg);
	snd.kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!snd.wake || snd.kick < 0 || pthread_create(&t, NULL, channel_thread, NULL))
		return -ENOMEM;
	pthread_detach(t);
	return 0;
}

int lx_kit_snd_describe(const struct ddesnd_pcm_info *pcm)
{
	struct ddesnd_msg m = { .type = DDESND_PCM, .pcm = *pcm };

	m.pcm.name[0] = 0;	/* sndd's to give */
	m.pcm.busy = 0;
	return send_msg(&m);
}

int lx_kit_snd_ready(void)
{
	struct ddesnd_msg m = { .type = DDESND_READY };

	return send_msg(&m);
}

int lx_kit_snd_next(struct lx_kit_snd_request *req)
{
	int got = 0;

	pthread_mutex_lock(&snd.lock);
	if (snd.head != snd.tail) {
		*req = snd.queue[snd.head++ % QUEUE];
		got = 1;
	}
	pthread_mutex_unlock(&snd.lock);
	return got;
}

void lx_kit_snd_answer(const struct lx_kit_snd_request *req, int value, const char *why)
{
	struct stream *s = &snd.st[req->slot];
	struct ddesnd_msg m = { .type = req->op == LX_SND_OPEN ? DDESND_OPENED : DDESND_REPLY,
				.stream = req->id, .seq = req->seq, .value = value };

	if (value < 0 && why)
		snprintf(m.error, sizeof(m.error), "%s", why);
	if (req->op == LX_SND_OPEN) {
		m.params = req->params;
		pthread_mutex_lock(&snd.lock);
		if (value == 0) {
			s->live = 1;
			atomic_store(&s->shm->state, DDESND_STATE_OPEN);
		} else {
			s->closing = 1;
		}
		pthread_mutex_unlock(&snd.lock);
	}
	if (req->op == LX_SND_CLOSE) {
		pthread_mutex_lock(&snd.lock);
		s->live = 0;
		s->closing = 1;
		pthread_mutex_unlock(&snd.lock);
	}
	send_msg(&m);
	if ((value < 0 && req->op == LX_SND_OPEN) || req->op == LX_SND_CLOSE)
		bell_ring(snd.kick);
}

void lx_kit_snd_answer_ctl(const struct lx_kit_snd_request *req, int value,
			   const struct ddesnd_ctl *ctl, const char *why)
{
	struct ddesnd_msg m = { .type = DDESND_CTL, .stream = req->id, .seq = req->seq,
				.value = value };

	if (ctl)
		m.ctl = *ctl;
	if (value < 0 && why)
		snprintf(m.error, sizeof(m.error), "%s", why);
	send_msg(&m);
}

static struct stream *live(unsigned slot)
{
	return slot < LX_SND_MAX_STREAMS && snd.st[slot].live ? &snd.st[slot] : NULL;
}

void *lx_kit_snd_data(unsigned slot)
{
	struct stream *s = live(slot);

	return s ? (char *)s->shm + DDESND_SHM_DATA : NULL;
}

unsigned long long lx_kit_snd_appl(unsigned slot)
{
	struct stream *s = live(slot);

	return s ? atomic_load_explicit(&s->shm->appl, memory_order_acquire) : 0;
}

void lx_kit_snd_publish(unsigned slot, unsigned long long hw, long long delay, unsigned state)
{
	struct stream *s = live(slot);

	if (!s)
		return;
	atomic_store_explicit(&s->shm->delay, delay, memory_order_relaxed);
	atomic_store_explicit(&s->shm->state, state, memory_order_relaxed);
	atomic_store_explicit(&s->shm->hw, hw, memory_order_release);
}

void lx_kit_snd_xrun(unsigned slot)
{
	struct stream *s = live(slot);

	if (s)
		atomic_fetch_add(&s->shm->xruns, 1);
}

void lx_kit_snd_notify(unsigned slot)
{
	struct stream *s = live(slot);

	if (s)
		bell_ring(s->client_bell);
}
