/*
 * The sound server's broker logic (sndd/), its client library
 * (libddesnd/) and the ALSA plugin, against a sound driver in the test: a
 * thread speaking the driver's side of the protocol (libddesnd/proto.h)
 * for a "device" that plays into memory and records a known pattern, in
 * real time. sndd runs from the build (BUILD/bin/sndd) on a socket of its
 * own for each test and is stopped after it, as is every program the test
 * starts (aplay, arecord), also when a test fails.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ddesnd/ddesnd.h>
#include "../../common/bell.h"
#include "../../common/seqpacket.h"
#include "server.h"

#define RATE 8000
#define S16_LE 2
#define S32_LE 10
#define U8 1

/* ---- helpers ---- */

/* What the test device records: byte k of a capture */
static uint8_t pattern(uint64_t k)
{
	return (uint8_t)(k * 131 + (k >> 9) * 7 + 1);
}

static void msg_init(struct ddesnd_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDESND_MAGIC;
	m->version = DDESND_VERSION;
	m->type = (uint16_t)type;
}

/* One message within @ms: its length, 0 at EOF, -EAGAIN when none came. */
static long recv_within(int sock, struct ddesnd_msg *m, int fds[3], int *nfds, int ms)
{
	struct pollfd p = { sock, POLLIN, 0 };

	*nfds = 0;
	if (poll(&p, 1, ms) != 1)
		return -EAGAIN;
	return seqpacket_recv(sock, m, sizeof(*m), fds, nfds, MSG_DONTWAIT);
}

/* ---- the test device: the driver's side ---- */

struct slot {			/* the stream of one direction */
	uint32_t id;
	struct ddesnd_params p;
	struct ddesnd_shm *shm;
	uint8_t *data;
	size_t size;
	int bell, client_bell;	/* ours (rung by the client), the client's */
	long long t0;		/* running since, at position base */
	uint64_t base;
	uint32_t drain_seq;
};

struct dev {
	int sock, stop;
	pthread_t thread;
	int running;
	struct slot slot[2];
	uint8_t *got;		/* every byte played */
	size_t ngot, cap;
	atomic_int opens, closes, requests, state[2];
	atomic_uint last_close_seq;
	int refuse_open;	/* OPEN answered with this error */
	int fail_type;		/* this request answered with -EINVAL */
	int xrun_on_underrun;
	int break_ring;		/* after START: a position that cannot be */
	int ctl_silent;		/* mixer requests are never answered */
	int64_t volume[2];	/* the mixer: "Master Playback Volume" (0..31, 2 values) */
	int64_t mute;		/* "Master Playback Switch" */
	int64_t source;		/* "Capture Source" (enumerated: Mic, Line, CD) */
};

static void dev_send(struct dev *d, int type, const struct ddesnd_msg *req, int value,
		     const char *error)
{
	struct ddesnd_msg m;

	msg_init(&m, type);
	m.stream = req->stream;
	m.seq = req->seq;
	m.params = req->params;
	m.value = value;
	if (error)
		snprintf(m.error, sizeof(m.error), "%s", error);
	seqpacket_send(d->sock, &m, sizeof(m), NULL, 0);
}

static struct slot *slot_of(struct dev *d, uint32_t id)
{
	for (int i = 0; i < 2; i++)
		if (d->slot[i].shm && d->slot[i].id == id)
			return &d->slot[i];
	return NULL;
}

static void set_state(struct dev *d, struct slot *s, int state)
{
	atomic_store(&s->shm->state, (uint32_t)state);
	atomic_store(&d->state[s->p.stream], state);
	bell_ring(s->client_bell);
}

static void slot_close(struct slot *s)
{
	if (!s->shm)
		return;
	munmap(s->shm, s->size);
	close(s->bell);
	close(s->client_bell);
	memset(s, 0, sizeof(*s));
}

static void dev_open(struct dev *d, const struct ddesnd_msg *m, const int *fds, int nfds)
{
	struct slot *s = &d->slot[m->params.stream & 1];
	void *mem;

	if (nfds != 3 || s->shm || d->refuse_open) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		dev_send(d, DDESND_OPENED, m, d->refuse_open ? d->refuse_open : -EBUSY,
			 "the test device refuses");
		return;
	}
	s->p = m->params;
	s->size = DDESND_SHM_DATA + (size_t)s->p.buffer_frames * s->p.frame_bytes;
	mem = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	close(fds[0]);
	assert_true(mem != MAP_FAILED);
	s->shm = mem;
	s->data = (uint8_t *)mem + DDESND_SHM_DATA;
	s->client_bell = fds[1];
	s->bell = fds[2];
	s->id = m->stream;
	atomic_fetch_add(&d->opens, 1);
	dev_send(d, DDESND_OPENED, m, 0, NULL);
}

static void dev_request(struct dev *d, const struct ddesnd_msg *m)
{
	struct slot *s = slot_of(d, m->stream);

	atomic_fetch_add(&d->requests, 1);
	if (!s) {
		dev_send(d, DDESND_REPLY, m, -EBADF, "no such stream");
		return;
	}
	if (m->type == d->fail_type) {
		dev_send(d, DDESND_REPLY, m, -EINVAL, "the test device says no");
		return;
	}
	switch (m->type) {
	case DDESND_PREPARE:
		atomic_store(&s->shm->hw, 0);
		set_state(d, s, DDESND_STATE_PREPARED);
		break;
	case DDESND_START:
		s->t0 = mono_ms();
		s->base = atomic_load(&s->shm->hw);
		set_state(d, s, DDESND_STATE_RUNNING);
		if (d->break_ring)
			atomic_store(&s->shm->hw, atomic_load(&s->shm->appl) + 5000);
		break;
	case DDESND_DROP:
		set_state(d, s, DDESND_STATE_OPEN);
		break;
	case DDESND_PAUSE:
		s->t0 = mono_ms();
		s->base = atomic_load(&s->shm->hw);
		set_state(d, s, m->value ? DDESND_STATE_PAUSED : DDESND_STATE_RUNNING);
		break;
	case DDESND_DRAIN:
		if (s->p.stream == DDESND_CAPTURE)
			break;
		s->drain_seq = m->seq;
		set_state(d, s, DDESND_STATE_DRAINING);
		return;		/* answered once played */
	case DDESND_CLOSE:
		/* counted before the answer: the client looks right after it */
		slot_close(s);
		atomic_store(&d->last_close_seq, m->seq);
		atomic_fetch_add(&d->closes, 1);
		break;
	}
	dev_send(d, DDESND_REPLY, m, 0, NULL);
}

/* The test device's mixer: three elements, numids 5, 6, 7 (as a card's list may begin anywhere) */
static const char *const sources[] = { "Mic", "Line", "CD" };

