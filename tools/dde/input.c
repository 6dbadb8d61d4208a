/*
 * dde input: the input server's (inputd's) devices — a list, or one
 * device's (or every device's) events as they come, printed as evtest
 * prints them, so that what a driver reports reads as it would on Linux;
 * and a device's LEDs set (Caps Lock).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/input.h>

#include "../../libddeinput/client.h"
#include "dde.h"

#define MAX_DEVICES 256


static int usage(FILE *out, int status)
{
	fprintf(out,
		"usage: dde input [--socket PATH]\n"
		"       dde input DEVICE|--all [--count N] [--timeout MS] [--socket PATH]\n"
		"       dde input --led DEVICE LED=0|1 [--socket PATH]\n"
		"  list the input devices of the input server at PATH (default $DDE_INPUT,\n"
		"  as `dde run` prints it): name, bus and ids, driver, event types, Linux's\n"
		"  name; or print a device's events (of every device with --all, each line\n"
		"  after its device's name) as evtest does, until N events that are not\n"
		"  SYN_REPORT came (--count) or none for MS milliseconds (--timeout: exit\n"
		"  status 1); or set a LED (LED_CAPSL=1, or CAPSL=1) (docs/input.md)\n");
	return status;
}

/* ---- the list ---- */

static const char *bus_name(unsigned bus)
{
	switch (bus) {
	case BUS_PCI: return "pci";
	case BUS_USB: return "usb";
	case BUS_BLUETOOTH: return "bluetooth";
	case BUS_VIRTUAL: return "virtual";
	case BUS_I8042: return "i8042";
	case BUS_HOST: return "host";
	case BUS_I2C: return "i2c";
	default: return NULL;
	}
}

/* "SYN KEY MSC LED REP" */
static void types_text(const struct ddeinput_device *d, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = 0;
	for (unsigned t = 0; t < DDEINPUT_EV_CNT && n < cap; t++) {
		const char *name = ddeinput_type_name(t);

		if (!ddeinput_bit(d->ev, t))
			continue;
		if (name)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? " " : "", name + 3);
		else
			n += (size_t)snprintf(out + n, cap - n, "%s%u", n ? " " : "", t);
	}
}

static void show(const struct ddeinput_info *i)
{
	const char *bus = bus_name(i->dev.bustype);
	char types[128], busbuf[16];

	if (!bus) {
		snprintf(busbuf, sizeof(busbuf), "0x%x", i->dev.bustype);
		bus = busbuf;
	}
	types_text(&i->dev, types, sizeof(types));
	printf("%-8s %-9s %04x:%04x  %-22s %-20s %s\n", i->name, bus, i->dev.vendor,
	       i->dev.product, i->dev.driver, types, i->dev.name);
}

static int list(struct ddeinput *c)
{
	struct ddeinput_info *all = calloc(MAX_DEVICES, sizeof(*all));
	int n = all ? ddeinput_list(c, all, MAX_DEVICES) : -ENOMEM;

	if (n < 0) {
		fprintf(stderr, "dde input: %s\n", all ? ddeinput_error(c) : "out of memory");
		free(all);
		return 1;
	}
	if (n)
		printf("%-8s %-9s %-10s %-22s %-20s %s\n", "NAME", "BUS", "ID", "DRIVER", "EVENTS",
		       "DEVICE");
	for (int i = 0; i < n && i < MAX_DEVICES; i++)
		show(&all[i]);
	if (!n)
		printf("no input devices\n");
	free(all);
	return 0;
}

/* ---- events, as evtest prints them ---- */

static const char *or_what(const char *name)
{
	return name ? name : "?";
}

