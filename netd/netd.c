/*
 * netd — the network class server.
 *
 * Network driver processes attach their interface here; clients (the
 * packet API, libddenet) open interfaces by name. Every frame a driver
 * receives goes to every client of its interface, to the interface's TAP
 * device and pcap file; frames from clients and the TAP device are
 * serialized, round robin, onto the driver's transmit ring. netd never
 * waits for a client: a client whose ring is full loses frames (counted in
 * its ring and the interface's), a client that breaks its ring or the
 * protocol is dropped, and a driver that dies makes its interface go away
 * for all its clients. netd counts each interface's frames and losses, and
 * keeps the driver's last report of its own; a QUERY peer (`dde net`,
 * ddenet_stats) gets both for every interface.
 * Only peers the access policy admits get in (common/access.h), and a
 * driver attaches only on the connection `dde run` opened for it on the
 * control channel, as the interface dde named (unless netd runs by hand or
 * with --open-drivers).
 *
 * A driver dde supervises (attached on such a connection) that dies, or
 * breaks its ring or the protocol, does not take its interface along: the
 * interface stays with its name, address, clients, TAP device and pcap
 * file, its link down, and what is sent to it meanwhile is dropped
 * (counted) until the driver dde restarts attaches to it again. When dde
 * gives the driver up (GIVE_UP on the control channel), the interface goes.
 * With --hang-ms N netd tells dde (HUNG) of a supervised driver that took
 * none of the frames queued to it for N ms; dde kills and restarts it.
 *
 *   netd --socket PATH [--tap IF=NAME]... [--pcap IF=FILE]...
 *        [--control-fd N [--open-drivers] [--hang-ms N]]
 *        [--allow-user U]... [--allow-group G]...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../common/access.h"
#include "../libddenet/ring.h"
#include "netd.h"
#include "../common/seqpacket.h"
#include "../common/clock.h"

enum kind { K_LISTEN, K_SOCK, K_BELL, K_TAP, K_CONTROL };

struct handle {
	enum kind kind;
	void *obj;
};

struct iface;

struct port {
	struct handle h_sock, h_bell;
	int sock, bell, peer_bell, role;	/* role 0: hello pending */
	struct ddenet_shm *shm;
	struct ddenet_q in, out;	/* in: the peer's up ring; out: its down ring */
	struct iface *ifc;
	char refused[104];		/* the access check said no: why */
	char driver_if[DDENET_NAME];	/* opened by dde for the driver of this interface */
	uint32_t hang_tail;		/* a driver: its transmit ring's tail at the last look */
	long long hang_since;		/* ... since when frames wait there, none taken (0: none) */
	int hung;			/* ... HUNG sent: not again until it takes one */
	struct port *next;		/* all ports */
};

struct iface {
	char name[DDENET_NAME];
	uint8_t mac[6];
	unsigned mtu;
	int link;
	struct port *driver;
	struct tap *tap;
	struct handle h_tap;
	struct pcap *pcap;
	uint8_t tap_frame[DDENET_SLOT];	/* read from the TAP, not yet queued */
	int tap_len;
	/* netd's counters (struct ddenet_counters): frames from the driver, to
	 * the driver, copies a client's full ring lost, frames refused for size */
	unsigned long long rx, tx, client_full, refused;
	struct ddenet_counters driver_report;	/* the driver's last, its fields only */
	long long driver_report_ms;		/* when (monotonic); 0: none yet */
	unsigned restarts;			/* drivers dde restarted that attached to it */
	unsigned long long no_driver;		/* frames to send dropped while it had none */
	struct iface *next;
};

static struct {
	int ep, control;
	struct access_policy access;
	int open_drivers;		/* drivers may attach over the socket */
	int hang_ms;			/* a supervised driver that takes no frame this long hangs */
	struct handle h_listen, h_control;
	struct port *ports;
	struct iface *ifaces;
	struct netd_export *exports;
	int nexports;
	volatile sig_atomic_t stop;
} d;

static void watch(int fd, struct handle *h, uint32_t events, int op)
{
	struct epoll_event e = { .events = events, .data.ptr = h };

	epoll_ctl(d.ep, op, fd, &e);
}

/* A WELCOME that refuses, with the reason for the client's message. */
static void refuse(struct port *p, int err, const char *why)
{
	struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				.type = DDENET_WELCOME, .value = err };

	snprintf(m.error, sizeof(m.error), "%s", why);
	seqpacket_send(p->sock, &m, sizeof(m), NULL, 0);
}

