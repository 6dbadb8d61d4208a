/*
 * sndd's PCMs and streams: what drivers describe, what clients list and
 * open, and the stream's requests forwarded between the two.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sndd.h"

static const char *direction(uint32_t stream)
{
	return stream == DDESND_CAPTURE ? "capture" : "playback";
}

static void answer(struct peer *p, int type, const struct ddesnd_msg *req, int err,
		   const char *why)
{
	struct ddesnd_msg m;

	msg_init(&m, type);
	m.seq = req->seq;
	m.stream = req->stream;
	m.value = err;
	snprintf(m.error, sizeof(m.error), "%.*s", (int)sizeof(m.error) - 1, why);
	send_to(p, &m, NULL, 0);
}

/* ---- what a driver describes ---- */

static int in_list(uint32_t v, const uint32_t *list, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == v)
			return 1;
	return 0;
}

static struct pcm *pcm_of(const struct peer *drv, uint32_t device, uint32_t stream)
{
	for (struct pcm *pcm = srv.pcms; pcm; pcm = pcm->next)
		if (pcm->driver == drv && pcm->info.device == device && pcm->info.stream == stream)
			return pcm;
	return NULL;
}

/* A description that cannot be served: what is wrong with it, or NULL. */
static const char *bad_description(const struct peer *drv, const struct ddesnd_pcm_info *i)
{
	if (i->stream != DDESND_PLAYBACK && i->stream != DDESND_CAPTURE)
		return "a direction that is neither playback nor capture";
	if (i->device > 999)
		return "a device number above 999";
	if (pcm_of(drv, i->device, i->stream))
		return "the same device and direction twice";
	if (drv->npcms >= SNDD_MAX_PCMS)
		return "more PCMs than sndd takes from one card (32)";
	if (!i->nformats || i->nformats > DDESND_MAX_FORMATS)
		return "no sample formats, or too many";
	if (i->nrates > DDESND_MAX_RATES)
		return "too many rates";
	if (!i->channels_min || i->channels_min > i->channels_max || i->channels_max > 256)
		return "channels that are not 1 to 256, min to max";
	if (!i->rate_min || i->rate_min > i->rate_max)
		return "rates that are not min to max";
	if (!i->period_bytes_min || i->period_bytes_min > i->period_bytes_max)
		return "period bytes that are not min to max";
	if (!i->periods_min || i->periods_min > i->periods_max)
		return "periods that are not min to max";
	if ((uint64_t)i->period_bytes_min * i->periods_min > i->buffer_bytes_max)
		return "a buffer too small for the shortest periods";
	return NULL;
}

static void describe(struct peer *drv, const struct ddesnd_msg *m)
{
	struct ddesnd_pcm_info i = m->pcm;
	const char *bad = bad_description(drv, &i);
	struct pcm *pcm;

	if (drv->ready)
		bad = "a PCM after READY";
	if (bad) {
		sndd_log("the driver of %s (%s) described %s", drv->unit, drv->name, bad);
		drv->broken = "malformed PCM description; disconnected";
		return;
	}
	pcm = calloc(1, sizeof(*pcm));
	if (!pcm) {
		drv->broken = "out of memory";
		return;
	}
	/* the driver's strings end where we say */
	i.card[sizeof(i.card) - 1] = i.longname[sizeof(i.longname) - 1] = 0;
	i.driver[sizeof(i.driver) - 1] = i.pcm[sizeof(i.pcm) - 1] = 0;
	snprintf(i.name, sizeof(i.name), "%s.%u", drv->unit, i.device);
	i.busy = 0;
	pcm->info = i;
	pcm->driver = drv;
	/* listed by card, each card's in the order described: a restarted
	 * card's come back where they were */
	struct pcm **pp = &srv.pcms;

	while (*pp && strverscmp((*pp)->driver->unit, drv->unit) <= 0)
		pp = &(*pp)->next;
	pcm->next = *pp;
	*pp = pcm;
	drv->npcms++;
}

static void ready(struct peer *drv)
{
	char line[400];
	int n = 0;

	if (drv->ready) {
		drv->broken = "READY twice; disconnected";
		return;
	}
	drv->ready = 1;
	for (struct pcm *pcm = srv.pcms; pcm; pcm = pcm->next)
		if (pcm->driver == drv && n < (int)sizeof(line) - 80)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s %s \"%s\"",
				      n ? ", " : "", pcm->info.name, direction(pcm->info.stream),
				      pcm->info.pcm);
	sndd_log("card %s (%s): %s", drv->unit, drv->name, n ? line : "no PCMs");
}

