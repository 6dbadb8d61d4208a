/*
 * bddf — the block device driver framework's server.
 *
 * Disk driver processes attach here and announce their disks; bddf names
 * them across drivers (sda, sdb ...; nvme0n1, nvme1n1 ...), reads their
 * partition tables and lists disks and partitions. Clients (libddeblk)
 * open one disk or partition by name; each of their requests is checked
 * (alignment, length, bounds of what they opened, read-only), split to the
 * driver's limits, given a slot in the driver's channel (at most `depth`
 * per driver: the queue depth) and copied across. A flush waits until the
 * client's earlier requests have completed, then goes to the driver. A
 * client that breaks the protocol is dropped; one that goes away
 * mid-request has its requests finished and forgotten; a driver that dies
 * fails its requests in flight (-ENODEV), and its disks stay listed, gone
 * -- unless `dde run` started it: then dde restarts it, and its requests
 * wait (clients see a delay) and are sent again to the new process, which
 * takes its disks on under their names; only a request its driver died on
 * four times (sent again to three restarts) fails (-EIO), and only when dde
 * gives up on the driver do its disks go. A driver that holds a request
 * longer than --hang-ms, or hangs in its start, is reported to dde, which
 * kills it (and so restarts it).
 * Only peers the access policy admits get in (common/access.h), and a
 * driver attaches only on the connection `dde run` opened for it on the
 * control channel (unless bddf runs by hand or with --open-drivers).
 *
 *   bddf --socket PATH [--depth N] [--client-depth N] [--expect NAME@SLOT]...
 *        [--control-fd N [--open-drivers]] [--allow-user U]... [--allow-group G]...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/access.h"
#include "../common/logline.h"
#include "../common/clock.h"

#include "../libddeblk/chan.h"
#include "../common/seqpacket.h"
#include "server.h"

struct bddf_server srv;

void bddf_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("bddf", fmt, ap);
	va_end(ap);
}

static void watch(int fd, struct handle *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

	epoll_ctl(srv.ep, EPOLL_CTL_ADD, fd, &ev);
}

static void msg_init(struct ddeblk_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDEBLK_MAGIC;
	m->version = DDEBLK_VERSION;
	m->type = (uint16_t)type;
}

static void send_msg(int sock, const struct ddeblk_msg *m, const int *fds, int nfds)
{
	seqpacket_send(sock, m, sizeof(*m), fds, nfds);	/* never waits for a peer */
}

/*
 * A channel for a peer: memory and two doorbells; sends WELCOME with them.
 * @ext: the slots are the driver's memory there (@max_io each), not ours.
 */
static int make_channel(int sock, struct ddeblk_chan *c, unsigned depth, unsigned max_io,
			void *ext, struct ddeblk_msg *welcome)
{
	int fds[3] = { -1, -1, -1 }, r;

	fds[0] = memfd_create("dde-blk", MFD_CLOEXEC);
	fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);	/* bddf's bell */
	fds[2] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);	/* the peer's */
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
		r = -errno;
		goto fail;
	}
	r = ddeblk_chan_map(c, fds[0], depth, max_io, 1, ext);
	if (r)
		goto fail;
	c->my_bell = fds[1];
	c->peer_bell = fds[2];
	welcome->depth = depth;
	welcome->max_io = max_io;
	send_msg(sock, welcome, fds, 3);
	close(fds[0]);
	return 0;
fail:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

static void refuse(int sock, int err, const char *why)
{
	struct ddeblk_msg m;

	msg_init(&m, DDEBLK_MSG_WELCOME);
	m.value = err;
	snprintf(m.error, sizeof(m.error), "%s", why);
	send_msg(sock, &m, NULL, 0);
}

/* ---- connections ---- */

static struct disk *find(const char *name, const struct ddeblk_entry **e)
{
	for (int i = 0; i < srv.ndisks; i++) {
		struct disk *dk = srv.disk[i];

		if (!strcmp(dk->e.name, name)) {
			*e = &dk->e;
			return dk;
		}
		for (int k = 0; k < dk->t.n; k++)
			if (!strcmp(dk->t.part[k].name, name)) {
				*e = &dk->t.part[k];
				return dk;
			}
	}
	return NULL;
}