static void ctl_send(struct port *p, int type, int value, const int *fds, int nfds)
{
	struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				.type = (uint16_t)type, .value = value };

	if (p->ifc) {
		memcpy(m.ifname, p->ifc->name, sizeof(m.ifname));
		memcpy(m.mac, p->ifc->mac, 6);
		m.mtu = (uint16_t)p->ifc->mtu;
	}
	/* never wait for a peer: a full socket buffer loses the message */
	seqpacket_send(p->sock, &m, sizeof(m), fds, nfds);
}

/* ---- ports ---- */

static void port_close(struct port *p)
{
	for (struct port **pp = &d.ports; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	close(p->sock);
	if (p->bell >= 0) {
		/* the peer may still hold it: closing ours alone leaves it watched */
		epoll_ctl(d.ep, EPOLL_CTL_DEL, p->bell, NULL);
		close(p->bell);
	}
	if (p->peer_bell >= 0)
		close(p->peer_bell);
	if (p->shm)
		munmap(p->shm, DDENET_SHM_SIZE);
	free(p);
}

static void iface_gone(struct iface *ifc, const char *why)
{
	netd_log("interface %s gone (%s): rx %llu, tx %llu, client rings full %llu, "
		 "refused %llu", ifc->name, why, ifc->rx, ifc->tx, ifc->client_full, ifc->refused);
	for (struct port *p = d.ports, *next; p; p = next) {
		next = p->next;
		if (p->ifc == ifc && p->role == DDENET_ROLE_CLIENT) {
			ctl_send(p, DDENET_GONE, 0, NULL, 0);
			port_close(p);
		}
	}
	if (ifc->tap)
		tap_close(ifc->tap);
	if (ifc->pcap)
		pcap_close(ifc->pcap);
	for (struct iface **pp = &d.ifaces; *pp; pp = &(*pp)->next)
		if (*pp == ifc) {
			*pp = ifc->next;
			break;
		}
	free(ifc);
}

/* A driver dde opened the connection of, and will restart if it dies */
static bool supervised(const struct port *p)
{
	return p->driver_if[0] && d.control >= 0 && !d.stop;
}

static void set_link(struct iface *ifc, int up);
static void pump_tx(struct iface *ifc);

static void port_drop(struct port *p, const char *why)
{
	if (p->role == DDENET_ROLE_DRIVER && p->ifc && supervised(p)) {
		netd_log("driver of %s went away (%s): the interface stays, link down, "
			 "until it is restarted", p->ifc->name, why);
		p->ifc->driver = NULL;
		set_link(p->ifc, 0);
		pump_tx(p->ifc);	/* what waits to be sent is dropped from now on */
	} else if (p->role == DDENET_ROLE_DRIVER && p->ifc) {
		netd_log("driver of %s: %s", p->ifc->name, why);
		p->ifc->driver = NULL;
		iface_gone(p->ifc, "driver detached");
	} else if (p->role) {
		netd_log("client of %s: %s", p->ifc ? p->ifc->name : "?", why);
	}
	port_close(p);
}

static int make_shm(struct port *p, int fds[3])
{
	int mfd = memfd_create("ddenet", MFD_CLOEXEC);

	if (mfd < 0 || ftruncate(mfd, DDENET_SHM_SIZE) < 0)
		goto fail;
	p->shm = mmap(NULL, DDENET_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p->shm == MAP_FAILED) {
		p->shm = NULL;
		goto fail;
	}
	*p->shm = (struct ddenet_shm){ .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				       .slots = DDENET_SLOTS, .slot_size = DDENET_SLOT };
	p->bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->peer_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->bell < 0 || p->peer_bell < 0)
		goto fail;
	ddenet_q_init(&p->in, p->shm, true, p->peer_bell);
	ddenet_q_init(&p->out, p->shm, false, p->peer_bell);
	/* sleep on both rings from the start: the peer rings after its first push */
	ddenet_q_wait_data(&p->in);
	fds[0] = mfd;
	fds[1] = p->bell;
	fds[2] = p->peer_bell;
	p->h_bell = (struct handle){ K_BELL, p };
	watch(p->bell, &p->h_bell, EPOLLIN, EPOLL_CTL_ADD);
	return 0;
fail:
	if (mfd >= 0)
		close(mfd);
	return -ENOMEM;
}

static struct iface *find_iface(const char *name)
{
	struct iface *ifc = d.ifaces;

