/*
 * ddeio's heart: one event loop that owns the platform and serves every
 * client. A client is a driver process (claims devices, gets a grant) or a
 * tool (only lists devices). Every request is checked against the client's
 * grant; a refusal names the driver, the device and the resource, and the
 * loop goes on serving the others. Clients are served round-robin, one
 * request per turn, so one busy driver cannot starve another on the single
 * machine channel. Only peers the access policy admits get in (their
 * credentials are read on every connection), and devices are claimed
 * only on the channels `dde run` opens for its drivers (unless ddeio runs
 * by hand or with --open-claims). When a client goes away, for whatever reason, its
 * devices stop bus mastering, its DMA region is zeroed, and both can be
 * granted again. This file is the session (connections, hello, the loop);
 * the requests on granted devices are requests.c, MSI msi.c.
 */
#define _GNU_SOURCE
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ddeio/protocol.h>

#include "../common/seqpacket.h"
#include "../platform/platform.h"
#include "../common/slot.h"
#include "log.h"
#include "msi.h"
#include "state.h"

static struct client *add_client(struct server *s, int fd)
{
	unsigned i;
	struct client *c;

	for (i = 0; i < MAX_CLIENTS && s->client[i]; i++)
		;
	c = i < MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		log_error("refusing a client: %u clients already", MAX_CLIENTS);
		return NULL;
	}
	c->fd = fd;
	c->event_fd = -1;
	c->pidfd = -1;
	strcpy(c->name, "(unnamed)");
	/* every message carries its sender's pid (the kernel's word for it) */
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	s->client[i] = c;
	return c;
}

struct server *server_create(struct platform *p, const char *name,
			     const struct server_options *o)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct server *s = calloc(1, sizeof(*s));
	socklen_t len;
	const char *spin = getenv("DDE_SPIN_US"), *batch = getenv("DDE_IO_BATCH");

	if (!s)
		return NULL;
	s->p = p;
	s->o = *o;
	/*
	 * Busy-poll only with a core to spare: the driver, ddeio and QEMU all
	 * take part in a round trip, and on two cores spinning starves QEMU.
	 */
	s->spin_ns = (spin ? strtoull(spin, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN) > 2 ? 20 : 0) * 1000;
	/* DDE_IO_BATCH=0: one request per client per turn, posted writes sent singly (make bench's "before") */
	s->batch = !batch || strcmp(batch, "0");
	/* Abstract socket: nothing in the file system to clean up. */
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "%s", name);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&addr, len) ||
	    listen(s->listen_fd, 16)) {
		log_error("cannot listen on @%s: %s", name, strerror(errno));
		if (s->listen_fd >= 0)
			close(s->listen_fd);
		free(s);
		return NULL;
	}
	if (o->control_fd >= 0) {
		struct client *c = add_client(s, o->control_fd);

		fcntl(o->control_fd, F_SETFL, O_NONBLOCK);
		fcntl(o->control_fd, F_SETFD, FD_CLOEXEC);
		c->control = true;
		strcpy(c->name, "dde (control)");
	}
	return s;
}