static void dev_ctl(struct dev *d, const struct ddesnd_msg *m)
{
	struct ddesnd_ctl c = { .iface = 2, .access = DDESND_CTL_READABLE | DDESND_CTL_WRITABLE };
	uint32_t numid = m->type == DDESND_CTL_INFO ? 5 + (uint32_t)m->value : m->ctl.numid;
	struct ddesnd_msg a;
	int value = 0;

	if (d->ctl_silent)
		return;
	c.numid = numid;
	if (numid == 5) {
		snprintf(c.name, sizeof(c.name), "Master Playback Volume");
		c.type = DDESND_CTL_INTEGER;
		c.count = 2;
		c.max = 31;
		c.step = 1;
	} else if (numid == 6) {
		snprintf(c.name, sizeof(c.name), "Master Playback Switch");
		c.type = DDESND_CTL_BOOLEAN;
		c.count = 1;
		c.max = 1;
	} else if (numid == 7) {
		snprintf(c.name, sizeof(c.name), "Capture Source");
		c.type = DDESND_CTL_ENUMERATED;
		c.count = 1;
		c.items = 3;
	} else {
		value = -ENOENT;
	}
	if (!value && m->type == DDESND_CTL_ITEM) {
		if (m->value >= 0 && m->value < 3)
			snprintf(c.item, sizeof(c.item), "%s", sources[m->value]);
		else
			value = -EINVAL;
	}
	if (!value && m->type == DDESND_CTL_WRITE) {
		int64_t *v = numid == 5 ? d->volume : numid == 6 ? &d->mute : &d->source;

		for (uint32_t i = 0; i < c.count; i++)
			if (m->ctl.value.integer[i] < c.min ||
			    m->ctl.value.integer[i] > (c.items ? c.items - 1 : c.max))
				value = -EINVAL;
		for (uint32_t i = 0; value >= 0 && i < c.count; i++)
			if (v[i] != m->ctl.value.integer[i]) {
				v[i] = m->ctl.value.integer[i];
				value = 1;
			}
	}
	if (!value && m->type == DDESND_CTL_READ) {
		c.value.integer[0] = numid == 5 ? d->volume[0] : numid == 6 ? d->mute : d->source;
		c.value.integer[1] = d->volume[1];
	}
	msg_init(&a, DDESND_CTL);
	a.stream = m->stream;
	a.seq = m->seq;
	a.value = value;
	a.ctl = c;
	if (value < 0)
		snprintf(a.error, sizeof(a.error), "the test mixer says no");
	seqpacket_send(d->sock, &a, sizeof(a), NULL, 0);
}

/* sndd said something: 0, or -1 when the connection ended */
static int dev_message(struct dev *d)
{
	struct ddesnd_msg m;
	int fds[3], nfds;
	long r = seqpacket_recv(d->sock, &m, sizeof(m), fds, &nfds, MSG_DONTWAIT);

	if (r == -EAGAIN)
		return 0;
	if (r != sizeof(m))
		return -1;
	if (m.type == DDESND_OPEN) {
		dev_open(d, &m, fds, nfds);
		return 0;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (m.type >= DDESND_PREPARE && m.type <= DDESND_CLOSE)
		dev_request(d, &m);
	if (m.type >= DDESND_CTL_INFO && m.type <= DDESND_CTL_ITEM)
		dev_ctl(d, &m);
	return 0;
}

static void take(struct dev *d, struct slot *s, uint64_t from, uint64_t to)
{
	size_t fb = s->p.frame_bytes;

	for (uint64_t f = from; f < to; f++) {
		if (d->ngot + fb > d->cap) {
			d->cap = d->cap ? 2 * d->cap : 65536;
			d->got = realloc(d->got, d->cap);
		}
		memcpy(d->got + d->ngot, s->data + (f % s->p.buffer_frames) * fb, fb);
		d->ngot += fb;
	}
}

static void play(struct dev *d, struct slot *s, uint32_t state)
{
	uint64_t hw = atomic_load(&s->shm->hw), appl = atomic_load(&s->shm->appl);
	uint64_t target = s->base + (uint64_t)(mono_ms() - s->t0) * s->p.rate / 1000;
	uint64_t end = appl < target ? appl : target;

	if (hw > appl || appl - hw > s->p.buffer_frames)
		return;		/* not ours to judge here */
	if (end > hw) {
		take(d, s, hw, end);
		atomic_store(&s->shm->hw, end);
		bell_ring(s->client_bell);
	}
	if (state == DDESND_STATE_DRAINING && end == appl) {
		struct ddesnd_msg m = { .stream = s->id, .seq = s->drain_seq };

		set_state(d, s, DDESND_STATE_OPEN);
		dev_send(d, DDESND_REPLY, &m, 0, NULL);
	} else if (state == DDESND_STATE_RUNNING && target > appl && d->xrun_on_underrun) {
		atomic_fetch_add(&s->shm->xruns, 1);
		set_state(d, s, DDESND_STATE_XRUN);
	}
}

static void record(struct dev *d, struct slot *s)
{
	uint64_t hw = atomic_load(&s->shm->hw), appl = atomic_load(&s->shm->appl);
	uint64_t target = s->base + (uint64_t)(mono_ms() - s->t0) * s->p.rate / 1000;
	size_t fb = s->p.frame_bytes;

	if (target <= hw)
		return;
	if (target - appl > s->p.buffer_frames) {
		set_state(d, s, DDESND_STATE_XRUN);
		return;
	}
	for (uint64_t f = hw; f < target; f++)
		for (size_t j = 0; j < fb; j++)
			s->data[(f % s->p.buffer_frames) * fb + j] = pattern(f * fb + j);
	atomic_store(&s->shm->hw, target);
	bell_ring(s->client_bell);
}

static void *dev_main(void *arg)
{
	struct dev *d = arg;

	for (;;) {
		struct pollfd p[4] = { { d->sock, POLLIN, 0 }, { d->stop, POLLIN, 0 },
				       { d->slot[0].shm ? d->slot[0].bell : -1, POLLIN, 0 },
				       { d->slot[1].shm ? d->slot[1].bell : -1, POLLIN, 0 } };

		poll(p, 4, 4);
		if (p[1].revents)
			break;
		if (p[0].revents && dev_message(d) < 0)
			break;
		for (int i = 0; i < 2; i++) {
			struct slot *s = &d->slot[i];
			uint32_t state = s->shm ? atomic_load(&s->shm->state) : 0;

			if (!s->shm)
				continue;
			bell_clear(s->bell);
			if ((state == DDESND_STATE_RUNNING || state == DDESND_STATE_DRAINING) &&
			    !d->break_ring)
				i ? record(d, s) : play(d, s, state);
		}
	}
	return NULL;
}

/* ---- sndd and the fixture ---- */

static void write_wav(const char *path, uint32_t frames);

/* The test's files (by its pid) */
struct files {
	char wav[64], out[64], err[64], err2[64];
};

static void files_make(struct files *f, uint32_t frames)
{
	int pid = (int)getpid();

	snprintf(f->wav, sizeof(f->wav), "/tmp/dde-test-snd-%d.wav", pid);
	snprintf(f->out, sizeof(f->out), "/tmp/dde-test-snd-%d.raw", pid);
	snprintf(f->err, sizeof(f->err), "/tmp/dde-test-snd-%d.err", pid);
	snprintf(f->err2, sizeof(f->err2), "/tmp/dde-test-snd-%d.err2", pid);
	if (frames)
		write_wav(f->wav, frames);
}

static void files_remove(struct files *f)
{
	unlink(f->wav);
	unlink(f->out);
	unlink(f->err);
	unlink(f->err2);
}


#define MAX_BG 4

struct fx {
	pid_t sndd;
	char socket[64], log[64];
	int control;		/* our end of sndd's control channel, or -1 */
	struct dev dev;
	pid_t bg[MAX_BG];	/* programs started in the background */
	int passed;		/* the test got to its end: sndd's log is not news */
};

static struct ddesnd_pcm_info pcm_info(uint32_t device, uint32_t stream)
{
	struct ddesnd_pcm_info i = {
		.device = device, .stream = stream, .nformats = 2, .formats = { S16_LE, U8 },
		.channels_min = 1, .channels_max = 2, .rate_min = 8000, .rate_max = 48000,
		.nrates = 5, .rates = { 8000, 11025, 22050, 44100, 48000 },
		.period_bytes_min = 64, .period_bytes_max = 65536, .periods_min = 2,
		.periods_max = 64, .buffer_bytes_max = 256 * 1024,
	};

	snprintf(i.card, sizeof(i.card), "TestCard");
	snprintf(i.longname, sizeof(i.longname), "Test Card at the test");
	snprintf(i.driver, sizeof(i.driver), "TEST");
	snprintf(i.pcm, sizeof(i.pcm), "Test PCM %u", device);
	return i;
}

static int start_sndd(struct fx *fx, int with_control)
{
	fx->sndd = start_server("sndd", with_control, fx->socket, sizeof(fx->socket), fx->log,
				sizeof(fx->log), &fx->control);
	if (fx->sndd < 0)
		fx->sndd = 0;
	return fx->sndd ? 0 : -1;
}

static int setup_with(void **state, int with_control)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->dev.sock = fx->dev.stop = -1;
	*state = fx;
	if (start_sndd(fx, with_control)) {
		fprintf(stderr, "test_sndd: sndd did not start (is it built?)\n");
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 0);
}

