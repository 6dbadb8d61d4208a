/*
 * The connection to ddeio: hello and grant, synchronous requests with a
 * short busy-poll before sleeping (a round trip is tens of microseconds,
 * and a futex sleep would double it), posted writes, and the event thread
 * that turns interrupt events into handler runs.
 */
#define _GNU_SOURCE
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../common/seqpacket.h"
#include "../common/slot.h"

static struct {
	int fd;
	int event_fd;			/* our end of the event socketpair */
	pthread_mutex_t lock;		/* one request at a time on fd */
	uint32_t seq;
	struct ddeio_grant grant;
	bool have_grant;
	void *dma;
	size_t dma_size;
	int dma_fd;			/* the region's memfd */
	pthread_t event_thread;
	bool event_thread_running;
	uint64_t spin_ns;
} conn = { .fd = -1, .event_fd = -1, .dma_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const struct ddeio_grant *ddeio_grant(void)
{
	return conn.have_grant ? &conn.grant : NULL;
}

static int send_msg(int fd, const struct ddeio_msg *m, const void *payload,
		    size_t plen, int pass_fd)
{
	struct iovec iov[2] = { { (void *)m, sizeof(*m) }, { (void *)payload, plen } };
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = plen ? 2 : 1 };

	fds_attach(&mh, ctrl, sizeof(ctrl), &pass_fd, pass_fd >= 0);
	while (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Receive one reply; spin for a while before sleeping. The descriptors it
 * carried: up to @max into @got (the rest closed), their count in *@ngot. */
static ssize_t recv_reply(void *buf, size_t cap, int *got, int max, int *ngot)
{
	char ctrl[CMSG_SPACE(sizeof(int) * DDEIO_MAX_VECTORS)];
	uint64_t spin_until = 0;

	for (;;) {
		struct iovec iov = { buf, cap };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
		ssize_t n = recvmsg(conn.fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n >= 0) {
			int f[DDEIO_MAX_VECTORS], nf = fds_take(&mh, f, DDEIO_MAX_VECTORS);

			for (int i = 0; i < nf; i++) {
				if (i < max)
					got[i] = f[i];
				else
					close(f[i]);
			}
			if (ngot)
				*ngot = nf < max ? nf : max;
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (!spin_until)
			spin_until = now_ns() + conn.spin_ns;
		if (now_ns() < spin_until)
			continue;
		struct pollfd pfd = { conn.fd, POLLIN, 0 };

		poll(&pfd, 1, -1);
	}
}

static int call_locked(struct ddeio_msg *m, const void *payload, size_t plen,
		       void *reply, size_t *reply_len, int pass_fd, int *got, int max, int *ngot)
{
	char buf[sizeof(struct ddeio_msg) + DDEIO_MAX_PAYLOAD];
	uint32_t seq = ++conn.seq;
	ssize_t n;
	size_t body;
	int r;

	if (conn.fd < 0) {
		ddekit_set_error("not connected to the I/O server (ddekit_init first)");
		return -ENOTCONN;
	}
	m->seq = seq;
	r = send_msg(conn.fd, m, payload, plen, pass_fd);
	if (r) {
		ddekit_set_error("lost the I/O server: %s", strerror(-r));
		return -EPIPE;
	}
	n = recv_reply(buf, sizeof(buf), got, max, ngot);
	if (n == 0 || n < (ssize_t)sizeof(*m)) {
		ddekit_set_error("lost the I/O server (it stopped or dropped us)");
		return -EPIPE;
	}
	memcpy(m, buf, sizeof(*m));
	if (m->seq != seq) {
		ddekit_set_error("I/O server reply out of sequence");
		return -EPROTO;
	}
	body = (size_t)n - sizeof(*m);
	if (m->status) {
		char text[DDEIO_MAX_PAYLOAD + 1];

		memcpy(text, buf + sizeof(*m), body);
		text[body] = 0;
		ddekit_set_error("%s", body ? text : strerror(-m->status));
		ddekit_log(DDEKIT_LOG_WARN, "I/O server refused: %s", ddekit_last_error());
		return m->status;
	}
	if (reply && reply_len) {
		if (body > *reply_len)
			body = *reply_len;
		memcpy(reply, buf + sizeof(*m), body);
		*reply_len = body;
	}
	return 0;
}

int ddeio_call(struct ddeio_msg *m, const void *payload, size_t plen,
	       void *reply, size_t *reply_len)
{
	int r;

	pthread_mutex_lock(&conn.lock);
	r = call_locked(m, payload, plen, reply, reply_len, -1, NULL, 0, NULL);
	pthread_mutex_unlock(&conn.lock);
	return r;
}

int ddeio_call_fds(struct ddeio_msg *m, int *fds, int max, int *nfds)
{
	int r;

	*nfds = 0;
	pthread_mutex_lock(&conn.lock);
	r = call_locked(m, NULL, 0, NULL, NULL, -1, fds, max, nfds);
	pthread_mutex_unlock(&conn.lock);
	if (r) {	/* what came with a failed reply is not the caller's */
		for (int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
	return r;
}

int ddeio_post_payload(const struct ddeio_msg *in, const void *payload, size_t plen)
{
	struct ddeio_msg m = *in;
	int r;

	m.flags |= DDEIO_F_POSTED;
	pthread_mutex_lock(&conn.lock);
	m.seq = ++conn.seq;
	r = conn.fd < 0 ? -ENOTCONN : send_msg(conn.fd, &m, payload, plen, -1);
	pthread_mutex_unlock(&conn.lock);
	if (r)
		ddekit_set_error("lost the I/O server");
	return r;
}

int ddeio_post(const struct ddeio_msg *m)
{
	return ddeio_post_payload(m, NULL, 0);
}

static void *event_loop(void *arg)
{
	char buf[sizeof(struct ddeio_msg) + 513];

	(void)arg;
	pthread_setname_np(pthread_self(), "ddekit-events");
	for (;;) {
		ssize_t n = recv(conn.event_fd, buf, sizeof(buf) - 1, 0);
		struct ddeio_msg m;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < (ssize_t)sizeof(m))
			break;	/* server gone or we are shutting down */
		memcpy(&m, buf, sizeof(m));
		buf[n] = 0;
		if (m.op == DDEIO_OP_EVENT_IRQ)
			ddekit_irq_dispatch((unsigned)m.addr);
		else if (m.op == DDEIO_OP_EVENT_ERROR)
			ddekit_panic("the I/O server refused a write: %s", buf + sizeof(m));
	}
	return NULL;
}

static int connect_socket(const char *socket_name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *name = socket_name[0] == '@' ? socket_name + 1 : socket_name;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	int fd = seqpacket_fd_address(socket_name);

	if (fd >= 0)
		return fd;	/* the connection `dde run` opened for us */
	if (fd == -EBADF) {
		ddekit_set_error("DDE_IO=%s: no such connection (fd:N is what `dde run` "
				 "hands its drivers)", socket_name);
		return -EBADF;
	}

	if (strlen(name) + 2 > sizeof(addr.sun_path)) {
		ddekit_set_error("I/O server name '%s' too long", socket_name);
		return -EINVAL;
	}
	memcpy(addr.sun_path + 1, name, strlen(name));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, len)) {
		int e = errno;

		ddekit_set_error("cannot reach the I/O server @%s: %s (is `dde run` or ddeio running?)",
				 name, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

int ddeio_connect(const char *socket_name, const char *name, const uint32_t *bdf,
		  unsigned ndev)
{
	struct ddeio_hello h = { .version = DDEIO_PROTOCOL_VERSION, .ndev = ndev };
	struct ddeio_msg m = { .op = DDEIO_OP_HELLO };
	const char *spin = getenv("DDE_SPIN_US");
	size_t glen = sizeof(conn.grant);
	int sv[2] = { -1, -1 }, memfd = -1, r;

	if (ndev > DDEIO_MAX_DEVICES) {
		ddekit_set_error("at most %d devices per driver", DDEIO_MAX_DEVICES);
		return -EINVAL;
	}
	/*
	 * Busy-poll only with a core to spare: the driver, ddeio and QEMU all
	 * take part in a round trip, and on two cores spinning starves QEMU.
	 */
	conn.spin_ns = (spin ? strtoull(spin, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN) > 2 ? 20 : 0) * 1000;
	snprintf(h.name, sizeof(h.name), "%s", name);
	if (ndev)
		memcpy(h.bdf, bdf, ndev * sizeof(*bdf));
	r = connect_socket(socket_name);
	if (r < 0)
		return r;
	conn.fd = r;
	if (ndev && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		r = -errno;
		ddekit_set_error("socketpair: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_lock(&conn.lock);
	r = call_locked(&m, &h, sizeof(h), &conn.grant, &glen, sv[1], &memfd, 1, NULL);
	pthread_mutex_unlock(&conn.lock);
	if (sv[1] >= 0)
		close(sv[1]);
	if (r)
		goto fail;
	if (glen != sizeof(conn.grant) || conn.grant.ndev != ndev ||
	    (ndev && memfd < 0)) {
		ddekit_set_error("malformed grant from the I/O server");
		r = -EPROTO;
		goto fail;
	}
	conn.have_grant = true;
	if (ndev) {
		conn.dma_size = conn.grant.dma_size;
		conn.dma = mmap(NULL, conn.dma_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				memfd, 0);
		conn.dma_fd = memfd;	/* kept: a server may map a part (ddekit_dma_share) */
		memfd = -1;
		if (conn.dma == MAP_FAILED) {
			conn.dma = NULL;
			r = -errno;
			ddekit_set_error("mapping DMA memory: %s", strerror(errno));
			goto fail;
		}
		ddekit_dma_setup(conn.dma, conn.grant.dma_bus, conn.dma_size, 1);
		conn.event_fd = sv[0];
		sv[0] = -1;
		if (pthread_create(&conn.event_thread, NULL, event_loop, NULL) == 0)
			conn.event_thread_running = true;
	}
	return 0;
fail:
	if (memfd >= 0)
		close(memfd);
	if (sv[0] >= 0)
		close(sv[0]);
	ddeio_disconnect();
	return r;
}

void ddeio_disconnect(void)
{
	if (conn.fd >= 0) {
		shutdown(conn.fd, SHUT_RDWR);
		close(conn.fd);
		conn.fd = -1;
	}
	if (conn.event_fd >= 0)
		shutdown(conn.event_fd, SHUT_RDWR);
	if (conn.event_thread_running) {
		pthread_join(conn.event_thread, NULL);
		conn.event_thread_running = false;
	}
	if (conn.event_fd >= 0) {
		close(conn.event_fd);
		conn.event_fd = -1;
	}
	if (conn.dma_fd >= 0) {
		close(conn.dma_fd);
		conn.dma_fd = -1;
	}
	if (conn.dma) {
		munmap(conn.dma, conn.dma_size);
		conn.dma = NULL;
		ddekit_dma_setup(NULL, 0, 0, 0);
	}
	conn.have_grant = false;
}

/* ---- ddekit_init / ddekit_exit ---- */

int ddekit_init(const char *name)
{
	const char *io = getenv("DDE_IO");
	const char *devices = getenv("DDE_DEVICES");
	const char *driver = getenv("DDE_DRIVER");
	uint32_t bdf[DDEIO_MAX_DEVICES];
	unsigned ndev = 0;
	char list[256], *save = NULL, *tok;

	ddekit_log_set_name(driver && *driver ? driver : name);
	if (!io || !*io) {
		ddekit_log(DDEKIT_LOG_ERROR,
			   "DDE_IO is not set: start drivers with `dde run --driver NAME@SLOT`, "
			   "or set DDE_IO and DDE_DEVICES by hand (see README)");
		ddekit_set_error("DDE_IO is not set");
		return -EINVAL;
	}
	snprintf(list, sizeof(list), "%s", devices ? devices : "");
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (ndev == DDEIO_MAX_DEVICES || slot_parse(tok, &bdf[ndev])) {
			ddekit_log(DDEKIT_LOG_ERROR, "DDE_DEVICES: bad slot '%s' (want BB:SS.F)", tok);
			ddekit_set_error("bad slot '%s'", tok);
			return -EINVAL;
		}
		ndev++;
	}
	if (!ndev) {
		ddekit_log(DDEKIT_LOG_ERROR, "DDE_DEVICES is empty: a driver needs a device");
		ddekit_set_error("no devices");
		return -EINVAL;
	}
	int r = ddeio_connect(io, driver && *driver ? driver : name, bdf, ndev);

	if (r) {
		ddekit_log(DDEKIT_LOG_ERROR, "%s", ddekit_last_error());
		return r;
	}
	if (ddekit_trap_install)	/* linked in: plain MMIO and port instructions from here on */
		ddekit_trap_install();
	/* connected and mapped: from here on only what drivers do */
	return ddekit_sandbox_seal(driver && *driver ? driver : name);
}

void ddekit_exit(void)
{
	ddekit_mmio_unmap_direct();	/* a BAR of our own is given back first */
	ddeio_disconnect();
}

int ddekit_dma_share(const void *ptr, size_t size, uint64_t *offset)
{
	uintptr_t p = (uintptr_t)ptr, base = (uintptr_t)conn.dma;

	if (conn.dma_fd < 0 || !conn.dma)
		return -ENODEV;
	if (p < base || p % 4096 || size > conn.dma_size || p - base > conn.dma_size - size)
		return -EINVAL;
	*offset = p - base;
	return conn.dma_fd;
}