static void send_event(struct client *c, uint16_t op, uint64_t addr, const char *text)
{
	char buf[sizeof(struct ddeio_msg) + 512];
	struct ddeio_msg *m = (struct ddeio_msg *)buf;
	size_t len = text ? strlen(text) + 1 : 0;

	if (c->event_fd < 0)
		return;
	if (len > 512)
		len = 512;
	memset(m, 0, sizeof(*m));
	m->op = op;
	m->addr = addr;
	m->size = (uint32_t)len;
	if (len)
		memcpy(buf + sizeof(*m), text, len);
	/* Non-blocking: a client that does not read its events only hurts itself. */
	send(c->event_fd, buf, sizeof(*m) + len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void deliver_irq(struct client *c, unsigned line)
{
	c->line[line] = LINE_DELIVERED;
	send_event(c, DDEIO_OP_EVENT_IRQ, line, NULL);
}

/* Platform callback: a line changed level. */
static void on_irq(void *ctx, unsigned line, bool level)
{
	struct server *s = ctx;

	if (!level || line >= MAX_LINES)
		return;
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = s->client[i];

		if (c && c->line[line] == LINE_ENABLED)
			deliver_irq(c, line);
	}
}

/* The platform's index of the device at @bdf; the device count if none is there. */
static unsigned device_index(const struct server *s, uint32_t bdf)
{
	unsigned k, n = platform_device_count(s->p);

	for (k = 0; k < n && platform_device(s->p, k)->bdf != bdf; k++)
		;
	return k;
}

/*
 * DMA the IOMMU blocked: each fault named with the device and its driver,
 * and the driver stopped (its connection closed, so its grant ends and it
 * exits on its next request) once this pass is over.
 */
static void check_faults(struct server *s)
{
	struct platform_fault f[8];
	int n = platform_dma_faults(s->p, f, 8);

	for (int i = 0; i < n; i++) {
		struct client *c = NULL;
		char slot[16];
		unsigned k;

		if (f[i].overflow) {
			log_error("IOMMU: more blocked DMA than the IOMMU could record");
			continue;
		}
		slot_format(f[i].bdf, slot);
		k = device_index(s, f[i].bdf);
		if (k < platform_device_count(s->p) && k < 64)
			c = s->dev_owner[k];
		if (!c) {
			log_error("IOMMU: blocked a DMA %s at 0x%llx by %s, which no driver holds",
				  f[i].write ? "write" : "read", (unsigned long long)f[i].addr, slot);
			continue;
		}
		const struct platform_region *reg = platform_region(s->p, c->region);

		log_error("IOMMU: blocked a DMA %s at 0x%llx by %s of driver '%s', outside its "
			  "DMA region 0x%llx+%lluM (fault reason %u): stopping the driver",
			  f[i].write ? "write" : "read", (unsigned long long)f[i].addr, slot,
			  c->name, (unsigned long long)reg->bus,
			  (unsigned long long)(reg->size >> 20), f[i].reason);
		c->dma_fault = true;
	}
}

/* Does process @pid map or hold a VFIO device ("anon_inode:[vfio-device]")? */
static bool holds_device(pid_t pid)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "[vfio-device]") != NULL;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		char link[PATH_MAX], target[128];
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			found = strstr(target, "[vfio-device]") != NULL;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static void release(struct server *s, struct client *c)
{
	/*
	 * A driver that had a BAR mapped in its own address space keeps it
	 * when its connection ends. If its process still holds the device
	 * (a mapping or a descriptor of it: ddekit_exit gives them back), it
	 * is killed before the devices can go to another driver (by pidfd:
	 * never another process that got its pid).
	 */
	if (c->bars_mapped && c->pidfd >= 0 && holds_device(c->pid) &&
	    !syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0))
		log_warn("driver '%s' left with its device's BAR still mapped: killed before its "
			 "devices are granted again", c->name);
	for (unsigned i = 0; i < c->ndev; i++) {
		const struct ddeio_device *d = platform_device(s->p, c->dev[i]);
		uint32_t cmd;

		msi_disable(s->p, d, c->region);

		/* Stop the device writing into memory that is about to be reused. */
		if (!platform_config_read(s->p, d->bdf, 0x04, 2, &cmd))
			platform_config_write(s->p, d->bdf, 0x04, 2, cmd & ~0x4u);
	}
	if (c->ndev)
		check_faults(s);	/* what its devices did wrong is still its own */
	for (unsigned i = 0; i < c->ndev; i++) {
		platform_dma_confine(s->p, platform_device(s->p, c->dev[i])->bdf, 0);
		s->dev_owner[c->dev[i]] = NULL;
	}
	if (c->region) {
		platform_region_scrub(s->p, c->region);
		s->region_owner[c->region] = NULL;
	}
	if (c->hello && c->ndev)
		log_info("driver '%s' gone: %u device(s) and DMA region %u released "
			 "(%lu requests, %lu refused)", c->name, c->ndev, c->region,
			 c->requests, c->refusals);
	c->ndev = 0;
	c->region = 0;
}

