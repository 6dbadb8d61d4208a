/*
 * A binary driver host (build/drivers/ko-net, docs/ko.md): Debian's binary
 * kernel modules in a driver process, linked against the kernel-service
 * library of their class (lx_emul, Linux's own core and class files, the
 * class glue) through its explicit export table and nothing else.
 *
 *   ko-net [--engine native|dbt] [--allow-stubs] MODULE.ko [PARAM=VALUE...]
 *
 * Before Linux starts, the host reads each module (ko_parse checks the
 * whole file), loads what it depends on first (`depends=`, found beside
 * it), checks the version magic and every modversions CRC against the
 * library and the modules loaded before, and places and links it
 * (ko_load). The Linux side (dde_linux/ksrv/module.c) then sets the
 * parameters and calls each module's init in a Linux task.
 *
 * The module's code runs natively (the trap engine of ddekit emulates its
 * port and MMIO instructions) or, with --engine dbt, inside a CPU emulator
 * (ko/dbt.c).
 *
 * While the driver runs, the host watches the module code (ko/watch.c):
 * WARN, BUG and faults are reported naming the module, the function and
 * the offset.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include <ddekit/ddekit.h>
#include <ko/exports.h>
#include <ko/file.h>
#include <ko/load.h>
#include <ksrv/host.h>
#include <lx_kit/kit.h>

#include "dbt.h"
#include "fail.h"
#include "host.h"


/* the Linux side (dde_linux/lx_emul/start.c); argv[1..]: built-in parameters */
int lx_emul_start(int argc, char **argv);

struct host_module mods[MAX_MODULES];
unsigned nmods;
struct ksrv_module ksrv_modules[MAX_MODULES];
unsigned ksrv_nmodules;

static const char *prog = "ko-host";
int translated;			/* --engine dbt */
static int allow_stubs;		/* --allow-stubs */
char driver_name[64] = "ko";

const char *lx_kit_driver_name(void)
{
	return driver_name;
}

/* --- the library's export table, sorted for lookups --- */

static const struct ko_export_entry **sorted;

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct ko_export_entry *const *)a)->name,
		      (*(const struct ko_export_entry *const *)b)->name);
}

static const struct ko_export_entry *library_export(const char *name)
{
	struct ko_export_entry key = { .name = name };
	const struct ko_export_entry *k = &key, **hit;

	hit = bsearch(&k, sorted, ksrv_nexports, sizeof(*sorted), by_name);
	return hit ? *hit : NULL;
}

/* the library's NAME, 0 if it has none */
static uint64_t library_address(const char *name)
{
	const struct ko_export_entry *e = library_export(name);

	return e ? (uint64_t)(uintptr_t)e->addr : 0;
}

/* an export of a module loaded before: its address, 0 if none has NAME */
static uint64_t module_export(const char *name, const struct ko_export **which)
{
	for (unsigned i = 0; i < nmods; i++) {
		const struct ko_image *img = &mods[i].file.img;
		const struct ko_export *x = ko_export_of(img, name);

		if (x) {
			if (which)
				*which = x;
			return ko_export_address(img, &mods[i].m, (unsigned)(x - img->exp));
		}
	}
	return 0;
}

/*
 * --allow-stubs: an import nobody provides is bound to a stub, a page of
 * its own in a reservation below 2 GiB that is never accessible: calling
 * it, reading or writing it stops the driver naming the import (on_fault,
 * or the translated engine through stub_name).
 */
#define MAX_STUBS 256
static const char *stub_names[MAX_STUBS];
static unsigned nstubs;
static uintptr_t stub_base;

const char *stub_name(unsigned long addr)
{
	if (!stub_base || addr < stub_base || addr >= stub_base + (uintptr_t)nstubs * 4096)
		return NULL;
	return stub_names[(addr - stub_base) / 4096];
}

