/*
 * The binary driver host, watching module code at run time: a WARN (ud2
 * with a __bug_table entry) is logged with its file, line and function and
 * the code continues; a BUG, and any fault in module code (or in the
 * library, reached from it), stops the driver with a report naming the
 * module, the function and the offset; a stub bound with --allow-stubs
 * names its import when touched. Signals that are not ours go on to the
 * handlers before (the trap engine's SIGSEGV).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include <ddekit/ddekit.h>
#include <ddekit/signal.h>
#include <ksrv/host.h>
#include <lx_kit/kit.h>

#include "dbt.h"
#include "host.h"

/* the module and function around ADDR: "e1000_probe+0x1c/0x6a0 [e1000]" */
int describe(unsigned long addr, char *buf, unsigned long len)
{
	for (unsigned i = 0; i < nmods; i++) {
		const struct host_module *hm = &mods[i];
		const struct ko_image *img = &hm->file.img;
		const struct ko_symbol *best = NULL;
		uint64_t best_at = 0;

		if (addr < hm->m.base || addr >= hm->m.base + hm->m.size)
			continue;
		for (unsigned s = 0; s < img->nsym; s++) {
			const struct ko_symbol *sym = &img->sym[s];
			uint64_t at = ko_function_address(img, &hm->m, s);

			if (at && at <= addr && at >= best_at) {
				best = sym;
				best_at = at;
			}
		}
		if (best)
			snprintf(buf, len, "%s+0x%lx/0x%lx [%s]", best->name,
				 (unsigned long)(addr - best_at), (unsigned long)best->size, hm->name);
		else
			snprintf(buf, len, "%s+0x%lx", hm->name, (unsigned long)(addr - hm->m.base));
		return 1;
	}
	if (stub_name(addr))
		snprintf(buf, len, "%s (a stub: nobody provides it)", stub_name(addr));
	else
		snprintf(buf, len, "0x%lx (not in a module)", addr);
	return 0;
}

/* one line on stderr from a signal handler (the code it interrupted is
 * the module's, never inside stdio or malloc when it traps) */
void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "%s: ", driver_name);

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0)
		return;
}

/* x86-64 Linux 6.1, relative pointers, verbose: what __bug_table holds */
struct bug_entry {
	int32_t bug_addr_disp;
	int32_t file_disp;
	uint16_t line;
	uint16_t flags;
};
#define BUGFLAG_WARNING (1 << 0)
#define BUGFLAG_ONCE    (1 << 1)
#define BUGFLAG_DONE    (1 << 2)

static struct bug_entry *find_bug(unsigned long pc)
{
	for (unsigned i = 0; i < ksrv_nmodules; i++) {
		struct bug_entry *b = ksrv_modules[i].bug_table;
		unsigned long n = ksrv_modules[i].bug_table_size / sizeof(*b);

		for (unsigned long j = 0; j < n; j++)
			if ((unsigned long)((char *)&b[j].bug_addr_disp + b[j].bug_addr_disp) == pc)
				return &b[j];
	}
	return NULL;
}

static struct sigaction previous[NSIG];

static void chain(int sig, siginfo_t *si, void *ctx)
{
	if (!ddekit_signal_chain(&previous[sig], sig, si, ctx))
		signal(sig, SIG_DFL);	/* the fault repeats and ends the process */
}

/*
 * A ud2 at PC in module code: a WARN is logged (once, if it says so) and 1
 * returned, the code continues after it; a BUG is reported and stops the
 * driver; 0 if PC is no __bug_table site.
 */
int bug_at(unsigned long pc)
{
	struct bug_entry *b = find_bug(pc);
	char where[256];
	const char *file;

	if (!b)
		return 0;
	describe(pc, where, sizeof(where));
	file = (const char *)&b->file_disp + b->file_disp;
	if (b->flags & BUGFLAG_WARNING) {
		if (!(b->flags & BUGFLAG_ONCE) || !(b->flags & BUGFLAG_DONE)) {
			b->flags |= BUGFLAG_DONE;
			say("WARNING: at %s:%u %s (the driver continues)", file, b->line, where);
		}
		return 1;
	}
	say("kernel BUG at %s:%u! %s: the driver stops", file, b->line, where);
	signal(SIGABRT, SIG_DFL);
	abort();
}

/* the library's exports by address, to name a place in the library */
const struct ko_export_entry **by_address;