/* What the device reports: evtest's "Supported events" and "Key repeat handling" */
static void header(const struct ddeinput_device *d)
{
	static const struct {
		unsigned type, count;
		size_t offset;
	} maps[] = {
		{ EV_KEY, DDEINPUT_KEY_CNT, offsetof(struct ddeinput_device, key) },
		{ EV_REL, DDEINPUT_REL_CNT, offsetof(struct ddeinput_device, rel) },
		{ EV_ABS, DDEINPUT_ABS_CNT, offsetof(struct ddeinput_device, abs) },
		{ EV_MSC, DDEINPUT_MSC_CNT, offsetof(struct ddeinput_device, msc) },
		{ EV_LED, DDEINPUT_LED_CNT, offsetof(struct ddeinput_device, led) },
	};
	static const char *const absval[6] = { "Value", "Min  ", "Max  ", "Fuzz ", "Flat ",
					       "Resolution " };

	printf("Input device ID: bus 0x%x vendor 0x%x product 0x%x version 0x%x\n", d->bustype,
	       d->vendor, d->product, d->version);
	printf("Input device name: \"%s\"\n", d->name);
	printf("Supported events:\n");
	for (unsigned t = 0; t < DDEINPUT_EV_CNT; t++) {
		if (!ddeinput_bit(d->ev, t) || t == EV_REP)
			continue;
		printf("  Event type %u (%s)\n", t, or_what(ddeinput_type_name(t)));
		for (unsigned k = 0; k < sizeof(maps) / sizeof(maps[0]); k++) {
			const unsigned char *bits = (const unsigned char *)d + maps[k].offset;

			if (maps[k].type != t)
				continue;
			for (unsigned code = 0; code < maps[k].count; code++) {
				if (!ddeinput_bit(bits, code))
					continue;
				printf("    Event code %u (%s)\n", code,
				       or_what(ddeinput_code_name(t, code)));
				if (t != EV_ABS)
					continue;
				const struct ddeinput_abs *a = &d->absinfo[code];
				const int32_t v[6] = { a->value, a->minimum, a->maximum, a->fuzz,
						       a->flat, a->resolution };

				/* value, min and max always; the others when set */
				for (int f = 0; f < 6; f++)
					if (f < 3 || v[f])
						printf("      %s %6d\n", absval[f], v[f]);
			}
		}
	}
	if (ddeinput_bit(d->ev, EV_REP)) {
		printf("Key repeat handling:\n");
		printf("  Repeat type %d (%s)\n", EV_REP, or_what(ddeinput_type_name(EV_REP)));
		printf("    Repeat code %d (%s)\n", REP_DELAY,
		       or_what(ddeinput_code_name(EV_REP, REP_DELAY)));
		printf("      Value %6u\n", d->rep_delay);
		printf("    Repeat code %d (%s)\n", REP_PERIOD,
		       or_what(ddeinput_code_name(EV_REP, REP_PERIOD)));
		printf("      Value %6u\n", d->rep_period);
	}
}

/* "Event: time 1234.567890, type 1 (EV_KEY), code 30 (KEY_A), value 1" */
static void print_event(const char *prefix, const struct ddeinput_event *e)
{
	const char *code = or_what(ddeinput_code_name(e->type, e->code));

	printf("%sEvent: time %llu.%06llu, ", prefix,
	       (unsigned long long)(e->time_ns / 1000000000u),
	       (unsigned long long)(e->time_ns % 1000000000u / 1000u));
	if (e->type == EV_SYN && e->code == SYN_MT_REPORT)
		printf("++++++++++++++ %s ++++++++++++\n", code);
	else if (e->type == EV_SYN && e->code == SYN_DROPPED)
		printf(">>>>>>>>>>>>>> %s <<<<<<<<<<<<\n", code);
	else if (e->type == EV_SYN)
		printf("-------------- %s ------------\n", code);
	else if (e->type == EV_MSC && (e->code == MSC_RAW || e->code == MSC_SCAN))
		printf("type %u (%s), code %u (%s), value %02x\n", e->type,
		       or_what(ddeinput_type_name(e->type)), e->code, code, (unsigned)e->value);
	else
		printf("type %u (%s), code %u (%s), value %d\n", e->type,
		       or_what(ddeinput_type_name(e->type)), e->code, code, e->value);
}

struct watch {
	const char *device;		/* NULL: --all */
	long count;			/* events to print (not SYN): 0, for ever */
	long timeout_ms;		/* -1: none */
	long seen;
};

/* --all: the devices said so far (one that appears while the list is
 * made is both listed and announced: said once) */
