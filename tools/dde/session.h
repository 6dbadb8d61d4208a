/* A running I/O server (and so a machine), started and stopped by dde. */
#ifndef DDE_SESSION_H
#define DDE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct session {
	pid_t ddeio;
	char socket[64];	/* abstract socket name, without '@' */
	int control;		/* our end of ddeio's control channel */
};

/*
 * Start ddeio with the machine options @margv[0..@margc) (and the ddeio
 * options @extra, NULL-terminated, or NULL) and wait until it serves.
 * Returns 0, or the exit status to use (ddeio said why).
 */
int session_start(struct session *s, char **margv, int margc, bool quiet,
		  char *const *extra);

/*
 * A connection to ddeio for a driver that will claim the @ndev devices
 * @bdf as @name (dde opens it on the control channel, and only on it may
 * the devices be claimed). The driver's end, or -1 with one line printed.
 */
int session_channel(struct session *s, const char *name, const uint32_t *bdf, unsigned ndev);

/* SIGTERM to child @pid, SIGKILL if it is not gone within @ms ms; reaped. */
void session_reap(pid_t pid, unsigned ms);

/* Stop ddeio (and with it the machine); waits for it. */
void session_stop(struct session *s);

/* Path of a sibling of the dde binary, e.g. "../drivers/selftest". */
void session_sibling(const char *rel, char *out, size_t cap);

#endif
