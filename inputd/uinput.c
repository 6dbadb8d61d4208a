/*
 * inputd --uinput: each device also a device of the host's own input
 * stack, made through /dev/uinput with the device's name, id, capabilities
 * and axes, and given its events; destroyed when the device goes. The
 * host's programs (X, Wayland, evtest on /dev/input/eventN) then see the
 * keyboard or tablet as their own. Not done: output back from the host
 * (LEDs set on the host's node stay there) and force feedback (EV_FF is
 * not exported). The host repeats held keys itself (EV_REP is exported),
 * so the repeats the driver's input core makes (value 2) are not passed on.
 * The axes go without their fuzz: the driver's input core filtered the
 * values already, and the host's would filter them again (dropping or
 * moving values the clients saw). uinput wants a name: a device without
 * one is "dde inputN" on the host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/input.h>
#include <linux/uinput.h>

#include "../libddeinput/client.h"
#include "inputd.h"

#define UINPUT_PATH "/dev/uinput"

/* Can we? One line if not, and inputd goes on without the export. */
static int uinput_open(void)
{
	int fd;

	if (!srv.uinput)
		return -1;
	fd = open(UINPUT_PATH, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	inputd_log("--uinput: %s: %s%s", UINPUT_PATH, strerror(errno),
		   errno == ENOENT ? " (modprobe uinput)" :
		   errno == EACCES ? " (inputd needs write access to it)" : "");
	srv.uinput = 0;
	return -1;
}

void uinput_check(void)
{
	int fd = uinput_open();

	if (fd >= 0)
		close(fd);
}

/* Set the bits of one capability bitmap with @request (UI_SET_KEYBIT, ...) */
static int set_bits(int fd, unsigned long request, const unsigned char *bits, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (ddeinput_bit(bits, i) && ioctl(fd, request, i) < 0)
			return -1;
	return 0;
}

static int set_capabilities(int fd, const struct ddeinput_device *i)
{
	static const unsigned types[] = { EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC, EV_LED, EV_REP };

	for (unsigned k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		if (ddeinput_bit(i->ev, types[k]) && ioctl(fd, UI_SET_EVBIT, types[k]) < 0)
			return -1;
	if (set_bits(fd, UI_SET_KEYBIT, i->key, DDEINPUT_KEY_CNT) ||
	    set_bits(fd, UI_SET_RELBIT, i->rel, DDEINPUT_REL_CNT) ||
	    set_bits(fd, UI_SET_ABSBIT, i->abs, DDEINPUT_ABS_CNT) ||
	    set_bits(fd, UI_SET_MSCBIT, i->msc, DDEINPUT_MSC_CNT) ||
	    set_bits(fd, UI_SET_LEDBIT, i->led, DDEINPUT_LED_CNT))
		return -1;
	if (i->phys[0] && ioctl(fd, UI_SET_PHYS, i->phys) < 0)
		return -1;
	return 0;
}

/* Name, id and axes (fuzz 0: see above): UI_DEV_SETUP and UI_ABS_SETUP
 * (Linux 4.5), else the older write */
static int describe(int fd, const struct device *d)
{
	const struct ddeinput_device *i = &d->info;
	struct input_id id = { i->bustype, i->vendor, i->product, i->version };
	struct uinput_setup setup = { .id = id };
	struct uinput_user_dev old = { .id = id };

	if (i->name[0])
		snprintf(setup.name, sizeof(setup.name), "%s", i->name);
	else
		snprintf(setup.name, sizeof(setup.name), "dde %s", d->name);
	if (!ioctl(fd, UI_DEV_SETUP, &setup)) {
		for (unsigned a = 0; a < DDEINPUT_ABS_CNT; a++) {
			const struct ddeinput_abs *x = &i->absinfo[a];
			struct uinput_abs_setup abs = {
				.code = (__u16)a,
				.absinfo = { x->value, x->minimum, x->maximum, 0, x->flat,
					     x->resolution },
			};

			if (ddeinput_bit(i->abs, a) && ioctl(fd, UI_ABS_SETUP, &abs) < 0)
				return -1;
		}
		return 0;
	}
	/* an older uinput does not know it (it says EINVAL) */
	if (errno != EINVAL && errno != ENOTTY)
		return -1;
	memcpy(old.name, setup.name, sizeof(old.name));
	for (unsigned a = 0; a < DDEINPUT_ABS_CNT && a < ABS_CNT; a++) {
		old.absmin[a] = i->absinfo[a].minimum;
		old.absmax[a] = i->absinfo[a].maximum;
		old.absflat[a] = i->absinfo[a].flat;
	}
	return write(fd, &old, sizeof(old)) == (ssize_t)sizeof(old) ? 0 : -1;
}

void uinput_create(struct device *d)
{
	char sysname[64] = "";
	int fd = uinput_open();

	d->uinput = -1;
	if (fd < 0)
		return;
	if (set_capabilities(fd, &d->info) || describe(fd, d) ||
	    ioctl(fd, UI_DEV_CREATE) < 0) {
		inputd_log("device %s: --uinput: the host refused the device: %s", d->name,
			   strerror(errno));
		close(fd);
		return;
	}
	d->uinput = fd;
	if (ioctl(fd, UI_GET_SYSNAME(sizeof(sysname)), sysname) < 0)
		snprintf(sysname, sizeof(sysname), "a uinput device");
	inputd_log("device %s: on the host as %s", d->name, sysname);
}

void uinput_events(struct device *d, const struct ddeinput_event *ev, uint32_t n)
{
	struct input_event out[DDEINPUT_BATCH];
	uint32_t k = 0;

	if (d->uinput < 0)
		return;
	for (uint32_t i = 0; i < n && i < DDEINPUT_BATCH; i++) {
		if (ev[i].type == EV_KEY && ev[i].value == 2)
			continue;	/* the host repeats held keys itself */
		memset(&out[k], 0, sizeof(out[k]));	/* time: the host stamps it */
		out[k].type = ev[i].type;
		out[k].code = ev[i].code;
		out[k].value = ev[i].value;
		k++;
	}
	if (k && write(d->uinput, out, k * sizeof(out[0])) != (ssize_t)(k * sizeof(out[0]))) {
		inputd_log("device %s: --uinput: the host took no more events (%s): export "
			   "ended", d->name, strerror(errno));
		uinput_destroy(d);
	}
}

void uinput_destroy(struct device *d)
{
	if (d->uinput < 0)
		return;
	ioctl(d->uinput, UI_DEV_DESTROY);
	close(d->uinput);
	d->uinput = -1;
}
