/*
 * inputd's devices: what drivers announce, the events they pass on to the
 * subscribed clients, and the output events clients send a device's
 * driver (LEDs, autorepeat).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/input-event-codes.h>

#include "../libddeinput/client.h"
#include "inputd.h"

static struct device *device_named(const char *name)
{
	for (struct device *d = srv.devices; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

static struct device *device_of(const struct peer *drv, uint32_t id)
{
	for (struct device *d = srv.devices; d; d = d->next)
		if (d->driver == drv && d->info.id == id)
			return d;
	return NULL;
}

static int subscribed(const struct peer *c, const struct device *d)
{
	if (c->role != DDEINPUT_ROLE_CLIENT || c->broken)
		return 0;
	if (c->all)
		return 1;
	for (int i = 0; i < c->nsubs; i++)
		if (c->subs[i] == d->serial)
			return 1;
	return 0;
}

/* The answer of @type to @req: @value, and why (if not 0) */
static void answer(struct peer *p, int type, const struct ddeinput_msg *req, int value,
		   const char *fmt, ...)
{
	struct ddeinput_msg m;
	va_list ap;

	msg_init(&m, type);
	m.seq = req->seq;
	m.value = value;
	snprintf(m.name, sizeof(m.name), "%s", req->name);
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(m.error, sizeof(m.error), fmt, ap);
		va_end(ap);
	}
	send_to(p, &m);
}

/* DEVICE, as clients get it: inputd's name and the driver's description */
static void device_msg(struct ddeinput_msg *m, const struct device *d, uint32_t seq)
{
	msg_init(m, DDEINPUT_DEVICE);
	m->seq = seq;
	snprintf(m->name, sizeof(m->name), "%s", d->name);
	m->dev = d->info;
}

/* ---- what drivers say ---- */

/* A description that cannot be served: what is wrong with it, or NULL. */
static const char *bad_device(const struct peer *drv, const struct ddeinput_device *i)
{
	if (device_of(drv, i->id))
		return "malformed message (the same device id twice); disconnected";
	if (drv->ndevices >= INPUTD_MAX_DEVICES)
		return "more devices than inputd takes from one driver (32); disconnected";
	if (strnlen(i->name, sizeof(i->name)) == sizeof(i->name) ||
	    strnlen(i->phys, sizeof(i->phys)) == sizeof(i->phys))
		return "malformed message (a device's name without its end); disconnected";
	return NULL;
}

/* The lowest number no device has: "input0", "input1", ... */
static int free_number(void)
{
	int n = 0;

	for (struct device *d = srv.devices; d && d->number == n; d = d->next)
		n++;
	return n;
}

static void announce(struct peer *drv, const struct ddeinput_msg *m)
{
	const char *bad = bad_device(drv, &m->dev);
	struct device *d, **pp;
	struct ddeinput_msg note;

	if (bad) {
		drv->broken = bad;
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		drv->broken = "out of memory";
		return;
	}
	d->info = m->dev;
	driver_text(drv, d->info.driver, sizeof(d->info.driver));
	d->number = free_number();
	snprintf(d->name, sizeof(d->name), "input%d", d->number);
	d->serial = srv.next_serial++;
	d->driver = drv;
	d->uinput = -1;
	/* kept by number: listed in that order, and the lowest free found */
	for (pp = &srv.devices; *pp && (*pp)->number < d->number; pp = &(*pp)->next)
		;
	d->next = *pp;
	*pp = d;
	drv->ndevices++;
	inputd_log("device %s: %s (driver %s)", d->name,
		   d->info.name[0] ? d->info.name : "(no name)", d->info.driver);
	device_msg(&note, d, 0);
	for (struct peer *c = srv.peers; c; c = c->next)
		if (c->role == DDEINPUT_ROLE_CLIENT && c->all)
			send_to(c, &note);
	uinput_create(d);
}

