/*
 * dde run: start the machine and the I/O server in the foreground, start
 * each --driver as its own process with its devices, log, and stop
 * everything on Ctrl-C or when the last driver has exited.
 *
 * Each driver gets its connections to ddeio and to its class server as
 * descriptors dde opened for it on the servers' control channels (the
 * only connections on which it may claim its devices or serve its disks
 * or interface), and runs in a sandbox (sandbox.c) unless --no-sandbox.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../common/access.h"
#include "../../common/seqpacket.h"
#include "../../common/slot.h"
#include "../../ddekit/client.h"
#include "../../libddeblk/chan.h"
#include "../../libddenet/ring.h"
#include <ko/file.h>
#include "dde.h"
#include "index.h"
#include "sandbox.h"
#include "session.h"

#define MAX_DRIVERS 16
#define MAX_DRIVER_ARGS 16

struct driver {
	char spec[256];		/* as given: NAME[,ARG...]@SLOT[,SLOT...] */
	char name[64];
	char path[PATH_MAX];
	char slots[128];	/* "00:02.0,00:03.0" */
	char module[PATH_MAX + 80];	/* ko:NAME: the binary module's file */
	char *args[MAX_DRIVER_ARGS + 6];
	int nargs;
	char argbuf[256];
	pid_t pid;
	int status;
	char netname[16];	/* a network driver's interface at netd: net0, net1, ... */
	bool block;		/* a disk driver: attaches to bddf */
	char instance[200];	/* NAME@SLOTS: how the driver names itself (DDE_DRIVER) */
	int io_fd, class_fd;	/* its connections to ddeio and to netd or bddf */
	struct sandbox sb;
};

/* the execution engine of binary modules (--engine) */
static char engine[16] = "native";
/* what a binary module's missing imports get (--allow-stubs) */
static char stubs[8] = "refuse";
/* --no-sandbox: drivers run as dde's user, unconfined, and may be started by hand */
static bool no_sandbox;
/* --manual: only the --driver ones; --prefer ko: binary modules first */
static bool manual, prefer_ko;
/* --allow-user, --allow-group: who else may connect to the servers */
static struct access_policy access_policy;

/* A class server: the network server, started when a network driver
 * runs; the block server, when a disk driver runs. */
struct server {
	const char *prog, *tag;
	char socket[108];
	char *argv[2 * MAX_DRIVERS + 24];	/* --expect per driver, --depth, 8 --fault */
	int argc;
	pid_t pid;
	int control;		/* our end of its control channel */
};
static struct server netd = { .prog = "netd", .tag = "net", .control = -1 };
static struct server bddf = { .prog = "bddf", .tag = "blk", .control = -1 };
/* --depth: bddf's requests in flight per disk driver */
static char *blk_depth;

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