	if (!name[0]) {	/* the first one attached */
		while (ifc && ifc->next)
			ifc = ifc->next;
		return ifc;
	}
	for (; ifc; ifc = ifc->next)
		if (!strcmp(ifc->name, name))
			return ifc;
	return NULL;
}

static const char *mac_text(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

/* The driver dde restarted: the interface, its clients and exports are still there. */
static void reattach(struct port *p, struct iface *ifc, const struct ddenet_msg *m)
{
	char was[18], now[18];
	int fds[3];

	if (make_shm(p, fds)) {
		ctl_send(p, DDENET_WELCOME, -ENOMEM, NULL, 0);
		port_drop(p, "no memory");
		return;
	}
	if (memcmp(ifc->mac, m->mac, 6)) {
		netd_log("interface %s: the restarted driver has address %s (was %s)", ifc->name,
			 mac_text(m->mac, now), mac_text(ifc->mac, was));
		memcpy(ifc->mac, m->mac, 6);
		if (ifc->tap)
			tap_address(ifc->tap, ifc->mac);
	}
	ifc->mtu = m->mtu;
	ifc->driver = p;
	ifc->driver_report_ms = 0;	/* the last report was the dead process's */
	ifc->restarts++;
	p->ifc = ifc;
	p->role = DDENET_ROLE_DRIVER;
	/* its link is down until it says otherwise */
	ctl_send(p, DDENET_WELCOME, 0, fds, 3);
	close(fds[0]);
	netd_log("interface %s: driver back (restart %u); %llu frames to send dropped while "
		 "it was away", ifc->name, ifc->restarts, ifc->no_driver);
	ifc->no_driver = 0;
}

static void attach_driver(struct port *p, const struct ddenet_msg *m)
{
	struct iface *ifc = find_iface(m->ifname);
	int fds[3];

	/* restarted by dde: the old driver is dead, its hangup maybe not read yet */
	if (m->ifname[0] && ifc && ifc->driver && p->driver_if[0] &&
	    seqpacket_hung_up(ifc->driver->sock)) {
		port_drop(ifc->driver, "disconnected");
		ifc = find_iface(m->ifname);
	}
	if (m->ifname[0] && ifc && !ifc->driver && p->driver_if[0]) {
		reattach(p, ifc, m);
		return;
	}
	if (!m->ifname[0] || ifc) {
		if (ifc && p->driver_if[0])
			netd_log("refused a driver for %s: its driver is still attached", ifc->name);
		ctl_send(p, DDENET_WELCOME, m->ifname[0] ? -EEXIST : -EINVAL, NULL, 0);
		port_drop(p, "refused");
		return;
	}
	ifc = calloc(1, sizeof(*ifc));
	if (!ifc || make_shm(p, fds)) {
		free(ifc);
		ctl_send(p, DDENET_WELCOME, -ENOMEM, NULL, 0);
		port_drop(p, "no memory");
		return;
	}
	memcpy(ifc->name, m->ifname, DDENET_NAME);
	memcpy(ifc->mac, m->mac, 6);
	ifc->mtu = m->mtu;
	ifc->driver = p;
	ifc->next = d.ifaces;
	d.ifaces = ifc;
	p->ifc = ifc;
	p->role = DDENET_ROLE_DRIVER;
	ctl_send(p, DDENET_WELCOME, 0, fds, 3);
	close(fds[0]);
	netd_log("interface %s attached: %02x:%02x:%02x:%02x:%02x:%02x, mtu %u", ifc->name,
		 ifc->mac[0], ifc->mac[1], ifc->mac[2], ifc->mac[3], ifc->mac[4], ifc->mac[5],
		 ifc->mtu);
	for (int i = 0; i < d.nexports; i++) {
		struct netd_export *x = &d.exports[i];

		if (strcmp(x->ifname, ifc->name))
			continue;
		if (x->tap && !ifc->tap && (ifc->tap = tap_open(x->tap, ifc->mac))) {
			ifc->h_tap = (struct handle){ K_TAP, ifc };
			watch(tap_fd(ifc->tap), &ifc->h_tap, EPOLLIN, EPOLL_CTL_ADD);
		}
		if (x->pcap && !ifc->pcap)
			ifc->pcap = pcap_open(x->pcap);
	}
}

static void attach_client(struct port *p, const struct ddenet_msg *m)
{
	struct iface *ifc = find_iface(m->ifname);
	int fds[3];

	if (!ifc) {
		ctl_send(p, DDENET_WELCOME, -ENOENT, NULL, 0);
		port_close(p);
		return;
	}
	p->ifc = ifc;
	if (make_shm(p, fds)) {
		ctl_send(p, DDENET_WELCOME, -ENOMEM, NULL, 0);
		port_close(p);
		return;
	}
	p->role = DDENET_ROLE_CLIENT;
	ctl_send(p, DDENET_WELCOME, ifc->link, fds, 3);
	close(fds[0]);
}

static void set_link(struct iface *ifc, int up)
{
	if (ifc->link == up)
		return;
	ifc->link = up;
	netd_log("interface %s: link %s", ifc->name, up ? "up" : "down");
	for (struct port *p = d.ports; p; p = p->next)
		if (p->ifc == ifc && p->role == DDENET_ROLE_CLIENT)
			ctl_send(p, DDENET_LINK, up, NULL, 0);
	if (ifc->tap)
		tap_carrier(ifc->tap, up);
}

/* ---- counters ---- */

/* The driver's fields of @from into @to (netd's own are netd's business) */
static void driver_fields(struct ddenet_counters *to, const struct ddenet_counters *from)
{
#define F(x) to->x = from->x
	F(rx_packets); F(rx_bytes); F(tx_packets); F(tx_bytes);
	F(rx_errors); F(rx_dropped); F(rx_missed); F(rx_fifo); F(rx_over); F(rx_crc);
	F(rx_length); F(tx_errors); F(tx_dropped); F(rx_server_full); F(tx_down);
#undef F
}

/* The driver of @ifc reported its counters */
static void driver_report(struct iface *ifc, const struct ddenet_msg *m)
{
	driver_fields(&ifc->driver_report, &m->stats);
	ifc->driver_report_ms = mono_ms();
	if (!ifc->driver_report_ms)
		ifc->driver_report_ms = 1;
}

static void counters(const struct iface *ifc, struct ddenet_counters *c)
{
	memset(c, 0, sizeof(*c));
	c->rx = ifc->rx;
	c->tx = ifc->tx;
	c->rx_client_full = ifc->client_full;
	c->tx_refused = ifc->refused;
	for (struct port *p = d.ports; p; p = p->next)
		if (p->ifc == ifc && p->role == DDENET_ROLE_CLIENT)
			c->clients++;
	if (ifc->driver_report_ms) {
		long long age = mono_ms() - ifc->driver_report_ms;

		c->driver_reported = 1;
		c->driver_age_ms = age > 0 ? (uint64_t)age : 0;
		driver_fields(c, &ifc->driver_report);
	}
}

/*
 * A QUERY peer: WELCOME, one STATS per interface, the end (ifname ""), and
 * the connection closed. Never waits: a peer whose socket is full gets a
 * listing without its end, and knows it.
 */
static void answer_query(struct port *p)
{
	struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				.type = DDENET_WELCOME };
	int r = seqpacket_send(p->sock, &m, sizeof(m), NULL, 0);

	for (struct iface *ifc = d.ifaces; ifc && !r; ifc = ifc->next) {
		m = (struct ddenet_msg){ .magic = DDENET_MAGIC, .version = DDENET_VERSION,
					 .type = DDENET_STATS, .value = ifc->link };
		memcpy(m.ifname, ifc->name, sizeof(m.ifname));
		memcpy(m.mac, ifc->mac, 6);
		m.mtu = (uint16_t)ifc->mtu;
		counters(ifc, &m.stats);
		r = seqpacket_send(p->sock, &m, sizeof(m), NULL, 0);
	}
	m = (struct ddenet_msg){ .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				 .type = DDENET_STATS };
	if (!r)
		r = seqpacket_send(p->sock, &m, sizeof(m), NULL, 0);
	if (r)
		netd_log("a counters query did not take the whole answer: cut short");
	port_close(p);
}

