/*
 * The input server (inputd/) and its client library (libddeinput/),
 * against a driver in the test: the test speaks the driver's side of the
 * protocol (libddeinput/proto.h) on its own socket, announcing a keyboard
 * and a tablet and sending their events, while clients of the library
 * subscribe, list and set LEDs, and raw connections break the protocol.
 * inputd runs from the build (BUILD/bin/inputd) on a socket of its own
 * for each test and is stopped after it, also when a test fails. Also
 * Linux's names of the codes, from the table made at build time, and the
 * export to the host (--uinput) against a strict stand-in of Linux 6.1's
 * /dev/uinput preloaded into inputd (uinput_standin.c), whose log says
 * every call inputd made and every event the host's input core passed on.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/input-event-codes.h>
#include <linux/uinput.h>

#include "../../common/seqpacket.h"
#include "../../libddeinput/client.h"
#include "server.h"

#define KBD 7		/* the test driver's ids for its devices */
#define TABLET 9

/* ---- helpers ---- */

static void msg_init(struct ddeinput_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDEINPUT_MAGIC;
	m->version = DDEINPUT_VERSION;
	m->type = (uint32_t)type;
}

/* One message within @ms: its length, 0 at EOF, -EAGAIN when none came. */
static long recv_within(int sock, struct ddeinput_msg *m, int ms)
{
	struct pollfd p = { sock, POLLIN, 0 };
	int fds[3], nfds;
	long r;

	if (poll(&p, 1, ms) != 1)
		return -EAGAIN;
	r = seqpacket_recv(sock, m, sizeof(*m), fds, &nfds, MSG_DONTWAIT);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return r;
}

/* Send, waiting if inputd is behind (a driver's messages are never lost) */
static void send_msg(int sock, const struct ddeinput_msg *m)
{
	assert_int_equal(send(sock, m, sizeof(*m), MSG_NOSIGNAL), sizeof(*m));
}

static void set_bit(unsigned char *bits, unsigned n)
{
	bits[n / 8] |= (unsigned char)(1u << (n % 8));
}

static struct ddeinput_device keyboard(uint32_t id)
{
	struct ddeinput_device d = { .id = id, .bustype = 0x3, .vendor = 0x627, .product = 0x1,
				     .version = 0x111, .rep_delay = 250, .rep_period = 33 };
	const unsigned types[] = { EV_SYN, EV_KEY, EV_MSC, EV_LED, EV_REP };
	const unsigned keys[] = { KEY_ESC, KEY_A, KEY_B, KEY_CAPSLOCK };

	snprintf(d.name, sizeof(d.name), "Test Keyboard");
	snprintf(d.phys, sizeof(d.phys), "usb-test-1/input0");
	snprintf(d.driver, sizeof(d.driver), "the driver says nothing here");
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		set_bit(d.ev, types[i]);
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		set_bit(d.key, keys[i]);
	set_bit(d.msc, MSC_SCAN);
	set_bit(d.led, LED_NUML);
	set_bit(d.led, LED_CAPSL);
	set_bit(d.led, LED_SCROLLL);
	return d;
}

static struct ddeinput_device tablet(uint32_t id)
{
	struct ddeinput_device d = { .id = id, .bustype = 0x3, .vendor = 0x627, .product = 0x1 };

	snprintf(d.name, sizeof(d.name), "Test Tablet");
	set_bit(d.ev, EV_SYN);
	set_bit(d.ev, EV_KEY);
	set_bit(d.ev, EV_ABS);
	set_bit(d.key, BTN_LEFT);
	set_bit(d.key, BTN_RIGHT);
	set_bit(d.abs, ABS_X);
	set_bit(d.abs, ABS_Y);
	d.absinfo[ABS_X] = (struct ddeinput_abs){ .maximum = 32767, .resolution = 3 };
	d.absinfo[ABS_Y] = (struct ddeinput_abs){ .value = 5, .maximum = 32767, .fuzz = 1 };
	return d;
}

static struct ddeinput_event ev(uint64_t t, unsigned type, unsigned code, int value)
{
	return (struct ddeinput_event){ .time_ns = t, .type = (uint16_t)type,
					.code = (uint16_t)code, .value = value };
}

static void ev_equal(const struct ddeinput_event *a, const struct ddeinput_event *b)
{
	assert_int_equal(a->time_ns, b->time_ns);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->code, b->code);
	assert_int_equal(a->value, b->value);
}

/* ---- the driver's side ---- */

/* A driver on @sock: HELLO and WELCOME; its unit (as WELCOME names it) into @unit */
static int drv_attach_on(int sock, const char *name, char *unit)
{
	struct ddeinput_msg m;

	assert_true(sock >= 0);
	msg_init(&m, DDEINPUT_HELLO);
	m.value = DDEINPUT_ROLE_DRIVER;
	snprintf(m.name, sizeof(m.name), "%s", name);
	send_msg(sock, &m);
	assert_int_equal(recv_within(sock, &m, 5000), sizeof(m));
	assert_int_equal(m.type, DDEINPUT_WELCOME);
	assert_int_equal(m.value, 0);
	if (unit)
		snprintf(unit, 16, "%.15s", m.name);
	return sock;
}

static void drv_device(int sock, struct ddeinput_device d)
{
	struct ddeinput_msg m;

	msg_init(&m, DDEINPUT_DEVICE);
	m.dev = d;
	send_msg(sock, &m);
}

static void drv_gone(int sock, uint32_t id)
{
	struct ddeinput_msg m;

	msg_init(&m, DDEINPUT_GONE);
	m.dev.id = id;
	send_msg(sock, &m);
}

static void drv_events(int sock, uint32_t id, const struct ddeinput_event *e, uint32_t n)
{
	struct ddeinput_msg m;

	msg_init(&m, DDEINPUT_EVENTS);
	m.dev.id = id;
	m.count = n;
	memcpy(m.ev, e, n * sizeof(*e));
	send_msg(sock, &m);
}

/* ---- inputd and the fixture ---- */

struct fx {
	pid_t inputd;
	char socket[64], log[64];
	int control;		/* our end of inputd's control channel, or -1 */
	int drv;		/* the test driver's connection, or -1 */
	int passed;		/* the test got to its end: inputd's log is not news */
	/* --uinput: the stand-in's directory and log, and inputd's environment */
	char udir[64], ulog[96];
	char envbuf[4][PATH_MAX + 64];
	char *env[5];		/* NULL-ended: added to inputd's (start_with) */
};

static int setup_with(void **state, int with_control)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->drv = -1;
	*state = fx;
	fx->inputd = start_server("inputd", with_control, fx->socket, sizeof(fx->socket),
				  fx->log, sizeof(fx->log), &fx->control);
	if (fx->inputd <= 0) {
		fx->inputd = 0;
		fprintf(stderr, "test_inputd: inputd did not start (is it built?)\n");
		return -1;
	}
	return 0;
}

/* By hand (no control channel): drivers attach over the socket */
static int setup(void **state)
{
	return setup_with(state, 0);
}

static int setup_control(void **state)
{
	return setup_with(state, 1);
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char line[512];
	FILE *f;

	if (fx->drv >= 0)
		close(fx->drv);
	stop_server(fx->inputd);
	if (fx->control >= 0)
		close(fx->control);
	/* inputd's log (and the uinput stand-in's), for whoever reads a failure */
	f = fx->passed ? NULL : fopen(fx->log, "r");
	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "    | %s", line);
	if (f)
		fclose(f);
	f = fx->passed || !fx->udir[0] ? NULL : fopen(fx->ulog, "r");
	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "    uinput | %s", line);
	if (f)
		fclose(f);
	unlink(fx->log);
	if (fx->udir[0]) {
		unlink(fx->ulog);
		rmdir(fx->udir);
	}
	free(fx);
	return 0;
}

/* How many lines of inputd's log have @text (after @ms: it is written as it happens) */
static int logged(struct fx *fx, const char *text, int ms)
{
	int found = 0;

	for (long long end = mono_ms() + ms;; sleep_ms(10)) {
		char line[512];
		FILE *f = fopen(fx->log, "r");

		found = 0;
		while (f && fgets(line, sizeof(line), f))
			found += strstr(line, text) != NULL;
		if (f)
			fclose(f);
		if (found || mono_ms() >= end)
			return found;
	}
}

static struct ddeinput *client(struct fx *fx, const char *subscribe)
{
	char err[256];
	struct ddeinput *c = ddeinput_connect(fx->socket, NULL, err, sizeof(err));

	if (!c)
		fail_msg("ddeinput_connect: %s", err);
	if (subscribe)
		assert_int_equal(ddeinput_subscribe(c, subscribe), 0);
	return c;
}

