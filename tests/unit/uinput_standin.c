/*
 * A stand-in for Linux's /dev/uinput, for hosts without it: preloaded
 * into a program (LD_PRELOAD), it takes the program's open of exactly
 * "/dev/uinput" and the ioctl, write, read and close calls on what that
 * open returned, and answers them as Linux 6.1's uinput does, strictly:
 * the same states (new, set up, created), the same checks and errors, and
 * the events written to a created device taken as Linux's input core
 * takes them (dropped when the device has no such type or code, when a
 * key or LED does not change, an axis keeps its value after the fuzz
 * filter, a relative motion is 0, a report is empty). Everything else
 * goes to the C library underneath (dlsym RTLD_NEXT). The descriptor the
 * program gets is a real one, an eventfd: close, poll (always writable,
 * readable when the device has events for the program) and fcntl work.
 *
 * The environment says:
 *   UINPUT_STANDIN_LOG=FILE   every call taken and every event, one line
 *                             each, appended (O_APPEND: several devices
 *                             and processes may share the file)
 *   UINPUT_STANDIN_ABSENT=1   there is no /dev/uinput: the open fails
 *                             with ENOENT
 *   UINPUT_STANDIN_LEGACY=1   a uinput before Linux 4.5 (protocol 4):
 *                             UI_DEV_SETUP, UI_ABS_SETUP and
 *                             UI_GET_VERSION are unknown (EINVAL), the
 *                             device is described by the write of a
 *                             struct uinput_user_dev
 *
 * The lines (F: the program's descriptor, inputN: the device's name on
 * the "host", numbered from 90 in each process):
 *   open fd=F
 *   set fd=F UI_SET_KEYBIT 30                          (every UI_SET_*BIT)
 *   phys fd=F "usb-1/input0"
 *   setup fd=F name="..." bus=0x3 vendor=0x627 product=0x1 version=0x111 ff_effects_max=0
 *   abs_setup fd=F code=0 value=0 min=0 max=32767 fuzz=0 flat=0 resolution=3
 *   legacy_setup fd=F name="..." bus=... ff_effects_max=0   (the write)
 *   create fd=F inputN name="..." phys="..."|phys=none bus=... ev=0,1,4 key=30,48 rel= abs=
 *          msc= led= snd= ff= sw= prop=      (on one line: as registered, after
 *                                             the input core's own changes)
 *   absinfo inputN CODE value=... min=... max=... fuzz=... flat=... resolution=...
 *   sysname fd=F inputN
 *   version fd=F 5
 *   write fd=F N events
 *   event inputN TYPE CODE VALUE [(why it is there)]   passed on to the host's handlers
 *   dropped inputN TYPE CODE VALUE (why)               not passed on
 *   unreported inputN N (why)                 events a device took without their report
 *   read fd=F N events
 *   destroy inputN (UI_DEV_DESTROY|close)     ("destroy fd=F (nothing created)")
 *   close fd=F
 *   refused fd=F CALL: ERRNO (why)            a call that failed, and with what
 *   refused open /dev/uinput: ERRNO (why)
 *
 * A call uinput does not know fails with EINVAL, as in Linux (not ENOTTY:
 * uinput's ioctl says EINVAL for whatever it does not know); the VFS' own
 * FIOCLEX, FIONCLEX, FIONBIO and FIOASYNC work, on the eventfd.
 *
 * Not modelled: time (the input core's own autorepeat of held keys, event
 * timestamps), dup'ed descriptors (a dup is an eventfd, and fails as one),
 * bad pointers (EFAULT: the stand-in faults), force feedback requests
 * (nobody asks, so UI_BEGIN/END_FF_* find no request), writev, and opens
 * the C library makes itself (fopen), which it does not export.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/input.h>
#include <linux/uinput.h>

#define PATH "/dev/uinput"
#define MAX_OPEN 64		/* opens of /dev/uinput at once in one process */
#define RING 16			/* uinput's buffer of events for the program */
#define MAX_SLOTS 1024		/* the input core's limit of multitouch slots */
#define MT_FIRST ABS_MT_TOUCH_MAJOR	/* the per-slot axes */
#define MT_LAST ABS_MT_TOOL_Y
#define MT_AXES (MT_LAST - MT_FIRST + 1)
#define FIRST_NUMBER 90		/* "input90": far from the host's own */

#define BYTES(n) (((n) + 7) / 8)

/* What the input core's struct input_dev holds of a device: its capabilities */
struct caps {
	unsigned char ev[BYTES(EV_CNT)], key[BYTES(KEY_CNT)], rel[BYTES(REL_CNT)],
		abs[BYTES(ABS_CNT)], msc[BYTES(MSC_CNT)], led[BYTES(LED_CNT)],
		snd[BYTES(SND_CNT)], ff[BYTES(FF_CNT)], sw[BYTES(SW_CNT)],
		prop[BYTES(INPUT_PROP_CNT)];
};