static void on_sock(struct port *p)
{
	struct ddenet_msg m;
	ssize_t r = recv(p->sock, &m, sizeof(m), MSG_DONTWAIT);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		port_drop(p, "disconnected");
		return;
	}
	if (r != sizeof(m) || m.magic != DDENET_MAGIC || m.version != DDENET_VERSION) {
		port_drop(p, "malformed message; disconnected");
		return;
	}
	m.ifname[DDENET_NAME - 1] = 0;
	if (!p->role && p->refused[0]) {
		refuse(p, -EACCES, p->refused);
		port_close(p);
		return;
	}
	if (!p->role && m.type == DDENET_HELLO && m.value == DDENET_ROLE_DRIVER &&
	    !p->driver_if[0] && !d.open_drivers) {
		char why[104];

		snprintf(why, sizeof(why), "'%s': drivers attach only on the connection "
			 "`dde run` opens for them", m.ifname);
		netd_log("refused a driver: %s", why);
		refuse(p, -EACCES, why);
		port_close(p);
		return;
	}
	if (!p->role && p->driver_if[0] && (m.type != DDENET_HELLO ||
					     m.value != DDENET_ROLE_DRIVER)) {
		/* a driver's connection serves its interface; it opens none */
		netd_log("the driver of %s asked to be a client on its connection: dropped",
			 p->driver_if);
		refuse(p, -EACCES, "a driver's connection only attaches the driver");
		port_close(p);
		return;
	}
	if (!p->role && p->driver_if[0])	/* the interface dde named */
		memcpy(m.ifname, p->driver_if, sizeof(m.ifname));
	if (!p->role && m.type == DDENET_HELLO && m.value == DDENET_ROLE_DRIVER)
		attach_driver(p, &m);
	else if (!p->role && m.type == DDENET_HELLO && m.value == DDENET_ROLE_CLIENT)
		attach_client(p, &m);
	else if (!p->role && m.type == DDENET_HELLO && m.value == DDENET_ROLE_QUERY)
		answer_query(p);
	else if (p->role == DDENET_ROLE_DRIVER && m.type == DDENET_LINK)
		set_link(p->ifc, m.value != 0);
	else if (p->role == DDENET_ROLE_DRIVER && m.type == DDENET_STATS)
		driver_report(p->ifc, &m);
	else
		port_drop(p, "unexpected message; disconnected");
}

