/*
 * The ALSA mixer plugin: alsa-lib's external control ("ctl_ext") on
 * libddesnd, so that ALSA's mixer programs see a card's controls as its
 * driver has them:
 *
 *   amixer -D dde sset Master 50%       the first card
 *   amixer -D dde:snd1 scontents        a card by its unit
 *   amixer -D dde:snd0,@dde-snd-1 ..    and a server other than $DDE_SND
 *
 * (ctl.dde and ctl_type.dde are in the configuration the build makes,
 * build/share/alsa/dde.conf, or /etc/alsa/conf.d/60-dde.conf installed.)
 *
 * On open we ask the driver for the description of every element once
 * (CTL_INFO 0, 1, ... until -ENOENT) and keep it: alsa-lib numbers the
 * elements by their place in that list (numid = place + 1) and a key is
 * the place. Values are never kept: each read and write asks the driver
 * (by its own numid), and so are enumerated item names the first time.
 * Change events are not served: nothing tells us when the driver or
 * another program changes a value, so subscribing does nothing and the
 * poll descriptor (an eventfd nobody rings) never says ready. No dB
 * scales (TLV) either. A driver that dies makes every call fail with
 * -ENODEV, after one line saying so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <alsa/asoundlib.h>
#include <alsa/control_external.h>

#include <ddesnd/ddesnd.h>
#include "alsa_args.h"

#define MAX_ELEMS 4096		/* elements we take of a card, at most */
#define MAX_CACHED_ITEMS 1024	/* enumerated elements with more items: names not kept */

/* A value of an element, as ddesnd carries it, holds what ALSA's does. */
_Static_assert(sizeof(snd_aes_iec958_t) <= sizeof(((struct ddesnd_ctl *)0)->value.bytes),
	       "an IEC958 value does not fit struct ddesnd_ctl");

/* One element as the driver described it (its values are never kept). */
struct dde_elem {
	uint32_t numid;			/* the driver's number for it */
	uint32_t iface, device, subdevice, index;
	char name[sizeof(((struct ddesnd_ctl *)0)->name)];
	uint32_t type, access, count, items;
	int64_t min, max, step;
	char **names;			/* enumerated: item names asked so far, or NULL */
};

struct dde_ctl {
	snd_ctl_ext_t ext;
	struct ddesnd *s;
	char card[DDESND_NAME];		/* sndd's unit of the card, "snd0" */
	struct dde_elem *elems;
	unsigned n;
	int gone;
};

/* The driver is gone: say why once, and fail everything from now on. */
static int gone(struct dde_ctl *p, int err)
{
	if (!p->gone)
		SNDERR("dde: %s", ddesnd_strerror(err));
	p->gone = 1;
	return -ENODEV;
}

/*
 * A request's result: -ENODEV makes the mixer dead, and so does -ENOENT
 * (sndd no longer has the card: its driver died between two requests; a
 * new driver on the same unit is another card, whose controls are not the
 * ones listed); other errors are said.
 */
static int result(struct dde_ctl *p, int r)
{
	if (r == -ENODEV || r == -ENOENT)
		return gone(p, r);
	if (r < 0)
		SNDERR("dde: %s", ddesnd_strerror(r));
	return r;
}

/*
 * How many values of @type ALSA's struct snd_ctl_elem_value holds (0: a
 * type we do not know). A driver's count beyond it is cut to it.
 */
static unsigned max_count(uint32_t type)
{
	switch (type) {
	case DDESND_CTL_BOOLEAN:
	case DDESND_CTL_INTEGER:
	case DDESND_CTL_ENUMERATED:
		return 128;
	case DDESND_CTL_INTEGER64:
		return 64;
	case DDESND_CTL_BYTES:
		return 512;
	case DDESND_CTL_IEC958:
		return 1;
	}
	return 0;
}