/* The UI_SET_*BIT ioctls: which bitmap, up to which bit, of which event type */
static const struct bitmap {
	unsigned long cmd;
	const char *call, *word;	/* "UI_SET_KEYBIT", "key" (the create line's) */
	size_t off;
	unsigned max, type;		/* type EV_CNT: not an event type's bitmap */
} bitmaps[] = {
	{ UI_SET_EVBIT, "UI_SET_EVBIT", "ev", offsetof(struct caps, ev), EV_MAX, EV_CNT },
	{ UI_SET_KEYBIT, "UI_SET_KEYBIT", "key", offsetof(struct caps, key), KEY_MAX, EV_KEY },
	{ UI_SET_RELBIT, "UI_SET_RELBIT", "rel", offsetof(struct caps, rel), REL_MAX, EV_REL },
	{ UI_SET_ABSBIT, "UI_SET_ABSBIT", "abs", offsetof(struct caps, abs), ABS_MAX, EV_ABS },
	{ UI_SET_MSCBIT, "UI_SET_MSCBIT", "msc", offsetof(struct caps, msc), MSC_MAX, EV_MSC },
	{ UI_SET_LEDBIT, "UI_SET_LEDBIT", "led", offsetof(struct caps, led), LED_MAX, EV_LED },
	{ UI_SET_SNDBIT, "UI_SET_SNDBIT", "snd", offsetof(struct caps, snd), SND_MAX, EV_SND },
	{ UI_SET_FFBIT, "UI_SET_FFBIT", "ff", offsetof(struct caps, ff), FF_MAX, EV_FF },
	{ UI_SET_SWBIT, "UI_SET_SWBIT", "sw", offsetof(struct caps, sw), SW_MAX, EV_SW },
	{ UI_SET_PROPBIT, "UI_SET_PROPBIT", "prop", offsetof(struct caps, prop), INPUT_PROP_MAX,
	  EV_CNT },
};
#define NBITMAPS (sizeof(bitmaps) / sizeof(bitmaps[0]))

enum state { NEW, SETUP, CREATED };

/* One open of /dev/uinput */
struct uin {
	int fd;
	int accmode;			/* the open's O_RDONLY, O_WRONLY, O_RDWR */
	enum state state;
	unsigned ff_effects_max;	/* uinput's own: it outlives a destroy */
	/* the device being described (all zero again after a destroy) */
	struct caps caps;
	char name[UINPUT_MAX_NAME_SIZE + 1];
	char phys[1024];
	int has_phys;
	struct input_id id;
	struct input_absinfo abs[ABS_CNT];
	/* once created: the input core's state of it */
	int number;
	char sysname[16];
	unsigned char key[BYTES(KEY_CNT)], led[BYTES(LED_CNT)], snd[BYTES(SND_CNT)],
		sw[BYTES(SW_CNT)];
	int rep[REP_CNT];
	int nslots, slot;
	int (*mt)[MT_AXES];		/* each slot's values of the per-slot axes */
	int hint, nvals, max_vals;	/* events of the report not passed on yet */
	/* what the program may read: events passed to the device */
	struct input_event ring[RING];
	unsigned head, tail;
	int signalled;			/* the eventfd's count is 1: readable */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct uin *open_devs[MAX_OPEN];
static int next_number = FIRST_NUMBER;

/* ---- the C library underneath ---- */

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_read)(int, void *, size_t);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_close)(int);

static void *next_fn(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		fprintf(stderr, "uinput_standin: no %s under it\n", name);
		abort();
	}
	return f;
}

static void resolve_once(void)
{
	real_open = next_fn("open");
	real_openat = next_fn("openat");
	real_write = next_fn("write");
	real_read = next_fn("read");
	real_ioctl = next_fn("ioctl");
	real_close = next_fn("close");
}

/* At the first call of any: constructors of other libraries may come first */
static void resolve(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, resolve_once);
}

/* ---- the log ---- */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	const char *path = getenv("UINPUT_STANDIN_LOG");
	int saved = errno, fd, n;
	char line[12288];
	va_list ap;

	if (!path || !path[0])
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	fd = real_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		/* one write: whole lines, whoever else appends */
		if (real_write(fd, line, (size_t)n) < 0) {
			/* nowhere to say it */
		}
		real_close(fd);
	}
	errno = saved;
}

/* A call refused: its line, and -1 with @err in errno */
static int refuse(int fd, int err, const char *call, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(int fd, int err, const char *call, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	note("refused fd=%d %s: %s (%s)", fd, call, strerrorname_np(err), why);
	errno = err;
	return -1;
}

static int env_set(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] && strcmp(v, "0");
}

/* ---- bits ---- */

static int bit(const unsigned char *bits, unsigned n)
{
	return bits[n / 8] >> (n % 8) & 1;
}

static void set_bit(unsigned char *bits, unsigned n)
{
	bits[n / 8] |= (unsigned char)(1u << (n % 8));
}

static void put_bit(unsigned char *bits, unsigned n, int on)
{
	if (on)
		set_bit(bits, n);
	else
		bits[n / 8] &= (unsigned char)~(1u << (n % 8));
}

