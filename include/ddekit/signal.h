/*
 * Signal handlers that share a signal (the trap engine's SIGSEGV, the
 * binary driver host's fault reports, the stubs of unimplemented kernel
 * symbols): each installs its handler over the one before and passes on
 * what is not its own, with this.
 */
#ifndef DDEKIT_SIGNAL_H
#define DDEKIT_SIGNAL_H

#include <signal.h>

/*
 * Hand signal SIG to PREVIOUS, the handler that was installed before the
 * caller's: 1 if it had one and ran it; 0 if it was SIG_DFL or SIG_IGN,
 * and the caller decides (usually: restore SIG_DFL and return, so that a
 * fault recurs with the default action, a core dump under gdb).
 */
int ddekit_signal_chain(const struct sigaction *previous, int sig, siginfo_t *si, void *ctx);

#endif