/* ---- streams ---- */

static struct stream *stream_find(uint32_t id)
{
	for (struct stream *s = srv.streams; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static void stream_free(struct stream *s)
{
	for (struct stream **pp = &srv.streams; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	for (int i = 0; i < 3; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	s->pcm->stream = NULL;
	if (s->client)
		s->client->nstreams--;
	free(s);
}

static void close_fds(struct stream *s)
{
	for (int i = 0; i < 3; i++) {
		if (s->fds[i] >= 0)
			close(s->fds[i]);
		s->fds[i] = -1;
	}
}

/* sndd's own CLOSE (seq 0): the client is gone or cannot have the stream */
static void close_at_driver(struct stream *s)
{
	struct ddesnd_msg m;

	msg_init(&m, DDESND_CLOSE);
	m.stream = s->id;
	s->state = ST_CLOSING;
	s->close_seq = 0;
	send_to(s->pcm->driver, &m, NULL, 0);
}

/*
 * The ring: DDESND_SHM_DATA + the buffer, its header filled in, sealed so
 * that neither side can change its size; and the two doorbells.
 */
static int make_ring(struct stream *s)
{
	struct ddesnd_shm h = { .magic = DDESND_MAGIC, .version = DDESND_VERSION,
				.params = s->params };
	size_t size = DDESND_SHM_DATA + (size_t)s->params.buffer_frames * s->params.frame_bytes;
	int fd = memfd_create("ddesnd", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	s->fds[0] = fd;
	if (fd < 0 || ftruncate(fd, (off_t)size))
		return -errno;
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EIO;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return -errno;
	s->fds[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->fds[2] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return s->fds[1] < 0 || s->fds[2] < 0 ? -errno : 0;
}

static struct pcm *find_pcm(const char *name, uint32_t stream)
{
	for (struct pcm *pcm = srv.pcms; pcm; pcm = pcm->next)
		if (pcm->driver->ready && pcm->info.stream == stream &&
		    (!name[0] || !strcmp(pcm->info.name, name)))
			return pcm;
	return NULL;
}

static void rates_text(const struct ddesnd_pcm_info *i, char *out, size_t cap)
{
	size_t n = 0;

	if (!i->nrates) {
		snprintf(out, cap, "%u to %u Hz", i->rate_min, i->rate_max);
		return;
	}
	for (uint32_t k = 0; k < i->nrates && n < cap; k++)
		n += (size_t)snprintf(out + n, cap - n, "%s%u", k ? ", " : "", i->rates[k]);
	if (n < cap)
		snprintf(out + n, cap - n, " Hz");
}

/* Parameters this PCM can take; else -EINVAL with why. frame_bytes is ours to say. */
static int check_params(const struct pcm *pcm, struct ddesnd_params *p, char *why, size_t cap)
{
	const struct ddesnd_pcm_info *i = &pcm->info;
	const struct ddesnd_format *f = ddesnd_format(p->format);
	char rates[100];

	if (!f) {
		snprintf(why, cap, "sample format %u is not one sndd knows", p->format);
		return -EINVAL;
	}
	if (!in_list(p->format, i->formats, i->nformats)) {
		snprintf(why, cap, "%s %s does not take sample format %s", i->name,
			 direction(i->stream), f->name);
		return -EINVAL;
	}
	if (p->channels < i->channels_min || p->channels > i->channels_max) {
		snprintf(why, cap, "%s %s takes %u to %u channels, not %u", i->name,
			 direction(i->stream), i->channels_min, i->channels_max, p->channels);
		return -EINVAL;
	}
	if (i->nrates ? !in_list(p->rate, i->rates, i->nrates)
		      : p->rate < i->rate_min || p->rate > i->rate_max) {
		rates_text(i, rates, sizeof(rates));
		snprintf(why, cap, "%s %s takes %s, not %u Hz", i->name, direction(i->stream),
			 rates, p->rate);
		return -EINVAL;
	}
	p->frame_bytes = p->channels * f->bytes;
	if (!p->period_frames || p->buffer_frames < p->period_frames ||
	    p->buffer_frames % p->period_frames ||
	    (uint64_t)p->buffer_frames * p->frame_bytes > DDESND_BUFFER_MAX) {
		snprintf(why, cap, "a buffer of %u frames in periods of %u is not a whole number "
			 "of periods of at most %u bytes", p->buffer_frames, p->period_frames,
			 DDESND_BUFFER_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Why this OPEN cannot have a stream: -errno and a line, or 0 and the PCM. */
static int admit(struct peer *c, const struct ddesnd_msg *m, struct pcm **out, char *why,
		 size_t cap)
{
	struct pcm *pcm;
	char holder[64];

	if (m->params.stream != DDESND_PLAYBACK && m->params.stream != DDESND_CAPTURE) {
		snprintf(why, cap, "direction %u is neither playback nor capture", m->params.stream);
		return -EINVAL;
	}
	pcm = *out = find_pcm(m->name, m->params.stream);
	if (!pcm && m->name[0]) {
		snprintf(why, cap, "no PCM %s for %s (`dde sound` lists them)", m->name,
			 direction(m->params.stream));
		return -ENOENT;
	}
	if (!pcm) {
		snprintf(why, cap, "no PCM for %s: no sound driver serves one",
			 direction(m->params.stream));
		return -ENOENT;
	}
	if (pcm->stream) {
		snprintf(why, cap, "%s %s is in use by %s", pcm->info.name, direction(pcm->info.stream),
			 pcm->stream->client ? who(pcm->stream->client, holder, sizeof(holder))
					     : "a program that is closing it");
		return -EBUSY;
	}
	if (c->nstreams >= SNDD_MAX_STREAMS) {
		snprintf(why, cap, "at most %d streams per connection", SNDD_MAX_STREAMS);
		return -EMFILE;
	}
	return 0;
}

/* A stream id nobody has (0 is none) */
static uint32_t new_id(void)
{
	while (!srv.next_id || stream_find(srv.next_id))
		srv.next_id++;
	return srv.next_id++;
}

static void client_open(struct peer *c, const struct ddesnd_msg *m)
{
	struct ddesnd_msg o;
	struct stream *s;
	struct pcm *pcm;
	char why[256];	/* the message holds what fits */
	int r = admit(c, m, &pcm, why, sizeof(why));

	if (!r && !(s = calloc(1, sizeof(*s)))) {
		snprintf(why, sizeof(why), "sndd is out of memory");
		r = -ENOMEM;
	}
	if (r) {
		answer(c, DDESND_OPENED, m, r, why);
		return;
	}
	s->params = m->params;
	s->fds[0] = s->fds[1] = s->fds[2] = -1;
	r = check_params(pcm, &s->params, why, sizeof(why));
	if (!r && (r = make_ring(s)))
		snprintf(why, sizeof(why), "sndd cannot make the stream's ring: %s", strerror(-r));
	if (r) {
		close_fds(s);
		free(s);
		answer(c, DDESND_OPENED, m, r, why);
		return;
	}
	s->id = new_id();
	s->pcm = pcm;
	s->client = c;
	s->open_seq = m->seq;
	s->state = ST_OPENING;
	s->next = srv.streams;
	srv.streams = s;
	pcm->stream = s;
	c->nstreams++;
	msg_init(&o, DDESND_OPEN);
	o.stream = s->id;
	o.params = s->params;
	o.pcm = pcm->info;
	memcpy(o.name, pcm->info.name, sizeof(o.name));
	send_to(pcm->driver, &o, s->fds, 3);
}

/* The driver's parameters must fit the ring made for the client's. */
static int fits(const struct stream *s, const struct ddesnd_params *p)
{
	const struct ddesnd_params *want = &s->params;
	const struct ddesnd_format *f = ddesnd_format(p->format);

	return f && p->stream == want->stream && p->format == want->format &&
	       p->channels == want->channels && p->rate == want->rate &&
	       p->frame_bytes == p->channels * f->bytes && p->period_frames &&
	       p->buffer_frames >= p->period_frames && !(p->buffer_frames % p->period_frames) &&
	       (uint64_t)p->buffer_frames * p->frame_bytes <=
		       (uint64_t)want->buffer_frames * want->frame_bytes;
}

static void log_open(const struct stream *s)
{
	const struct ddesnd_params *p = &s->params;
	char holder[64];

	sndd_log("%s %s opened by %s: %s, %u channel%s, %u Hz, %u frames in periods of %u",
		 s->pcm->info.name, direction(p->stream), who(s->client, holder, sizeof(holder)),
		 ddesnd_format(p->format)->name, p->channels, p->channels == 1 ? "" : "s",
		 p->rate, p->buffer_frames, p->period_frames);
}

/* The client's OPEN refused after all (by the driver) */
static void refuse_open(struct stream *s, int err, const char *why)
{
	struct ddesnd_msg m;

	if (!s->client)
		return;
	msg_init(&m, DDESND_OPENED);
	m.seq = s->open_seq;
	m.value = err;
	snprintf(m.error, sizeof(m.error), "%s", why);
	send_to(s->client, &m, NULL, 0);
}

static void driver_opened(struct peer *drv, const struct ddesnd_msg *m)
{
	struct stream *s = stream_find(m->stream);
	struct ddesnd_msg o;

	if (!s || s->pcm->driver != drv || s->state != ST_OPENING) {
		sndd_log("the driver of %s answered OPEN for stream %u it was not opening: ignored",
			 drv->unit, m->stream);
		return;
	}
	if (m->value < 0) {
		refuse_open(s, m->value, m->error[0] ? m->error : strerror(-m->value));
		stream_free(s);
		return;
	}
	if (!fits(s, &m->params)) {
		sndd_log("the driver of %s set %s up with parameters that do not fit its ring: "
			 "closed", drv->unit, s->pcm->info.name);
		refuse_open(s, -EIO, "the sound driver set the stream up other than asked");
		if (s->client)
			s->client->nstreams--;
		s->client = NULL;
		close_fds(s);
		close_at_driver(s);
		return;
	}
	s->params = m->params;
	if (!s->client) {	/* it went away meanwhile */
		close_fds(s);
		close_at_driver(s);
		return;
	}
	msg_init(&o, DDESND_OPENED);
	o.seq = s->open_seq;
	o.stream = s->id;
	o.params = s->params;
	o.pcm = s->pcm->info;
	memcpy(o.name, s->pcm->info.name, sizeof(o.name));
	struct ddesnd_shm h = { .magic = DDESND_MAGIC, .version = DDESND_VERSION,
				.params = s->params };

	/* the header says what is in force (for information: nobody trusts it) */
	if (pwrite(s->fds[0], &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		sndd_log("%s: cannot update the ring's header: %s", s->pcm->info.name,
			 strerror(errno));
	send_to(s->client, &o, s->fds, 3);
	close_fds(s);
	s->state = ST_OPEN;
	log_open(s);
}

static void driver_reply(struct peer *drv, const struct ddesnd_msg *m)
{
	struct stream *s = stream_find(m->stream);
	struct ddesnd_msg r;

	if (!s || s->pcm->driver != drv || s->state == ST_OPENING) {
		sndd_log("the driver of %s answered for stream %u it has not open: ignored",
			 drv->unit, m->stream);
		return;
	}
	if (s->pending)
		s->pending--;
	if (s->dropping && m->seq == s->drop_seq)
		s->dropping = 0;
	if (s->client) {
		msg_init(&r, DDESND_REPLY);
		r.stream = s->id;
		r.seq = m->seq;
		r.value = m->value > 0 ? 0 : m->value;
		memcpy(r.error, m->error, sizeof(r.error));
		send_to(s->client, &r, NULL, 0);
	}
	if (s->state == ST_CLOSING && m->seq == s->close_seq)
		stream_free(s);
}

void driver_message(struct peer *drv, const struct ddesnd_msg *m)
{
	switch (m->type) {
	case DDESND_PCM:
		describe(drv, m);
		break;
	case DDESND_READY:
		ready(drv);
		break;
	case DDESND_OPENED:
		driver_opened(drv, m);
		break;
	case DDESND_REPLY:
		driver_reply(drv, m);
		break;
	case DDESND_CTL:
		driver_ctl(drv, m);
		break;
	default:
		drv->broken = "unexpected message; disconnected";
	}
}

/* ---- what a client asks ---- */

static void list(struct peer *c, const struct ddesnd_msg *req)
{
	struct ddesnd_msg m;

	for (struct pcm *pcm = srv.pcms; pcm; pcm = pcm->next) {
		if (!pcm->driver->ready)
			continue;
		msg_init(&m, DDESND_PCM);
		m.seq = req->seq;
		m.pcm = pcm->info;
		if (pcm->stream) {
			struct peer *holder = pcm->stream->client;

			m.pcm.busy = holder && holder->pid > 0 ? (uint32_t)holder->pid : 1;
		}
		send_to(c, &m, NULL, 0);
	}
	msg_init(&m, DDESND_LIST_END);
	m.seq = req->seq;
	send_to(c, &m, NULL, 0);
}

/* PREPARE ... CLOSE: to the driver, with the client's seq. */
static void forward(struct peer *c, const struct ddesnd_msg *m)
{
	struct stream *s = stream_find(m->stream);
	struct ddesnd_msg f;

	if (!s || s->client != c || s->state != ST_OPEN) {
		answer(c, DDESND_REPLY, m, -EBADF, "no such open stream on this connection");
		return;
	}
	if (!m->seq) {
		c->broken = "a request numbered 0; disconnected";
		return;
	}
	/*
	 * One request at a time per stream (each waits for its answer), and
	 * besides it one DROP (which ends a DRAIN that waits) and a CLOSE: a
	 * client cannot fill the driver's queue, which then could not take
	 * the CLOSE that frees the PCM.
	 */
	if (m->type == DDESND_DROP ? s->dropping : s->pending > s->dropping &&
						     m->type != DDESND_CLOSE) {
		answer(c, DDESND_REPLY, m, -EBUSY, "a request of this stream is still unanswered");
		return;
	}
	if (m->type == DDESND_DROP) {
		s->dropping = 1;
		s->drop_seq = m->seq;
	}
	if (m->type == DDESND_CLOSE) {
		s->state = ST_CLOSING;
		s->close_seq = m->seq;
	}
	s->pending++;
	msg_init(&f, m->type);
	f.stream = s->id;
	f.seq = m->seq;
	f.value = m->type == DDESND_PAUSE ? m->value != 0 : 0;
	send_to(s->pcm->driver, &f, NULL, 0);
}

void client_message(struct peer *c, const struct ddesnd_msg *m)
{
	switch (m->type) {
	case DDESND_LIST:
		list(c, m);
		break;
	case DDESND_OPEN:
		client_open(c, m);
		break;
	case DDESND_PREPARE:
	case DDESND_START:
	case DDESND_DROP:
	case DDESND_PAUSE:
	case DDESND_DRAIN:
	case DDESND_CLOSE:
		forward(c, m);
		break;
	case DDESND_CTL_INFO:
	case DDESND_CTL_READ:
	case DDESND_CTL_WRITE:
	case DDESND_CTL_ITEM:
		client_ctl(c, m);
		break;
	default:
		c->broken = "unexpected message; disconnected";
	}
}

/* ---- ends ---- */

void client_gone(struct peer *c, const char *why)
{
	char holder[64];

	for (struct stream *s = srv.streams; s; s = s->next) {
		if (s->client != c)
			continue;
		sndd_log("%s %s: %s %s; stream closed", s->pcm->info.name,
			 direction(s->params.stream), who(c, holder, sizeof(holder)), why);
		s->client = NULL;
		if (s->state == ST_OPEN)
			close_at_driver(s);
		/* opening: closed when OPENED comes; closing: freed at its REPLY */
	}
	c->nstreams = 0;
	if (strcmp(why, "disconnected"))
		sndd_log("client %s: %s", who(c, holder, sizeof(holder)), why);
}

void driver_gone(struct peer *drv, const char *why)
{
	struct ddesnd_msg m;
	char holder[64];
	int n = 0;

	msg_init(&m, DDESND_GONE);
	m.value = -ENODEV;
	snprintf(m.error, sizeof(m.error), "the driver of %s (%s) is gone", drv->unit, drv->name);
	for (struct pcm **pp = &srv.pcms; *pp;) {
		struct pcm *pcm = *pp;
		struct stream *s = pcm->stream;

		if (pcm->driver != drv) {
			pp = &pcm->next;
			continue;
		}
		if (s && s->client && s->state == ST_OPENING) {
			/* it waits for OPENED, not for news of a stream it does not know */
			refuse_open(s, -ENODEV, m.error);
		} else if (s && s->client) {
			sndd_log("%s %s: the stream of %s ended", pcm->info.name,
				 direction(pcm->info.stream), who(s->client, holder, sizeof(holder)));
			m.stream = s->id;
			send_to(s->client, &m, NULL, 0);
		}
		if (s)
			stream_free(s);
		*pp = pcm->next;
		free(pcm);
		n++;
	}
	sndd_log("card %s (%s) gone (%s): %d PCM%s removed", drv->unit, drv->name, why, n,
		 n == 1 ? "" : "s");
}