static void drop_client(struct server *s, unsigned i)
{
	struct client *c = s->client[i];

	release(s, c);
	if (c->pidfd >= 0)
		close(c->pidfd);
	close(c->fd);
	if (c->event_fd >= 0)
		close(c->event_fd);
	free(c);
	s->client[i] = NULL;
}

void server_destroy(struct server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (s->client[i])
			drop_client(s, i);
	close(s->listen_fd);
	free(s);
}

static void accept_clients(struct server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct client *c = add_client(s, fd);

		if (!c) {
			close(fd);
			continue;
		}
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
			c->pid = cred.pid;
		/* refused: told why at its first message, then dropped */
		if (access_check(&s->o.access, fd, c->refused, sizeof(c->refused)))
			log_warn("refused a connection: %s", c->refused);
	}
}

/* ---- replies ---- */


static int reply_send(struct client *c, struct reply *r)
{
	struct iovec iov = { &r->m, sizeof(r->m) + r->len };
	char ctrl[CMSG_SPACE(sizeof(int) * DDEIO_MAX_VECTORS)];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	r->m.size = r->m.op == DDEIO_OP_MEM_READ || r->m.status || r->len ?
		    (uint32_t)r->len : r->m.size;
	fds_attach(&mh, ctrl, sizeof(ctrl), r->fd, (int)r->nfd);
	/* A client that stops reading its replies is dropped, not waited for. */
	for (int tries = 0; tries < 1000; tries++) {
		if (sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;
		if (errno != EAGAIN)
			return -1;
		usleep(1000);
	}
	return -1;
}

/* Refuse a request: reply (or event, for posted writes) naming everything. */
int refuse(struct client *c, struct reply *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->payload, sizeof(r->payload), fmt, ap);
	va_end(ap);
	r->len = strlen(r->payload) + 1;
	r->m.status = status;
	c->refusals++;
	log_warn("%s", r->payload);
	return status;
}

/* Does @h claim exactly the devices of @expect (in any order)? */
static bool same_claim(const struct ddeio_hello *expect, const struct ddeio_hello *h)
{
	if (h->ndev != expect->ndev)
		return false;
	for (unsigned i = 0; i < h->ndev; i++) {
		unsigned j;

		for (j = 0; j < expect->ndev && expect->bdf[j] != h->bdf[i]; j++)
			;
		if (j == expect->ndev)
			return false;
	}
	return true;
}

/*
 * dde opened a connection for a driver: @fd is the server's end; the
 * client on it may claim exactly the devices in the payload.
 */
static int do_channel(struct server *s, struct client *c, const char *payload, size_t plen,
		      int fd, struct reply *r)
{
	struct ddeio_hello h;
	struct client *nc;

	if (!c->control)
		return refuse(c, r, -EPERM, "'%s' may not open channels (only dde may)", c->name);
	if (plen != sizeof(h) || fd < 0)
		return refuse(c, r, -EPROTO, "malformed channel request");
	memcpy(&h, payload, sizeof(h));
	if (h.ndev > DDEIO_MAX_DEVICES)
		return refuse(c, r, -EINVAL, "a channel for %u devices (at most %d)", h.ndev,
			      DDEIO_MAX_DEVICES);
	h.name[sizeof(h.name) - 1] = 0;
	nc = add_client(s, fd);
	if (!nc)
		return refuse(c, r, -EMFILE, "no room for another client");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	nc->bound = true;
	nc->expect = h;
	snprintf(nc->name, sizeof(nc->name), "%s", h.name);
	return 0;
}

