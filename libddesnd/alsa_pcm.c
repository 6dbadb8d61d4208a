/*
 * The ALSA plugin: alsa-lib's external I/O PCM ("ioplug") on libddesnd,
 * so that any ALSA program plays and records through the sound server:
 *
 *   aplay -D dde FILE.wav             the first PCM of that direction
 *   aplay -D dde:snd0.0 FILE.wav      a PCM by sndd's name
 *   aplay -D dde:snd0.0,@dde-snd-1 .. and a server other than $DDE_SND
 *
 * (pcm.dde and pcm_type.dde are in the configuration the build makes,
 * build/share/alsa/dde.conf, or /etc/alsa/conf.d/60-dde.conf installed.)
 *
 * alsa-lib keeps the application's position and asks us for the
 * hardware's: the ring's positions count frames since PREPARE and never
 * wrap, so we give them modulo alsa-lib's boundary (BOUNDARY_WA) and a
 * whole buffer played between two looks is not lost. Samples go straight
 * into the ring (transfer, never waiting); alsa-lib waits by polling the
 * stream's doorbell and sndd's socket. Our doorbell is rung when the
 * driver moves, not while there is room; so that poll says "ready" as
 * long as there is (as a kernel PCM's does), we ring it ourselves while
 * it is ready. A driver that dies makes the PCM DISCONNECTED: every call
 * then fails with -ENODEV instead of waiting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>

#include <ddesnd/ddesnd.h>
#include "alsa_args.h"
#include "../common/bell.h"

#define MAX_PCMS 64

struct dde_pcm {
	snd_pcm_ioplug_t io;
	struct ddesnd *s;
	struct ddesnd_stream *st;
	struct ddesnd_pcm_info info;	/* the PCM, as sndd listed it */
	snd_pcm_uframes_t boundary, avail_min;
	uint64_t hw;			/* the driver's position when we last looked */
	int gone;
};

static const char *direction(snd_pcm_stream_t stream)
{
	return stream == SND_PCM_STREAM_CAPTURE ? "capture" : "playback";
}

/* The stream is dead: say why once, and fail everything from now on. */
static int gone(struct dde_pcm *p, int err)
{
	if (!p->gone)
		SNDERR("dde: %s", ddesnd_strerror(err));
	p->gone = 1;
	snd_pcm_ioplug_set_state(&p->io, SND_PCM_STATE_DISCONNECTED);
	return -ENODEV;
}

/* A call's result: -ENODEV makes the PCM disconnected; other errors are said. */
static int result(struct dde_pcm *p, int r)
{
	if (r == -ENODEV)
		return gone(p, r);
	if (r < 0 && r != -EPIPE)
		SNDERR("dde: %s", ddesnd_strerror(r));
	return r;
}

static int dde_start(snd_pcm_ioplug_t *io)
{
	struct dde_pcm *p = io->private_data;

	return p->st ? result(p, ddesnd_start(p->st)) : -EBADFD;
}

static int dde_stop(snd_pcm_ioplug_t *io)
{
	struct dde_pcm *p = io->private_data;

	return p->st && !p->gone ? result(p, ddesnd_drop(p->st)) : 0;
}

static snd_pcm_sframes_t dde_pointer(snd_pcm_ioplug_t *io)
{
	struct dde_pcm *p = io->private_data;
	int state;

	if (!p->st)
		return 0;
	if (!p->gone) {
		state = ddesnd_status(p->st, &p->hw, NULL, NULL);
		if (state == DDESND_STATE_XRUN)
			return -EPIPE;
		if (state < 0 || state == DDESND_STATE_ERROR)
			gone(p, state < 0 ? state : -EIO);
		/* the ring may hold more than alsa-lib's buffer: beyond it, an overrun */
		if (!p->gone && io->stream == SND_PCM_STREAM_CAPTURE &&
		    ddesnd_avail(p->st) > (long)io->buffer_size)
			return -EPIPE;
	}
	/* gone: standing still (a negative answer would read as an xrun) */
	return (snd_pcm_sframes_t)(p->hw % p->boundary);
}

static snd_pcm_sframes_t dde_transfer(snd_pcm_ioplug_t *io, const snd_pcm_channel_area_t *areas,
				      snd_pcm_uframes_t offset, snd_pcm_uframes_t size)
{
	struct dde_pcm *p = io->private_data;
	/* interleaved: channel 0's area is the frames */
	char *buf = (char *)areas[0].addr + (areas[0].first + offset * areas[0].step) / 8;
	long n;

	if (!p->st)
		return -EBADFD;
	if (p->gone)
		return -ENODEV;
	if (io->stream == SND_PCM_STREAM_PLAYBACK)
		n = ddesnd_write(p->st, buf, size, 0);
	else
		n = ddesnd_read(p->st, buf, size, 0);
	if (n == -EAGAIN)
		return 0;
	if (n == -EIO)		/* the driver failed the stream */
		return gone(p, -EIO);
	return n < 0 ? result(p, (int)n) : n;
}

