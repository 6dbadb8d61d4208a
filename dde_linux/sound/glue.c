/*
 * Sound class glue: the card's PCMs served to the sound server (sndd).
 *
 * This is the part of user space a sound driver process needs, written on
 * ALSA's own in-kernel interface as Linux's OSS emulation uses it: a
 * stream is a substream opened with snd_pcm_open_substream, set up with
 * the HW_PARAMS and SW_PARAMS ioctls, fed with snd_pcm_kernel_write (read
 * with snd_pcm_kernel_read) and driven with PREPARE, START, DROP, PAUSE
 * and DRAIN, all non-blocking. One kthread serves every stream: it wakes
 * when sndd sends a request, when a client rang its stream's doorbell and
 * when ALSA wakes the substream's sleepers (a period elapsed, the stream
 * stopped), and then moves frames between the client's ring and ALSA's
 * buffer. Samples are never converted: the stream runs in the client's
 * format, rate and channels, or the open is refused. The same kthread
 * answers the mixer's requests (mixer.c).
 */
#include <linux/fs.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/radix-tree.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <sound/core.h>
#include <sound/pcm.h>
#include <sound/pcm_params.h>

#include <lx_kit/kit.h>
#include <lx_kit/snd.h>
#include "lx_emul.h"
#include "sound.h"

#define MAX_PCMS 8

static struct snd_pcm *pcms[MAX_PCMS];
static unsigned npcms;
static struct task_struct *snd_task;

struct stream {
	struct snd_pcm_substream *sub;	/* NULL: the slot is free */
	struct file file;		/* what ALSA's ioctls take the flags from */
	struct snd_pcm_file pcm_file;
	struct wait_queue_entry wait;	/* on the runtime's sleep queue: wakes snd_task */
	bool waiting;			/* ... once the stream is set up */
	struct ddesnd_params p;
	u64 hw;				/* frames taken from (put into) the ring */
	unsigned published;		/* the state the client saw last */
	bool draining;
	u32 pad;			/* frames of silence still to write before the drain */
	bool failed;			/* the client broke its ring: ERROR until closed */
	struct lx_kit_snd_request drain;	/* answered when the drain is done */
};

static struct stream streams[LX_SND_MAX_STREAMS];

/* ---- the card's PCMs, as ALSA registers them ---- */

static int pcm_registered(struct snd_pcm *pcm)
{
	if (npcms < MAX_PCMS)
		pcms[npcms++] = pcm;
	else
		pr_warn("lx_emul: sound: PCM %s not served (more than %d)\n", pcm->name, MAX_PCMS);
	return 0;
}

static int pcm_gone(struct snd_pcm *pcm)
{
	for (unsigned i = 0; i < npcms; i++)
		if (pcms[i] == pcm)
			pcms[i] = NULL;
	return 0;
}

static struct snd_pcm_notify notify = {
	.n_register = pcm_registered, .n_disconnect = pcm_gone, .n_unregister = pcm_gone,
};

static struct snd_pcm *pcm_by_device(unsigned device)
{
	for (unsigned i = 0; i < npcms; i++)
		if (pcms[i] && pcms[i]->device == device)
			return pcms[i];
	return NULL;
}

/* ---- hardware parameters ---- */

static void set_mask(struct snd_pcm_hw_params *hp, int var, unsigned v)
{
	struct snd_mask *m = hw_param_mask(hp, var);

	snd_mask_none(m);
	snd_mask_set(m, v);
}

static void set_value(struct snd_pcm_hw_params *hp, int var, unsigned v)
{
	struct snd_interval *i = hw_param_interval(hp, var);

	i->min = i->max = v;
	i->openmin = i->openmax = 0;
	i->integer = 1;
	i->empty = 0;
}

static unsigned interval_min(struct snd_pcm_hw_params *hp, int var)
{
	const struct snd_interval *i = hw_param_interval_c(hp, var);

	return i->min + i->openmin;
}

static unsigned interval_max(struct snd_pcm_hw_params *hp, int var)
{
	const struct snd_interval *i = hw_param_interval_c(hp, var);

	return i->max - i->openmax;
}

static int open_substream(struct stream *s, struct snd_pcm *pcm, int dir)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->file.f_flags = O_RDWR | O_NONBLOCK;
	r = snd_pcm_open_substream(pcm, dir, &s->file, &s->sub);
	if (r) {
		s->sub = NULL;
		return r;
	}
	s->pcm_file.substream = s->sub;
	s->pcm_file.user_pversion = SNDRV_PCM_VERSION;
	s->file.private_data = &s->pcm_file;
	return 0;
}

