/*
 * A client of QEMU's qtest protocol: text commands over a socket, replies
 * in order, interrupt lines reported asynchronously ("IRQ raise N") and
 * interleaved with the replies. Posted writes are sent without waiting;
 * their "OK"s are consumed before the next reply.
 */
#ifndef DDE_QTEST_H
#define DDE_QTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qtest;

typedef void (*qtest_irq_fn)(void *ctx, unsigned line, bool level);

/* Take over connected socket @fd (made non-blocking). */
struct qtest *qtest_open(int fd);
void qtest_close(struct qtest *q);
int qtest_fd(const struct qtest *q);
void qtest_set_irq_handler(struct qtest *q, qtest_irq_fn fn, void *ctx);
bool qtest_irq_level(const struct qtest *q, unsigned line);

/*
 * Send a command and wait for its reply. On "OK [value]" returns 0 and
 * stores the value (if any) in *@value; "FAIL ..." gives -EIO, a lost
 * connection -EPIPE.
 */
int qtest_cmd(struct qtest *q, uint64_t *value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Send a command whose reply is not waited for. */
int qtest_posted(struct qtest *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Send @n commands at once (@cmds: @len bytes, each line ending in '\n')
 * and wait for all their replies, storing each reply's value in @values
 * (if not NULL): one round trip for many accesses, as for rep ins/outs.
 * -EIO if one failed. With @posted, nothing is waited for.
 */
int qtest_batch(struct qtest *q, const char *cmds, size_t len, unsigned n,
		uint64_t *values, bool posted);

/* Read whatever has arrived without blocking; -EPIPE if QEMU is gone. */
int qtest_poll(struct qtest *q);

/*
 * Wait until every posted command has been answered, so that the machine
 * state (interrupt levels included) reflects them; -EIO if one of them
 * failed since the last call.
 */
int qtest_sync(struct qtest *q);

/*
 * Batching (off by default): posted commands are held back and sent in one
 * write with the next command, at qtest_sync, or at qtest_flush, which a
 * caller must make before it waits for anything they cause.
 */
void qtest_set_batch(struct qtest *q, bool on);
int qtest_flush(struct qtest *q);

/* How long to busy-poll for a reply before sleeping in poll(2). */
void qtest_set_spin_ns(struct qtest *q, uint64_t ns);

#endif
