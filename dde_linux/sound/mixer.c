/*
 * Sound class glue, the mixer: the card's controls served to the sound
 * server (libddesnd/proto.h, CTL_*), the way ALSA's control device serves
 * them to alsa-lib (sound/core/control.c: SNDRV_CTL_IOCTL_ELEM_LIST,
 * _INFO, _READ, _WRITE), written on the in-kernel interface: the card's
 * control list under its controls_rwsem and each control's own info, get
 * and put callbacks. Unlike the ioctls (which validate only with
 * CONFIG_SND_CTL_INPUT_VALIDATION), a value out of the element's range is
 * refused here before the driver sees it: clients are not trusted.
 */
#include <linux/slab.h>
#include <sound/control.h>
#include <sound/core.h>

#include <lx_kit/snd.h>
#include "lx_emul.h"
#include "sound.h"

/* The element at @index of the card's list; under controls_rwsem. */
static struct snd_kcontrol *nth(struct snd_card *card, unsigned index, unsigned *ioff)
{
	struct snd_kcontrol *kctl;

	list_for_each_entry(kctl, &card->controls, list) {
		if (index < kctl->count) {
			*ioff = index;
			return kctl;
		}
		index -= kctl->count;
	}
	return NULL;
}

static struct snd_kcontrol *by_numid(struct snd_card *card, unsigned numid, unsigned *ioff)
{
	struct snd_kcontrol *kctl = snd_ctl_find_numid(card, numid);

	if (kctl)
		*ioff = numid - kctl->id.numid;
	return kctl;
}

/* The element's description (Linux's info callback), item @item's name too. */
static int info_of(struct snd_card *card, struct snd_kcontrol *kctl, unsigned ioff,
		   struct snd_ctl_elem_info *info, unsigned item)
{
	int r;

	memset(info, 0, sizeof(*info));
	snd_ctl_build_ioff(&info->id, kctl, ioff);
	info->value.enumerated.item = item;
	r = snd_power_ref_and_wait(card);
	if (!r)
		r = kctl->info(kctl, info);
	snd_power_unref(card);
	info->access = kctl->vd[ioff].access;
	return r;
}

static void describe(const struct snd_ctl_elem_info *info, struct ddesnd_ctl *c)
{
	const struct snd_ctl_elem_id *id = &info->id;

	c->numid = id->numid;
	c->iface = (__force u32)id->iface;
	c->device = id->device;
	c->subdevice = id->subdevice;
	c->index = id->index;
	strscpy(c->name, id->name, sizeof(c->name));
	c->type = (__force u32)info->type;
	c->access = info->access & (SNDRV_CTL_ELEM_ACCESS_READWRITE | SNDRV_CTL_ELEM_ACCESS_VOLATILE |
				    SNDRV_CTL_ELEM_ACCESS_INACTIVE);
	c->count = info->count;
	if (info->type == SNDRV_CTL_ELEM_TYPE_INTEGER) {
		c->min = info->value.integer.min;
		c->max = info->value.integer.max;
		c->step = info->value.integer.step;
	} else if (info->type == SNDRV_CTL_ELEM_TYPE_INTEGER64) {
		c->min = info->value.integer64.min;
		c->max = info->value.integer64.max;
		c->step = info->value.integer64.step;
	} else if (info->type == SNDRV_CTL_ELEM_TYPE_BOOLEAN) {
		c->max = 1;
	} else if (info->type == SNDRV_CTL_ELEM_TYPE_ENUMERATED) {
		c->items = info->value.enumerated.items;
	}
}

/* How many values of @info fit a message (and an ALSA value): 0 if they do not. */
static unsigned values_of(const struct snd_ctl_elem_info *info)
{
	unsigned cap;

	switch ((__force int)info->type) {
	case SNDRV_CTL_ELEM_TYPE_BOOLEAN:
	case SNDRV_CTL_ELEM_TYPE_INTEGER:
	case SNDRV_CTL_ELEM_TYPE_ENUMERATED:
		cap = 128;
		break;
	case SNDRV_CTL_ELEM_TYPE_INTEGER64:
		cap = 64;
		break;
	case SNDRV_CTL_ELEM_TYPE_BYTES:
		cap = 512;
		break;
	case SNDRV_CTL_ELEM_TYPE_IEC958:
		return info->count == 1;
	default:
		return 0;
	}
	return info->count <= cap ? info->count : 0;
}

