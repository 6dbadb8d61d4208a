/*
 * bddf's names for disks and partitions, unique across drivers and the
 * same whatever order drivers attach in (sda, sdb ...; nvme0n1 ...; vda
 * ...), and a new disk taken in: named, its table read, described.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/bell.h"
#include "server.h"

/* ---- names ---- */

static void part_name(const char *disk, unsigned n, char *out)
{
	char base[DDEBLK_NAME_MAX];	/* a copy: @out may lie in the same entry as @disk */
	size_t l;

	memcpy(base, disk, sizeof(base));
	base[20] = 0;
	l = strlen(base);
	snprintf(out, DDEBLK_NAME_MAX, "%.20s%s%u", base,
		 l && base[l - 1] >= '0' && base[l - 1] <= '9' ? "p" : "", n);
}

/* a driver instance's name without "ko:" (a binary module names its disks
 * as the source driver of the same name does); for a UEFI driver, the
 * Linux driver whose disks its disks are named like (OVMF's NvmExpressDxe
 * counts among the nvme controllers, VirtioBlkDxe among virtio_blk's) */
const char *source_name(const char *instance)
{
	if (!strncmp(instance, "efi:NvmExpressDxe", 17) ||
	    !strncmp(instance, "efi-aarch64:NvmExpressDxe", 25))
		return "nvme@efi";
	if (!strncmp(instance, "efi", 3) && strstr(instance, ":VirtioBlkDxe"))
		return "virtio_blk@efi";
	return strncmp(instance, "ko:", 3) ? instance : instance + 3;
}

/* PREFIX + letters: sda .. sdz, sdaa .. (as Linux's sd_format_disk_name; vd too) */
static void letter_name(const char *prefix, int index, char *out)
{
	char buf[8];
	int n = 0;

	do {
		buf[n++] = (char)('a' + index % 26);
		index = index / 26 - 1;
	} while (index >= 0 && n < 7);
	out[0] = prefix[0];
	out[1] = prefix[1];
	for (int i = 0; i < n; i++)
		out[2 + i] = buf[n - 1 - i];
	out[2 + n] = 0;
}

/* a letter name's index: vda 0, vdz 25, vdaa 26 ... (-1 if it is none) */
static int letter_index(const char *name)
{
	int index = -1;

	for (const char *p = name + 2; *p; p++) {
		if (*p < 'a' || *p > 'z')
			return -1;
		index = (index + 1) * 26 + (*p - 'a');
	}
	return index;
}

/*
 * The lowest number from @from that no listed disk's name of @kind ("nvme":
 * nvmeGn*, "sd", "vd": letters) has: what a disk gone (its device
 * unplugged) had is taken again.
 */
static int free_number(const char *kind, int from)
{
	for (int k = from;; k++) {
		int used = 0;

		for (int i = 0; i < srv.ndisks && !used; i++) {
			const char *name = srv.disk[i]->e.name;
			int g;

			if ((srv.disk[i]->e.flags & DDEBLK_DISK_GONE) &&
			    (srv.disk[i]->drv->given_up || srv.disk[i]->orphan))
				continue;	/* its name goes to the new disk (global_name) */
			if (!strcmp(kind, "nvme"))
				used = sscanf(name, "nvme%dn", &g) == 1 && g == k;
			else
				used = !strncmp(name, kind, 2) && letter_index(name) == k;
		}
		if (!used)
			return k;
	}
}

/*
 * The place of driver DR among the drivers of its kind (names starting
 * with PREFIX, binary or not) in dde run's order (--expect), whichever
 * attaches first; -1 for a driver started by hand.
 */
static int expected_place(const struct driver *dr, const char *prefix)
{
	for (int i = 0, k = 0; i < srv.nexpect; i++) {
		/* a driver's name comes in a message of DDEBLK_NAME_MAX bytes: cut to that */
		if (!strncmp(srv.expect[i], dr->name, DDEBLK_NAME_MAX - 1))
			return k;
		k += !strncmp(source_name(srv.expect[i]), prefix, strlen(prefix));
	}
	return -1;
}

/* A virtio disk's number: one disk per virtio device, in driver order (as
 * Linux numbers them in probe order). */