/* "1,30,48": the bits set of @bits (up to @max), appended to @out */
static void list_bits(char *out, size_t cap, const unsigned char *bits, unsigned max)
{
	size_t len = strlen(out);
	const char *sep = "";

	for (unsigned i = 0; i <= max && len < cap; i++)
		if (bit(bits, i)) {
			len += (size_t)snprintf(out + len, cap - len, "%s%u", sep, i);
			sep = ",";
		}
}

/* A code the device has: as the input core's is_event_supported */
static int has(const unsigned char *bits, unsigned code, unsigned max)
{
	return code <= max && bit(bits, code);
}

/* ---- the descriptors ---- */

static struct uin *find(int fd)
{
	for (int i = 0; i < MAX_OPEN; i++)
		if (open_devs[i] && open_devs[i]->fd == fd)
			return open_devs[i];
	return NULL;
}

static int standin_open(int flags)
{
	int efd, slot = -1;
	struct uin *u;

	if (env_set("UINPUT_STANDIN_ABSENT")) {
		note("refused open %s: ENOENT (UINPUT_STANDIN_ABSENT)", PATH);
		errno = ENOENT;
		return -1;
	}
	/* what the VFS says of a character device before uinput sees it */
	if (flags & O_DIRECTORY) {
		note("refused open %s: ENOTDIR (O_DIRECTORY)", PATH);
		errno = ENOTDIR;
		return -1;
	}
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		note("refused open %s: EEXIST (O_CREAT | O_EXCL)", PATH);
		errno = EEXIST;
		return -1;
	}
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_OPEN && slot < 0; i++)
		if (!open_devs[i])
			slot = i;
	u = slot >= 0 ? calloc(1, sizeof(*u)) : NULL;
	efd = u ? eventfd(0, (flags & O_CLOEXEC ? EFD_CLOEXEC : 0) |
			     (flags & O_NONBLOCK ? EFD_NONBLOCK : 0)) : -1;
	if (efd < 0) {
		int err = u ? errno : ENOMEM;

		free(u);
		pthread_mutex_unlock(&lock);
		note("refused open %s: %s (the stand-in: %s)", PATH, strerrorname_np(err),
		     slot < 0 ? "more opens at once than it keeps" : "no eventfd");
		errno = err;
		return -1;
	}
	u->fd = efd;
	u->accmode = flags & O_ACCMODE;
	u->state = NEW;
	open_devs[slot] = u;
	note("open fd=%d", efd);
	pthread_mutex_unlock(&lock);
	return efd;
}

/* The eventfd readable exactly when the program has events to read */
static void sync_readable(struct uin *u)
{
	uint64_t v = 1;
	int want = u->head != u->tail;

	if (want && !u->signalled && real_write(u->fd, &v, sizeof(v)) == sizeof(v))
		u->signalled = 1;
	else if (!want && u->signalled && real_read(u->fd, &v, sizeof(v)) == sizeof(v))
		u->signalled = 0;
}

/* An event passed to the device: uinput keeps the last RING for read (its arithmetic) */
static void to_program(struct uin *u, unsigned type, unsigned code, int value)
{
	struct timespec ts;
	struct input_event *e = &u->ring[u->head];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(e, 0, sizeof(*e));
	e->input_event_sec = ts.tv_sec;
	e->input_event_usec = ts.tv_nsec / 1000;
	e->type = (__u16)type;
	e->code = (__u16)code;
	e->value = value;
	u->head = (u->head + 1) % RING;
	sync_readable(u);
}

/* ---- the input core: events of a created device ---- */

enum {
	TO_HANDLERS = 1,	/* the host's programs get it */
	TO_DEVICE = 2,		/* and uinput's reader */
	FLUSH = 4,		/* it ends a report */
	SLOT = 8,		/* a staged ABS_MT_SLOT goes first */
	TO_ALL = TO_HANDLERS | TO_DEVICE,
};

/* The fuzz filter: a value near the old one is pulled towards it */
static int defuzz(int value, int old, int fuzz)
{
	if (!fuzz)
		return value;
	if (value > old - fuzz / 2 && value < old + fuzz / 2)
		return old;
	if (value > old - fuzz && value < old + fuzz)
		return (old * 3 + value) / 4;
	if (value > old - fuzz * 2 && value < old + fuzz * 2)
		return (old + value) / 2;
	return value;
}

static int abs_event(struct uin *u, unsigned code, int *value, const char **why)
{
	int mt = code >= MT_FIRST && code <= MT_LAST, *old = NULL;

	if (code == ABS_MT_SLOT) {
		/* staged: it goes out before the next value of a slot's axis */
		if (u->mt && *value >= 0 && *value < u->nslots)
			u->slot = *value;
		*why = "ABS_MT_SLOT is staged until a value of the slot changes";
		return 0;
	}
	if (!mt)
		old = &u->abs[code].value;
	else if (u->mt)
		old = &u->mt[u->slot][code - MT_FIRST];
	/* per-slot axes of a device without slots: no filter */
	if (old) {
		*value = defuzz(*value, *old, u->abs[code].fuzz);
		if (*value == *old) {
			*why = "the axis has that value already (after the fuzz filter)";
			return 0;
		}
		*old = *value;
	}
	if (mt && u->mt && u->slot != u->abs[ABS_MT_SLOT].value) {
		u->abs[ABS_MT_SLOT].value = u->slot;
		return TO_HANDLERS | SLOT;
	}
	return TO_HANDLERS;
}