static int do_hello(struct server *s, struct client *c, const struct ddeio_msg *m,
		    const char *payload, size_t plen, int fd, struct reply *r)
{
	struct ddeio_hello h;
	struct ddeio_grant *g = (struct ddeio_grant *)r->payload;

	if (c->hello) {
		return refuse(c, r, -EPROTO, "'%s' sent a second hello", c->name);
	}
	if (plen != sizeof(h))
		return refuse(c, r, -EPROTO, "malformed hello (%zu bytes)", plen);
	memcpy(&h, payload, sizeof(h));
	h.name[sizeof(h.name) - 1] = 0;
	for (char *ch = h.name; *ch; ch++)
		if (*ch < 0x20 || *ch > 0x7e)
			*ch = '?';
	snprintf(c->name, sizeof(c->name), "%s", h.name[0] ? h.name : "(unnamed)");
	if (h.version != DDEIO_PROTOCOL_VERSION)
		return refuse(c, r, -EPROTO, "'%s' speaks protocol %u, ddeio speaks %u: rebuild it",
			      c->name, h.version, DDEIO_PROTOCOL_VERSION);
	if (h.ndev > DDEIO_MAX_DEVICES)
		return refuse(c, r, -EINVAL, "'%s' claims %u devices (at most %d)", c->name,
			      h.ndev, DDEIO_MAX_DEVICES);
	if (h.ndev && fd < 0)
		return refuse(c, r, -EPROTO, "'%s' sent no event socket", c->name);
	if (h.ndev && !c->bound && !s->o.open_claims)
		return refuse(c, r, -EACCES, "'%s' (pid %d) claims devices over the socket: "
			      "devices go only to the drivers `dde run` starts (dde run --driver "
			      "NAME@SLOT; to start drivers by hand, dde run --no-sandbox)",
			      c->name, (int)c->pid);
	if (c->bound && !same_claim(&c->expect, &h))
		return refuse(c, r, -EACCES, "'%s' claims other devices than `dde run` "
			      "granted it", c->name);
	/* Check every claim before granting any. */
	for (unsigned i = 0; i < h.ndev; i++) {
		unsigned k, n = platform_device_count(s->p);
		char slot[16];

		slot_format(h.bdf[i], slot);
		k = device_index(s, h.bdf[i]);
		if (k == n)
			return refuse(c, r, -ENODEV, "'%s' claims %s: there is no such device "
				      "(see dde lspci)", c->name, slot);
		if ((platform_device(s->p, k)->class_code >> 16) == 0x06)
			return refuse(c, r, -EPERM, "'%s' claims %s: bridges belong to the platform",
				      c->name, slot);
		if (s->dev_owner[k] && seqpacket_hung_up(s->dev_owner[k]->fd)) {
			/* a driver restarted: its last process is dead, its
			 * hangup not yet read; what it held goes first */
			log_info("driver '%s' is gone (its connection hung up): its devices are "
				 "released for '%s'", s->dev_owner[k]->name, c->name);
			release(s, s->dev_owner[k]);
		}
		if (s->dev_owner[k])
			return refuse(c, r, -EBUSY, "'%s' claims %s: already granted to '%s'",
				      c->name, slot, s->dev_owner[k]->name);
		for (unsigned j = 0; j < i; j++)
			if (c->dev[j] == k)
				return refuse(c, r, -EINVAL, "'%s' claims %s twice", c->name, slot);
		c->dev[i] = k;
	}
	if (h.ndev) {
		unsigned reg;

		for (reg = 1; reg < platform_region_count(s->p) && s->region_owner[reg]; reg++)
			;
		if (reg == platform_region_count(s->p))
			return refuse(c, r, -ENOSPC, "'%s': no DMA region free (%u drivers running; "
				      "raise --dma-slots)", c->name, reg - 1);
		c->region = reg;
		s->region_owner[reg] = c;
		c->event_fd = fd;
		fcntl(fd, F_SETFL, O_NONBLOCK);
	} else if (fd >= 0) {
		close(fd);
	}
	c->ndev = h.ndev;
	memset(g, 0, sizeof(*g));
	g->ndev = c->ndev;
	for (unsigned i = 0; i < c->ndev; i++) {
		const struct ddeio_device *d = platform_device(s->p, c->dev[i]);
		int err;

		s->dev_owner[c->dev[i]] = c;
		g->dev[i] = *d;
		for (unsigned b = 0; b < 6; b++) {	/* BARs the driver may map itself */
			int bfd;
			uint64_t boff;

			if (!platform_bar_map(s->p, d->bdf, b, &bfd, &boff))
				g->dev[i].bar[b].flags |= DDEIO_RES_MAPPABLE;
		}
		/* its DMA reaches the driver's region, and nothing else */
		err = platform_dma_confine(s->p, d->bdf, c->region);
		if (err) {
			c->ndev = i + 1;
			release(s, c);
			return refuse(c, r, err, "'%s': the IOMMU could not map DMA region %u for "
				      "the device: %s", c->name, c->region, strerror(-err));
		}
		/*
		 * Bus mastering stays as it is: at a device's first grant as
		 * the platform set it up (QEMU's on, as firmware leaves it;
		 * VFIO's off), off after a driver had it (release turned it
		 * off). A device given back may still be running
		 * what its last driver set up (a USB controller its schedule):
		 * the next driver resets it before it turns mastering on, as
		 * Linux's drivers do (pci_set_master; UEFI's PCI I/O
		 * attributes).
		 */
	}
	if (c->region) {
		const struct platform_region *reg = platform_region(s->p, c->region);

		g->dma_bus = reg->bus;
		g->dma_size = reg->size;
		r->fd[r->nfd++] = reg->fd;
	}
	r->len = sizeof(*g);
	c->hello = true;
	if (c->ndev) {
		char list[128] = "";

		for (unsigned i = 0; i < c->ndev; i++) {
			char slot[16];

			slot_format(g->dev[i].bdf, slot);
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? " " : "", slot);
		}
		log_info("driver '%s'%s granted %s, DMA region %u at 0x%llx+%lluM",
			 c->name, c->bound ? " (on the connection dde opened)" : "", list, c->region, (unsigned long long)g->dma_bus,
			 (unsigned long long)(g->dma_size >> 20));
	}
	return 0;
}