/* ---- frames ---- */

#define BUDGET 256	/* frames per pass before other work gets a turn */

static int again;	/* some ring still has frames: poll without sleeping */

/* Driver -> everyone: returns false if the driver's port was dropped. */
static bool forward_rx(struct iface *ifc)
{
	struct port *drv = ifc->driver;
	uint8_t frame[DDENET_SLOT];
	int n = 0;

	if (!drv)	/* away: nothing comes */
		return true;
	for (;;) {
		int len = ddenet_q_pop(&drv->in, frame, sizeof(frame));

		if (len == -EAGAIN) {
			if (ddenet_q_wait_data(&drv->in))
				continue;
			break;
		}
		if (len < 0) {
			port_drop(drv, "broke its ring; disconnected");
			return false;
		}
		ifc->rx++;
		for (struct port *p = d.ports; p; p = p->next)
			if (p->ifc == ifc && p->role == DDENET_ROLE_CLIENT &&
			    ddenet_q_push(&p->out, frame, (uint32_t)len)) {
				atomic_fetch_add(&p->shm->down.dropped, 1);
				ifc->client_full++;
			}
		if (ifc->tap)
			tap_write(ifc->tap, frame, len);
		if (ifc->pcap)
			pcap_write(ifc->pcap, frame, len);
		if (++n == BUDGET) {
			again = 1;
			break;
		}
	}
	ddenet_q_wake_producer(&drv->in);
	for (struct port *p = d.ports; p; p = p->next)
		if (p->ifc == ifc && p->role == DDENET_ROLE_CLIENT)
			ddenet_q_wake_consumer(&p->out);
	return true;
}

/* One frame into the driver's transmit ring (which has room). */
static void to_driver(struct iface *ifc, const uint8_t *frame, int len)
{
	if (len < 14 || len > (int)ifc->mtu + 18) {
		ifc->refused++;
		return;
	}
	ddenet_q_push(&ifc->driver->out, frame, (uint32_t)len);
	ifc->tx++;
	if (ifc->pcap)
		pcap_write(ifc->pcap, frame, len);
}

static bool driver_has_room(struct iface *ifc)
{
	struct ddenet_ring *r = ifc->driver->out.r;
	uint32_t used = atomic_load(&r->head) - atomic_load(&r->tail);

	return used < DDENET_SLOTS || ddenet_q_wait_space(&ifc->driver->out);
}

