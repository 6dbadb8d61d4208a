/*
 * libddeinput: a program's side of the input server, inputd
 * (docs/input.md). A program connects, lists the input devices the
 * drivers serve, subscribes to the events of one device or of all, takes
 * them (and the news of devices coming and going) one message at a time,
 * and may set a device's LEDs. Also Linux's names of the event types and
 * codes ("EV_KEY", "KEY_A"), made at build time from the host's
 * <linux/input-event-codes.h>, whose numbers the events carry.
 *
 * Every call that fails returns -errno; ddeinput_error() then says why in
 * one line (inputd's own words when it gave a reason).
 */
#ifndef DDEINPUT_CLIENT_H
#define DDEINPUT_CLIENT_H

#include <stddef.h>

#include "proto.h"

struct ddeinput;	/* a connection to inputd */

/* One device as inputd serves it. */
struct ddeinput_info {
	char name[DDEINPUT_NAME];	/* inputd's name for it: "input0" */
	struct ddeinput_device dev;	/* as its driver described it; dev.driver: which */
};

/*
 * Connect to inputd at @socket ("@name" abstract, "fd:N", or a path;
 * NULL or "": $DDE_INPUT) as @myname (NULL: the program's name, for
 * inputd's log). NULL if that fails, and why in @err (@cap bytes; NULL:
 * not said).
 */
struct ddeinput *ddeinput_connect(const char *socket, const char *myname, char *err,
				  size_t cap);
void ddeinput_close(struct ddeinput *c);

/* Why the last call on @c failed, in one line. */
const char *ddeinput_error(const struct ddeinput *c);

/*
 * The devices, by name: up to @max into @out. Returns how many there are
 * (more than @max: the first @max filled), or -errno.
 */
int ddeinput_list(struct ddeinput *c, struct ddeinput_info *out, int max);

/*
 * From now on, the events of device @name ("" or NULL: of every device,
 * and DEVICE when one appears), and GONE when it goes: 0, or -ENOENT when
 * there is no such device.
 */
int ddeinput_subscribe(struct ddeinput *c, const char *name);

/*
 * The next message inputd sent on its own, waiting up to @timeout_ms (-1:
 * for ever, 0: not at all): DDEINPUT_EVENTS (out->name: the device,
 * out->count events in out->ev, out->value: events lost before these
 * because the program did not read in time), DDEINPUT_DEVICE (out->name,
 * out->dev: a device that appeared) or DDEINPUT_GONE (out->name). Returns
 * that type, 0 when nothing came in time, -ENODEV when inputd is gone.
 * Messages that came while another call waited for its answer are kept
 * for this one: poll ddeinput_fd() only once this returned 0.
 */
int ddeinput_next(struct ddeinput *c, struct ddeinput_msg *out, int timeout_ms);

/*
 * Send @n output events (EV_LED, EV_REP, each report ended by EV_SYN
 * SYN_REPORT) to device @name's driver: @n when they went, or -errno
 * (-EINVAL: events the device does not take).
 */
int ddeinput_send(struct ddeinput *c, const char *name, const struct ddeinput_event *ev,
		  int n);

/* The connection's socket, to poll with others (see ddeinput_next). */
int ddeinput_fd(const struct ddeinput *c);

/* Linux's names: "EV_KEY" for 1; "KEY_A" for (1, 30), "BTN_LEFT" for (1, 0x110),
 * "SYN_REPORT" for (0, 0), as evtest prints them. NULL if Linux has none. */
const char *ddeinput_type_name(unsigned type);
const char *ddeinput_code_name(unsigned type, unsigned code);
/* The other way: "LED_CAPSL" -> EV_LED, 1. 0, or -ENOENT. */
int ddeinput_code_by_name(const char *name, unsigned *type, unsigned *code);

/* Bit @n of a capability bitmap of struct ddeinput_device */
static inline int ddeinput_bit(const unsigned char *bits, unsigned n)
{
	return bits[n / 8] >> (n % 8) & 1;
}

#endif
