/*
 * The sound class bridge: the Linux side's glue (dde_linux/sound) serves
 * ALSA PCM streams to the sound server; the host side (lx_kit/snd.c)
 * speaks sndd's protocol (libddesnd/proto.h) and maps the streams' rings.
 * Both sides share the protocol's own descriptions of PCMs and stream
 * parameters (libddesnd/proto.h: plain fixed-width types only).
 */
#ifndef LX_KIT_SND_H
#define LX_KIT_SND_H

#include "../../../libddesnd/proto.h"

#define LX_SND_MAX_STREAMS 8

enum lx_kit_snd_op {
	LX_SND_OPEN = 1, LX_SND_PREPARE, LX_SND_START, LX_SND_DROP, LX_SND_PAUSE,
	LX_SND_DRAIN, LX_SND_CLOSE,
	/* mixer controls: of the card, no stream (slot unused) */
	LX_SND_CTL_INFO, LX_SND_CTL_READ, LX_SND_CTL_WRITE, LX_SND_CTL_ITEM,
};

/* A request of sndd's for stream @slot (0 .. LX_SND_MAX_STREAMS-1). */
struct lx_kit_snd_request {
	int op;
	unsigned slot;
	int value;			/* PAUSE: 1 pause, 0 resume; CTL_INFO: the index;
					 * CTL_ITEM: the item */
	unsigned device;		/* OPEN: the Linux PCM device */
	struct ddesnd_params params;	/* OPEN */
	struct ddesnd_ctl ctl;		/* CTL_*: numid; CTL_WRITE: the values */
	/* the host side's: which request to answer */
	unsigned id, seq;
};

/*
 * Attach to the sound server ($DDE_SND): 0, 1 if the process was started
 * without one, or -errno. @wake(@arg) runs on the Linux CPU whenever a
 * request came or a client rang its stream's doorbell.
 */
int lx_kit_snd_attach(void (*wake)(void *arg), void *arg);
/* Describe one PCM direction to the server; then lx_kit_snd_ready once. */
int lx_kit_snd_describe(const struct ddesnd_pcm_info *pcm);
int lx_kit_snd_ready(void);

/* The next request, 1; 0 when none is waiting. */
int lx_kit_snd_next(struct lx_kit_snd_request *req);
/*
 * Answer @req with 0 or -errno (and one line saying why). For OPEN, 0
 * makes the stream's ring live (lx_kit_snd_ring); for CLOSE, the ring is
 * gone after the answer.
 */
void lx_kit_snd_answer(const struct lx_kit_snd_request *req, int value, const char *why);

/* Answer a CTL_* request with 0 (a write: 1 if it changed the value) or -errno, and @ctl. */
void lx_kit_snd_answer_ctl(const struct lx_kit_snd_request *req, int value,
			   const struct ddesnd_ctl *ctl, const char *why);

/* The stream's samples (buffer_frames frames), valid from OPEN's answer to CLOSE's. */
void *lx_kit_snd_data(unsigned slot);
/* The client's position (frames written / read since prepare), as it wrote it. */
unsigned long long lx_kit_snd_appl(unsigned slot);
/* Publish the driver's side: position, frames not yet audible, state (enum ddesnd_state). */
void lx_kit_snd_publish(unsigned slot, unsigned long long hw, long long delay, unsigned state);
/* Count an underrun/overrun. */
void lx_kit_snd_xrun(unsigned slot);
/* Wake the stream's client (after publishing). */
void lx_kit_snd_notify(unsigned slot);

#endif