static int do_list(struct server *s, const struct ddeio_msg *m, struct reply *r)
{
	unsigned n = platform_device_count(s->p), max = DDEIO_MAX_PAYLOAD / sizeof(struct ddeio_device);

	unsigned present = 0;

	/* the devices there are, holes (unplugged ones) left out: m->addr counts those */
	for (unsigned i = 0; i < n; i++) {
		const struct ddeio_device *d = platform_device(s->p, i);

		if (d->bdf == DDEIO_BDF_NONE)
			continue;
		if (present++ >= m->addr && r->len / sizeof(struct ddeio_device) < max) {
			memcpy(r->payload + r->len, d, sizeof(*d));
			r->len += sizeof(*d);
		}
	}
	r->m.value = present;
	return 0;
}

/*
 * dde's hot-plug requests: what changed on the slots (the new devices
 * enumerated), or the eject of a device no driver holds any more.
 */
static int do_hotplug(struct server *s, struct client *c, const struct ddeio_msg *m,
		      struct reply *r)
{
	struct ddeio_hp_event *ev = (struct ddeio_hp_event *)r->payload;
	unsigned max = DDEIO_MAX_PAYLOAD / sizeof(*ev);
	char slot[16];
	int n;

	if (!c->control)
		return refuse(c, r, -EPERM, "'%s' may not plug devices (only dde may)", c->name);
	if (m->addr == DDEIO_HP_EJECT) {
		uint32_t bdf = (uint32_t)m->value;

		slot_format(bdf, slot);
		for (unsigned k = 0; k < platform_device_count(s->p) && k < 64; k++) {
			const struct ddeio_device *d = platform_device(s->p, k);

			if (d->bdf == DDEIO_BDF_NONE || DDEIO_BDF_BUS(d->bdf) != DDEIO_BDF_BUS(bdf) ||
			    !s->dev_owner[k])
				continue;
			/* its driver ended, its hangup not read yet: what it held goes */
			if (seqpacket_hung_up(s->dev_owner[k]->fd))
				release(s, s->dev_owner[k]);
			if (s->dev_owner[k])
				return refuse(c, r, -EBUSY, "%s: its slot's device is still granted "
					      "to '%s'", slot, s->dev_owner[k]->name);
		}
		n = platform_hotplug_eject(s->p, bdf, ev, max);
		if (n < 0)
			return refuse(c, r, n, "%s: %s", slot, n == -EOPNOTSUPP ?
				      "not on a hot-plug slot" : n == -EBUSY ?
				      "the slot was powered off, but the device is still there" :
				      strerror(-n));
	} else if (m->addr == DDEIO_HP_SCAN) {
		n = platform_hotplug_scan(s->p, ev, max);
		if (n == -EOPNOTSUPP)
			n = 0;
		if (n < 0)
			return refuse(c, r, n, "hotplug scan: %s", strerror(-n));
	} else {
		return refuse(c, r, -EINVAL, "unknown hotplug request %llu",
			      (unsigned long long)m->addr);
	}
	for (int i = 0; i < n; i++) {
		if (ev[i].kind == DDEIO_HP_GONE)
			msi_forget(ev[i].dev.bdf);
		slot_format(ev[i].dev.bdf, slot);
		log_info("hotplug: %s (%04x:%04x) %s", slot, ev[i].dev.vendor, ev[i].dev.device,
			 ev[i].kind == DDEIO_HP_ADDED ? "arrived: slot powered, resources assigned" :
			 ev[i].kind == DDEIO_HP_REMOVE_REQUEST ? "asked to go (attention button)" :
			 "gone: slot powered off");
	}
	r->len = (size_t)n * sizeof(*ev);
	r->m.value = (uint64_t)n;
	return 0;
}