/* No driver: what clients and the TAP send is dropped, counted. */
static void drop_tx(struct iface *ifc)
{
	uint8_t frame[DDENET_SLOT];
	int n = 0;

	for (struct port *p = d.ports, *next; p; p = next) {
		int len = 0;

		next = p->next;
		if (p->ifc != ifc || p->role != DDENET_ROLE_CLIENT)
			continue;
		while (n < BUDGET && (len = ddenet_q_pop(&p->in, frame, sizeof(frame))) >= 0) {
			ifc->no_driver++;
			n++;
		}
		if (len < 0 && len != -EAGAIN) {
			port_drop(p, "broke its ring; disconnected");
			continue;
		}
		ddenet_q_wake_producer(&p->in);
		if (n == BUDGET || ddenet_q_wait_data(&p->in))
			again = 1;
	}
	if (!ifc->tap)
		return;
	if (ifc->tap_len) {
		ifc->no_driver++;
		ifc->tap_len = 0;
	}
	for (; n < BUDGET && tap_read(ifc->tap, frame, sizeof(frame)) > 0; n++)
		ifc->no_driver++;
	/* the TAP is read (and its frames dropped) as they come: it never fills */
	watch(tap_fd(ifc->tap), &ifc->h_tap, EPOLLIN, EPOLL_CTL_MOD);
}

/* Clients and the TAP -> the driver, one frame each per round. */
static void pump_tx(struct iface *ifc)
{
	uint8_t frame[DDENET_SLOT];
	int n = 0, progress = 1;

	if (!ifc->driver) {
		drop_tx(ifc);
		return;
	}
	while (progress && n < BUDGET) {
		progress = 0;
		for (struct port *p = d.ports, *next; p; p = next) {
			int len;

			next = p->next;
			if (p->ifc != ifc || p->role != DDENET_ROLE_CLIENT)
				continue;
			if (!driver_has_room(ifc))
				goto full;
			len = ddenet_q_pop(&p->in, frame, sizeof(frame));
			if (len == -EAGAIN)
				continue;
			if (len < 0) {
				port_drop(p, "broke its ring; disconnected");
				continue;
			}
			ddenet_q_wake_producer(&p->in);
			to_driver(ifc, frame, len);
			progress = 1;
			n++;
		}
		if (ifc->tap) {
			if (!ifc->tap_len)
				ifc->tap_len = tap_read(ifc->tap, ifc->tap_frame, sizeof(ifc->tap_frame));
			if (ifc->tap_len > 0) {
				if (!driver_has_room(ifc))
					goto full;
				to_driver(ifc, ifc->tap_frame, ifc->tap_len);
				ifc->tap_len = 0;
				progress = 1;
				n++;
			}
		}
	}
	if (n == BUDGET)
		again = 1;
	/* everyone drained: ask each client to ring when it queues more */
	for (struct port *p = d.ports; p; p = p->next)
		if (p->ifc == ifc && p->role == DDENET_ROLE_CLIENT && ddenet_q_wait_data(&p->in))
			again = 1;
	ddenet_q_wake_consumer(&ifc->driver->out);
	if (ifc->tap)
		watch(tap_fd(ifc->tap), &ifc->h_tap, EPOLLIN, EPOLL_CTL_MOD);
	return;
full:
	/* the driver rings when it has taken frames; the TAP waits until then */
	ddenet_q_wake_consumer(&ifc->driver->out);
	if (ifc->tap)
		watch(tap_fd(ifc->tap), &ifc->h_tap, 0, EPOLL_CTL_MOD);
}

static void on_bell(struct port *p)
{
	struct iface *ifc = p->ifc;

	bell_clear(p->bell);
	if (!ifc)
		return;
	if (p->role == DDENET_ROLE_DRIVER && !forward_rx(ifc))
		return;
	pump_tx(ifc);
}

static struct port *new_port(int fd)
{
	struct port *p = calloc(1, sizeof(*p));

	if (!p) {
		close(fd);
		return NULL;
	}
	p->sock = fd;
	p->bell = p->peer_bell = -1;
	p->h_sock = (struct handle){ K_SOCK, p };
	p->next = d.ports;
	d.ports = p;
	watch(fd, &p->h_sock, EPOLLIN, EPOLL_CTL_ADD);
	return p;
}

static void on_listen(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct port *p;

	if (fd < 0)
		return;
	p = new_port(fd);
	/* refused: told why at its hello, then dropped */
	if (p && access_check(&d.access, fd, p->refused, sizeof(p->refused)))
		netd_log("refused a connection: %s", p->refused);
}

