/*
 * The translated engine of the driver host (ko/dbt.c, docs/ko.md): module
 * code runs inside unicorn, a CPU emulator built on QEMU, over the very
 * memory the native code uses.
 */
#ifndef KO_DBT_H
#define KO_DBT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* What the engine asks of its host (ko/host.c). */
struct ko_dbt_host {
	/* the address of library symbol NAME, 0 if none */
	uint64_t (*lookup)(const char *name);
	/* "e1000_probe+0x1c/0x6a0 [e1000]" for PC; 1 if PC is in a module */
	int (*describe)(unsigned long pc, char *buf, unsigned long len);
	/* a ud2 at PC: 1 if a WARN (logged; the code continues after it);
	 * a BUG is reported and stops the driver; 0 if neither */
	int (*bug)(unsigned long pc);
	/* one line on stderr */
	void (*say)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
	/* the import ADDR is a stub for (--allow-stubs), or NULL; reporting
	 * its use from FROM ("e1000_probe+0x1c/0x6a0 [e1000]") */
	const char *(*stub_name)(unsigned long addr);
	void (*report_stub)(const char *name, const char *from);
};

/* 0, or -1 with one line in ERR. Before any module code runs. */
int ko_dbt_init(const struct ko_dbt_host *host, char *err, size_t errlen);

struct ko_image;
struct ko_module;

/*
 * A loaded module (ko_load): its code is run only by the emulator, from a
 * copy; natively each function start jumps into the emulator; its direct
 * calls into the library go through the engine's bridge; its string port
 * instructions are found.
 */
int ko_dbt_add_module(const struct ko_image *img, const struct ko_module *m, char *err,
		      size_t errlen);

/*
 * From the host's SIGTRAP handler: if it is native code calling into
 * module code at an address where no function starts (the native view of
 * the code is int3 there), turn the interrupted context into a call of
 * the emulator and return 1; else 0.
 */
int ko_dbt_redirect(siginfo_t *si, void *ucontext);

/* where the module called the library function now running on this
 * thread (its return address), 0 if none: to name the module's part in a
 * fault inside the library */
uint64_t ko_dbt_caller(void);

/* what the engine did so far (SIGUSR1, make bench) */
struct ko_dbt_counts {
	unsigned long entries;		/* calls from native code into the module */
	unsigned long calls;		/* calls from the module into native code */
	unsigned long mmio, port;	/* device accesses emulated */
	unsigned long bridged, bridges;	/* call sites through the bridge, its slots */
};
void ko_dbt_counts(struct ko_dbt_counts *c);

#endif