/* a disk's or partition's entry as clients see it: a partition has its disk's abilities */
static struct ddeblk_entry seen(const struct disk *dk, const struct ddeblk_entry *e)
{
	struct ddeblk_entry v = *e;

	v.flags |= dk->e.flags & (DISK_FLAGS | DDEBLK_DISK_GONE);
	return v;
}

static void list(int sock)
{
	struct ddeblk_msg m;

	for (int i = 0; i < srv.ndisks; i++) {
		struct disk *dk = srv.disk[i];

		msg_init(&m, DDEBLK_MSG_LIST);
		m.entry = dk->e;
		send_msg(sock, &m, NULL, 0);
		for (int k = 0; k < dk->t.n; k++) {
			msg_init(&m, DDEBLK_MSG_LIST);
			m.entry = seen(dk, &dk->t.part[k]);
			send_msg(sock, &m, NULL, 0);
		}
	}
	msg_init(&m, DDEBLK_MSG_LIST_END);
	send_msg(sock, &m, NULL, 0);
}

static void client_free(struct client *cl)
{
	struct disk *dk = cl->disk;

	cl->disk = NULL;
	if (dk && dk->orphan)	/* the last client of a disk gone and replaced */
		disk_release(dk);
	for (struct client **pp = &srv.clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	ddeblk_chan_unmap(&cl->c);
	free(cl);
}

static void client_close(struct client *cl)
{
	if (cl->sock >= 0) {
		close(cl->sock);	/* also leaves the epoll set */
		cl->sock = -1;
	}
	if (cl->c.my_bell >= 0) {
		close(cl->c.my_bell);
		close(cl->c.peer_bell);
		cl->c.my_bell = cl->c.peer_bell = -1;
	}
	cl->dead = 1;
	/* its requests in flight complete into the void; then it goes */
	if (!cl->inflight)
		client_free(cl);
}

static void hello_client(struct client *cl, struct ddeblk_msg *m)
{
	const struct ddeblk_entry *e;
	struct disk *dk;
	unsigned depth;
	char why[160];

	m->name[DDEBLK_NAME_MAX - 1] = 0;
	dk = find(m->name, &e);
	if (!dk) {
		snprintf(why, sizeof(why), "no disk or partition '%s'", m->name);
		refuse(cl->sock, -ENOENT, why);
		return;
	}
	if (dk->e.flags & DDEBLK_DISK_GONE) {	/* listed as gone until a new disk takes its name */
		snprintf(why, sizeof(why), "No such device: %s is gone (driver %s)", m->name,
			 dk->drv->name);
		refuse(cl->sock, -ENODEV, why);
		return;
	}
	if (e->flags & DDEBLK_DISK_EXTENDED) {
		snprintf(why, sizeof(why), "%s is an extended partition (a container of others)", m->name);
		refuse(cl->sock, -EISDIR, why);
		return;
	}
	depth = m->depth ? m->depth : srv.client_depth;
	if (depth > 256)
		depth = 256;
	cl->disk = dk;
	cl->e = seen(dk, e);
	cl->rdonly = !!(m->flags & DDEBLK_OPEN_RDONLY);
	msg_init(m, DDEBLK_MSG_WELCOME);
	m->entry = cl->e;
	if (make_channel(cl->sock, &cl->c, depth, MAX_IO, NULL, m)) {
		refuse(cl->sock, -ENOMEM, "no memory for the channel");
		return;
	}
	cl->h_bell = (struct handle){ K_BELL, cl };
	watch(cl->c.my_bell, &cl->h_bell);
	cl->role = DDEBLK_ROLE_CLIENT;
}

/*
 * The driver's own memory for its channel's slots (HELLO with an fd): so
 * that its device reads and writes them and the driver copies nothing.
 * Mapped only if a driver cannot take it away under us (sealed against
 * shrinking: a truncated mapping would kill bddf at its next copy) and it
 * holds the slots it says. NULL (and why) if not.
 */
static void *driver_memory(const struct ddeblk_msg *m, int fd, unsigned *depth,
			   const char **why)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);
	uint64_t bytes;
	void *p;

	*depth = m->depth < srv.depth ? m->depth : srv.depth;
	bytes = (uint64_t)*depth * m->max_io;
	*why = "its slots are not whole pages of at most 1 MiB";
	if (!*depth || m->max_io < 4096 || m->max_io > MAX_IO || m->max_io % 4096 ||
	    m->data_off % 4096)
		return NULL;
	*why = "its memory is no sealed memfd";
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || seals < 0 || !(seals & F_SEAL_SHRINK))
		return NULL;
	*why = "its memory is smaller than the slots it gives";
	if (m->data_off > (uint64_t)st.st_size || bytes > (uint64_t)st.st_size - m->data_off)
		return NULL;
	*why = "cannot map its memory";
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m->data_off);
	return p == MAP_FAILED ? NULL : p;
}