static uint64_t stub_for(const struct ko_image *img, const char *name)
{
	for (unsigned i = 1; i < img->nsym; i++)	/* a weak import stays 0 */
		if (img->sym[i].shndx == SHN_UNDEF && img->sym[i].bind == STB_WEAK &&
		    !strcmp(img->sym[i].name, name))
			return 0;
	for (unsigned i = 0; i < nstubs; i++)
		if (!strcmp(stub_names[i], name))
			return stub_base + (uint64_t)i * 4096;
	if (!stub_base) {
		void *p = mmap(NULL, MAX_STUBS * 4096, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_32BIT, -1, 0);

		if (p == MAP_FAILED)
			return 0;
		stub_base = (uintptr_t)p;
	}
	if (nstubs == MAX_STUBS)
		return 0;	/* then it is missing, and listed as such */
	stub_names[nstubs] = name;
	return stub_base + (uint64_t)nstubs++ * 4096;
}

/* an import: the library's, else a module's loaded before (as Linux does),
 * else, with --allow-stubs, a stub. CTX: the module's image. */
static uint64_t resolve(void *ctx, const char *name)
{
	uint64_t a = library_address(name);

	if (!a)
		a = module_export(name, NULL);
	return a || !allow_stubs ? a : stub_for(ctx, name);
}

/* --- checks before a module is placed --- */

/*
 * Every __versions CRC against the provider's: a mismatch means the module
 * was built against other declarations than the library's (Linux refuses
 * it with "disagrees about version of symbol"). All are listed.
 */
static int check_versions(const struct ko_image *img, char *err, size_t len)
{
	size_t n = 0;
	unsigned bad = 0;

	for (unsigned i = 0; i < img->nver; i++) {
		const struct ko_version *v = &img->ver[i];
		const struct ko_export_entry *e = library_export(v->name);
		const struct ko_export *x = NULL;
		uint32_t have;

		if (!strcmp(v->name, "module_layout"))
			have = ksrv_module_layout;
		else if (e)
			have = e->crc;
		else if (module_export(v->name, &x) && x->has_crc)
			have = x->crc;
		else
			continue;	/* not provided: ko_load lists it as missing */
		if (have == v->crc)
			continue;
		if (!bad++)
			n = (size_t)snprintf(err, len, "modversions: the module disagrees about the "
					     "version of");
		if (n < len)
			n += (size_t)snprintf(err + n, len - n, " %s (module 0x%08x, here 0x%08x)",
					      v->name, v->crc, have);
	}
	return bad ? -1 : 0;
}

static int section_range(const struct host_module *hm, const char *name, void **addr,
			 unsigned long *size)
{
	int i = ko_section_index(&hm->file.img, name);

	*addr = NULL;
	*size = 0;
	if (i < 0 || !hm->m.addr[i])
		return 0;
	*addr = (void *)(uintptr_t)hm->m.addr[i];
	*size = hm->file.img.sec[i].size;
	return 1;
}

/*
 * Load the module at PATH and, first, what it depends on. 0, or -1 with
 * one line in ERR (which module and why).
 */