static int setup_control(void **state)
{
	return setup_with(state, 1);
}

/* The device thread stopped: what it played can be read. */
static void dev_halt(struct dev *d)
{
	if (d->running) {
		bell_ring(d->stop);
		pthread_join(d->thread, NULL);
		d->running = 0;
	}
}

static void dev_stop(struct dev *d)
{
	dev_halt(d);
	for (int i = 0; i < 2; i++)
		slot_close(&d->slot[i]);
	if (d->sock >= 0)
		close(d->sock);
	if (d->stop >= 0)
		close(d->stop);
	free(d->got);
	d->got = NULL;
	d->sock = d->stop = -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	struct files files;
	char line[512];
	FILE *f;

	for (int i = 0; i < MAX_BG; i++)
		stop_server(fx->bg[i]);
	dev_stop(&fx->dev);
	stop_server(fx->sndd);
	if (fx->control >= 0)
		close(fx->control);
	/* sndd's log, for whoever reads a failure */
	f = fx->passed ? NULL : fopen(fx->log, "r");
	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "    | %s", line);
	if (f)
		fclose(f);
	unlink(fx->log);
	files_make(&files, 0);
	files_remove(&files);
	free(fx);
	return 0;
}

/* A driver on @sock: HELLO, its PCMs, READY; the card's unit WELCOME named. */
static void dev_attach_on(struct fx *fx, int sock, const struct ddesnd_pcm_info *pcms, int n,
			  char *unit)
{
	struct dev *d = &fx->dev;
	struct ddesnd_msg m;
	int fds[3], nfds;

	d->sock = sock;
	assert_true(d->sock >= 0);
	msg_init(&m, DDESND_HELLO);
	m.value = DDESND_ROLE_DRIVER;
	snprintf(m.name, sizeof(m.name), "testdev@00:03.0");
	assert_int_equal(seqpacket_send(d->sock, &m, sizeof(m), NULL, 0), 0);
	assert_int_equal(recv_within(d->sock, &m, fds, &nfds, 5000), sizeof(m));
	assert_int_equal(m.type, DDESND_WELCOME);
	assert_int_equal(m.value, 0);
	if (unit)
		snprintf(unit, 16, "%.15s", m.name);
	for (int i = 0; i < n; i++) {
		msg_init(&m, DDESND_PCM);
		m.pcm = pcms[i];
		assert_int_equal(seqpacket_send(d->sock, &m, sizeof(m), NULL, 0), 0);
	}
	msg_init(&m, DDESND_READY);
	assert_int_equal(seqpacket_send(d->sock, &m, sizeof(m), NULL, 0), 0);
	d->stop = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_int_equal(pthread_create(&d->thread, NULL, dev_main, d), 0);
	d->running = 1;
}

/* sndd lists @n PCMs (it has taken the driver's READY) */
static void wait_listed(struct fx *fx, int n)
{
	struct ddesnd_pcm_info all[8];
	struct ddesnd *s;
	int got = -1;

	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	for (long long end = mono_ms() + 5000; mono_ms() < end; sleep_ms(5)) {
		got = ddesnd_list(s, all, 8);
		if (got == n)
			break;
	}
	ddesnd_disconnect(s);
	assert_int_equal(got, n);
}

/* The test device with snd0.0 for playback and capture, listed. */
static void dev_attach(struct fx *fx)
{
	struct ddesnd_pcm_info pcms[2] = { pcm_info(0, DDESND_PLAYBACK),
					   pcm_info(0, DDESND_CAPTURE) };

	dev_attach_on(fx, seqpacket_connect(fx->socket), pcms, 2, NULL);
	wait_listed(fx, 2);
}

static struct ddesnd_params params(uint32_t stream, uint32_t format, uint32_t channels,
				   uint32_t rate, uint32_t period, uint32_t buffer)
{
	return (struct ddesnd_params){ .stream = stream, .format = format, .channels = channels,
				       .rate = rate, .period_frames = period,
				       .buffer_frames = buffer };
}

/* A mono S16_LE stream at 8 kHz: periods of 256 frames, 1024 in all */
static struct ddesnd_stream *open_simple(struct ddesnd *s, uint32_t stream)
{
	struct ddesnd_params p = params(stream, S16_LE, 1, RATE, 256, 1024);
	struct ddesnd_stream *st = NULL;

	assert_int_equal(ddesnd_open(s, "snd0.0", &p, &st), 0);
	return st;
}

/* ---- the broker ---- */