/* The next message @c gets is @type about device @name */
static void next_is(struct ddeinput *c, struct ddeinput_msg *m, int type, const char *name)
{
	int r = ddeinput_next(c, m, 5000);

	if (r != type)
		fail_msg("expected message %d about %s, got %d (%s)", type, name, r,
			 r < 0 ? ddeinput_error(c) : r ? m->name : "nothing");
	assert_string_equal(m->name, name);
}

static void nothing_more(struct ddeinput *c)
{
	struct ddeinput_msg m;

	assert_int_equal(ddeinput_next(c, &m, 200), 0);
}

/* inputd lists @n devices (it has taken what the driver said) */
static int wait_listed(struct fx *fx, int n, struct ddeinput_info *all, int max)
{
	struct ddeinput *c = client(fx, NULL);
	int got = -1;

	for (long long end = mono_ms() + 5000; mono_ms() < end; sleep_ms(5)) {
		got = ddeinput_list(c, all, max);
		if (got == n)
			break;
	}
	ddeinput_close(c);
	assert_int_equal(got, n);
	return got;
}

/* The test driver with a keyboard (input0) and a tablet (input1), seen by @all ("") */
static void two_devices(struct fx *fx, struct ddeinput *all)
{
	struct ddeinput_msg m;

	fx->drv = drv_attach_on(seqpacket_connect(fx->socket), "testhid@00:04.0", NULL);
	drv_device(fx->drv, keyboard(KBD));
	drv_device(fx->drv, tablet(TABLET));
	if (all) {
		next_is(all, &m, DDEINPUT_DEVICE, "input0");
		next_is(all, &m, DDEINPUT_DEVICE, "input1");
	} else {
		struct ddeinput_info info[4];

		wait_listed(fx, 2, info, 4);
	}
}

/* ---- Linux's names ---- */

static void test_names(void **state)
{
	unsigned type = 99, code = 99;

	assert_string_equal(ddeinput_code_name(EV_KEY, 30), "KEY_A");
	assert_int_equal(KEY_A, 30);
	assert_string_equal(ddeinput_code_name(EV_KEY, BTN_LEFT), "BTN_LEFT");
	assert_string_equal(ddeinput_code_name(EV_KEY, BTN_MISC), "BTN_0");
	assert_string_equal(ddeinput_code_name(EV_KEY, KEY_MUTE), "KEY_MUTE");
	assert_string_equal(ddeinput_code_name(EV_KEY, BTN_TRIGGER_HAPPY), "BTN_TRIGGER_HAPPY1");
	assert_string_equal(ddeinput_code_name(EV_KEY, KEY_BRIGHTNESS_MAX), "KEY_BRIGHTNESS_MAX");
	assert_string_equal(ddeinput_code_name(EV_REL, REL_WHEEL), "REL_WHEEL");
	assert_string_equal(ddeinput_code_name(EV_ABS, ABS_X), "ABS_X");
	assert_string_equal(ddeinput_code_name(EV_SYN, SYN_REPORT), "SYN_REPORT");
	assert_string_equal(ddeinput_code_name(EV_MSC, MSC_SCAN), "MSC_SCAN");
	assert_string_equal(ddeinput_code_name(EV_LED, LED_CAPSL), "LED_CAPSL");
	assert_string_equal(ddeinput_code_name(EV_REP, REP_PERIOD), "REP_PERIOD");
	assert_null(ddeinput_code_name(EV_KEY, KEY_MAX));
	assert_null(ddeinput_code_name(EV_REL, 0x0e));
	assert_null(ddeinput_code_name(200, 0));
	assert_string_equal(ddeinput_type_name(EV_KEY), "EV_KEY");
	assert_string_equal(ddeinput_type_name(EV_SYN), "EV_SYN");
	assert_string_equal(ddeinput_type_name(EV_FF_STATUS), "EV_FF_STATUS");
	assert_null(ddeinput_type_name(EV_MAX));
	assert_int_equal(ddeinput_code_by_name("LED_CAPSL", &type, &code), 0);
	assert_int_equal(type, EV_LED);
	assert_int_equal(code, LED_CAPSL);
	assert_int_equal(ddeinput_code_by_name("BTN_MOUSE", &type, &code), 0);
	assert_int_equal(code, BTN_LEFT);
	assert_int_equal(ddeinput_code_by_name("EV_KEY", &type, &code), -ENOENT);
	assert_int_equal(ddeinput_code_by_name("LED_NOSUCH", &type, &code), -ENOENT);
}

/* ---- devices and their events ---- */

static void test_devices_and_events(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *all = client(fx, ""), *one, *lister;
	struct ddeinput_info info[4];
	struct ddeinput_msg m;
	char unit[16];
	const struct ddeinput_event k1[] = { ev(1000000001, EV_MSC, MSC_SCAN, 0x70004),
					     ev(1000000001, EV_KEY, KEY_A, 1),
					     ev(1000000001, EV_SYN, SYN_REPORT, 0) };
	const struct ddeinput_event t1[] = { ev(1000000002, EV_ABS, ABS_X, 100),
					     ev(1000000002, EV_ABS, ABS_Y, 200),
					     ev(1000000002, EV_KEY, BTN_LEFT, 1),
					     ev(1000000002, EV_SYN, SYN_REPORT, 0) };
	const struct ddeinput_event k2[] = { ev(1000000003, EV_KEY, KEY_A, 0),
					     ev(1000000003, EV_SYN, SYN_REPORT, 0) };

	fx->drv = drv_attach_on(seqpacket_connect(fx->socket), "testhid@00:04.0", unit);
	assert_string_equal(unit, "");		/* came by itself: no unit of dde's */
	drv_device(fx->drv, keyboard(KBD));
	next_is(all, &m, DDEINPUT_DEVICE, "input0");
	assert_int_equal(m.seq, 0);
	assert_int_equal(m.dev.id, KBD);
	assert_string_equal(m.dev.name, "Test Keyboard");
	assert_string_equal(m.dev.phys, "usb-test-1/input0");
	assert_string_equal(m.dev.driver, "testhid@00:04.0");	/* inputd's, not the driver's */
	assert_true(ddeinput_bit(m.dev.key, KEY_A));
	assert_false(ddeinput_bit(m.dev.key, KEY_Z));
	drv_device(fx->drv, tablet(TABLET));
	next_is(all, &m, DDEINPUT_DEVICE, "input1");
	assert_string_equal(m.dev.name, "Test Tablet");

	/* the list, by name */
	lister = client(fx, NULL);
	assert_int_equal(ddeinput_list(lister, info, 4), 2);
	assert_string_equal(info[0].name, "input0");
	assert_string_equal(info[1].name, "input1");
	assert_int_equal(info[0].dev.vendor, 0x627);
	assert_int_equal(info[0].dev.rep_delay, 250);
	assert_int_equal(info[1].dev.absinfo[ABS_X].maximum, 32767);
	assert_int_equal(info[1].dev.absinfo[ABS_X].resolution, 3);
	assert_int_equal(info[1].dev.absinfo[ABS_Y].fuzz, 1);
	/* more than fit: counted, the first filled */
	memset(info, 0, sizeof(info));
	assert_int_equal(ddeinput_list(lister, info, 1), 2);
	assert_string_equal(info[0].name, "input0");
	assert_string_equal(info[1].name, "");
	ddeinput_close(lister);

	/* one device by name; a name nobody has */
	one = client(fx, "input0");
	assert_int_equal(ddeinput_subscribe(one, "input7"), -ENOENT);
	assert_string_equal(ddeinput_error(one), "no input device input7 (dde input lists them)");

	drv_events(fx->drv, KBD, k1, 3);
	drv_events(fx->drv, TABLET, t1, 4);
	drv_events(fx->drv, KBD, k2, 2);
	/* every device's, in the order they came, each message naming its device */
	next_is(all, &m, DDEINPUT_EVENTS, "input0");
	assert_int_equal(m.count, 3);
	assert_int_equal(m.value, 0);
	for (int i = 0; i < 3; i++)
		ev_equal(&m.ev[i], &k1[i]);
	next_is(all, &m, DDEINPUT_EVENTS, "input1");
	assert_int_equal(m.count, 4);
	for (int i = 0; i < 4; i++)
		ev_equal(&m.ev[i], &t1[i]);
	next_is(all, &m, DDEINPUT_EVENTS, "input0");
	assert_int_equal(m.count, 2);
	for (int i = 0; i < 2; i++)
		ev_equal(&m.ev[i], &k2[i]);
	nothing_more(all);
	/* input0's only */
	next_is(one, &m, DDEINPUT_EVENTS, "input0");
	assert_int_equal(m.count, 3);
	ev_equal(&m.ev[1], &k1[1]);
	next_is(one, &m, DDEINPUT_EVENTS, "input0");
	assert_int_equal(m.count, 2);
	ev_equal(&m.ev[0], &k2[0]);
	nothing_more(one);

	assert_int_equal(logged(fx, "inputd: device input0: Test Keyboard (driver "
				"testhid@00:04.0)", 1000), 1);
	assert_int_equal(logged(fx, "inputd: device input1: Test Tablet (driver "
				"testhid@00:04.0)", 1000), 1);
	ddeinput_close(one);
	ddeinput_close(all);
	fx->passed = 1;
}

