/*
 * netd's counters and the query that reads them (ddenet_stats, `dde net`),
 * against a driver in the test: libddenet's driver side (ddenet_attach,
 * ddenet_report) and a client (ddenet_open) whose ring is made to
 * overflow. netd runs from the build (BUILD/bin/netd) on a socket of its
 * own for each test and is stopped after it, also when a test fails.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ddenet/ddenet.h>
#include "../../common/seqpacket.h"
#include "server.h"
#include "../../libddenet/ring.h"

#define MTU 100		/* netd refuses client frames over MTU + 18 bytes */
#define OVER 88		/* frames beyond what the client's ring holds */

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- helpers ---- */

static void msg_init(struct ddenet_msg *m, int type, int value)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDENET_MAGIC;
	m->version = DDENET_VERSION;
	m->type = (uint16_t)type;
	m->value = value;
}

/* One message within @ms: its length, 0 at EOF, -EAGAIN when none came. */
static long recv_within(int sock, struct ddenet_msg *m, int *nfds, int ms)
{
	struct pollfd p = { sock, POLLIN, 0 };
	int fds[3];
	long r;

	*nfds = 0;
	if (poll(&p, 1, ms) != 1)
		return -EAGAIN;
	r = seqpacket_recv(sock, m, sizeof(*m), fds, nfds, MSG_DONTWAIT);
	for (int i = 0; i < *nfds; i++)
		close(fds[i]);
	return r;
}

/* A frame of @len bytes to us, numbered @seq */
static void frame_make(uint8_t *f, size_t len, uint32_t seq)
{
	memset(f, 0xa5, len);
	memcpy(f, mac, 6);
	memset(f + 6, 0x02, 6);
	f[12] = 0x88;
	f[13] = 0xb5;	/* local experimental ethertype */
	memcpy(f + 14, &seq, 4);
}

/* ---- netd and the fixture ---- */

struct fx {
	pid_t netd;
	char socket[64], log[64];
	int control;		/* our end of netd's control channel, or -1 */
	struct ddenet *drv, *cl;
	int passed;		/* the test got to its end: netd's log is not news */
};

static int start_netd(struct fx *fx, int with_control)
{
	fx->netd = start_server("netd", with_control, fx->socket, sizeof(fx->socket), fx->log,
				sizeof(fx->log), &fx->control);
	if (fx->netd < 0)
		fx->netd = 0;
	return fx->netd ? 0 : -1;
}

static int setup_with(void **state, int with_control)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	*state = fx;
	if (start_netd(fx, with_control)) {
		fprintf(stderr, "test_netd_stats: netd did not start (is it built?)\n");
		return -1;
	}
	return 0;
}

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

	ddenet_close(fx->cl);
	ddenet_close(fx->drv);
	stop_server(fx->netd);
	if (fx->control >= 0)
		close(fx->control);
	/* netd's log, for whoever reads a failure */
	f = fx->passed ? NULL : fopen(fx->log, "r");
	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "    | %s", line);
	if (f)
		fclose(f);
	unlink(fx->log);
	free(fx);
	return 0;
}

/* netd's log has a line with @text (within @ms: it is written as it happens) */
static int logged(struct fx *fx, const char *text, int ms)
{
	for (long long end = mono_ms() + ms;; sleep_ms(10)) {
		char line[512];
		FILE *f = fopen(fx->log, "r");
		int found = 0;

		while (f && !found && fgets(line, sizeof(line), f))
			found = strstr(line, text) != NULL;
		if (f)
			fclose(f);
		if (found || mono_ms() >= end)
			return found;
	}
}

/* The one interface netd has, once @ok says it is as the test waits for */
static void stats_until(struct fx *fx, struct ddenet_ifstats *s,
			int (*ok)(const struct ddenet_ifstats *, long), long arg)
{
	struct ddenet_ifstats all[4];
	int n = -1;

	for (long long end = mono_ms() + 5000; mono_ms() < end; sleep_ms(5)) {
		n = ddenet_stats(fx->socket, all, 4);
		if (n == 1 && ok(&all[0], arg))
			break;
	}
	assert_int_equal(n, 1);
	*s = all[0];
	assert_true(ok(s, arg));
}

static int link_up(const struct ddenet_ifstats *s, long arg)
{
	return s->link == 1;
}

static int rx_is(const struct ddenet_ifstats *s, long arg)
{
	return s->c.rx == (uint64_t)arg;
}

static int reported(const struct ddenet_ifstats *s, long arg)
{
	return s->c.driver_reported == 1;
}