/* @dr: new, or the struct of a driver restarted (@revived) */
static void hello_driver(struct driver *dr, struct ddeblk_msg *m, int fd, int revived)
{
	unsigned i, depth = srv.depth, max_io = MAX_IO;
	const char *why = "";
	void *ext = NULL;

	for (i = 0; i < sizeof(srv.drivers) / sizeof(srv.drivers[0]) && srv.drivers[i] &&
	     srv.drivers[i] != dr; i++)
		;
	if (i == sizeof(srv.drivers) / sizeof(srv.drivers[0])) {
		/* full: given-up drivers nobody needs make room */
		for (i = 0; i < sizeof(srv.drivers) / sizeof(srv.drivers[0]); i++)
			if (reap_driver(srv.drivers[i]))
				break;
	}
	if (i == sizeof(srv.drivers) / sizeof(srv.drivers[0])) {
		refuse(dr->sock, -EMFILE, "too many drivers");
		return;
	}
	snprintf(dr->name, sizeof(dr->name), "%.*s", (int)sizeof(m->name) - 1, m->name);
	free(dr->slot);	/* a restarted driver's channel is new */
	dr->slot = NULL;
	if (fd >= 0) {
		ext = driver_memory(m, fd, &depth, &why);
		if (ext) {
			max_io = m->max_io;
		} else {	/* not taken: the slots are ours, as for a driver that gives none */
			depth = srv.depth;
			bddf_log("driver %s: its memory is not taken for the slots (%s): they are "
				 "bddf's, the driver copies", dr->name, why);
		}
	}
	dr->slot = calloc(depth, sizeof(*dr->slot));
	msg_init(m, DDEBLK_MSG_WELCOME);
	m->flags = ext ? DDEBLK_SLOTS_TAKEN : 0;
	if (!dr->slot || make_channel(dr->sock, &dr->c, depth, max_io, ext, m)) {
		if (ext)
			munmap(ext, (uint64_t)depth * max_io);
		refuse(dr->sock, -ENOMEM, "no memory for the channel");
		return;
	}
	dr->h_bell = (struct handle){ K_BELL, dr };
	watch(dr->c.my_bell, &dr->h_bell);
	dr->role = DDEBLK_ROLE_DRIVER;
	dr->gone = 0;
	dr->inflight = 0;
	dr->hung_told = 0;
	srv.drivers[i] = dr;
	dr->channel_ms = 0;
	if (revived) {
		dr->restarts++;
		dr->back_ms = mono_ms();
	}
	bddf_log("driver %s %s (queue depth %u, %u KiB slots%s)", dr->name,
		 revived ? "is back" : "attached", depth,
		 max_io >> 10, ext ? " in its own DMA memory: zero-copy" : "");
}

static struct driver *find_driver(const char *name)
{
	for (unsigned i = 0; i < sizeof(srv.drivers) / sizeof(srv.drivers[0]); i++)
		if (srv.drivers[i] && !srv.drivers[i]->given_up &&
		    !strncmp(srv.drivers[i]->name, name, DDEBLK_NAME_MAX - 1))
			return srv.drivers[i];
	return NULL;
}

static struct client *new_connection(int s);

