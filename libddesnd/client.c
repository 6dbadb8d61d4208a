/*
 * libddesnd: the client side of the sndd channel — the connection, the
 * listing, opening a stream and its control requests. The samples go
 * through the ring (ring.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "../common/seqpacket.h"

/* why this thread's last request failed, in sndd's or the driver's words */
static __thread char why[sizeof(((struct ddesnd_msg *)0)->error)];
static __thread int why_err;

void ddesnd_holder(const struct ddesnd_pcm_info *i, char *out, size_t cap)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", i->busy);
	f = i->busy > 1 ? fopen(path, "re") : NULL;
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	if (!i->busy)
		snprintf(out, cap, "%s", "");
	else if (i->busy == 1)
		snprintf(out, cap, "another program");
	else if (comm[0])
		snprintf(out, cap, "%s (pid %u)", comm, i->busy);
	else
		snprintf(out, cap, "pid %u", i->busy);
}

const char *ddesnd_strerror(int err)
{
	if (err < 0 && err == why_err && why[0])
		return why;
	return strerror(err < 0 ? -err : err);
}

int ddesnd_why(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	why_err = err;
	return err;
}

/* A refusal: its text if it has one (else strerror's, not an older text's) */
static int refused(const struct ddesnd_msg *m)
{
	if (!m->error[0])
		return ddesnd_why(m->value, "%s", strerror(-m->value));
	return ddesnd_why(m->value, "%.*s", (int)sizeof(m->error) - 1, m->error);
}

long long ddesnd_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void msg_init(struct ddesnd_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDESND_MAGIC;
	m->version = DDESND_VERSION;
	m->type = (uint16_t)type;
}

static void close_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* sndd is gone: so is every stream (the rings stay mapped until closed) */
static void conn_dead(struct ddesnd *s)
{
	s->dead = 1;
	for (struct ddesnd_stream *st = s->streams; st; st = st->next)
		st->gone = 1;
}

static int send_msg(struct ddesnd *s, struct ddesnd_msg *m)
{
	if (s->dead)
		return -ENODEV;
	if (++s->seq == 0)
		s->seq = 1;	/* 0 is sndd's own */
	m->seq = s->seq;
	if (send(s->sock, m, sizeof(*m), MSG_NOSIGNAL) != (ssize_t)sizeof(*m)) {
		conn_dead(s);
		return ddesnd_why(-ENODEV, "the sound server closed the connection");
	}
	return 0;
}

/*
 * One message from sndd, waiting until @deadline (ms; -1: forever, 0: not
 * at all). 0, -EAGAIN (nothing came in time) or -ENODEV (the connection is
 * gone, or sndd sent something malformed: as good as gone).
 */
static int recv_msg(struct ddesnd *s, struct ddesnd_msg *m, int fds[3], int *nfds,
		    long long deadline)
{
	union {
		struct ddesnd_msg m;
		char raw[sizeof(struct ddesnd_msg) + 1];	/* longer: malformed */
	} u;
	long r;

	*nfds = 0;
	if (s->dead)
		return -ENODEV;
	for (;;) {
		struct pollfd p = { s->sock, POLLIN, 0 };
		long long left = deadline < 0 ? -1 : deadline - ddesnd_now_ms();

		if (deadline >= 0 && left < 0)
			left = 0;
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && (deadline < 0 || ddesnd_now_ms() < deadline))
			continue;
		if (r <= 0)
			return -EAGAIN;
		r = seqpacket_recv(s->sock, &u, sizeof(u), fds, nfds, MSG_DONTWAIT);
		if (r == -EAGAIN || r == -EINTR)
			continue;
		break;
	}
	if (r == sizeof(*m) && u.m.magic == DDESND_MAGIC && u.m.version == DDESND_VERSION) {
		*m = u.m;
		m->name[DDESND_NAME - 1] = 0;
		m->error[sizeof(m->error) - 1] = 0;
		return 0;
	}
	close_fds(fds, *nfds);
	*nfds = 0;
	conn_dead(s);
	if (r > 0)
		return ddesnd_why(-ENODEV, "the sound server sent a malformed message");
	return ddesnd_why(-ENODEV, "the sound server closed the connection");
}