static void release(struct dde_ctl *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		struct dde_elem *e = &p->elems[i];

		for (unsigned k = 0; e->names && k < e->items; k++)
			free(e->names[k]);
		free(e->names);
	}
	free(p->elems);
	if (p->ext.poll_fd >= 0)
		close(p->ext.poll_fd);
	ddesnd_disconnect(p->s);
	free(p);
}

static void dde_close(snd_ctl_ext_t *ext)
{
	release(ext->private_data);
}

static int dde_elem_count(snd_ctl_ext_t *ext)
{
	struct dde_ctl *p = ext->private_data;

	return (int)p->n;
}

static int dde_elem_list(snd_ctl_ext_t *ext, unsigned int offset, snd_ctl_elem_id_t *id)
{
	struct dde_ctl *p = ext->private_data;
	const struct dde_elem *e;

	if (offset >= p->n)
		return -EINVAL;
	e = &p->elems[offset];
	snd_ctl_elem_id_set_interface(id, (snd_ctl_elem_iface_t)e->iface);
	snd_ctl_elem_id_set_device(id, e->device);
	snd_ctl_elem_id_set_subdevice(id, e->subdevice);
	snd_ctl_elem_id_set_name(id, e->name);
	snd_ctl_elem_id_set_index(id, e->index);
	return 0;
}

/* The key of an element: by alsa-lib's number (its place + 1), else by its id. */
static snd_ctl_ext_key_t dde_find_elem(snd_ctl_ext_t *ext, const snd_ctl_elem_id_t *id)
{
	struct dde_ctl *p = ext->private_data;
	unsigned numid = snd_ctl_elem_id_get_numid(id);
	unsigned iface = (unsigned)snd_ctl_elem_id_get_interface(id);
	const char *name = snd_ctl_elem_id_get_name(id);

	if (numid)
		return numid - 1 < p->n ? numid - 1 : SND_CTL_EXT_KEY_NOT_FOUND;
	for (unsigned i = 0; i < p->n; i++) {
		const struct dde_elem *e = &p->elems[i];

		if (e->iface == iface && e->index == snd_ctl_elem_id_get_index(id) &&
		    e->device == snd_ctl_elem_id_get_device(id) &&
		    e->subdevice == snd_ctl_elem_id_get_subdevice(id) && !strcmp(e->name, name))
			return i;
	}
	return SND_CTL_EXT_KEY_NOT_FOUND;
}

static int dde_get_attribute(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, int *type,
			     unsigned int *acc, unsigned int *count)
{
	struct dde_ctl *p = ext->private_data;
	const struct dde_elem *e;

	if (p->gone)
		return -ENODEV;	/* what is left of the card is not worth showing */
	if (key >= p->n)
		return -EINVAL;
	e = &p->elems[key];
	*type = (int)e->type;
	*acc = e->access & (SND_CTL_EXT_ACCESS_READWRITE | SND_CTL_EXT_ACCESS_VOLATILE |
			    SND_CTL_EXT_ACCESS_INACTIVE);
	*count = e->count;
	return 0;
}

static int dde_get_integer_info(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, long *imin,
				long *imax, long *istep)
{
	struct dde_ctl *p = ext->private_data;
	const struct dde_elem *e = &p->elems[key];

	*imin = (long)e->min;
	*imax = (long)e->max;
	*istep = (long)e->step;
	return 0;
}

static int dde_get_integer64_info(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, int64_t *imin,
				  int64_t *imax, int64_t *istep)
{
	struct dde_ctl *p = ext->private_data;
	const struct dde_elem *e = &p->elems[key];

	*imin = e->min;
	*imax = e->max;
	*istep = e->step;
	return 0;
}

static int dde_get_enumerated_info(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key,
				   unsigned int *items)
{
	struct dde_ctl *p = ext->private_data;

	*items = p->elems[key].items;
	return 0;
}

