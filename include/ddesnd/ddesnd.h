/*
 * libddesnd: the client API of the sound server (sndd).
 *
 * A program lists the PCMs sndd serves and opens one for playback or
 * capture; samples go through a shared-memory ring the driver process
 * reads (or fills) directly, control requests (prepare, start, pause,
 * drain ...) through sndd (docs/sound.md). The ALSA plugin (`aplay -D
 * dde`) is written on this API.
 *
 * Errors are negative errno values:
 *   -EBUSY     (open) another client has a stream on that PCM
 *   -ENOENT    (open) no such PCM; -ECONNREFUSED: no server
 *   -EINVAL    (open) the driver cannot set these parameters (text: ddesnd_strerror)
 *   -EPIPE     an underrun (playback) or overrun (capture) stopped the
 *              stream: ddesnd_prepare, then write and start again
 *   -ENODEV    the driver died or left, or sndd closed the connection:
 *              the stream is dead, close it
 *   -EAGAIN    nothing could be transferred within the timeout
 *   -EBADFD    (write, read, avail) the stream is not prepared (after open,
 *              drop or drain): ddesnd_prepare first
 *   -ETIMEDOUT the driver did not answer a control request in time
 *              (10 s; a drain: the buffer's length and 10 s more)
 *
 * A connection and its streams are used by one thread at a time.
 */
#ifndef DDESND_H
#define DDESND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../libddesnd/proto.h"

struct ddesnd;			/* a connection to sndd */
struct ddesnd_stream;		/* an open PCM stream */

/* Connect to the server at @server (a socket path, "@name"; NULL: $DDE_SND). */
int ddesnd_connect(const char *server, struct ddesnd **out);
void ddesnd_disconnect(struct ddesnd *s);

/* Up to @max PCMs into @out (both directions); how many sndd serves, or an error. */
int ddesnd_list(struct ddesnd *s, struct ddesnd_pcm_info *out, int max);

/*
 * Who has a stream on PCM @i open (its `busy`, the holder's pid): "aplay
 * (pid 1234)", "pid 1234" (gone meanwhile), "another program" (pid
 * unknown); "" if it is free.
 */
void ddesnd_holder(const struct ddesnd_pcm_info *i, char *out, size_t cap);

/*
 * Open PCM @name (NULL or "": the first of direction @p->stream) with
 * parameters @p (frame_bytes is computed). Returns 0 and the stream, set
 * up but not prepared; the parameters in force are ddesnd_params().
 */
int ddesnd_open(struct ddesnd *s, const char *name, const struct ddesnd_params *p,
		struct ddesnd_stream **out);
const struct ddesnd_params *ddesnd_params(const struct ddesnd_stream *st);
const char *ddesnd_name(const struct ddesnd_stream *st);

/* Control: 0 or an error; each waits for the driver's answer. */
int ddesnd_prepare(struct ddesnd_stream *st);	/* positions back to 0 */
int ddesnd_start(struct ddesnd_stream *st);
int ddesnd_drop(struct ddesnd_stream *st);
int ddesnd_pause(struct ddesnd_stream *st, int pause);
int ddesnd_drain(struct ddesnd_stream *st);	/* until everything written was played */
void ddesnd_close(struct ddesnd_stream *st);

/*
 * Data. Write (playback) or read (capture) up to @frames frames, waiting
 * up to @timeout_ms (0: not at all, -1: forever) for room (or data).
 * Returns the frames moved (> 0), -EAGAIN, -EPIPE or -ENODEV.
 */
long ddesnd_write(struct ddesnd_stream *st, const void *buf, unsigned long frames, int timeout_ms);
long ddesnd_read(struct ddesnd_stream *st, void *buf, unsigned long frames, int timeout_ms);

/* Frames that can be written (playback) or read (capture) now, or -EPIPE / -ENODEV. */
long ddesnd_avail(struct ddesnd_stream *st);

/*
 * The position: frames the driver has taken (playback) or captured since
 * the last prepare (@hw), and the frames not yet audible (@delay: in the
 * ring and in the device). Returns the state (enum ddesnd_state) or -ENODEV.
 */
int ddesnd_status(struct ddesnd_stream *st, uint64_t *hw, int64_t *delay, uint32_t *xruns);

/*
 * For programs with their own poll loop: the descriptors to poll for
 * POLLIN (the client's doorbell and the control socket); after poll says
 * one is readable, ddesnd_ack clears the doorbell and reads what sndd said
 * (0, or -ENODEV if the driver is gone).
 */
int ddesnd_poll_fds(const struct ddesnd_stream *st, int fds[2]);
int ddesnd_ack(struct ddesnd_stream *st);

/*
 * Mixer controls of card @card ("snd0"; NULL or "": the first card), as
 * its driver has them (struct ddesnd_ctl, ALSA's types and numbers).
 *   ddesnd_ctl_info   the element at @index of the card's list (0 ...),
 *                     0 or -ENOENT past the end
 *   ddesnd_ctl_read   the values of element @c->numid into @c->value
 *   ddesnd_ctl_write  set element @c->numid to @c->value: 1 if that
 *                     changed it, 0 if not; -EINVAL a value out of range,
 *                     -EPERM not writable
 *   ddesnd_ctl_item   the name of item @item of enumerated element @numid
 * Other errors: -ENOENT no such card or element, -ENODEV the driver died.
 */
int ddesnd_ctl_info(struct ddesnd *s, const char *card, unsigned index, struct ddesnd_ctl *out);
int ddesnd_ctl_read(struct ddesnd *s, const char *card, struct ddesnd_ctl *c);
int ddesnd_ctl_write(struct ddesnd *s, const char *card, const struct ddesnd_ctl *c);
int ddesnd_ctl_item(struct ddesnd *s, const char *card, uint32_t numid, unsigned item,
		    char *name, size_t cap);

/* An error of this library as text: the server's or the driver's own words if it gave any. */
const char *ddesnd_strerror(int err);

#endif