/* Events that came while a request waited for its answer are kept, in order */
static void test_events_while_asking(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *all = client(fx, "");
	struct ddeinput_info info[4];
	struct ddeinput_msg m;
	struct ddeinput_event e[2] = { ev(5, EV_KEY, KEY_B, 1), ev(5, EV_SYN, SYN_REPORT, 0) };

	two_devices(fx, all);
	for (int i = 0; i < 5; i++) {
		e[0].value = i;
		drv_events(fx->drv, KBD, e, 2);
	}
	sleep_ms(100);		/* with inputd: they are at the client before its answer */
	assert_int_equal(ddeinput_list(all, info, 4), 2);
	assert_int_equal(ddeinput_subscribe(all, "input1"), 0);
	for (int i = 0; i < 5; i++) {
		next_is(all, &m, DDEINPUT_EVENTS, "input0");
		assert_int_equal(m.ev[0].value, i);
	}
	nothing_more(all);
	ddeinput_close(all);
	fx->passed = 1;
}

/* ---- output events: LEDs and autorepeat, to the driver ---- */

static void test_output_events(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *c;
	struct ddeinput_msg m;
	const struct ddeinput_event caps[] = { ev(42, EV_LED, LED_CAPSL, 1),
					       ev(42, EV_SYN, SYN_REPORT, 0) };
	const struct ddeinput_event rep[] = { ev(43, EV_REP, REP_DELAY, 500),
					      ev(43, EV_SYN, SYN_REPORT, 0) };
	const struct ddeinput_event key[] = { ev(44, EV_KEY, KEY_A, 1) };
	const struct ddeinput_event mute[] = { ev(45, EV_LED, LED_MUTE, 1) };

	two_devices(fx, NULL);
	c = client(fx, NULL);
	assert_int_equal(ddeinput_send(c, "input0", caps, 2), 2);
	assert_int_equal(recv_within(fx->drv, &m, 2000), sizeof(m));
	assert_int_equal(m.type, DDEINPUT_EVENTS);
	assert_int_equal(m.dev.id, KBD);
	assert_int_equal(m.count, 2);
	ev_equal(&m.ev[0], &caps[0]);
	ev_equal(&m.ev[1], &caps[1]);
	assert_int_equal(ddeinput_send(c, "input0", rep, 2), 2);
	assert_int_equal(recv_within(fx->drv, &m, 2000), sizeof(m));
	assert_int_equal(m.dev.id, KBD);
	ev_equal(&m.ev[0], &rep[0]);

	/* refused, and nothing reaches the driver */
	assert_int_equal(ddeinput_send(c, "input0", key, 1), -EINVAL);
	assert_string_equal(ddeinput_error(c), "a program may send input0 only LED and "
			    "autorepeat events (EV_LED, EV_REP), not EV_KEY");
	assert_int_equal(ddeinput_send(c, "input0", mute, 1), -EINVAL);
	assert_string_equal(ddeinput_error(c), "input0 has no LED_MUTE");
	assert_int_equal(ddeinput_send(c, "input1", caps, 2), -EINVAL);
	assert_string_equal(ddeinput_error(c), "input1 has no LED_CAPSL");
	assert_int_equal(ddeinput_send(c, "input1", rep, 2), -EINVAL);
	assert_int_equal(ddeinput_send(c, "input7", caps, 2), -ENOENT);
	assert_string_equal(ddeinput_error(c), "no input device input7 (dde input lists them)");
	assert_int_equal(ddeinput_send(c, "input0", caps, 0), -EINVAL);
	assert_int_equal(recv_within(fx->drv, &m, 200), -EAGAIN);
	/* still a client in good standing */
	assert_int_equal(ddeinput_send(c, "input0", caps, 2), 2);
	assert_int_equal(recv_within(fx->drv, &m, 2000), sizeof(m));
	ddeinput_close(c);
	fx->passed = 1;
}

/* ---- devices going, names coming back ---- */

static void test_gone_and_names(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *all = client(fx, ""), *one;
	struct ddeinput_info info[4];
	struct ddeinput_msg m;
	struct ddeinput_event e[2] = { ev(7, EV_KEY, KEY_ESC, 1), ev(7, EV_SYN, SYN_REPORT, 0) };
	int other;

	two_devices(fx, all);
	one = client(fx, "input0");
	/* the driver says it is gone: both subscribers hear it */
	drv_gone(fx->drv, KBD);
	next_is(all, &m, DDEINPUT_GONE, "input0");
	next_is(one, &m, DDEINPUT_GONE, "input0");
	assert_int_equal(logged(fx, "inputd: device input0 gone", 1000), 1);
	/* the lowest free name, to a new device; not one's, which subscribed to the old */
	drv_device(fx->drv, keyboard(KBD + 1));
	next_is(all, &m, DDEINPUT_DEVICE, "input0");
	assert_int_equal(m.dev.id, KBD + 1);
	drv_events(fx->drv, KBD + 1, e, 2);
	next_is(all, &m, DDEINPUT_EVENTS, "input0");
	nothing_more(one);

	/* a second driver's device takes the next */
	other = drv_attach_on(seqpacket_connect(fx->socket), "second@00:05.0", NULL);
	drv_device(other, tablet(1));
	next_is(all, &m, DDEINPUT_DEVICE, "input2");
	assert_string_equal(m.dev.driver, "second@00:05.0");

	/* the first driver's connection closes: all its devices go, in order */
	close(fx->drv);
	fx->drv = -1;
	next_is(all, &m, DDEINPUT_GONE, "input0");
	next_is(all, &m, DDEINPUT_GONE, "input1");
	nothing_more(all);
	assert_int_equal(wait_listed(fx, 1, info, 4), 1);
	assert_string_equal(info[0].name, "input2");
	assert_int_equal(logged(fx, "driver testhid@00:04.0 gone (disconnected)", 1000), 1);
	/* and their names are free again */
	fx->drv = drv_attach_on(seqpacket_connect(fx->socket), "third@00:06.0", NULL);
	drv_device(fx->drv, keyboard(3));
	next_is(all, &m, DDEINPUT_DEVICE, "input0");
	drv_device(fx->drv, keyboard(4));
	next_is(all, &m, DDEINPUT_DEVICE, "input1");
	drv_device(fx->drv, keyboard(5));
	next_is(all, &m, DDEINPUT_DEVICE, "input3");
	close(other);
	next_is(all, &m, DDEINPUT_GONE, "input2");
	ddeinput_close(one);
	ddeinput_close(all);
	fx->passed = 1;
}

/* ---- a client that does not read loses events, and is told how many ---- */

static void test_lost_events(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *slow, *sync;
	struct ddeinput_msg m;
	struct ddeinput_event e[2] = { ev(0, EV_KEY, KEY_A, 0), ev(0, EV_SYN, SYN_REPORT, 0) };
	const struct ddeinput_event t[2] = { ev(1, EV_ABS, ABS_X, 1),
					     ev(1, EV_SYN, SYN_REPORT, 0) };
	int sent = 1000, got = 0, last = -1;
	FILE *f = fopen("/proc/sys/net/core/wmem_default", "r");
	long wmem = 0;

	/* more than inputd's socket buffer for the client holds (3 KiB a message) */
	if (f && fscanf(f, "%ld", &wmem) == 1 && wmem / 1000 > sent)
		sent = (int)(wmem / 1000);
	if (f)
		fclose(f);

	two_devices(fx, NULL);
	slow = client(fx, "input0");
	sync = client(fx, "input1");	/* the tablet's events say the driver's were taken */
	for (int i = 0; i < sent; i++) {
		e[0].value = i;
		drv_events(fx->drv, KBD, e, 2);
	}
	drv_events(fx->drv, TABLET, t, 2);
	next_is(sync, &m, DDEINPUT_EVENTS, "input1");
	/* what the socket held, in order, nothing lost among them */
	while (ddeinput_next(slow, &m, 100) == DDEINPUT_EVENTS) {
		assert_string_equal(m.name, "input0");
		assert_int_equal(m.value, 0);
		assert_int_equal(m.ev[0].value, last + 1);
		last = m.ev[0].value;
		got++;
	}
	assert_true(got > 0);
	assert_true(got < sent);
	/* the next one it gets tells it how many were lost */
	e[0].value = sent;
	drv_events(fx->drv, KBD, e, 2);
	next_is(slow, &m, DDEINPUT_EVENTS, "input0");
	assert_int_equal(m.ev[0].value, sent);
	assert_int_equal(m.value, 2 * (sent - got));
	/* the other client lost nothing */
	drv_events(fx->drv, TABLET, t, 2);
	next_is(sync, &m, DDEINPUT_EVENTS, "input1");
	assert_int_equal(m.value, 0);
	nothing_more(sync);
	e[0].value = sent + 1;
	drv_events(fx->drv, KBD, e, 2);
	next_is(slow, &m, DDEINPUT_EVENTS, "input0");
	assert_int_equal(m.value, 0);
	ddeinput_close(slow);
	ddeinput_close(sync);
	fx->passed = 1;
}

