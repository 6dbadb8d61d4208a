/*
 * Devices come and go (docs/hotplug.md): dde run's side of PCIe hotplug
 * and of starting and stopping drivers by hand.
 *
 * `dde hotplug add --nic|--disk|--device SPEC` asks the running dde run
 * (its socket, DDE_RUN) to plug a device: dde run gives QEMU its backend
 * (netdev_add, drive_add) and the device (device_add onto the first free
 * hot-plug root port, hp0..) through its own monitor, then asks ddeio to
 * scan the slots: ddeio powers the slot, enumerates the device, places its
 * BARs in the port's window, and dde run starts the driver the index
 * matches, starting its class server if it was not running. `dde hotplug
 * del SLOT` asks QEMU (device_del), which presses the slot's attention
 * button; the scan reports it, dde run stops the driver (SIGTERM: binary
 * drivers run their module exit, so their remove; every class server is
 * told the driver will not come back, so disks fail their clients with
 * -ENODEV and interfaces go), and asks ddeio to eject the device (power
 * off the slot), on which QEMU takes it out. A device_add or device_del
 * given on another monitor is found by the scan dde run makes every half
 * second.
 *
 * `dde driver stop SLOT` stops a device's driver the same way, leaving the
 * device; `dde driver start SLOT [NAME]` starts one on it again (NAME, or
 * what the driver index matches).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/seqpacket.h"
#include "../../common/slot.h"
#include "dde.h"
#include "hotplug.h"
#include "run.h"
#include "../../common/clock.h"

#define REQ_MAX 1024
#define MON_OUT 4096

static struct {
	unsigned ports;		/* hot-plug root ports hp0..: 0 if none */
	char monitor[108];	/* dde run's own QEMU monitor */
	unsigned next_id;	/* QEMU ids of what we plug: hpdevN, hpnetN, hpdiskN */
	struct {
		char dev[16], backend[16];	/* QEMU ids on port K, "" if none of ours */
		unsigned bus;			/* its bus, once a device arrived there */
		bool net;			/* backend is a netdev (else a drive, or none) */
	} port[MACHINE_MAX_HOTPLUG_PORTS];
	const struct machine_config *cfg;
} hp;

void hotplug_init(const struct machine_config *cfg, const char *monitor)
{
	hp.cfg = cfg;
	hp.ports = cfg->hotplug_ports;
	snprintf(hp.monitor, sizeof(hp.monitor), "%s", monitor ? monitor : "");
}

bool hotplug_ports(void)
{
	return hp.ports > 0;
}

/* ---- QEMU's human monitor ---- */

/* Read from @fd until the prompt; what came before it into @out. 0 or -1. */
static int read_prompt(int fd, char *out, size_t cap)
{
	size_t len = 0;
	long long end = mono_ms() + 10000;

	out[0] = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = end - mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			return -1;
		n = read(fd, out + len, cap - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		out[len] = 0;
		if (len >= 7 && !strcmp(out + len - 7, "(qemu) ")) {
			out[len - 7] = 0;
			return 0;
		}
		if (len == cap - 1)	/* keep the tail: the prompt is at the end */
			len = 0;
	}
}

/*
 * Run @fmt... on dde run's monitor; its answer (without the echo) into
 * @out. 0, or -1 with the reason in @out (QEMU's error line).
 */
static int monitor(char *out, size_t cap, const char *fmt, ...)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char cmd[768], buf[MON_OUT];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", hp.monitor);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) || read_prompt(fd, buf, sizeof(buf))) {
		snprintf(out, cap, "QEMU's monitor does not answer");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	strcat(cmd, "\n");
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || read_prompt(fd, buf, sizeof(buf))) {
		snprintf(out, cap, "QEMU's monitor does not answer");
		close(fd);
		return -1;
	}
	close(fd);
	/* the echo of the command (with terminal escapes) up to the first newline */
	char *body = strchr(buf, '\n');

	body = body ? body + 1 : buf;
	for (char *c = body; *c; c++)
		if (*c == '\r')
			*c = ' ';
	size_t l = strlen(body);

	while (l && (body[l - 1] == '\n' || body[l - 1] == ' '))
		body[--l] = 0;
	snprintf(out, cap, "%s", body);
	return strstr(body, "rror") ? -1 : 0;
}

/* ---- replies to the requests on the status socket ---- */

struct answer {
	char text[STATUS_TEXT_MAX];
	size_t len;
	bool failed;
};

static void add_line(struct answer *a, bool error, bool log, const char *fmt, va_list ap)
{
	char line[600];

	vsnprintf(line, sizeof(line), fmt, ap);
	a->failed |= error;
	if (log)
		fprintf(stderr, "dde: %s\n", line);
	if (a->len + strlen(line) + 2 < sizeof(a->text)) {
		a->len += (size_t)snprintf(a->text + a->len, sizeof(a->text) - a->len, "%s\n", line);
	}
}

/* A line of the answer, also in dde run's log ... */
static void say(struct answer *a, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct answer *a, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(a, error, true, fmt, ap);
	va_end(ap);
}

/* ... or only in the answer (the log has it already) */
static void note(struct answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct answer *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(a, false, false, fmt, ap);
	va_end(ap);
}

/* ---- drivers ---- */

static struct driver *driver_of(struct driver *drv, int ndrv, uint32_t bdf)
{
	char slot[16];