/* where binary modules are: $DDE_KO_DIR, or where the build put them */
static int ko_dir(char *out, size_t cap)
{
	const char *env = getenv("DDE_KO_DIR");
	char path[PATH_MAX];
	FILE *f;

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	session_sibling("../share/dde/ko-dir", path, sizeof(path));
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

/* The Linux drivers the build made: each has a NAME.class next to it. */
static void list_linux_drivers(FILE *out)
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

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde run [machine options] [--driver NAME[,ARG...]@SLOT[,SLOT...] ...]\n"
		"\n"
		"Start the machine and its I/O server, then each driver as a process of its\n"
		"own holding exactly the devices at SLOT (as `dde lspci` shows them). Runs\n"
		"until Ctrl-C, or until the last driver exits. Every device no --driver\n"
		"names gets the driver the driver index chooses (`dde drivers` shows it):\n"
		"the one built from source if any, else Debian's binary module.\n"
		"  --prefer ko                binary modules before source drivers\n"
		"  --manual                   start only the --driver ones (none: the machine\n"
		"                             waits for drivers started by hand; it prints how)\n"
		"  --driver NAME@SLOT         run driver NAME (a program in build/drivers/,\n"
		"                             or in $DDE_DRIVER_PATH) for the device at SLOT;\n"
		"                             ARGs after a comma are passed to the driver;\n"
		"                             for a Linux driver, module parameters P=V\n"
		"                             (e.g. --driver 8139cp,debug=16@00:01.0)\n"
		"  --driver ko:MODULE[,P=V...]@SLOT  run Debian's binary MODULE.ko (and the\n"
		"                             modules it depends on) in a driver host\n"
		"  --engine native|dbt        how binary modules run: natively in user mode\n"
		"                             (port I/O and MMIO trapped and emulated), or\n"
		"                             translated by a CPU emulator (unicorn)\n"
		"  --allow-stubs              bind a binary module's imports that nobody\n"
		"                             provides to stubs that stop the driver, naming\n"
		"                             the import, when used (default: refuse it)\n"
		"Network drivers attach their interface (net0, net1, ... in --driver order)\n"
		"to the network server, netd; clients open it with libddenet (DDE_NET):\n"
		"  --net-socket PATH          netd's socket (default @dde-net-PID)\n"
		"  --tap [IF=]NAME            export IF (default net0) as TAP device NAME\n"
		"  --pcap [IF=]FILE           capture IF's frames, both ways, into FILE\n"
		"Disk drivers attach their disks to the block server, bddf, which names disks and partitions (sda1,\n"
		"nvme0n1p2) across drivers; clients open them with libddeblk (DDE_BLK),\n"
		"`dde disks` lists them:\n"
		"  --blk-socket PATH          bddf's socket (default @dde-blk-PID)\n"
		"  --depth N                  requests in flight per disk driver (default 32)\n"
		"  --blk-fault drop-write=DISK:SECTOR  fault injection: writes covering\n"
		"                             SECTOR of DISK are acknowledged, not done\n"
		"Every driver runs in a sandbox: a user of its own, no file system but its\n"
		"program and libraries, no network, a system-call filter; it holds only the\n"
		"connections dde opened for it. The servers admit only this user and root:\n"
		"  --allow-user U, --allow-group G   admit user U / group G as well (clients\n"
		"                             of bddf, netd and ddeio; repeatable)\n"
		"  --no-sandbox               DEBUGGING ONLY: drivers run unconfined as this\n"
		"                             user, and drivers started by hand (gdb, valgrind)\n"
		"                             may claim devices and attach to the servers\n"
		"\n"
		"Drivers available: selftest (register read, interrupt and DMA self-test of\n"
		"e1000, NVMe and AHCI devices)");
	list_linux_drivers(out);
	fprintf(out, "\n%s", machine_options_help);
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

static int parse_driver(struct driver *d, const char *spec)
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
	/* check and normalise the slots */
	char slots[128];

	snprintf(slots, sizeof(slots), "%s", at + 1);
	d->slots[0] = 0;
	save = NULL;
	for (tok = strtok_r(slots, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
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
				"class server serves (net, block)\n", spec, d->name + 3);
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
		d->args[2] = engine;	/* as --engine says, before or after --driver */
		d->args[3] = "--stubs";
		d->args[4] = stubs;	/* likewise --allow-stubs */
		d->args[5] = d->module;
	}
	d->args[first + d->nargs] = NULL;
	snprintf(d->instance, sizeof(d->instance), "%s@%s", d->name, d->slots);
	return 0;
}