/* What the input core does with an event of a type the device has */
static int disposition(struct uin *u, unsigned type, unsigned code, int *value,
		       const char **why)
{
	const struct caps *c = &u->caps;
	int v = *value;

	switch (type) {
	case EV_SYN:
		if (code == SYN_CONFIG)
			return TO_ALL;
		if (code == SYN_REPORT)
			return TO_HANDLERS | FLUSH;
		if (code == SYN_MT_REPORT)
			return TO_HANDLERS;
		*why = "a SYN code the input core ignores";
		return 0;
	case EV_KEY:
		if (!has(c->key, code, KEY_MAX)) {
			*why = "a key the device does not have";
			return 0;
		}
		if (v == 2)
			return TO_HANDLERS;	/* a repeat: no change of state */
		if (bit(u->key, code) == !!v) {
			*why = v ? "the key is down already" : "the key is up already";
			return 0;
		}
		put_bit(u->key, code, !!v);
		return TO_HANDLERS;
	case EV_SW:
		if (!has(c->sw, code, SW_MAX) || bit(u->sw, code) == !!v) {
			*why = has(c->sw, code, SW_MAX) ? "the switch is in that state already" :
			       "a switch the device does not have";
			return 0;
		}
		put_bit(u->sw, code, !!v);
		return TO_HANDLERS;
	case EV_ABS:
		if (!has(c->abs, code, ABS_MAX)) {
			*why = "an axis the device does not have";
			return 0;
		}
		return abs_event(u, code, value, why);
	case EV_REL:
		if (!has(c->rel, code, REL_MAX) || !v) {
			*why = v ? "an axis the device does not have" : "a relative motion of 0";
			return 0;
		}
		return TO_HANDLERS;
	case EV_MSC:
		if (!has(c->msc, code, MSC_MAX)) {
			*why = "an MSC code the device does not have";
			return 0;
		}
		return TO_ALL;
	case EV_LED:
		if (!has(c->led, code, LED_MAX) || bit(u->led, code) == !!v) {
			*why = has(c->led, code, LED_MAX) ? "the LED is in that state already" :
			       "an LED the device does not have";
			return 0;
		}
		put_bit(u->led, code, !!v);
		return TO_ALL;
	case EV_SND:
		if (!has(c->snd, code, SND_MAX)) {
			*why = "a sound the device does not have";
			return 0;
		}
		put_bit(u->snd, code, !!v);
		return TO_ALL;
	case EV_REP:
		if (code > REP_MAX || v < 0 || u->rep[code] == v) {
			*why = "no such autorepeat setting, or no change";
			return 0;
		}
		u->rep[code] = v;
		return TO_ALL;
	case EV_FF:
		if (v < 0) {
			*why = "a negative force feedback value";
			return 0;
		}
		return TO_ALL;
	case EV_PWR:
		return TO_ALL;
	}
	*why = "a type the input core ignores";
	return 0;
}

/* One event, as input_event() takes it for a registered device */
static void input_event_in(struct uin *u, unsigned type, unsigned code, int value,
			   const char *extra)
{
	const char *why = NULL, *sep = extra ? " " : "", *text = extra ? extra : "";
	int written = value, d;

	if (!has(u->caps.ev, type, EV_MAX)) {
		note("dropped %s %u %u %d (a type the device does not have)", u->sysname, type,
		     code, value);
		return;
	}
	d = disposition(u, type, code, &value, &why);
	if ((d & FLUSH) && !u->nvals) {
		/* the input core passes reports of at least one event */
		note("dropped %s %u %u %d (an empty report)", u->sysname, type, code, written);
		return;
	}
	if (!d) {
		note("dropped %s %u %u %d (%s)", u->sysname, type, code, written, why);
		return;
	}
	if (d & TO_DEVICE)
		to_program(u, type, code, value);
	if (d & SLOT) {
		note("event %s %u %u %d (the staged slot)", u->sysname, EV_ABS, ABS_MT_SLOT,
		     u->slot);
		u->nvals++;
	}
	if (written != value)
		note("event %s %u %u %d (the fuzz filter's, of %d)%s%s", u->sysname, type, code,
		     value, written, sep, text);
	else
		note("event %s %u %u %d%s%s", u->sysname, type, code, value, sep, text);
	u->nvals++;
	if (d & FLUSH) {
		u->nvals = 0;
	} else if (u->nvals >= u->max_vals - 2) {
		/* a packet longer than the core holds: it ends the report itself */
		note("event %s %u %u %d (the input core's: a full packet)", u->sysname, EV_SYN,
		     SYN_REPORT, 0);
		u->nvals = 0;
	}
}

/* ---- uinput's device: set up, created, destroyed ---- */