static int clients_are(const struct ddenet_ifstats *s, long arg)
{
	return s->c.clients == (uint32_t)arg;
}

/* What the test's driver reports: every field its own value */
static struct ddenet_counters driver_counters(void)
{
	return (struct ddenet_counters){
		/* netd's fields: netd keeps its own */
		.rx = 999001, .tx = 999002, .rx_client_full = 999003, .tx_refused = 999004,
		.clients = 99, .driver_reported = 0, .driver_age_ms = 999005,
		.rx_packets = 1001, .rx_bytes = 1002, .tx_packets = 1003, .tx_bytes = 1004,
		.rx_errors = 1005, .rx_dropped = 1006, .rx_missed = 1007, .rx_fifo = 1008,
		.rx_over = 1009, .rx_crc = 1010, .rx_length = 1011, .tx_errors = 1012,
		.tx_dropped = 1013, .rx_server_full = 1014, .tx_down = 1015,
	};
}

static void assert_driver_fields(const struct ddenet_counters *c)
{
	struct ddenet_counters w = driver_counters();

	assert_int_equal(c->driver_reported, 1);
	assert_true(c->driver_age_ms < 5000);
	assert_int_equal(c->rx_packets, w.rx_packets);
	assert_int_equal(c->rx_bytes, w.rx_bytes);
	assert_int_equal(c->tx_packets, w.tx_packets);
	assert_int_equal(c->tx_bytes, w.tx_bytes);
	assert_int_equal(c->rx_errors, w.rx_errors);
	assert_int_equal(c->rx_dropped, w.rx_dropped);
	assert_int_equal(c->rx_missed, w.rx_missed);
	assert_int_equal(c->rx_fifo, w.rx_fifo);
	assert_int_equal(c->rx_over, w.rx_over);
	assert_int_equal(c->rx_crc, w.rx_crc);
	assert_int_equal(c->rx_length, w.rx_length);
	assert_int_equal(c->tx_errors, w.tx_errors);
	assert_int_equal(c->tx_dropped, w.tx_dropped);
	assert_int_equal(c->rx_server_full, w.rx_server_full);
	assert_int_equal(c->tx_down, w.tx_down);
}

/* The test's driver attached as "tst0" with its link up, and listed so */
static void drv_attach(struct fx *fx)
{
	struct ddenet_ifstats s;

	assert_int_equal(ddenet_attach(fx->socket, "tst0", mac, MTU, &fx->drv), 0);
	assert_int_equal(ddenet_set_link(fx->drv, 1), 0);
	stats_until(fx, &s, link_up, 0);
}

/* ---- the tests ---- */