static int dde_close(snd_pcm_ioplug_t *io)
{
	struct dde_pcm *p = io->private_data;

	ddesnd_close(p->st);
	ddesnd_disconnect(p->s);
	free(p);
	return 0;
}

static int dde_hw_free(snd_pcm_ioplug_t *io)
{
	struct dde_pcm *p = io->private_data;

	ddesnd_close(p->st);
	p->st = NULL;
	return 0;
}

/* alsa-lib's own rule, until sw_params tells us its boundary */
static snd_pcm_uframes_t boundary_of(snd_pcm_uframes_t buffer)
{
	snd_pcm_uframes_t b = buffer;

	while (b * 2 <= LONG_MAX - buffer)
		b *= 2;
	return b;
}

/*
 * alsa-lib's sizes are its own: its buffer need not be a whole number of
 * periods (aplay's 500 ms at 44.1 kHz in 4 periods: 22050 frames, periods
 * of 5512.5), the ring's must. The ring then has the next whole number of
 * periods; alsa-lib never has more than its own buffer in it.
 */
static int ring_size(struct dde_pcm *p, struct ddesnd_params *want)
{
	const struct ddesnd_format *f = ddesnd_format(want->format);
	uint64_t periods, frames;

	if (!want->period_frames || !f)
		return -EINVAL;
	periods = (want->buffer_frames + (uint64_t)want->period_frames - 1) / want->period_frames;
	frames = periods * want->period_frames;
	if (frames * want->channels * f->bytes > DDESND_BUFFER_MAX) {
		SNDERR("dde: %s: a buffer of %u frames is not a whole number of periods of %u, "
		       "and the next one is too long for the ring", p->info.name,
		       want->buffer_frames, want->period_frames);
		return -EINVAL;
	}
	want->buffer_frames = (uint32_t)frames;
	return 0;
}

static int dde_hw_params(snd_pcm_ioplug_t *io, snd_pcm_hw_params_t *params)
{
	struct dde_pcm *p = io->private_data;
	struct ddesnd_params want = {
		.stream = io->stream == SND_PCM_STREAM_CAPTURE ? DDESND_CAPTURE : DDESND_PLAYBACK,
		.format = (uint32_t)io->format, .channels = io->channels, .rate = io->rate,
		.period_frames = (uint32_t)io->period_size, .buffer_frames = (uint32_t)io->buffer_size,
	};
	const struct ddesnd_params *got;
	int r;

	dde_hw_free(io);
	if (p->gone)
		return -ENODEV;
	r = ring_size(p, &want);
	if (!r)
		r = ddesnd_open(p->s, p->info.name, &want, &p->st);
	if (r)
		return result(p, r);
	got = ddesnd_params(p->st);
	if (got->period_frames != want.period_frames || got->buffer_frames != want.buffer_frames) {
		SNDERR("dde: %s set up periods of %u frames in a buffer of %u, not %u in %u",
		       p->info.name, got->period_frames, got->buffer_frames, want.period_frames,
		       want.buffer_frames);
		dde_hw_free(io);
		return -EINVAL;
	}
	p->boundary = boundary_of(io->buffer_size);
	p->avail_min = io->period_size;
	p->hw = 0;
	return 0;
}

static int dde_sw_params(snd_pcm_ioplug_t *io, snd_pcm_sw_params_t *params)
{
	struct dde_pcm *p = io->private_data;
	snd_pcm_uframes_t v;

	if (!snd_pcm_sw_params_get_boundary(params, &v) && v)
		p->boundary = v;
	if (!snd_pcm_sw_params_get_avail_min(params, &v))
		p->avail_min = v ? v : 1;
	return 0;
}

/* Our doorbell, rung by ourselves: poll says ready while we are. */
static void keep_ready(struct dde_pcm *p)
{
	int fds[2];

	ddesnd_poll_fds(p->st, fds);
	bell_ring(fds[0]);
}

static int dde_prepare(snd_pcm_ioplug_t *io)
{
	struct dde_pcm *p = io->private_data;
	int r;

	if (!p->st)
		return -EBADFD;
	if (p->gone)
		return -ENODEV;
	r = result(p, ddesnd_prepare(p->st));
	p->hw = 0;
	if (!r && io->stream == SND_PCM_STREAM_PLAYBACK)
		keep_ready(p);	/* a whole buffer of room */
	return r;
}