/* ---- what breaks the protocol drops that peer, and only it ---- */

/* A connection that says @len bytes of @msg (with a descriptor if @with_fd),
 * after a client's HELLO if @hello, is dropped. */
static int dropped_after(struct fx *fx, const void *msg, size_t len, int with_fd, int hello)
{
	int sock = seqpacket_connect(fx->socket), fd = with_fd ? dup(0) : -1, ok;
	struct ddeinput_msg m;

	assert_true(sock >= 0);
	if (hello) {
		msg_init(&m, DDEINPUT_HELLO);
		m.value = DDEINPUT_ROLE_CLIENT;
		snprintf(m.name, sizeof(m.name), "rawclient");
		send_msg(sock, &m);
		assert_int_equal(recv_within(sock, &m, 2000), sizeof(m));
		assert_int_equal(m.type, DDEINPUT_WELCOME);
	}
	assert_int_equal(seqpacket_send(sock, msg, len, with_fd ? &fd : NULL, with_fd), 0);
	ok = recv_within(sock, &m, 2000) == 0;
	if (fd >= 0)
		close(fd);
	close(sock);
	return ok;
}

static void test_malformed(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *all = client(fx, "");
	char big[sizeof(struct ddeinput_msg) + 16] = { 0 };
	struct ddeinput_msg m;
	struct ddeinput_event e[2] = { ev(9, EV_KEY, KEY_A, 1), ev(9, EV_SYN, SYN_REPORT, 0) };

	two_devices(fx, all);
	msg_init(&m, DDEINPUT_HELLO);
	m.value = DDEINPUT_ROLE_CLIENT;
	assert_true(dropped_after(fx, &m, 10, 0, 0));		/* short, before HELLO */
	m.magic = 0x12345678;
	assert_true(dropped_after(fx, &m, sizeof(m), 0, 0));	/* not ours */
	msg_init(&m, DDEINPUT_LIST);
	assert_true(dropped_after(fx, &m, sizeof(m), 0, 0));	/* no HELLO */
	/* after HELLO: each dropped with one line */
	assert_true(dropped_after(fx, &m, 10, 0, 1));		/* short */
	memcpy(big, &m, sizeof(m));
	assert_true(dropped_after(fx, big, sizeof(big), 0, 1));	/* long */
	m.version = 2;
	assert_true(dropped_after(fx, &m, sizeof(m), 0, 1));	/* another version */
	msg_init(&m, 99);
	assert_true(dropped_after(fx, &m, sizeof(m), 0, 1));	/* no such type */
	msg_init(&m, DDEINPUT_LIST);
	assert_true(dropped_after(fx, &m, sizeof(m), 1, 1));	/* a descriptor */
	msg_init(&m, DDEINPUT_SUBSCRIBE);
	memset(m.name, 'x', sizeof(m.name));
	assert_true(dropped_after(fx, &m, sizeof(m), 0, 1));	/* a name without end */
	msg_init(&m, DDEINPUT_EVENTS);
	snprintf(m.name, sizeof(m.name), "input0");
	m.count = DDEINPUT_BATCH + 1;
	assert_true(dropped_after(fx, &m, sizeof(m), 0, 1));	/* too many events */
	msg_init(&m, DDEINPUT_DEVICE);
	m.dev = keyboard(1);
	assert_true(dropped_after(fx, &m, sizeof(m), 0, 1));	/* a client's DEVICE */
	assert_int_equal(logged(fx, "client rawclient (pid ", 1000), 8);

	/* the others never noticed */
	drv_events(fx->drv, KBD, e, 2);
	next_is(all, &m, DDEINPUT_EVENTS, "input0");
	nothing_more(all);

	/* a driver that says nonsense goes, with its devices */
	msg_init(&m, DDEINPUT_EVENTS);
	m.dev.id = 99;
	m.count = 1;
	send_msg(fx->drv, &m);
	assert_int_equal(recv_within(fx->drv, &m, 2000), 0);
	next_is(all, &m, DDEINPUT_GONE, "input0");
	next_is(all, &m, DDEINPUT_GONE, "input1");
	assert_int_equal(logged(fx, "events of a device it did not announce", 1000), 1);
	close(fx->drv);
	/* an event of no type Linux has; a device announced twice; a name without its end */
	for (int k = 0; k < 3; k++) {
		struct ddeinput_device d = keyboard(1);

		fx->drv = drv_attach_on(seqpacket_connect(fx->socket), "bad", NULL);
		drv_device(fx->drv, d);
		next_is(all, &m, DDEINPUT_DEVICE, "input0");
		if (k == 0) {
			e[0].type = 0x20;
			drv_events(fx->drv, 1, e, 2);
		} else if (k == 1) {
			drv_device(fx->drv, d);
		} else {
			d.id = 2;
			memset(d.name, 'k', sizeof(d.name));
			drv_device(fx->drv, d);
		}
		assert_int_equal(recv_within(fx->drv, &m, 2000), 0);
		next_is(all, &m, DDEINPUT_GONE, "input0");
		close(fx->drv);
		fx->drv = -1;
	}
	nothing_more(all);
	assert_int_equal(logged(fx, "driver bad gone (malformed message", 1000), 3);
	ddeinput_close(all);
	fx->passed = 1;
}

/* ---- dde's control channel ---- */

static void test_control_channel(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *all = client(fx, "");
	struct ddeinput_info info[2];
	struct ddeinput_msg m, r;
	int sp[2], sock, status;
	char unit[16];

	/* drivers attach only where dde says */
	sock = seqpacket_connect(fx->socket);
	msg_init(&m, DDEINPUT_HELLO);
	m.value = DDEINPUT_ROLE_DRIVER;
	snprintf(m.name, sizeof(m.name), "intruder");
	send_msg(sock, &m);
	assert_int_equal(recv_within(sock, &r, 2000), sizeof(r));
	assert_int_equal(r.type, DDEINPUT_WELCOME);
	assert_int_equal(r.value, -EACCES);
	assert_non_null(strstr(r.error, "drivers attach only on the connection"));
	close(sock);
	/* what dde run's attach_input does */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
		msg_init(&m, DDEINPUT_CHANNEL);
		m.value = DDEINPUT_ROLE_DRIVER;
		snprintf(m.name, sizeof(m.name), "usb3");
		assert_int_equal(seqpacket_send(fx->control, &m, sizeof(m), &sp[0], 1), 0);
		close(sp[0]);
		if (round) {
			/* restarted: the old one died just now, its hangup maybe not read */
			close(fx->drv);
		}
		fx->drv = drv_attach_on(sp[1], "xhci@00:04.0", unit);
		assert_string_equal(unit, "usb3");
		if (round)
			next_is(all, &m, DDEINPUT_GONE, "input0");
		drv_device(fx->drv, keyboard(KBD));
		/* the restarted driver's device has its name back */
		next_is(all, &m, DDEINPUT_DEVICE, "input0");
		assert_string_equal(m.dev.driver, "usb3 xhci@00:04.0");
	}
	assert_int_equal(wait_listed(fx, 1, info, 2), 1);
	assert_int_equal(logged(fx, "inputd: device input0: Test Keyboard (driver usb3 "
				"xhci@00:04.0)", 1000), 2);
	/* dde goes: so does inputd, cleanly */
	close(fx->control);
	fx->control = -1;
	for (long long end = mono_ms() + 3000; mono_ms() < end; sleep_ms(10))
		if (waitpid(fx->inputd, &status, WNOHANG) == fx->inputd)
			break;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fx->inputd = 0;
	next_is(all, &m, DDEINPUT_GONE, "input0");
	assert_int_equal(ddeinput_next(all, &m, 2000), -ENODEV);
	ddeinput_close(all);
	fx->passed = 1;
}

/* ---- options: --control-fd with --open-drivers, --uinput, SIGTERM ---- */

