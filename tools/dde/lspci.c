/*
 * dde lspci: start the machine, ask the I/O server for every PCI function
 * and print them the way `lspci -nn` does, with names from the pci.ids
 * database (libpci); -v adds BARs and the interrupt route.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <unistd.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pci/pci.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "../../common/slot.h"
#include "../../ddekit/client.h"
#include "dde.h"
#include "index.h"
#include "session.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde lspci [-v] [-k] [machine options]\n"
		"       dde lspci [-v] [-k] --io SOCKET\n"
		"\n"
		"Start the machine, list its PCI functions like `lspci -nn`, stop it; or\n"
		"list those of a running machine (`dde run` prints its I/O server's\n"
		"SOCKET; $DDE_IO is the default when no machine option is given).\n"
		"  -v, --verbose              also show subsystem, interrupt and BARs\n"
		"  -k                         also the drivers that claim each device (the\n"
		"                             driver index, as `dde drivers` shows it) and,\n"
		"                             on a running machine, the driver in use\n"
		"\n%s", machine_options_help);
}

static void drivers_usage(FILE *out)
{
	fprintf(out,
		"usage: dde drivers [SLOT|MODEL] [--prefer ko] [machine options]\n"
		"       dde drivers [SLOT] --io SOCKET\n"
		"       dde drivers --models | --stats\n"
		"\n"
		"Which drivers claim the machine's devices, from the driver index the build\n"
		"made: the PCI ids of every driver built from source (its Linux files'\n"
		"MODULE_DEVICE_TABLE) and the aliases of every module of Debian's\n"
		"linux-image. Marks the one `dde run` starts by itself (source first).\n"
		"  SLOT                       only the device at SLOT (e.g. 00:02.0)\n"
		"  MODEL                      a machine with just this QEMU device model\n"
		"                             (e.g. e1000e, virtio-blk-pci): its drivers\n"
		"  --prefer ko                choose binary modules before source drivers\n"
		"  --models                   the device models dde knows (common/models.c)\n"
		"  --stats                    what the index covers\n"
		"  --io SOCKET                a running machine's (as `dde run` prints it)\n"
		"\n%s", machine_options_help);
}

/* libpci's callbacks; pci_init() would set them, but it also probes the host's bus. */
static void pci_message(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	fprintf(stderr, "dde lspci: pci.ids: ");
	vfprintf(stderr, msg, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void __attribute__((noreturn)) pci_fatal(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	fprintf(stderr, "dde lspci: libpci: ");
	vfprintf(stderr, msg, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void pci_quiet(char *msg, ...)
{
	(void)msg;
}

/* Names only from the pci.ids file: no network, no udev hwdb. */
#define LOOKUP_FLAGS PCI_LOOKUP_NO_HWDB

static void format_size(uint64_t size, char *out, size_t cap)
{
	static const char unit[] = " KMGT";
	unsigned u = 0;

	while (size >= 1024 && !(size & 1023) && u < 4) {
		size >>= 10;
		u++;
	}
	if (u)
		snprintf(out, cap, "%" PRIu64 "%c", size, unit[u]);
	else
		snprintf(out, cap, "%" PRIu64, size);
}

static void print_res(const struct ddeio_res *r, const char *suffix)
{
	char size[32];

	format_size(r->size, size, sizeof(size));
	if (r->kind == DDEIO_RES_IO)
		printf("\tI/O ports at %04" PRIx64 " [size=%s]%s\n", r->start, size, suffix);
	else
		printf("\tMemory at %08" PRIx64 " (%s, %sprefetchable) [size=%s]%s\n", r->start,
		       r->kind == DDEIO_RES_MEM64 ? "64-bit" : "32-bit",
		       r->flags & DDEIO_RES_PREFETCH ? "" : "non-", size, suffix);
}

/* -k, dde drivers: the device's modalias, its candidates, the one chosen */
static void print_candidates(const struct driver_index *ix, const struct ddeio_device *d,
			     bool prefer_ko, bool full)
{
	struct candidate c[32];
	char alias[96], why[PATH_MAX + 64];
	const struct candidate *chosen;
	unsigned n;

	index_modalias(d, alias, sizeof(alias));
	n = index_match(ix, alias, c, 32);
	chosen = index_choose(c, n, prefer_ko);
	if (full)
		printf("\tModalias: %s\n", alias);
	if (!n) {
		printf("\tNo driver claims it\n");
		return;
	}
	if (!full) {
		printf("\tKernel modules:");
		for (unsigned i = 0; i < n; i++)
			printf("%s %s%s", i ? "," : "", c[i].source ? "" : "ko:", c[i].name);
		printf("\n");
		if (chosen)
			printf("\tdde run starts: %s%s\n", chosen->source ? "" : "ko:", chosen->name);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		bool ok = index_runnable(&c[i], why, sizeof(why));
		char name[80];

		snprintf(name, sizeof(name), "%s%s", c[i].source ? "" : "ko:", c[i].name);
		printf("\t%s %-6s %-20s %-5s%s%s\n", &c[i] == chosen ? "*" : " ",
		       c[i].source ? "source" : "binary", name, c[i].cls, ok ? "" : "  ",
		       ok ? "" : why);
	}
}

/* Fetch who holds which device (DDEIO_OP_OWNERS); count, or -1. */
static int fetch_owners(struct ddeio_owner *out, unsigned cap)
{
	struct ddeio_msg m = { .op = DDEIO_OP_OWNERS };
	char buf[DDEIO_MAX_PAYLOAD];
	size_t len = sizeof(buf);
	unsigned n = 0;

	if (ddeio_call(&m, NULL, 0, buf, &len))
		return -1;
	for (size_t k = 0; k + sizeof(*out) <= len && n < cap; k += sizeof(*out))
		memcpy(&out[n++], buf + k, sizeof(*out));
	return (int)n;
}

/* -k on a running machine: the driver holding @d, as lspci's "in use" */
static void print_owner(const struct ddeio_owner *o, int n, const struct ddeio_device *d)
{
	for (int i = 0; i < n; i++) {
		if (o[i].bdf != d->bdf)
			continue;
		printf("\tDriver in use: %.*s", (int)sizeof(o[i].name), o[i].name);
		if (o[i].pid > 0)
			printf(" (pid %d)", (int)o[i].pid);
		printf("\n");
		return;
	}
	printf("\tDriver in use: none\n");
}

static void print_device(struct pci_access *pacc, const struct ddeio_device *d,
			 bool verbose)
{
	char slot[16], cls[128], name[256];

	slot_format(d->bdf, slot);
	pci_lookup_name(pacc, cls, sizeof(cls), PCI_LOOKUP_CLASS | LOOKUP_FLAGS, d->class_code >> 8);
	pci_lookup_name(pacc, name, sizeof(name), PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE | LOOKUP_FLAGS,
			d->vendor, d->device);
	printf("%s %s [%04x]: %s [%04x:%04x]", slot, cls, d->class_code >> 8, name,
	       d->vendor, d->device);
	if (d->revision)
		printf(" (rev %02x)", d->revision);
	if (verbose && (d->class_code & 0xff))
		printf(" (prog-if %02x)", d->class_code & 0xff);
	printf("\n");
	if (!verbose)
		return;
	if (d->subsystem_vendor && d->subsystem_vendor != 0xffff) {
		pci_lookup_name(pacc, name, sizeof(name),
				PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE |
				LOOKUP_FLAGS,
				d->vendor, d->device, d->subsystem_vendor, d->subsystem_device);
		printf("\tSubsystem: %s [%04x:%04x]\n", name, d->subsystem_vendor,
		       d->subsystem_device);
	}
	if (d->irq_pin && d->irq != DDEIO_IRQ_NONE)
		printf("\tInterrupt: pin %c routed to IRQ %u\n", 'A' + d->irq_pin - 1, d->irq);
	for (unsigned b = 0; b < 6; b++)
		if (d->bar[b].kind != DDEIO_RES_NONE)
			print_res(&d->bar[b], "");
	for (unsigned i = 0; i < DDEIO_LEGACY_RES; i++)
		if (d->legacy[i].kind != DDEIO_RES_NONE)
			print_res(&d->legacy[i], " (legacy)");
	if (d->legacy_irq[0] != DDEIO_IRQ_NONE)
		printf("\tLegacy interrupts: IRQ %u, %u\n", d->legacy_irq[0], d->legacy_irq[1]);
	printf("\n");
}

/* Fetch the whole device list from the I/O server; returns count or -1. */
static int fetch_devices(struct ddeio_device *out, unsigned cap)
{
	unsigned got = 0;
	uint64_t total = 1;

	while (got < total && got < cap) {
		struct ddeio_msg m = { .op = DDEIO_OP_LIST, .addr = got };
		char buf[DDEIO_MAX_PAYLOAD];
		size_t len = sizeof(buf);

		if (ddeio_call(&m, NULL, 0, buf, &len))
			return -1;
		total = m.value;
		if (len < sizeof(*out))
			break;
		for (size_t k = 0; k + sizeof(*out) <= len && got < cap; k += sizeof(*out))
			memcpy(&out[got++], buf + k, sizeof(*out));
	}
	return (int)got;
}

/* dde drivers --models: the table, and what the index has for each */
static int list_models(void)
{
	printf("%-16s %-11s %-6s %-10s %s\n", "MODEL", "SHORT", "CLASS", "PCI ID", "WHAT");
	for (unsigned i = 0; i < machine_nmodels; i++) {
		const struct machine_model *m = &machine_models[i];
		char id[16];

		snprintf(id, sizeof(id), "%04x:%04x", m->vendor, m->device);
		printf("%-16s %-11s %-6s %-10s %s\n", m->name, m->alias ? m->alias : "",
		       model_class_name(m->cls), id, m->what);
	}
	printf("\nAny other PCI device of `qemu-system-x86_64 -device help` works with --device\n"
	       "NAME[,disk=FILE|net=...|wav=FILE][,PROP=V...]; `dde drivers NAME` shows its drivers.\n");
	return 0;
}

/* dde drivers --stats: what the index covers, by class */
static int index_stats(void)
{
	static const char *const classes[] = { "net", "block", "sound", "usb", "input", "-" };
	struct driver_index ix;
	char err[512], prev[64] = "";
	unsigned src = 0, mods[6] = { 0 }, aliased[6] = { 0 }, aliases = 0;
	bool has_alias = false;

	if (index_load(&ix, err, sizeof(err))) {
		fprintf(stderr, "dde drivers: %s\n", err);
		return 1;
	}
	for (unsigned i = 0; i < ix.n; i++) {
		const struct index_line *l = &ix.line[i];
		unsigned c = 0;

		if (l->source) {
			src += strcmp(prev, l->name) != 0;
			snprintf(prev, sizeof(prev), "%s", l->name);
			continue;
		}
		while (c < 5 && strcmp(classes[c], l->cls))
			c++;
		if (strcmp(prev, l->name)) {
			mods[c]++;
			has_alias = false;
			snprintf(prev, sizeof(prev), "%s", l->name);
		}
		if (strcmp(l->pattern, "-")) {
			aliases++;
			if (!has_alias)
				aliased[c]++;
			has_alias = true;
		}
	}
	printf("driver index: %u source drivers, %u binary modules (%u PCI and virtio aliases)\n", src,
	       ix.modules, aliases);
	printf("%-8s %8s %14s\n", "class", "modules", "with PCI ids");
	for (unsigned c = 0; c < 6; c++)
		printf("%-8s %8u %14u\n", c == 5 ? "other" : classes[c], mods[c], aliased[c]);
	index_free(&ix);
	return 0;
}

/* the device MODEL puts on a machine of its own: by its PCI id if the
 * table knows it, else the first that is not the chipset's */
static bool model_device(const struct machine_model *m, const struct ddeio_device *d)
{
	unsigned slot = DDEIO_BDF_SLOT(d->bdf);

	if (m)
		return d->vendor == m->vendor && d->device == m->device;
	return DDEIO_BDF_BUS(d->bdf) == 0 && slot != 0 && slot != 0x1f;
}

enum listing { LIST_LSPCI, LIST_DRIVERS };

static int list_machine(int argc, char **argv, enum listing what)
{
	static const struct option opts[] = {
		MACHINE_GETOPT_OPTIONS,
		{ "verbose", no_argument, 0, 'v' },
		{ "prefer", required_argument, 0, 'p' },
		{ "models", no_argument, 0, 'm' },
		{ "stats", no_argument, 0, 's' },
		{ "io", required_argument, 0, 'i' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *cmd = what == LIST_LSPCI ? "lspci" : "drivers";
	struct machine_args m = { .argc = 0 };
	struct ddeio_device devs[64];
	struct ddeio_owner owners[64];
	struct driver_index ix = { 0 };
	const char *io = NULL;	/* a running machine's I/O server */
	int nowners = -1;
	struct session s = { .control = -1 };
	bool verbose = false, kernel = what == LIST_DRIVERS, prefer_ko = false;
	const char *only = NULL;
	const struct machine_model *model = NULL;
	uint32_t only_bdf = 0;
	char err[512], tmpdisk[64] = "";
	int opt, idx = 0, n, rc;
	struct pci_access *pacc;

	machine_config_init(&m.cfg);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, what == LIST_LSPCI ? "vkh" : "h", opts, &idx)) != -1) {
		if (opt == 'v' && what == LIST_LSPCI) {
			verbose = true;
		} else if (opt == 'k') {
			kernel = true;
		} else if (opt == 'i') {
			io = optarg;
		} else if (opt == 'h') {
			what == LIST_LSPCI ? usage(stdout) : drivers_usage(stdout);
			return 0;
		} else if (what == LIST_DRIVERS && opt == 'p') {
			if (strcmp(optarg, "ko") && strcmp(optarg, "source")) {
				fprintf(stderr, "dde drivers: --prefer ko or --prefer source\n");
				return 2;
			}
			prefer_ko = !strcmp(optarg, "ko");
		} else if (what == LIST_DRIVERS && opt == 'm') {
			return list_models();
		} else if (what == LIST_DRIVERS && opt == 's') {
			return index_stats();
		} else if (opt == '?' || opt == 'v' || opt == 'p' || opt == 'm' || opt == 's') {
			fprintf(stderr, "dde %s: unknown or incomplete option '%s' (see dde %s --help)\n",
				cmd, argv[optind - 1], cmd);
			return 2;
		} else if (dde_machine_option(&m, opt, opts[idx].name, optarg) < 0) {
			return 2;
		}
	}
	if (what == LIST_DRIVERS && optind + 1 == argc) {
		only = argv[optind++];
		if (slot_parse(only, &only_bdf)) {
			/* a model: a machine with just that device (a disk model: a scratch image) */
			char spec[160];

			model = machine_model_find(only);
			if (model && model->cls == MODEL_DISK) {
				int fd;

				snprintf(tmpdisk, sizeof(tmpdisk), "/tmp/dde-drivers-XXXXXX");
				fd = mkstemp(tmpdisk);
				if (fd < 0 || ftruncate(fd, 1 << 20)) {
					fprintf(stderr, "dde drivers: scratch disk: %s\n", strerror(errno));
					return 1;
				}
				close(fd);
				snprintf(spec, sizeof(spec), "%s,disk=%s", only, tmpdisk);
			} else if (model && model->cls == MODEL_NET) {
				snprintf(spec, sizeof(spec), "%s,net=none", only);
			} else {
				snprintf(spec, sizeof(spec), "%s", only);
			}
			if (m.cfg.ndisks + m.cfg.nnics + m.cfg.nsound + m.cfg.ndevices) {
				fprintf(stderr, "dde drivers %s: a model or machine options, not both\n", only);
				rc = 2;
				goto out_tmp;
			}
			rc = dde_machine_option(&m, MACHINE_OPT_FIRST + 9, "device", spec);
			if (rc < 0) {
				rc = 2;
				goto out_tmp;
			}
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde %s: unexpected argument '%s'\n", cmd, argv[optind]);
		rc = 2;
		goto out_tmp;
	}
	if (!io && !m.argc && !model && getenv("DDE_IO") && *getenv("DDE_IO"))
		io = getenv("DDE_IO");
	if (io && (m.argc || model)) {
		fprintf(stderr, "dde %s: --io lists a running machine: no machine options with it\n",
			cmd);
		rc = 2;
		goto out_tmp;
	}
	if (machine_config_check(&m.cfg, err, sizeof(err))) {
		fprintf(stderr, "dde: %s\n", err);
		rc = 2;
		goto out_tmp;
	}
	if (kernel && index_load(&ix, err, sizeof(err))) {
		fprintf(stderr, "dde %s: %s\n", cmd, err);
		rc = 1;
		goto out_tmp;
	}
	if (!io) {
		rc = session_start(&s, m.argv, m.argc, true, NULL);
		if (rc)
			goto out;
	}
	if (ddeio_connect(io ? io : s.socket, "dde-lspci", NULL, 0) ||
	    (n = fetch_devices(devs, 64)) < 0 ||
	    (io && kernel && (nowners = fetch_owners(owners, 64)) < 0)) {
		fprintf(stderr, "dde %s: %s%s%s\n", cmd, io ? io : "", io ? ": " : "",
			ddekit_last_error());
		ddeio_disconnect();
		session_stop(&s);
		rc = 1;
		goto out;
	}
	ddeio_disconnect();
	session_stop(&s);
	pacc = pci_alloc();
	pacc->error = pci_fatal;
	pacc->warning = pci_message;
	pacc->debug = pci_quiet;
	rc = only ? 1 : 0;	/* until the device asked for is found */
	for (int i = 0; i < n; i++) {
		bool by_slot = only && slot_parse(only, &only_bdf) == 0;

		if (by_slot && devs[i].bdf != only_bdf)
			continue;
		if (only && !by_slot && !model_device(model, &devs[i]))
			continue;
		print_device(pacc, &devs[i], verbose);
		if (nowners >= 0)
			print_owner(owners, nowners, &devs[i]);
		if (kernel)
			print_candidates(&ix, &devs[i], prefer_ko, what == LIST_DRIVERS);
		if (kernel && !verbose)
			printf("\n");
		rc = 0;
	}
	pci_cleanup(pacc);
	if (rc)
		fprintf(stderr, "dde drivers: no device %s on this machine\n", only);
out:
	index_free(&ix);
out_tmp:
	if (tmpdisk[0])
		unlink(tmpdisk);
	return rc;
}

int dde_lspci(int argc, char **argv)
{
	return list_machine(argc, argv, LIST_LSPCI);
}

int dde_drivers(int argc, char **argv)
{
	return list_machine(argc, argv, LIST_DRIVERS);
}