static int load_module(const char *path, unsigned depth, char *err, size_t len)
{
	struct host_module *hm;
	const struct ko_image *img;
	const char *name, *vermagic, *depends;
	char why[3072];
	size_t k = strlen(ksrv_kernel);
	int sec;

	if (depth > MAX_MODULES)
		return ko_fail(err, len, "%s: dependencies nest too deep (a loop?)", path);
	hm = calloc(1, sizeof(*hm));
	if (!hm)
		return ko_fail(err, len, "out of memory");
	snprintf(hm->path, sizeof(hm->path), "%s", path);
	if (ko_open(path, &hm->file, why, sizeof(why)) < 0) {
		free(hm);
		return ko_fail(err, len, "%s: %s", path, why);
	}
	img = &hm->file.img;
	name = ko_modinfo(img, "name", NULL);
	vermagic = ko_modinfo(img, "vermagic", NULL);
	depends = ko_modinfo(img, "depends", NULL);
	sec = ko_section_index(img, ".data..percpu");
	if (img->machine != EM_X86_64) {
		if (translated)
			ko_fail(err, len, "%s: a module for %s; the translated engine runs x86-64 "
			     "modules against this library (another ISA needs a service library "
			     "built from its kernel's headers)", path, ko_machine_name(img->machine));
		else
			ko_fail(err, len, "%s: a module for %s; the native engine runs x86-64 modules",
			     path, ko_machine_name(img->machine));
		goto out;
	}
	if (!name || !*name) {
		ko_fail(err, len, "%s: no module name in .modinfo", path);
		goto out;
	}
	if (depth == 0) {	/* a module the library holds from source is not run twice */
		char key[80];
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

		snprintf(key, sizeof(key), ",%.*s,", (int)strcspn(base, "."), base);
		if (strstr(ksrv_builtin, key)) {
			ko_fail(err, len, "%s: this host's library holds %.*s compiled from source; "
				"run a driver that uses it", path, (int)strlen(key) - 2, key + 1);
			goto out;
		}
	}
	for (unsigned i = 0; i < nmods; i++) {
		if (!strcmp(mods[i].name, name)) {	/* loaded already, as a dependency */
			ko_close(&hm->file);
			free(hm);
			return 0;
		}
	}
	if (!vermagic || strncmp(vermagic, ksrv_kernel, k) || vermagic[k] != ' ') {
		ko_fail(err, len, "%s: built for kernel '%s'; the service library is %s's", path,
		     vermagic ? vermagic : "(no vermagic)", ksrv_kernel);
		goto out;
	}
	if (sec >= 0 && img->sec[sec].size) {
		ko_fail(err, len, "%s: the module has per-cpu variables, which the host does not "
		     "place yet", path);
		goto out;
	}
	if (img->this_module < 0) {
		ko_fail(err, len, "%s: no struct module (.gnu.linkonce.this_module)", path);
		goto out;
	}
	if (depends && *depends) {
		char list[256], *save = NULL;

		snprintf(list, sizeof(list), "%s", depends);
		for (char *d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
			char dpath[PATH_MAX + 80], key[80];

			snprintf(key, sizeof(key), ",%s,", d);
			if (strstr(ksrv_builtin, key))
				continue;	/* compiled from source into the library */

			ko_dependency_path(path, d, dpath, sizeof(dpath));
			if (load_module(dpath, depth + 1, why, sizeof(why)) < 0) {
				ko_fail(err, len, "%s needs %s: %s", name, d, why);
				goto out;
			}
		}
	}
	if (nmods == MAX_MODULES) {
		ko_fail(err, len, "%s: more than %d modules", path, MAX_MODULES);
		goto out;
	}
	if (check_versions(img, why, sizeof(why)) < 0) {
		ko_fail(err, len, "%s: %s", path, why);
		goto out;
	}
	{
		unsigned before = nstubs;

		if (ko_load(img, resolve, (void *)img, &hm->m, why, sizeof(why)) < 0) {
			ko_fail(err, len, "%s: %s", path, why);
			goto out;
		}
		if (nstubs > before) {
			fprintf(stderr, "%s: %s: %u import(s) nobody provides bound to stubs that "
				"stop the driver when used (--allow-stubs):", prog, name,
				nstubs - before);
			for (unsigned i = before; i < nstubs; i++)
				fprintf(stderr, " %s", stub_names[i]);
			fprintf(stderr, "\n");
		}
	}
	hm->name = name;
	mods[nmods] = *hm;
	free(hm);
	hm = &mods[nmods];
	{
		struct ksrv_module *km = &ksrv_modules[nmods];

		km->name = hm->name;
		km->this_module = (void *)(uintptr_t)hm->m.this_module;
		section_range(hm, "__param", &km->params, &km->params_size);
		section_range(hm, "__bug_table", &km->bug_table, &km->bug_table_size);
	}
	ksrv_nmodules = ++nmods;
	return 0;
out:
	ko_close(&hm->file);
	free(hm);
	return -1;
}

/*
 * Whether the module's register writes may be posted: the same driver's
 * source recipe says so (the build lists them in share/dde/posted-writes;
 * see lx_kit/main.c). Otherwise each write waits for the device.
 */
