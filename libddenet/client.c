/* libddenet: the client (and driver) side of the netd channel. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ddenet/ddenet.h>
#include "ring.h"
#include "../common/seqpacket.h"
#include "../common/clock.h"

struct ddenet {
	int sock, my_bell, netd_bell, epfd;
	struct ddenet_shm *shm;
	struct ddenet_q tx, rx;		/* tx: up, rx: down */
	struct ddenet_info info;
	int gone;
	int driver;			/* attached as the interface's driver */
};

/* why netd refused this thread's last hello (ddenet_strerror) */
static __thread char refusal[sizeof(((struct ddenet_msg *)0)->error)];
static __thread int refusal_err;

const char *ddenet_strerror(int err)
{
	if (err < 0 && err == refusal_err && refusal[0])
		return refusal;
	return strerror(err < 0 ? -err : err);
}

static int connect_to(const char *server)
{
	if (!server)
		server = getenv("DDE_NET");
	return seqpacket_connect(server);
}

/* Receive one control message, and up to 3 descriptors with it. */
static int recv_msg(int sock, struct ddenet_msg *m, int fds[3], int *nfds)
{
	long r = seqpacket_recv(sock, m, sizeof(*m), fds, nfds, MSG_DONTWAIT);

	if (r == 0)
		return -ENODEV;
	if (r < 0)
		return r == -EAGAIN ? -EAGAIN : -ENODEV;
	if (r != sizeof(*m) || m->magic != DDENET_MAGIC || m->version != DDENET_VERSION) {
		for (int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return 0;
}

/* netd refused the hello: its words for ddenet_strerror */
static int refused(const struct ddenet_msg *m)
{
	refusal_err = m->value;
	memcpy(refusal, m->error, sizeof(refusal));
	refusal[sizeof(refusal) - 1] = 0;
	return m->value;
}

static int handshake(const char *server, struct ddenet_msg *hello, struct ddenet **out)
{
	struct ddenet *n;
	struct ddenet_msg m;
	struct pollfd p;
	int fds[3], nfds = 0, r;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->sock = n->my_bell = n->netd_bell = n->epfd = -1;
	r = n->sock = connect_to(server);
	if (r < 0)
		goto fail;
	if (send(n->sock, hello, sizeof(*hello), MSG_NOSIGNAL) != sizeof(*hello)) {
		r = -errno;
		goto fail;
	}
	p = (struct pollfd){ n->sock, POLLIN, 0 };
	if (poll(&p, 1, 10000) != 1) {
		r = -ETIMEDOUT;
		goto fail;
	}
	r = recv_msg(n->sock, &m, fds, &nfds);
	if (r == 0 && m.type != DDENET_WELCOME)
		r = -EPROTO;
	if (r == 0 && m.value < 0)
		r = refused(&m);
	if (r == 0 && nfds != 3)
		r = -EPROTO;
	if (r)
		goto fail_fds;
	n->shm = mmap(NULL, DDENET_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	close(fds[0]);
	if (n->shm == MAP_FAILED) {
		n->shm = NULL;
		r = -ENOMEM;
		close(fds[1]);
		close(fds[2]);
		goto fail;
	}
	n->netd_bell = fds[1];
	n->my_bell = fds[2];
	ddenet_q_init(&n->tx, n->shm, true, n->netd_bell);
	ddenet_q_init(&n->rx, n->shm, false, n->netd_bell);
	memcpy(n->info.ifname, m.ifname, sizeof(m.ifname));
	n->info.ifname[DDENET_NAME_MAX - 1] = 0;
	memcpy(n->info.mac, m.mac, 6);
	n->info.mtu = m.mtu;
	n->info.link = hello->value == DDENET_ROLE_DRIVER ? 0 : m.value;
	n->driver = hello->value == DDENET_ROLE_DRIVER;
	n->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (n->epfd < 0) {
		r = -errno;
		goto fail;
	}
	struct epoll_event e = { .events = EPOLLIN };
	epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->my_bell, &e);
	epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->sock, &e);
	*out = n;
	return 0;
fail_fds:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
fail:
	ddenet_close(n);
	return r;
}

int ddenet_open(const char *server, const char *ifname, struct ddenet **out)
{
	struct ddenet_msg hello = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				    .type = DDENET_HELLO, .value = DDENET_ROLE_CLIENT };

	if (ifname && strlen(ifname) >= DDENET_NAME_MAX)
		return -EINVAL;
	if (ifname)
		strcpy(hello.ifname, ifname);
	return handshake(server, &hello, out);
}

