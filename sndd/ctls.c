/*
 * sndd's mixer controls: a client's control request goes to the driver of
 * the card it names, the driver's answer back (libddesnd/proto.h). sndd
 * keeps no control state of its own; it only remembers which request of
 * which client each driver still has to answer, so that every client gets
 * one answer even when the driver dies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sndd.h"

/* A control request forwarded to a driver, not yet answered. */
struct ctlreq {
	uint32_t id;			/* sndd's number for it (the driver echoes it) */
	uint32_t seq;			/* the client's */
	struct peer *client;		/* NULL once the client went away */
	struct peer *driver;
	struct ctlreq *next;
};

/* mixer requests one driver may have unanswered at a time (a silent one costs no more) */
#define CTL_PER_DRIVER 16

static struct ctlreq *pending;
static uint32_t next_id;

static void answer(struct peer *c, uint32_t seq, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void answer(struct peer *c, uint32_t seq, int err, const char *fmt, ...)
{
	struct ddesnd_msg m;
	va_list ap;

	msg_init(&m, DDESND_CTL);
	m.seq = seq;
	m.value = err;
	va_start(ap, fmt);
	vsnprintf(m.error, sizeof(m.error), fmt, ap);
	va_end(ap);
	send_to(c, &m, NULL, 0);
}

/* The driver of card @unit ("": the first card listed), if it is ready. */
static struct peer *card(const char *unit)
{
	for (struct pcm *pcm = srv.pcms; pcm; pcm = pcm->next)
		if (pcm->driver->ready && (!unit[0] || !strcmp(pcm->driver->unit, unit)))
			return pcm->driver;
	return NULL;
}

void client_ctl(struct peer *c, const struct ddesnd_msg *m)
{
	struct peer *drv = card(m->name);
	struct ctlreq *r;
	struct ddesnd_msg f;

	if (!m->seq) {
		c->broken = "a request numbered 0; disconnected";
		return;
	}
	if (!drv) {
		if (m->name[0])
			answer(c, m->seq, -ENOENT, "no sound card %s", m->name);
		else
			answer(c, m->seq, -ENOENT, "no sound card");
		return;
	}
	/* one at a time per client, and few per driver: nobody fills the driver's queue */
	for (r = pending; r; r = r->next)
		if (r->client == c) {
			answer(c, m->seq, -EBUSY, "a mixer request of this client is unanswered");
			return;
		}
	if (drv->ctl_pending >= CTL_PER_DRIVER) {
		answer(c, m->seq, -EAGAIN, "the driver of %s has %d mixer requests unanswered",
		       drv->unit, drv->ctl_pending);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		answer(c, m->seq, -ENOMEM, "sndd is out of memory");
		return;
	}
	if (++next_id == 0)
		next_id = 1;
	*r = (struct ctlreq){ .id = next_id, .seq = m->seq, .client = c, .driver = drv,
			      .next = pending };
	pending = r;
	drv->ctl_pending++;
	msg_init(&f, m->type);
	f.stream = r->id;
	f.seq = m->seq;
	f.value = m->value;
	f.ctl = m->ctl;
	send_to(drv, &f, NULL, 0);
}

void driver_ctl(struct peer *drv, const struct ddesnd_msg *m)
{
	for (struct ctlreq **pp = &pending; *pp; pp = &(*pp)->next) {
		struct ctlreq *r = *pp;
		struct ddesnd_msg a;

		if (r->id != m->stream || r->driver != drv)
			continue;
		if (r->client) {
			a = *m;
			a.stream = 0;
			a.seq = r->seq;
			send_to(r->client, &a, NULL, 0);
		}
		drv->ctl_pending--;
		*pp = r->next;
		free(r);
		return;
	}
	sndd_log("the driver of %s answered a mixer request it was not asked: ignored", drv->unit);
}

/* A client went away: its answer, if one comes, goes nowhere. */
void ctl_client_gone(struct peer *c)
{
	for (struct ctlreq *r = pending; r; r = r->next)
		if (r->client == c)
			r->client = NULL;
}

/* A driver went away: whoever waits for it gets the error now. */
void ctl_driver_gone(struct peer *drv, const char *why)
{
	for (struct ctlreq **pp = &pending; *pp;) {
		struct ctlreq *r = *pp;

		if (r->driver != drv) {
			pp = &r->next;
			continue;
		}
		if (r->client)
			answer(r->client, r->seq, -ENODEV, "the driver of %s (%s) is gone", drv->unit,
			       drv->name);
		*pp = r->next;
		free(r);
	}
}
