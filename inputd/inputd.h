/*
 * inputd's parts: the connections and their first messages (inputd.c),
 * the devices the drivers announce and what clients ask of them
 * (devices.c), and the optional export of each device to the host as a
 * uinput device (uinput.c).
 */
#ifndef INPUTD_H
#define INPUTD_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/classsrv.h"

#include "../libddeinput/proto.h"

#define INPUTD_UNIT 16		/* a driver's unit, as dde named it: "usb0" */
#define INPUTD_MAX_DEVICES 32	/* per driver */
#define INPUTD_MAX_SUBS 32	/* devices one client subscribes to by name */

/* A connection: a client, a driver, or one whose HELLO has not come yet. */
struct peer {
	struct classsrv_handle h;
	int sock, role;			/* role 0: hello pending */
	const char *broken;		/* to be dropped at the next safe point: why */
	char name[DDEINPUT_NAME];	/* its HELLO's: the program, the driver's instance */
	pid_t pid;			/* as the kernel says (0: unknown) */
	char refused[160];		/* the access check said no: why */
	char unit[INPUTD_UNIT];		/* a driver's unit ("usb0"), "" if it came by itself */
	int channel;			/* dde opened it for the driver of `unit` */
	int ndevices;			/* a driver's devices */
	int all;			/* a client subscribed to "" */
	uint64_t subs[INPUTD_MAX_SUBS];	/* ... and to these devices (serial numbers) */
	int nsubs;
	uint32_t lost;			/* a client's events lost since the last it got */
	struct peer *next;
};

/* One device a driver announced, under inputd's name for it. */
struct device {
	char name[DDEINPUT_NAME];	/* "input0" */
	int number;			/* 0 of "input0" */
	uint64_t serial;		/* never reused: what subscriptions hold */
	struct ddeinput_device info;	/* as the driver described it; info.driver ours */
	struct peer *driver;
	int uinput;			/* the host's uinput device, or -1 */
	struct device *next;		/* by number */
};

struct inputd {
	struct classsrv cs;		/* socket, control channel, loop */
	int uinput;			/* --uinput: export devices to the host */
	struct peer *peers;
	struct device *devices;
	uint64_t next_serial;
};
extern struct inputd srv;

/* inputd.c */
void inputd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_init(struct ddeinput_msg *m, int type);
/* Never waits: a peer that does not take its messages is dropped (later, safely). */
void send_to(struct peer *p, struct ddeinput_msg *m);
/* "dde (pid 1234)" */
const char *who(const struct peer *p, char *buf, size_t cap);
/* "usb0 xhci@00:04.0": how a driver is named in the log and in dev.driver */
void driver_text(const struct peer *drv, char *buf, size_t cap);

/* devices.c: the messages of drivers and clients after HELLO, and their ends */
void driver_message(struct peer *drv, const struct ddeinput_msg *m);
void client_message(struct peer *c, const struct ddeinput_msg *m);
void driver_gone(struct peer *drv, const char *why);

/* uinput.c: the host's copy of a device (--uinput). uinput_check: at the
 * start, one line and no export if /dev/uinput cannot be opened. */
void uinput_check(void);
void uinput_create(struct device *d);
void uinput_events(struct device *d, const struct ddeinput_event *ev, uint32_t n);
void uinput_destroy(struct device *d);

#endif