/* The device goes: held keys are let go first (the input core's), and the
 * description starts again from nothing */
static void destroy(struct uin *u, const char *how)
{
	unsigned released = 0;

	if (u->state == CREATED) {
		for (unsigned k = 0; bit(u->caps.ev, EV_KEY) && k < KEY_CNT; k++)
			if (bit(u->key, k)) {
				input_event_in(u, EV_KEY, k, 0, "(released: the device goes)");
				released++;
			}
		if (released)
			input_event_in(u, EV_SYN, SYN_REPORT, 1, "(the release's report)");
		if (u->nvals)
			note("unreported %s %d (no SYN_REPORT came before the device went)",
			     u->sysname, u->nvals);
		note("destroy %s (%s)", u->sysname, how);
	}
	free(u->mt);
	memset(&u->caps, 0, offsetof(struct uin, ring) - offsetof(struct uin, caps));
	u->state = NEW;
}

/* uinput's check of an axis' range (also of the slots' number) */
static const char *bad_absinfo(unsigned code, const struct input_absinfo *a)
{
	int range;

	if ((a->minimum || a->maximum) && a->maximum < a->minimum)
		return "maximum below minimum";
	if (!__builtin_sub_overflow(a->maximum, a->minimum, &range) && a->flat > range)
		return "flat beyond the range";
	if (code == ABS_MT_SLOT && a->maximum > 99)
		return "more than 100 slots";
	return NULL;
}

static void abs_params(struct uin *u, unsigned code, int min, int max)
{
	set_bit(u->caps.ev, EV_ABS);
	set_bit(u->caps.abs, code);
	u->abs[code].minimum = min;
	u->abs[code].maximum = max;
	u->abs[code].fuzz = 0;
	u->abs[code].flat = 0;
}

/* The input core's guess of a report's length: how much it holds */
static int events_per_packet(struct uin *u)
{
	int slots = 0, events;

	if (u->mt) {
		slots = u->nslots;
	} else if (bit(u->caps.abs, ABS_MT_TRACKING_ID)) {
		slots = u->abs[ABS_MT_TRACKING_ID].maximum - u->abs[ABS_MT_TRACKING_ID].minimum + 1;
		slots = slots < 2 ? 2 : slots > 32 ? 32 : slots;
	} else if (bit(u->caps.abs, ABS_MT_POSITION_X)) {
		slots = 2;
	}
	events = slots + 1;
	if (bit(u->caps.ev, EV_ABS))
		for (unsigned a = 0; a < ABS_CNT; a++)
			if (bit(u->caps.abs, a))
				events += a == ABS_MT_SLOT || (a >= MT_FIRST && a <= MT_LAST) ?
					  slots : 1;
	if (bit(u->caps.ev, EV_REL))
		for (unsigned r = 0; r < REL_CNT; r++)
			events += bit(u->caps.rel, r);
	return events + 7;	/* keys and MSC */
}

/* UI_DEV_CREATE: a failure throws the whole description away, as uinput does */
static int create(struct uin *u)
{
	struct caps *c = &u->caps;
	char line[12288];
	const char *why = NULL;

	if (u->state != SETUP)
		return refuse(u->fd, EINVAL, "UI_DEV_CREATE", "%s", u->state == CREATED ?
			      "the device is created" : "no name and id yet: UI_DEV_SETUP or "
			      "the write of struct uinput_user_dev first");
	u->hint = 0;
	if (bit(c->ev, EV_ABS) && bit(c->abs, ABS_MT_SLOT)) {
		unsigned n = (unsigned)(u->abs[ABS_MT_SLOT].maximum + 1);

		if (n > MAX_SLOTS) {
			why = "more multitouch slots than the input core takes";
		} else if (n) {
			u->mt = calloc(n, sizeof(*u->mt));
			if (!u->mt)
				why = "out of memory";
			u->nslots = (int)n;
			for (unsigned s = 0; s < n && u->mt; s++)
				u->mt[s][ABS_MT_TRACKING_ID - MT_FIRST] = -1;
			abs_params(u, ABS_MT_SLOT, 0, (int)n - 1);
			abs_params(u, ABS_MT_TRACKING_ID, 0, 0xffff);
		}
	} else if (bit(c->ev, EV_ABS) && bit(c->abs, ABS_MT_POSITION_X)) {
		u->hint = 60;
	}
	if (!why && bit(c->ev, EV_FF) && !u->ff_effects_max)
		why = "EV_FF without ff_effects_max";
	if (!why && u->ff_effects_max > FF_MAX_EFFECTS)
		why = "ff_effects_max above FF_MAX_EFFECTS";
	if (why) {
		destroy(u, "a failed create");
		return refuse(u->fd, EINVAL, "UI_DEV_CREATE", "%s; the description is "
			      "thrown away", why);
	}
	if (u->ff_effects_max) {
		set_bit(c->ev, EV_FF);
		if (bit(c->ff, FF_PERIODIC))
			set_bit(c->ff, FF_RUMBLE);	/* emulated with periodic effects */
	}
	/* what the input core changes when it registers a device */
	set_bit(c->ev, EV_SYN);
	put_bit(c->key, KEY_RESERVED, 0);
	for (unsigned i = 0; i < NBITMAPS; i++)
		if (bitmaps[i].type != EV_CNT && !bit(c->ev, bitmaps[i].type))
			memset((char *)c + bitmaps[i].off, 0, BYTES(bitmaps[i].max + 1));
	u->max_vals = (u->hint > events_per_packet(u) ? u->hint : events_per_packet(u)) + 2;
	u->rep[REP_DELAY] = 250;	/* its own autorepeat, uinput gives it none */
	u->rep[REP_PERIOD] = 33;
	u->number = next_number++;
	snprintf(u->sysname, sizeof(u->sysname), "input%d", u->number);
	u->state = CREATED;

	snprintf(line, sizeof(line), "create fd=%d %s name=\"%s\" ", u->fd, u->sysname, u->name);
	if (u->has_phys)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "phys=\"%s\"", u->phys);
	else
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "phys=none");
	snprintf(line + strlen(line), sizeof(line) - strlen(line),
		 " bus=%#x vendor=%#x product=%#x version=%#x", u->id.bustype, u->id.vendor,
		 u->id.product, u->id.version);
	for (unsigned i = 0; i < NBITMAPS; i++) {
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s=", bitmaps[i].word);
		list_bits(line, sizeof(line), (unsigned char *)c + bitmaps[i].off, bitmaps[i].max);
	}
	note("%s", line);
	for (unsigned a = 0; a < ABS_CNT; a++)
		if (bit(c->abs, a))
			note("absinfo %s %u value=%d min=%d max=%d fuzz=%d flat=%d resolution=%d",
			     u->sysname, a, u->abs[a].value, u->abs[a].minimum, u->abs[a].maximum,
			     u->abs[a].fuzz, u->abs[a].flat, u->abs[a].resolution);
	return 0;
}