static int vd_number(struct driver *dr, const char *local)
{
	int own = letter_index(local), k = expected_place(dr, "virtio_blk@");

	if (k >= 0)
		return k + (own > 0 ? own : 0);
	return free_number("vd", srv.vd_expected);	/* a driver started by hand */
}

/* The number of the NVMe controller a driver calls @ctrl. */
static int nvme_number(struct driver *dr, int ctrl)
{
	/* one already named: another namespace of it */
	for (int i = 0; i < srv.ndisks; i++) {
		int c, n, g;

		if (srv.disk[i]->drv == dr && sscanf(srv.disk[i]->local, "nvme%dn%d", &c, &n) == 2 &&
		    c == ctrl && sscanf(srv.disk[i]->e.name, "nvme%dn", &g) == 1)
			return g;
	}
	/* the place of its driver in dde run's order */
	int k = expected_place(dr, "nvme");

	if (k >= 0)
		return k;
	return free_number("nvme", srv.nvme_expected);	/* a driver started by hand (or plugged) */
}

/* bddf's name for a driver's disk: unique across all drivers. */
static void global_name(struct driver *dr, const char *local, char *out)
{
	int ctrl, ns;
	char rest;

	if (sscanf(local, "nvme%dn%d%c", &ctrl, &ns, &rest) == 2) {
		snprintf(out, DDEBLK_NAME_MAX, "nvme%dn%d", nvme_number(dr, ctrl), ns);
	} else if (!strncmp(local, "sd", 2)) {
		letter_name("sd", free_number("sd", 0), out);
	} else if (!strncmp(local, "vd", 2) && letter_index(local) >= 0) {
		letter_name("vd", vd_number(dr, local), out);
	} else {
		snprintf(out, DDEBLK_NAME_MAX, "%s", local);
	}
	/* never a name twice, whatever the drivers call their disks */
	char base[DDEBLK_NAME_MAX];

	snprintf(base, sizeof(base), "%s", out);
	for (int i = 0, k = 1; i < srv.ndisks; i++)
		if (!strcmp(srv.disk[i]->e.name, out)) {
			/* the gone disk of a driver given up (a device unplugged)
			 * gives its name to the new one, unless a client holds it */
			if (reap_driver(srv.disk[i]->drv)) {
				i = -1;
				continue;
			}
			if (srv.disk[i]->orphan) {	/* held by a client: listed, renamed */
				snprintf(srv.disk[i]->e.name, DDEBLK_NAME_MAX, "%.20s-gone", base);
				i = -1;
				continue;
			}
			snprintf(out, DDEBLK_NAME_MAX, "%.20s-%d", base, k++);
			i = -1;
		}
}

static void describe(const struct disk *dk)
{
	bddf_log("%s: disk of %s (its %s): %llu bytes (%llu MiB), %u-byte sectors%s%s%s, %s%s%s",
		 dk->e.name, dk->drv->name, dk->local, (unsigned long long)dk->e.size,
		 (unsigned long long)(dk->e.size >> 20), dk->e.sector_size,
		 dk->e.flags & DDEBLK_DISK_RO ? ", read-only" : "",
		 dk->e.flags & DDEBLK_DISK_WC ? ", write cache" : "",
		 dk->e.flags & DDEBLK_DISK_DISCARD ? ", discard" : "",
		 dk->t.label[0] ? dk->t.label : "no partition table",
		 dk->t.label[0] ? " table " : "", dk->t.id);
	for (int i = 0; i < dk->t.n; i++) {
		const struct ddeblk_entry *p = &dk->t.part[i];

		bddf_log("  %s: start %llu, %llu sectors (%llu MiB), type %s%s%s%s%s", p->name,
			 (unsigned long long)(p->start / p->sector_size),
			 (unsigned long long)(p->size / p->sector_size),
			 (unsigned long long)(p->size >> 20), p->type,
			 p->flags & DDEBLK_DISK_BOOT ? ", bootable" : "",
			 p->flags & DDEBLK_DISK_EXTENDED ? ", extended" : "",
			 p->label[0] ? ", name " : "", p->label);
	}
}