static int dde_drain(snd_pcm_ioplug_t *io)
{
	struct dde_pcm *p = io->private_data;

	if (!p->st)
		return -EBADFD;
	return p->gone ? -ENODEV : result(p, ddesnd_drain(p->st));
}

static int dde_pause(snd_pcm_ioplug_t *io, int enable)
{
	struct dde_pcm *p = io->private_data;

	if (!p->st)
		return -EBADFD;
	return p->gone ? -ENODEV : result(p, ddesnd_pause(p->st, enable));
}

static int dde_poll_descriptors_count(snd_pcm_ioplug_t *io)
{
	struct dde_pcm *p = io->private_data;

	return p->st ? 2 : -EBADFD;
}

static int dde_poll_descriptors(snd_pcm_ioplug_t *io, struct pollfd *pfd, unsigned int space)
{
	struct dde_pcm *p = io->private_data;
	int fds[2];

	if (!p->st)
		return -EBADFD;
	if (space < 2)
		return -EINVAL;
	ddesnd_poll_fds(p->st, fds);
	for (int i = 0; i < 2; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	return 2;
}

static int dde_poll_revents(snd_pcm_ioplug_t *io, struct pollfd *pfd, unsigned int nfds,
			    unsigned short *revents)
{
	struct dde_pcm *p = io->private_data;
	unsigned short ready = io->stream == SND_PCM_STREAM_PLAYBACK ? POLLOUT : POLLIN;
	long n;

	*revents = 0;
	if (!p->st)
		return -EBADFD;
	if (p->gone || ddesnd_ack(p->st)) {
		gone(p, -ENODEV);
		*revents = POLLERR;
		return 0;
	}
	n = ddesnd_avail(p->st);
	/* room as alsa-lib counts it, in its buffer (the ring's may be longer) */
	if (n >= 0 && io->stream == SND_PCM_STREAM_PLAYBACK) {
		long extra = (long)(ddesnd_params(p->st)->buffer_frames - io->buffer_size);

		n = n > extra ? n - extra : 0;
	}
	if (n == -ENODEV || n == -EIO) {
		gone(p, (int)n);
		*revents = POLLERR;
	} else if (n == -EPIPE) {
		*revents = ready;	/* the next look at the position finds the xrun */
	} else if (n >= 0 && (snd_pcm_uframes_t)n >= p->avail_min) {
		*revents = ready;
		keep_ready(p);
	}
	return 0;
}

static int dde_delay(snd_pcm_ioplug_t *io, snd_pcm_sframes_t *delay)
{
	struct dde_pcm *p = io->private_data;
	int64_t d = 0;
	int state;

	*delay = 0;
	if (!p->st)
		return -EBADFD;
	if (p->gone)
		return -ENODEV;
	state = ddesnd_status(p->st, NULL, &d, NULL);
	if (state < 0 || state == DDESND_STATE_ERROR)
		return gone(p, state < 0 ? state : -EIO);
	if (state == DDESND_STATE_XRUN)
		return -EPIPE;
	*delay = (snd_pcm_sframes_t)d;
	return 0;
}

static const snd_pcm_ioplug_callback_t callbacks = {
	.start = dde_start,
	.stop = dde_stop,
	.pointer = dde_pointer,
	.transfer = dde_transfer,
	.close = dde_close,
	.hw_params = dde_hw_params,
	.hw_free = dde_hw_free,
	.sw_params = dde_sw_params,
	.prepare = dde_prepare,
	.drain = dde_drain,
	.pause = dde_pause,
	.poll_descriptors_count = dde_poll_descriptors_count,
	.poll_descriptors = dde_poll_descriptors,
	.poll_revents = dde_poll_revents,
	.delay = dde_delay,
};

/* The PCM @name (""; the first) of direction @stream, from sndd's listing. */
static int find(struct dde_pcm *p, const char *name, snd_pcm_stream_t stream)
{
	uint32_t dir = stream == SND_PCM_STREAM_CAPTURE ? DDESND_CAPTURE : DDESND_PLAYBACK;
	struct ddesnd_pcm_info *all = calloc(MAX_PCMS, sizeof(*all));
	int n = all ? ddesnd_list(p->s, all, MAX_PCMS) : -ENOMEM;
	char who[64];

	if (n < 0) {
		free(all);
		SNDERR("dde: %s", ddesnd_strerror(n));
		return n;
	}
	for (int i = 0; i < n && i < MAX_PCMS; i++)
		if (all[i].stream == dir && (!name[0] || !strcmp(all[i].name, name))) {
			p->info = all[i];
			free(all);
			if (!p->info.busy)
				return 0;
			ddesnd_holder(&p->info, who, sizeof(who));
			SNDERR("dde: %s %s is in use by %s", p->info.name, direction(stream), who);
			return -EBUSY;
		}
	free(all);
	if (name[0])
		SNDERR("dde: the sound server has no PCM %s for %s (`dde sound` lists them)", name,
		       direction(stream));
	else
		SNDERR("dde: the sound server has no PCM for %s", direction(stream));
	return -ENOENT;
}

static int set_list(struct dde_pcm *p, int type, unsigned n, const unsigned *v)
{
	return snd_pcm_ioplug_set_param_list(&p->io, type, n, v);
}

static int set_range(struct dde_pcm *p, int type, unsigned min, unsigned max)
{
	return snd_pcm_ioplug_set_param_minmax(&p->io, type, min, max < min ? min : max);
}

/* What the PCM takes, as alsa-lib's constraints. */
static int constrain(struct dde_pcm *p)
{
	static const unsigned access[] = { SND_PCM_ACCESS_RW_INTERLEAVED,
					   SND_PCM_ACCESS_MMAP_INTERLEAVED };
	const struct ddesnd_pcm_info *i = &p->info;
	unsigned formats[DDESND_MAX_FORMATS], nformats = 0;
	int r;

	for (unsigned k = 0; k < i->nformats && k < DDESND_MAX_FORMATS; k++)
		if (ddesnd_format(i->formats[k]))
			formats[nformats++] = i->formats[k];
	if (!nformats) {
		SNDERR("dde: %s offers no sample format the plugin knows", i->name);
		return -EINVAL;
	}
	/* mmap for playback only: alsa-lib reads capture ahead of the commit */
	r = set_list(p, SND_PCM_IOPLUG_HW_ACCESS, p->io.stream == SND_PCM_STREAM_PLAYBACK ? 2 : 1,
		     access);
	if (!r)
		r = set_list(p, SND_PCM_IOPLUG_HW_FORMAT, nformats, formats);
	if (!r)
		r = set_range(p, SND_PCM_IOPLUG_HW_CHANNELS, i->channels_min, i->channels_max);
	if (!r && i->nrates)
		r = set_list(p, SND_PCM_IOPLUG_HW_RATE,
			     i->nrates < DDESND_MAX_RATES ? i->nrates : DDESND_MAX_RATES, i->rates);
	else if (!r)
		r = set_range(p, SND_PCM_IOPLUG_HW_RATE, i->rate_min, i->rate_max);
	/*
	 * The ring is this plugin's buffer, not the device's: the driver runs
	 * the device with the client's period if it can, else with one near
	 * it, and moves frames between the two. So only the ring's own limits.
	 */
	if (!r)
		r = set_range(p, SND_PCM_IOPLUG_HW_PERIOD_BYTES, 64, DDESND_BUFFER_MAX / 2);
	if (!r)
		r = set_range(p, SND_PCM_IOPLUG_HW_PERIODS, 2, 1024);
	if (!r)
		r = set_range(p, SND_PCM_IOPLUG_HW_BUFFER_BYTES, 128, DDESND_BUFFER_MAX);
	return r;
}

static int dde_open(snd_pcm_t **pcmp, const char *name, const char *pcm, const char *server,
		    snd_pcm_stream_t stream, int mode)
{
	struct dde_pcm *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	r = ddesnd_connect(server && *server ? server : NULL, &p->s);
	if (r) {
		SNDERR("dde: %s", ddesnd_strerror(r));
		free(p);
		return r;
	}
	r = find(p, pcm, stream);
	if (r) {
		ddesnd_disconnect(p->s);
		free(p);
		return r;
	}
	p->boundary = LONG_MAX;
	p->avail_min = 1;
	p->io.version = SND_PCM_IOPLUG_VERSION;
	p->io.name = "dde: a PCM of the sound server";
	p->io.flags = SND_PCM_IOPLUG_FLAG_BOUNDARY_WA | SND_PCM_IOPLUG_FLAG_MONOTONIC;
	p->io.poll_fd = -1;
	p->io.callback = &callbacks;
	p->io.private_data = p;
	r = snd_pcm_ioplug_create(&p->io, name, stream, mode);
	if (r) {
		ddesnd_disconnect(p->s);
		free(p);
		return r;
	}
	r = constrain(p);
	if (r) {
		snd_pcm_ioplug_delete(&p->io);	/* closes: frees p */
		return r;
	}
	*pcmp = p->io.pcm;
	return 0;
}

SND_PCM_PLUGIN_DEFINE_FUNC(dde);

SND_PCM_PLUGIN_DEFINE_FUNC(dde)
{
	const char *pcm, *server;
	int r = ddesnd_alsa_args(conf, "pcm", &pcm, &server);

	if (r)
		return r;
	return dde_open(pcmp, name, pcm, server, stream, mode);
}

SND_PCM_PLUGIN_SYMBOL(dde);