static int dev_setup(struct uin *u, const struct uinput_setup *s)
{
	if (u->state == CREATED)
		return refuse(u->fd, EINVAL, "UI_DEV_SETUP", "the device is created");
	if (!s->name[0])
		return refuse(u->fd, EINVAL, "UI_DEV_SETUP", "no name");
	u->id = s->id;
	u->ff_effects_max = s->ff_effects_max;
	memcpy(u->name, s->name, UINPUT_MAX_NAME_SIZE);	/* may fill it: u->name is longer */
	u->state = SETUP;
	note("setup fd=%d name=\"%s\" bus=%#x vendor=%#x product=%#x version=%#x "
	     "ff_effects_max=%u", u->fd, u->name, u->id.bustype, u->id.vendor, u->id.product,
	     u->id.version, u->ff_effects_max);
	return 0;
}

static int abs_setup(struct uin *u, const void *arg, unsigned size)
{
	struct uinput_abs_setup s;
	const char *bad;

	memset(&s, 0, sizeof(s));
	if (size > sizeof(s))
		return refuse(u->fd, E2BIG, "UI_ABS_SETUP", "%u bytes", size);
	if (u->state == CREATED)
		return refuse(u->fd, EINVAL, "UI_ABS_SETUP", "the device is created");
	memcpy(&s, arg, size);
	if (s.code > ABS_MAX)
		return refuse(u->fd, ERANGE, "UI_ABS_SETUP", "code %u", s.code);
	bad = bad_absinfo(s.code, &s.absinfo);
	if (bad)
		return refuse(u->fd, EINVAL, "UI_ABS_SETUP", "code %u: %s", s.code, bad);
	set_bit(u->caps.abs, s.code);
	u->abs[s.code] = s.absinfo;
	note("abs_setup fd=%d code=%u value=%d min=%d max=%d fuzz=%d flat=%d resolution=%d",
	     u->fd, s.code, s.absinfo.value, s.absinfo.minimum, s.absinfo.maximum,
	     s.absinfo.fuzz, s.absinfo.flat, s.absinfo.resolution);
	return 0;
}

/* The write before create: a whole struct uinput_user_dev (the old way) */
static ssize_t legacy_setup(struct uin *u, const void *buf, size_t count)
{
	const struct uinput_user_dev *d = buf;
	const char *bad;

	if (count != sizeof(*d))
		return refuse(u->fd, EINVAL, "write", "%zu bytes before create: not a struct "
			      "uinput_user_dev (%zu)", count, sizeof(*d));
	u->ff_effects_max = d->ff_effects_max;	/* uinput takes it before it checks */
	if (!d->name[0])
		return refuse(u->fd, EINVAL, "write", "struct uinput_user_dev without a name");
	memcpy(u->name, d->name, UINPUT_MAX_NAME_SIZE);
	u->id = d->id;
	for (unsigned a = 0; a < ABS_CNT; a++) {
		u->abs[a].maximum = d->absmax[a];
		u->abs[a].minimum = d->absmin[a];
		u->abs[a].fuzz = d->absfuzz[a];
		u->abs[a].flat = d->absflat[a];
	}
	for (unsigned a = 0; bit(u->caps.ev, EV_ABS) && a < ABS_CNT; a++)
		if (bit(u->caps.abs, a) && (bad = bad_absinfo(a, &u->abs[a])))
			return refuse(u->fd, EINVAL, "write", "struct uinput_user_dev: axis %u: "
				      "%s", a, bad);
	u->state = SETUP;
	note("legacy_setup fd=%d name=\"%s\" bus=%#x vendor=%#x product=%#x version=%#x "
	     "ff_effects_max=%u", u->fd, u->name, u->id.bustype, u->id.vendor, u->id.product,
	     u->id.version, u->ff_effects_max);
	return (ssize_t)count;
}