/* Frames both ways, a client's ring overflowing, a bad size, the driver's report */
static void test_counters(void **state)
{
	struct fx *fx = *state;
	struct ddenet_counters report = driver_counters();
	struct ddenet_ifstats s, all[2];
	struct ddenet_info info;
	uint8_t f[DDENET_FRAME_MAX];
	char line[160];
	int nframes = DDENET_SLOTS + OVER;

	assert_int_equal(ddenet_stats(fx->socket, all, 2), 0);	/* none yet */
	drv_attach(fx);
	stats_until(fx, &s, link_up, 0);
	assert_string_equal(s.ifname, "tst0");
	assert_memory_equal(s.mac, mac, 6);
	assert_int_equal(s.mtu, MTU);
	assert_int_equal(s.c.clients, 0);
	assert_int_equal(s.c.driver_reported, 0);
	assert_int_equal(s.c.rx + s.c.tx + s.c.rx_client_full + s.c.tx_refused, 0);

	/* a client that does not read: its ring holds DDENET_SLOTS frames, the rest are lost */
	assert_int_equal(ddenet_open(fx->socket, "tst0", &fx->cl), 0);
	stats_until(fx, &s, clients_are, 1);
	for (int i = 0; i < nframes; i++) {
		frame_make(f, 60, (uint32_t)i);
		assert_int_equal(ddenet_send(fx->drv, f, 60, 5000), 0);
	}
	stats_until(fx, &s, rx_is, nframes);
	assert_int_equal(s.c.rx_client_full, OVER);
	assert_int_equal(s.c.tx, 0);
	ddenet_info(fx->cl, &info);
	assert_int_equal(info.dropped, OVER);
	for (int i = 0; i < DDENET_SLOTS; i++) {	/* the first ones, in order */
		uint32_t seq;

		assert_int_equal(ddenet_recv(fx->cl, f, sizeof(f), 2000), 60);
		memcpy(&seq, f + 14, 4);
		assert_int_equal(seq, i);
	}
	assert_int_equal(ddenet_recv(fx->cl, f, sizeof(f), 0), -EAGAIN);

	/* the client sends a frame too long for the MTU (refused), then 3 good ones */
	frame_make(f, MTU + 19, 0);
	assert_int_equal(ddenet_send(fx->cl, f, MTU + 19, 2000), 0);
	for (uint32_t i = 0; i < 3; i++) {
		frame_make(f, 60, 100 + i);
		assert_int_equal(ddenet_send(fx->cl, f, 60, 2000), 0);
	}
	for (uint32_t i = 0; i < 3; i++) {
		uint32_t seq;

		assert_int_equal(ddenet_recv(fx->drv, f, sizeof(f), 2000), 60);
		memcpy(&seq, f + 14, 4);
		assert_int_equal(seq, 100 + i);
	}
	stats_until(fx, &s, rx_is, nframes);
	assert_int_equal(s.c.tx, 3);
	assert_int_equal(s.c.tx_refused, 1);
	assert_int_equal(s.c.rx_client_full, OVER);
	assert_int_equal(s.c.driver_reported, 0);

	/* the driver's report: its fields, netd's own left as netd counted them */
	assert_int_equal(ddenet_report(fx->cl, &report), -EINVAL);	/* not the driver */
	assert_int_equal(ddenet_report(fx->drv, &report), 0);
	stats_until(fx, &s, reported, 0);
	assert_driver_fields(&s.c);
	assert_int_equal(s.c.rx, nframes);
	assert_int_equal(s.c.tx, 3);
	assert_int_equal(s.c.rx_client_full, OVER);
	assert_int_equal(s.c.tx_refused, 1);
	assert_int_equal(s.c.clients, 1);
	assert_int_equal(s.link, 1);
	/* the age grows between reports */
	sleep_ms(300);
	assert_int_equal(ddenet_stats(fx->socket, all, 2), 1);
	assert_true(all[0].c.driver_age_ms >= 250);
	assert_int_equal(ddenet_report(fx->drv, &report), 0);
	for (long long end = mono_ms() + 5000; mono_ms() < end; sleep_ms(5))
		if (ddenet_stats(fx->socket, all, 2) == 1 && all[0].c.driver_age_ms < 250)
			break;
	assert_true(all[0].c.driver_age_ms < 250);

	/* the client gone, then the driver: the log sums it up */
	ddenet_close(fx->cl);
	fx->cl = NULL;
	stats_until(fx, &s, clients_are, 0);
	ddenet_close(fx->drv);
	fx->drv = NULL;
	snprintf(line, sizeof(line), "interface tst0 gone (driver detached): rx %d, tx 3, "
		 "client rings full %d, refused 1", nframes, OVER);
	assert_true(logged(fx, line, 5000));
	for (long long end = mono_ms() + 5000; mono_ms() < end; sleep_ms(5))
		if (ddenet_stats(fx->socket, all, 2) == 0)
			break;
	assert_int_equal(ddenet_stats(fx->socket, all, 2), 0);
	fx->passed = 1;
}