/* A new connection: a struct client until HELLO says what it is. */
static void accept_one(void)
{
	int s = accept4(srv.listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct client *cl;

	if (s < 0)
		return;
	cl = new_connection(s);
	/* refused: told why at its hello, then dropped */
	if (cl && access_check(&srv.access, s, cl->refused, sizeof(cl->refused)))
		bddf_log("refused a connection: %s", cl->refused);
}

/* dde on its control channel: a connection for one of its drivers, or a driver given up */
static void on_control(void)
{
	struct ddeblk_msg m;
	int fds[3], nfds;
	long r = seqpacket_recv(srv.control, &m, sizeof(m), fds, &nfds, MSG_DONTWAIT);
	struct client *cl;
	struct driver *dr;

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		epoll_ctl(srv.ep, EPOLL_CTL_DEL, srv.control, NULL);	/* dde is gone */
		close(srv.control);
		srv.control = -1;
		return;
	}
	m.name[DDEBLK_NAME_MAX - 1] = 0;
	if (r == sizeof(m) && m.magic == DDEBLK_MAGIC && m.type == DDEBLK_MSG_GIVE_UP && !nfds) {
		dr = find_driver(m.name);
		if (dr && !dr->given_up) {
			if (!dr->gone)	/* it is dead; its hangup is not read yet */
				driver_gone(dr);
			driver_given_up(dr);
		}
		return;
	}
	if (r != sizeof(m) || m.magic != DDEBLK_MAGIC || m.type != DDEBLK_MSG_CHANNEL || nfds != 1) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		bddf_log("malformed message on the control channel: ignored");
		return;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	cl = new_connection(fds[0]);
	if (cl)
		snprintf(cl->driver, sizeof(cl->driver), "%s", m.name);
	dr = find_driver(m.name);
	if (dr && dr->gone) {	/* its successor is starting: it should attach soon */
		dr->channel_ms = mono_ms();
		dr->hung_told = 0;
	}
}

static struct client *new_connection(int s)
{
	struct client *cl = calloc(1, sizeof(*cl));

	if (!cl) {
		close(s);
		return NULL;
	}
	cl->sock = s;
	cl->c.my_bell = cl->c.peer_bell = -1;
	cl->h_sock = (struct handle){ K_SOCK, cl };
	cl->next = srv.clients;
	srv.clients = cl;
	watch(s, &cl->h_sock);
	return cl;
}

static void on_driver_msg(struct driver *dr)
{
	struct ddeblk_msg m;
	ssize_t r = recv(dr->sock, &m, sizeof(m), MSG_DONTWAIT);

	if (r < 0 && errno == EAGAIN)
		return;
	if (r != sizeof(m) || m.magic != DDEBLK_MAGIC || m.version != DDEBLK_VERSION) {
		if (r != 0)
			bddf_log("driver %s sent a malformed message: dropped", dr->name);
		driver_gone(dr);
		return;
	}
	m.entry.name[DDEBLK_NAME_MAX - 1] = 0;
	if (m.type == DDEBLK_MSG_DISK)
		disk_added(dr, &m);
	else if (m.type == DDEBLK_MSG_DISK_GONE && m.index < DRIVER_DISKS)
		disk_gone(dr->disk[m.index]);
}

/*
 * A message on a connection that is not yet a driver (@r: its length, or
 * -errno); @mem: the descriptor a driver's HELLO brought (its memory), or -1.
 */
