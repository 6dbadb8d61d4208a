/*
 * dde run's drivers: a --driver spec parsed and checked against the
 * machine and the driver index, a driver chosen for every other device,
 * and each started as a process of its own, with exactly its connections
 * (ddeio, its class server) and, unless --no-sandbox, in its sandbox.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/slot.h"
#include <ko/file.h>
#include "index.h"
#include "run.h"

static int class_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 6 && !strcmp(e->d_name + n - 6, ".class");
}

static int ko_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 3 && !strcmp(e->d_name + n - 3, ".ko");
}

/* a directory of the cache: $ENV, or what the build wrote into share/dde/NAME */
static int cache_dir(const char *env_name, const char *name, char *out, size_t cap)
{
	const char *env = getenv(env_name);
	char path[PATH_MAX], rel[64];
	FILE *f;

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	snprintf(rel, sizeof(rel), "../share/dde/%s", name);
	session_sibling(rel, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(out, (int)cap, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\n")] = 0;
	return 0;
}

/* where binary modules are: $DDE_KO_DIR, or where the build put them */
static int ko_dir(char *out, size_t cap)
{
	return cache_dir("DDE_KO_DIR", "ko-dir", out, cap);
}

/* The Linux drivers the build made: each has a NAME.class next to it. */
void list_linux_drivers(FILE *out)
{
	char dir[PATH_MAX], path[PATH_MAX + 256], cls[16];
	struct dirent **e;
	int n, shown = 0;

	session_sibling("../drivers", dir, sizeof(dir));
	n = scandir(dir, &e, class_file, alphasort);
	if (n <= 0) {
		fprintf(out, ".\n");
		return;
	}
	fprintf(out, "; Linux drivers built from source:");
	for (int i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, e[i]->d_name);
		cls[0] = 0;
		if ((f = fopen(path, "re"))) {
			if (fgets(cls, sizeof(cls), f))
				cls[strcspn(cls, "\n")] = 0;
			fclose(f);
		}
		e[i]->d_name[strlen(e[i]->d_name) - 6] = 0;
		if (strncmp(e[i]->d_name, "ko-", 3))	/* binary driver hosts: below */
			fprintf(out, "%s %s (%s)", shown++ ? "," : "", e[i]->d_name, cls);
		free(e[i]);
	}
	free(e);
	fprintf(out, ".\n");
	if (ko_dir(dir, sizeof(dir)) == 0 && (n = scandir(dir, &e, ko_file, alphasort)) > 0) {
		fprintf(out, "Binary modules (--driver ko:NAME): the %d of Debian's linux-image, in %s.\n",
			n, dir);
		for (int i = 0; i < n; i++)
			free(e[i]);
		free(e);
	}
}


static int find_driver(struct driver *d, const char *prog)
{
	const char *env = getenv("DDE_DRIVER_PATH");
	char dirs[PATH_MAX * 2], *save = NULL;

	if (env && *env) {
		snprintf(dirs, sizeof(dirs), "%s", env);
		for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			char name[sizeof(d->name)];

			snprintf(name, sizeof(name), "%s", prog);
			snprintf(d->path, sizeof(d->path), "%s/%s", dir, name);
			if (access(d->path, X_OK) == 0)
				return 0;
		}
	}
	char rel[128];

	snprintf(rel, sizeof(rel), "../drivers/%s", prog);
	session_sibling(rel, d->path, sizeof(d->path));
	return access(d->path, X_OK);
}

/* the driver index, read when first needed; NULL (after one line) if missing */
static const struct driver_index *the_index(void)
{
	static struct driver_index ix;
	static int state;	/* 0 not read, 1 read, -1 missing */
	char err[PATH_MAX + 64];

	if (!state) {
		state = index_load(&ix, err, sizeof(err)) ? -1 : 1;
		if (state < 0)
			fprintf(stderr, "dde run: %s\n", err);
	}
	return state > 0 ? &ix : NULL;
}

static struct dde_class *driver_class(struct driver *d);

/* where the UEFI drivers are: $DDE_EFI_DIR, or where the build put them */
static int efi_dir(char *out, size_t cap)
{
	return cache_dir("DDE_EFI_DIR", "efi-dir", out, cap);
}

static int parse_slots(struct driver *d, const char *spec, const char *slots_text);

