/*
 * Unit tests for the qtest protocol client (platform/qemu/qtest.c) against
 * a fake QEMU: a thread on the other end of a socketpair that reads
 * command lines and writes scripted replies.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../platform/qemu/qtest.h"

/* --- the fake QEMU -------------------------------------------------------- */

struct step {
	const char *expect;	/* command line to read (without '\n'); NULL: read none */
	const char *reply;	/* bytes to write back; NULL: none */
	unsigned delay_ms;	/* sleep before writing the reply */
	const char *reply2;	/* more bytes after another delay_ms (split replies) */
};

#define MAX_STEPS 32

struct fake {
	int fd;			/* our end */
	struct step steps[MAX_STEPS];
	size_t nsteps;
	bool close_at_end;	/* close the socket after the script, else wait for EOF */
	pthread_t thread;
	bool running;
	/* results, read after the join */
	char got[MAX_STEPS][256];
	size_t ngot;
	char mismatch[512];
	char extra[256];	/* a command that came after the script */
};

struct fixture {
	struct fake fake;
	struct qtest *q;
	int client_fd;		/* owned by q once opened */
	/* irq handler log */
	unsigned irq_line[64];
	bool irq_level[64];
	size_t nirq;
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts))
		;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read one '\n'-terminated line, byte by byte; false on EOF. */
static bool read_line(int fd, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			line[n++] = c;
	}
	line[n] = 0;
	return true;
}

static void write_all(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	char line[256];

	for (size_t i = 0; i < f->nsteps; i++) {
		const struct step *s = &f->steps[i];

		if (s->expect) {
			if (!read_line(f->fd, line, sizeof(line))) {
				snprintf(f->mismatch, sizeof(f->mismatch),
					 "step %zu: EOF, expected '%s'", i, s->expect);
				return NULL;
			}
			snprintf(f->got[f->ngot++], sizeof(f->got[0]), "%s", line);
			if (strcmp(line, s->expect) && !f->mismatch[0])
				snprintf(f->mismatch, sizeof(f->mismatch),
					 "step %zu: got '%s', expected '%s'", i, line, s->expect);
		}
		if (s->delay_ms)
			sleep_ms(s->delay_ms);
		if (s->reply)
			write_all(f->fd, s->reply);
		if (s->reply2) {
			if (s->delay_ms)
				sleep_ms(s->delay_ms);
			write_all(f->fd, s->reply2);
		}
	}
	if (f->close_at_end) {
		shutdown(f->fd, SHUT_RDWR);
		return NULL;
	}
	/* nothing more is expected: anything but EOF is a mistake */
	if (read_line(f->fd, line, sizeof(line)))
		snprintf(f->extra, sizeof(f->extra), "%s", line);
	return NULL;
}

static void on_irq(void *ctx, unsigned line, bool level)
{
	struct fixture *fx = ctx;

	if (fx->nirq < 64) {
		fx->irq_line[fx->nirq] = line;
		fx->irq_level[fx->nirq] = level;
		fx->nirq++;
	}
}

static int fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	int sv[2];

	if (!fx)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		free(fx);
		return -1;
	}
	fx->fake.fd = sv[0];
	fx->client_fd = sv[1];
	fx->q = qtest_open(sv[1]);
	if (!fx->q) {
		close(sv[0]);
		close(sv[1]);
		free(fx);
		return -1;
	}
	qtest_set_irq_handler(fx->q, on_irq, fx);
	*state = fx;
	return 0;
}

/* Close the client (the fake sees EOF) and wait for the fake to end. */
static void fake_finish(struct fixture *fx)
{
	if (fx->q) {
		qtest_close(fx->q);
		fx->q = NULL;
	}
	if (fx->fake.running) {
		pthread_join(fx->fake.thread, NULL);
		fx->fake.running = false;
	}
}

static int fx_teardown(void **state)
{
	struct fixture *fx = *state;

	if (!fx)
		return 0;
	fake_finish(fx);
	if (fx->fake.fd >= 0)
		close(fx->fake.fd);
	free(fx);
	*state = NULL;
	return 0;
}

static void fake_step(struct fixture *fx, const char *expect, const char *reply)
{
	assert_true(fx->fake.nsteps < MAX_STEPS);
	fx->fake.steps[fx->fake.nsteps++] = (struct step){ expect, reply, 0, NULL };
}

