/*
 * The inputd channel (docs/input.md): messages on a Unix SOCK_SEQPACKET
 * socket, one struct ddeinput_msg each. Input is a few hundred events a
 * second at most: no shared-memory ring. Private to libddeinput, inputd
 * and the input glue of driver processes (dde_linux/usb/input.c).
 *
 * Roles. A driver process is handed its connection by dde (CHANNEL on
 * inputd's control channel, name = the driver's unit, "usb0"); it says
 * HELLO (role DRIVER), then DEVICE for each Linux input device it
 * registers (dev.id: its own number for the device, unique within the
 * driver) and GONE (id) when one is unregistered, and EVENTS as they
 * come (id, up to DDEINPUT_BATCH events: one report's events up to and
 * including its EV_SYN/SYN_REPORT are never split across messages by a
 * driver; a longer report is).
 *
 * inputd names each device it is told of "input0", "input1", ... (the
 * lowest number free) and keeps it until the driver says GONE or dies.
 * When a supervised driver dies, its devices are gone (clients get GONE);
 * the restarted driver announces them again (new names may be taken).
 *
 * A client connects (HELLO, role CLIENT; name: its own name, for the log)
 * and asks:
 *   LIST           -> DEVICE per device (name: inputd's), LIST_END
 *   SUBSCRIBE name -> value 0 or -errno (SUBSCRIBED): from then on the
 *                     client gets EVENTS of that device ("" = of every
 *                     device, now and later, each message naming its
 *                     device), DEVICE when a device appears (subscribers
 *                     of "" only) and GONE when a subscribed device goes
 *   EVENTS name    -> to the device's driver (value: number sent or
 *                     -errno, in SENT): output events a client may send,
 *                     EV_LED and EV_REP (a keyboard's Caps Lock LED);
 *                     others are refused with -EINVAL
 * Every reply echoes the request's seq. inputd drops a peer whose message
 * is malformed or does not fit its role, with a line saying why. A client
 * that does not read its events for long enough (its socket's buffer
 * full) loses them: inputd counts them and tells the client in the next
 * EVENTS it can send (value: the number lost before these).
 *
 * Times are CLOCK_MONOTONIC nanoseconds, taken by the driver when Linux's
 * input core passed the event on (the same clock as the host's).
 */
#ifndef DDEINPUT_PROTO_H
#define DDEINPUT_PROTO_H

#ifdef __KERNEL__	/* the input glue of a driver process, on Linux's headers */
#include <linux/types.h>
typedef s32 ddeinput_s32;
typedef u16 ddeinput_u16;
typedef u32 ddeinput_u32;
typedef u64 ddeinput_u64;
#else
#include <stdint.h>
typedef int32_t ddeinput_s32;
typedef uint16_t ddeinput_u16;
typedef uint32_t ddeinput_u32;
typedef uint64_t ddeinput_u64;
#endif

#define DDEINPUT_MAGIC 0x4e504e49u	/* "INPN" */
#define DDEINPUT_VERSION 1

#define DDEINPUT_NAME 32	/* inputd's names: "input0" */
#define DDEINPUT_BATCH 64	/* events in one EVENTS message */

/* Linux's input code counts (include/uapi/linux/input-event-codes.h) */
#define DDEINPUT_EV_CNT 0x20
#define DDEINPUT_KEY_CNT 0x300
#define DDEINPUT_REL_CNT 0x10
#define DDEINPUT_ABS_CNT 0x40
#define DDEINPUT_MSC_CNT 0x08
#define DDEINPUT_LED_CNT 0x10

enum ddeinput_type {
	DDEINPUT_HELLO = 1,	/* -> inputd: value = role; name: the peer's own name (log) */
	DDEINPUT_WELCOME,	/* inputd ->: value 0 or -errno (error) */
	DDEINPUT_LIST,		/* client -> inputd */
	DDEINPUT_DEVICE,	/* driver -> inputd (a new device), inputd -> client: dev */
	DDEINPUT_LIST_END,	/* inputd -> client */
	DDEINPUT_GONE,		/* driver -> inputd: dev.id; inputd -> client: name */
	DDEINPUT_SUBSCRIBE,	/* client -> inputd: name ("" = every device) */
	DDEINPUT_SUBSCRIBED,	/* inputd -> client: value 0 or -errno (error) */
	DDEINPUT_EVENTS,	/* driver -> inputd: dev.id, count, ev[]; inputd -> client:
				 * name, count, ev[], value = events lost before these;
				 * client -> inputd -> driver: output events (EV_LED, EV_REP) */
	DDEINPUT_SENT,		/* inputd -> client: value = events sent, or -errno */
	DDEINPUT_CHANNEL,	/* dde -> inputd on its control channel: name = the driver's
				 * unit ("usb0"); 1 fd = inputd's end of its connection */
};

enum { DDEINPUT_ROLE_CLIENT = 1, DDEINPUT_ROLE_DRIVER = 2 };

/* One event, as Linux's struct input_event without its timeval. */
struct ddeinput_event {
	ddeinput_u64 time_ns;	/* CLOCK_MONOTONIC */
	ddeinput_u16 type, code;
	ddeinput_s32 value;
};

/* An absolute axis' range (Linux's struct input_absinfo). */
struct ddeinput_abs {
	ddeinput_s32 value, minimum, maximum, fuzz, flat, resolution;
};

/* One input device, as Linux's input core knows it. */
struct ddeinput_device {
	ddeinput_u32 id;		/* the driver's number for it */
	char name[80];			/* Linux's dev->name: "QEMU QEMU USB Keyboard" */
	char phys[64];			/* dev->phys: "usb-0000:00:04.0-1/input0" */
	char driver[64];		/* inputd ->: the driver's unit and instance */
	ddeinput_u16 bustype, vendor, product, version;	/* dev->id */
	/* capability bitmaps, bit n of byte n / 8 (little-endian bit order) */
	unsigned char ev[DDEINPUT_EV_CNT / 8];
	unsigned char key[DDEINPUT_KEY_CNT / 8];
	unsigned char rel[DDEINPUT_REL_CNT / 8];
	unsigned char abs[DDEINPUT_ABS_CNT / 8];
	unsigned char msc[DDEINPUT_MSC_CNT / 8];
	unsigned char led[DDEINPUT_LED_CNT / 8];
	struct ddeinput_abs absinfo[DDEINPUT_ABS_CNT];	/* for the axes set in abs[] */
	ddeinput_u32 rep_delay, rep_period;	/* autorepeat (EV_REP), ms */
};

struct ddeinput_msg {
	ddeinput_u32 magic, version;
	ddeinput_u32 type;
	ddeinput_u32 seq;		/* client requests; echoed in replies */
	ddeinput_s32 value;
	ddeinput_u32 count;		/* EVENTS: how many of ev[] */
	char name[DDEINPUT_NAME];	/* a device's name at inputd, or a peer's own name */
	char error[128];		/* WELCOME, SUBSCRIBED, SENT: why not */
	struct ddeinput_device dev;	/* DEVICE; GONE from a driver: dev.id */
	struct ddeinput_event ev[DDEINPUT_BATCH];
};

#endif