/* Linux's value into the message's, and back. */
static void take(const struct snd_ctl_elem_info *info, const struct snd_ctl_elem_value *v,
		 struct ddesnd_ctl *c)
{
	unsigned n = values_of(info);

	for (unsigned i = 0; i < n; i++) {
		switch ((__force int)info->type) {
		case SNDRV_CTL_ELEM_TYPE_BOOLEAN:
		case SNDRV_CTL_ELEM_TYPE_INTEGER:
			c->value.integer[i] = v->value.integer.value[i];
			break;
		case SNDRV_CTL_ELEM_TYPE_ENUMERATED:
			c->value.integer[i] = v->value.enumerated.item[i];
			break;
		case SNDRV_CTL_ELEM_TYPE_INTEGER64:
			c->value.integer[i] = v->value.integer64.value[i];
			break;
		case SNDRV_CTL_ELEM_TYPE_BYTES:
			c->value.bytes[i] = v->value.bytes.data[i];
			break;
		}
	}
	if (info->type == SNDRV_CTL_ELEM_TYPE_IEC958)
		memcpy(c->value.bytes, &v->value.iec958, sizeof(v->value.iec958));
}

/* The client's values into Linux's, refused if one is not in the element's range. */
static int give(const struct snd_ctl_elem_info *info, const struct ddesnd_ctl *c,
		struct snd_ctl_elem_value *v, char *why, size_t cap)
{
	unsigned n = values_of(info);

	for (unsigned i = 0; i < n; i++) {
		s64 x = c->value.integer[i], lo = 0, hi = 0, step = 0;

		switch ((__force int)info->type) {
		case SNDRV_CTL_ELEM_TYPE_BOOLEAN:
			hi = 1;
			break;
		case SNDRV_CTL_ELEM_TYPE_INTEGER:
			lo = info->value.integer.min;
			hi = info->value.integer.max;
			step = info->value.integer.step;
			break;
		case SNDRV_CTL_ELEM_TYPE_ENUMERATED:
			hi = (s64)info->value.enumerated.items - 1;
			break;
		case SNDRV_CTL_ELEM_TYPE_INTEGER64:
			lo = info->value.integer64.min;
			hi = info->value.integer64.max;
			step = info->value.integer64.step;
			break;
		case SNDRV_CTL_ELEM_TYPE_BYTES:
			v->value.bytes.data[i] = c->value.bytes[i];
			continue;
		case SNDRV_CTL_ELEM_TYPE_IEC958:
			continue;	/* bytes of ALSA's own layout, copied whole below */
		}
		if (x < lo || x > hi || (step > 1 && ((u64)x - (u64)lo) % (u64)step)) {
			snprintf(why, cap, "'%s': value %lld is not in %lld..%lld%s", info->id.name,
				 x, lo, hi, step > 1 ? " (in its steps)" : "");
			return -EINVAL;
		}
		if (info->type == SNDRV_CTL_ELEM_TYPE_ENUMERATED)
			v->value.enumerated.item[i] = (unsigned)x;
		else if (info->type == SNDRV_CTL_ELEM_TYPE_INTEGER64)
			v->value.integer64.value[i] = x;
		else
			v->value.integer.value[i] = (long)x;
	}
	if (info->type == SNDRV_CTL_ELEM_TYPE_IEC958)
		memcpy(&v->value.iec958, c->value.bytes, sizeof(v->value.iec958));
	return 0;
}

