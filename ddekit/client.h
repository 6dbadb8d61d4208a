/*
 * ddekit's connection to the I/O server (internal to ddekit, and used by
 * the `dde` tool and by tests that must speak the raw protocol, e.g. to
 * play a misbehaving driver).
 */
#ifndef DDEKIT_CLIENT_H
#define DDEKIT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ddeio/protocol.h>

/*
 * Connect to the I/O server on abstract socket @socket_name, say hello as
 * @name and claim @ndev devices (0 for a tool, which may only list). For
 * a driver, also maps the DMA region and starts the event thread.
 * Returns 0 or a negative errno; the reason is in ddekit_last_error().
 */
int ddeio_connect(const char *socket_name, const char *name, const uint32_t *bdf,
		  unsigned ndev);
void ddeio_disconnect(void);

/*
 * One request: send @m (+ @payload), wait for the reply into @m
 * (+ up to *@reply_len bytes into @reply). Returns the reply's status; a
 * refusal's text becomes ddekit_last_error() and is logged.
 */
int ddeio_call(struct ddeio_msg *m, const void *payload, size_t plen,
	       void *reply, size_t *reply_len);

/* The same, for a reply that carries descriptors: up to @max into @fds,
 * their count in *@nfds (the rest are closed). No payload either way. */
int ddeio_call_fds(struct ddeio_msg *m, int *fds, int max, int *nfds);

/* Send a posted request: no reply; a refusal comes back as an event. */
int ddeio_post(const struct ddeio_msg *m);
/* the same with a payload (rep outs) */
int ddeio_post_payload(const struct ddeio_msg *m, const void *payload, size_t plen);

/* The grant received at hello (NULL before). */
const struct ddeio_grant *ddeio_grant(void);

/*
 * The sandbox's system-call filter (sandbox.c): DDEKIT_SANDBOX_EXEC is
 * what `dde run` installs before it starts a driver (execve and the
 * loader allowed), DDEKIT_SANDBOX_SEAL what the driver itself installs
 * once running. 0, or -errno with the reason in @err.
 */
enum { DDEKIT_SANDBOX_EXEC = 1, DDEKIT_SANDBOX_SEAL };
int ddekit_sandbox_filter(int stage, char *err, size_t cap);
/* Seal the sandbox if the driver runs in one (DDE_SANDBOX=1); @name for
 * the line that names a forbidden system call. */
int ddekit_sandbox_seal(const char *name);

/* Internal hooks between ddekit's files. */
void ddekit_mmio_unmap_direct(void);
void ddekit_irq_dispatch(unsigned line);
/* @zeroed: the region is all zeros (as ddeio grants it) */
void ddekit_dma_setup(void *virt, uint64_t bus, size_t size, int zeroed);
void ddekit_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ddekit_log_set_name(const char *name);

/*
 * The trap engine (trap.c): make SIGSEGV from plain loads/stores on a
 * mapped BAR and from in/out/ins/outs emulate the access through ddekit.
 * Called by ddekit_init; installs again if someone replaced the handler.
 * An object of its own ($(DDEKIT_TRAP)), linked only into programs that run
 * unmodified code: where it is not linked this is NULL (and Zydis, its
 * decoder, is not needed), and ddekit_mmio_map says so.
 */
void ddekit_trap_install(void) __attribute__((weak));

#endif