/* dde gave up @name's driver: it will not come back, and the interface goes */
static void give_up(const char *name)
{
	struct iface *ifc = find_iface(name);

	if (!ifc) {
		netd_log("dde gave up the driver of %s, which has no interface: ignored", name);
		return;
	}
	if (ifc->driver) {	/* dead, its hangup not read yet (or dde gives up on it alive) */
		struct port *p = ifc->driver;

		ifc->driver = NULL;
		port_close(p);
	}
	netd_log("dde gave up the driver of %s; %llu frames to send dropped while it was away",
		 ifc->name, ifc->no_driver);
	iface_gone(ifc, "driver given up");
}

/* dde on its control channel: a connection for one of its drivers, or a driver given up */
static void on_control(void)
{
	struct ddenet_msg m;
	int fds[3], nfds;
	long r = seqpacket_recv(d.control, &m, sizeof(m), fds, &nfds, MSG_DONTWAIT);
	struct port *p;

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		epoll_ctl(d.ep, EPOLL_CTL_DEL, d.control, NULL);	/* dde is gone */
		close(d.control);
		d.control = -1;
		/* nobody restarts their drivers now */
		for (struct iface *ifc = d.ifaces, *next; ifc; ifc = next) {
			next = ifc->next;
			if (!ifc->driver)
				iface_gone(ifc, "driver away, dde gone");
		}
		return;
	}
	m.ifname[DDENET_NAME - 1] = 0;
	if (r == sizeof(m) && m.magic == DDENET_MAGIC && m.type == DDENET_GIVE_UP && !nfds &&
	    m.ifname[0]) {
		give_up(m.ifname);
		return;
	}
	if (r != sizeof(m) || m.magic != DDENET_MAGIC || m.type != DDENET_CHANNEL ||
	    !m.ifname[0] || nfds != 1) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		netd_log("malformed message on the control channel: ignored");
		return;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	p = new_port(fds[0]);
	if (p)
		memcpy(p->driver_if, m.ifname, sizeof(p->driver_if));
}

/*
 * A supervised driver took none of the frames queued to it for @ms
 * (@waiting of them), or (@waiting 0) sent no report of its counters, its
 * heartbeat, for @ms: dde hears of it.
 */
static void hung(struct port *p, long long ms, uint32_t waiting)
{
	struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				.type = DDENET_HUNG, .value = ms > INT32_MAX ? INT32_MAX : (int32_t)ms };

	memcpy(m.ifname, p->ifc->name, sizeof(m.ifname));
	m.mtu = (uint16_t)(waiting > 0xffff ? 0xffff : waiting);	/* 0: the heartbeat */
	if (waiting)
		netd_log("driver of %s hung: took none of the %u frames queued to it in %lld ms; "
			 "told dde", p->ifc->name, waiting, ms);
	else
		netd_log("driver of %s hung: no report of its counters (its heartbeat, each "
			 "second) for %lld ms; told dde", p->ifc->name, ms);
	seqpacket_send(d.control, &m, sizeof(m), NULL, 0);
	p->hung = 1;
}

/*
 * --hang-ms: each supervised driver's transmit ring, looked at before each
 * wait. Frames wait there and its tail (the next frame the driver takes)
 * has not moved since hang_ms: HUNG, once until the tail moves. How long
 * the next wait may be: a quarter of hang_ms while frames wait for some
 * driver, else no limit (frames to a driver are queued only after an event).
 */
static int check_hangs(void)
{
	int timeout = -1;
	long long now;

	if (!d.hang_ms || d.control < 0)
		return -1;
	now = mono_ms();
	for (struct iface *ifc = d.ifaces; ifc; ifc = ifc->next) {
		struct port *p = ifc->driver;
		uint32_t head, tail;

		if (!p || !supervised(p))
			continue;
		/* a driver that reports its counters each second and stopped */
		if (ifc->driver_report_ms && !p->hung) {
			if (now - ifc->driver_report_ms >= d.hang_ms)
				hung(p, now - ifc->driver_report_ms, 0);
			else
				timeout = d.hang_ms / 4 ? d.hang_ms / 4 : 1;
		}
		head = atomic_load(&p->out.r->head);
		tail = atomic_load(&p->out.r->tail);
		if (head == tail)
			p->hang_since = 0;	/* nothing waits */
		else if (tail != p->hang_tail || !p->hang_since)
			p->hang_since = now;	/* it took one, or frames wait anew */
		if (tail != p->hang_tail)
			p->hung = 0;
		p->hang_tail = tail;
		if (!p->hang_since)
			continue;
		if (!p->hung && now - p->hang_since >= d.hang_ms)
			hung(p, now - p->hang_since, head - tail);
		/* a driver that takes a frame rings nobody: look again */
		timeout = d.hang_ms / 4 ? d.hang_ms / 4 : 1;
	}
	return timeout;
}