int ddenet_attach(const char *server, const char *ifname, const uint8_t mac[6], unsigned mtu,
		  struct ddenet **out)
{
	struct ddenet_msg hello = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				    .type = DDENET_HELLO, .value = DDENET_ROLE_DRIVER };

	if (!ifname || !*ifname || strlen(ifname) >= DDENET_NAME_MAX)
		return -EINVAL;
	strcpy(hello.ifname, ifname);
	memcpy(hello.mac, mac, 6);
	hello.mtu = (uint16_t)mtu;
	return handshake(server, &hello, out);
}

/* Read pending control messages: link changes, the interface going away. */
static void control(struct ddenet *n)
{
	struct ddenet_msg m;
	int fds[3], nfds, r;

	while (!n->gone && (r = recv_msg(n->sock, &m, fds, &nfds)) != -EAGAIN) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (r == -ENODEV || (r == 0 && m.type == DDENET_GONE)) {
			n->gone = 1;
			n->info.link = 0;
		} else if (r == 0 && m.type == DDENET_LINK) {
			n->info.link = m.value != 0;
		}
	}
}

/* Sleep on the doorbell and the socket until woken or @deadline (-1: none). */
static void wait_event(struct ddenet *n, long long deadline)
{
	struct epoll_event e[2];
	int t = -1;

	if (deadline >= 0) {
		long long left = deadline - mono_ms();

		t = left > 0 ? (int)left : 0;
	}
	epoll_wait(n->epfd, e, 2, t);
	bell_clear(n->my_bell);
	control(n);
}

int ddenet_send_nowake(struct ddenet *n, const void *frame, size_t len)
{
	if (n->gone)
		return -ENODEV;
	if (len < 14 || len > DDENET_FRAME_MAX)
		return -EMSGSIZE;
	int r = ddenet_q_push(&n->tx, frame, (uint32_t)len);

	return r == -EPROTO ? -ENODEV : r;
}

void ddenet_flush(struct ddenet *n)
{
	ddenet_q_wake_consumer(&n->tx);
}

int ddenet_send(struct ddenet *n, const void *frame, size_t len, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;

	for (;;) {
		int r;

		control(n);
		if (n->gone)
			return -ENODEV;
		if (len < 14 || len > DDENET_FRAME_MAX)
			return -EMSGSIZE;
		r = ddenet_q_push(&n->tx, frame, (uint32_t)len);
		if (r == 0) {
			ddenet_q_wake_consumer(&n->tx);
			return 0;
		}
		if (r != -EAGAIN)
			return -ENODEV;
		if (timeout_ms == 0 || (deadline >= 0 && mono_ms() >= deadline))
			return -EAGAIN;
		if (!ddenet_q_wait_space(&n->tx))
			wait_event(n, deadline);
	}
}

ssize_t ddenet_recv(struct ddenet *n, void *buf, size_t max, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;

	for (;;) {
		int r = ddenet_q_pop(&n->rx, buf, max > UINT32_MAX ? UINT32_MAX : (uint32_t)max);

		if (r >= 0) {
			ddenet_q_wake_producer(&n->rx);
			return r;
		}
		if (r != -EAGAIN)
			return -ENODEV;
		control(n);
		if (n->gone)
			return -ENODEV;
		if (timeout_ms == 0 || (deadline >= 0 && mono_ms() >= deadline))
			return -EAGAIN;
		if (!ddenet_q_wait_data(&n->rx))
			wait_event(n, deadline);
	}
}