/* An item's name: asked once, then from the cache. */
static int dde_get_enumerated_name(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, unsigned int item,
				   char *name, size_t name_max_len)
{
	struct dde_ctl *p = ext->private_data;
	struct dde_elem *e = &p->elems[key];
	char got[sizeof(((struct ddesnd_ctl *)0)->item)];
	int r;

	/* alsa-lib asks for item 0 of every enumerated element, even of one without items */
	if (e->type != DDESND_CTL_ENUMERATED || item >= e->items)
		return -EINVAL;
	if (!e->names && e->items <= MAX_CACHED_ITEMS)
		e->names = calloc(e->items, sizeof(*e->names));
	if (e->names && e->names[item]) {
		snprintf(name, name_max_len, "%s", e->names[item]);
		return 0;
	}
	if (p->gone)
		return -ENODEV;
	r = ddesnd_ctl_item(p->s, p->card, e->numid, item, got, sizeof(got));
	if (r < 0)
		return result(p, r);
	if (e->names)
		e->names[item] = strdup(got);	/* NULL: asked again next time */
	snprintf(name, name_max_len, "%s", got);
	return 0;
}

/* The values of element @key into @c (c->value). */
static int read_values(struct dde_ctl *p, snd_ctl_ext_key_t key, struct ddesnd_ctl *c)
{
	if (p->gone)
		return -ENODEV;
	memset(c, 0, sizeof(*c));
	c->numid = p->elems[key].numid;
	return result(p, ddesnd_ctl_read(p->s, p->card, c));
}

/* Element @key set to @c->value: 1 changed, 0 not, or the error. */
static int write_values(struct dde_ctl *p, snd_ctl_ext_key_t key, struct ddesnd_ctl *c)
{
	if (p->gone)
		return -ENODEV;
	c->numid = p->elems[key].numid;
	return result(p, ddesnd_ctl_write(p->s, p->card, c));
}

/* boolean and integer: alsa-lib hands both over as longs */
static int dde_read_integer(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, long *value)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c;
	int r = read_values(p, key, &c);

	for (unsigned i = 0; !r && i < p->elems[key].count; i++)
		value[i] = (long)c.value.integer[i];
	return r;
}

static int dde_read_integer64(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, int64_t *value)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c;
	int r = read_values(p, key, &c);

	for (unsigned i = 0; !r && i < p->elems[key].count; i++)
		value[i] = c.value.integer[i];
	return r;
}

static int dde_read_enumerated(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, unsigned int *items)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c;
	int r = read_values(p, key, &c);

	for (unsigned i = 0; !r && i < p->elems[key].count; i++)
		items[i] = (unsigned int)c.value.integer[i];
	return r;
}

static int dde_read_bytes(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, unsigned char *data,
			  size_t max_bytes)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c;
	size_t n = p->elems[key].count;
	int r = read_values(p, key, &c);

	if (!r)
		memcpy(data, c.value.bytes, n < max_bytes ? n : max_bytes);
	return r;
}

static int dde_read_iec958(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, snd_aes_iec958_t *iec958)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c;
	int r = read_values(p, key, &c);

	if (!r)
		memcpy(iec958, c.value.bytes, sizeof(*iec958));
	return r;
}

static int dde_write_integer(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, long *value)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c = { 0 };

	for (unsigned i = 0; i < p->elems[key].count; i++)
		c.value.integer[i] = value[i];
	return write_values(p, key, &c);
}

static int dde_write_integer64(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, int64_t *value)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c = { 0 };

	for (unsigned i = 0; i < p->elems[key].count; i++)
		c.value.integer[i] = value[i];
	return write_values(p, key, &c);
}

static int dde_write_enumerated(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, unsigned int *items)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c = { 0 };

	for (unsigned i = 0; i < p->elems[key].count; i++)
		c.value.integer[i] = items[i];
	return write_values(p, key, &c);
}

