/*
 * qtest protocol client. See qtest.h; the protocol is QEMU's
 * (softmmu/qtest.c): one command per line, one reply line per command.
 */
#include "qtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QTEST_LINES 256

struct qtest {
	int fd;
	char buf[8192];		/* received, not yet parsed */
	size_t len;
	unsigned posted;	/* replies owed to posted commands */
	unsigned posted_failed;
	qtest_irq_fn irq_fn;
	void *irq_ctx;
	bool level[QTEST_LINES];
	uint64_t spin_ns;
	bool batch;		/* posted commands wait in out[] for the next flush */
	char out[8192];
	size_t outlen;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct qtest *qtest_open(int fd)
{
	struct qtest *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->fd = fd;
	q->spin_ns = 30000;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return q;
}

void qtest_close(struct qtest *q)
{
	if (!q)
		return;
	close(q->fd);
	free(q);
}

int qtest_fd(const struct qtest *q)
{
	return q->fd;
}

void qtest_set_irq_handler(struct qtest *q, qtest_irq_fn fn, void *ctx)
{
	q->irq_fn = fn;
	q->irq_ctx = ctx;
}

bool qtest_irq_level(const struct qtest *q, unsigned line)
{
	return line < QTEST_LINES && q->level[line];
}

void qtest_set_spin_ns(struct qtest *q, uint64_t ns)
{
	q->spin_ns = ns;
}

/* Read more bytes; @wait: block (after spinning) until some arrive. */
static int fill(struct qtest *q, bool wait)
{
	uint64_t spin_until = 0;

	if (q->len == sizeof(q->buf))
		return -EPROTO;	/* a line longer than any reply */
	for (;;) {
		ssize_t r = recv(q->fd, q->buf + q->len, sizeof(q->buf) - q->len, 0);

		if (r > 0) {
			q->len += (size_t)r;
			return 0;
		}
		if (r == 0)
			return -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -EPIPE;
		if (!wait)
			return -EAGAIN;
		if (!spin_until)
			spin_until = now_ns() + q->spin_ns;
		if (now_ns() < spin_until)
			continue;
		struct pollfd pfd = { q->fd, POLLIN, 0 };

		if (poll(&pfd, 1, 10000) == 0)
			return -ETIMEDOUT;
	}
}

/*
 * Take one complete line out of the buffer into @line; returns its length
 * or -EAGAIN if no complete line is buffered.
 */
static int take_line(struct qtest *q, char *line, size_t cap)
{
	char *nl = memchr(q->buf, '\n', q->len);
	size_t n;

	if (!nl)
		return -EAGAIN;
	n = (size_t)(nl - q->buf);
	if (n >= cap)
		n = cap - 1;
	memcpy(line, q->buf, n);
	line[n] = 0;
	q->len -= (size_t)(nl - q->buf) + 1;
	memmove(q->buf, nl + 1, q->len);
	return (int)n;
}

/* Returns 1 if @line was an interrupt report, now handled. */
static int handle_irq(struct qtest *q, const char *line)
{
	unsigned n;
	bool level;

	if (strncmp(line, "IRQ ", 4))
		return 0;
	if (sscanf(line, "IRQ raise %u", &n) == 1)
		level = true;
	else if (sscanf(line, "IRQ lower %u", &n) == 1)
		level = false;
	else
		return 1;
	if (n < QTEST_LINES) {
		q->level[n] = level;
		if (q->irq_fn)
			q->irq_fn(q->irq_ctx, n, level);
	}
	return 1;
}

/*
 * Returns 1 if @line is not the reply being waited for: an interrupt report
 * or the reply to an earlier posted command.
 */
static int consume(struct qtest *q, const char *line)
{
	if (handle_irq(q, line))
		return 1;
	if (!q->posted)
		return 0;
	q->posted--;
	if (strncmp(line, "OK", 2)) {
		q->posted_failed++;
		fprintf(stderr, "qtest: posted command failed: %s\n", line);
	}
	return 1;
}

/*
 * Handle every complete line that has arrived, without blocking. Only
 * interrupt reports and posted replies can be pending here: a command's
 * own reply cannot come before the command is sent in full.
 */
static int drain(struct qtest *q)
{
	char line[512];

	for (;;) {
		int r = take_line(q, line, sizeof(line));

		if (r == -EAGAIN) {
			r = fill(q, false);
			if (r == -EAGAIN)
				return 0;
			if (r)
				return r;
			continue;
		}
		if (!consume(q, line))
			fprintf(stderr, "qtest: unexpected line: %s\n", line);
	}
}

/*
 * Send all of @s. QEMU stops reading commands while its replies are not
 * read, so while the socket is full, read (and handle) what it sent.
 */
static int send_all(struct qtest *q, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(q->fd, s, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -EPIPE;
			struct pollfd pfd = { q->fd, POLLOUT | POLLIN, 0 };

			if (poll(&pfd, 1, 10000) == 0)
				return -ETIMEDOUT;
			if (pfd.revents & POLLIN) {
				int r = drain(q);

				if (r)
					return r;
			}
			continue;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Send the posted commands held back, in one write. */
int qtest_flush(struct qtest *q)
{
	size_t n = q->outlen;

	q->outlen = 0;
	return n ? send_all(q, q->out, n) : 0;
}

/*
 * Format a command; held back behind earlier posted ones (@hold: a posted
 * command while batching), else sent with them, in one write.
 */
static int vsend(struct qtest *q, bool hold, const char *fmt, va_list ap)
{
	char *line;
	int n;

	if (sizeof(q->out) - q->outlen < 256) {
		n = qtest_flush(q);
		if (n)
			return n;
	}
	line = q->out + q->outlen;
	n = vsnprintf(line, 255, fmt, ap);
	if (n < 0 || n >= 255)
		return -EINVAL;
	line[n++] = '\n';
	q->outlen += (size_t)n;
	return hold ? 0 : qtest_flush(q);
}

/* Next reply line, handling interrupt reports and posted replies. */
static int next_reply(struct qtest *q, char *line, size_t cap, bool wait)
{
	for (;;) {
		int r = take_line(q, line, cap);

		if (r == -EAGAIN) {
			r = fill(q, wait);
			if (r)
				return r;
			continue;
		}
		if (!consume(q, line))
			return 0;
	}
}

int qtest_cmd(struct qtest *q, uint64_t *value, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsend(q, false, fmt, ap);
	va_end(ap);
	if (r)
		return r;
	r = next_reply(q, line, sizeof(line), true);
	if (r)
		return r;
	if (strncmp(line, "OK", 2))
		return -EIO;
	if (value) {
		const char *v = line + 2;

		while (*v == ' ')
			v++;
		*value = strtoull(v, NULL, 0);
	}
	return 0;
}

int qtest_posted(struct qtest *q, const char *fmt, ...)
{
	va_list ap;
	int r;

	q->posted++;	/* first: its reply may come while the write is under way */
	va_start(ap, fmt);
	r = vsend(q, q->batch, fmt, ap);
	va_end(ap);
	if (r)
		q->posted--;
	return r;
}

void qtest_set_batch(struct qtest *q, bool on)
{
	q->batch = on;
}

int qtest_batch(struct qtest *q, const char *cmds, size_t len, unsigned n,
		uint64_t *values, bool posted)
{
	char line[512];
	int r = qtest_flush(q), failed = 0;

	if (r)
		return r;
	if (posted) {
		q->posted += n;	/* first: replies may come while the write is under way */
		return send_all(q, cmds, len);
	}
	r = send_all(q, cmds, len);
	if (r)
		return r;
	for (unsigned i = 0; i < n; i++) {
		r = next_reply(q, line, sizeof(line), true);
		if (r)
			return r;
		if (strncmp(line, "OK", 2))
			failed = 1;
		else if (values)
			values[i] = strtoull(line + 2, NULL, 0);
	}
	return failed ? -EIO : 0;
}

int qtest_poll(struct qtest *q)
{
	return drain(q);
}

int qtest_sync(struct qtest *q)
{
	char line[512];
	unsigned failed = q->posted_failed;
	int err = qtest_flush(q);

	if (err)
		return err;
	while (q->posted) {
		int r = take_line(q, line, sizeof(line));

		if (r == -EAGAIN) {
			r = fill(q, true);
			if (r)
				return r;
			continue;
		}
		if (!consume(q, line))
			fprintf(stderr, "qtest: unexpected line: %s\n", line);
	}
	return q->posted_failed != failed ? -EIO : 0;
}