static int posted_writes(const char *name)
{
	char exe[PATH_MAX], path[PATH_MAX + 64], line[128];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int yes = 0;
	FILE *f;

	if (n <= 0)
		return 0;
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(path, sizeof(path), "%s/../share/dde/posted-writes", exe);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!yes && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		yes = !strcmp(line, name);
	}
	fclose(f);
	return yes;
}

/* --- the translated engine --- */

static const struct ko_dbt_host dbt_host = {
	.lookup = library_address,
	.describe = describe,
	.bug = bug_at,
	.say = say,
	.stub_name = stub_name,
	.report_stub = report_stub,
};

/* `kill -USR1 PID`: what the engine did (make bench) */
static void on_usr1(int sig)
{
	struct ko_dbt_counts c;
	char line[200];
	int n;

	(void)sig;
	ko_dbt_counts(&c);
	n = snprintf(line, sizeof(line), "translated engine: %lu entries, %lu library calls, "
		     "%lu MMIO and %lu port I/O accesses emulated\n", c.entries, c.calls, c.mmio,
		     c.port);
	if (n > 0 && write(2, line, (size_t)n) < 0)
		return;
}

static int start_translated(char *err, size_t len)
{
	struct sigaction sa;

	if (ko_dbt_init(&dbt_host, err, len) < 0)
		return -1;
	for (unsigned m = 0; m < nmods; m++)
		if (ko_dbt_add_module(&mods[m].file.img, &mods[m].m, err, len) < 0)
			return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	return 0;
}

/* --- stopping: the modules' exit --- */

static sigset_t stop_signals;

/*
 * SIGTERM (dde run stopping its drivers, before the I/O server): the Linux
 * CPU runs each module's exit (dde_linux/ksrv/module.c) and the driver
 * stops. SIGTERM is blocked in every thread and taken here, so it never
 * interrupts module code; a second one while the exits run ends the
 * process at once. SIGINT keeps its default: Ctrl-C in a terminal reaches
 * every process of the session, the I/O server too, so there is no device
 * left to say goodbye to.
 */
static void *stop_thread(void *arg)
{
	struct lx_kit_event *ev = arg;
	int sig;

	if (sigwait(&stop_signals, &sig))
		return NULL;
	lx_kit_stopping_set();
	lx_kit_event_raise(ev);
	if (sigwait(&stop_signals, &sig))
		return NULL;
	say("stopping at once (%s again)", strsignal(sig));
	_exit(128 + sig);
}

static void stop_on_signals(void)
{
	struct lx_kit_event *ev = lx_kit_event_create(ksrv_stop, NULL);
	pthread_t t;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	if (!ev || pthread_sigmask(SIG_BLOCK, &stop_signals, NULL) ||
	    pthread_create(&t, NULL, stop_thread, ev)) {
		pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
		return;		/* then the signals end the process as before */
	}
	pthread_detach(t);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [--engine native|dbt] [--allow-stubs] [--check] MODULE.ko [PARAM=VALUE...]\n"
		"Run a binary Linux kernel module (and the modules it depends on, found\n"
		"beside it) against the %s service library of kernel %s, natively\n"
		"(the default) or translated by a CPU emulator (dbt). An import nobody\n"
		"provides refuses the module, unless --allow-stubs binds it to a stub\n"
		"that stops the driver, naming it, when the module uses it.\n"
		"Started by `dde run --driver ko:NAME[,PARAM=VALUE...]@SLOT`, or by hand\n"
		"with DDE_IO and DDE_DEVICES set. --check: read, check, place and link\n"
		"the modules, then exit (0: it loads) without starting any.\n",
		prog, ksrv_name, ksrv_kernel);
}

/* the companions of the loaded modules (ko_companion: sd_mod for scsi_mod, usbhid and
 * usb-storage for usbcore), and theirs */