static int dde_write_bytes(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, unsigned char *data,
			   size_t max_bytes)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c = { 0 };
	size_t n = p->elems[key].count;

	memcpy(c.value.bytes, data, n < max_bytes ? n : max_bytes);
	return write_values(p, key, &c);
}

static int dde_write_iec958(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, snd_aes_iec958_t *iec958)
{
	struct dde_ctl *p = ext->private_data;
	struct ddesnd_ctl c = { 0 };

	memcpy(c.value.bytes, iec958, sizeof(*iec958));
	return write_values(p, key, &c);
}

/* No change events: subscribing is allowed and brings nothing. */
static void dde_subscribe_events(snd_ctl_ext_t *ext, int subscribe)
{
}

static int dde_read_event(snd_ctl_ext_t *ext, snd_ctl_elem_id_t *id, unsigned int *event_mask)
{
	return -EAGAIN;
}

static const snd_ctl_ext_callback_t callbacks = {
	.close = dde_close,
	.elem_count = dde_elem_count,
	.elem_list = dde_elem_list,
	.find_elem = dde_find_elem,
	.get_attribute = dde_get_attribute,
	.get_integer_info = dde_get_integer_info,
	.get_integer64_info = dde_get_integer64_info,
	.get_enumerated_info = dde_get_enumerated_info,
	.get_enumerated_name = dde_get_enumerated_name,
	.read_integer = dde_read_integer,
	.read_integer64 = dde_read_integer64,
	.read_enumerated = dde_read_enumerated,
	.read_bytes = dde_read_bytes,
	.read_iec958 = dde_read_iec958,
	.write_integer = dde_write_integer,
	.write_integer64 = dde_write_integer64,
	.write_enumerated = dde_write_enumerated,
	.write_bytes = dde_write_bytes,
	.write_iec958 = dde_write_iec958,
	.subscribe_events = dde_subscribe_events,
	.read_event = dde_read_event,
};

/* The card's unit a PCM of sndd belongs to: "snd0.0" -> "snd0". */
static void unit_of(const char *pcm, char unit[DDESND_NAME])
{
	const char *dot = strrchr(pcm, '.');
	size_t n = dot ? (size_t)(dot - pcm) : strnlen(pcm, DDESND_NAME - 1);

	if (n > DDESND_NAME - 1)
		n = DDESND_NAME - 1;
	memcpy(unit, pcm, n);
	unit[n] = 0;
}

/*
 * The card @card ("": the first), from sndd's listing of the PCMs: its
 * unit into p->card, its names into the card information alsa-lib gives.
 */
static int find_card(struct dde_ctl *p, const char *card)
{
	struct ddesnd_pcm_info *all = NULL, *more;
	int n = 0, max = 0;
	char unit[DDESND_NAME];

	do {	/* as many as sndd serves */
		max = n > max ? n : 64;
		more = realloc(all, (size_t)max * sizeof(*all));
		if (!more) {
			free(all);
			return -ENOMEM;
		}
		all = more;
		n = ddesnd_list(p->s, all, max);
	} while (n > max);
	if (n < 0) {
		free(all);
		SNDERR("dde: %s", ddesnd_strerror(n));
		return n;
	}
	for (int i = 0; i < n; i++) {
		const struct ddesnd_pcm_info *f = &all[i];

		unit_of(f->name, unit);
		if (!unit[0] || (card[0] && strcmp(unit, card)))
			continue;
		snprintf(p->card, sizeof(p->card), "%s", unit);
		/* "snd1": card 1 (alsa-lib only shows the number) */
		p->ext.card_idx = atoi(unit + strcspn(unit, "0123456789"));
		snprintf(p->ext.id, sizeof(p->ext.id), "%.*s", (int)sizeof(p->ext.id) - 1, unit);
		snprintf(p->ext.driver, sizeof(p->ext.driver), "%.*s",
			 (int)sizeof(f->driver), f->driver);
		snprintf(p->ext.name, sizeof(p->ext.name), "%.*s", (int)sizeof(f->card), f->card);
		snprintf(p->ext.longname, sizeof(p->ext.longname), "%.*s",
			 (int)sizeof(f->longname), f->longname);
		/* Linux's mixer name is not listed: the card's short name */
		snprintf(p->ext.mixername, sizeof(p->ext.mixername), "%.*s", (int)sizeof(f->card),
			 f->card);
		free(all);
		return 0;
	}
	free(all);
	if (card[0])
		SNDERR("dde: the sound server has no card %s (`dde sound` lists its PCMs, "
		       "CARD.DEVICE)", card);
	else
		SNDERR("dde: the sound server has no sound card");
	return -ENOENT;
}

