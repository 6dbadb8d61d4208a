/*
 * Generated stubs (tools/gen-stubs): every kernel symbol no one implements
 * is a page of its own, made inaccessible here before main. Using one (a
 * call, a read, a write) faults; this handler names the symbol and the
 * driver and stops the process. Other faults go to the handler installed
 * before ours, or kill the process as usual.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ddekit/signal.h>

struct lx_stub {
	const char *name;
	const void *page;
};

extern const char lx_stub_driver[];
extern const unsigned lx_stub_count;
extern const struct lx_stub lx_stubs[];

static struct sigaction previous;

static const struct lx_stub *stub_at(uintptr_t addr)
{
	for (const struct lx_stub *s = lx_stubs; s->name; s++)
		if (addr - (uintptr_t)s->page < 4096)
			return s;
	return NULL;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	const struct lx_stub *s = stub_at((uintptr_t)si->si_addr);

	if (s) {
		char line[256];
		int n = snprintf(line, sizeof(line),
				 "%s: PANIC: kernel function or variable '%s' is not implemented "
				 "(a generated stub was used at %p)\n",
				 lx_stub_driver, s->name, si->si_addr);

		if (write(2, line, (size_t)n) < 0)
			n = 0;
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	/* not ours: the handler before, else fault again with the default
	 * action (core dump, gdb) */
	if (!ddekit_signal_chain(&previous, sig, si, uc))
		signal(sig, SIG_DFL);
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * At exit LeakSanitizer reads every writable global, the stub pages too,
 * and would fault on them: they become readable first. (atexit runs this
 * before the leak check, which ASan registered before our constructors.)
 */
static void unprotect_stubs(void)
{
	for (const struct lx_stub *s = lx_stubs; s->name; s++)
		mprotect((void *)s->page, 4096, PROT_READ);
}
#endif

__attribute__((constructor)) static void protect_stubs(void)
{
	struct sigaction sa;

	for (const struct lx_stub *s = lx_stubs; s->name; s++)
		mprotect((void *)s->page, 4096, PROT_NONE);
#if defined(__SANITIZE_ADDRESS__)
	atexit(unprotect_stubs);
#endif
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &previous);
}