/* @d is gone: its subscribers are told, and nobody holds it any more */
static void device_remove(struct device *d)
{
	struct ddeinput_msg note;

	msg_init(&note, DDEINPUT_GONE);
	snprintf(note.name, sizeof(note.name), "%s", d->name);
	for (struct peer *c = srv.peers; c; c = c->next) {
		if (!subscribed(c, d))
			continue;
		send_to(c, &note);
		for (int i = 0; i < c->nsubs; i++)
			if (c->subs[i] == d->serial)
				c->subs[i--] = c->subs[--c->nsubs];
	}
	inputd_log("device %s gone", d->name);
	uinput_destroy(d);
	for (struct device **pp = &srv.devices; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	d->driver->ndevices--;
	free(d);
}

/*
 * EVENTS to one client, never waiting: a client whose socket is full
 * loses them, and is told how many in the next it takes.
 */
static void deliver(struct peer *c, struct ddeinput_msg *m)
{
	ssize_t r;

	m->value = (int32_t)(c->lost > INT32_MAX ? INT32_MAX : c->lost);
	r = send(c->sock, m, sizeof(*m), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r == (ssize_t)sizeof(*m))
		c->lost = 0;
	else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
		c->lost = c->lost + m->count < c->lost ? UINT32_MAX : c->lost + m->count;
	else
		c->broken = "disconnected";
}

static void driver_events(struct peer *drv, const struct ddeinput_msg *m)
{
	struct device *d = device_of(drv, m->dev.id);
	struct ddeinput_msg out;

	if (!d) {
		drv->broken = "malformed message (events of a device it did not announce); "
			      "disconnected";
		return;
	}
	if (!m->count) {
		drv->broken = "malformed message (EVENTS without events); disconnected";
		return;
	}
	for (uint32_t i = 0; i < m->count; i++)
		if (m->ev[i].type >= DDEINPUT_EV_CNT || m->ev[i].code >= DDEINPUT_KEY_CNT) {
			drv->broken = "malformed message (an event of a type or code Linux does "
				      "not have); disconnected";
			return;
		}
	msg_init(&out, DDEINPUT_EVENTS);
	snprintf(out.name, sizeof(out.name), "%s", d->name);
	out.count = m->count;
	memcpy(out.ev, m->ev, m->count * sizeof(m->ev[0]));
	for (struct peer *c = srv.peers; c; c = c->next)
		if (subscribed(c, d))
			deliver(c, &out);
	uinput_events(d, m->ev, m->count);
}

void driver_message(struct peer *drv, const struct ddeinput_msg *m)
{
	struct device *d;

	switch (m->type) {
	case DDEINPUT_DEVICE:
		announce(drv, m);
		break;
	case DDEINPUT_GONE:
		d = device_of(drv, m->dev.id);
		if (d)
			device_remove(d);
		else
			drv->broken = "malformed message (GONE of a device it did not announce); "
				      "disconnected";
		break;
	case DDEINPUT_EVENTS:
		driver_events(drv, m);
		break;
	default:
		drv->broken = "malformed message (one a driver does not send); disconnected";
	}
}

void driver_gone(struct peer *drv, const char *why)
{
	char text[96];

	driver_text(drv, text, sizeof(text));
	inputd_log("driver %s gone (%s)", text, why);
	for (struct device *d = srv.devices, *next; d; d = next) {
		next = d->next;
		if (d->driver == drv)
			device_remove(d);
	}
}

/* ---- what clients ask ---- */

static void list(struct peer *c, const struct ddeinput_msg *req)
{
	struct ddeinput_msg m;

	for (struct device *d = srv.devices; d; d = d->next) {
		device_msg(&m, d, req->seq);
		send_to(c, &m);
	}
	msg_init(&m, DDEINPUT_LIST_END);
	m.seq = req->seq;
	send_to(c, &m);
}

static void subscribe(struct peer *c, const struct ddeinput_msg *req)
{
	struct device *d = req->name[0] ? device_named(req->name) : NULL;

	if (!req->name[0]) {
		c->all = 1;
	} else if (!d) {
		answer(c, DDEINPUT_SUBSCRIBED, req, -ENOENT,
		       "no input device %s (dde input lists them)", req->name);
		return;
	} else if (!subscribed(c, d)) {
		if (c->nsubs == INPUTD_MAX_SUBS) {
			answer(c, DDEINPUT_SUBSCRIBED, req, -ENOSPC, "more than %d devices "
			       "subscribed to by name on one connection (\"\" is every device)",
			       INPUTD_MAX_SUBS);
			return;
		}
		c->subs[c->nsubs++] = d->serial;
	}
	answer(c, DDEINPUT_SUBSCRIBED, req, 0, NULL);
}

/* Whether a client may send @e to @d; if not, why into @why */
static int may_send(const struct device *d, const struct ddeinput_event *e, char *why,
		    size_t cap)
{
	const struct ddeinput_device *i = &d->info;
	const char *code = ddeinput_code_name(e->type, e->code);

	if (e->type == EV_SYN && e->code == SYN_REPORT)
		return 1;
	if (e->type == EV_LED && e->code < DDEINPUT_LED_CNT && ddeinput_bit(i->ev, EV_LED) &&
	    ddeinput_bit(i->led, e->code))
		return 1;
	if (e->type == EV_REP && e->code <= REP_PERIOD && ddeinput_bit(i->ev, EV_REP))
		return 1;
	if (e->type == EV_LED || e->type == EV_REP)
		snprintf(why, cap, "%s has no %s", d->name, code ? code : "such LED or setting");
	else
		snprintf(why, cap, "a program may send %s only LED and autorepeat events "
			 "(EV_LED, EV_REP), not %s", d->name,
			 ddeinput_type_name(e->type) ? ddeinput_type_name(e->type) : "that type");
	return 0;
}

/* Output events for a device: to its driver, if they are ones a program may send */
static void client_events(struct peer *c, const struct ddeinput_msg *req)
{
	struct device *d = device_named(req->name);
	struct ddeinput_msg m;
	char why[128];

	if (!d) {
		answer(c, DDEINPUT_SENT, req, -ENOENT, "no input device %s (dde input lists "
		       "them)", req->name);
		return;
	}
	if (!req->count) {
		answer(c, DDEINPUT_SENT, req, -EINVAL, "no events to send");
		return;
	}
	for (uint32_t k = 0; k < req->count; k++)
		if (!may_send(d, &req->ev[k], why, sizeof(why))) {
			answer(c, DDEINPUT_SENT, req, -EINVAL, "%s", why);
			return;
		}
	msg_init(&m, DDEINPUT_EVENTS);
	snprintf(m.name, sizeof(m.name), "%s", d->name);
	m.dev.id = d->info.id;
	m.count = req->count;
	memcpy(m.ev, req->ev, req->count * sizeof(req->ev[0]));
	if (send(d->driver->sock, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(m)) {
		answer(c, DDEINPUT_SENT, req, (int)req->count, NULL);
	} else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
		answer(c, DDEINPUT_SENT, req, -EAGAIN, "the driver of %s does not take "
		       "messages now; try again", d->name);
	} else {
		d->driver->broken = "disconnected";
		answer(c, DDEINPUT_SENT, req, -ENODEV, "the driver of %s is gone", d->name);
	}
}

void client_message(struct peer *c, const struct ddeinput_msg *m)
{
	switch (m->type) {
	case DDEINPUT_LIST:
		list(c, m);
		break;
	case DDEINPUT_SUBSCRIBE:
		subscribe(c, m);
		break;
	case DDEINPUT_EVENTS:
		client_events(c, m);
		break;
	default:
		c->broken = "malformed message (one a client does not send); disconnected";
	}
}