/* Describe one direction of @pcm to the server: what refining "anything" leaves. */
static void describe(struct snd_pcm *pcm, int dir)
{
	struct snd_pcm_hw_params *hp = kmalloc(sizeof(*hp), GFP_KERNEL);
	struct snd_pcm_hw_params *one = kmalloc(sizeof(*one), GFP_KERNEL);
	struct ddesnd_pcm_info d = { .device = pcm->device, .stream = dir };
	struct stream s;
	unsigned f;
	int r;

	if (!hp || !one || open_substream(&s, pcm, dir))
		goto out;
	_snd_pcm_hw_params_any(hp);
	set_mask(hp, SNDRV_PCM_HW_PARAM_ACCESS, SNDRV_PCM_ACCESS_RW_INTERLEAVED);
	r = snd_pcm_hw_refine(s.sub, hp);
	if (r) {
		pr_warn("lx_emul: sound: %s %s: no interleaved access (%d): not served\n", pcm->name,
			dir ? "capture" : "playback", r);
		goto release;
	}
	strscpy(d.card, pcm->card->shortname, sizeof(d.card));
	strscpy(d.longname, pcm->card->longname, sizeof(d.longname));
	strscpy(d.driver, pcm->card->driver, sizeof(d.driver));
	strscpy(d.pcm, pcm->name, sizeof(d.pcm));
	for (f = 0; f <= (unsigned)SNDRV_PCM_FORMAT_LAST && d.nformats < DDESND_MAX_FORMATS; f++)
		if (snd_mask_test(hw_param_mask_c(hp, SNDRV_PCM_HW_PARAM_FORMAT), f))
			d.formats[d.nformats++] = f;
	d.channels_min = interval_min(hp, SNDRV_PCM_HW_PARAM_CHANNELS);
	d.channels_max = interval_max(hp, SNDRV_PCM_HW_PARAM_CHANNELS);
	d.rate_min = interval_min(hp, SNDRV_PCM_HW_PARAM_RATE);
	d.rate_max = interval_max(hp, SNDRV_PCM_HW_PARAM_RATE);
	d.period_bytes_min = interval_min(hp, SNDRV_PCM_HW_PARAM_PERIOD_BYTES);
	d.period_bytes_max = interval_max(hp, SNDRV_PCM_HW_PARAM_PERIOD_BYTES);
	d.periods_min = interval_min(hp, SNDRV_PCM_HW_PARAM_PERIODS);
	d.periods_max = interval_max(hp, SNDRV_PCM_HW_PARAM_PERIODS);
	d.buffer_bytes_max = interval_max(hp, SNDRV_PCM_HW_PARAM_BUFFER_BYTES);
	/* a card with a continuous range takes any rate in it; else the known rates it takes */
	if (!(s.sub->runtime->hw.rates & SNDRV_PCM_RATE_CONTINUOUS)) {
		for (f = 0; f < 30 && d.nrates < DDESND_MAX_RATES; f++) {
			unsigned rate = snd_pcm_rate_bit_to_rate(1u << f);

			if (!rate || rate < d.rate_min || rate > d.rate_max)
				continue;
			*one = *hp;
			one->rmask = ~0U;	/* refine everything again (refining cleared it) */
			set_value(one, SNDRV_PCM_HW_PARAM_RATE, rate);
			if (!snd_pcm_hw_refine(s.sub, one))
				d.rates[d.nrates++] = rate;
		}
	}
	r = lx_kit_snd_describe(&d);
	if (r)
		pr_warn("lx_emul: sound: cannot describe %s to the server: %d\n", pcm->name, r);
release:
	snd_pcm_release_substream(s.sub);
out:
	kfree(hp);
	kfree(one);
}

