/*
 * The sndd channel (docs/sound.md): control messages on a Unix
 * SOCK_SEQPACKET socket and one shared-memory ring per open stream.
 * Private to libddesnd, sndd and the sound class glue of driver processes.
 *
 * Roles. A sound driver process attaches to sndd (HELLO, role DRIVER),
 * describes each PCM of its card (PCM messages, then READY) and then only
 * answers requests. A client connects (HELLO, role CLIENT), lists the PCMs
 * (LIST -> PCM... LIST_END) and opens one (OPEN). sndd is the broker: it
 * names the PCMs, admits one stream per PCM and direction (a second OPEN
 * gets -EBUSY and a line saying who has it), forwards the stream's control
 * requests to the driver and the driver's replies back, and makes the
 * stream's shared memory and doorbells. It is not on the data path.
 *
 * A stream. On OPEN sndd creates the ring (a sealed memfd: neither side
 * can shrink it under the other) and two doorbells (eventfds): the
 * client's (the driver rings it when it moved `hw` or changed `state`)
 * and the driver's (the client rings it after it moved `appl`). sndd
 * sends the driver OPEN with the three descriptors; the driver sets the
 * hardware up (hw_params with exactly these parameters, or refuses) and
 * replies OPENED; sndd then sends the client OPENED with the same three
 * descriptors. Neither side trusts what the other writes into the ring:
 * each keeps its own copy of the geometry from the OPEN/OPENED messages,
 * and positions are checked on every use (the ring header's geometry is
 * for information only).
 *
 * Positions are frame counts since the last PREPARE, never wrapped:
 * frame n lives at data + (n % buffer_frames) * frame_bytes.
 *   playback: the client writes frames [hw + ..., appl) may not exceed
 *             buffer_frames in flight (appl - hw <= buffer_frames); the
 *             driver takes frames [hw, appl) to the device and advances hw.
 *   capture:  the driver writes captured frames at hw and advances it
 *             (hw - appl <= buffer_frames, else it counts an overrun and
 *             stops); the client reads [appl, hw) and advances appl.
 * Control requests (PREPARE, START, DROP, PAUSE, DRAIN, CLOSE) go client
 * -> sndd -> driver with the stream id of OPENED and the client's `seq`
 * (never 0: seq 0 is sndd's own); the driver answers each with REPLY
 * (stream, seq, value 0 or -errno, error text), sndd forwards it. PREPARE
 * resets both positions to 0 (the client zeroes appl before sending it).
 * DRAIN is answered when the last frame written was played (or at once for
 * capture). If the driver dies, sndd sends the client GONE for the stream
 * (with its id; the stream is gone, the connection stays); if a client goes
 * away, sndd sends the driver CLOSE (seq 0) for each of its streams.
 *
 * Mixer controls. A client asks about the controls of a card (name: its
 * unit, "snd0"; "" = the first card): CTL_INFO (value: the element's
 * index in the card's list, 0 ...: its description, -ENOENT past the
 * end), CTL_READ and CTL_WRITE (ctl.numid and, for a write, ctl.value),
 * CTL_ITEM (ctl.numid, value: the item of an enumerated element: its name
 * in ctl.item). sndd forwards each to the card's driver (stream: sndd's
 * number for the request, seq: the client's) and the driver's answer, one
 * CTL message (value 0 or -errno; a write: 1 if the value changed), back.
 * One control request per client at a time; if the driver dies, the
 * client gets CTL with -ENODEV.
 *
 * Every message is one struct ddesnd_msg; replies (WELCOME, PCM, LIST_END,
 * OPENED, REPLY, CTL) echo the request's `seq`. sndd answers a HELLO of either
 * role with WELCOME, and drops a peer whose message is malformed or does
 * not fit its role.
 */
#ifndef DDESND_PROTO_H
#define DDESND_PROTO_H

#ifdef __KERNEL__	/* the sound glue of a driver process, on Linux's headers */
#include <linux/types.h>
#else
#include <stdatomic.h>
#include <stdint.h>
#endif

#define DDESND_MAGIC 0x444e5344u	/* "DSND" */
#define DDESND_VERSION 2

#define DDESND_NAME 32			/* PCM names: "snd0.0" (card unit, device) */
#define DDESND_MAX_RATES 16
#define DDESND_MAX_FORMATS 8
#define DDESND_SHM_DATA 4096		/* the samples start here in the ring */
#define DDESND_BUFFER_MAX (4u << 20)	/* bytes of samples per ring, at most */

