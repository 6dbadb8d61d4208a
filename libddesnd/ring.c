/*
 * libddesnd's data path: samples into (playback) or out of (capture) the
 * stream's shared ring, straight to and from the driver. We own `appl`
 * and keep our own copy of it; `hw` and `state` are the driver's, read
 * from the ring and checked on every use against our own geometry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "client.h"
#include "../common/bell.h"

/* The driver wrote positions that cannot be: the stream is as good as gone. */
static long broken(struct ddesnd_stream *st, uint64_t hw)
{
	st->broken = 1;
	return ddesnd_why(-ENODEV, "%s: the sound driver broke the stream's ring (hw %llu, "
			  "appl %llu, buffer %u frames)", st->name, (unsigned long long)hw,
			  (unsigned long long)st->appl, st->p.buffer_frames);
}

/*
 * Frames we may move now (room to write, or captured frames to read), or
 * -ENODEV, -EPIPE (xrun), -EIO (the driver failed the stream), -EBADFD
 * (not prepared). @hw_out: the driver's position.
 */
static long movable(struct ddesnd_stream *st, uint64_t *hw_out)
{
	uint64_t n = st->p.buffer_frames, hw;
	uint32_t state;

	ddesnd_control(st->s);
	if (st->gone || st->broken)
		return -ENODEV;
	/* the driver says its state, then its position: read in the other order,
	 * the state is at least as new as the position (an overrun's) */
	hw = atomic_load_explicit(&st->shm->hw, memory_order_acquire);
	state = atomic_load_explicit(&st->shm->state, memory_order_acquire);
	*hw_out = hw;
	if (state == DDESND_STATE_XRUN)
		return -EPIPE;
	if (state == DDESND_STATE_ERROR)
		return ddesnd_why(-EIO, "%s: the sound driver failed the stream", st->name);
	if (state > DDESND_STATE_ERROR)
		return broken(st, hw);
	if (!st->prepared)
		return -EBADFD;
	if (st->p.stream == DDESND_PLAYBACK) {
		if (hw > st->appl || st->appl - hw > n)
			return broken(st, hw);
		return (long)(n - (st->appl - hw));
	}
	if (hw < st->appl || hw - st->appl > n)
		return broken(st, hw);
	return (long)(hw - st->appl);
}

/* Sleep on our doorbell and the socket until one of them says something or @deadline. */
static void wait_event(struct ddesnd_stream *st, long long deadline)
{
	struct pollfd p[2] = { { st->my_bell, POLLIN, 0 }, { st->s->sock, POLLIN, 0 } };
	long long left = deadline < 0 ? -1 : deadline - ddesnd_now_ms();

	if (deadline >= 0 && left < 0)
		left = 0;
	poll(p, 2, (int)(left > 60000 ? 60000 : left));
	bell_clear(st->my_bell);
}

/* Copy @frames between @buf and the ring at our position, wrapping at its end. */
static void copy(struct ddesnd_stream *st, void *buf, unsigned long frames, int to_ring)
{
	size_t fb = st->p.frame_bytes;
	unsigned long at = (unsigned long)(st->appl % st->p.buffer_frames);
	unsigned long first = st->p.buffer_frames - at;
	uint8_t *b = buf;

	if (first > frames)
		first = frames;
	if (to_ring) {
		memcpy(st->data + at * fb, b, first * fb);
		memcpy(st->data, b + first * fb, (frames - first) * fb);
	} else {
		memcpy(b, st->data + at * fb, first * fb);
		memcpy(b + first * fb, st->data, (frames - first) * fb);
	}
}

static long transfer(struct ddesnd_stream *st, void *buf, unsigned long frames, int timeout_ms,
		     int to_ring)
{
	long long deadline = timeout_ms < 0 ? -1 : ddesnd_now_ms() + timeout_ms;

	if ((st->p.stream == DDESND_PLAYBACK) != to_ring)
		return -EINVAL;
	for (;;) {
		uint64_t hw;
		long n = movable(st, &hw);

		if (n < 0)
			return n;
		if (n > 0 && frames) {
			if ((unsigned long)n > frames)
				n = (long)frames;
			copy(st, buf, (unsigned long)n, to_ring);
			st->appl += (uint64_t)n;
			/* the samples are in place (or taken) before the position says so */
			atomic_store_explicit(&st->shm->appl, st->appl, memory_order_release);
			bell_ring(st->drv_bell);
			return n;
		}
		if (!frames)
			return 0;
		if (timeout_ms == 0 || (deadline >= 0 && ddesnd_now_ms() >= deadline))
			return -EAGAIN;
		wait_event(st, deadline);
	}
}

long ddesnd_write(struct ddesnd_stream *st, const void *buf, unsigned long frames, int timeout_ms)
{
	return transfer(st, (void *)buf, frames, timeout_ms, 1);
}

long ddesnd_read(struct ddesnd_stream *st, void *buf, unsigned long frames, int timeout_ms)
{
	return transfer(st, buf, frames, timeout_ms, 0);
}

long ddesnd_avail(struct ddesnd_stream *st)
{
	uint64_t hw;

	return movable(st, &hw);
}

int ddesnd_status(struct ddesnd_stream *st, uint64_t *hw, int64_t *delay, uint32_t *xruns)
{
	uint64_t pos;
	long n = movable(st, &pos);
	int64_t held;

	if (n == -ENODEV || n == -EIO)
		return n == -EIO ? DDESND_STATE_ERROR : -ENODEV;
	held = atomic_load_explicit(&st->shm->delay, memory_order_relaxed);
	if (held < 0 || held > (int64_t)1 << 32)
		held = 0;	/* the driver's estimate: nonsense counts for nothing */
	if (hw)
		*hw = pos;
	if (xruns)
		*xruns = atomic_load_explicit(&st->shm->xruns, memory_order_relaxed);
	if (delay) {
		/* in flight in the ring (checked above unless not prepared or xrun) */
		int64_t ring = 0;

		if (n >= 0)
			ring = st->p.stream == DDESND_PLAYBACK ? (int64_t)(st->appl - pos)
							       : (int64_t)(pos - st->appl);
		*delay = ring + held;
	}
	return (int)atomic_load_explicit(&st->shm->state, memory_order_acquire);
}

int ddesnd_poll_fds(const struct ddesnd_stream *st, int fds[2])
{
	fds[0] = st->my_bell;
	fds[1] = st->s->sock;
	return 2;
}

int ddesnd_ack(struct ddesnd_stream *st)
{
	bell_clear(st->my_bell);
	ddesnd_control(st->s);
	return st->gone ? -ENODEV : 0;
}