/* Set @s up as its client asked: exactly its format, rate and channels. */
static int setup(struct stream *s, const struct ddesnd_params *p, char *why, size_t len)
{
	struct snd_pcm_hw_params *hp = kmalloc(sizeof(*hp), GFP_KERNEL);
	struct snd_pcm_sw_params sw = { 0 };
	struct snd_pcm_runtime *rt = s->sub->runtime;
	int r, pass;

	if (!hp)
		return -ENOMEM;
	/*
	 * The client's period and buffer if the card takes them, else a period
	 * near the client's (so the card wakes the driver about as often as
	 * the client expects), else the card's choice.
	 */
	for (pass = 0; pass < 3; pass++) {
		_snd_pcm_hw_params_any(hp);
		set_mask(hp, SNDRV_PCM_HW_PARAM_ACCESS, SNDRV_PCM_ACCESS_RW_INTERLEAVED);
		set_mask(hp, SNDRV_PCM_HW_PARAM_FORMAT, p->format);
		set_value(hp, SNDRV_PCM_HW_PARAM_CHANNELS, p->channels);
		set_value(hp, SNDRV_PCM_HW_PARAM_RATE, p->rate);
		if (pass == 0) {
			set_value(hp, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, p->period_frames);
			set_value(hp, SNDRV_PCM_HW_PARAM_PERIODS, p->buffer_frames / p->period_frames);
		} else if (pass == 1) {
			struct snd_interval *i = hw_param_interval(hp, SNDRV_PCM_HW_PARAM_PERIOD_SIZE);

			i->min = max(p->period_frames / 2, 1u);
			i->max = p->period_frames * 2;
		}
		r = snd_pcm_kernel_ioctl(s->sub, SNDRV_PCM_IOCTL_HW_PARAMS, hp);
		if (!r)
			break;
	}
	kfree(hp);
	if (r) {
		snprintf(why, len, "%.40s takes no %s, %u channels at %u Hz", s->sub->pcm->name,
			 snd_pcm_format_name(p->format), p->channels, p->rate);
		return r;
	}
	if (rt->frame_bits / 8 != p->frame_bytes) {
		snprintf(why, len, "%u bytes per frame, the client says %u", rt->frame_bits / 8,
			 p->frame_bytes);
		return -EINVAL;
	}
	/*
	 * Started only when the client says so; stopped at an underrun; the
	 * buffer behind the last frame written is kept silent (so a drain
	 * ends in silence, never in stale samples).
	 */
	sw.proto = SNDRV_PCM_VERSION;
	sw.avail_min = rt->period_size;
	sw.period_step = 1;
	sw.start_threshold = rt->boundary;
	sw.stop_threshold = rt->buffer_size;
	sw.silence_threshold = 0;
	sw.silence_size = s->sub->stream == SNDRV_PCM_STREAM_PLAYBACK ? rt->boundary : 0;
	r = snd_pcm_kernel_ioctl(s->sub, SNDRV_PCM_IOCTL_SW_PARAMS, &sw);
	if (r)
		snprintf(why, len, "software parameters refused (%d)", r);
	return r;
}

/* ---- moving frames ---- */

static unsigned client_state(struct snd_pcm_runtime *rt)
{
	switch (rt->state) {
	case SNDRV_PCM_STATE_PREPARED:
		return DDESND_STATE_PREPARED;
	case SNDRV_PCM_STATE_RUNNING:
		return DDESND_STATE_RUNNING;
	case SNDRV_PCM_STATE_PAUSED:
		return DDESND_STATE_PAUSED;
	case SNDRV_PCM_STATE_DRAINING:
		return DDESND_STATE_DRAINING;
	case SNDRV_PCM_STATE_XRUN:
		return DDESND_STATE_XRUN;
	case SNDRV_PCM_STATE_OPEN:
	case SNDRV_PCM_STATE_SETUP:
		return DDESND_STATE_OPEN;
	default:
		return DDESND_STATE_ERROR;
	}
}

static bool transferring(struct snd_pcm_runtime *rt)
{
	return rt->state == SNDRV_PCM_STATE_PREPARED || rt->state == SNDRV_PCM_STATE_RUNNING ||
	       rt->state == SNDRV_PCM_STATE_PAUSED || rt->state == SNDRV_PCM_STATE_DRAINING;
}

/*
 * Move what can be moved. Positions the client wrote are checked: more
 * than a buffer ahead is a broken ring (the stream fails); behind ours
 * happens only while its PREPARE is on the way (nothing to do yet).
 */