static void test_list(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_pcm_info all[4];
	struct ddesnd *s;

	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	assert_int_equal(ddesnd_list(s, all, 4), 2);
	assert_string_equal(all[0].name, "snd0.0");
	assert_int_equal(all[0].stream, DDESND_PLAYBACK);
	assert_string_equal(all[1].name, "snd0.0");
	assert_int_equal(all[1].stream, DDESND_CAPTURE);
	assert_string_equal(all[0].card, "TestCard");
	assert_string_equal(all[0].pcm, "Test PCM 0");
	assert_int_equal(all[0].nformats, 2);
	assert_int_equal(all[0].nrates, 5);
	assert_int_equal(all[0].busy, 0);
	/* more than fit: counted, the first ones filled */
	memset(all, 0, sizeof(all));
	assert_int_equal(ddesnd_list(s, all, 1), 2);
	assert_string_equal(all[0].name, "snd0.0");
	assert_string_equal(all[1].name, "");
	ddesnd_disconnect(s);
	fx->passed = 1;
}

static void test_second_open_busy(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_stream *a, *b = NULL, *cap;
	struct ddesnd_pcm_info all[4];
	struct ddesnd_params p = params(DDESND_PLAYBACK, S16_LE, 2, 44100, 441, 4410);
	struct ddesnd *s1, *s2;
	char text[128];

	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s1), 0);
	assert_int_equal(ddesnd_connect(fx->socket, &s2), 0);
	assert_int_equal(ddesnd_open(s1, "snd0.0", &p, &a), 0);
	assert_string_equal(ddesnd_name(a), "snd0.0");
	assert_int_equal(ddesnd_params(a)->frame_bytes, 4);
	assert_int_equal(ddesnd_params(a)->buffer_frames, 4410);
	assert_int_equal(ddesnd_open(s2, "snd0.0", &p, &b), -EBUSY);
	assert_null(b);
	snprintf(text, sizeof(text), "snd0.0 playback is in use by test_sndd (pid %d)",
		 (int)getpid());
	assert_string_equal(ddesnd_strerror(-EBUSY), text);
	/* "": the first PCM of that direction, busy as well */
	assert_int_equal(ddesnd_open(s2, "", &p, &b), -EBUSY);
	/* the other direction is a PCM of its own */
	cap = open_simple(s2, DDESND_CAPTURE);
	assert_int_equal(ddesnd_list(s2, all, 4), 2);
	assert_int_equal(all[0].busy, (uint32_t)getpid());
	assert_int_equal(all[1].busy, (uint32_t)getpid());
	ddesnd_close(a);
	assert_int_equal(atomic_load(&fx->dev.closes), 1);
	assert_int_equal(ddesnd_list(s2, all, 4), 2);
	assert_int_equal(all[0].busy, 0);
	assert_int_equal(ddesnd_open(s2, NULL, &p, &b), 0);
	ddesnd_close(b);
	ddesnd_close(cap);
	ddesnd_disconnect(s1);
	ddesnd_disconnect(s2);
	fx->passed = 1;
}

static void test_open_refused(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_stream *st = NULL;
	struct ddesnd_params p;
	struct ddesnd *s;

	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	p = params(DDESND_PLAYBACK, S16_LE, 1, RATE, 256, 1024);
	assert_int_equal(ddesnd_open(s, "snd9.0", &p, &st), -ENOENT);
	assert_string_equal(ddesnd_strerror(-ENOENT),
			    "no PCM snd9.0 for playback (`dde sound` lists them)");
	p.format = S32_LE;
	assert_int_equal(ddesnd_open(s, "snd0.0", &p, &st), -EINVAL);
	assert_string_equal(ddesnd_strerror(-EINVAL),
			    "snd0.0 playback does not take sample format S32_LE");
	p = params(DDESND_PLAYBACK, S16_LE, 3, RATE, 256, 1024);
	assert_int_equal(ddesnd_open(s, "snd0.0", &p, &st), -EINVAL);
	assert_string_equal(ddesnd_strerror(-EINVAL),
			    "snd0.0 playback takes 1 to 2 channels, not 3");
	p = params(DDESND_PLAYBACK, S16_LE, 1, 9000, 256, 1024);
	assert_int_equal(ddesnd_open(s, "snd0.0", &p, &st), -EINVAL);
	assert_string_equal(ddesnd_strerror(-EINVAL), "snd0.0 playback takes 8000, 11025, "
			    "22050, 44100, 48000 Hz, not 9000 Hz");
	/* the library's own checks, before asking */
	p = params(DDESND_PLAYBACK, S16_LE, 1, RATE, 256, 1000);
	assert_int_equal(ddesnd_open(s, "snd0.0", &p, &st), -EINVAL);
	/* the driver says no: its words, and the PCM is free again */
	fx->dev.refuse_open = -ENOSPC;
	p = params(DDESND_PLAYBACK, S16_LE, 1, RATE, 256, 1024);
	assert_int_equal(ddesnd_open(s, "snd0.0", &p, &st), -ENOSPC);
	assert_string_equal(ddesnd_strerror(-ENOSPC), "the test device refuses");
	fx->dev.refuse_open = 0;
	st = open_simple(s, DDESND_PLAYBACK);
	ddesnd_close(st);
	ddesnd_disconnect(s);
	fx->passed = 1;
}

static void test_requests(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_stream *st;
	struct ddesnd *s;
	uint64_t hw;

	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	st = open_simple(s, DDESND_PLAYBACK);
	assert_int_equal(ddesnd_write(st, "\0\0", 1, 0), -EBADFD);	/* not prepared */
	assert_int_equal(ddesnd_prepare(st), 0);
	assert_int_equal(ddesnd_status(st, &hw, NULL, NULL), DDESND_STATE_PREPARED);
	assert_int_equal(ddesnd_start(st), 0);
	assert_int_equal(ddesnd_status(st, NULL, NULL, NULL), DDESND_STATE_RUNNING);
	assert_int_equal(ddesnd_pause(st, 1), 0);
	assert_int_equal(ddesnd_status(st, NULL, NULL, NULL), DDESND_STATE_PAUSED);
	assert_int_equal(ddesnd_pause(st, 0), 0);
	assert_int_equal(ddesnd_drop(st), 0);
	assert_int_equal(ddesnd_status(st, NULL, NULL, NULL), DDESND_STATE_OPEN);
	assert_int_equal(atomic_load(&fx->dev.requests), 5);
	fx->dev.fail_type = DDESND_START;
	assert_int_equal(ddesnd_prepare(st), 0);
	assert_int_equal(ddesnd_start(st), -EINVAL);
	assert_string_equal(ddesnd_strerror(-EINVAL), "the test device says no");
	ddesnd_close(st);
	assert_int_equal(atomic_load(&fx->dev.closes), 1);
	assert_int_not_equal(atomic_load(&fx->dev.last_close_seq), 0);
	ddesnd_disconnect(s);
	fx->passed = 1;
}