struct seen {
	char name[MAX_DEVICES][DDEINPUT_NAME];
	int n;
};

/* --all: a device, on its line, unless it was said already */
static void announce(struct seen *s, const char *name, const struct ddeinput_device *d)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return;
	if (s->n < MAX_DEVICES)
		snprintf(s->name[s->n++], DDEINPUT_NAME, "%s", name);
	printf("%s: Input device name: \"%s\" (driver %s)\n", name, d->name, d->driver);
}

static void forget(struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name)) {
			memcpy(s->name[i], s->name[--s->n], DDEINPUT_NAME);
			return;
		}
}

/* One EVENTS message: 1 when --count is reached */
static int print_events(struct watch *w, const struct ddeinput_msg *m)
{
	char prefix[DDEINPUT_NAME + 2] = "";

	if (!w->device)
		snprintf(prefix, sizeof(prefix), "%s: ", m->name);
	if (m->value > 0 && m->count) {
		struct ddeinput_event dropped = { m->ev[0].time_ns, EV_SYN, SYN_DROPPED, 0 };

		fprintf(stderr, "dde input: %s: %d events lost (not read in time)\n", m->name,
			m->value);
		print_event(prefix, &dropped);
	}
	for (uint32_t i = 0; i < m->count; i++) {
		print_event(prefix, &m->ev[i]);
		if (m->ev[i].type != EV_SYN && w->count && ++w->seen >= w->count)
			return 1;
	}
	return 0;
}

static int watch(struct ddeinput *c, struct watch *w)
{
	struct ddeinput_info *all = calloc(MAX_DEVICES, sizeof(*all));
	struct ddeinput_msg *m = malloc(sizeof(*m));
	struct seen *seen = calloc(1, sizeof(*seen));
	const struct ddeinput_info *me = NULL;
	int n, r, status = 1;

	if (!all || !m || !seen) {
		fprintf(stderr, "dde input: out of memory\n");
		goto out;
	}
	/* --all: subscribed first, so that no device comes unseen meanwhile */
	if (!w->device && ddeinput_subscribe(c, "")) {
		fprintf(stderr, "dde input: %s\n", ddeinput_error(c));
		goto out;
	}
	n = ddeinput_list(c, all, MAX_DEVICES);
	if (n < 0) {
		fprintf(stderr, "dde input: %s\n", ddeinput_error(c));
		goto out;
	}
	for (int i = 0; i < n && i < MAX_DEVICES; i++) {
		if (!w->device)
			announce(seen, all[i].name, &all[i].dev);
		else if (!strcmp(all[i].name, w->device))
			me = &all[i];
	}
	if (w->device && !me) {
		fprintf(stderr, "dde input: no input device %s (dde input lists them)\n",
			w->device);
		goto out;
	}
	if (me) {
		header(&me->dev);
		if (ddeinput_subscribe(c, w->device)) {
			fprintf(stderr, "dde input: %s\n", ddeinput_error(c));
			goto out;
		}
	}
	printf("Testing ... (interrupt to exit)\n");
	fflush(stdout);
	for (;;) {
		r = ddeinput_next(c, m, (int)w->timeout_ms);
		if (r == 0) {
			fprintf(stderr, "dde input: no event from %s within %ld ms\n",
				w->device ? w->device : "any device", w->timeout_ms);
			break;
		}
		if (r < 0) {
			fprintf(stderr, "dde input: %s\n", ddeinput_error(c));
			break;
		}
		if (r == DDEINPUT_EVENTS && print_events(w, m)) {
			status = 0;
			break;
		}
		if (r == DDEINPUT_DEVICE && !w->device)
			announce(seen, m->name, &m->dev);
		if (r == DDEINPUT_GONE && !w->device) {
			forget(seen, m->name);
			printf("%s: gone\n", m->name);
		}
		if (r == DDEINPUT_GONE && w->device) {
			fprintf(stderr, "dde input: %s is gone\n", m->name);
			break;
		}
		fflush(stdout);
	}
out:
	fflush(stdout);
	free(all);
	free(m);
	free(seen);
	return status;
}

/* ---- LEDs ---- */