/* Read or write element @c->numid (@write: with @c's values): 0, 1 changed, or -errno. */
static int access_value(struct snd_card *card, struct ddesnd_ctl *c, bool write, char *why,
			size_t cap)
{
	struct snd_ctl_elem_value *v = kzalloc(sizeof(*v), GFP_KERNEL);
	struct snd_ctl_elem_info info;
	struct snd_kcontrol *kctl;
	unsigned ioff, need;
	int r;

	if (!v)
		return -ENOMEM;
	if (write)
		down_write(&card->controls_rwsem);
	else
		down_read(&card->controls_rwsem);
	kctl = by_numid(card, c->numid, &ioff);
	need = write ? SNDRV_CTL_ELEM_ACCESS_WRITE : SNDRV_CTL_ELEM_ACCESS_READ;
	if (!kctl) {
		snprintf(why, cap, "no control %u on this card", c->numid);
		r = -ENOENT;
	} else if (!(kctl->vd[ioff].access & need) || !(write ? kctl->put : kctl->get)) {
		snprintf(why, cap, "'%s' cannot be %s", kctl->id.name, write ? "written" : "read");
		r = -EPERM;
	} else if ((r = info_of(card, kctl, ioff, &info, 0)) < 0) {
		snprintf(why, cap, "'%s': the driver did not describe it (%d)", kctl->id.name, r);
	} else if (!values_of(&info)) {
		snprintf(why, cap, "'%s': a value of this type and size is not served",
			 kctl->id.name);
		r = -EOPNOTSUPP;
	} else {
		snd_ctl_build_ioff(&v->id, kctl, ioff);
		r = write ? give(&info, c, v, why, cap) : 0;
		if (!r) {
			/* it takes a reference even when it fails: always given back */
			r = snd_power_ref_and_wait(card);
			if (!r)
				r = write ? kctl->put(kctl, v) : kctl->get(kctl, v);
			snd_power_unref(card);
		}
		if (r < 0 && !why[0])
			snprintf(why, cap, "'%s': refused by the driver (%d)", kctl->id.name, r);
		if (r >= 0 && !write)
			take(&info, v, c);
	}
	if (write && r > 0) {
		/* as the ioctl does: whoever listens to the card hears of the change */
		downgrade_write(&card->controls_rwsem);
		snd_ctl_notify_one(card, SNDRV_CTL_EVENT_MASK_VALUE, kctl, ioff);
		up_read(&card->controls_rwsem);
	} else if (write) {
		up_write(&card->controls_rwsem);
	} else {
		up_read(&card->controls_rwsem);
	}
	kfree(v);
	return write ? (r > 0 ? 1 : r) : (r < 0 ? r : 0);
}

void lx_snd_serve_ctl(struct snd_card *card, const struct lx_kit_snd_request *req)
{
	struct ddesnd_ctl c = { 0 };
	struct snd_ctl_elem_info info;
	struct snd_kcontrol *kctl;
	char why[128] = "";
	unsigned ioff;
	int r;

	if (!card) {
		lx_kit_snd_answer_ctl(req, -ENODEV, NULL, "the card is gone");
		return;
	}
	switch (req->op) {
	case LX_SND_CTL_INFO:
	case LX_SND_CTL_ITEM:
		down_read(&card->controls_rwsem);
		if (req->op == LX_SND_CTL_INFO)
			kctl = req->value >= 0 ? nth(card, (unsigned)req->value, &ioff) : NULL;
		else
			kctl = by_numid(card, req->ctl.numid, &ioff);
		r = kctl ? info_of(card, kctl, ioff, &info, req->op == LX_SND_CTL_ITEM ? req->value : 0) :
			   -ENOENT;
		if (r == -ENOENT && !kctl)
			snprintf(why, sizeof(why), req->op == LX_SND_CTL_INFO ?
				 "no more controls" : "no such control");
		else if (r < 0)
			snprintf(why, sizeof(why), "'%s': the driver did not describe it (%d)",
				 kctl->id.name, r);
		if (r >= 0)
			describe(&info, &c);
		if (r >= 0 && req->op == LX_SND_CTL_ITEM) {
			if (info.type != SNDRV_CTL_ELEM_TYPE_ENUMERATED || req->value < 0 ||
			    (unsigned)req->value >= info.value.enumerated.items) {
				snprintf(why, sizeof(why), "'%s' has no item %d", info.id.name,
					 req->value);
				r = -EINVAL;
			} else {
				strscpy(c.item, info.value.enumerated.name, sizeof(c.item));
			}
		}
		up_read(&card->controls_rwsem);
		lx_kit_snd_answer_ctl(req, r < 0 ? r : 0, &c, why);
		return;
	case LX_SND_CTL_READ:
	case LX_SND_CTL_WRITE:
		c = req->ctl;
		r = access_value(card, &c, req->op == LX_SND_CTL_WRITE, why, sizeof(why));
		lx_kit_snd_answer_ctl(req, r, &c, why);
		return;
	}
}