	slot_format(bdf, slot);
	for (int i = 0; i < ndrv; i++) {
		struct driver *d = &drv[i];
		char slots[128], *save = NULL;

		if (d->state == DRV_REMOVED)
			continue;
		snprintf(slots, sizeof(slots), "%s", d->slots);
		for (char *t = strtok_r(slots, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (!strcmp(t, slot))
				return d;
	}
	return NULL;
}

/* Wait up to @ms for @d's process to end; true if it did (its status kept). */
static bool ended_within(struct driver *d, unsigned ms)
{
	long long end = mono_ms() + ms;
	int st = 0;
	pid_t r;

	while ((r = waitpid(d->pid, &st, WNOHANG)) == 0 && mono_ms() < end)
		usleep(2000);
	if (r != d->pid)
		return false;
	d->status = st;
	d->pid = 0;
	return true;
}

/*
 * Stop driver @d: a Linux driver (source or binary) runs its remove on a
 * "stop" on its control channel and ends; else, or if it does not,
 * SIGTERM (a binary driver host runs its module exit), SIGKILL after 5 s.
 * Its class server is told it will not come back.
 */
static void stop_driver(struct driver *d, struct answer *a)
{
	if (d->pid > 0 && d->ctl && d->cls && strncmp(d->name, "efi", 3)) {
		char buf[1100], *save = NULL;
		struct pollfd p = { d->ctl_fd, POLLIN, 0 };
		long n;

		if (send(d->ctl_fd, "stop", 4, MSG_NOSIGNAL) == 4 && poll(&p, 1, 5000) == 1 &&
		    (n = recv(d->ctl_fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = 0;
			for (char *l = strtok_r(buf + 1, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				say(a, false, "driver %s: %s", d->instance, l);
			ended_within(d, 3000);
		}
	}
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		if (!ended_within(d, 5000)) {
			kill(d->pid, SIGKILL);
			ended_within(d, 5000);
			say(a, false, "driver %s@%s did not stop within 5 s: killed", d->name, d->slots);
		}
	}
	if (d->ctl) {	/* its control channel ends with it */
		close(d->ctl_fd);
		d->ctl = false;
	}
	d->state = DRV_STOPPED;
	class_give_up(d);
	say(a, false, "stopped driver %s@%s", d->name, d->slots);
}

/* The lowest unit (net0, ...) no other live driver of @d's class has. */
static void fresh_unit(struct driver *d, struct driver *drv, int ndrv)
{
	if (!d->cls || !d->cls->unit)
		return;
	for (int u = 0;; u++) {
		char name[16];
		bool used = false;

		snprintf(name, sizeof(name), "%s%d", d->cls->unit, u);
		for (int i = 0; i < ndrv && !used; i++)
			used = &drv[i] != d && drv[i].cls == d->cls && drv[i].state != DRV_REMOVED &&
			       drv[i].state != DRV_STOPPED && !strcmp(drv[i].unit, name);
		if (!used) {
			snprintf(d->unit, sizeof(d->unit), "%s", name);
			return;
		}
	}
}

/* Start driver entry @d (parsed) on its device: its class server first if need be. */
static int start_entry(struct session *s, struct driver *d, int index, struct driver *drv,
		       int ndrv, struct answer *a)
{
	if ((d->cls && !d->cls->pid) || (d->also && !d->also->pid)) {
		class_add_driver(d);
		for (struct dde_class *c = d->cls; c; c = c == d->cls ? d->also : NULL)
			if (!c->pid && class_start(c)) {
				say(a, true, "error: the %s server did not start", c->what);
				d->state = DRV_STOPPED;
				return -1;
			}
	}
	fresh_unit(d, drv, ndrv);
	d->restarts = 0;
	d->nfail = 0;
	d->cause[0] = d->hang[0] = 0;
	if (launch_driver(s, d, index)) {
		say(a, true, "error: driver %s@%s did not start (see dde run's log)", d->name, d->slots);
		d->state = DRV_STOPPED;
		return -1;
	}
	note(a, "started driver %s@%s (pid %d)%s%s", d->name, d->slots, (int)d->pid,
	     d->unit[0] ? " as " : "", d->unit);
	return 0;
}

/* A free entry of @drv (a removed device's), or a new one; NULL if full. */
static struct driver *free_entry(struct driver *drv, int *ndrv, int *index)
{
	for (int i = 0; i < *ndrv; i++)
		if (drv[i].state == DRV_REMOVED) {
			*index = i;
			return &drv[i];
		}
	if (*ndrv == MAX_DRIVERS)
		return NULL;
	*index = *ndrv;
	return &drv[(*ndrv)++];
}

/* A driver for device @dev: @name, or what the driver index matches. */
static int start_for(struct session *s, const struct ddeio_device *dev, const char *name,
		     struct driver *drv, int *ndrv, struct answer *a)
{
	static struct driver tmp[MAX_DRIVERS];	/* large: not on the stack */
	int n = 0, index;
	struct driver *d;
	char slot[16], spec[256];

	memset(tmp, 0, sizeof(tmp));	/* parse_driver fills in what it parses only */
	slot_format(dev->bdf, slot);
	if (name) {
		snprintf(spec, sizeof(spec), "%s@%s", name, slot);
		if (parse_driver(&tmp[0], spec)) {
			say(a, true, "error: %s: no driver %s", slot, name);
			return -1;
		}
		n = 1;
	} else if (auto_drivers(dev, 1, hp.cfg, tmp, &n) || !n) {
		say(a, false, "%s [%04x:%04x]: no driver matches it", slot, dev->vendor, dev->device);
		return 0;
	}
	d = free_entry(drv, ndrv, &index);
	if (!d) {
		say(a, true, "error: %s: at most %d drivers", slot, MAX_DRIVERS);
		return -1;
	}
	if (d->ctl)	/* a removed device's entry: what it still had open */
		close(d->ctl_fd);
	*d = tmp[0];
	return start_entry(s, d, index, drv, *ndrv, a);
}

/* ---- the slots ---- */

static int hp_request(struct session *s, unsigned action, uint32_t bdf,
		      struct ddeio_hp_event *ev, unsigned max, char *err, size_t cap)
{
	struct ddeio_msg m = { .op = DDEIO_OP_HOTPLUG, .addr = action, .value = bdf };
	char reply[sizeof(struct ddeio_msg) + DDEIO_MAX_PAYLOAD + 1];
	struct pollfd p = { s->control, POLLIN, 0 };
	int fds[3], nfds = 0;
	long n;

	if (seqpacket_send(s->control, &m, sizeof(m), NULL, 0) || poll(&p, 1, 10000) != 1 ||
	    (n = seqpacket_recv(s->control, reply, sizeof(reply) - 1, fds, &nfds, 0)) <
	    (long)sizeof(m)) {
		snprintf(err, cap, "the I/O server did not answer");
		return -1;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	memcpy(&m, reply, sizeof(m));
	if (m.status) {
		reply[n] = 0;
		snprintf(err, cap, "%.300s", n > (long)sizeof(m) ? reply + sizeof(m) : strerror(-m.status));
		return -1;
	}
	n = (n - (long)sizeof(m)) / (long)sizeof(*ev);
	if (n > (long)max)
		n = (long)max;
	memcpy(ev, reply + sizeof(m), (size_t)n * sizeof(*ev));
	return (int)n;
}

/* The port (hpK) a device's slot is on: K, or -1. */
static int port_index(uint32_t port_bdf)
{
	int k = (int)DDEIO_BDF_SLOT(port_bdf) - 0x10;

	return DDEIO_BDF_BUS(port_bdf) == 0 && k >= 0 && k < (int)hp.ports ? k : -1;
}

/* What QEMU made for port K: gone with its device. */
static void drop_backend(int k)
{
	char out[MON_OUT];

	if (k < 0)
		return;
	if (hp.port[k].backend[0])	/* a drive QEMU auto-deleted says it is not found */
		monitor(out, sizeof(out), "%s %s", hp.port[k].net ? "netdev_del" : "drive_del",
			hp.port[k].backend);
	hp.port[k].dev[0] = hp.port[k].backend[0] = 0;
	hp.port[k].net = false;
	hp.port[k].bus = 0;
}

static void handle_events(struct session *s, struct ddeio_hp_event *ev, int n,
			  struct driver *drv, int *ndrv, struct answer *a);

/* A device asked to go: its driver stopped, the device ejected. */
static void let_go(struct session *s, const struct ddeio_hp_event *e, struct driver *drv,
		   int *ndrv, struct answer *a)
{
	struct ddeio_hp_event gone[16];
	struct driver *d = driver_of(drv, *ndrv, e->dev.bdf);
	char slot[16], err[400];
	long long t0 = mono_ms();
	int n;

	slot_format(e->dev.bdf, slot);
	say(a, false, "hotplug: %s [%04x:%04x] asked to go%s%s", slot, e->dev.vendor,
	    e->dev.device, d && d->state != DRV_STOPPED ? ": stopping driver " : "",
	    d && d->state != DRV_STOPPED ? d->instance : "");
	if (d && d->state != DRV_STOPPED)
		stop_driver(d, a);
	n = hp_request(s, DDEIO_HP_EJECT, e->dev.bdf, gone, 16, err, sizeof(err));
	if (n < 0) {
		say(a, true, "error: hotplug: %s could not be ejected: %s", slot, err);
		return;
	}
	handle_events(s, gone, n, drv, ndrv, a);
	say(a, false, "hotplug: %s ejected %lld ms after it asked to go", slot, mono_ms() - t0);
}

static void handle_events(struct session *s, struct ddeio_hp_event *ev, int n,
			  struct driver *drv, int *ndrv, struct answer *a)
{
	for (int i = 0; i < n; i++) {
		struct ddeio_hp_event *e = &ev[i];
		struct driver *d;
		char slot[16];

		slot_format(e->dev.bdf, slot);
		switch (e->kind) {
		case DDEIO_HP_ADDED:
			say(a, false, "hotplug: %s [%04x:%04x] arrived", slot, e->dev.vendor,
			    e->dev.device);
			if (port_index(e->port) >= 0)
				hp.port[port_index(e->port)].bus = DDEIO_BDF_BUS(e->dev.bdf);
			if ((e->dev.class_code >> 16) != 0x06)
				start_for(s, &e->dev, NULL, drv, ndrv, a);
			break;
		case DDEIO_HP_REMOVE_REQUEST:
			let_go(s, e, drv, ndrv, a);
			break;
		case DDEIO_HP_GONE:
			d = driver_of(drv, *ndrv, e->dev.bdf);
			if (d && d->state != DRV_STOPPED)
				stop_driver(d, a);	/* pulled without asking */
			if (d)
				d->state = DRV_REMOVED;
			drop_backend(port_index(e->port));
			say(a, false, "hotplug: %s gone, its slot empty", slot);
			break;
		}
	}
}

int hotplug_scan(struct session *s, struct driver *drv, int *ndrv, struct answer *a)
{
	struct ddeio_hp_event ev[16];
	struct answer quiet = { .len = 0 };
	char err[400];
	int n;

	if (!hp.ports)
		return 0;
	n = hp_request(s, DDEIO_HP_SCAN, 0, ev, 16, err, sizeof(err));
	if (n < 0) {
		say(a ? a : &quiet, true, "error: hotplug scan: %s", err);
		return -1;
	}
	handle_events(s, ev, n, drv, ndrv, a ? a : &quiet);
	return n;
}

/* ---- power management ---- */

/* Suspend or resume driver @d's devices through its control channel. */
static int pm_driver(struct driver *d, bool suspend, struct answer *a)
{
	char buf[1100], *save = NULL;
	struct pollfd p;
	long long t0 = mono_ms();
	long n;
	bool failed;

	if (d->state != DRV_RUNNING || !d->ctl || d->pid <= 0) {
		say(a, true, "error: pm: driver %s is not running", d->instance);
		return -1;
	}
	if (!strncmp(d->name, "efi", 3) || !d->cls) {
		say(a, true, "error: pm: driver %s has no power management (%s)", d->instance,
		    d->cls ? "a UEFI driver: UEFI gives drivers no sleep states" :
		    "the self-test driver has none");
		return -1;
	}
	if (d->suspended == suspend) {
		say(a, true, "error: pm: driver %s is %s already", d->instance,
		    suspend ? "suspended" : "running (not suspended)");
		return -1;
	}
	p = (struct pollfd){ d->ctl_fd, POLLIN, 0 };
	if (send(d->ctl_fd, suspend ? "suspend" : "resume", suspend ? 7 : 6, MSG_NOSIGNAL) < 0 ||
	    poll(&p, 1, 30000) != 1 || (n = recv(d->ctl_fd, buf, sizeof(buf) - 1, 0)) < 1) {
		say(a, true, "error: pm: driver %s did not answer within 30 s", d->instance);
		return -1;
	}
	buf[n] = 0;
	failed = buf[0] != '0';
	for (char *l = strtok_r(buf + 1, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		say(a, failed, "pm: %s: %s", d->instance, l);
	if (failed)
		return -1;
	d->suspended = suspend;
	say(a, false, "pm: driver %s %s in %lld ms", d->instance, suspend ? "suspended" : "resumed",
	    mono_ms() - t0);
	return 0;
}

/* "pm suspend|resume SLOT|--all": every running driver in reverse start
 * order to suspend, in start order to resume */
static void pm_cmd(bool suspend, const char *what, struct driver *drv, int ndrv,
		   struct answer *a)
{
	uint32_t bdf;
	int done = 0;

	if (!strcmp(what, "--all")) {
		for (int k = 0; k < ndrv; k++) {
			struct driver *d = &drv[suspend ? ndrv - 1 - k : k];

			if (d->state != DRV_RUNNING || d->suspended == suspend)
				continue;
			pm_driver(d, suspend, a);
			done++;
		}
		if (!done)
			say(a, false, "pm: no driver to %s", suspend ? "suspend" : "resume");
		return;
	}
	if (slot_parse(what, &bdf)) {
		say(a, true, "error: pm: '%s' is not a slot (BB:SS.F) or --all", what);
		return;
	}
	struct driver *d = driver_of(drv, ndrv, bdf);

	if (!d || d->state == DRV_STOPPED) {
		say(a, true, "error: pm %s %s: no driver runs on it", suspend ? "suspend" : "resume",
		    what);
		return;
	}
	pm_driver(d, suspend, a);
}

/* ---- requests ---- */

/* "hotplug add nic|disk|device SPEC" */
static void plug(struct session *s, const char *kind, const char *spec, struct driver *drv,
		 int *ndrv, struct answer *a)
{
	static struct machine_config one;
	const struct machine_dev *dev;
	char err[512], out[MON_OUT], props[400] = "", backend[16] = "", devid[16];
	unsigned id = hp.next_id++;
	bool net = false;
	int k;

	machine_config_init(&one);
	if (machine_config_set(&one, kind, spec, err, sizeof(err))) {
		say(a, true, "error: %s", err);
		return;
	}
	if (one.nnics) {
		const struct machine_nic *n = &one.nic[0];

		dev = &n->dev;
		net = n->net != NET_NONE;
		snprintf(backend, sizeof(backend), "hpnet%u", id);
		if (n->net == NET_UDP &&
		    monitor(out, sizeof(out), "netdev_add socket,id=%s,udp=127.0.0.1:%u,"
			    "localaddr=127.0.0.1:%u", backend, n->remote_port, n->local_port)) {
			say(a, true, "error: QEMU refused the NIC's network: %s", out);
			return;
		}
		if (n->net == NET_USER && monitor(out, sizeof(out), "netdev_add user,id=%s", backend)) {
			say(a, true, "error: QEMU refused the NIC's network: %s", out);
			return;
		}
		snprintf(props, sizeof(props), "%s%s%s%s", net ? ",netdev=" : "", net ? backend : "",
			 n->mac[0] ? ",mac=" : "", n->mac);
	} else if (one.ndisks) {
		const struct machine_disk *d = &one.disk[0];

		dev = &d->dev;
		if (dev->model && dev->model->backend == BACKEND_IDE_BUS) {
			say(a, true, "error: --disk %s: a disk on a controller's bus does not plug; "
			    "plug a disk that is its own PCI device (nvme:, virtio-blk:)", spec);
			return;
		}
		snprintf(backend, sizeof(backend), "hpdisk%u", id);
		if (monitor(out, sizeof(out), "drive_add 0 if=none,id=%s,file=%s,format=raw,"
			    "discard=unmap", backend, d->file)) {
			say(a, true, "error: QEMU refused the disk's image: %s", out);
			return;
		}
		snprintf(props, sizeof(props), ",drive=%s", backend);
	} else if (one.ndevices) {
		dev = &one.device[0];
		backend[0] = 0;
	} else {
		say(a, true, "error: hotplug add: --nic, --disk or --device");
		return;
	}
	if (dev->model && dev->model->props) {
		size_t l = strlen(props);

		props[l++] = ',';
		snprintf(props + l, sizeof(props) - l, dev->model->props, 100 + id);
	}
	if (dev->props[0])
		snprintf(props + strlen(props), sizeof(props) - strlen(props), ",%s", dev->props);
	snprintf(devid, sizeof(devid), "hpdev%u", id);
	for (k = 0; k < (int)hp.ports; k++) {
		if (hp.port[k].dev[0])
			continue;
		if (!monitor(out, sizeof(out), "device_add %s,bus=hp%d,addr=0,id=%s%s", dev->name, k, devid,
			     props))
			break;
		if (!strstr(out, "not available") && !strstr(out, "in use") &&
		    !strstr(out, "occupied") && !strstr(out, "no space")) {
			say(a, true, "error: QEMU refused device_add %s: %s", dev->name, out);
			k = -1;
			break;
		}
	}
	if (k < 0 || k == (int)hp.ports) {
		if (k == (int)hp.ports)
			say(a, true, "error: no free hot-plug port (the machine has %u: "
			    "--hotplug-ports)", hp.ports);
		if (backend[0] && net)
			monitor(out, sizeof(out), "netdev_del %s", backend);
		else if (backend[0])
			monitor(out, sizeof(out), "drive_del %s", backend);
		return;
	}
	snprintf(hp.port[k].dev, sizeof(hp.port[k].dev), "%s", devid);
	snprintf(hp.port[k].backend, sizeof(hp.port[k].backend), "%s", backend);
	hp.port[k].net = net;
	say(a, false, "hotplug: %s plugged into port hp%d (QEMU id %s)", dev->name, k, devid);
	hotplug_scan(s, drv, ndrv, a);
}

/* "hotplug del SLOT" */
static void unplug(struct session *s, const char *slot_text, struct driver *drv, int *ndrv,
		   struct answer *a)
{
	uint32_t bdf;
	char out[MON_OUT];
	long long t0 = mono_ms();
	int k;

	if (slot_parse(slot_text, &bdf)) {
		say(a, true, "error: hotplug del: '%s' is not a slot (BB:SS.F)", slot_text);
		return;
	}
	for (k = 0; k < (int)hp.ports && !(hp.port[k].dev[0] && hp.port[k].bus == DDEIO_BDF_BUS(bdf));
	     k++)
		;
	if (k == (int)hp.ports) {
		/* plugged at the start or on another monitor: QEMU's id is unknown to us */
		say(a, true, "error: hotplug del %s: no device dde hotplug add plugged is there (one "
		    "plugged otherwise goes with device_del on QEMU's monitor: dde run follows it)",
		    slot_text);
		return;
	}
	if (monitor(out, sizeof(out), "device_del %s", hp.port[k].dev)) {
		say(a, true, "error: QEMU refused device_del: %s", out);
		return;
	}
	/* the attention button: the scan stops the driver and ejects */
	for (int tries = 0; tries < 50 && hp.port[k].dev[0]; tries++) {
		hotplug_scan(s, drv, ndrv, a);
		if (hp.port[k].dev[0])
			usleep(20000);
	}
	if (hp.port[k].dev[0])
		say(a, true, "error: hotplug del %s: the slot did not empty", slot_text);
	else
		say(a, false, "hotplug: %s removed in %lld ms", slot_text, mono_ms() - t0);
}

/* ---- USB devices: QEMU attaches and detaches them; the hub driver follows ---- */

/* "usb add MODEL[:FILE][,usb=K]" */
static void usb_plug(const char *spec, struct answer *a)
{
	static struct machine_config one;
	const struct machine_usb_device *u;
	char err[600], out[MON_OUT], drive[32] = "", devid[16];
	unsigned id = hp.next_id++;

	machine_config_init(&one);
	if (machine_config_set(&one, "usb-device", spec, err, sizeof(err))) {
		say(a, true, "error: %s", err);
		return;
	}
	u = &one.usbdev[0];
	if (u->ctrl >= hp.cfg->nusb) {
		say(a, true, "error: usb add %s: the machine has no USB host controller %u (it has "
		    "%u: --usb)", spec, u->ctrl, hp.cfg->nusb);
		return;
	}
	snprintf(devid, sizeof(devid), "usbhp%u", id);
	if (u->file[0]) {
		snprintf(drive, sizeof(drive), ",drive=usbhpdisk%u", id);
		if (monitor(out, sizeof(out), "drive_add 0 if=none,id=usbhpdisk%u,file=%s,format=raw",
			    id, u->file)) {
			say(a, true, "error: QEMU refused the disk's image: %s", out);
			return;
		}
	}
	if (monitor(out, sizeof(out), "device_add %s,bus=usb%u.0,id=%s%s", u->model, u->ctrl, devid,
		    drive)) {
		say(a, true, "error: QEMU refused device_add %s: %s", u->model, out);
		if (u->file[0])
			monitor(out, sizeof(out), "drive_del usbhpdisk%u", id);
		return;
	}
	say(a, false, "usb: %s attached to usb%u (QEMU id %s)", u->model, u->ctrl, devid);
}

/* the line of `info usb` for QEMU id @id into @line; 1 if there is one */
static int usb_line(const char *id, char *line, size_t cap)
{
	char out[MON_OUT], want[32], *save = NULL;

	if (monitor(out, sizeof(out), "info usb"))
		return -1;
	snprintf(want, sizeof(want), "ID: %s", id);
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *at = strstr(l, want);

		if (at && (at[strlen(want)] == 0 || at[strlen(want)] == ' ')) {
			snprintf(line, cap, "%s", l);
			return 1;
		}
	}
	return 0;
}

/* "usb del ID" */
static void usb_unplug(const char *id, struct answer *a)
{
	char out[MON_OUT], line[256];
	long long t0 = mono_ms();
	int r;

	if (strncmp(id, "usb", 3) || strchr(id, ' ') || usb_line(id, line, sizeof(line)) != 1) {
		say(a, true, "error: usb del %s: no USB device with that QEMU id (dde usb lists them)",
		    id);
		return;
	}
	if (monitor(out, sizeof(out), "device_del %s", id)) {
		say(a, true, "error: QEMU refused device_del: %s", out);
		return;
	}
	for (int tries = 0; tries < 100 && (r = usb_line(id, line, sizeof(line))) == 1; tries++)
		usleep(20000);
	if (r) {
		say(a, true, "error: usb del %s: QEMU still has it", id);
		return;
	}
	/* a disk's image: QEMU lets go of the drive it made with the device,
	 * a moment later; the image is free once the drive is gone */
	if (!strncmp(id, "usbhp", 5)) {
		char drive[32];

		snprintf(drive, sizeof(drive), "usbhpdisk%s", id + 5);
		for (int tries = 0; tries < 100; tries++) {
			if (monitor(out, sizeof(out), "info block %s", drive) ||
			    !strstr(out, drive))
				break;
			usleep(20000);
		}
	}
	say(a, false, "usb: %s detached in %lld ms", id, mono_ms() - t0);
}

/* "usb list": QEMU's own list (`info usb`) */
static void usb_list(struct answer *a)
{
	char out[MON_OUT], *save = NULL;

	if (monitor(out, sizeof(out), "info usb")) {
		say(a, true, "error: %s", out);
		return;
	}
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		say(a, false, "%s", l);
	if (!a->len)
		say(a, false, "no USB devices");
}

/* "driver memory SLOT": what the driver's DMA memory holds (a Linux driver) */
static void driver_memory(struct driver *d, const char *slot_text, struct answer *a)
{
	char buf[512];
	struct pollfd p;
	long n;

	if (!d || d->state != DRV_RUNNING || !d->ctl || d->pid <= 0 || !strncmp(d->name, "efi", 3)) {
		say(a, true, "error: driver memory %s: no Linux driver runs on it", slot_text);
		return;
	}
	p = (struct pollfd){ d->ctl_fd, POLLIN, 0 };
	if (send(d->ctl_fd, "memory", 6, MSG_NOSIGNAL) < 0 || poll(&p, 1, 5000) != 1 ||
	    (n = recv(d->ctl_fd, buf, sizeof(buf) - 1, 0)) < 1) {
		say(a, true, "error: driver %s did not answer within 5 s", d->instance);
		return;
	}
	buf[n] = 0;
	say(a, buf[0] != '0', "driver %s: %s", d->instance, buf + 1);
}

/* "driver stop SLOT", "driver start SLOT [NAME]" */
static void driver_cmd(struct session *s, bool start, const char *slot_text, const char *name,
		       struct driver *drv, int *ndrv, struct answer *a)
{
	struct ddeio_device devs[64];
	struct driver *d;
	uint32_t bdf;
	int n, i;

	if (slot_parse(slot_text, &bdf)) {
		say(a, true, "error: driver %s: '%s' is not a slot (BB:SS.F)", start ? "start" : "stop",
		    slot_text);
		return;
	}
	d = driver_of(drv, *ndrv, bdf);
	if (!start) {
		if (!d || d->state == DRV_STOPPED)
			say(a, true, "error: driver stop %s: no driver runs on it", slot_text);
		else
			stop_driver(d, a);
		return;
	}
	if (d && d->state != DRV_STOPPED && d->state != DRV_GIVEN_UP && d->state != DRV_EXITED) {
		say(a, true, "error: driver start %s: driver %s runs on it (dde driver stop %s first)",
		    slot_text, d->instance, slot_text);
		return;
	}
	n = list_machine_devices(s, devs, 64);
	for (i = 0; i < n && devs[i].bdf != bdf; i++)
		;
	if (i >= n) {
		say(a, true, "error: driver start %s: there is no such device (see dde lspci)",
		    slot_text);
		return;
	}
	if (d)
		d->state = DRV_REMOVED;	/* its entry is reused: a new start */
	if (start_for(s, &devs[i], name, drv, ndrv, a) == 0 && !driver_of(drv, *ndrv, bdf))
		a->failed = true;
}

void hotplug_request(int fd, const char *text, struct session *s, struct driver *drv, int *ndrv)
{
	char req[REQ_MAX + 1], *argv[4] = { 0 }, *save = NULL;
	static struct answer a;
	int argc = 0;

	a.len = 0;
	a.failed = false;
	snprintf(req, sizeof(req), "%s", text);
	for (char *t = strtok_r(req, "\n", &save); t && argc < 4; t = strtok_r(NULL, "\n", &save))
		argv[argc++] = t;
	if (argc >= 3 && !strcmp(argv[0], "hotplug") && !strcmp(argv[1], "add") && argc == 4 && hp.ports)
		plug(s, argv[2], argv[3], drv, ndrv, &a);
	else if (argc == 3 && !strcmp(argv[0], "hotplug") && !strcmp(argv[1], "del") && hp.ports)
		unplug(s, argv[2], drv, ndrv, &a);
	else if (argc >= 2 && !strcmp(argv[0], "hotplug"))
		say(&a, true, "error: this machine has no hot-plug ports (dde run --hotplug-ports N, "
		    "on q35)");
	else if (argc >= 2 && !strcmp(argv[0], "usb") && !hp.cfg->nusb)
		say(&a, true, "error: this machine has no USB host controller (dde run --usb xhci, "
		    "ehci, uhci or ohci)");
	else if (argc == 3 && !strcmp(argv[0], "usb") && !strcmp(argv[1], "add"))
		usb_plug(argv[2], &a);
	else if (argc == 3 && !strcmp(argv[0], "usb") && !strcmp(argv[1], "del"))
		usb_unplug(argv[2], &a);
	else if (argc == 2 && !strcmp(argv[0], "usb") && !strcmp(argv[1], "list"))
		usb_list(&a);
	else if (argc == 3 && !strcmp(argv[0], "pm") &&
		 (!strcmp(argv[1], "suspend") || !strcmp(argv[1], "resume")))
		pm_cmd(argv[1][0] == 's', argv[2], drv, *ndrv, &a);
	else if (argc == 3 && !strcmp(argv[0], "driver") && !strcmp(argv[1], "memory")) {
		uint32_t bdf;

		if (slot_parse(argv[2], &bdf))
			say(&a, true, "error: driver memory: '%s' is not a slot (BB:SS.F)", argv[2]);
		else
			driver_memory(driver_of(drv, *ndrv, bdf), argv[2], &a);
	} else if (argc >= 3 && !strcmp(argv[0], "driver") &&
		 (!strcmp(argv[1], "start") || !strcmp(argv[1], "stop")))
		driver_cmd(s, argv[1][2] == 'a', argv[2], argc > 3 ? argv[3] : NULL, drv, ndrv, &a);
	else
		say(&a, true, "error: unknown request");
	if (!a.len)
		say(&a, false, "nothing happened");
	/* the first byte says how it went: '0' done, '1' failed */
	memmove(a.text + 1, a.text, a.len < sizeof(a.text) - 1 ? a.len : sizeof(a.text) - 1);
	a.text[0] = a.failed ? '1' : '0';
	seqpacket_send(fd, a.text, a.len + 1, NULL, 0);
}

/* ---- the client commands ---- */

static int ask(const char *path, const char *req)
{
	char *buf = malloc(STATUS_TEXT_MAX + 2);
	int fd = seqpacket_connect(path);
	struct pollfd p;
	long n;

	if (!buf || fd < 0) {
		fprintf(stderr, "dde: cannot reach dde run at %s: %s\n", path, strerror(errno));
		free(buf);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	p = (struct pollfd){ fd, POLLIN, 0 };
	if (seqpacket_send(fd, req, strlen(req), NULL, 0) || poll(&p, 1, 60000) != 1 ||
	    (n = recv(fd, buf, STATUS_TEXT_MAX + 1, 0)) < 1) {
		fprintf(stderr, "dde: dde run at %s did not answer\n", path);
		close(fd);
		free(buf);
		return 1;
	}
	close(fd);
	fwrite(buf + 1, 1, (size_t)n - 1, buf[0] == '0' ? stdout : stderr);
	n = buf[0] == '0' ? 0 : 1;
	free(buf);
	return (int)n;
}

static const char *run_socket(const char *given, const char *cmd)
{
	const char *path = given ? given : getenv("DDE_RUN");

	if (!path || !*path)
		fprintf(stderr, "dde %s: which dde run? Set DDE_RUN (dde run prints it) or give "
			"--socket PATH\n", cmd);
	return path && *path ? path : NULL;
}

int dde_hotplug(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nic", required_argument, 0, 'n' },
		{ "disk", required_argument, 0, 'd' },
		{ "device", required_argument, 0, 'v' },
		{ "socket", required_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *sock = NULL, *kind = NULL, *spec = NULL;
	char req[REQ_MAX];
	int opt;

	opterr = 0;
	optind = 2;	/* argv[1] is add or del */
	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "del"))) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			printf("usage: dde hotplug add --nic SPEC|--disk SPEC|--device SPEC [--socket PATH]\n"
			       "       dde hotplug del SLOT [--socket PATH]\n"
			       "  plug a device into a running dde run's machine (one of its\n"
			       "  --hotplug-ports) and start its driver; or stop its driver and\n"
			       "  unplug it. SPEC as dde run's --nic, --disk, --device; PATH: $DDE_RUN\n");
			return 0;
		}
		fprintf(stderr, "dde hotplug: add or del (see dde hotplug --help)\n");
		return 2;
	}
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 's') {
			sock = optarg;
		} else if (opt == 'n' || opt == 'd' || opt == 'v') {
			if (kind) {
				fprintf(stderr, "dde hotplug add: one device at a time\n");
				return 2;
			}
			kind = opt == 'n' ? "nic" : opt == 'd' ? "disk" : "device";
			spec = optarg;
		} else {
			fprintf(stderr, "dde hotplug: unknown or incomplete option '%s' (see dde hotplug "
				"--help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (!strcmp(argv[1], "add")) {
		if (!kind || optind != argc) {
			fprintf(stderr, "dde hotplug add: --nic, --disk or --device SPEC\n");
			return 2;
		}
		snprintf(req, sizeof(req), "hotplug\nadd\n%s\n%s", kind, spec);
	} else {
		if (kind || optind + 1 != argc) {
			fprintf(stderr, "dde hotplug del: SLOT (e.g. 01:00.0)\n");
			return 2;
		}
		snprintf(req, sizeof(req), "hotplug\ndel\n%s", argv[optind]);
	}
	if (!(sock = run_socket(sock, "hotplug")))
		return 2;
	return ask(sock, req);
}

/*
 * The positional arguments of `dde driver` and `dde pm` into @pos (at most
 * @max), --socket into *@sock; -2 after --help (printed), -1 after one
 * line, else the count.
 */
static int positional(int argc, char **argv, const char *cmd, const char *help,
		      const char **sock, char **pos, int max)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			*sock = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(help, stdout);
			return -2;
		} else if (n < max) {
			pos[n++] = argv[i];
		} else {
			fprintf(stderr, "dde %s: unexpected argument '%s'\n", cmd, argv[i]);
			return -1;
		}
	}
	return n;
}

int dde_driver(int argc, char **argv)
{
	const char *sock = NULL;
	char req[REQ_MAX], *pos[3];
	int npos = positional(argc, argv, "driver",
			      "usage: dde driver start SLOT [NAME] [--socket PATH]\n"
			      "       dde driver stop SLOT [--socket PATH]\n"
			      "       dde driver memory SLOT [--socket PATH]\n"
			      "  stop a device's driver (its remove runs; the device stays), or\n"
			      "  start one on it: NAME (as --driver NAME@SLOT), else what the driver\n"
			      "  index matches; or say what a Linux driver's DMA memory holds\n"
			      "  (everything it allocates: a leak shows there)\n", &sock, pos, 3);

	if (npos == -2)
		return 0;
	if (npos < 0)
		return 2;
	if (npos < 2 || (strcmp(pos[0], "start") && strcmp(pos[0], "stop") && strcmp(pos[0], "memory")) ||
	    (strcmp(pos[0], "start") && npos != 2)) {
		fprintf(stderr, "dde driver: start SLOT [NAME], stop SLOT or memory SLOT (see dde driver "
			"--help)\n");
		return 2;
	}
	snprintf(req, sizeof(req), "driver\n%s\n%s%s%s", pos[0], pos[1], npos > 2 ? "\n" : "",
		 npos > 2 ? pos[2] : "");
	if (!(sock = run_socket(sock, "driver")))
		return 2;
	return ask(sock, req);
}

int dde_usb(int argc, char **argv)
{
	const char *sock = NULL;
	char req[REQ_MAX], *pos[2];
	int npos = positional(argc, argv, "usb",
			      "usage: dde usb [list] [--socket PATH]\n"
			      "       dde usb add MODEL[:FILE][,usb=K] [--socket PATH]\n"
			      "       dde usb del ID [--socket PATH]\n"
			      "  attach a USB device to host controller K (default 0) of a running\n"
			      "  dde run (MODEL usb-kbd, usb-mouse, usb-tablet, usb-storage:FILE);\n"
			      "  its driver process enumerates it; or detach device ID (QEMU's id,\n"
			      "  as add and list print it)\n", &sock, pos, 2);

	if (npos == -2)
		return 0;
	if (npos < 0)
		return 2;
	if (npos == 0 || (npos == 1 && !strcmp(pos[0], "list")))
		snprintf(req, sizeof(req), "usb\nlist");
	else if (npos == 2 && (!strcmp(pos[0], "add") || !strcmp(pos[0], "del")))
		snprintf(req, sizeof(req), "usb\n%s\n%s", pos[0], pos[1]);
	else {
		fprintf(stderr, "dde usb: list, add MODEL[:FILE] or del ID (see dde usb --help)\n");
		return 2;
	}
	if (!(sock = run_socket(sock, "usb")))
		return 2;
	return ask(sock, req);
}

int dde_pm(int argc, char **argv)
{
	const char *sock = NULL;
	char req[REQ_MAX], *pos[2];
	int npos = positional(argc, argv, "pm",
			      "usage: dde pm suspend|resume SLOT|--all [--socket PATH]\n"
			      "  the driver's own Linux power management: its suspend callbacks\n"
			      "  (and those of the devices below its PCI device), the device to\n"
			      "  D3hot (its PM capability); or back to D0 and its resume callbacks.\n"
			      "  --all: every driver (suspend: the last started first; resume: in\n"
			      "  start order)\n", &sock, pos, 2);

	if (npos == -2)
		return 0;
	if (npos < 0)
		return 2;
	if (npos != 2 || (strcmp(pos[0], "suspend") && strcmp(pos[0], "resume"))) {
		fprintf(stderr, "dde pm: suspend or resume, and SLOT or --all (see dde pm --help)\n");
		return 2;
	}
	snprintf(req, sizeof(req), "pm\n%s\n%s", pos[0], pos[1]);
	if (!(sock = run_socket(sock, "pm")))
		return 2;
	return ask(sock, req);
}