static void fake_step_split(struct fixture *fx, const char *expect, const char *a,
			    unsigned delay_ms, const char *b)
{
	assert_true(fx->fake.nsteps < MAX_STEPS);
	fx->fake.steps[fx->fake.nsteps++] = (struct step){ expect, a, delay_ms, b };
}

static void fake_start(struct fixture *fx)
{
	assert_int_equal(pthread_create(&fx->fake.thread, NULL, fake_main, &fx->fake), 0);
	fx->fake.running = true;
}

/* End the conversation and check the fake saw exactly the script. */
static void fake_check(struct fixture *fx)
{
	fake_finish(fx);
	if (fx->fake.mismatch[0])
		fail_msg("fake QEMU: %s", fx->fake.mismatch);
	if (fx->fake.extra[0])
		fail_msg("fake QEMU: unexpected command '%s'", fx->fake.extra);
}

/* Wait until @fd has something to read (the fake's reply arrived). */
static void wait_readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	assert_int_equal(poll(&p, 1, 5000), 1);
}

/* --- tests ---------------------------------------------------------------- */

static void test_cmd_value(void **state)
{
	struct fixture *fx = *state;
	uint64_t v = 0;

	fake_step(fx, "readl 0xfee00030", "OK 0x0000000000050014\n");
	fake_step(fx, "readq 0x1000", "OK 0xffffffffffffffff\n");
	fake_step(fx, "outb 0x80 0x1", "OK\n");
	fake_step(fx, "clock_step 1000", "OK 123456\n");
	fake_start(fx);

	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x%x", 0xfee00030u), 0);
	assert_int_equal(v, 0x50014);
	assert_int_equal(qtest_cmd(fx->q, &v, "readq 0x%x", 0x1000), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(qtest_cmd(fx->q, NULL, "outb 0x80 0x%x", 1), 0);
	assert_int_equal(qtest_cmd(fx->q, &v, "clock_step %d", 1000), 0);
	assert_int_equal(v, 123456);
	assert_int_equal(qtest_fd(fx->q), fx->client_fd);
	fake_check(fx);
	assert_string_equal(fx->fake.got[0], "readl 0xfee00030");
}

static void test_cmd_fail(void **state)
{
	struct fixture *fx = *state;
	uint64_t v = 77;

	fake_step(fx, "readb 0xdead", "FAIL Unknown command 'readb'\n");
	fake_step(fx, "bogus", "ERR\n");
	fake_step(fx, "readb 0x10", "OK 0x5\n");
	fake_start(fx);

	assert_int_equal(qtest_cmd(fx->q, &v, "readb 0xdead"), -EIO);
	assert_int_equal(qtest_cmd(fx->q, &v, "bogus"), -EIO);
	/* the connection is still in step */
	assert_int_equal(qtest_cmd(fx->q, &v, "readb 0x10"), 0);
	assert_int_equal(v, 5);
	fake_check(fx);
}

static void test_irq_before_reply(void **state)
{
	struct fixture *fx = *state;
	uint64_t v = 0;

	fake_step(fx, "readl 0x2000",
		  "IRQ raise 5\nIRQ raise 11\nIRQ lower 5\nOK 0x1234\n");
	fake_step(fx, "readl 0x2004", "IRQ lower 11\nIRQ raise 255\nIRQ raise 256\nOK 0x5678\n");
	fake_start(fx);

	assert_false(qtest_irq_level(fx->q, 5));
	assert_false(qtest_irq_level(fx->q, 11));
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x2000"), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(fx->nirq, 3);
	assert_int_equal(fx->irq_line[0], 5);
	assert_true(fx->irq_level[0]);
	assert_int_equal(fx->irq_line[1], 11);
	assert_true(fx->irq_level[1]);
	assert_int_equal(fx->irq_line[2], 5);
	assert_false(fx->irq_level[2]);
	assert_false(qtest_irq_level(fx->q, 5));
	assert_true(qtest_irq_level(fx->q, 11));

	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x2004"), 0);
	assert_int_equal(v, 0x5678);
	assert_false(qtest_irq_level(fx->q, 11));
	assert_true(qtest_irq_level(fx->q, 255));
	/* a line number beyond the table is ignored, not stored out of bounds */
	assert_false(qtest_irq_level(fx->q, 256));
	assert_false(qtest_irq_level(fx->q, 100000));
	assert_int_equal(fx->nirq, 5);
	assert_int_equal(fx->irq_line[3], 11);
	assert_false(fx->irq_level[3]);
	assert_int_equal(fx->irq_line[4], 255);
	assert_true(fx->irq_level[4]);
	fake_check(fx);
}

static void test_irq_without_handler(void **state)
{
	struct fixture *fx = *state;
	uint64_t v = 0;

	qtest_set_irq_handler(fx->q, NULL, NULL);
	fake_step(fx, "readw 0x10", "IRQ raise 3\nOK 0x7\n");
	fake_start(fx);
	assert_int_equal(qtest_cmd(fx->q, &v, "readw 0x10"), 0);
	assert_int_equal(v, 7);
	assert_true(qtest_irq_level(fx->q, 3));
	assert_int_equal(fx->nirq, 0);
	fake_check(fx);
}

static void test_posted(void **state)
{
	struct fixture *fx = *state;
	uint64_t v = 0;

	fake_step(fx, "writel 0x1000 0x1", "OK\n");
	fake_step(fx, "writel 0x1004 0x2", "IRQ raise 9\nOK\n");
	fake_step(fx, "writeb 0x1008 0x3", "FAIL bad address\n");	/* a posted failure */
	fake_step(fx, "readl 0x1000", "OK 0x42\n");
	fake_step(fx, "writel 0x100c 0x4", "OK\n");
	fake_step(fx, "readl 0x100c", "IRQ lower 9\nOK 0x4\n");
	fake_start(fx);

	assert_int_equal(qtest_posted(fx->q, "writel 0x%x 0x%x", 0x1000, 1), 0);
	assert_int_equal(qtest_posted(fx->q, "writel 0x%x 0x%x", 0x1004, 2), 0);
	assert_int_equal(qtest_posted(fx->q, "writeb 0x%x 0x%x", 0x1008, 3), 0);
	/* the three posted replies come first; this command gets its own */
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x1000"), 0);
	assert_int_equal(v, 0x42);
	assert_int_equal(fx->nirq, 1);
	assert_true(qtest_irq_level(fx->q, 9));

	assert_int_equal(qtest_posted(fx->q, "writel 0x100c 0x4"), 0);
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x100c"), 0);
	assert_int_equal(v, 4);
	assert_false(qtest_irq_level(fx->q, 9));
	fake_check(fx);
}

/*
 * Batching: posted commands wait until a flush sends them in one write; a
 * command, and a sync, send what waits first, in order.
 */
static void test_batch(void **state)
{
	struct fixture *fx = *state;
	const char *both = "writel 0x1 0x1\nwritel 0x2 0x2\n";
	char got[64];
	uint64_t v = 0;

	fake_step(fx, "writel 0x1 0x1", "OK\n");
	fake_step(fx, "writel 0x2 0x2", "OK\n");
	fake_step(fx, "writel 0x3 0x3", "OK\n");
	fake_step(fx, "readl 0x4", "OK 0x44\n");
	fake_step(fx, "writel 0x5 0x5", "OK\n");
	qtest_set_batch(fx->q, true);
	assert_int_equal(qtest_posted(fx->q, "writel 0x1 0x1"), 0);
	assert_int_equal(qtest_posted(fx->q, "writel 0x2 0x2"), 0);
	/* nothing has left yet */
	assert_int_equal(recv(fx->fake.fd, got, sizeof(got), MSG_PEEK | MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(qtest_flush(fx->q), 0);
	/* both at once */
	assert_int_equal(recv(fx->fake.fd, got, sizeof(got), MSG_PEEK | MSG_DONTWAIT),
			 (ssize_t)strlen(both));
	assert_memory_equal(got, both, strlen(both));
	fake_start(fx);
	assert_int_equal(qtest_posted(fx->q, "writel 0x3 0x3"), 0);
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x4"), 0);	/* sends the write first */
	assert_int_equal(v, 0x44);
	assert_int_equal(qtest_posted(fx->q, "writel 0x5 0x5"), 0);
	assert_int_equal(qtest_sync(fx->q), 0);			/* sends it, waits for its OK */
	fake_check(fx);
}

/* Posted replies consumed by qtest_poll are not taken for a later reply. */
static void test_posted_consumed_by_poll(void **state)
{
	struct fixture *fx = *state;
	uint64_t v = 0;
	uint64_t t0;

	fake_step(fx, "writel 0x1 0x1", "OK\n");
	fake_step(fx, "writel 0x2 0x2", "OK\n");
	fake_step(fx, "readl 0x3", "OK 0x33\n");
	fake_start(fx);

	assert_int_equal(qtest_posted(fx->q, "writel 0x1 0x1"), 0);
	assert_int_equal(qtest_posted(fx->q, "writel 0x2 0x2"), 0);
	/* wait until both posted replies ("OK\nOK\n") have arrived */
	t0 = now_ms();
	for (;;) {
		char peek[16];
		ssize_t n = recv(fx->client_fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);

		if (n >= 6)
			break;
		assert_true(now_ms() - t0 < 5000);
		sleep_ms(5);
	}
	/*
	 * qtest_poll takes them as the posted replies; if it did not, the
	 * readl below would take its own reply for a posted one and then
	 * wait for a reply that never comes.
	 */
	assert_int_equal(qtest_poll(fx->q), 0);
	{
		char peek[16];

		assert_int_equal(recv(fx->client_fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT), -1);
	}
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x3"), 0);
	assert_int_equal(v, 0x33);
	fake_check(fx);
}

static void test_poll_irq_without_blocking(void **state)
{
	struct fixture *fx = *state;
	uint64_t t0;

	/* nothing there: returns at once */
	t0 = now_ms();
	assert_int_equal(qtest_poll(fx->q), 0);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(fx->nirq, 0);

	/* the fake sends interrupts on its own, in pieces */
	fake_step(fx, NULL, "IRQ raise 4\nIRQ rai");
	fake_start(fx);
	wait_readable(fx->client_fd);
	sleep_ms(20);
	t0 = now_ms();
	assert_int_equal(qtest_poll(fx->q), 0);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(fx->nirq, 1);
	assert_int_equal(fx->irq_line[0], 4);
	assert_true(fx->irq_level[0]);
	assert_true(qtest_irq_level(fx->q, 4));

	/* the rest of the partial line */
	write_all(fx->fake.fd, "se 7\nIRQ lower 4\n");
	wait_readable(fx->client_fd);
	assert_int_equal(qtest_poll(fx->q), 0);
	assert_int_equal(fx->nirq, 3);
	assert_int_equal(fx->irq_line[1], 7);
	assert_true(fx->irq_level[1]);
	assert_int_equal(fx->irq_line[2], 4);
	assert_false(fx->irq_level[2]);
	assert_true(qtest_irq_level(fx->q, 7));
	assert_false(qtest_irq_level(fx->q, 4));

	/* and again nothing: no blocking */
	t0 = now_ms();
	assert_int_equal(qtest_poll(fx->q), 0);
	assert_true(now_ms() - t0 < 1000);
	fake_check(fx);
}

/* A reply that arrives in pieces, late (past the busy-poll phase). */
static void test_split_reply(void **state)
{
	struct fixture *fx = *state;
	uint64_t v = 0;

	fake_step_split(fx, "readl 0x40", "IRQ raise 1\nOK 0x00", 50, "00abcd\n");
	fake_step_split(fx, "readl 0x44", "O", 50, "K 0x9\n");
	fake_start(fx);
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x40"), 0);
	assert_int_equal(v, 0xabcd);
	assert_int_equal(fx->nirq, 1);
	qtest_set_spin_ns(fx->q, 0);
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x44"), 0);
	assert_int_equal(v, 9);
	fake_check(fx);
}

static void test_command_too_long(void **state)
{
	struct fixture *fx = *state;
	char arg[400];
	uint64_t v;

	memset(arg, 'a', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = 0;
	fake_step(fx, "readb 0x1", "OK 0x1\n");
	fake_start(fx);
	assert_int_equal(qtest_cmd(fx->q, &v, "x %s", arg), -EINVAL);
	assert_int_equal(qtest_posted(fx->q, "x %s", arg), -EINVAL);
	/* nothing was sent and nothing is owed: the next command works */
	assert_int_equal(qtest_cmd(fx->q, &v, "readb 0x1"), 0);
	assert_int_equal(v, 1);
	fake_check(fx);
}

static void test_closed_peer(void **state)
{
	struct fixture *fx = *state;
	uint64_t v;

	/* QEMU dies after reading a command, before replying */
	fake_step(fx, "readl 0x0", NULL);
	fx->fake.close_at_end = true;
	fake_start(fx);
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x0"), -EPIPE);
	pthread_join(fx->fake.thread, NULL);
	fx->fake.running = false;
	assert_string_equal(fx->fake.mismatch, "");

	/* gone for good: every later call says so */
	close(fx->fake.fd);
	fx->fake.fd = -1;
	assert_int_equal(qtest_poll(fx->q), -EPIPE);
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x0"), -EPIPE);
}

static void test_closed_peer_idle(void **state)
{
	struct fixture *fx = *state;
	uint64_t v;

	close(fx->fake.fd);
	fx->fake.fd = -1;
	assert_int_equal(qtest_poll(fx->q), -EPIPE);
	assert_int_equal(qtest_cmd(fx->q, &v, "readl 0x0"), -EPIPE);
	assert_int_equal(qtest_posted(fx->q, "writel 0x0 0x0"), -EPIPE);
}

/* An IRQ line that arrives, then EOF: the IRQ is still handled. */
static void test_closed_after_irq(void **state)
{
	struct fixture *fx = *state;

	fake_step(fx, NULL, "IRQ raise 2\n");
	fx->fake.close_at_end = true;
	fake_start(fx);
	pthread_join(fx->fake.thread, NULL);
	fx->fake.running = false;
	assert_int_equal(qtest_poll(fx->q), -EPIPE);
	assert_int_equal(fx->nirq, 1);
	assert_true(qtest_irq_level(fx->q, 2));
}

/* qtest_sync waits for the posted replies, and sees the levels they carry. */
static void test_sync(void **state)
{
	struct fixture *fx = *state;

	fake_step(fx, "writel 0x10 0x1", "IRQ raise 4\nOK\n");
	/* the ack lowers the line, late */
	fake_step_split(fx, "writel 0x14 0x1", NULL, 50, "IRQ lower 4\nOK\n");
	fake_step(fx, "writeb 0x18 0x1", "FAIL bad address\n");
	fake_start(fx);

	assert_int_equal(qtest_posted(fx->q, "writel 0x10 0x1"), 0);
	assert_int_equal(qtest_posted(fx->q, "writel 0x14 0x1"), 0);
	assert_int_equal(qtest_sync(fx->q), 0);
	assert_false(qtest_irq_level(fx->q, 4));
	assert_int_equal(fx->nirq, 2);
	assert_int_equal(qtest_sync(fx->q), 0);	/* nothing owed: returns at once */
	assert_int_equal(qtest_posted(fx->q, "writeb 0x18 0x1"), 0);
	assert_int_equal(qtest_sync(fx->q), -EIO);
	assert_int_equal(qtest_sync(fx->q), 0);	/* reported once */
	fake_check(fx);
}

/*
 * A fake QEMU that answers every line with "OK" and blocks on writing the
 * answers, as QEMU does: many posted writes must not deadlock the client
 * (both socket buffers full) but be answered as they go.
 */
struct flood {
	int fd;
	unsigned lines;
};

static void *flood_main(void *arg)
{
	struct flood *fl = arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(fl->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				fl->lines++;
				write_all(fl->fd, "OK\n");
			}
		}
	}
	return NULL;
}

static void test_many_posted(void **state)
{
	struct fixture *fx = *state;
	struct flood fl = { fx->fake.fd, 0 };
	const unsigned count = 200000;	/* far more than both socket buffers hold */
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, flood_main, &fl), 0);
	for (unsigned i = 0; i < count; i++)
		assert_int_equal(qtest_posted(fx->q, "writel 0x%x 0x%x", 0x1000 + i * 4, i), 0);
	assert_int_equal(qtest_sync(fx->q), 0);
	qtest_close(fx->q);	/* the fake sees EOF */
	fx->q = NULL;
	pthread_join(t, NULL);
	assert_int_equal(fl.lines, count);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_cmd_value),
		T(test_cmd_fail),
		T(test_irq_before_reply),
		T(test_irq_without_handler),
		T(test_posted),
		T(test_posted_consumed_by_poll),
		T(test_batch),
		T(test_poll_irq_without_blocking),
		T(test_split_reply),
		T(test_command_too_long),
		T(test_closed_peer),
		T(test_closed_peer_idle),
		T(test_closed_after_irq),
		T(test_sync),
		T(test_many_posted),
	};

	return cmocka_run_group_tests_name("qtest", tests, NULL, NULL);
}