int ddenet_recv_batch(struct ddenet *n, void *const *bufs, size_t max, size_t *lens, int count,
		      int timeout_ms)
{
	uint32_t cap = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
	ssize_t first;
	int got = 1;

	if (count < 1)
		return -EINVAL;
	first = ddenet_recv(n, bufs[0], max, timeout_ms);
	if (first < 0)
		return (int)first;
	lens[0] = (size_t)first;
	while (got < count) {
		int r = ddenet_q_pop(&n->rx, bufs[got], cap);

		if (r < 0)
			break;	/* empty, or broken: the next call says */
		lens[got++] = (size_t)r;
	}
	if (got > 1)
		ddenet_q_wake_producer(&n->rx);
	return got;
}

int ddenet_wait(struct ddenet *n, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;

	for (;;) {
		control(n);
		if (n->gone)
			return -ENODEV;
		if (ddenet_q_wait_data(&n->rx))
			return 1;
		if (timeout_ms == 0 || (deadline >= 0 && mono_ms() >= deadline))
			return 0;
		wait_event(n, deadline);
	}
}

int ddenet_fd(const struct ddenet *n)
{
	return n->epfd;
}

void ddenet_info(struct ddenet *n, struct ddenet_info *info)
{
	control(n);
	*info = n->info;
	info->dropped = n->shm ? atomic_load(&n->shm->down.dropped) : 0;
}

int ddenet_set_link(struct ddenet *n, int up)
{
	struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				.type = DDENET_LINK, .value = up != 0 };

	if (n->gone)
		return -ENODEV;
	n->info.link = up != 0;
	return send(n->sock, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) == sizeof(m) ? 0 : -ENODEV;
}

int ddenet_report(struct ddenet *n, const struct ddenet_counters *c)
{
	struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				.type = DDENET_STATS, .stats = *c };

	if (!n->driver)
		return -EINVAL;	/* netd takes counters only from the driver */
	if (n->gone)
		return -ENODEV;
	/* never wait for netd: a full socket loses this report, the next one comes */
	if (send(n->sock, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) == sizeof(m))
		return 0;
	return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -ENODEV;
}

/* The next message within the deadline: 0, -ETIMEDOUT, or recv_msg's errors. */
static int recv_until(int sock, struct ddenet_msg *m, long long deadline)
{
	for (;;) {
		struct pollfd p = { sock, POLLIN, 0 };
		long long left = deadline - mono_ms();
		int fds[3], nfds = 0, r;

		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return -ETIMEDOUT;
		r = recv_msg(sock, m, fds, &nfds);
		for (int i = 0; i < nfds; i++)	/* none belongs to a query */
			close(fds[i]);
		if (r == 0 && nfds)
			return -EPROTO;
		if (r != -EAGAIN)
			return r;
	}
}

int ddenet_stats(const char *server, struct ddenet_ifstats *out, int max)
{
	struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				.type = DDENET_HELLO, .value = DDENET_ROLE_QUERY };
	long long deadline = mono_ms() + 10000;
	int sock = connect_to(server), n = 0, r;

	if (sock < 0)
		return sock;
	if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m)) {
		r = -errno;
		goto out;
	}
	r = recv_until(sock, &m, deadline);
	if (r == 0 && m.type != DDENET_WELCOME)
		r = -EPROTO;
	if (r == 0 && m.value < 0)
		r = refused(&m);
	while (r == 0) {
		r = recv_until(sock, &m, deadline);
		if (r == 0 && m.type != DDENET_STATS)
			r = -EPROTO;
		if (r || !m.ifname[0])	/* the end */
			break;
		if (n < max) {
			struct ddenet_ifstats *s = &out[n];

			memset(s, 0, sizeof(*s));
			memcpy(s->ifname, m.ifname, sizeof(s->ifname));
			s->ifname[DDENET_NAME_MAX - 1] = 0;
			memcpy(s->mac, m.mac, 6);
			s->mtu = m.mtu;
			s->link = m.value != 0;
			s->c = m.stats;
		}
		n++;
	}
out:
	close(sock);
	return r ? r : n;
}

void ddenet_close(struct ddenet *n)
{
	if (!n)
		return;
	if (n->shm)
		munmap(n->shm, DDENET_SHM_SIZE);
	if (n->sock >= 0)
		close(n->sock);
	if (n->my_bell >= 0)
		close(n->my_bell);
	if (n->netd_bell >= 0)
		close(n->netd_bell);
	if (n->epfd >= 0)
		close(n->epfd);
	free(n);
}