enum ddesnd_type {
	DDESND_HELLO = 1,	/* -> sndd: value = role; name: the client's own name (log) */
	DDESND_WELCOME,		/* sndd ->: value 0 or -errno (error) */
	DDESND_LIST,		/* client -> sndd */
	DDESND_PCM,		/* sndd -> client (one per PCM), driver -> sndd (its PCMs): pcm */
	DDESND_LIST_END,	/* sndd -> client: after the last PCM (a driver sends READY) */
	DDESND_OPEN,		/* client -> sndd: name, params; sndd -> driver: stream, params,
				 * pcm (as the driver described it: pcm.device says which),
				 * 3 fds (ring, client bell, driver bell) */
	DDESND_OPENED,		/* driver -> sndd: stream, value 0 or -errno (error), params as
				 * set up; sndd -> client: the same, with the 3 fds */
	DDESND_PREPARE,		/* control requests: client -> sndd -> driver, with seq */
	DDESND_START,
	DDESND_DROP,		/* stop at once, frames not played are dropped */
	DDESND_PAUSE,		/* value 1 pause, 0 resume */
	DDESND_DRAIN,		/* answered once everything written was played */
	DDESND_CLOSE,		/* answered, then the stream is gone (the client closes its fds) */
	DDESND_REPLY,		/* driver -> sndd -> client: seq, value 0 or -errno, error */
	DDESND_GONE,		/* sndd -> client: the driver of this PCM died or left (error) */
	DDESND_READY,		/* driver -> sndd: all its PCMs were described */
	DDESND_CHANNEL,		/* dde -> sndd on its control channel: name = the card's unit
				 * ("snd0"); 1 fd = sndd's end of that driver's connection */
	DDESND_CTL_INFO,	/* mixer controls: client -> sndd -> driver (see above) */
	DDESND_CTL_READ,
	DDESND_CTL_WRITE,
	DDESND_CTL_ITEM,
	DDESND_CTL,		/* driver -> sndd -> client: the answer to any of them */
};

enum { DDESND_ROLE_CLIENT = 1, DDESND_ROLE_DRIVER = 2 };
enum { DDESND_PLAYBACK = 0, DDESND_CAPTURE = 1 };

/*
 * Sample formats: ALSA's numbers (SNDRV_PCM_FORMAT_* in the kernel,
 * SND_PCM_FORMAT_* in alsa-lib are the same), e.g. 2 = S16_LE, 10 = S32_LE.
 */

/* What one PCM direction of a card offers (driver -> sndd -> client). */
struct ddesnd_pcm_info {
	char name[DDESND_NAME];		/* sndd's name, "snd0.0" (driver: "") */
	char card[32];			/* the card's short name (Linux card->shortname) */
	char longname[80];		/* Linux card->longname */
	char driver[16];		/* Linux card->driver, e.g. "ENS1370" */
	char pcm[32];			/* the Linux PCM's name */
	uint32_t device;		/* the Linux PCM device number on its card */
	uint32_t stream;		/* DDESND_PLAYBACK or DDESND_CAPTURE */
	uint32_t nformats;
	uint32_t formats[DDESND_MAX_FORMATS];
	uint32_t channels_min, channels_max;
	uint32_t rate_min, rate_max;
	uint32_t nrates;		/* 0: any rate in [rate_min, rate_max] */
	uint32_t rates[DDESND_MAX_RATES];
	uint32_t period_bytes_min, period_bytes_max;
	uint32_t periods_min, periods_max;
	uint32_t buffer_bytes_max;
	uint32_t busy;			/* sndd -> client: 0, or a stream is open on it: the
					 * pid of the program that has it (as sndd sees it;
					 * 1 where sndd cannot tell) */
};

struct ddesnd_params {
	uint32_t stream;		/* DDESND_PLAYBACK or DDESND_CAPTURE */
	uint32_t format;		/* ALSA format number */
	uint32_t channels, rate;
	uint32_t frame_bytes;		/* channels * bytes per sample */
	uint32_t period_frames, buffer_frames;	/* buffer: a whole number of periods */
};

/*
 * One element of a card's mixer (one value array: a Linux control with
 * count > 1 is several elements). Types, interfaces and access bits are
 * ALSA's numbers (SNDRV_CTL_ELEM_*, the same in alsa-lib).
 */