/*
 * efi:NAME[+NAME...]@SLOT: UEFI drivers from Debian's OVMF (x64/NAME.efi
 * in the cache; ipxe-MODEL: iPXE's option ROM for MODEL) in one driver
 * host, connected to the device in the order given; or a file by path.
 */
static int parse_efi_driver(struct driver *d, const char *spec, const char *at)
{
	char names[sizeof(d->name)], dir[PATH_MAX], *save = NULL;
	bool net = false, aarch64 = !strncmp(d->name, "efi-aarch64:", 12);

	snprintf(names, sizeof(names), "%s", strchr(d->name, ':') + 1);
	if (!names[0] || memchr(spec, ',', (size_t)(at - spec))) {
		fprintf(stderr, "dde run: --driver '%s': efi: wants driver names joined by '+' "
			"(e.g. efi:NvmExpressDxe@00:04.0) and takes no parameters\n", spec);
		return -1;
	}
	d->nimages = 0;
	/* a path is one image (paths may hold '+': Debian's versions do) */
	for (char *n = strtok_r(names, strchr(names, '/') ? "" : "+", &save); n;
	     n = strtok_r(NULL, strchr(names, '/') ? "" : "+", &save)) {
		char *img = d->image[d->nimages];

		if (d->nimages == EFI_MAX_STACK) {
			fprintf(stderr, "dde run: --driver '%s': at most %d UEFI drivers in one "
				"host\n", spec, EFI_MAX_STACK);
			return -1;
		}
		if (strchr(n, '/')) {
			snprintf(img, PATH_MAX, "%s", n);
		} else if (efi_dir(dir, sizeof(dir))) {
			fprintf(stderr, "dde run: --driver '%s': where the UEFI drivers are is "
				"unknown (make fetches them; or set DDE_EFI_DIR)\n", spec);
			return -1;
		} else if (!strncmp(n, "ipxe-", 5) && aarch64) {
			fprintf(stderr, "dde run: --driver '%s': iPXE's option ROMs hold x86-64 "
				"drivers only (efi:%s)\n", spec, n);
			return -1;
		} else if (!strncmp(n, "ipxe-", 5)) {
			snprintf(img, PATH_MAX, "%.3900s/ipxe/%.64s.rom", dir, n + 5);
			net = true;
		} else {
			snprintf(img, PATH_MAX, "%.3900s/%s/%.64s.efi", dir, aarch64 ? "aa64" : "x64", n);
		}
		if (access(img, R_OK)) {
			fprintf(stderr, "dde run: --driver '%s': no UEFI driver %s (%s)\n", spec, img,
				strerror(errno));
			return -1;
		}
		char abs[PATH_MAX];

		if (realpath(img, abs))	/* the sandbox binds it at this path */
			snprintf(img, PATH_MAX, "%s", abs);
		d->nimages++;
	}
	if (parse_slots(d, spec, at + 1))
		return -1;
	/* named after the driver of the stack that serves the device's class
	 * (the last: VirtioBlkDxe of Virtio10+VirtioBlkDxe), as bddf and netd
	 * know it; a name's length is bounded there */
	{
		const char *last = strrchr(d->image[d->nimages - 1], '/');
		char base[40];

		snprintf(base, sizeof(base), "%s", last ? last + 1 : d->image[d->nimages - 1]);
		base[strcspn(base, ".")] = 0;
		snprintf(d->name, sizeof(d->name), "%s%s%s", aarch64 ? "efi-aarch64:" : "efi:",
			 net ? "ipxe-" : "", base);
	}
	if (find_driver(d, net ? "efi-net" : "efi-blk")) {
		fprintf(stderr, "dde run: --driver '%s': no UEFI driver host %s (looked for %s)\n",
			spec, net ? "efi-net" : "efi-blk", d->path);
		return -1;
	}
	char abs[PATH_MAX];

	if (realpath(d->path, abs))
		snprintf(d->path, sizeof(d->path), "%s", abs);
	d->args[0] = d->path;
	d->args[1] = "--engine";
	/* another ISA's code runs translated, whatever --engine says */
	d->args[2] = aarch64 ? "dbt" : run_opts.engine;
	for (int k = 0; k < d->nimages; k++)
		d->args[3 + k] = d->image[k];
	d->args[3 + d->nimages] = NULL;
	snprintf(d->instance, sizeof(d->instance), "%s@%s", d->name, d->slots);
	d->cls = driver_class(d);
	return 0;
}