static int listen_on(const char *path)
{
	return seqpacket_listen(path, 0);
}

static void on_signal(int sig)
{
	d.stop = 1;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	char err[200];
	int lfd;

	access_init(&d.access);
	d.control = -1;
	d.exports = calloc((size_t)argc, sizeof(*d.exports));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--socket") && v) {
			path = v;
			i++;
		} else if ((!strcmp(a, "--tap") || !strcmp(a, "--pcap")) && v && strchr(v, '=') &&
			   strchr(v, '=') - v < DDENET_NAME && strchr(v, '=')[1]) {
			struct netd_export *x = &d.exports[d.nexports++];

			memcpy(x->ifname, v, (size_t)(strchr(v, '=') - v));
			if (a[2] == 't')
				x->tap = strchr(v, '=') + 1;
			else
				x->pcap = strchr(v, '=') + 1;
			i++;
		} else if (!strcmp(a, "--control-fd") && v) {
			d.control = atoi(v);
			i++;
		} else if (!strcmp(a, "--open-drivers")) {
			d.open_drivers = 1;
		} else if (!strcmp(a, "--hang-ms") && v && atoi(v) >= 0) {
			d.hang_ms = atoi(v);
			i++;
		} else if ((!strcmp(a, "--allow-user") || !strcmp(a, "--allow-group")) && v) {
			if (access_allow(&d.access, a[8] == 'g', v, err, sizeof(err))) {
				fprintf(stderr, "netd: %s\n", err);
				return 2;
			}
			i++;
		} else {
			fprintf(stderr, "usage: netd --socket PATH [--tap IF=NAME]... [--pcap IF=FILE]...\n"
				"            [--control-fd N [--open-drivers] [--hang-ms N]]\n"
				"            [--allow-user U]... [--allow-group G]...\n"
				"A driver dde supervises (--control-fd) that dies leaves its interface\n"
				"in place, link down, until dde restarts it or gives it up; --hang-ms N\n"
				"(0: off) tells dde of one that took no frame queued to it for N ms.\n");
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "netd: --socket PATH is required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	lfd = listen_on(path);
	if (lfd < 0) {
		fprintf(stderr, "netd: cannot listen on %s: %s\n", path, strerror(errno));
		return 1;
	}
	d.ep = epoll_create1(EPOLL_CLOEXEC);
	d.h_listen = (struct handle){ K_LISTEN, NULL };
	watch(lfd, &d.h_listen, EPOLLIN, EPOLL_CTL_ADD);
	if (d.control < 0) {
		d.open_drivers = 1;	/* by hand: drivers attach over the socket */
	} else {
		fcntl(d.control, F_SETFD, FD_CLOEXEC);
		fcntl(d.control, F_SETFL, O_NONBLOCK);
		d.h_control = (struct handle){ K_CONTROL, NULL };
		watch(d.control, &d.h_control, EPOLLIN, EPOLL_CTL_ADD);
	}
	while (!d.stop) {
		/* one event at a time: handling one may free what another names
		 * (all are level-triggered, so nothing is lost) */
		struct epoll_event ev[1];
		int hang = check_hangs();
		int n = epoll_wait(d.ep, ev, 1, again ? 0 : hang);

		if (n < 0 && errno != EINTR)
			break;
		if (again) {
			again = 0;
			for (struct iface *ifc = d.ifaces, *next; ifc; ifc = next) {
				next = ifc->next;
				if (forward_rx(ifc))
					pump_tx(ifc);
			}
		}
		for (int i = 0; i < n; i++) {
			struct handle *h = ev[i].data.ptr;

			switch (h->kind) {
			case K_LISTEN:
				on_listen(lfd);
				break;
			case K_SOCK:
				on_sock(h->obj);
				break;
			case K_BELL:
				on_bell(h->obj);
				break;
			case K_TAP:
				pump_tx(h->obj);
				break;
			case K_CONTROL:
				on_control();
				break;
			}
		}
	}
	d.stop = 1;	/* interfaces go with their drivers now */
	while (d.ports)
		port_drop(d.ports, "netd stopping");
	while (d.ifaces)	/* those whose drivers were away */
		iface_gone(d.ifaces, "netd stopping");
	if (path[0] != '@')
		unlink(path);
	return 0;
}