static void pump(unsigned slot, struct stream *s)
{
	struct snd_pcm_runtime *rt = s->sub->runtime;
	u64 appl = lx_kit_snd_appl(slot), bf = s->p.buffer_frames;
	u8 *data = lx_kit_snd_data(slot);
	bool playback = s->p.stream == 0;
	snd_pcm_sframes_t delay = 0;
	int drained = 1;		/* the drain's answer, once it has one */
	unsigned state;

	if (s->failed)
		return;
	if (transferring(rt) && rt->state != SNDRV_PCM_STATE_DRAINING) {
		u64 ahead = playback ? appl - s->hw : s->hw - appl;

		if (playback && appl < s->hw)
			return;		/* its PREPARE is on the way */
		if ((!playback && appl > s->hw) || ahead > bf) {
			pr_warn("lx_emul: sound: stream %u: the client broke its ring\n", slot);
			snd_pcm_kernel_ioctl(s->sub, SNDRV_PCM_IOCTL_DROP, NULL);
			lx_kit_snd_publish(slot, s->hw, 0, DDESND_STATE_ERROR);
			lx_kit_snd_notify(slot);
			s->failed = true;
			return;
		}
		/* playback: frames written, not taken; capture: room left */
		for (u64 left = playback ? ahead : bf - ahead; left;) {
			u64 off = s->hw % bf, n = min(left, bf - off);
			snd_pcm_sframes_t done = playback ?
				snd_pcm_kernel_write(s->sub, data + off * s->p.frame_bytes, n) :
				snd_pcm_kernel_read(s->sub, data + off * s->p.frame_bytes, n);

			if (done <= 0)
				break;	/* -EAGAIN: ALSA's buffer is full (empty); -EPIPE: below */
			s->hw += done;
			left -= done;
		}
	}
	/*
	 * A drain plays what the client wrote, then some silence: a device may
	 * hold frames beyond its DMA position (QEMU's HD Audio codec buffers
	 * tens of milliseconds), which stopping at the position would lose.
	 */
	while (s->draining && s->hw == appl && s->pad && transferring(rt) &&
	       rt->state != SNDRV_PCM_STATE_DRAINING) {
		static u8 silence[4096];
		unsigned frames = sizeof(silence) / s->p.frame_bytes;
		snd_pcm_sframes_t done;

		/* the format's silence (not zeros: U8's is 0x80) */
		snd_pcm_format_set_silence(s->p.format, silence, frames * s->p.channels);
		done = snd_pcm_kernel_write(s->sub, silence, min_t(u32, s->pad, frames));
		if (done <= 0)
			break;
		s->pad -= done;
	}
	if (s->draining && s->hw == appl && !s->pad && rt->state != SNDRV_PCM_STATE_DRAINING &&
	    transferring(rt)) {
		int r = snd_pcm_kernel_ioctl(s->sub, SNDRV_PCM_IOCTL_DRAIN, NULL);

		if (r != -EAGAIN && r)
			drained = r;
	}
	if (transferring(rt))
		snd_pcm_kernel_ioctl(s->sub, SNDRV_PCM_IOCTL_DELAY, &delay);
	if (s->draining && !transferring(rt))
		drained = 0;
	state = client_state(rt);
	if (state == DDESND_STATE_XRUN && s->published != DDESND_STATE_XRUN)
		lx_kit_snd_xrun(slot);
	lx_kit_snd_publish(slot, s->hw, playback ? delay : 0, state);
	s->published = state;
	lx_kit_snd_notify(slot);
	/* answered after the ring says where the stream is */
	if (s->draining && drained <= 0) {
		s->draining = false;
		lx_kit_snd_answer(&s->drain, drained, drained ? "the drain failed" : NULL);
	}
}

/* ---- requests ---- */

static void close_stream(struct stream *s)
{
	if (!s->sub)
		return;
	if (s->waiting)
		remove_wait_queue(&s->sub->runtime->sleep, &s->wait);
	s->waiting = false;
	snd_pcm_release_substream(s->sub);
	s->sub = NULL;
}

static void serve_open(struct lx_kit_snd_request *req)
{
	struct stream *s = &streams[req->slot];
	struct snd_pcm *pcm = pcm_by_device(req->device);
	char why[128] = "";
	int r;

	if (s->sub)
		close_stream(s);
	if (!pcm || !pcm->streams[req->params.stream].substream_count) {
		lx_kit_snd_answer(req, -ENOENT, "no such PCM on this card");
		return;
	}
	r = open_substream(s, pcm, req->params.stream);
	if (r) {
		snprintf(why, sizeof(why), "%.40s: cannot open (%d)", pcm->name, r);
		lx_kit_snd_answer(req, r, why);
		return;
	}
	s->p = req->params;
	r = setup(s, &req->params, why, sizeof(why));
	if (r) {
		close_stream(s);
		lx_kit_snd_answer(req, r, why);
		return;
	}
	init_waitqueue_entry(&s->wait, snd_task);
	add_wait_queue(&s->sub->runtime->sleep, &s->wait);
	s->waiting = true;
	lx_kit_snd_answer(req, 0, NULL);
	pr_info("lx_emul: sound: %s %s: %s, %u channels, %u Hz, period %lu, buffer %lu\n",
		pcm->name, req->params.stream ? "capture" : "playback",
		snd_pcm_format_name(req->params.format), req->params.channels, req->params.rate,
		s->sub->runtime->period_size, s->sub->runtime->buffer_size);
}

/* The card the mixer requests are about: the one whose PCMs are served. */
static struct snd_card *card_of(void)
{
	for (unsigned i = 0; i < npcms; i++)
		if (pcms[i])
			return pcms[i]->card;
	return NULL;
}