/* inputd from the build with @extra options and a control channel; 0 or -1 */
static int start_with(struct fx *fx, char *const *extra, int nextra)
{
	char bin[PATH_MAX], ctl[16];
	char *argv[16] = { "inputd", "--socket", fx->socket, "--control-fd", ctl };
	pid_t parent = getpid();
	int sp[2];

	build_path("bin/inputd", bin, sizeof(bin));
	snprintf(fx->socket, sizeof(fx->socket), "@dde-test-inputd-%d-opt", (int)parent);
	snprintf(fx->log, sizeof(fx->log), "/tmp/dde-test-inputd-%d.log", (int)parent);
	for (int i = 0; i < nextra && i < 10; i++)
		argv[5 + i] = extra[i];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp))
		return -1;
	snprintf(ctl, sizeof(ctl), "%d", sp[1]);
	fx->inputd = fork();
	if (fx->inputd == 0) {
		int fd = open(fx->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || fd < 0 || dup2(fd, 2) != 2)
			_exit(126);
		fcntl(sp[1], F_SETFD, 0);
		for (int i = 0; fx->env[i]; i++)
			putenv(fx->env[i]);
		execv(bin, argv);
		_exit(127);
	}
	close(sp[1]);
	fx->control = sp[0];
	for (int t = 0; t < 500 && fx->inputd > 0; t++) {
		int fd = seqpacket_connect(fx->socket);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		sleep_ms(10);
	}
	return -1;
}

static void test_options(void **state)
{
	struct fx *fx = *state;
	char *extra[] = { "--open-drivers", "--uinput" };
	struct ddeinput *all;
	struct ddeinput_msg m;
	int status = -1;

	/* the fixture's inputd stops on SIGTERM, cleanly */
	kill(fx->inputd, SIGTERM);
	assert_int_equal(waitpid(fx->inputd, &status, 0), fx->inputd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(fx->log);

	assert_int_equal(start_with(fx, extra, 2), 0);
	if (access("/dev/uinput", F_OK))
		assert_int_equal(logged(fx, "inputd: --uinput: /dev/uinput: No such file or "
					"directory (modprobe uinput)", 2000), 1);
	all = client(fx, "");
	/* a driver over the socket although dde has a control channel: --open-drivers */
	two_devices(fx, all);
	drv_events(fx->drv, TABLET, (struct ddeinput_event[]){ ev(1, EV_ABS, ABS_X, 9) }, 1);
	next_is(all, &m, DDEINPUT_EVENTS, "input1");
	assert_int_equal(m.ev[0].value, 9);
	ddeinput_close(all);
	fx->passed = 1;
}

/* ---- the export to the host (--uinput), against the uinput stand-in ---- */

/* No inputd yet: the test starts its own (start_uinput) */
static int setup_bare(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->drv = -1;
	fx->control = -1;
	*state = fx;
	return 0;
}

/*
 * Into fx->env: what preloads the stand-in, logging into a directory of
 * the test's own, and @extra ("UINPUT_STANDIN_ABSENT=1", or NULL). A
 * sanitized build's programs must let it come before their runtime.
 */
static void standin_env(struct fx *fx, const char *extra)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char so[PATH_MAX];
	int n = 0;

	build_path("tests/unit/uinput_standin.so", so, sizeof(so));
	if (access(so, R_OK))
		fail_msg("no %s (is it built?)", so);
	snprintf(fx->udir, sizeof(fx->udir), "/tmp/dde-test-uinput-XXXXXX");
	if (!mkdtemp(fx->udir)) {
		fx->udir[0] = 0;
		fail_msg("mkdtemp: %s", strerror(errno));
	}
	snprintf(fx->ulog, sizeof(fx->ulog), "%s/uinput.log", fx->udir);
	snprintf(fx->envbuf[n++], sizeof(fx->envbuf[0]), "LD_PRELOAD=%s", so);
	snprintf(fx->envbuf[n++], sizeof(fx->envbuf[0]), "UINPUT_STANDIN_LOG=%s", fx->ulog);
	snprintf(fx->envbuf[n++], sizeof(fx->envbuf[0]),
		 "ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "",
		 asan && asan[0] ? ":" : "");
	if (extra)
		snprintf(fx->envbuf[n++], sizeof(fx->envbuf[0]), "%s", extra);
	for (int i = 0; i < n; i++)
		fx->env[i] = fx->envbuf[i];
	fx->env[n] = NULL;
}

/* inputd --uinput on the stand-in, drivers over the socket */
static void start_uinput(struct fx *fx, const char *extra)
{
	char *opts[] = { "--open-drivers", "--uinput" };

	standin_env(fx, extra);
	assert_int_equal(start_with(fx, opts, 2), 0);
}