void disk_added(struct driver *dr, const struct ddeblk_msg *m)
{
	struct disk *dk;
	struct scan sc;
	int r;

	if (m->index >= DRIVER_DISKS || m->entry.sector_size < 512 || m->entry.sector_size > 4096 ||
	    m->entry.sector_size & (m->entry.sector_size - 1) || m->max_io < m->entry.sector_size ||
	    dr->c.max_io < m->entry.sector_size) {
		bddf_log("driver %s announced a disk it cannot have: ignored", dr->name);
		return;
	}
	dk = dr->disk[m->index];
	if (dk && (dk->e.flags & DDEBLK_DISK_GONE) && !dk->down) {
		/* its device went (a USB stick pulled) and another came: a new
		 * disk; the gone one stays listed while a client holds it */
		dr->disk[m->index] = NULL;
		disk_release(dk);
		dk = NULL;
	}
	if (dk && dk->down) {	/* its restarted driver has it again */
		if (m->entry.size != dk->e.size || m->entry.sector_size != dk->e.sector_size)
			bddf_log("%s: its restarted driver announces another disk (%llu bytes, "
				 "%u-byte sectors; was %llu, %u): what waits for it is sent all the same",
				 dk->e.name, (unsigned long long)m->entry.size, m->entry.sector_size,
				 (unsigned long long)dk->e.size, dk->e.sector_size);
		dk->e.size = m->entry.size;
		dk->e.flags = (dk->e.flags & DDEBLK_DISK_GONE) | (m->entry.flags & DISK_FLAGS);
		dk->max_io = (m->max_io < dr->c.max_io ? m->max_io : dr->c.max_io) /
			     dk->e.sector_size * dk->e.sector_size;
		disk_back(dk);
		return;
	}
	if (dk) {	/* a change: size, read-only */
		dk->e.size = m->entry.size;
		dk->e.flags = (dk->e.flags & DDEBLK_DISK_GONE) | (m->entry.flags & DISK_FLAGS);
		bddf_log("%s: now %llu bytes%s", dk->e.name, (unsigned long long)dk->e.size,
			 dk->e.flags & DDEBLK_DISK_RO ? ", read-only" : "");
		return;
	}
	if (srv.ndisks == MAX_DISKS) {
		bddf_log("more than %d disks: %s of %s not served", MAX_DISKS, m->entry.name, dr->name);
		return;
	}
	dk = calloc(1, sizeof(*dk));
	if (!dk)
		return;
	dk->drv = dr;
	dk->index = m->index;
	/* within the disk's limit and the channel's slots (a driver's own may be smaller) */
	dk->max_io = (m->max_io < dr->c.max_io ? m->max_io : dr->c.max_io) / m->entry.sector_size *
		     m->entry.sector_size;
	snprintf(dk->local, sizeof(dk->local), "%.*s", DDEBLK_NAME_MAX - 1, m->entry.name);
	dk->e.size = m->entry.size;
	dk->e.sector_size = m->entry.sector_size;
	dk->e.flags = m->entry.flags & DISK_FLAGS;
	snprintf(dk->e.driver, sizeof(dk->e.driver), "%s", dr->name);
	global_name(dr, dk->local, dk->e.name);
	snprintf(dk->e.disk, sizeof(dk->e.disk), "%s", dk->e.name);
	dr->disk[m->index] = dk;
	srv.disk[srv.ndisks++] = dk;
	sc.dr = dr;
	sc.dk = dk;
	r = bddf_read_table(dk->e.size, dk->e.sector_size, scan_read, &sc, &dk->t);
	if (r)
		bddf_log("%s: cannot read its partition table: %s", dk->e.name, strerror(-r));
	snprintf(dk->e.table, sizeof(dk->e.table), "%s", dk->t.label);
	snprintf(dk->e.uuid, sizeof(dk->e.uuid), "%s", dk->t.id);
	for (int i = 0; i < dk->t.n; i++) {
		struct ddeblk_entry *p = &dk->t.part[i];

		part_name(dk->e.name, p->partno, p->name);
		memcpy(p->disk, dk->e.name, sizeof(p->disk));
		snprintf(p->driver, sizeof(p->driver), "%s", dr->name);
		p->flags |= dk->e.flags & DDEBLK_DISK_RO;
	}
	describe(dk);
}