static void test_playback(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_stream *st;
	uint8_t buf[3000 * 2];
	struct ddesnd *s;
	long long t0;
	uint64_t hw;
	size_t at;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	st = open_simple(s, DDESND_PLAYBACK);
	assert_int_equal(ddesnd_prepare(st), 0);
	assert_int_equal(ddesnd_avail(st), 1024);
	/* a buffer's worth before starting, then no room */
	assert_int_equal(ddesnd_write(st, buf, 3000, 0), 1024);
	assert_int_equal(ddesnd_write(st, buf, 3000, 0), -EAGAIN);
	assert_int_equal(ddesnd_avail(st), 0);
	assert_int_equal(ddesnd_start(st), 0);
	t0 = mono_ms();
	for (at = 1024; at < 3000;) {
		long n = ddesnd_write(st, buf + at * 2, 3000 - at, -1);

		assert_true(n > 0);
		at += (size_t)n;
	}
	assert_int_equal(ddesnd_drain(st), 0);
	/* 3000 frames at 8 kHz: 375 ms, give or take the start */
	assert_true(mono_ms() - t0 >= 300);
	assert_int_equal(ddesnd_status(st, &hw, NULL, NULL), DDESND_STATE_OPEN);
	assert_int_equal(hw, 3000);
	/* drained: prepare before writing again */
	assert_int_equal(ddesnd_write(st, buf, 1, 0), -EBADFD);
	ddesnd_close(st);
	ddesnd_disconnect(s);
	dev_halt(&fx->dev);
	assert_int_equal(fx->dev.ngot, sizeof(buf));
	assert_memory_equal(fx->dev.got, buf, sizeof(buf));
	fx->passed = 1;
}

static void test_capture(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_stream *st;
	uint8_t buf[1600 * 2];
	struct ddesnd *s;
	size_t at = 0;

	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	st = open_simple(s, DDESND_CAPTURE);
	assert_int_equal(ddesnd_prepare(st), 0);
	assert_int_equal(ddesnd_read(st, buf, 1600, 0), -EAGAIN);
	assert_int_equal(ddesnd_start(st), 0);
	while (at < 1600) {
		long n = ddesnd_read(st, buf + at * 2, 1600 - at, 2000);

		assert_true(n > 0);
		at += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != pattern(i))
			fail_msg("captured byte %zu is %u, not %u", i, buf[i], pattern(i));
	assert_int_equal(ddesnd_drop(st), 0);
	assert_int_equal(ddesnd_read(st, buf, 1, 0), -EBADFD);
	ddesnd_close(st);
	ddesnd_disconnect(s);
	fx->passed = 1;
}

static void test_xrun(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_stream *st;
	uint8_t buf[512] = { 0 };
	struct ddesnd *s;
	uint32_t xruns;

	fx->dev.xrun_on_underrun = 1;
	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	st = open_simple(s, DDESND_PLAYBACK);
	assert_int_equal(ddesnd_prepare(st), 0);
	assert_int_equal(ddesnd_write(st, buf, 256, 0), 256);
	assert_int_equal(ddesnd_start(st), 0);
	/* 256 frames last 32 ms; then the device runs dry */
	for (long long end = mono_ms() + 2000; mono_ms() < end; sleep_ms(10))
		if (ddesnd_avail(st) == -EPIPE)
			break;
	assert_int_equal(ddesnd_write(st, buf, 256, 0), -EPIPE);
	assert_int_equal(ddesnd_avail(st), -EPIPE);
	assert_int_equal(ddesnd_status(st, NULL, NULL, &xruns), DDESND_STATE_XRUN);
	assert_int_equal(xruns, 1);
	assert_int_equal(ddesnd_prepare(st), 0);
	assert_int_equal(ddesnd_write(st, buf, 256, 0), 256);
	ddesnd_close(st);
	ddesnd_disconnect(s);
	fx->passed = 1;
}

static void test_broken_ring(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_stream *st;
	uint8_t buf[512] = { 0 };
	struct ddesnd *s;

	fx->dev.break_ring = 1;
	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	st = open_simple(s, DDESND_PLAYBACK);
	assert_int_equal(ddesnd_prepare(st), 0);
	assert_int_equal(ddesnd_write(st, buf, 256, 0), 256);
	assert_int_equal(ddesnd_start(st), 0);	/* hw = appl + 5000 */
	assert_int_equal(ddesnd_write(st, buf, 256, -1), -ENODEV);
	assert_non_null(strstr(ddesnd_strerror(-ENODEV), "broke the stream's ring"));
	assert_int_equal(ddesnd_start(st), -ENODEV);
	ddesnd_close(st);
	ddesnd_disconnect(s);
	fx->passed = 1;
}

/* The test device's connection ends 200 ms from now. */
static void *shut_later(void *arg)
{
	struct dev *d = arg;

	sleep_ms(200);
	shutdown(d->sock, SHUT_RDWR);
	return NULL;
}

static void test_driver_gone(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_stream *st;
	uint8_t buf[2048] = { 0 };
	struct ddesnd_pcm_info all[4];
	struct ddesnd *s;
	long long t0;
	char unit[16];

	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	st = open_simple(s, DDESND_PLAYBACK);
	assert_int_equal(ddesnd_prepare(st), 0);
	assert_int_equal(ddesnd_write(st, buf, 1024, 0), 1024);
	/* the driver goes while the client waits for room (never started: no room comes) */
	shutdown(fx->dev.sock, SHUT_RDWR);
	t0 = mono_ms();
	assert_int_equal(ddesnd_write(st, buf, 1024, -1), -ENODEV);
	assert_true(mono_ms() - t0 < 1000);
	assert_string_equal(ddesnd_strerror(-ENODEV), "the driver of snd0 (testdev@00:03.0) is gone");
	assert_int_equal(ddesnd_start(st), -ENODEV);
	assert_int_equal(ddesnd_avail(st), -ENODEV);
	ddesnd_close(st);
	assert_int_equal(ddesnd_list(s, all, 4), 0);
	/* a new driver takes the card's place */
	dev_stop(&fx->dev);
	struct ddesnd_pcm_info one = pcm_info(0, DDESND_PLAYBACK);

	dev_attach_on(fx, seqpacket_connect(fx->socket), &one, 1, unit);
	assert_string_equal(unit, "snd0");
	wait_listed(fx, 1);
	st = open_simple(s, DDESND_PLAYBACK);
	ddesnd_close(st);
	ddesnd_disconnect(s);
	fx->passed = 1;
}