int by_addr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)(*(const struct ko_export_entry *const *)a)->addr;
	uintptr_t y = (uintptr_t)(*(const struct ko_export_entry *const *)b)->addr;

	return x < y ? -1 : x > y;
}

/* "netif_carrier_off+0x9" for PC: the nearest export at or below it */
static void library_place(unsigned long pc, char *buf, size_t len)
{
	unsigned lo = 0, hi = ksrv_nexports;

	while (lo < hi) {	/* the first above PC */
		unsigned mid = (lo + hi) / 2;

		if ((uintptr_t)by_address[mid]->addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && pc - (uintptr_t)by_address[lo - 1]->addr < 0x10000)
		snprintf(buf, len, "%s+0x%lx", by_address[lo - 1]->name,
			 pc - (unsigned long)(uintptr_t)by_address[lo - 1]->addr);
	else
		snprintf(buf, len, "%#lx", pc);
}

/* whether A, in module code, is a return address: a call ends right before it */
static int after_call(uint64_t a)
{
	for (unsigned m = 0; m < nmods; m++) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;

		if (a < mods[m].m.base + 7 || a >= mods[m].m.base + mods[m].m.text_size)
			continue;
		return p[-5] == 0xe8 ||					/* call rel32 */
		       (p[-2] == 0xff && (p[-1] & 0xf8) == 0xd0) ||	/* call *%reg */
		       (p[-3] == 0x41 && p[-2] == 0xff && (p[-1] & 0xf8) == 0xd0) ||
		       (p[-6] == 0xff && p[-5] == 0x15);		/* call *x(%rip) */
	}
	return 0;
}

/*
 * The module code that called into the library where a fault happened:
 * the innermost call the translated engine made for the module, or the
 * first return address into module code on the stack above SP (read with
 * process_vm_readv, which fails instead of faulting at the stack's end).
 * 0 if none.
 */
static uint64_t module_caller(uint64_t sp)
{
	uint64_t buf[512];

	if (translated)
		return ko_dbt_caller();
	for (uint64_t at = sp & ~7ull, end = at + 512 * 1024; at < end; at += sizeof(buf)) {
		struct iovec here = { buf, sizeof(buf) }, there = { (void *)(uintptr_t)at, sizeof(buf) };
		ssize_t n = process_vm_readv(getpid(), &here, 1, &there, 1, 0);

		for (ssize_t i = 0; i < n / 8; i++)
			if (after_call(buf[i]))
				return buf[i];
		if (n < (ssize_t)sizeof(buf))
			break;
	}
	return 0;
}

void report_stub(const char *name, const char *from)
{
	say("the module used %s, which nobody provides (bound to a stub by --allow-stubs), "
	    "from %s: the driver stops", name, from);
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	unsigned long pc = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
	char where[256];
	int in_module;

	if (translated && sig == SIGTRAP && ko_dbt_redirect(si, ctx))
		return;		/* a call into the module: the emulator takes it */
	in_module = describe(pc, where, sizeof(where));
	if (sig == SIGILL && in_module) {
		const uint8_t *insn = (const uint8_t *)pc;

		if (insn[0] == 0x0f && insn[1] == 0x0b && bug_at(pc)) {
			uc->uc_mcontext.gregs[REG_RIP] += 2;
			return;
		}
	}
	if (sig == SIGSEGV && stub_name((unsigned long)si->si_addr)) {
		char from[256];

		if (pc == (unsigned long)si->si_addr)	/* called */
			describe(module_caller((uint64_t)uc->uc_mcontext.gregs[REG_RSP]), from,
				 sizeof(from));
		else
			snprintf(from, sizeof(from), "%s", where);
		report_stub(stub_name((unsigned long)si->si_addr), from);
	} else if (in_module && (sig == SIGSEGV || sig == SIGBUS))
		say("the module faulted: %s at %s, touching address %p: the driver stops",
		    strsignal(sig), where, si->si_addr);
	else if (in_module)
		say("the module faulted: %s at %s: the driver stops", strsignal(sig), where);
	else {
		uint64_t from = module_caller((uint64_t)uc->uc_mcontext.gregs[REG_RSP]);
		char lib[160];

		if (from) {
			describe(from, where, sizeof(where));
			library_place(pc, lib, sizeof(lib));
			say("the driver faulted in the library: %s at %s, touching address %p, "
			    "called by the module from %s: the driver stops", strsignal(sig), lib,
			    si->si_addr, where);
		}
	}
	chain(sig, si, ctx);
}

void watch_module_code(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;

	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &previous[sigs[i]]);
}