static int load_companions(const char *driver, char *err, size_t len)
{
	for (unsigned m = 0; m < nmods; m++) {
		const char *c;

		for (unsigned nth = 0; (c = ko_companion(mods[m].name, nth)); nth++) {
			bool have = false;
			char path[PATH_MAX], want[64];

			/* module names: '-' and '_' are the same */
			snprintf(want, sizeof(want), "%s", c);
			for (char *p = want; *p; p++)
				*p = *p == '-' ? '_' : *p;
			for (unsigned k = 0; k < nmods; k++) {
				char have_name[64];

				snprintf(have_name, sizeof(have_name), "%s", mods[k].name);
				for (char *p = have_name; *p; p++)
					*p = *p == '-' ? '_' : *p;
				have |= !strcmp(have_name, want);
			}
			if (have)
				continue;
			ko_dependency_path(driver, c, path, sizeof(path));
			if (load_module(path, 0, err, len) < 0)
				return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *engine = "native";
	char err[4096];
	int i = 1, r, check = 0;

	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
			engine = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--allow-stubs")) {
			allow_stubs = 1;
			i++;
		} else if (!strcmp(argv[i], "--stubs") && i + 1 < argc &&
			   (!strcmp(argv[i + 1], "allow") || !strcmp(argv[i + 1], "refuse"))) {
			allow_stubs = !strcmp(argv[i + 1], "allow");	/* from dde run */
			i += 2;
		} else if (!strcmp(argv[i], "--check")) {
			check = 1;	/* read, check, place and link; run nothing */
			i++;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(engine, "dbt")) {
		translated = 1;
	} else if (strcmp(engine, "native")) {
		fprintf(stderr, "%s: unknown engine '%s' (native or dbt)\n", prog, engine);
		return 2;
	}

	sorted = malloc(ksrv_nexports * sizeof(*sorted));
	if (!sorted)
		return 1;
	for (unsigned e = 0; e < ksrv_nexports; e++)
		sorted[e] = &ksrv_exports[e];
	qsort(sorted, ksrv_nexports, sizeof(*sorted), by_name);
	by_address = malloc(ksrv_nexports * sizeof(*by_address));
	if (!by_address)
		return 1;
	memcpy(by_address, sorted, ksrv_nexports * sizeof(*by_address));
	qsort(by_address, ksrv_nexports, sizeof(*by_address), by_addr);

	if (load_module(argv[i], 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: cannot load: %s\n", prog, err);
		return 1;
	}
	unsigned main_mod = nmods - 1;

	if (load_companions(argv[i], err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: cannot load: %s\n", prog, err);
		return 1;
	}
	if (check) {
		unsigned relocs = 0;

		for (unsigned m = 0; m < nmods; m++)
			relocs += mods[m].m.relocs;
		printf("%s: %s loads: %u module(s), %u relocations\n", prog, mods[main_mod].name,
		       nmods, relocs);
		return 0;
	}
	ksrv_modules[main_mod].argc = argc - i - 1;
	ksrv_modules[main_mod].argv = argv + i + 1;
	snprintf(driver_name, sizeof(driver_name), "%s", mods[main_mod].name);
	for (unsigned m = 0; m < nmods; m++)
		fprintf(stderr, "%s: %s (%s) placed at %#lx, %zu bytes, %u relocations, "
			"%u call sites patched\n", prog, mods[m].name, mods[m].path,
			(unsigned long)mods[m].m.base, mods[m].m.size, mods[m].m.relocs,
			mods[m].m.patched);

	if (translated) {
		struct ko_dbt_counts c;

		if (start_translated(err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: translated engine: %s\n", prog, err);
			return 1;
		}
		ko_dbt_counts(&c);
		fprintf(stderr, "%s: translated engine (unicorn): %lu call sites bridged to %lu "
			"library functions\n", prog, c.bridged, c.bridges);
	}
	watch_module_code();
	stop_on_signals();	/* before any other thread exists */
	/* read before ddekit_init seals the sandbox: no files after it */
	int posted = posted_writes(driver_name);

	if (ddekit_init(driver_name))
		return 1;
	ddekit_io_set_posted(posted);
	{
		char *lx_argv[] = { argv[0], NULL };

		r = lx_emul_start(1, lx_argv);
	}
	ddekit_exit();
	return r;
}