static void test_mixer(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_ctl c, all[4];
	struct ddesnd *s;
	char name[64];
	int n = 0;

	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	while (n < 4 && ddesnd_ctl_info(s, NULL, (unsigned)n, &all[n]) == 0)
		n++;
	assert_int_equal(n, 3);
	assert_string_equal(ddesnd_strerror(-ENOENT), "the test mixer says no");
	assert_string_equal(all[0].name, "Master Playback Volume");
	assert_int_equal(all[0].count, 2);
	assert_int_equal(all[0].max, 31);
	assert_int_equal(all[1].type, DDESND_CTL_BOOLEAN);
	assert_int_equal(all[2].items, 3);
	assert_int_equal(ddesnd_ctl_item(s, "snd0", 7, 2, name, sizeof(name)), 0);
	assert_string_equal(name, "CD");
	assert_int_equal(ddesnd_ctl_item(s, "snd0", 7, 3, name, sizeof(name)), -EINVAL);
	/* a write: changed once, then the same value changes nothing; read back */
	c = all[0];
	c.value.integer[0] = 10;
	c.value.integer[1] = 20;
	assert_int_equal(ddesnd_ctl_write(s, "snd0", &c), 1);
	assert_int_equal(ddesnd_ctl_write(s, "snd0", &c), 0);
	memset(&c.value, 0, sizeof(c.value));
	assert_int_equal(ddesnd_ctl_read(s, "", &c), 0);
	assert_int_equal(c.value.integer[0], 10);
	assert_int_equal(c.value.integer[1], 20);
	c.value.integer[0] = 32;
	assert_int_equal(ddesnd_ctl_write(s, NULL, &c), -EINVAL);
	assert_string_equal(ddesnd_strerror(-EINVAL), "the test mixer says no");
	/* no such card */
	assert_int_equal(ddesnd_ctl_read(s, "snd7", &c), -ENOENT);
	assert_string_equal(ddesnd_strerror(-ENOENT), "no sound card snd7");
	/* a driver that dies with a request of ours unanswered: the error, at once */
	fx->dev.ctl_silent = 1;
	pthread_t t;
	long long t0 = mono_ms();

	assert_int_equal(pthread_create(&t, NULL, shut_later, &fx->dev), 0);
	assert_int_equal(ddesnd_ctl_read(s, NULL, &c), -ENODEV);
	pthread_join(t, NULL);
	assert_true(mono_ms() - t0 < 2000);
	assert_string_equal(ddesnd_strerror(-ENODEV), "the driver of snd0 (testdev@00:03.0) is gone");
	assert_int_equal(ddesnd_ctl_read(s, NULL, &c), -ENOENT);
	ddesnd_disconnect(s);
	fx->passed = 1;
}

static void test_client_gone(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_stream *st;
	struct ddesnd_pcm_info all[4];
	struct ddesnd *s;
	long long end;

	dev_attach(fx);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	st = open_simple(s, DDESND_PLAYBACK);
	assert_int_equal(ddesnd_prepare(st), 0);
	assert_int_equal(ddesnd_start(st), 0);
	/* as if it died: the connection ends, nobody closed the stream */
	ddesnd_disconnect(s);
	for (end = mono_ms() + 1000; mono_ms() < end && !atomic_load(&fx->dev.closes);)
		sleep_ms(5);
	assert_int_equal(atomic_load(&fx->dev.closes), 1);
	assert_int_equal(atomic_load(&fx->dev.last_close_seq), 0);	/* sndd's own */
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	assert_int_equal(ddesnd_list(s, all, 4), 2);
	assert_int_equal(all[0].busy, 0);
	st = open_simple(s, DDESND_PLAYBACK);
	ddesnd_close(st);
	ddesnd_disconnect(s);
	fx->passed = 1;
}

/* A raw connection that says @len bytes of @m (with @fd if >= 0): dropped by sndd? */
static int dropped_after(struct fx *fx, const void *m, size_t len, int fd, int hello_first)
{
	struct ddesnd_msg r;
	int sock = seqpacket_connect(fx->socket), fds[3], nfds;
	long n;

	assert_true(sock >= 0);
	if (hello_first) {
		msg_init(&r, DDESND_HELLO);
		r.value = DDESND_ROLE_CLIENT;
		assert_int_equal(seqpacket_send(sock, &r, sizeof(r), NULL, 0), 0);
		assert_int_equal(recv_within(sock, &r, fds, &nfds, 2000), sizeof(r));
		assert_int_equal(r.type, DDESND_WELCOME);
	}
	assert_int_equal(seqpacket_send(sock, m, len, fd >= 0 ? &fd : NULL, fd >= 0), 0);
	do
		n = recv_within(sock, &r, fds, &nfds, 2000);
	while (n > 0);	/* an answer: not dropped yet */
	close(sock);
	return n == 0;
}

static void test_malformed(void **state)
{
	struct fx *fx = *state;
	char big[sizeof(struct ddesnd_msg) + 16] = { 0 };
	struct ddesnd_stream *st;
	struct ddesnd_msg m, r;
	struct ddesnd *s;
	int sock, fds[3], nfds;

	dev_attach(fx);
	msg_init(&m, DDESND_HELLO);
	m.value = DDESND_ROLE_CLIENT;
	assert_true(dropped_after(fx, &m, 10, -1, 0));		/* short */
	m.magic = 0x12345678;
	assert_true(dropped_after(fx, &m, sizeof(m), -1, 0));	/* not ours */
	memcpy(big, &m, sizeof(m));
	((struct ddesnd_msg *)big)->magic = DDESND_MAGIC;
	assert_true(dropped_after(fx, big, sizeof(big), -1, 0));	/* too long */
	msg_init(&m, 99);
	assert_true(dropped_after(fx, &m, sizeof(m), -1, 1));	/* no such type */
	msg_init(&m, DDESND_LIST);
	assert_true(dropped_after(fx, &m, sizeof(m), 0, 1));	/* a descriptor with it */
	msg_init(&m, DDESND_PCM);
	assert_true(dropped_after(fx, &m, sizeof(m), -1, 1));	/* a client's PCM */
	/* a request for a stream that is not ours: answered, not dropped */
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	st = open_simple(s, DDESND_PLAYBACK);
	sock = seqpacket_connect(fx->socket);
	msg_init(&m, DDESND_HELLO);
	m.value = DDESND_ROLE_CLIENT;
	assert_int_equal(seqpacket_send(sock, &m, sizeof(m), NULL, 0), 0);
	assert_int_equal(recv_within(sock, &r, fds, &nfds, 2000), sizeof(r));
	msg_init(&m, DDESND_DROP);
	m.stream = 1;
	m.seq = 7;
	assert_int_equal(seqpacket_send(sock, &m, sizeof(m), NULL, 0), 0);
	assert_int_equal(recv_within(sock, &r, fds, &nfds, 2000), sizeof(r));
	assert_int_equal(r.type, DDESND_REPLY);
	assert_int_equal(r.seq, 7);
	assert_int_equal(r.value, -EBADF);
	assert_int_equal(atomic_load(&fx->dev.requests), 0);
	close(sock);
	/* a client that never reads its answers is dropped, not waited for */
	sock = seqpacket_connect(fx->socket);
	msg_init(&m, DDESND_HELLO);
	m.value = DDESND_ROLE_CLIENT;
	assert_int_equal(seqpacket_send(sock, &m, sizeof(m), NULL, 0), 0);
	msg_init(&m, DDESND_LIST);
	m.seq = 1;
	int i;

	for (i = 0; i < 100000; i++)
		if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m))
			break;
	assert_true(i < 100000);
	close(sock);
	/* a driver whose description makes no sense is dropped, and not listed */
	struct ddesnd_pcm_info bad = pcm_info(1, DDESND_PLAYBACK);

	bad.channels_min = 0;
	sock = seqpacket_connect(fx->socket);
	msg_init(&m, DDESND_HELLO);
	m.value = DDESND_ROLE_DRIVER;
	assert_int_equal(seqpacket_send(sock, &m, sizeof(m), NULL, 0), 0);
	assert_int_equal(recv_within(sock, &r, fds, &nfds, 2000), sizeof(r));
	assert_int_equal(r.value, 0);
	msg_init(&m, DDESND_PCM);
	m.pcm = bad;
	assert_int_equal(seqpacket_send(sock, &m, sizeof(m), NULL, 0), 0);
	assert_int_equal(recv_within(sock, &r, fds, &nfds, 2000), 0);
	close(sock);
	/* all the while, the stream and the listing went on */
	wait_listed(fx, 2);
	assert_int_equal(ddesnd_prepare(st), 0);
	ddesnd_close(st);
	ddesnd_disconnect(s);
	fx->passed = 1;
}