#define DDESND_CTL_VALUES 128		/* integers; bytes: 512 */
enum { DDESND_CTL_BOOLEAN = 1, DDESND_CTL_INTEGER, DDESND_CTL_ENUMERATED, DDESND_CTL_BYTES,
       DDESND_CTL_IEC958, DDESND_CTL_INTEGER64 };
enum { DDESND_CTL_READABLE = 1, DDESND_CTL_WRITABLE = 2, DDESND_CTL_VOLATILE = 4,
       DDESND_CTL_INACTIVE = 0x100 };

struct ddesnd_ctl {
	uint32_t numid;			/* the driver's number for it, while the card lives */
	uint32_t iface;			/* 2: MIXER, 0: CARD, 3: PCM ... */
	uint32_t device, subdevice, index;
	char name[44];			/* "Master Playback Volume" */
	uint32_t type;			/* DDESND_CTL_BOOLEAN ... */
	uint32_t access;		/* DDESND_CTL_READABLE ... */
	uint32_t count;			/* values (bytes: bytes; IEC958: 1) */
	uint32_t items;			/* enumerated: how many */
	int64_t min, max, step;		/* integer, integer64 */
	char item[64];			/* CTL_ITEM's answer */
	union {
		int64_t integer[DDESND_CTL_VALUES];	/* boolean, integer, enumerated, integer64 */
		uint8_t bytes[512];			/* bytes, IEC958 (ALSA's layout) */
	} value;
};

struct ddesnd_msg {
	uint32_t magic;
	uint16_t version, type;
	int32_t value;			/* role, 0 or -errno, pause flag */
	uint32_t stream;		/* sndd's stream id (sndd <-> driver) */
	uint32_t seq;			/* the client's request number, echoed in REPLY */
	char name[DDESND_NAME];		/* OPEN: the PCM ("" = the first of that
					 * direction); HELLO: who is talking */
	struct ddesnd_params params;
	union {				/* no message carries both */
		struct ddesnd_pcm_info pcm;	/* PCM, OPEN (sndd -> driver) */
		struct ddesnd_ctl ctl;		/* CTL_*, CTL */
	};
	char error[128];		/* with a negative value: why, one line */
};

enum ddesnd_state {
	DDESND_STATE_OPEN = 0,		/* set up, not prepared */
	DDESND_STATE_PREPARED,
	DDESND_STATE_RUNNING,
	DDESND_STATE_PAUSED,
	DDESND_STATE_DRAINING,
	DDESND_STATE_XRUN,		/* underrun (playback) / overrun (capture): PREPARE again */
	DDESND_STATE_ERROR,		/* the driver failed the stream: close it */
};

/* The ring: a shared-memory object of DDESND_SHM_DATA + buffer bytes. */
struct ddesnd_shm {
	uint32_t magic, version;
	struct ddesnd_params params;	/* information only (see above) */
	uint32_t pad0[7];
	_Atomic uint64_t appl;		/* client: frames written (playback) / read (capture) */
	uint32_t pad1[14];
	_Atomic uint64_t hw;		/* driver: frames taken (playback) / captured (capture) */
	_Atomic int64_t delay;		/* driver: frames it holds that are not yet audible
					 * (playback: taken but not played) */
	_Atomic uint32_t state;		/* driver: enum ddesnd_state */
	_Atomic uint32_t xruns;		/* driver: underruns/overruns since OPEN */
	uint32_t pad2[10];
};

/*
 * The sample formats sndd, libddesnd and the ALSA plugin know: ALSA's
 * number, bytes per sample as stored (S24_LE in 4), ALSA's name.
 */
struct ddesnd_format {
	uint32_t format, bytes;
	const char *name;
};

static inline const struct ddesnd_format *ddesnd_format(uint32_t format)
{
	static const struct ddesnd_format known[] = {
		{ 0, 1, "S8" }, { 1, 1, "U8" }, { 2, 2, "S16_LE" }, { 3, 2, "S16_BE" },
		{ 4, 2, "U16_LE" }, { 6, 4, "S24_LE" }, { 10, 4, "S32_LE" }, { 12, 4, "U32_LE" },
		{ 14, 4, "FLOAT_LE" }, { 32, 3, "S24_3LE" },
	};

	for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].format == format)
			return &known[i];
	return 0;
}

#endif