/* Who holds which device, for `dde lspci -k` on a running machine. */
static int do_owners(struct server *s, struct reply *r)
{
	unsigned max = DDEIO_MAX_PAYLOAD / sizeof(struct ddeio_owner);

	for (unsigned i = 0; i < platform_device_count(s->p) && i < 64; i++) {
		const struct client *c = s->dev_owner[i];
		struct ddeio_owner o = { .bdf = platform_device(s->p, i)->bdf };

		if (!c || r->len / sizeof(o) >= max)
			continue;
		o.pid = (int32_t)c->pid;
		snprintf(o.name, sizeof(o.name), "%s", c->name);
		memcpy(r->payload + r->len, &o, sizeof(o));
		r->len += sizeof(o);
	}
	r->m.value = r->len / sizeof(struct ddeio_owner);
	return 0;
}

/* Handle one message from client @i: 1 done, 0 none waiting, -1 the client must go. */
static int handle(struct server *s, unsigned i)
{
	struct client *c = s->client[i];
	char buf[sizeof(struct ddeio_msg) + DDEIO_MAX_PAYLOAD + 1];
	char ctrl[CMSG_SPACE(sizeof(int) * 4) + CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	static struct reply r;
	struct ddeio_msg m;
	ssize_t n;
	int fd = -1, rc = 0;

	n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	fds_take(&mh, &fd, 1);	/* one at most: more are closed */
	pid_t sender = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		struct ucred cred;

		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
			sender = cred.pid;
		}
	}
	if (n == 0)
		goto gone;
	if ((size_t)n < sizeof(m) || (size_t)n > sizeof(m) + DDEIO_MAX_PAYLOAD ||
	    (mh.msg_flags & MSG_TRUNC)) {
		log_warn("client '%s' sent a malformed message (%zd bytes): disconnected",
			 c->name, n);
		goto gone;
	}
	memcpy(&m, buf, sizeof(m));
	c->requests++;
	memset(&r.m, 0, sizeof(r.m));
	r.m.op = m.op;
	r.m.seq = m.seq;
	r.m.size = m.size;
	r.len = 0;
	r.nfd = 0;
	r.close_fds = false;
	if (c->refused[0]) {
		/* tell it why, once, and let it go */
		snprintf(r.payload, sizeof(r.payload), "%s", c->refused);
		r.len = strlen(r.payload) + 1;
		r.m.status = -EACCES;
		reply_send(c, &r);
		goto gone;
	}
	if (!c->hello && !c->control && m.op != DDEIO_OP_HELLO) {
		log_warn("client '%s' sent op %u before hello: disconnected", c->name, m.op);
		goto gone;
	}
	switch (m.op) {
	case DDEIO_OP_HELLO:
		if (c->control)
			goto unknown;
		if (sender > 0 && c->pidfd < 0) {	/* who the driver is, for good */
			c->pid = sender;
			c->pidfd = (int)syscall(SYS_pidfd_open, sender, 0);
		}
		rc = do_hello(s, c, &m, buf + sizeof(m), (size_t)n - sizeof(m), fd, &r);
		if (c->event_fd == fd)
			fd = -1;	/* kept */
		/* who it is is known now: no credentials on every message from here on */
		setsockopt(c->fd, SOL_SOCKET, SO_PASSCRED, &(int){ 0 }, sizeof(int));
		break;
	case DDEIO_OP_LIST:
		rc = do_list(s, &m, &r);
		break;
	case DDEIO_OP_OWNERS:
		rc = do_owners(s, &r);
		break;
	case DDEIO_OP_CHANNEL:
		rc = do_channel(s, c, buf + sizeof(m), (size_t)n - sizeof(m), fd, &r);
		if (!rc)
			fd = -1;	/* the new client's */
		break;
	case DDEIO_OP_CONFIG_READ:
	case DDEIO_OP_CONFIG_WRITE:
		rc = do_config(s, c, &m, &r);
		break;
	case DDEIO_OP_PIO_READ:
	case DDEIO_OP_PIO_WRITE:
	case DDEIO_OP_MMIO_READ:
	case DDEIO_OP_MMIO_WRITE:
		rc = do_access(s, c, &m, &r);
		break;
	case DDEIO_OP_PIO_READ_REP:
	case DDEIO_OP_PIO_WRITE_REP:
		rc = do_pio_rep(s, c, &m, buf + sizeof(m), (size_t)n - sizeof(m), &r);
		break;
	case DDEIO_OP_MEM_READ:
	case DDEIO_OP_MEM_WRITE:
		rc = do_mem(s, c, &m, buf + sizeof(m), (size_t)n - sizeof(m), &r);
		break;
	case DDEIO_OP_IRQ_MASK:
	case DDEIO_OP_IRQ_UNMASK:
		rc = do_irq(s, c, &m, &r);
		break;
	case DDEIO_OP_MSI_ENABLE:
	case DDEIO_OP_MSI_DISABLE:
		rc = do_msi(s, c, &m, &r);
		break;
	case DDEIO_OP_BAR_MAP:
		rc = do_bar_map(s, c, &m, &r);
		break;
	case DDEIO_OP_HOTPLUG:
		rc = do_hotplug(s, c, &m, &r);
		break;
	default:
	unknown:
		log_warn("client '%s' sent unknown op %u: disconnected", c->name, m.op);
		goto gone;
	}
	if (fd >= 0)
		close(fd);
	if (rc == -EPIPE)
		return 1;	/* the machine is gone; the loop notices */
	r.m.status = rc;
	if ((m.flags & DDEIO_F_POSTED) && (m.op == DDEIO_OP_PIO_WRITE ||
					    m.op == DDEIO_OP_MMIO_WRITE ||
					    m.op == DDEIO_OP_PIO_WRITE_REP)) {
		if (rc)
			send_event(c, DDEIO_OP_EVENT_ERROR, m.addr,
				   r.len ? r.payload : strerror(-rc));
		return 1;
	}
	if (rc && !r.len) {
		snprintf(r.payload, sizeof(r.payload), "%s", strerror(-rc));
		r.len = strlen(r.payload) + 1;
	}
	rc = reply_send(c, &r);
	for (unsigned k = 0; r.close_fds && k < r.nfd; k++)
		close(r.fd[k]);
	if (rc) {
		log_warn("client '%s' does not take replies: disconnected", c->name);
		return -1;
	}
	return 1;