/* Every element of the card, as its driver describes them (CTL_INFO 0, 1, ...). */
static int load(struct dde_ctl *p)
{
	struct ddesnd_ctl c;
	struct dde_elem *more;
	unsigned cap = 0;
	int r;

	for (unsigned i = 0;; i++) {
		r = ddesnd_ctl_info(p->s, p->card, i, &c);
		if (r == -ENOENT)
			return 0;	/* past the end (at 0: a card without controls) */
		if (r < 0) {
			SNDERR("dde: %s", ddesnd_strerror(r));
			return r;
		}
		if (i == MAX_ELEMS) {
			SNDERR("dde: %s has more than %d mixer controls: only the first are shown",
			       p->card, MAX_ELEMS);
			return 0;
		}
		if (!max_count(c.type))
			continue;	/* a type alsa-lib would not know either */
		if (p->n == cap) {
			cap = cap ? 2 * cap : 64;
			more = realloc(p->elems, cap * sizeof(*more));
			if (!more)
				return -ENOMEM;
			p->elems = more;
		}
		p->elems[p->n++] = (struct dde_elem){
			.numid = c.numid, .iface = c.iface, .device = c.device,
			.subdevice = c.subdevice, .index = c.index, .type = c.type,
			.access = c.access,
			.count = c.count < max_count(c.type) ? c.count : max_count(c.type),
			.items = c.items, .min = c.min, .max = c.max, .step = c.step,
		};
		snprintf(p->elems[p->n - 1].name, sizeof(p->elems[0].name), "%s", c.name);
	}
}

static int dde_open(snd_ctl_t **handlep, const char *name, const char *card,
		    const char *server, int mode)
{
	struct dde_ctl *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->ext.poll_fd = -1;
	r = ddesnd_connect(server && *server ? server : NULL, &p->s);
	if (r) {
		SNDERR("dde: %s", ddesnd_strerror(r));
		free(p);
		return r;
	}
	r = find_card(p, card);
	if (!r)
		r = load(p);
	/*
	 * alsa-lib takes a control without a poll descriptor (-1), but then
	 * snd_ctl_wait and snd_hctl_wait (amixer events) fail at once with
	 * "Invalid poll_fds 0": one that never becomes ready waits for the
	 * events that never come, as a card's own control would.
	 */
	if (!r) {
		p->ext.poll_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->ext.poll_fd < 0) {
			r = -errno;
			SNDERR("dde: eventfd: %s", strerror(-r));
		}
	}
	if (r) {
		release(p);
		return r;
	}
	p->ext.version = SND_CTL_EXT_VERSION;
	p->ext.callback = &callbacks;
	p->ext.private_data = p;
	r = snd_ctl_ext_create(&p->ext, name, mode);
	if (r) {
		release(p);
		return r;
	}
	*handlep = p->ext.handle;
	return 0;
}

SND_CTL_PLUGIN_DEFINE_FUNC(dde);

SND_CTL_PLUGIN_DEFINE_FUNC(dde)
{
	const char *card, *server;
	int r = ddesnd_alsa_args(conf, "card", &card, &server);

	if (r)
		return r;
	return dde_open(handlep, name, card, server, mode);
}

SND_CTL_PLUGIN_SYMBOL(dde);