static struct ddesnd_stream *stream_of(struct ddesnd *s, uint32_t id)
{
	for (struct ddesnd_stream *st = s->streams; st; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

/* A message nobody waits for: a stream's end, or a late answer (dropped). */
static void unasked(struct ddesnd *s, const struct ddesnd_msg *m)
{
	struct ddesnd_stream *st = stream_of(s, m->stream);

	if (m->type == DDESND_GONE && st && !st->gone) {
		st->gone = 1;
		ddesnd_why(-ENODEV, "%s", m->error[0] ? m->error : "the sound driver is gone");
	}
}

void ddesnd_control(struct ddesnd *s)
{
	struct ddesnd_msg m;
	int fds[3], nfds;

	while (recv_msg(s, &m, fds, &nfds, 0) == 0) {
		close_fds(fds, nfds);
		unasked(s, &m);
	}
}

/*
 * The answer of @type to request @seq, until @deadline; other messages are
 * handled on the way. A stream @st that goes meanwhile ends the wait:
 * -ENODEV. The descriptors that came with the answer are in @fds.
 */
static int wait_answer(struct ddesnd *s, int type, struct ddesnd_msg *m, int fds[3], int *nfds,
		       long long deadline, struct ddesnd_stream *st)
{
	uint32_t seq = s->seq;

	for (;;) {
		int r = recv_msg(s, m, fds, nfds, deadline);

		if (r)
			return r == -EAGAIN ? -ETIMEDOUT : r;
		if (m->type == type && m->seq == seq)
			return 0;
		close_fds(fds, *nfds);
		unasked(s, m);
		if (st && st->gone)
			return -ENODEV;
	}
}

/* ---- the connection ---- */

int ddesnd_connect(const char *server, struct ddesnd **out)
{
	struct ddesnd_msg m;
	struct ddesnd *s;
	int fds[3], nfds, r;

	*out = NULL;
	if (!server || !*server)
		server = getenv("DDE_SND");
	if (!server || !*server)
		return ddesnd_why(-ECONNREFUSED, "which sound server? DDE_SND is not set "
				  "(dde run prints it)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->sock = seqpacket_connect(server);
	if (s->sock < 0) {
		r = s->sock;
		free(s);
		return ddesnd_why(r, "cannot reach the sound server %s: %s", server, strerror(-r));
	}
	msg_init(&m, DDESND_HELLO);
	m.value = DDESND_ROLE_CLIENT;
	snprintf(m.name, sizeof(m.name), "%s", program_invocation_short_name);
	r = send_msg(s, &m);
	if (!r)
		r = wait_answer(s, DDESND_WELCOME, &m, fds, &nfds,
				ddesnd_now_ms() + DDESND_TIMEOUT_MS, NULL);
	if (!r) {
		close_fds(fds, nfds);
		r = m.value < 0 ? refused(&m) : 0;
	} else if (r == -ETIMEDOUT) {
		ddesnd_why(r, "the sound server %s does not answer", server);
	}
	if (r) {
		close(s->sock);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

static void stream_free(struct ddesnd_stream *st);

void ddesnd_disconnect(struct ddesnd *s)
{
	if (!s)
		return;
	/* sndd closes what is still open with the connection */
	while (s->streams)
		stream_free(s->streams);
	close(s->sock);
	free(s);
}

int ddesnd_list(struct ddesnd *s, struct ddesnd_pcm_info *out, int max)
{
	long long deadline = ddesnd_now_ms() + DDESND_TIMEOUT_MS;
	struct ddesnd_msg m;
	int fds[3], nfds, n = 0, r;

	msg_init(&m, DDESND_LIST);
	r = send_msg(s, &m);
	while (!r) {
		r = recv_msg(s, &m, fds, &nfds, deadline);
		if (r)
			break;
		close_fds(fds, nfds);
		if (m.seq != s->seq || (m.type != DDESND_PCM && m.type != DDESND_LIST_END)) {
			unasked(s, &m);
			continue;
		}
		if (m.type == DDESND_LIST_END)
			return n;
		m.pcm.name[DDESND_NAME - 1] = 0;
		if (n < max)
			out[n] = m.pcm;
		n++;
	}
	return r == -EAGAIN ? ddesnd_why(-ETIMEDOUT, "the sound server did not list its PCMs") : r;
}

/* ---- streams ---- */

static const char *direction(uint32_t stream)
{
	return stream == DDESND_CAPTURE ? "capture" : "playback";
}

/* Parameters that make sense: a known format, a whole number of periods, a ring we allow. */
static int check_params(const struct ddesnd_params *p, const char *who)
{
	const struct ddesnd_format *f = ddesnd_format(p->format);

	if (p->stream != DDESND_PLAYBACK && p->stream != DDESND_CAPTURE)
		return ddesnd_why(-EINVAL, "%s: direction %u is neither playback nor capture",
				  who, p->stream);
	if (!f)
		return ddesnd_why(-EINVAL, "%s: sample format %u is not one libddesnd knows",
				  who, p->format);
	if (!p->channels || p->channels > 256 || !p->rate)
		return ddesnd_why(-EINVAL, "%s: %u channels at %u Hz", who, p->channels, p->rate);
	if (p->frame_bytes != p->channels * f->bytes)
		return ddesnd_why(-EINVAL, "%s: %u bytes per frame, not %u", who, p->frame_bytes,
				  p->channels * f->bytes);
	if (!p->period_frames || p->buffer_frames < p->period_frames ||
	    p->buffer_frames % p->period_frames ||
	    (uint64_t)p->buffer_frames * p->frame_bytes > DDESND_BUFFER_MAX)
		return ddesnd_why(-EINVAL, "%s: a buffer of %u frames in periods of %u (%u bytes "
				  "each) is not a whole number of periods of at most %u bytes",
				  who, p->buffer_frames, p->period_frames, p->frame_bytes,
				  DDESND_BUFFER_MAX);
	return 0;
}

/*
 * Map the ring of OPENED: its size from the parameters in force, checked
 * against the object (sealed, so it cannot shrink under us later).
 */
static int map_ring(struct ddesnd_stream *st, int fd)
{
	struct stat sb;
	int seals = fcntl(fd, F_GET_SEALS);

	st->map_size = DDESND_SHM_DATA + (size_t)st->p.buffer_frames * st->p.frame_bytes;
	if (fstat(fd, &sb) || (size_t)sb.st_size < st->map_size || seals < 0 ||
	    !(seals & F_SEAL_SHRINK))
		return ddesnd_why(-EPROTO, "the stream's ring is not the sealed object of %zu "
				  "bytes its parameters need", st->map_size);
	st->shm = mmap(NULL, st->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (st->shm == MAP_FAILED) {
		st->shm = NULL;
		return ddesnd_why(-ENOMEM, "cannot map the stream's ring: %s", strerror(errno));
	}
	st->data = (uint8_t *)st->shm + DDESND_SHM_DATA;
	return 0;
}

static void stream_free(struct ddesnd_stream *st)
{
	for (struct ddesnd_stream **pp = &st->s->streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	if (st->shm)
		munmap(st->shm, st->map_size);
	if (st->my_bell >= 0)
		close(st->my_bell);
	if (st->drv_bell >= 0)
		close(st->drv_bell);
	free(st);
}

static int request(struct ddesnd_stream *st, int type, int value, int timeout_ms);

/* OPENED: take the stream, or say why not (and close it at the driver) */
static int opened(struct ddesnd_stream *st, const struct ddesnd_msg *m, const int *fds, int nfds)
{
	int r;

	if (m->value < 0) {
		close_fds(fds, nfds);
		return refused(m);
	}
	st->id = m->stream;
	st->p = m->params;
	snprintf(st->name, sizeof(st->name), "%s", m->name);
	if (nfds != 3) {
		close_fds(fds, nfds);
		r = ddesnd_why(-EPROTO, "the sound server sent %d descriptors with a stream, not 3",
			       nfds);
		goto fail;
	}
	st->my_bell = fds[1];
	st->drv_bell = fds[2];
	fcntl(st->my_bell, F_SETFL, O_NONBLOCK);
	fcntl(st->drv_bell, F_SETFL, O_NONBLOCK);
	r = check_params(&st->p, "the stream the driver set up");
	if (!r)
		r = map_ring(st, fds[0]);
	close(fds[0]);
	if (r)
		goto fail;
	return 0;
fail:
	request(st, DDESND_CLOSE, 0, DDESND_TIMEOUT_MS);
	return r;
}

int ddesnd_open(struct ddesnd *s, const char *name, const struct ddesnd_params *p,
		struct ddesnd_stream **out)
{
	const struct ddesnd_format *f = ddesnd_format(p->format);
	struct ddesnd_stream *st;
	struct ddesnd_msg m;
	int fds[3], nfds, r;

	*out = NULL;
	if (name && strlen(name) >= DDESND_NAME)
		return ddesnd_why(-EINVAL, "'%s': no PCM has a name that long", name);
	msg_init(&m, DDESND_OPEN);
	m.params = *p;
	m.params.frame_bytes = f ? p->channels * f->bytes : 0;
	r = check_params(&m.params, name && *name ? name : direction(p->stream));
	if (r)
		return r;
	if (name)
		strcpy(m.name, name);
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->s = s;
	st->my_bell = st->drv_bell = -1;
	st->next = s->streams;
	s->streams = st;
	r = send_msg(s, &m);
	if (!r)
		r = wait_answer(s, DDESND_OPENED, &m, fds, &nfds,
				ddesnd_now_ms() + DDESND_TIMEOUT_MS, NULL);
	if (r == -ETIMEDOUT)
		ddesnd_why(r, "the sound driver did not set the stream up in %d s",
			   DDESND_TIMEOUT_MS / 1000);
	if (!r)
		r = opened(st, &m, fds, nfds);
	if (r) {
		stream_free(st);
		return r;
	}
	*out = st;
	return 0;
}

const struct ddesnd_params *ddesnd_params(const struct ddesnd_stream *st)
{
	return &st->p;
}

const char *ddesnd_name(const struct ddesnd_stream *st)
{
	return st->name;
}

static const char *request_name(int type)
{
	static const char *const names[] = {
		[DDESND_PREPARE] = "prepare", [DDESND_START] = "start", [DDESND_DROP] = "drop",
		[DDESND_PAUSE] = "pause", [DDESND_DRAIN] = "drain", [DDESND_CLOSE] = "close",
	};

	return type >= DDESND_PREPARE && type <= DDESND_CLOSE ? names[type] : "request";
}

/* A control request and the driver's answer: 0 or its error. */
static int request(struct ddesnd_stream *st, int type, int value, int timeout_ms)
{
	struct ddesnd_msg m;
	int fds[3], nfds, r;

	if (st->gone || (st->broken && type != DDESND_CLOSE))
		return -ENODEV;
	msg_init(&m, type);
	m.stream = st->id;
	m.value = value;
	r = send_msg(st->s, &m);
	if (!r)
		r = wait_answer(st->s, DDESND_REPLY, &m, fds, &nfds,
				ddesnd_now_ms() + timeout_ms, st);
	if (r == -ETIMEDOUT)
		return ddesnd_why(r, "%s: the sound driver did not answer '%s' in %d s", st->name,
				  request_name(type), timeout_ms / 1000);
	if (r)
		return r;
	close_fds(fds, nfds);
	return m.value < 0 ? refused(&m) : 0;
}

int ddesnd_prepare(struct ddesnd_stream *st)
{
	uint32_t state = st->shm ? atomic_load(&st->shm->state) : 0;
	int r;

	/* from anywhere, as alsa-lib allows: a running stream stops first */
	if (state == DDESND_STATE_RUNNING || state == DDESND_STATE_PAUSED ||
	    state == DDESND_STATE_DRAINING) {
		r = ddesnd_drop(st);
		if (r)
			return r;
	}
	st->prepared = st->started = 0;
	st->appl = 0;
	if (st->shm)
		atomic_store_explicit(&st->shm->appl, 0, memory_order_release);
	r = request(st, DDESND_PREPARE, 0, DDESND_TIMEOUT_MS);
	if (!r)
		st->prepared = 1;
	return r;
}

int ddesnd_start(struct ddesnd_stream *st)
{
	int r = request(st, DDESND_START, 0, DDESND_TIMEOUT_MS);

	if (!r)
		st->started = 1;
	return r;
}

int ddesnd_drop(struct ddesnd_stream *st)
{
	st->prepared = st->started = 0;
	return request(st, DDESND_DROP, 0, DDESND_TIMEOUT_MS);
}

int ddesnd_pause(struct ddesnd_stream *st, int pause)
{
	return request(st, DDESND_PAUSE, pause != 0, DDESND_TIMEOUT_MS);
}

int ddesnd_drain(struct ddesnd_stream *st)
{
	/* as long as the whole buffer takes to play, and the usual time more */
	long long ms = (long long)st->p.buffer_frames * 1000 / (st->p.rate ? st->p.rate : 1);
	int r = 0;

	/* what was written but never started plays first (as ALSA does) */
	if (st->p.stream == DDESND_PLAYBACK && st->prepared && !st->started && st->appl)
		r = ddesnd_start(st);
	if (!r)
		r = request(st, DDESND_DRAIN, 0, (int)(ms + DDESND_TIMEOUT_MS));
	st->prepared = st->started = 0;
	return r;
}

void ddesnd_close(struct ddesnd_stream *st)
{
	if (!st)
		return;
	if (!st->gone)
		request(st, DDESND_CLOSE, 0, DDESND_TIMEOUT_MS);
	stream_free(st);
}

/* ---- mixer controls ---- */

/* A control request about card @card and the driver's answer into @m. */
static int ctl_request(struct ddesnd *s, const char *card, int type, int value,
		       const struct ddesnd_ctl *c, struct ddesnd_msg *m)
{
	int fds[3], nfds, r;

	msg_init(m, type);
	snprintf(m->name, sizeof(m->name), "%s", card ? card : "");
	m->value = value;
	if (c)
		m->ctl = *c;
	r = send_msg(s, m);
	if (!r)
		r = wait_answer(s, DDESND_CTL, m, fds, &nfds, ddesnd_now_ms() + DDESND_TIMEOUT_MS,
				NULL);
	if (r == -ETIMEDOUT)
		return ddesnd_why(r, "the sound driver did not answer a mixer request in %d s",
				  DDESND_TIMEOUT_MS / 1000);
	if (r)
		return r;
	close_fds(fds, nfds);
	m->ctl.name[sizeof(m->ctl.name) - 1] = 0;
	m->ctl.item[sizeof(m->ctl.item) - 1] = 0;
	return m->value < 0 ? refused(m) : m->value;
}

int ddesnd_ctl_info(struct ddesnd *s, const char *card, unsigned index, struct ddesnd_ctl *out)
{
	struct ddesnd_msg m;
	int r = ctl_request(s, card, DDESND_CTL_INFO, (int)index, NULL, &m);

	if (r < 0)
		return r;
	*out = m.ctl;
	return 0;
}

int ddesnd_ctl_read(struct ddesnd *s, const char *card, struct ddesnd_ctl *c)
{
	struct ddesnd_msg m;
	struct ddesnd_ctl q = { .numid = c->numid };
	int r = ctl_request(s, card, DDESND_CTL_READ, 0, &q, &m);

	if (r < 0)
		return r;
	if (m.ctl.numid != c->numid)
		return ddesnd_why(-EPROTO, "the sound driver answered for another control");
	c->value = m.ctl.value;
	return 0;
}

int ddesnd_ctl_write(struct ddesnd *s, const char *card, const struct ddesnd_ctl *c)
{
	struct ddesnd_msg m;

	return ctl_request(s, card, DDESND_CTL_WRITE, 0, c, &m);
}

int ddesnd_ctl_item(struct ddesnd *s, const char *card, uint32_t numid, unsigned item,
		    char *name, size_t cap)
{
	struct ddesnd_msg m;
	struct ddesnd_ctl q = { .numid = numid };
	int r = ctl_request(s, card, DDESND_CTL_ITEM, (int)item, &q, &m);

	if (r < 0)
		return r;
	snprintf(name, cap, "%s", m.ctl.item);
	return 0;
}
