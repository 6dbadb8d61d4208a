/* Passing a signal on to the handler before (include/ddekit/signal.h). */
#include <ddekit/signal.h>

int ddekit_signal_chain(const struct sigaction *previous, int sig, siginfo_t *si, void *ctx)
{
	if ((previous->sa_flags & SA_SIGINFO) && previous->sa_sigaction) {
		previous->sa_sigaction(sig, si, ctx);
		return 1;
	}
	if (!(previous->sa_flags & SA_SIGINFO) && previous->sa_handler != SIG_DFL &&
	    previous->sa_handler != SIG_IGN) {
		previous->sa_handler(sig);
		return 1;
	}
	return 0;
}
