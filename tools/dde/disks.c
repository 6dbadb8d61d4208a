/*
 * dde disks: what the block server (bddf) serves — every disk and its
 * partitions with Linux's names, sizes and partition types/labels; with
 * --dump DISK, the disk's partitions in `sfdisk --dump`'s form, so the two
 * can be compared line by line.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddeblk/ddeblk.h>
#include "dde.h"

struct listing {
	const char *dump;	/* --dump DISK, or NULL */
	int found;
};

static void show(const struct ddeblk_entry *e, void *arg)
{
	struct listing *l = arg;
	char size[16];

	if (l->dump) {
		uint64_t ss = e->sector_size ? e->sector_size : 512;

		if (strcmp(e->disk, l->dump))
			return;
		l->found = 1;
		if (!e->partno) {
			printf("label: %s\n", e->table[0] ? e->table : "none");
			if (e->uuid[0])
				printf("label-id: %s\n", e->uuid);
			printf("device: %s\nunit: sectors\nsector-size: %" PRIu64 "\n\n", e->name, ss);
			return;
		}
		printf("%s : start=%12" PRIu64 ", size=%12" PRIu64 ", type=%s", e->name,
		       e->start / ss, e->size / ss, e->type);
		if (!strcmp(e->table, "gpt")) {
			printf(", uuid=%s", e->uuid);
			if (e->label[0])
				printf(", name=\"%s\"", e->label);
		}
		if (e->flags & DDEBLK_DISK_BOOT)
			printf(", bootable");
		printf("\n");
		return;
	}
	if (!l->found++)
		printf("%-12s %8s %6s %-4s %-36s %-20s %s\n", "NAME", "SIZE", "SECTOR", "TABLE",
		       "TYPE", "LABEL", "DRIVER");
	ddeblk_size_text(e->size, size, sizeof(size));
	printf("%-12s %8s %6u %-4s %-36s %-20s %s%s%s\n", e->name, size, e->sector_size,
	       e->partno ? "" : (e->table[0] ? e->table : "-"), e->partno ? e->type : "",
	       e->label, e->driver, e->flags & DDEBLK_DISK_GONE ? " (gone)" : "",
	       e->flags & DDEBLK_DISK_RO ? " (read-only)" : "");
}

int dde_disks(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' },
		{ "dump", required_argument, 0, 'd' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct listing l = { 0 };
	const char *server = NULL;
	int opt, n;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 's') {
			server = optarg;
		} else if (opt == 'd') {
			l.dump = optarg;
		} else if (opt == '?') {
			fprintf(stderr, "dde disks: unknown or incomplete option '%s' (see dde disks --help)\n",
				argv[optind - 1]);
			return 2;
		} else {
			fprintf(stdout,
				"usage: dde disks [--socket PATH] [--dump DISK]\n"
				"  list the disks and partitions of the block server at PATH\n"
				"  (default $DDE_BLK, as `dde run` prints it); --dump: DISK's\n"
				"  partitions as `sfdisk --dump` shows them\n");
			return 0;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde disks: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!server && !(getenv("DDE_BLK") && *getenv("DDE_BLK"))) {
		fprintf(stderr, "dde disks: which block server? Set DDE_BLK (dde run prints it) "
			"or give --socket PATH\n");
		return 2;
	}
	struct ddeblk_entry *all;

	/* bddf lists disks as they arrived: shown by name, partitions in order */
	n = ddeblk_list_sorted(server, &all);
	if (n < 0) {
		fprintf(stderr, "dde disks: cannot reach the block server %s: %s\n",
			server ? server : "($DDE_BLK)", ddeblk_strerror(n));
		return 1;
	}
	for (int i = 0; i < n; i++)
		show(&all[i], &l);
	free(all);
	if (l.dump && !l.found) {
		fprintf(stderr, "dde disks: no disk '%s'\n", l.dump);
		return 1;
	}
	if (!l.dump && !n)
		printf("no disks\n");
	return 0;
}