gone:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* how often ddeio looks for DMA the IOMMU blocked */
#define FAULT_POLL_MS 50
/* messages served from one client in a turn (a stream of posted writes) */
#define TURN_BUDGET 32

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int server_run(struct server *s, volatile bool *stop, int stop_fd)
{
	struct pollfd pfd[MAX_CLIENTS + 3];
	unsigned who[MAX_CLIENTS];
	uint64_t busy_until = 0, faults_at = 0;
	bool iommu = platform_iommu(s->p);

	platform_set_irq_handler(s->p, on_irq, s);
	/* a turn's posted writes go to the machine together, before ddeio sleeps */
	platform_batch_posted(s->p, s->batch);
	while (!*stop) {
		unsigned n = 0, nc = 0;
		int timeout;

		pfd[n++] = (struct pollfd){ s->listen_fd, POLLIN, 0 };
		pfd[n++] = (struct pollfd){ platform_event_fd(s->p), POLLIN, 0 };
		pfd[n++] = (struct pollfd){ stop_fd, POLLIN, 0 };
		for (unsigned k = 0; k < MAX_CLIENTS; k++) {
			unsigned i = (s->next + k) % MAX_CLIENTS;

			if (s->client[i]) {
				who[nc++] = i;
				pfd[n++] = (struct pollfd){ s->client[i]->fd, POLLIN, 0 };
			}
		}
		s->next = (s->next + 1) % MAX_CLIENTS;
		/* Spin briefly after work: the next request usually follows at once. */
		timeout = now_ns() < busy_until ? 0 : iommu ? FAULT_POLL_MS : -1;
		if (platform_flush(s->p) == -EPIPE) {
			log_error("the machine (QEMU) has gone away");
			return -1;
		}
		if (poll(pfd, n, timeout) < 0)
			continue;
		if (pfd[2].revents)
			break;
		if (pfd[1].revents && platform_poll_events(s->p) == -EPIPE) {
			log_error("the machine (QEMU) has gone away");
			return -1;
		}
		if (pfd[0].revents)
			accept_clients(s);
		bool worked = false;

		for (unsigned k = 0; k < nc; k++) {
			if (!pfd[3 + k].revents)
				continue;
			worked = true;
			for (unsigned turn = 0; turn < (s->batch ? TURN_BUDGET : 1); turn++) {
				int h = handle(s, who[k]);

				if (h < 0)
					drop_client(s, who[k]);
				if (h <= 0)
					break;
			}
		}
		if (worked)
			busy_until = now_ns() + s->spin_ns;
		if (iommu && now_ns() >= faults_at) {
			/* the IOMMU's fault event is an MSI, which cannot reach us: look */
			check_faults(s);
			for (unsigned i = 0; i < MAX_CLIENTS; i++)
				if (s->client[i] && s->client[i]->dma_fault)
					drop_client(s, i);
			faults_at = now_ns() + FAULT_POLL_MS * 1000000ull;
		}
	}
	return 0;
}