/* The write after create: whole struct input_event only; a tail is left */
static ssize_t inject(struct uin *u, const void *buf, size_t count)
{
	size_t n = count / sizeof(struct input_event);

	if (count < sizeof(struct input_event))
		return refuse(u->fd, EINVAL, "write", "%zu bytes: less than one struct "
			      "input_event", count);
	note("write fd=%d %zu events%s", u->fd, n, count % sizeof(struct input_event) ?
	     " (and a piece of one, left)" : "");
	for (size_t i = 0; i < n; i++) {
		struct input_event e;

		memcpy(&e, (const char *)buf + i * sizeof(e), sizeof(e));
		input_event_in(u, e.type, e.code, e.value, NULL);
	}
	return (ssize_t)(n * sizeof(struct input_event));
}

static int set_phys(struct uin *u, const char *p)
{
	size_t len = strnlen(p, sizeof(u->phys));

	if (u->state == CREATED)
		return refuse(u->fd, EINVAL, "UI_SET_PHYS", "the device is created");
	if (len == sizeof(u->phys))
		return refuse(u->fd, EINVAL, "UI_SET_PHYS", "longer than %zu bytes",
			      sizeof(u->phys) - 1);
	memcpy(u->phys, p, len + 1);
	u->has_phys = 1;
	note("phys fd=%d \"%s\"", u->fd, u->phys);
	return 0;
}

static int get_sysname(struct uin *u, char *out, unsigned size)
{
	unsigned len;

	if (u->state != CREATED)
		return refuse(u->fd, ENOENT, "UI_GET_SYSNAME", "no device created");
	if (!size)
		return refuse(u->fd, EINVAL, "UI_GET_SYSNAME", "a buffer of 0 bytes");
	len = (unsigned)strlen(u->sysname) + 1;
	if (len > size)
		len = size;
	memcpy(out, u->sysname, len);
	out[len - 1] = 0;	/* cut, and ended */
	note("sysname fd=%d %s", u->fd, out);
	return (int)len;
}

static int uinput_ioctl(struct uin *u, unsigned cmd, unsigned long arg)
{
	void *p = (void *)arg;
	int legacy = env_set("UINPUT_STANDIN_LEGACY");
	char call[32];

	for (unsigned i = 0; i < NBITMAPS; i++) {
		const struct bitmap *b = &bitmaps[i];

		if (cmd != b->cmd)
			continue;
		if (u->state == CREATED)
			return refuse(u->fd, EINVAL, b->call, "%lu: the device is created", arg);
		if (arg > b->max)
			return refuse(u->fd, EINVAL, b->call, "%lu: above %u", arg, b->max);
		set_bit((unsigned char *)&u->caps + b->off, (unsigned)arg);
		note("set fd=%d %s %lu", u->fd, b->call, arg);
		return 0;
	}
	switch (cmd) {
	case UI_DEV_CREATE:
		return create(u);
	case UI_DEV_DESTROY:
		if (u->state != CREATED)
			note("destroy fd=%d (nothing created)", u->fd);
		destroy(u, "UI_DEV_DESTROY");
		return 0;
	case UI_SET_PHYS:
		return set_phys(u, p);
	case UI_BEGIN_FF_UPLOAD:
	case UI_END_FF_UPLOAD:
	case UI_BEGIN_FF_ERASE:
	case UI_END_FF_ERASE:
		return refuse(u->fd, EINVAL, "UI_*_FF_*", "no such force feedback request");
	}
	if (!legacy) {
		if (cmd == UI_GET_VERSION) {
			*(unsigned *)p = UINPUT_VERSION;
			note("version fd=%d %u", u->fd, UINPUT_VERSION);
			return 0;
		}
		if (cmd == UI_DEV_SETUP)
			return dev_setup(u, p);
		if ((cmd & ~IOCSIZE_MASK) == (UI_ABS_SETUP & ~IOCSIZE_MASK))
			return abs_setup(u, p, _IOC_SIZE(cmd));
	}
	/* the calls of variable size: any size */
	if ((cmd & ~IOCSIZE_MASK) == (UI_GET_SYSNAME(0) & ~IOCSIZE_MASK))
		return get_sysname(u, p, _IOC_SIZE(cmd));
	snprintf(call, sizeof(call), "ioctl %#x", cmd);
	return refuse(u->fd, EINVAL, call, "a call uinput does not know%s",
		      legacy ? " (before Linux 4.5)" : "");
}