/* As under `dde run`: drivers only on connections handed over on the control channel */
static void test_control_channel(void **state)
{
	struct fx *fx = *state;
	struct ddesnd_pcm_info one = pcm_info(0, DDESND_PLAYBACK), all[2];
	struct ddesnd_msg m, r;
	struct ddesnd *s;
	int sp[2], sock, fds[3], nfds;
	char unit[16];

	sock = seqpacket_connect(fx->socket);
	msg_init(&m, DDESND_HELLO);
	m.value = DDESND_ROLE_DRIVER;
	snprintf(m.name, sizeof(m.name), "intruder");
	assert_int_equal(seqpacket_send(sock, &m, sizeof(m), NULL, 0), 0);
	assert_int_equal(recv_within(sock, &r, fds, &nfds, 2000), sizeof(r));
	assert_int_equal(r.type, DDESND_WELCOME);
	assert_int_equal(r.value, -EACCES);
	assert_non_null(strstr(r.error, "drivers attach only on the connection"));
	close(sock);
	/* what attach_sound does */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	msg_init(&m, DDESND_CHANNEL);
	m.value = DDESND_ROLE_DRIVER;
	snprintf(m.name, sizeof(m.name), "snd3");
	assert_int_equal(seqpacket_send(fx->control, &m, sizeof(m), &sp[0], 1), 0);
	close(sp[0]);
	dev_attach_on(fx, sp[1], &one, 1, unit);
	assert_string_equal(unit, "snd3");
	wait_listed(fx, 1);
	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	assert_int_equal(ddesnd_list(s, all, 2), 1);
	assert_string_equal(all[0].name, "snd3.0");
	ddesnd_disconnect(s);
	fx->passed = 1;
}

/* ---- ALSA programs through the plugin ---- */

/* aplay and the plugin's configuration are there, or the test is skipped */
static int have_alsa(char *conf, size_t cap)
{
	build_path("share/alsa/dde.conf", conf, cap);
	return !access("/usr/bin/aplay", X_OK) && !access("/usr/bin/arecord", X_OK) &&
	       !access(conf, R_OK) && !access("/usr/share/alsa/alsa.conf", R_OK);
}