static void on_hello(struct client *cl, struct ddeblk_msg *m_, long r, int mem)
{
	struct ddeblk_msg m = *m_;

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r != sizeof(m) || m.magic != DDEBLK_MAGIC || m.version != DDEBLK_VERSION ||
	    cl->role || m.type != DDEBLK_MSG_HELLO) {
		if (r > 0)
			bddf_log("a client sent a malformed message: dropped");
		client_close(cl);
		return;
	}
	if (cl->refused[0]) {
		refuse(cl->sock, -EACCES, cl->refused);
		client_close(cl);
		return;
	}
	if (m.value == DDEBLK_ROLE_DRIVER && !cl->driver[0] && !srv.open_drivers) {
		char why[128];

		m.name[DDEBLK_NAME_MAX - 1] = 0;
		snprintf(why, sizeof(why), "'%s': drivers attach only on the connection "
			 "`dde run` opens for them", m.name);
		bddf_log("refused a driver: %s", why);
		refuse(cl->sock, -EACCES, why);
		client_close(cl);
		return;
	}
	if (cl->driver[0] && m.value != DDEBLK_ROLE_DRIVER) {
		/* a driver's connection serves disks; it opens none */
		bddf_log("driver %s asked to be a client on its connection: dropped", cl->driver);
		refuse(cl->sock, -EACCES, "a driver's connection only attaches the driver");
		client_close(cl);
		return;
	}
	if (cl->driver[0])	/* it is who dde says it is */
		memcpy(m.name, cl->driver, sizeof(m.name));
	if (m.value == DDEBLK_ROLE_TOOL) {
		list(cl->sock);
		return;
	}
	if (m.value == DDEBLK_ROLE_CLIENT) {
		hello_client(cl, &m);
		return;
	}
	if (m.value == DDEBLK_ROLE_DRIVER) {
		struct driver *dr = cl->driver[0] ? find_driver(m.name) : NULL;
		struct epoll_event ev;
		int revived = 0, supervised = !!cl->driver[0];

		/* restarted by dde: its last process is dead (its hangup may not
		 * have been read yet); the new one takes its disks and requests on */
		if (dr && !dr->gone && seqpacket_hung_up(dr->sock))
			driver_gone(dr);
		if (dr && dr->gone && dr->supervised && !dr->given_up) {
			revived = 1;
		} else if (dr && !dr->gone) {
			bddf_log("refused a driver: %s is attached already", dr->name);
			refuse(cl->sock, -EEXIST, "a driver of this name is attached already");
			client_close(cl);
			return;
		} else {
			dr = calloc(1, sizeof(*dr));
			if (dr)
				dr->replay_tail = &dr->replay;
		}
		if (!dr) {
			client_close(cl);
			return;
		}
		/* the connection becomes a driver's */
		dr->sock = cl->sock;
		dr->h_sock = (struct handle){ K_SOCK, dr };
		cl->sock = -1;
		client_close(cl);
		ev.events = EPOLLIN;
		ev.data.ptr = &dr->h_sock;
		epoll_ctl(srv.ep, EPOLL_CTL_MOD, dr->sock, &ev);
		dr->role = 0;
		dr->supervised = supervised && srv.control >= 0;
		hello_driver(dr, &m, mem, revived);
		if (dr->role != DDEBLK_ROLE_DRIVER && revived) {
			close(dr->sock);	/* the next restart may do better */
			dr->sock = -1;
		} else if (dr->role != DDEBLK_ROLE_DRIVER) {
			close(dr->sock);
			free(dr->slot);
			free(dr);
		}
		return;
	}
	client_close(cl);
}

static void on_sock(struct client *cl)
{
	struct ddeblk_msg m;
	int fds[3], nfds = 0;
	long r = seqpacket_recv(cl->sock, &m, sizeof(m), fds, &nfds, MSG_DONTWAIT);
	int mem = -1;

	/* only a driver's HELLO carries a descriptor (its memory), one */
	if (nfds == 1 && r == sizeof(m) && m.value == DDEBLK_ROLE_DRIVER)
		mem = fds[0];
	else if (nfds)
		r = -EPROTO;
	if (mem < 0)
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	on_hello(cl, &m, r, mem);
	if (mem >= 0)
		close(mem);	/* mapped, or refused */
}

void report_hung(struct driver *dr, long long ms, const char *why)
{
	struct ddeblk_msg m;

	if (dr->hung_told || !dr->supervised || srv.control < 0)
		return;
	msg_init(&m, DDEBLK_MSG_HUNG);
	snprintf(m.name, sizeof(m.name), "%.*s", (int)sizeof(m.name) - 1, dr->name);
	m.value = (int32_t)ms;
	m.depth = dr->inflight;
	snprintf(m.error, sizeof(m.error), "%s", why);
	bddf_log("driver %s hangs: %s: dde is told", dr->name, why);
	send_msg(srv.control, &m, NULL, 0);
	dr->hung_told = 1;
}

