/*
 * dde lspci: start the machine, ask the I/O server for every PCI function
 * and print them the way `lspci -nn` does, with names from the pci.ids
 * database (libpci); -v adds BARs and the interrupt route.
 */
#include <getopt.h>
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
#include "session.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde lspci [-v] [machine options]\n"
		"\n"
		"Start the machine, list its PCI functions like `lspci -nn`, stop it.\n"
		"  -v, --verbose              also show subsystem, interrupt and BARs\n"
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

int dde_lspci(int argc, char **argv)
{
	static const struct option opts[] = {
		MACHINE_GETOPT_OPTIONS,
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct machine_args m = { .argc = 0 };
	struct ddeio_device devs[64];
	struct session s = { 0 };
	bool verbose = false;
	char err[512];
	int opt, idx = 0, n, rc;
	struct pci_access *pacc;

	machine_config_init(&m.cfg);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "vh", opts, &idx)) != -1) {
		if (opt == 'v') {
			verbose = true;
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else if (opt == '?') {
			fprintf(stderr, "dde lspci: unknown or incomplete option '%s' (see dde lspci --help)\n",
				argv[optind - 1]);
			return 2;
		} else if (dde_machine_option(&m, opt, opts[idx].name, optarg) < 0) {
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde lspci: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (machine_config_check(&m.cfg, err, sizeof(err))) {
		fprintf(stderr, "dde: %s\n", err);
		return 2;
	}
	rc = session_start(&s, m.argv, m.argc, true, NULL);
	if (rc)
		return rc;
	if (ddeio_connect(s.socket, "dde-lspci", NULL, 0) ||
	    (n = fetch_devices(devs, 64)) < 0) {
		fprintf(stderr, "dde lspci: %s\n", ddekit_last_error());
		ddeio_disconnect();
		session_stop(&s);
		return 1;
	}
	ddeio_disconnect();
	session_stop(&s);
	pacc = pci_alloc();
	pacc->error = pci_fatal;
	pacc->warning = pci_message;
	pacc->debug = pci_quiet;
	for (int i = 0; i < n; i++)
		print_device(pacc, &devs[i], verbose);
	pci_cleanup(pacc);
	return 0;
}