/* SIGTERM: inputd stops cleanly, its devices leaving the host first */
/* inputd ends on SIGTERM, by itself and cleanly (within stop_server's 2 s) */
static void stop_inputd(struct fx *fx)
{
	int status = stop_server_status(fx->inputd);

	fx->inputd = 0;
	assert_true(status != -1 && WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

#define ULOG_LINES 512

/* The stand-in's log, in lines */
struct ulog {
	char *text;
	char *line[ULOG_LINES];
	int n;
};

static void ulog_read(const struct fx *fx, struct ulog *l)
{
	size_t cap = 1 << 20, len = 0;
	FILE *f = fopen(fx->ulog, "r");

	l->text = calloc(1, cap + 1);
	assert_non_null(l->text);
	l->n = 0;
	if (f) {
		len = fread(l->text, 1, cap, f);
		fclose(f);
	}
	for (char *p = l->text, *nl; p < l->text + len; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = 0;
		assert_true(l->n < ULOG_LINES);
		l->line[l->n++] = p;
	}
}

/* Keep only the lines of @l that begin with @a or @b (NULL: only @a) */
static void ulog_keep(struct ulog *l, const char *a, const char *b)
{
	int k = 0;

	for (int i = 0; i < l->n; i++)
		if (!strncmp(l->line[i], a, strlen(a)) || (b && !strncmp(l->line[i], b, strlen(b))))
			l->line[k++] = l->line[i];
	l->n = k;
}

/* How many lines of the stand-in's log are @want (after @ms, as logged()) */
static int ulog_has(struct fx *fx, const char *want, int ms)
{
	int found;

	for (long long end = mono_ms() + ms;; sleep_ms(10)) {
		struct ulog l;

		ulog_read(fx, &l);
		found = 0;
		for (int i = 0; i < l.n; i++)
			found += !strcmp(l.line[i], want);
		free(l.text);
		if (found || mono_ms() >= end)
			return found;
	}
}

/* How many lines of @l begin with @prefix */
static int ulog_count(const struct ulog *l, const char *prefix)
{
	int n = 0;

	for (int i = 0; i < l->n; i++)
		n += !strncmp(l->line[i], prefix, strlen(prefix));
	return n;
}

/* Line @*i of @l is the one @fmt makes; on to the next */
static void line_is(const struct ulog *l, int *i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void line_is(const struct ulog *l, int *i, const char *fmt, ...)
{
	char want[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (*i >= l->n)
		fail_msg("the stand-in's log ends before \"%s\"", want);
	assert_string_equal(l->line[*i], want);
	(*i)++;
}

/* The descriptor of the "open fd=N" at line @i */
static int opened_fd(const struct ulog *l, int i)
{
	int fd = -1;

	assert_true(i < l->n);
	assert_int_equal(sscanf(l->line[i], "open fd=%d", &fd), 1);
	return fd;
}

/*
 * From line @*i: the calls that made the test keyboard the host's @host,
 * by UI_DEV_SETUP or (@legacy: a uinput before Linux 4.5, which does not
 * know it) the write of struct uinput_user_dev. Its descriptor.
 */
static int keyboard_made(const struct ulog *l, int *i, const char *host, int legacy)
{
	const unsigned types[] = { EV_SYN, EV_KEY, EV_MSC, EV_LED, EV_REP };
	const unsigned keys[] = { KEY_ESC, KEY_A, KEY_B, KEY_CAPSLOCK };
	const unsigned leds[] = { LED_NUML, LED_CAPSL, LED_SCROLLL };
	int fd = opened_fd(l, *i);

	line_is(l, i, "open fd=%d", fd);
	for (unsigned k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		line_is(l, i, "set fd=%d UI_SET_EVBIT %u", fd, types[k]);
	for (unsigned k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		line_is(l, i, "set fd=%d UI_SET_KEYBIT %u", fd, keys[k]);
	line_is(l, i, "set fd=%d UI_SET_MSCBIT %u", fd, MSC_SCAN);
	for (unsigned k = 0; k < sizeof(leds) / sizeof(leds[0]); k++)
		line_is(l, i, "set fd=%d UI_SET_LEDBIT %u", fd, leds[k]);
	line_is(l, i, "phys fd=%d \"usb-test-1/input0\"", fd);
	if (legacy)
		line_is(l, i, "refused fd=%d ioctl %#x: EINVAL (a call uinput does not know "
			"(before Linux 4.5))", fd, (unsigned)UI_DEV_SETUP);
	line_is(l, i, "%s fd=%d name=\"Test Keyboard\" bus=0x3 vendor=0x627 product=0x1 "
		"version=0x111 ff_effects_max=0", legacy ? "legacy_setup" : "setup", fd);
	/* EV_SYN, EV_KEY, EV_MSC, EV_LED, EV_REP; ESC, A, B, CAPSLOCK; MSC_SCAN; 3 LEDs */
	line_is(l, i, "create fd=%d %s name=\"Test Keyboard\" phys=\"usb-test-1/input0\" "
		"bus=0x3 vendor=0x627 product=0x1 version=0x111 ev=0,1,4,17,20 key=1,30,48,58 "
		"rel= abs= msc=4 led=0,1,2 snd= ff= sw= prop=", fd, host);
	line_is(l, i, "sysname fd=%d %s", fd, host);
	return fd;
}

/*
 * The same for the test tablet (@flat: its ABS_X's). The host gets no
 * fuzz: the driver's input core filtered the values already, and the
 * host's would filter them again, dropping moves the clients saw.
 */
static int tablet_made(const struct ulog *l, int *i, const char *host, int legacy, int flat)
{
	int fd = opened_fd(l, *i);

	line_is(l, i, "open fd=%d", fd);
	line_is(l, i, "set fd=%d UI_SET_EVBIT %u", fd, EV_SYN);
	line_is(l, i, "set fd=%d UI_SET_EVBIT %u", fd, EV_KEY);
	line_is(l, i, "set fd=%d UI_SET_EVBIT %u", fd, EV_ABS);
	line_is(l, i, "set fd=%d UI_SET_KEYBIT %u", fd, BTN_LEFT);
	line_is(l, i, "set fd=%d UI_SET_KEYBIT %u", fd, BTN_RIGHT);
	line_is(l, i, "set fd=%d UI_SET_ABSBIT %u", fd, ABS_X);
	line_is(l, i, "set fd=%d UI_SET_ABSBIT %u", fd, ABS_Y);
	if (legacy)
		line_is(l, i, "refused fd=%d ioctl %#x: EINVAL (a call uinput does not know "
			"(before Linux 4.5))", fd, (unsigned)UI_DEV_SETUP);
	line_is(l, i, "%s fd=%d name=\"Test Tablet\" bus=0x3 vendor=0x627 product=0x1 version=0 "
		"ff_effects_max=0", legacy ? "legacy_setup" : "setup", fd);
	if (!legacy) {
		line_is(l, i, "abs_setup fd=%d code=0 value=0 min=0 max=32767 fuzz=0 flat=%d "
			"resolution=3", fd, flat);
		line_is(l, i, "abs_setup fd=%d code=1 value=5 min=0 max=32767 fuzz=0 flat=0 "
			"resolution=0", fd);
	}
	/* EV_SYN, EV_KEY, EV_ABS; BTN_LEFT, BTN_RIGHT; ABS_X, ABS_Y */
	line_is(l, i, "create fd=%d %s name=\"Test Tablet\" phys=none bus=0x3 vendor=0x627 "
		"product=0x1 version=0 ev=0,1,3 key=272,273 rel= abs=0,1 msc= led= snd= ff= sw= "
		"prop=", fd, host);
	/* the old way has no value or resolution */
	line_is(l, i, "absinfo %s 0 value=0 min=0 max=32767 fuzz=0 flat=%d resolution=%d", host,
		flat, legacy ? 0 : 3);
	line_is(l, i, "absinfo %s 1 value=%d min=0 max=32767 fuzz=0 flat=0 resolution=0", host,
		legacy ? 0 : 5);
	line_is(l, i, "sysname fd=%d %s", fd, host);
	return fd;
}

/* The events the host's handlers got (all of them: @n lines) */
static void host_got(struct fx *fx, const char *const *want, int n)
{
	struct ulog l;
	int i = 0;

	ulog_read(fx, &l);
	ulog_keep(&l, "event ", NULL);
	for (int k = 0; k < n; k++)
		line_is(&l, &i, "%s", want[k]);
	assert_int_equal(l.n, n);
	free(l.text);
}

static void test_uinput_export(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *all;
	struct ddeinput_device tab = tablet(TABLET), nameless = tablet(TABLET + 1);
	struct ddeinput_msg m;
	struct ulog l;
	int i = 0, check, kbd, tb, r;
	char want[64];
	const struct ddeinput_event k1[] = { ev(1, EV_MSC, MSC_SCAN, 0x70004),
					     ev(1, EV_KEY, KEY_A, 1),
					     ev(1, EV_SYN, SYN_REPORT, 0) };
	/* the driver's input core repeats the held key: the host repeats it itself */
	const struct ddeinput_event rep[] = { ev(2, EV_KEY, KEY_A, 2),
					      ev(2, EV_SYN, SYN_REPORT, 0) };
	const struct ddeinput_event t1[] = { ev(3, EV_ABS, ABS_X, 100), ev(3, EV_ABS, ABS_Y, 200),
					     ev(3, EV_KEY, BTN_LEFT, 1),
					     ev(3, EV_SYN, SYN_REPORT, 0) };
	/* a move of less than twice the fuzz: the driver's core let it through */
	const struct ddeinput_event t2[] = { ev(4, EV_ABS, ABS_X, 102),
					     ev(4, EV_SYN, SYN_REPORT, 0) };
	const struct ddeinput_event t3[] = { ev(5, EV_KEY, BTN_LEFT, 0),
					     ev(5, EV_SYN, SYN_REPORT, 0) };
	const struct ddeinput_event k2[] = { ev(6, EV_KEY, KEY_A, 0), ev(6, EV_KEY, KEY_B, 1),
					     ev(6, EV_SYN, SYN_REPORT, 0) };
	const char *const events[] = {
		"event input90 4 4 458756", "event input90 1 30 1", "event input90 0 0 0",
		"event input91 3 0 100", "event input91 3 1 200", "event input91 1 272 1",
		"event input91 0 0 0",
		"event input91 3 0 102", "event input91 0 0 0",
		"event input91 1 272 0", "event input91 0 0 0",
		"event input90 1 30 0", "event input90 1 48 1", "event input90 0 0 0",
		/* B still down when the keyboard goes: the host's core lets it go */
		"event input90 1 48 0 (released: the device goes)",
		"event input90 0 0 1 (the release's report)",
	};

	tab.absinfo[ABS_X].fuzz = 4;
	tab.absinfo[ABS_X].flat = 2;
	start_uinput(fx, NULL);
	/* at the start: can it open /dev/uinput? */
	ulog_read(fx, &l);
	check = opened_fd(&l, 0);
	line_is(&l, &i, "open fd=%d", check);
	line_is(&l, &i, "close fd=%d", check);
	assert_int_equal(l.n, 2);
	free(l.text);

	all = client(fx, "");
	fx->drv = drv_attach_on(seqpacket_connect(fx->socket), "testhid@00:04.0", NULL);
	drv_device(fx->drv, keyboard(KBD));
	drv_device(fx->drv, tab);
	next_is(all, &m, DDEINPUT_DEVICE, "input0");
	next_is(all, &m, DDEINPUT_DEVICE, "input1");
	assert_int_equal(logged(fx, "inputd: device input0: on the host as input90", 2000), 1);
	assert_int_equal(logged(fx, "inputd: device input1: on the host as input91", 2000), 1);
	/* each device made one by one, exactly so */
	ulog_read(fx, &l);
	i = 2;
	kbd = keyboard_made(&l, &i, "input90", 0);
	tb = tablet_made(&l, &i, "input91", 0, 2);
	assert_int_equal(i, l.n);
	free(l.text);

	drv_events(fx->drv, KBD, k1, 3);
	drv_events(fx->drv, KBD, rep, 2);
	drv_events(fx->drv, TABLET, t1, 4);
	drv_events(fx->drv, TABLET, t2, 2);
	drv_events(fx->drv, TABLET, t3, 2);
	drv_events(fx->drv, KBD, k2, 3);
	/* the driver says the keyboard is gone: so is the host's */
	drv_gone(fx->drv, KBD);
	do
		r = ddeinput_next(all, &m, 5000);
	while (r == DDEINPUT_EVENTS);
	assert_int_equal(r, DDEINPUT_GONE);
	assert_string_equal(m.name, "input0");
	snprintf(want, sizeof(want), "close fd=%d", kbd);
	assert_int_equal(ulog_has(fx, want, 2000), 1);
	host_got(fx, events, sizeof(events) / sizeof(events[0]));
	ulog_read(fx, &l);
	/* the repeat never written; what the host dropped: only an empty report */
	ulog_keep(&l, "dropped ", NULL);
	for (i = 0; i < l.n; i++)
		assert_non_null(strstr(l.line[i], " (an empty report)"));
	free(l.text);
	ulog_read(fx, &l);
	assert_int_equal(ulog_count(&l, "destroy input90 (UI_DEV_DESTROY)"), 1);
	assert_int_equal(ulog_count(&l, "unreported "), 0);
	assert_string_equal(l.line[l.n - 1], want);	/* destroyed, then closed */
	assert_string_equal(l.line[l.n - 2], "destroy input90 (UI_DEV_DESTROY)");
	free(l.text);

	/* inputd goes on: a new device, and one without a name (uinput wants one) */
	drv_device(fx->drv, keyboard(KBD + 1));
	next_is(all, &m, DDEINPUT_DEVICE, "input0");
	nameless.name[0] = 0;
	drv_device(fx->drv, nameless);
	next_is(all, &m, DDEINPUT_DEVICE, "input2");
	assert_int_equal(logged(fx, "inputd: device input0: on the host as input92", 2000), 1);
	assert_int_equal(logged(fx, "inputd: device input2: on the host as input93", 2000), 1);
	assert_int_equal(logged(fx, "refused the device", 0), 0);
	/* inputd stops: every device leaves the host, every descriptor is closed */
	ddeinput_close(all);
	stop_inputd(fx);
	ulog_read(fx, &l);
	assert_int_equal(ulog_count(&l, "destroy input91 (UI_DEV_DESTROY)"), 1);
	assert_int_equal(ulog_count(&l, "destroy input92 (UI_DEV_DESTROY)"), 1);
	assert_int_equal(ulog_count(&l, "destroy input93 (UI_DEV_DESTROY)"), 1);
	assert_int_equal(ulog_count(&l, "create "), 4);
	assert_int_equal(ulog_count(&l, "open "), 5);
	assert_int_equal(ulog_count(&l, "close "), 5);
	assert_int_equal(ulog_count(&l, "refused "), 0);	/* nothing Linux 6.1 refuses */
	assert_int_equal(ulog_count(&l, "destroy "), 4);
	snprintf(want, sizeof(want), "close fd=%d", tb);
	assert_int_equal(ulog_count(&l, want), 1);
	ulog_keep(&l, "create ", NULL);
	assert_non_null(strstr(l.line[3], " input93 name=\"dde input2\" phys=none "));
	free(l.text);
	fx->passed = 1;
}

/* A uinput before Linux 4.5: the struct uinput_user_dev written instead */
static void test_uinput_legacy(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *all;
	struct ddeinput_msg m;
	struct ulog l;
	int i = 2;
	const struct ddeinput_event k1[] = { ev(1, EV_KEY, KEY_ESC, 1),
					     ev(1, EV_SYN, SYN_REPORT, 0) };
	const struct ddeinput_event t1[] = { ev(2, EV_ABS, ABS_Y, 7),
					     ev(2, EV_SYN, SYN_REPORT, 0) };
	const char *const events[] = { "event input90 1 1 1", "event input90 0 0 0",
				       "event input91 3 1 7", "event input91 0 0 0" };

	start_uinput(fx, "UINPUT_STANDIN_LEGACY=1");
	all = client(fx, "");
	two_devices(fx, all);
	assert_int_equal(logged(fx, "inputd: device input1: on the host as input91", 2000), 1);
	ulog_read(fx, &l);
	keyboard_made(&l, &i, "input90", 1);
	tablet_made(&l, &i, "input91", 1, 0);
	assert_int_equal(i, l.n);
	free(l.text);
	drv_events(fx->drv, KBD, k1, 2);
	drv_events(fx->drv, TABLET, t1, 2);
	next_is(all, &m, DDEINPUT_EVENTS, "input0");
	next_is(all, &m, DDEINPUT_EVENTS, "input1");
	assert_int_equal(ulog_has(fx, "event input91 0 0 0", 2000), 1);
	host_got(fx, events, 4);
	ddeinput_close(all);
	fx->passed = 1;
}

/* No /dev/uinput: one line, and inputd serves its clients as without --uinput */
static void test_uinput_absent(void **state)
{
	struct fx *fx = *state;
	struct ddeinput *all;
	struct ddeinput_info info[4];
	struct ddeinput_msg m;
	struct ulog l;
	const struct ddeinput_event k1[] = { ev(1, EV_KEY, KEY_A, 1),
					     ev(1, EV_SYN, SYN_REPORT, 0) };

	start_uinput(fx, "UINPUT_STANDIN_ABSENT=1");
	all = client(fx, "");
	two_devices(fx, all);
	drv_events(fx->drv, KBD, k1, 2);
	next_is(all, &m, DDEINPUT_EVENTS, "input0");
	assert_int_equal(m.count, 2);
	ev_equal(&m.ev[0], &k1[0]);
	assert_int_equal(wait_listed(fx, 2, info, 4), 2);
	assert_int_equal(logged(fx, "inputd: --uinput: /dev/uinput: No such file or directory "
				"(modprobe uinput)", 1000), 1);
	assert_int_equal(logged(fx, "uinput", 0), 1);
	assert_int_equal(logged(fx, "on the host", 0), 0);
	/* tried once, at the start */
	ulog_read(fx, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.line[0], "refused open /dev/uinput: ENOENT (UINPUT_STANDIN_ABSENT)");
	free(l.text);
	ddeinput_close(all);
	fx->passed = 1;
}

/* ---- the stand-in itself: what Linux's uinput refuses, it refuses ---- */

static int calls_failed;

static void call_is(const char *what, int line, long r, long want, int err)
{
	int e = errno;

	if (r == want && (want != -1 || e == err))
		return;
	fprintf(stderr, "test_inputd --uinput-calls, line %d: %s: %ld (errno %s), not %ld%s%s\n",
		line, what, r, strerrorname_np(e), want, want == -1 ? " with " : "",
		want == -1 ? strerrorname_np(err) : "");
	calls_failed++;
}

/* @expr is @want (and errno @err if -1) */
#define CALL_IS(expr, want, err) call_is(#expr, __LINE__, (long)(expr), want, err)

static struct input_event iev(unsigned type, unsigned code, int value)
{
	return (struct input_event){ .type = (__u16)type, .code = (__u16)code, .value = value };
}

/* In a process of its own, with the stand-in preloaded: 0 if all went as in Linux */
static int uinput_calls(void)
{
	struct uinput_setup setup = { .id = { BUS_USB, 0x1234, 0x5678, 1 } };
	struct uinput_abs_setup abs = { .code = ABS_X,
					.absinfo = { .value = 50, .maximum = 100, .fuzz = 4 } };
	struct uinput_user_dev old;
	struct input_event e[4], got[2];
	unsigned version = 0;
	char name[16];
	int fd = open("/dev/uinput", O_RDWR | O_NONBLOCK | O_CLOEXEC), other;
	struct pollfd p = { fd, POLLIN, 0 };

	CALL_IS(fd >= 0, 1, 0);
	/* nothing described yet */
	CALL_IS(ioctl(fd, UI_DEV_CREATE), -1, EINVAL);
	CALL_IS(ioctl(fd, UI_GET_SYSNAME(sizeof(name)), name), -1, ENOENT);
	CALL_IS(read(fd, got, sizeof(got)), -1, ENODEV);
	CALL_IS(ioctl(fd, UI_GET_VERSION, &version), 0, 0);
	CALL_IS(version, 5, 0);
	/* a call it does not know: uinput says EINVAL, not ENOTTY */
	CALL_IS(ioctl(fd, _IO(UINPUT_IOCTL_BASE, 99)), -1, EINVAL);
	/* bits out of range, axes it does not take, no name */
	CALL_IS(ioctl(fd, UI_SET_EVBIT, EV_MAX + 1), -1, EINVAL);
	CALL_IS(ioctl(fd, UI_SET_KEYBIT, KEY_MAX + 1), -1, EINVAL);
	CALL_IS(ioctl(fd, UI_SET_EVBIT, EV_KEY), 0, 0);
	CALL_IS(ioctl(fd, UI_SET_EVBIT, EV_ABS), 0, 0);
	CALL_IS(ioctl(fd, UI_SET_EVBIT, EV_MSC), 0, 0);
	CALL_IS(ioctl(fd, UI_SET_KEYBIT, KEY_A), 0, 0);
	CALL_IS(ioctl(fd, UI_SET_MSCBIT, MSC_SCAN), 0, 0);
	CALL_IS(ioctl(fd, UI_SET_RELBIT, REL_X), 0, 0);	/* no EV_REL: gone at create */
	abs.code = ABS_CNT;
	CALL_IS(ioctl(fd, UI_ABS_SETUP, &abs), -1, ERANGE);
	abs.code = ABS_X;
	abs.absinfo.minimum = 200;
	CALL_IS(ioctl(fd, UI_ABS_SETUP, &abs), -1, EINVAL);
	abs.absinfo.minimum = 0;
	abs.absinfo.flat = 101;
	CALL_IS(ioctl(fd, UI_ABS_SETUP, &abs), -1, EINVAL);
	abs.absinfo.flat = 0;
	abs.code = ABS_MT_SLOT;
	CALL_IS(ioctl(fd, UI_ABS_SETUP, &abs), -1, EINVAL);	/* 101 slots */
	abs.code = ABS_X;
	CALL_IS(ioctl(fd, UI_DEV_SETUP, &setup), -1, EINVAL);
	memset(&old, 0, sizeof(old));
	CALL_IS(write(fd, &old, sizeof(old)), -1, EINVAL);
	CALL_IS(write(fd, &old, 10), -1, EINVAL);
	CALL_IS(ioctl(fd, UI_DEV_CREATE), -1, EINVAL);
	snprintf(setup.name, sizeof(setup.name), "standin");
	CALL_IS(ioctl(fd, UI_DEV_SETUP, &setup), 0, 0);
	CALL_IS(ioctl(fd, UI_ABS_SETUP, &abs), 0, 0);
	CALL_IS(ioctl(fd, UI_DEV_CREATE), 0, 0);
	CALL_IS(ioctl(fd, UI_GET_SYSNAME(sizeof(name)), name), 8, 0);
	CALL_IS(strcmp(name, "input90"), 0, 0);
	CALL_IS(ioctl(fd, UI_GET_SYSNAME(4), name), 4, 0);
	CALL_IS(strcmp(name, "inp"), 0, 0);
	/* created: described for good */
	CALL_IS(ioctl(fd, UI_SET_KEYBIT, KEY_B), -1, EINVAL);
	CALL_IS(ioctl(fd, UI_DEV_SETUP, &setup), -1, EINVAL);
	CALL_IS(ioctl(fd, UI_ABS_SETUP, &abs), -1, EINVAL);
	CALL_IS(ioctl(fd, UI_SET_PHYS, "usb-x"), -1, EINVAL);
	CALL_IS(ioctl(fd, UI_DEV_CREATE), -1, EINVAL);
	/* events: whole ones, taken as the input core takes them */
	e[0] = iev(EV_KEY, KEY_A, 1);
	e[1] = iev(EV_KEY, KEY_A, 1);
	e[2] = iev(EV_KEY, KEY_B, 1);
	e[3] = iev(EV_SYN, SYN_REPORT, 0);
	CALL_IS(write(fd, e, 10), -1, EINVAL);
	CALL_IS(write(fd, e, sizeof(e)), sizeof(e), 0);
	e[0] = iev(EV_REL, REL_X, 5);
	e[1] = iev(EV_ABS, ABS_X, 52);	/* within the fuzz: 50 still */
	e[2] = iev(EV_ABS, ABS_X, 55);	/* halfway: 52 */
	CALL_IS(write(fd, e, sizeof(e[0]) + 8), sizeof(e[0]), 0);	/* a piece is left */
	CALL_IS(write(fd, e + 1, 3 * sizeof(e[0])), 3 * sizeof(e[0]), 0);
	CALL_IS(write(fd, e + 3, sizeof(e[0])), sizeof(e[0]), 0);	/* an empty report */
	/* MSC goes to the device too: the program reads it, once */
	e[0] = iev(EV_MSC, MSC_SCAN, 7);
	e[1] = iev(EV_SYN, SYN_REPORT, 0);
	CALL_IS(poll(&p, 1, 0), 0, 0);
	CALL_IS(write(fd, e, 2 * sizeof(e[0])), 2 * sizeof(e[0]), 0);
	CALL_IS(poll(&p, 1, 0), 1, 0);
	CALL_IS(read(fd, got, 10), -1, EINVAL);
	CALL_IS(read(fd, got, sizeof(got)), sizeof(got[0]), 0);
	CALL_IS(got[0].type == EV_MSC && got[0].code == MSC_SCAN && got[0].value == 7, 1, 0);
	CALL_IS(poll(&p, 1, 0), 0, 0);
	CALL_IS(read(fd, got, sizeof(got)), -1, EAGAIN);
	/* A is down: let go when the device goes */
	CALL_IS(ioctl(fd, UI_DEV_DESTROY), 0, 0);
	CALL_IS(ioctl(fd, UI_GET_SYSNAME(sizeof(name)), name), -1, ENOENT);
	CALL_IS(write(fd, e, sizeof(e[0])), -1, EINVAL);	/* not a struct uinput_user_dev */
	/* the old way, checked as Linux checks it */
	CALL_IS(ioctl(fd, UI_SET_EVBIT, EV_ABS), 0, 0);
	CALL_IS(ioctl(fd, UI_SET_ABSBIT, ABS_Y), 0, 0);
	snprintf(old.name, sizeof(old.name), "standin old");
	old.absmin[ABS_Y] = 10;
	old.absmax[ABS_Y] = 5;
	CALL_IS(write(fd, &old, sizeof(old)), -1, EINVAL);
	old.absmax[ABS_Y] = 500;
	CALL_IS(write(fd, &old, sizeof(old)), sizeof(old), 0);
	CALL_IS(ioctl(fd, UI_DEV_CREATE), 0, 0);
	CALL_IS(close(fd), 0, 0);
	/* written only; and other files are not the stand-in's */
	fd = open("/dev/uinput", O_WRONLY);
	CALL_IS(read(fd, got, sizeof(got)), -1, EBADF);
	CALL_IS(close(fd), 0, 0);
	other = open("/dev/null", O_WRONLY);
	CALL_IS(ioctl(other, UI_DEV_CREATE), -1, ENOTTY);
	CALL_IS(write(other, e, sizeof(e)), sizeof(e), 0);
	CALL_IS(close(other), 0, 0);
	return calls_failed ? 1 : 0;
}

static void test_uinput_standin(void **state)
{
	struct fx *fx = *state;
	char self[PATH_MAX];
	const char *const events[] = {
		"event input90 1 30 1",
		"dropped input90 1 30 1 (the key is down already)",
		"dropped input90 1 48 1 (a key the device does not have)",
		"event input90 0 0 0",
		"dropped input90 2 0 5 (a type the device does not have)",
		"dropped input90 3 0 52 (the axis has that value already (after the fuzz "
		"filter))",
		"event input90 3 0 52 (the fuzz filter's, of 55)",
		"event input90 0 0 0",
		"dropped input90 0 0 0 (an empty report)",
		"event input90 4 4 7",
		"event input90 0 0 0",
		"event input90 1 30 0 (released: the device goes)",
		"event input90 0 0 1 (the release's report)",
	};
	struct ulog l;
	int status = -1, i = 0;
	pid_t pid;

	standin_env(fx, NULL);
	build_path("tests/unit/test_inputd", self, sizeof(self));
	pid = fork();
	if (pid == 0) {
		for (int k = 0; fx->env[k]; k++)
			putenv(fx->env[k]);
		execl(self, "test_inputd", "--uinput-calls", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ulog_read(fx, &l);
	assert_int_equal(ulog_count(&l, "refused "), 26);	/* each one refused above */
	assert_int_equal(ulog_count(&l, "destroy input90 (UI_DEV_DESTROY)"), 1);
	assert_int_equal(ulog_count(&l, "destroy input91 (close)"), 1);
	assert_int_equal(ulog_count(&l, "absinfo input91 1 value=0 min=10 max=500 fuzz=0 flat=0 "
				    "resolution=0"), 1);
	ulog_keep(&l, "create ", NULL);
	assert_int_equal(l.n, 2);
	/* REL_X gone with EV_REL missing; the core's EV_SYN there */
	assert_non_null(strstr(l.line[0], " input90 name=\"standin\" phys=none bus=0x3 "
			       "vendor=0x1234 product=0x5678 version=0x1 ev=0,1,3,4 key=30 rel= "
			       "abs=0 msc=4 led= snd= ff= sw= prop="));
	free(l.text);
	ulog_read(fx, &l);
	ulog_keep(&l, "event ", "dropped ");
	for (unsigned k = 0; k < sizeof(events) / sizeof(events[0]); k++)
		line_is(&l, &i, "%s", events[k]);
	assert_int_equal(i, l.n);
	free(l.text);
	fx->passed = 1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_devices_and_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_while_asking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_channel, setup_control, teardown),
		cmocka_unit_test_setup_teardown(test_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uinput_standin, setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_uinput_export, setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_uinput_legacy, setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_uinput_absent, setup_bare, teardown),
	};

	/* test_uinput_standin's process, the stand-in preloaded */
	if (argc == 2 && !strcmp(argv[1], "--uinput-calls"))
		return uinput_calls();

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