/* The query on the wire: WELCOME without descriptors, STATS, the end, closed */
static void test_query_protocol(void **state)
{
	struct fx *fx = *state;
	struct ddenet_ifstats few[1];
	struct ddenet_msg m;
	struct ddenet *second;
	int sock, nfds;

	drv_attach(fx);
	assert_int_equal(ddenet_attach(fx->socket, "tst1", mac, 1500, &second), 0);
	sock = seqpacket_connect(fx->socket);
	assert_true(sock >= 0);
	msg_init(&m, DDENET_HELLO, DDENET_ROLE_QUERY);
	assert_int_equal(seqpacket_send(sock, &m, sizeof(m), NULL, 0), 0);
	assert_int_equal(recv_within(sock, &m, &nfds, 2000), sizeof(m));
	assert_int_equal(m.type, DDENET_WELCOME);
	assert_int_equal(m.value, 0);
	assert_int_equal(nfds, 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(recv_within(sock, &m, &nfds, 2000), sizeof(m));
		assert_int_equal(m.type, DDENET_STATS);
		assert_true(!strcmp(m.ifname, "tst0") || !strcmp(m.ifname, "tst1"));
		assert_int_equal(m.mtu, strcmp(m.ifname, "tst0") ? 1500 : MTU);
	}
	assert_int_equal(recv_within(sock, &m, &nfds, 2000), sizeof(m));
	assert_int_equal(m.type, DDENET_STATS);
	assert_string_equal(m.ifname, "");	/* the end */
	assert_int_equal(recv_within(sock, &m, &nfds, 2000), 0);	/* and closed */
	close(sock);
	/* more interfaces than room: the count says so */
	assert_int_equal(ddenet_stats(fx->socket, few, 1), 2);
	ddenet_close(second);

	/* a client's STATS is no report: the client is dropped, the interface stays */
	sock = seqpacket_connect(fx->socket);
	msg_init(&m, DDENET_HELLO, DDENET_ROLE_CLIENT);
	snprintf(m.ifname, sizeof(m.ifname), "tst0");
	assert_int_equal(seqpacket_send(sock, &m, sizeof(m), NULL, 0), 0);
	assert_int_equal(recv_within(sock, &m, &nfds, 2000), sizeof(m));
	assert_int_equal(m.type, DDENET_WELCOME);
	assert_int_equal(m.value, 1);
	assert_int_equal(nfds, 3);
	msg_init(&m, DDENET_STATS, 0);
	m.stats = driver_counters();
	assert_int_equal(seqpacket_send(sock, &m, sizeof(m), NULL, 0), 0);
	assert_int_equal(recv_within(sock, &m, &nfds, 2000), 0);
	close(sock);
	assert_true(logged(fx, "client of tst0: unexpected message; disconnected", 2000));
	stats_until(fx, few, clients_are, 0);
	assert_int_equal(few[0].c.driver_reported, 0);
	fx->passed = 1;
}

/* A peer the access policy refuses gets netd's words, not counters */
static void test_query_refused(void **state)
{
	struct fx *fx = *state;
	struct ddenet_ifstats all[2];
	char text[200] = "";
	int pfd[2], status, r = 0;
	pid_t pid;

	if (getuid() != 0)
		skip();	/* netd admits its own user and root: refusing takes another */
	drv_attach(fx);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {	/* as nobody */
		close(pfd[0]);
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(3);
		r = ddenet_stats(fx->socket, all, 2);
		snprintf(text, sizeof(text), "%s", ddenet_strerror(r));
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r) ||
		    write(pfd[1], text, sizeof(text)) != sizeof(text))
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &r, sizeof(r)), sizeof(r));
	assert_int_equal(read(pfd[0], text, sizeof(text)), sizeof(text));
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_int_equal(r, -EACCES);
	text[sizeof(text) - 1] = 0;
	if (!strstr(text, "access denied to uid 65534"))
		fail_msg("the refusal says: %s", text);
	assert_true(logged(fx, "refused a connection: access denied", 2000));
	/* we still get in */
	assert_int_equal(ddenet_stats(fx->socket, all, 2), 1);
	fx->passed = 1;
}

/* As under `dde run`: the driver reports on its connection; no query there */
static void test_driver_connection(void **state)
{
	struct fx *fx = *state;
	struct ddenet_counters report = driver_counters();
	struct ddenet_ifstats s, all[2];
	struct ddenet_msg m;
	char addr[16];
	int sp[2];

	/* what attach_net does, twice: one connection for a driver, one for a query */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
		msg_init(&m, DDENET_CHANNEL, DDENET_ROLE_DRIVER);
		snprintf(m.ifname, sizeof(m.ifname), "net%d", 3 + i);
		assert_int_equal(seqpacket_send(fx->control, &m, sizeof(m), &sp[0], 1), 0);
		close(sp[0]);
		snprintf(addr, sizeof(addr), "fd:%d", sp[1]);
		if (i == 0) {
			assert_int_equal(ddenet_attach(addr, "whatever", mac, 1500, &fx->drv), 0);
			continue;
		}
		/* a query on a driver's connection: refused, with netd's words */
		int r = ddenet_stats(addr, all, 2);

		assert_int_equal(r, -EACCES);
		assert_non_null(strstr(ddenet_strerror(r), "only attaches the driver"));
		assert_int_equal(fcntl(sp[1], F_GETFD), -1);	/* closed by ddenet_stats */
	}
	assert_int_equal(ddenet_report(fx->drv, &report), 0);
	stats_until(fx, &s, reported, 0);
	assert_string_equal(s.ifname, "net3");
	assert_int_equal(s.link, 0);
	assert_driver_fields(&s.c);
	fx->passed = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_connection, setup_control, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