/* Drivers holding a request longer than --hang-ms: dde is told (it kills and restarts them). */
static void check_hangs(void)
{
	long long now = mono_ms();

	for (unsigned i = 0; i < sizeof(srv.drivers) / sizeof(srv.drivers[0]); i++) {
		struct driver *dr = srv.drivers[i];
		long long oldest = now;
		char why[128];
		int down = 0, up = 0;

		if (!dr || !dr->supervised || dr->given_up || srv.control < 0)
			continue;
		/* restarted, and not attached within six hang timeouts: hung in its start */
		if (dr->gone && dr->channel_ms && now - dr->channel_ms >= 6ll * srv.hang_ms) {
			snprintf(why, sizeof(why), "restarted %lld ms ago, it has not attached",
				 now - dr->channel_ms);
			report_hung(dr, now - dr->channel_ms, why);
		}
		if (dr->gone)
			continue;
		/* attached again and six hang timeouts on: a disk it announced
		 * none of hangs in its probe; a disk it left out it has no more */
		for (int k = 0; k < DRIVER_DISKS; k++) {
			down += dr->disk[k] && dr->disk[k]->down;
			up += dr->disk[k] && !dr->disk[k]->down;
		}
		if (down && now - dr->back_ms >= 6ll * srv.hang_ms) {
			for (int k = 0; k < DRIVER_DISKS && up; k++)
				if (dr->disk[k] && dr->disk[k]->down)
					disk_not_back(dr->disk[k]);
			if (!up) {
				snprintf(why, sizeof(why), "restarted and attached %lld ms ago, it "
					 "announced none of its disks", now - dr->back_ms);
				report_hung(dr, now - dr->back_ms, why);
			}
		}
		if (!dr->inflight || dr->hung_told)
			continue;
		for (unsigned s = 0; s < dr->c.depth; s++)
			if (dr->slot[s].used && dr->slot[s].since < oldest)
				oldest = dr->slot[s].since;
		if (now - oldest < srv.hang_ms)
			continue;
		snprintf(why, sizeof(why), "a request of its %u in flight is not done after %lld ms "
			 "(--hang-ms %u)", dr->inflight, now - oldest, srv.hang_ms);
		report_hung(dr, now - oldest, why);
	}
}

static int is_driver(void *obj)
{
	for (unsigned i = 0; i < sizeof(srv.drivers) / sizeof(srv.drivers[0]); i++)
		if (srv.drivers[i] == obj)
			return 1;
	return 0;
}

static int number(const char *opt, const char *s, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || !v || v > max) {
		fprintf(stderr, "bddf: %s '%s': a number from 1 to %u\n", opt, s, max);
		exit(2);
	}
	return (int)v;
}