static void serve(struct lx_kit_snd_request *req)
{
	struct stream *s = &streams[req->slot];
	int r = 0;

	if (req->op >= LX_SND_CTL_INFO) {
		lx_snd_serve_ctl(card_of(), req);
		return;
	}
	if (req->op == LX_SND_OPEN) {
		serve_open(req);
		return;
	}
	if (!s->sub) {
		lx_kit_snd_answer(req, -EBADF, "the stream is not open");
		return;
	}
	if (s->draining && req->op != LX_SND_CLOSE && req->op != LX_SND_DROP) {
		lx_kit_snd_answer(req, -EBUSY, "a drain is in progress");
		return;
	}
	if (s->draining) {	/* dropped or closed while draining: the drain ends now */
		lx_kit_snd_answer(&s->drain, -EINTR, "stopped while draining");
		s->draining = false;
	}
	switch (req->op) {
	case LX_SND_PREPARE:
		r = snd_pcm_kernel_ioctl(s->sub, SNDRV_PCM_IOCTL_PREPARE, NULL);
		if (!r)
			s->hw = 0;
		break;
	case LX_SND_START:
		pump(req->slot, s);	/* what the client wrote goes in first */
		r = snd_pcm_kernel_ioctl(s->sub, SNDRV_PCM_IOCTL_START, NULL);
		break;
	case LX_SND_DROP:
		r = snd_pcm_kernel_ioctl(s->sub, SNDRV_PCM_IOCTL_DROP, NULL);
		break;
	case LX_SND_PAUSE:
		r = snd_pcm_f_ops[s->p.stream].unlocked_ioctl(&s->file, SNDRV_PCM_IOCTL_PAUSE,
							      !!req->value);
		break;
	case LX_SND_DRAIN:
		if (s->p.stream == 0 && transferring(s->sub->runtime)) {
			s->drain = *req;
			s->draining = true;
			s->pad = s->p.rate / 10;	/* 100 ms */
			pump(req->slot, s);
			return;		/* answered when done */
		}
		break;
	case LX_SND_CLOSE:
		close_stream(s);
		lx_kit_snd_answer(req, 0, NULL);
		return;
	}
	pump(req->slot, s);	/* the ring shows the outcome before the answer */
	lx_kit_snd_answer(req, r, r ? "refused by the driver" : NULL);
}

static void wake(void *arg)
{
	if (snd_task)
		wake_up_process(snd_task);
}

/*
 * Attach to the server with what the driver registered: drivers that probe
 * asynchronously (snd-hda-intel probes its codecs from a work item)
 * register their card after the initcalls. A card registers all its PCMs
 * at once, so shortly after the first one the card is complete.
 */
static int attach(void)
{
	int r;

	for (int t = 0; !npcms && t < 100; t++)
		msleep(100);
	if (!npcms) {
		pr_err("lx_emul: the driver registered no sound card in 10 s: stopping\n");
		lx_kit_stop(1);
		return -ENODEV;
	}
	msleep(100);
	r = lx_kit_snd_attach(wake, NULL);
	if (r < 0)
		panic("cannot attach to the sound server ($DDE_SND): %pe", ERR_PTR(r));
	if (r == 1) {
		pr_info("lx_emul: sound: no server ($DDE_SND): the card is set up, not served\n");
		return 1;
	}
	for (unsigned i = 0; i < npcms; i++)
		for (int dir = 0; dir < 2; dir++)
			if (pcms[i] && pcms[i]->streams[dir].substream_count)
				describe(pcms[i], dir);
	return lx_kit_snd_ready();
}

static int snd_thread(void *arg)
{
	struct lx_kit_snd_request req;

	if (attach())
		return 0;
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		while (lx_kit_snd_next(&req)) {
			__set_current_state(TASK_RUNNING);
			serve(&req);
			set_current_state(TASK_INTERRUPTIBLE);
		}
		for (unsigned i = 0; i < LX_SND_MAX_STREAMS; i++)
			if (streams[i].sub)
				pump(i, &streams[i]);
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* ---- start: serve what the driver registers ---- */

static int __init lx_snd_start(void)
{
	snd_pcm_notify(&notify, 0);	/* the PCMs registered so far, and later ones */
	snd_task = kthread_run(snd_thread, NULL, "snd");
	if (IS_ERR(snd_task))
		panic("sound: no service thread");
	return 0;
}
late_initcall(lx_snd_start);

static int __init lx_snd_init(void)
{
	radix_tree_init();	/* start_kernel's: the nodes of xarrays (ALSA's control lookup) */
	return 0;
}
core_initcall(lx_snd_init);