/* @argv with the plugin's environment, stderr into @errlog; in fx->bg until finished */
static pid_t spawn(struct fx *fx, char *const argv[], const char *errlog)
{
	char conf[PATH_MAX], path[PATH_MAX + 32];
	pid_t parent = getpid(), pid;
	int slot = 0;

	have_alsa(conf, sizeof(conf));
	snprintf(path, sizeof(path), "/usr/share/alsa/alsa.conf:%s", conf);
	while (slot < MAX_BG && fx->bg[slot])
		slot++;
	assert_true(slot < MAX_BG);
	pid = fork();
	if (pid == 0) {
		int err = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || err < 0 || null < 0 || dup2(err, 2) != 2 ||
		    dup2(null, 1) != 1 || dup2(null, 0) != 0)
			_exit(126);
		setenv("DDE_SND", fx->socket, 1);
		setenv("ALSA_CONFIG_PATH", path, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	assert_true(pid > 0);
	fx->bg[slot] = pid;
	return pid;
}

/* Its exit status, or -1 when it was still running after @ms (then killed) */
static int finish(struct fx *fx, pid_t pid, int ms)
{
	int status = 0, r = -1;

	for (long long end = mono_ms() + ms; mono_ms() < end; sleep_ms(10))
		if (waitpid(pid, &status, WNOHANG) == pid) {
			r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	for (int i = 0; i < MAX_BG; i++)
		if (fx->bg[i] == pid)
			fx->bg[i] = 0;
	return r;
}

static int run(struct fx *fx, char *const argv[], const char *errlog, int ms)
{
	return finish(fx, spawn(fx, argv, errlog), ms);
}

/* The file's text (at most @cap - 1 bytes), for messages */
static const char *text_of(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, cap - 1) : -1;

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	return buf;
}

/* A WAV file of @frames S16_LE frames of @ch channels at @rate Hz: the pattern. */
static void write_wav_as(const char *path, uint32_t frames, uint32_t rate, uint16_t ch)
{
	uint32_t bytes = frames * 2 * ch;
	uint8_t h[44] = "RIFF....WAVEfmt ";
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	uint32_t riff = 36 + bytes, fmt = 16, brate = rate * 2 * ch;
	uint16_t pcm = 1, align = (uint16_t)(2 * ch), bits = 16;

	memcpy(h + 4, &riff, 4);
	memcpy(h + 16, &fmt, 4);
	memcpy(h + 20, &pcm, 2);
	memcpy(h + 22, &ch, 2);
	memcpy(h + 24, &rate, 4);
	memcpy(h + 28, &brate, 4);
	memcpy(h + 32, &align, 2);
	memcpy(h + 34, &bits, 2);
	memcpy(h + 36, "data", 4);
	memcpy(h + 40, &bytes, 4);
	fwrite(h, 1, sizeof(h), f);
	for (uint32_t i = 0; i < bytes; i++)
		fputc(pattern(i), f);
	fclose(f);
}

static void write_wav(const char *path, uint32_t frames)
{
	write_wav_as(path, frames, RATE, 1);
}

/* What the device played holds the file's samples from @at on (then silence). */
static size_t played_at(struct dev *d, size_t at, uint32_t bytes)
{
	assert_true(d->ngot >= at + bytes);
	for (uint32_t i = 0; i < bytes; i++)
		if (d->got[at + i] != pattern(i))
			fail_msg("played byte %u is %u, not %u", i, d->got[at + i], pattern(i));
	return at + bytes;
}

static void test_aplay(void **state)
{
	struct fx *fx = *state;
	char conf[PATH_MAX], msg[512];
	struct files f;
	size_t at;

	if (!have_alsa(conf, sizeof(conf)))
		skip();
	dev_attach(fx);
	files_make(&f, 4000);
	char *rw[] = { "/usr/bin/aplay", "-q", "-D", "dde", f.wav, NULL };
	char *mm[] = { "/usr/bin/aplay", "-q", "-M", "-D", "dde:snd0.0", f.wav, NULL };

	if (run(fx, rw, f.err, 10000))
		fail_msg("aplay -D dde failed: %s", text_of(f.err, msg, sizeof(msg)));
	if (run(fx, mm, f.err, 10000))
		fail_msg("aplay -M -D dde:snd0.0 failed: %s", text_of(f.err, msg, sizeof(msg)));
	dev_halt(&fx->dev);
	/* each played in full, then at most silence up to its last period */
	at = played_at(&fx->dev, 0, 8000);
	while (at < fx->dev.ngot && fx->dev.got[at] == 0 && fx->dev.got[at + 1] == 0 &&
	       !(fx->dev.got[at] == pattern(0) && fx->dev.got[at + 1] == pattern(1)))
		at += 2;
	at = played_at(&fx->dev, at, 8000);
	for (; at < fx->dev.ngot; at++)
		assert_int_equal(fx->dev.got[at], 0);
	assert_int_equal(atomic_load(&fx->dev.opens), 2);
	assert_int_equal(atomic_load(&fx->dev.closes), 2);
	files_remove(&f);
	fx->passed = 1;
}

/* aplay's 500 ms at 44.1 kHz in 4 periods: alsa-lib's buffer is no whole number of them */
static void test_aplay_uneven_periods(void **state)
{
	struct fx *fx = *state;
	char conf[PATH_MAX], msg[512];
	struct files f;

	if (!have_alsa(conf, sizeof(conf)))
		skip();
	dev_attach(fx);
	files_make(&f, 0);
	write_wav_as(f.wav, 11025, 44100, 2);
	char *rw[] = { "/usr/bin/aplay", "-q", "-D", "dde", f.wav, NULL };

	if (run(fx, rw, f.err, 10000))
		fail_msg("aplay -D dde failed: %s", text_of(f.err, msg, sizeof(msg)));
	dev_halt(&fx->dev);
	played_at(&fx->dev, 0, 11025 * 4);
	files_remove(&f);
	fx->passed = 1;
}

static void wait_busy(struct fx *fx)
{
	struct ddesnd_pcm_info all[4];
	struct ddesnd *s;

	assert_int_equal(ddesnd_connect(fx->socket, &s), 0);
	for (long long end = mono_ms() + 5000; mono_ms() < end; sleep_ms(10))
		if (ddesnd_list(s, all, 4) == 2 && all[0].busy &&
		    atomic_load(&fx->dev.state[DDESND_PLAYBACK]) == DDESND_STATE_RUNNING)
			break;
	ddesnd_disconnect(s);
	assert_int_equal(atomic_load(&fx->dev.state[DDESND_PLAYBACK]), DDESND_STATE_RUNNING);
}

static void test_aplay_busy_and_killed(void **state)
{
	struct fx *fx = *state;
	char conf[PATH_MAX], msg[512];
	struct files f;
	pid_t first;

	if (!have_alsa(conf, sizeof(conf)))
		skip();
	dev_attach(fx);
	files_make(&f, 4 * RATE);
	char *play[] = { "/usr/bin/aplay", "-q", "-D", "dde", f.wav, NULL };

	first = spawn(fx, play, f.err);
	wait_busy(fx);
	assert_int_not_equal(run(fx, play, f.err2, 5000), 0);
	text_of(f.err2, msg, sizeof(msg));
	assert_non_null(strstr(msg, "Device or resource busy"));
	assert_non_null(strstr(msg, "snd0.0 playback is in use by aplay (pid"));
	/* the one playing dies: its stream is closed at the driver */
	kill(first, SIGKILL);
	finish(fx, first, 2000);
	for (long long end = mono_ms() + 1000; mono_ms() < end && !atomic_load(&fx->dev.closes);)
		sleep_ms(5);
	assert_int_equal(atomic_load(&fx->dev.closes), 1);
	assert_int_equal(atomic_load(&fx->dev.last_close_seq), 0);
	files_remove(&f);
	fx->passed = 1;
}

static void test_aplay_driver_gone(void **state)
{
	struct fx *fx = *state;
	char conf[PATH_MAX], msg[512];
	struct files f;
	long long t0;
	pid_t pid;
	int r;

	if (!have_alsa(conf, sizeof(conf)))
		skip();
	dev_attach(fx);
	files_make(&f, 4 * RATE);
	char *play[] = { "/usr/bin/aplay", "-q", "-D", "dde", f.wav, NULL };

	pid = spawn(fx, play, f.err);
	wait_busy(fx);
	shutdown(fx->dev.sock, SHUT_RDWR);
	t0 = mono_ms();
	r = finish(fx, pid, 3000);
	text_of(f.err, msg, sizeof(msg));
	if (r <= 0)
		fail_msg("aplay went on (%d) when the driver went: %s", r, msg);
	assert_true(mono_ms() - t0 < 2000);
	assert_non_null(strstr(msg, "the driver of snd0 (testdev@00:03.0) is gone"));
	assert_non_null(strstr(msg, "No such device"));
	files_remove(&f);
	fx->passed = 1;
}

static void test_arecord(void **state)
{
	struct fx *fx = *state;
	char conf[PATH_MAX], msg[512];
	uint8_t buf[8000];
	struct files f;
	int fd;

	if (!have_alsa(conf, sizeof(conf)))
		skip();
	dev_attach(fx);
	files_make(&f, 0);
	char *rec[] = { "/usr/bin/arecord", "-q", "-D", "dde", "-f", "S16_LE", "-r", "8000",
			"-c", "1", "-t", "raw", "-s", "4000", f.out, NULL };

	if (run(fx, rec, f.err, 10000))
		fail_msg("arecord -D dde failed: %s", text_of(f.err, msg, sizeof(msg)));
	fd = open(f.out, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != pattern(i))
			fail_msg("recorded byte %zu is %u, not %u", i, buf[i], pattern(i));
	files_remove(&f);
	fx->passed = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_playback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_channel, setup_control, teardown),
		cmocka_unit_test_setup_teardown(test_aplay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aplay_uneven_periods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aplay_busy_and_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aplay_driver_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arecord, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