static ssize_t uinput_read(struct uin *u, void *buf, size_t count)
{
	size_t done = 0;
	uint64_t v;

	if (count && count < sizeof(struct input_event))
		return refuse(u->fd, EINVAL, "read", "%zu bytes: less than one struct "
			      "input_event", count);
	for (;;) {
		int fd = u->fd;

		if (u->state != CREATED)
			return refuse(fd, ENODEV, "read", "no device created");
		if (u->head == u->tail && (fcntl(fd, F_GETFL) & O_NONBLOCK))
			return refuse(fd, EAGAIN, "read", "no events");
		while (done + sizeof(struct input_event) <= count && u->head != u->tail) {
			memcpy((char *)buf + done, &u->ring[u->tail], sizeof(struct input_event));
			u->tail = (u->tail + 1) % RING;
			done += sizeof(struct input_event);
		}
		sync_readable(u);
		if (done || !count) {
			note("read fd=%d %zu events", fd, done / sizeof(struct input_event));
			return (ssize_t)done;
		}
		/* blocking, and nothing: wait for the eventfd, unlocked */
		pthread_mutex_unlock(&lock);
		if (real_read(fd, &v, sizeof(v)) < 0 && errno == EINTR) {
			pthread_mutex_lock(&lock);
			return -1;
		}
		pthread_mutex_lock(&lock);
		u = find(fd);
		if (!u) {
			errno = EBADF;
			return -1;
		}
		u->signalled = 0;
	}
}

/* ---- the calls of the program ---- */

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

static int is_uinput(const char *path)
{
	return path && !strcmp(path, PATH);
}

static mode_t mode_of(int flags, va_list ap)
{
	return flags & (O_CREAT | O_TMPFILE) ? (mode_t)va_arg(ap, unsigned) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	resolve();
	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	return is_uinput(path) ? standin_open(flags) : real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	resolve();
	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	return is_uinput(path) ? standin_open(flags) : real_open(path, flags | O_LARGEFILE, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	resolve();
	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	/* an absolute path: the directory does not matter */
	return is_uinput(path) ? standin_open(flags) : real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	resolve();
	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	return is_uinput(path) ? standin_open(flags) :
	       real_openat(dirfd, path, flags | O_LARGEFILE, mode);
}

/* _FORTIFY_SOURCE's opens (no mode: without O_CREAT) */
int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __open64_2(const char *path, int flags)
{
	return open64(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return openat64(dirfd, path, flags);
}

int ioctl(int fd, unsigned long request, ...)
{
	unsigned cmd = (unsigned)request;	/* the kernel's is an unsigned int */
	unsigned long arg;
	struct uin *u;
	va_list ap;
	int r;

	resolve();
	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	/* the VFS answers these for every file: the eventfd does it the same */
	if (cmd == FIOCLEX || cmd == FIONCLEX || cmd == FIONBIO || cmd == FIOASYNC)
		return real_ioctl(fd, request, arg);
	pthread_mutex_lock(&lock);
	u = find(fd);
	if (!u) {
		pthread_mutex_unlock(&lock);
		return real_ioctl(fd, request, arg);
	}
	r = uinput_ioctl(u, cmd, arg);
	pthread_mutex_unlock(&lock);
	return r;
}

ssize_t write(int fd, const void *buf, size_t count)
{
	struct uin *u;
	ssize_t r;

	resolve();
	pthread_mutex_lock(&lock);
	u = find(fd);
	if (!u) {
		pthread_mutex_unlock(&lock);
		return real_write(fd, buf, count);
	}
	if (u->accmode == O_RDONLY)
		r = refuse(fd, EBADF, "write", "opened O_RDONLY");	/* the VFS' */
	else if (!count)
		r = 0;
	else if (u->state == CREATED)
		r = inject(u, buf, count);
	else
		r = legacy_setup(u, buf, count);
	pthread_mutex_unlock(&lock);
	return r;
}

ssize_t read(int fd, void *buf, size_t count)
{
	struct uin *u;
	ssize_t r;

	resolve();
	pthread_mutex_lock(&lock);
	u = find(fd);
	if (!u) {
		pthread_mutex_unlock(&lock);
		return real_read(fd, buf, count);
	}
	if (u->accmode == O_WRONLY)
		r = refuse(fd, EBADF, "read", "opened O_WRONLY");	/* the VFS' */
	else
		r = uinput_read(u, buf, count);
	pthread_mutex_unlock(&lock);
	return r;
}

int close(int fd)
{
	struct uin *u;

	resolve();
	pthread_mutex_lock(&lock);
	u = find(fd);
	if (u) {
		/* uinput's release: the device goes with its last descriptor */
		destroy(u, "close");
		for (int i = 0; i < MAX_OPEN; i++)
			if (open_devs[i] == u)
				open_devs[i] = NULL;
		free(u);
		note("close fd=%d", fd);
	}
	pthread_mutex_unlock(&lock);
	return real_close(fd);
}