static int fault(const char *arg)
{
	const char *colon = strrchr(arg, ':'), *eq = strchr(arg, '=');
	int n = srv.ndrop, kill = !strncmp(arg, "kill-at=", 8);
	char *end;

	if (n == (int)(sizeof(srv.drop) / sizeof(srv.drop[0]))) {
		fprintf(stderr, "bddf: too many --fault options\n");
		return -1;
	}
	if ((strncmp(arg, "drop-write=", 11) && !kill) || !colon || colon < eq + 2 ||
	    colon - (eq + 1) >= DDEBLK_NAME_MAX || !colon[1]) {
		fprintf(stderr, "bddf: --fault '%s': drop-write=DISK:SECTOR or kill-at=DISK:SECTOR\n",
			arg);
		return -1;
	}
	srv.drop[n].sector = strtoull(colon + 1, &end, 10);
	if (*end) {
		fprintf(stderr, "bddf: --fault '%s': SECTOR is a number\n", arg);
		return -1;
	}
	snprintf(srv.drop[n].disk, sizeof(srv.drop[n].disk), "%.*s", (int)(colon - (eq + 1)), eq + 1);
	srv.drop[n].kill = kill;
	srv.ndrop++;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' },
		{ "depth", required_argument, 0, 'd' },
		{ "client-depth", required_argument, 0, 'c' },
		{ "expect", required_argument, 0, 'e' },
		{ "fault", required_argument, 0, 'f' },
		{ "hang-ms", required_argument, 0, 'H' },
		{ "control-fd", required_argument, 0, 'C' },
		{ "open-drivers", no_argument, 0, 'O' },
		{ "allow-user", required_argument, 0, 'u' },
		{ "allow-group", required_argument, 0, 'g' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *path = NULL;
	char err[200];
	int opt;

	access_init(&srv.access);
	srv.control = -1;
	srv.depth = 32;
	srv.client_depth = 32;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 's')
			path = optarg;
		else if (opt == 'd')
			srv.depth = (unsigned)number("--depth", optarg, 1024);
		else if (opt == 'c')
			srv.client_depth = (unsigned)number("--client-depth", optarg, 256);
		else if (opt == 'e' && srv.nexpect < 64) {
			srv.expect[srv.nexpect++] = optarg;
			srv.nvme_expected += !strncmp(source_name(optarg), "nvme", 4);
			srv.vd_expected += !strncmp(source_name(optarg), "virtio_blk@", 11);
		}
		else if (opt == 'H')
			srv.hang_ms = (unsigned)number("--hang-ms", optarg, 3600000);
		else if (opt == 'f') {
			if (fault(optarg))
				return 2;
		} else if (opt == 'C') {
			srv.control = number("--control-fd", optarg, 65535);
		} else if (opt == 'O') {
			srv.open_drivers = 1;
		} else if (opt == 'u' || opt == 'g') {
			if (access_allow(&srv.access, opt == 'g', optarg, err, sizeof(err))) {
				fprintf(stderr, "bddf: %s\n", err);
				return 2;
			}
		} else {
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: bddf --socket PATH [--depth N] [--client-depth N] [--expect DRIVER]...\n"
				"            [--fault drop-write|kill-at=DISK:SECTOR]... [--hang-ms MS]\n"
				"            [--control-fd N [--open-drivers]]\n"
				"            [--allow-user U]... [--allow-group G]...\n"
				"  the block server: drivers attach their disks, clients open disks and\n"
				"  partitions by name (libddeblk). --depth: requests in flight per driver\n"
				"  (default 32); --client-depth: per client unless it asks (default 32);\n"
				"  --expect NAME@SLOT: the disk drivers to come, in the order whose\n"
				"  NVMe controllers get numbers 0, 1, ...; --fault drop-write: writes\n"
				"  covering DISK's SECTOR are acknowledged but not done (to test what\n"
				"  verifies writes); --fault kill-at: a read covering it has its driver\n"
				"  reported hung at once, so dde kills it (a request that kills its\n"
				"  driver each time: it fails after three restarts); --control-fd: dde's channel, on which it opens each\n"
				"  driver's connection (drivers may attach only there unless\n"
				"  --open-drivers): such a driver that dies is restarted by dde, and\n"
				"  its requests wait and are sent again to the new process;\n"
				"  --hang-ms: such a driver holding a request for MS is reported\n"
				"  to dde as hung (default 0: never);\n"
				"  --allow-user/--allow-group: who may connect besides bddf's own\n"
				"  user and root\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!path) {
		fprintf(stderr, "bddf: --socket PATH is required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	srv.listen = seqpacket_listen(path, 1);
	if (srv.listen < 0) {
		fprintf(stderr, "bddf: cannot listen on %s: %s\n", path, strerror(errno));
		return 1;
	}
	srv.ep = epoll_create1(EPOLL_CLOEXEC);
	srv.h_listen = (struct handle){ K_LISTEN, NULL };
	watch(srv.listen, &srv.h_listen);
	if (srv.control < 0) {
		srv.open_drivers = 1;	/* by hand: drivers attach over the socket */
	} else {
		fcntl(srv.control, F_SETFD, FD_CLOEXEC);
		fcntl(srv.control, F_SETFL, O_NONBLOCK);
		srv.h_control = (struct handle){ K_CONTROL, NULL };
		watch(srv.control, &srv.h_control);
	}
	for (;;) {
		struct epoll_event ev[32];
		int n = epoll_wait(srv.ep, ev, 32, srv.hang_ms ? 250 : -1);

		for (int i = 0; i < n; i++) {
			struct handle *h = ev[i].data.ptr;

			if (h->kind == K_LISTEN) {
				accept_one();
			} else if (h->kind == K_CONTROL) {
				on_control();
			} else if (is_driver(h->obj)) {
				struct driver *dr = h->obj;

				if (dr->gone)
					continue;
				if (h->kind == K_SOCK)
					on_driver_msg(dr);
				else {
					bell_clear(dr->c.my_bell);
					driver_completions(dr);
				}
			} else {
				struct client *cl = h->obj;

				if (h->kind == K_SOCK)
					on_sock(cl);
				else
					bell_clear(cl->c.my_bell);
			}
		}
		/* clients gone and done */
		for (struct client *c = srv.clients, *next; c; c = next) {
			next = c->next;
			if (c->dead && c->sock >= 0)
				client_close(c);
			else if (c->dead && !c->inflight)
				client_free(c);
		}
		serve_clients();
		kick_drivers();
		ring_clients();
		if (srv.hang_ms)
			check_hangs();
	}
}