/* check and normalise the slots of a --driver */
static int parse_slots(struct driver *d, const char *spec, const char *slots_text)
{
	char slots[128], *save = NULL;

	snprintf(slots, sizeof(slots), "%s", slots_text);
	d->slots[0] = 0;
	for (char *tok = strtok_r(slots, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint32_t bdf;
		char text[16];

		if (slot_parse(tok, &bdf)) {
			fprintf(stderr, "dde run: --driver '%s': bad slot '%s' (want BB:SS.F, e.g. 00:02.0)\n",
				spec, tok);
			return -1;
		}
		slot_format(bdf, text);
		snprintf(d->slots + strlen(d->slots), sizeof(d->slots) - strlen(d->slots), "%s%s",
			 d->slots[0] ? "," : "", text);
	}
	return 0;
}

int parse_driver(struct driver *d, const char *spec)
{
	const char *at = strrchr(spec, '@');
	char *save = NULL, *tok;
	size_t head;

	if (strlen(spec) >= sizeof(d->spec) || !at || at == spec || !at[1]) {
		fprintf(stderr, "dde run: --driver '%s': expected NAME@SLOT (e.g. selftest@00:02.0)\n",
			spec);
		return -1;
	}
	snprintf(d->spec, sizeof(d->spec), "%s", spec);
	head = (size_t)(at - spec);
	snprintf(d->argbuf, sizeof(d->argbuf), "%.*s", (int)head, spec);
	tok = strtok_r(d->argbuf, ",", &save);
	snprintf(d->name, sizeof(d->name), "%s", tok);
	bool ko = !strncmp(d->name, "ko:", 3);

	if (!strncmp(d->name, "efi:", 4) || !strncmp(d->name, "efi-aarch64:", 12))
		return parse_efi_driver(d, spec, at);
	if (ko ? !d->name[3] : strchr(d->name, '/') || d->name[0] == '.') {
		fprintf(stderr, "dde run: --driver '%s': %s\n", spec,
			ko ? "ko: wants a module name (e.g. ko:e1000@00:01.0)" : "a driver name, not a path");
		return -1;
	}
	/* a binary module runs in its class's driver host:
	 * ko-net --engine E --stubs S FILE P=V... */
	int first = ko ? 6 : 1;

	while ((tok = strtok_r(NULL, ",", &save)) && d->nargs < MAX_DRIVER_ARGS - 2)
		d->args[first + d->nargs++] = tok;
	if (parse_slots(d, spec, at + 1))
		return -1;
	if (ko) {
		char mod[sizeof(d->name)], dir[PATH_MAX];

		snprintf(mod, sizeof(mod), "%s", d->name + 3);
		if (strchr(mod, '/')) {
			snprintf(d->module, sizeof(d->module), "%s", mod);
		} else if (ko_dir(dir, sizeof(dir)) == 0) {
			snprintf(d->module, sizeof(d->module), "%s/%s.ko", dir, mod);
		} else {
			fprintf(stderr, "dde run: --driver '%s': where binary modules are is unknown "
				"(make fetches them; or set DDE_KO_DIR)\n", spec);
			return -1;
		}
		if (access(d->module, R_OK)) {
			fprintf(stderr, "dde run: --driver '%s': no binary module %s (%s)\n", spec,
				d->module, strerror(errno));
			return -1;
		}
		char abs[PATH_MAX];

		if (realpath(d->module, abs))	/* the sandbox binds it at this path */
			snprintf(d->module, sizeof(d->module), "%s", abs);
	}
	/* a binary module runs in the driver host of its class (ko-net, ...) */
	char prog[sizeof(d->name)];

	snprintf(prog, sizeof(prog), "%s", d->name);
	if (ko && !strchr(d->name, '/')) {
		const struct index_line *l = the_index() ? index_find(the_index(), d->name + 3, false)
							  : NULL;

		if (l && !strcmp(l->cls, "-")) {
			fprintf(stderr, "dde run: --driver '%s': %s drives no kind of device a dde "
				"class server serves (net, block, sound, usb)\n", spec, d->name + 3);
			return -1;
		}
		snprintf(prog, sizeof(prog), "ko-%.8s", l ? l->cls : "net");
	} else if (ko) {
		snprintf(prog, sizeof(prog), "ko-net");	/* a module file given by path */
	}
	if (find_driver(d, prog)) {
		if (ko)
			fprintf(stderr, "dde run: --driver '%s': no driver host for binary %s modules "
				"yet (looked for %s)\n", spec, prog + 3, d->path);
		else
			fprintf(stderr, "dde run: --driver '%s': no driver '%s' (looked for %s; "
				"`dde drivers` shows which drivers claim a device)\n", spec, d->name,
				d->path);
		return -1;
	}
	{
		/* absolute: the sandbox binds it at this path, exec runs from "/" */
		char abs[PATH_MAX];

		if (realpath(d->path, abs))
			snprintf(d->path, sizeof(d->path), "%s", abs);
	}
	d->args[0] = d->path;
	if (ko) {
		d->args[1] = "--engine";
		d->args[2] = run_opts.engine;	/* as --engine says, before or after --driver */
		d->args[3] = "--stubs";
		d->args[4] = run_opts.stubs;	/* likewise --allow-stubs */
		d->args[5] = d->module;
	}
	d->args[first + d->nargs] = NULL;
	snprintf(d->instance, sizeof(d->instance), "%s@%s", d->name, d->slots);
	d->cls = driver_class(d);
	return 0;
}

/* A driver's class, written next to it by the build (NAME.class): the
 * class server it attaches to, or NULL (a driver of no class: selftest). */
/* The class servers driver @d attaches to: its NAME.class file names one
 * or two ("input block": a USB host's); the second into d->also. */
static struct dde_class *driver_class(struct driver *d)
{
	char path[PATH_MAX + 8], line[64] = "", first[16] = "", second[16] = "";
	FILE *f;

	d->also = NULL;
	snprintf(path, sizeof(path), "%s.class", d->path);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	if (sscanf(line, "%15s %15s", first, second) == 2)
		d->also = class_find(second);
	return class_find(first);
}

static bool slot_claimed(const struct driver *drv, int ndrv, uint32_t bdf)
{
	for (int i = 0; i < ndrv; i++) {
		char slots[128], *save = NULL;

		snprintf(slots, sizeof(slots), "%s", drv[i].slots);
		for (char *tok = strtok_r(slots, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			uint32_t b;

			if (!slot_parse(tok, &b) && b == bdf)
				return true;
		}
	}
	return false;
}

/* Every slot the drivers name must exist on the machine (@devs, @n). */
/* Whether driver D's PCI ids (the index's) take device DEV; a driver the
 * index does not know (selftest, one from $DDE_DRIVER_PATH, a module given
 * by path) is trusted. */
static bool claims(const struct driver *d, const struct ddeio_device *dev)
{
	const struct driver_index *ix = the_index();
	bool ko = !strncmp(d->name, "ko:", 3);
	const char *name = ko ? d->name + 3 : d->name;
	struct candidate c[32];
	char alias[96];
	unsigned n;

	if (!ix || strchr(name, '/') || !index_find(ix, name, !ko))
		return true;
	index_modalias(dev, alias, sizeof(alias));
	n = index_match(ix, alias, c, 32);
	for (unsigned i = 0; i < n; i++)
		if (c[i].source == !ko && !strcmp(c[i].name, name))
			return true;
	return false;
}

int check_slots(const struct ddeio_device *devs, int n, struct driver *drv, int ndrv)
{
	for (int i = 0; i < ndrv; i++) {
		char slots[128], *save = NULL;

		snprintf(slots, sizeof(slots), "%s", drv[i].slots);
		for (char *tok = strtok_r(slots, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			uint32_t bdf;
			int k;

			slot_parse(tok, &bdf);
			for (k = 0; k < n && devs[k].bdf != bdf; k++)
				;
			if (k == n) {
				fprintf(stderr, "dde run: --driver '%s': the machine has no device at %s "
					"(see dde lspci with the same machine options)\n",
					drv[i].spec, tok);
				return -1;
			}
			if (!claims(&drv[i], &devs[k])) {
				fprintf(stderr, "dde run: --driver '%s': %s claims no device like the one "
					"at %s [%04x:%04x] (`dde drivers %s` lists those that do)\n",
					drv[i].spec, drv[i].name, tok, devs[k].vendor, devs[k].device, tok);
				return -1;
			}
		}
	}
	return 0;
}

/* A chipset's own disk controller (q35's AHCI) with no --disk on it: no driver. */
static bool idle_builtin_controller(const struct ddeio_device *d, const struct machine_config *cfg)
{
	for (unsigned i = 0; i < machine_nmodels; i++) {
		const struct machine_model *m = &machine_models[i];

		if (m->cls != MODEL_DISK || !(m->flags & MODEL_BUILTIN) || m->vendor != d->vendor ||
		    m->device != d->device)
			continue;
		for (unsigned k = 0; k < cfg->ndisks; k++)
			if (cfg->disk[k].dev.model == m)
				return false;
		return true;
	}
	return false;
}

/*
 * Every device no --driver names gets the driver the index chooses for it
 * (source first, binary modules first with --prefer ko), unless --manual;
 * a device nothing runnable claims is listed as such, in one line.
 */
int auto_drivers(const struct ddeio_device *devs, int n, const struct machine_config *cfg,
			struct driver *drv, int *ndrv)
{
	const struct driver_index *ix = the_index();

	if (!ix)
		return -1;
	for (int k = 0; k < n; k++) {
		struct candidate c[32];
		const struct candidate *pick;
		char alias[96], slot[16], spec[160], why[PATH_MAX + 64] = "";
		unsigned nc;

		if (slot_claimed(drv, *ndrv, devs[k].bdf))
			continue;
		slot_format(devs[k].bdf, slot);
		index_modalias(&devs[k], alias, sizeof(alias));
		nc = index_match(ix, alias, c, 32);
		pick = index_choose(c, nc, run_opts.prefer_ko);
		if (!pick) {
			/* the chipset's bridges and SMBus say nothing: nobody expects a driver */
			if (nc && strcmp(c[0].cls, "-"))
				index_runnable(&c[0], why, sizeof(why));
			if (why[0])
				fprintf(stderr, "dde: %s [%04x:%04x]: no driver started (%s%s: %s)\n",
					slot, devs[k].vendor, devs[k].device, c[0].source ? "" : "ko:",
					c[0].name, why);
			else if (!nc && (devs[k].class_code >> 16) != 0x06)
				fprintf(stderr, "dde: %s [%04x:%04x]: no driver claims it\n", slot,
					devs[k].vendor, devs[k].device);
			continue;
		}
		if (!strcmp(pick->cls, "block") && idle_builtin_controller(&devs[k], cfg))
			continue;
		if (*ndrv == MAX_DRIVERS) {
			fprintf(stderr, "dde run: at most %d drivers\n", MAX_DRIVERS);
			return -1;
		}
		snprintf(spec, sizeof(spec), "%s%s@%s", pick->source ? "" : "ko:", pick->name, slot);
		if (parse_driver(&drv[*ndrv], spec))
			return -1;
		fprintf(stderr, "dde: %s [%04x:%04x]: driver %s%s\n", slot, devs[k].vendor,
			devs[k].device, pick->source ? "" : "ko:", pick->name);
		(*ndrv)++;
	}
	return 0;
}


/*
 * The driver's connections, opened on the servers' control channels: to
 * ddeio, on which it may claim exactly its slots, and to its class server
 * (netd: as its interface; bddf: as its instance). 0, or -1 after one line.
 */
static int open_channels(struct session *s, struct driver *d)
{
	uint32_t bdf[DDEIO_MAX_DEVICES];
	unsigned ndev = 0;
	char slots[128], *save = NULL;

	d->class_fd = d->also_fd = -1;
	snprintf(slots, sizeof(slots), "%s", d->slots);
	for (char *tok = strtok_r(slots, ",", &save); tok && ndev < DDEIO_MAX_DEVICES;
	     tok = strtok_r(NULL, ",", &save))
		if (!slot_parse(tok, &bdf[ndev]))
			ndev++;
	d->io_fd = session_channel(s, d->instance, bdf, ndev);
	if (d->io_fd < 0)
		return -1;
	/* dde's own channel to it (dde pm): a new one each start */
	if (d->ctl) {
		close(d->ctl_fd);
		d->ctl = false;
	}
	d->suspended = false;
	{
		int sp[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
			fprintf(stderr, "dde run: socketpair: %s\n", strerror(errno));
			close(d->io_fd);
			return -1;
		}
		d->ctl_fd = sp[0];
		d->ctl_peer = sp[1];
		d->ctl = true;
	}
	if (class_connect(d)) {
		close(d->io_fd);
		d->io_fd = -1;
		close(d->ctl_fd);
		close(d->ctl_peer);
		d->ctl = false;
		return -1;
	}
	return 0;
}

/* A binary module and what it depends on, found as the driver host finds them. */
static int sandbox_add_module(struct sandbox *sb, const char *path, int depth, char *err,
			      size_t cap)
{
	struct ko_file f;
	const char *depends, *name, *companion;
	char why[512], list[320], *save = NULL;

	if (depth > 16 || sandbox_add_file(sb, path, err, cap))
		return depth > 16 ? 0 : -1;
	if (ko_open(path, &f, why, sizeof(why)) < 0)
		return 0;	/* the host says what is wrong with it */
	depends = ko_modinfo(&f.img, "depends", NULL);
	name = ko_modinfo(&f.img, "name", NULL);
	/* the companions the host loads too (scsi_mod's sd_mod), as dependencies */
	snprintf(list, sizeof(list), "%s", depends ? depends : "");
	for (unsigned nth = 0; name && (companion = ko_companion(name, nth)); nth++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 list[0] ? "," : "", companion);
	ko_close(&f);
	for (char *dep = strtok_r(list, ",", &save); dep; dep = strtok_r(NULL, ",", &save)) {
		char dpath[PATH_MAX + 80];

		ko_dependency_path(path, dep, dpath, sizeof(dpath));
		if (access(dpath, R_OK) == 0 && sandbox_add_module(sb, dpath, depth + 1, err, cap))
			return -1;
	}
	return 0;
}

/* A sanitizer's report directory (log_path=DIR/PREFIX in $ASAN_OPTIONS
 * or $UBSAN_OPTIONS): the one place a sandboxed driver may write. */
static char *sanitizer_report_dir(void)
{
	const char *vars[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS" };

	for (unsigned i = 0; i < 2; i++) {
		const char *o = getenv(vars[i]), *p = o ? strstr(o, "log_path=") : NULL;
		char dir[PATH_MAX], *slash;

		if (!p)
			continue;
		p += strlen("log_path=");
		snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(p, ": "), p);
		slash = strrchr(dir, '/');
		if (dir[0] != '/' || !slash || slash == dir)
			continue;
		*slash = 0;
		return strdup(dir);
	}
	return NULL;
}

/* What driver @d (the @index-th) may see and be, decided before it starts. */
static int sandbox_plan(struct driver *d, int index)
{
	struct sandbox *sb = &d->sb;
	char err[PATH_MAX + 200], path[PATH_MAX];

	memset(sb, 0, sizeof(*sb));
	sb->uid = sb->gid = SANDBOX_UID_BASE + 16u * (unsigned)getpid() + (unsigned)index;
	if (sandbox_add_program(sb, d->path, err, sizeof(err)))
		goto fail;
	/* how many CPUs (glibc's sysconf; ddekit busy-polls only with more than 2) */
	if (access("/sys/devices/system/cpu/online", R_OK) == 0 &&
	    sandbox_add_file(sb, "/sys/devices/system/cpu/online", err, sizeof(err)))
		goto fail;
	for (int k = 0; k < d->nimages; k++)
		if (sandbox_add_file(sb, d->image[k], err, sizeof(err)))
			goto fail;
	if (d->module[0]) {
		if (sandbox_add_module(sb, d->module, 0, err, sizeof(err)))
			goto fail;
		/* the driver host reads which modules may post their writes */
		session_sibling("../share/dde/posted-writes", path, sizeof(path));
		if (access(path, R_OK) == 0 && sandbox_add_file(sb, path, err, sizeof(err)))
			goto fail;
	}
	sb->writable_dir = sanitizer_report_dir();
	return 0;
fail:
	fprintf(stderr, "dde run: driver %s: %s\n", d->instance, err);
	return -1;
}

/*
 * Start driver @d: its connections become descriptors 3 (ddeio) and 4
 * (its class server), nothing else is inherited, and unless --no-sandbox
 * it enters its sandbox before exec.
 */
static pid_t start_driver(struct driver *d)
{
	pid_t parent = getpid(), pid = fork();
	char err[512];
	sigset_t none;
	int io, cls, also, ctl;

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* out of the way of 3 to 6 first, then there; the rest closed */
	io = fcntl(d->io_fd, F_DUPFD, 10);
	cls = d->class_fd >= 0 ? fcntl(d->class_fd, F_DUPFD, 10) : -1;
	also = d->also_fd >= 0 ? fcntl(d->also_fd, F_DUPFD, 10) : -1;
	ctl = fcntl(d->ctl_peer, F_DUPFD, 10);
	if (io < 0 || ctl < 0 || dup2(io, 3) != 3 || (cls >= 0 && dup2(cls, 4) != 4) ||
	    dup2(ctl, 5) != 5 || (also >= 0 && dup2(also, 6) != 6)) {
		fprintf(stderr, "dde run: driver %s: its descriptors: %s\n", d->instance,
			strerror(errno));
		_exit(127);
	}
	if (cls < 0)
		close(4);
	if (also < 0)
		close(6);
	close_range(7, ~0U, 0);
	setenv("DDE_IO", "fd:3", 1);
	setenv("DDE_CONTROL", "fd:5", 1);
	setenv("DDE_DEVICES", d->slots, 1);
	setenv("DDE_DRIVER", d->instance, 1);
	if (d->cls) {
		char var[64];

		setenv(d->cls->env, "fd:4", 1);
		snprintf(var, sizeof(var), "%s_NAME", d->cls->env);
		if (d->unit[0])
			setenv(var, d->unit, 1);
	}
	if (d->also && also >= 0)
		setenv(d->also->env, "fd:6", 1);
	if (!run_opts.no_sandbox) {
		if (sandbox_enter(&d->sb, err, sizeof(err))) {
			fprintf(stderr, "dde run: driver %s: %s\n", d->instance, err);
			_exit(127);
		}
		/* a new user cleared the parent-death signal */
		if (getppid() != parent)
			_exit(1);
		setenv("DDE_SANDBOX", "1", 1);
	}
	execv(d->path, d->args);
	fprintf(stderr, "dde run: cannot start %s: %s\n", d->path, strerror(errno));
	_exit(127);
}

int launch_driver(struct session *s, struct driver *d, int index)
{
	if (!run_opts.no_sandbox && sandbox_plan(d, index))
		return -1;
	return respawn_driver(s, d);
}

int respawn_driver(struct session *s, struct driver *d)
{
	if (open_channels(s, d))
		return -1;
	d->pid = start_driver(d);
	close(d->io_fd);
	close(d->ctl_peer);
	if (d->class_fd >= 0)
		close(d->class_fd);
	if (d->also_fd >= 0)
		close(d->also_fd);
	if (d->pid < 0) {
		fprintf(stderr, "dde run: driver %s: fork: %s\n", d->instance, strerror(errno));
		d->pid = 0;
		return -1;
	}
	d->state = DRV_RUNNING;
	if (d->restarts) {
		fprintf(stderr, "dde: restarted driver %s@%s (pid %d, restart %u)\n", d->name,
			d->slots, (int)d->pid, d->restarts);
		return 0;
	}
	if (d->unit[0])
		fprintf(stderr, "dde: %s %s is driver %s@%s\n", d->cls->unit_kind, d->unit,
			d->name, d->slots);
	fprintf(stderr, "dde: started driver %s@%s (pid %d)\n", d->name, d->slots, (int)d->pid);
	return 0;
}

void describe_exit(const struct driver *d)
{
	if (WIFEXITED(d->status))
		fprintf(stderr, "dde: driver %s@%s exited with status %d\n", d->name, d->slots,
			WEXITSTATUS(d->status));
	else if (WIFSIGNALED(d->status))
		fprintf(stderr, "dde: driver %s@%s was killed by signal %d (%s)%s; its devices are free again\n",
			d->name, d->slots, WTERMSIG(d->status), strsignal(WTERMSIG(d->status)),
			WTERMSIG(d->status) == SIGSYS ? ": a system call its sandbox does not allow" : "");
}

void stop_drivers(struct driver *drv, int ndrv)
{
	for (int i = 0; i < ndrv; i++)
		if (drv[i].pid > 0)
			kill(drv[i].pid, SIGTERM);
	for (int t = 0; t < 200; t++) {
		int left = 0;

		for (int i = 0; i < ndrv; i++) {
			if (drv[i].pid > 0 && waitpid(drv[i].pid, &drv[i].status, WNOHANG) == drv[i].pid)
				drv[i].pid = 0;
			left += drv[i].pid > 0;
		}
		if (!left)
			return;
		usleep(10000);
	}
	for (int i = 0; i < ndrv; i++) {
		if (drv[i].pid > 0) {
			kill(drv[i].pid, SIGKILL);
			waitpid(drv[i].pid, &drv[i].status, 0);
			drv[i].pid = 0;
		}
	}
}