/* A driver's class, written next to it by the build (NAME.class). */
static bool driver_class(const struct driver *d, const char *want)
{
	char path[PATH_MAX + 8], cls[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s.class", d->path);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(cls, sizeof(cls), f))
		cls[0] = 0;
	fclose(f);
	cls[strcspn(cls, "\n")] = 0;
	return !strcmp(cls, want);
}

/* --tap/--pcap [IF=]VALUE -> netd's IF=VALUE */
static int netd_export(const char *opt, const char *arg)
{
	char buf[256];
	const char *eq = strchr(arg, '=');

	if (!*arg || (eq && (eq == arg || !eq[1])) || strlen(arg) > 200) {
		fprintf(stderr, "dde run: --%s '%s': expected [IF=]VALUE\n", opt, arg);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s%s", eq ? "" : "net0=", arg);
	if (netd.argc + 2 >= (int)(sizeof(netd.argv) / sizeof(netd.argv[0])) - 1) {
		fprintf(stderr, "dde run: too many --tap/--pcap\n");
		return -1;
	}
	netd.argv[netd.argc++] = strdup(opt[0] == 't' ? "--tap" : "--pcap");
	netd.argv[netd.argc++] = strdup(buf);
	return 0;
}

/*
 * Start a class server (netd, bddf) with its socket and its control
 * channel; wait until it accepts.
 */
static int start_server(struct server *sv)
{
	char path[PATH_MAX], ctltext[16];
	pid_t parent = getpid();
	int ctl[2];

	session_sibling(sv->prog, path, sizeof(path));
	if (!sv->socket[0])
		snprintf(sv->socket, sizeof(sv->socket), "@dde-%s-%d", sv->tag, (int)parent);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl))
		return -1;
	snprintf(ctltext, sizeof(ctltext), "%d", ctl[1]);
	sv->pid = fork();
	if (sv->pid == 0) {
		char *argv[sizeof(sv->argv) / sizeof(sv->argv[0]) + 2 * ACCESS_MAX + 8];
		sigset_t none;
		int n = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fcntl(ctl[1], F_SETFD, 0);
		argv[n++] = path;
		argv[n++] = "--socket";
		argv[n++] = sv->socket;
		argv[n++] = "--control-fd";
		argv[n++] = ctltext;
		if (no_sandbox)
			argv[n++] = "--open-drivers";
		n += access_argv(&access_policy, argv + n, 2 * ACCESS_MAX);
		for (int i = 0; i < sv->argc; i++)
			argv[n++] = sv->argv[i];
		argv[n] = NULL;
		execv(path, argv);
		fprintf(stderr, "dde run: cannot start %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(ctl[1]);
	sv->control = ctl[0];
	if (sv->pid < 0)
		return -1;
	/* serving once its socket accepts */
	for (int t = 0; t < 500; t++) {
		int fd = seqpacket_connect(sv->socket);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (waitpid(sv->pid, NULL, WNOHANG) == sv->pid) {
			sv->pid = 0;
			return -1;
		}
		usleep(10000);
	}
	return -1;
}

static void stop_server(struct server *sv)
{
	if (sv->control >= 0) {
		close(sv->control);
		sv->control = -1;
	}
	if (sv->pid <= 0)
		return;
	kill(sv->pid, SIGTERM);
	for (int t = 0; t < 200 && waitpid(sv->pid, NULL, WNOHANG) != sv->pid; t++)
		usleep(10000);
	if (waitpid(sv->pid, NULL, WNOHANG) == 0) {
		kill(sv->pid, SIGKILL);
		waitpid(sv->pid, NULL, 0);
	}
	sv->pid = 0;
}

/* The machine's devices, as ddeio lists them: how many (at most @max). */
static int list_devices(struct session *s, struct ddeio_device *devs, unsigned max)
{
	unsigned n = 0;
	uint64_t total = 1;

	if (ddeio_connect(s->socket, "dde-run", NULL, 0)) {
		fprintf(stderr, "dde run: %s\n", ddekit_last_error());
		return -1;
	}
	while (n < total && n < max) {
		struct ddeio_msg m = { .op = DDEIO_OP_LIST, .addr = n };
		size_t len = (max - n) * sizeof(devs[0]);

		if (len > DDEIO_MAX_PAYLOAD)
			len = DDEIO_MAX_PAYLOAD;
		if (ddeio_call(&m, NULL, 0, &devs[n], &len) || len < sizeof(devs[0]))
			break;
		total = m.value;
		n += (unsigned)(len / sizeof(devs[0]));
	}
	ddeio_disconnect();
	return (int)n;
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

static int check_slots(const struct ddeio_device *devs, int n, struct driver *drv, int ndrv)
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
static int auto_drivers(const struct ddeio_device *devs, int n, const struct machine_config *cfg,
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
		pick = index_choose(c, nc, prefer_ko);
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
 * ddeio, on which it may claim exactly its slots, and to netd (as its
 * interface) or bddf (as its instance). 0, or -1 after one line.
 */
static int open_channels(struct session *s, struct driver *d)
{
	uint32_t bdf[DDEIO_MAX_DEVICES];
	unsigned ndev = 0;
	char slots[128], *save = NULL;
	struct server *sv = d->block ? &bddf : d->netname[0] ? &netd : NULL;
	int sp[2];

	d->io_fd = d->class_fd = -1;
	snprintf(slots, sizeof(slots), "%s", d->slots);
	for (char *tok = strtok_r(slots, ",", &save); tok && ndev < DDEIO_MAX_DEVICES;
	     tok = strtok_r(NULL, ",", &save))
		if (!slot_parse(tok, &bdf[ndev]))
			ndev++;
	d->io_fd = session_channel(s, d->instance, bdf, ndev);
	if (d->io_fd < 0)
		return -1;
	if (!sv)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		fprintf(stderr, "dde run: socketpair: %s\n", strerror(errno));
		return -1;
	}
	if (d->block) {
		struct ddeblk_msg m = { .magic = DDEBLK_MAGIC, .version = DDEBLK_VERSION,
					.type = DDEBLK_MSG_CHANNEL, .value = DDEBLK_ROLE_DRIVER };

		snprintf(m.name, sizeof(m.name), "%s", d->instance);
		if (strlen(d->instance) >= sizeof(m.name))
			fprintf(stderr, "dde: driver %s is known to the block server as %s\n",
				d->instance, m.name);
		if (seqpacket_send(sv->control, &m, sizeof(m), &sp[0], 1))
			goto lost;
	} else {
		struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
					.type = DDENET_CHANNEL, .value = DDENET_ROLE_DRIVER };

		snprintf(m.ifname, sizeof(m.ifname), "%s", d->netname);
		if (seqpacket_send(sv->control, &m, sizeof(m), &sp[0], 1))
			goto lost;
	}
	close(sp[0]);
	d->class_fd = sp[1];
	return 0;
lost:
	fprintf(stderr, "dde run: the %s server did not take a connection for %s\n", sv->tag,
		d->instance);
	close(sp[0]);
	close(sp[1]);
	return -1;
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
	companion = name ? ko_companion(name) : NULL;
	/* the companion the host loads too (scsi_mod's sd_mod), as a dependency */
	snprintf(list, sizeof(list), "%s%s%s", depends ? depends : "",
		 companion && depends && *depends ? "," : "", companion ? companion : "");
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
	int io, cls;

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* out of the way of 3 and 4 first, then there; the rest closed */
	io = fcntl(d->io_fd, F_DUPFD, 10);
	cls = d->class_fd >= 0 ? fcntl(d->class_fd, F_DUPFD, 10) : -1;
	if (io < 0 || dup2(io, 3) != 3 || (cls >= 0 && dup2(cls, 4) != 4)) {
		fprintf(stderr, "dde run: driver %s: its descriptors: %s\n", d->instance,
			strerror(errno));
		_exit(127);
	}
	close_range(cls >= 0 ? 5 : 4, ~0U, 0);
	setenv("DDE_IO", "fd:3", 1);
	setenv("DDE_DEVICES", d->slots, 1);
	setenv("DDE_DRIVER", d->instance, 1);
	if (d->netname[0]) {
		setenv("DDE_NET", "fd:4", 1);
		setenv("DDE_NET_NAME", d->netname, 1);
	}
	if (d->block)
		setenv("DDE_BLK", "fd:4", 1);
	if (!no_sandbox) {
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

static void describe_exit(const struct driver *d)
{
	if (WIFEXITED(d->status))
		fprintf(stderr, "dde: driver %s@%s exited with status %d\n", d->name, d->slots,
			WEXITSTATUS(d->status));
	else if (WIFSIGNALED(d->status))
		fprintf(stderr, "dde: driver %s@%s was killed by signal %d (%s)%s; its devices are free again\n",
			d->name, d->slots, WTERMSIG(d->status), strsignal(WTERMSIG(d->status)),
			WTERMSIG(d->status) == SIGSYS ? ": a system call its sandbox does not allow" : "");
}

static void stop_drivers(struct driver *drv, int ndrv)
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

int dde_run(int argc, char **argv)
{
	static const struct option opts[] = {
		MACHINE_GETOPT_OPTIONS,
		{ "driver", required_argument, 0, 'd' },
		{ "engine", required_argument, 0, 'E' },
		{ "allow-stubs", no_argument, 0, 'S' },
		{ "net-socket", required_argument, 0, 'N' },
		{ "blk-socket", required_argument, 0, 'B' },
		{ "depth", required_argument, 0, 'Q' },
		{ "blk-fault", required_argument, 0, 'F' },
		{ "tap", required_argument, 0, 'T' },
		{ "pcap", required_argument, 0, 'P' },
		{ "allow-user", required_argument, 0, 'U' },
		{ "allow-group", required_argument, 0, 'G' },
		{ "no-sandbox", no_argument, 0, 'X' },
		{ "manual", no_argument, 0, 'M' },
		{ "prefer", required_argument, 0, 'R' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	static struct driver drv[MAX_DRIVERS];
	struct machine_args m = { .argc = 0 };
	struct session s = { 0 };
	int opt, idx = 0, ndrv = 0, rc, running, failed = 0, sfd;
	char err[512];
	sigset_t sigs;

	machine_config_init(&m.cfg);
	access_init(&access_policy);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		} else if (opt == 'U' || opt == 'G') {
			if (access_allow(&access_policy, opt == 'G', optarg, err, sizeof(err))) {
				fprintf(stderr, "dde run: %s\n", err);
				return 2;
			}
		} else if (opt == 'X') {
			no_sandbox = true;
		} else if (opt == 'M') {
			manual = true;
		} else if (opt == 'R') {
			if (strcmp(optarg, "ko") && strcmp(optarg, "source")) {
				fprintf(stderr, "dde run: --prefer ko or --prefer source\n");
				return 2;
			}
			prefer_ko = !strcmp(optarg, "ko");
		} else if (opt == 'd') {
			if (ndrv == MAX_DRIVERS) {
				fprintf(stderr, "dde run: at most %d drivers\n", MAX_DRIVERS);
				return 2;
			}
			if (parse_driver(&drv[ndrv++], optarg))
				return 2;
		} else if (opt == 'E') {
			if (strcmp(optarg, "native") && strcmp(optarg, "dbt")) {
				fprintf(stderr, "dde run: --engine '%s': binary modules run natively "
					"(native) or translated by a CPU emulator (dbt)\n", optarg);
				return 2;
			}
			snprintf(engine, sizeof(engine), "%s", optarg);
		} else if (opt == 'S') {
			snprintf(stubs, sizeof(stubs), "allow");
		} else if (opt == 'N') {
			if (strlen(optarg) >= sizeof(netd.socket) || !*optarg) {
				fprintf(stderr, "dde run: --net-socket: path too long\n");
				return 2;
			}
			snprintf(netd.socket, sizeof(netd.socket), "%s", optarg);
		} else if (opt == 'B') {
			if (strlen(optarg) >= sizeof(bddf.socket) || !*optarg) {
				fprintf(stderr, "dde run: --blk-socket: path too long\n");
				return 2;
			}
			snprintf(bddf.socket, sizeof(bddf.socket), "%s", optarg);
		} else if (opt == 'Q') {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 1024) {
				fprintf(stderr, "dde run: --depth '%s': requests in flight per disk "
					"driver, 1 to 1024\n", optarg);
				return 2;
			}
			blk_depth = optarg;
		} else if (opt == 'F') {
			if (bddf.argc == 16) {
				fprintf(stderr, "dde run: too many --blk-fault options\n");
				return 2;
			}
			bddf.argv[bddf.argc++] = "--fault";
			bddf.argv[bddf.argc++] = optarg;
		} else if (opt == 'T' || opt == 'P') {
			if (netd_export(opt == 'T' ? "tap" : "pcap", optarg))
				return 2;
		} else if (opt == '?') {
			fprintf(stderr, "dde run: unknown or incomplete option '%s' (see dde run --help)\n",
				argv[optind - 1]);
			return 2;
		} else if (dde_machine_option(&m, opt, opts[idx].name, optarg) < 0) {
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde run: unexpected argument '%s' (see dde run --help)\n", argv[optind]);
		return 2;
	}
	if (machine_config_check(&m.cfg, err, sizeof(err))) {
		fprintf(stderr, "dde: %s\n", err);
		return 2;
	}
	/* Ctrl-C and friends are read from sfd, so that we stop in order. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (no_sandbox)
		fprintf(stderr, "dde: --no-sandbox: drivers run UNCONFINED as uid %u, and any "
			"process of this user may claim the machine's devices (debugging only)\n",
			(unsigned)getuid());
	else if (geteuid() != 0) {
		fprintf(stderr, "dde run: the drivers' sandbox needs root (users, namespaces); "
			"run as root, or with --no-sandbox to debug\n");
		return 2;
	}
	{
		char *extra[2 * ACCESS_MAX + 2];
		int n = access_argv(&access_policy, extra, 2 * ACCESS_MAX);

		if (no_sandbox)
			extra[n++] = "--open-claims";
		extra[n] = NULL;
		rc = session_start(&s, m.argv, m.argc, false, extra);
	}
	if (rc)
		return rc;
	struct ddeio_device devs[64];
	int ndevs = list_devices(&s, devs, 64), nnet = 0, nblk = 0;

	if (ndevs < 0 || check_slots(devs, ndevs, drv, ndrv) ||
	    (!manual && auto_drivers(devs, ndevs, &m.cfg, drv, &ndrv))) {
		session_stop(&s);
		return 2;
	}
	for (int i = 0; i < ndrv; i++) {
		if (driver_class(&drv[i], "net"))
			snprintf(drv[i].netname, sizeof(drv[i].netname), "net%d", nnet++);
		drv[i].block = driver_class(&drv[i], "block");
		nblk += drv[i].block;
		if (drv[i].block) {	/* bddf numbers their controllers in this order */
			bddf.argv[bddf.argc++] = "--expect";
			bddf.argv[bddf.argc++] = drv[i].instance;
		}
	}
	if (nnet || netd.argc) {
		if (start_server(&netd)) {
			fprintf(stderr, "dde run: the network server did not start\n");
			stop_server(&netd);
			session_stop(&s);
			return 1;
		}
		fprintf(stderr, "dde: network server on %s (clients: DDE_NET=%s)\n", netd.socket,
			netd.socket);
	}
	if (nblk) {
		if (blk_depth) {
			bddf.argv[bddf.argc++] = "--depth";
			bddf.argv[bddf.argc++] = blk_depth;
		}
		if (start_server(&bddf)) {
			fprintf(stderr, "dde run: the block server did not start\n");
			stop_server(&bddf);
			stop_server(&netd);
			session_stop(&s);
			return 1;
		}
		fprintf(stderr, "dde: block server on %s (clients: DDE_BLK=%s)\n", bddf.socket,
			bddf.socket);
	}
	for (int i = 0; i < ndrv; i++) {
		if (open_channels(&s, &drv[i]) || (!no_sandbox && sandbox_plan(&drv[i], i))) {
			stop_drivers(drv, i);
			stop_server(&netd);
			stop_server(&bddf);
			session_stop(&s);
			return 1;
		}
		drv[i].pid = start_driver(&drv[i]);
		close(drv[i].io_fd);
		if (drv[i].class_fd >= 0)
			close(drv[i].class_fd);
		if (drv[i].netname[0])
			fprintf(stderr, "dde: interface %s is driver %s@%s\n", drv[i].netname,
				drv[i].name, drv[i].slots);
		fprintf(stderr, "dde: started driver %s@%s (pid %d)\n", drv[i].name, drv[i].slots,
			(int)drv[i].pid);
	}
	if (!ndrv && no_sandbox)
		fprintf(stderr, "dde: no driver started; start drivers by hand, e.g.\n"
			"  DDE_IO=@%s DDE_DEVICES=00:02.0 build/drivers/selftest\n"
			"dde: Ctrl-C stops the machine\n", s.socket);
	else if (!ndrv)
		fprintf(stderr, "dde: no driver started (to start drivers by hand, under gdb or "
			"valgrind, run dde run --manual --no-sandbox)\n"
			"dde: Ctrl-C stops the machine\n");
	running = ndrv;
	while (running || !ndrv) {
		struct signalfd_siginfo si;
		pid_t pid;
		int status;

		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			fprintf(stderr, "dde: %s: stopping drivers and the machine\n",
				strsignal((int)si.ssi_signo));
			failed = 1;
			break;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == s.ddeio) {
				fprintf(stderr, "dde: the I/O server exited; stopping\n");
				s.ddeio = 0;
				failed = 1;
				goto out;
			}
			if (pid == netd.pid || pid == bddf.pid) {
				fprintf(stderr, "dde: the %s server exited; stopping\n",
					pid == netd.pid ? "network" : "block");
				(pid == netd.pid ? &netd : &bddf)->pid = 0;
				failed = 1;
				goto out;
			}
			for (int i = 0; i < ndrv; i++) {
				if (drv[i].pid == pid) {
					drv[i].pid = 0;
					drv[i].status = status;
					describe_exit(&drv[i]);
					failed |= !WIFEXITED(status) || WEXITSTATUS(status);
					running--;
				}
			}
		}
	}
out:
	stop_drivers(drv, ndrv);
	stop_server(&netd);
	stop_server(&bddf);
	session_stop(&s);
	fprintf(stderr, "dde: machine stopped\n");
	return failed ? 1 : 0;
}