static int led(struct ddeinput *c, const char *device, const char *setting)
{
	struct ddeinput_event ev[2] = { { 0 } };
	const char *eq = strchr(setting, '=');
	char name[48];
	unsigned type, code;
	struct timespec now;

	if (!eq || (strcmp(eq + 1, "0") && strcmp(eq + 1, "1"))) {
		fprintf(stderr, "dde input: --led: '%s' is not LED=0 or LED=1 (LED_CAPSL=1)\n",
			setting);
		return 2;
	}
	snprintf(name, sizeof(name), "%s%.*s", strncmp(setting, "LED_", 4) ? "LED_" : "",
		 (int)(eq - setting), setting);
	if (ddeinput_code_by_name(name, &type, &code) || type != EV_LED) {
		fprintf(stderr, "dde input: --led: Linux has no LED %s (LED_NUML, LED_CAPSL, "
			"LED_SCROLLL, ...)\n", name);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	ev[0].time_ns = ev[1].time_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	ev[0].type = EV_LED;
	ev[0].code = (uint16_t)code;
	ev[0].value = eq[1] == '1';
	ev[1].type = EV_SYN;
	ev[1].code = SYN_REPORT;
	if (ddeinput_send(c, device, ev, 2) < 0) {
		fprintf(stderr, "dde input: %s\n", ddeinput_error(c));
		return 1;
	}
	return 0;
}

/* A whole number in [min, max] for option @opt, or -1 after a line */
static long number(const char *opt, const char *text, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		fprintf(stderr, "dde input: %s '%s': a number from %ld to %ld\n", opt, text, min,
			max);
		return -1;
	}
	return v;
}

int dde_input(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' },
		{ "all", no_argument, 0, 'a' },
		{ "count", required_argument, 0, 'c' },
		{ "timeout", required_argument, 0, 't' },
		{ "led", no_argument, 0, 'l' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct watch w = { .timeout_ms = -1 };
	const char *server = NULL;
	int opt, all = 0, setled = 0, status;
	struct ddeinput *c;
	char err[256];

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 's') {
			server = optarg;
		} else if (opt == 'a') {
			all = 1;
		} else if (opt == 'c') {
			w.count = number("--count", optarg, 1, 1000000000);
			if (w.count < 0)
				return 2;
		} else if (opt == 't') {
			w.timeout_ms = number("--timeout", optarg, 0, 86400000);
			if (w.timeout_ms < 0)
				return 2;
		} else if (opt == 'l') {
			setled = 1;
		} else if (opt == '?') {
			fprintf(stderr, "dde input: unknown or incomplete option '%s' (see dde input "
				"--help)\n", argv[optind - 1]);
			return 2;
		} else {
			return usage(stdout, 0);
		}
	}
	if (setled && (all || argc - optind != 2)) {
		fprintf(stderr, "dde input: --led takes a device and LED=0|1: dde input --led "
			"input0 LED_CAPSL=1\n");
		return 2;
	}
	if (!setled && (argc - optind > 1 || (all && argc - optind == 1))) {
		fprintf(stderr, "dde input: unexpected argument '%s' (see dde input --help)\n",
			argv[argc - 1]);
		return 2;
	}
	if (!setled && !all && optind == argc && (w.count || w.timeout_ms >= 0)) {
		fprintf(stderr, "dde input: --count and --timeout are for a device's events "
			"(DEVICE or --all)\n");
		return 2;
	}
	if (!server && !(getenv("DDE_INPUT") && *getenv("DDE_INPUT"))) {
		fprintf(stderr, "dde input: which input server? Set DDE_INPUT (dde run prints it) "
			"or give --socket PATH\n");
		return 2;
	}
	c = ddeinput_connect(server, "dde input", err, sizeof(err));
	if (!c) {
		fprintf(stderr, "dde input: %s\n", err);
		return 1;
	}
	if (setled) {
		status = led(c, argv[optind], argv[optind + 1]);
	} else if (all || optind < argc) {
		w.device = all ? NULL : argv[optind];
		status = watch(c, &w);
	} else {
		status = list(c);
	}
	ddeinput_close(c);
	return status;
}
