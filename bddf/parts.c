/*
 * Partition tables, read the way Linux numbers them (block/partitions/
 * msdos.c and efi.c): MBR primaries 1-4 by slot, logical partitions from 5
 * along the chain of extended boot records; GPT entries by index + 1 (a
 * protective MBR hands over to the GPT). What is listed is what sfdisk
 * shows for the same image: start and size of every partition (an extended
 * one with its full extent), MBR type and boot flag, GPT type GUID,
 * partition GUID and name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bddf.h"

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

/* GUIDs are stored with their first three fields little-endian. */
static void guid_text(const uint8_t *g, char *out)
{
	sprintf(out, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", le32(g),
		g[4] | g[5] << 8, g[6] | g[7] << 8, g[8], g[9], g[10], g[11], g[12], g[13], g[14],
		g[15]);
}

/* UTF-16LE (36 units at most) to UTF-8 */
static void name_text(const uint8_t *p, char *out, size_t cap)
{
	size_t o = 0;

	for (int i = 0; i < 36; i++) {
		uint32_t u = p[2 * i] | p[2 * i + 1] << 8;

		if (!u)
			break;
		if (u >= 0xd800 && u < 0xdc00 && i + 1 < 36) {
			uint32_t lo = p[2 * i + 2] | p[2 * i + 3] << 8;

			if (lo >= 0xdc00 && lo < 0xe000) {
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		}
		if (o + 5 > cap)
			break;
		if (u < 0x80) {
			out[o++] = (char)u;
		} else if (u < 0x800) {
			out[o++] = (char)(0xc0 | u >> 6);
			out[o++] = (char)(0x80 | (u & 0x3f));
		} else if (u < 0x10000) {
			out[o++] = (char)(0xe0 | u >> 12);
			out[o++] = (char)(0x80 | (u >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (u & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | u >> 18);
			out[o++] = (char)(0x80 | (u >> 12 & 0x3f));
			out[o++] = (char)(0x80 | (u >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (u & 0x3f));
		}
	}
	out[o] = 0;
}

struct ctx {
	uint64_t size;
	uint32_t ss;
	int (*read)(void *arg, uint64_t off, void *buf, uint32_t len);
	void *arg;
	struct bddf_table *t;
};

static struct ddeblk_entry *add(struct ctx *c, unsigned partno, uint64_t start_lba, uint64_t nr_lba)
{
	struct ddeblk_entry *e;

	if (c->t->n == BDDF_MAX_PARTS)
		return NULL;
	/* a partition reaching past the disk is cut at its end, as Linux does */
	if (start_lba * c->ss >= c->size)
		return NULL;
	e = &c->t->part[c->t->n++];
	memset(e, 0, sizeof(*e));
	e->partno = partno;
	e->start = start_lba * c->ss;
	e->size = nr_lba * c->ss;
	if (e->start + e->size > c->size)
		e->size = c->size - e->start;
	e->sector_size = c->ss;
	snprintf(e->table, sizeof(e->table), "%s", c->t->label);
	return e;
}

static int is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

static int read_gpt(struct ctx *c, uint64_t lba, uint8_t *sec)
{
	uint8_t *ents;
	uint32_t hsize, n, esize;
	uint64_t ent_lba;
	int r;

	if ((r = c->read(c->arg, lba * c->ss, sec, c->ss)))
		return r;
	if (memcmp(sec, "EFI PART", 8))
		return -EINVAL;
	hsize = le32(sec + 12);
	if (hsize < 92 || hsize > c->ss)
		return -EINVAL;
	uint32_t want = le32(sec + 16);

	memset(sec + 16, 0, 4);
	if (crc32(sec, hsize) != want || le64(sec + 24) != lba)
		return -EINVAL;
	ent_lba = le64(sec + 72);
	n = le32(sec + 80);
	esize = le32(sec + 84);
	if (esize < 128 || esize > 4096 || esize % 8 || n > 1024 || !n)
		return -EINVAL;
	uint64_t bytes = (uint64_t)n * esize, rounded = (bytes + c->ss - 1) / c->ss * c->ss;

	if ((ent_lba + rounded / c->ss) * c->ss > c->size)
		return -EINVAL;
	ents = malloc(rounded);
	if (!ents)
		return -ENOMEM;
	for (uint64_t off = 0; off < rounded; off += 65536) {
		uint32_t len = rounded - off < 65536 ? (uint32_t)(rounded - off) : 65536;

		if ((r = c->read(c->arg, ent_lba * c->ss + off, ents + off, len))) {
			free(ents);
			return r;
		}
	}
	if (crc32(ents, bytes) != le32(sec + 88)) {
		free(ents);
		return -EINVAL;
	}
	snprintf(c->t->label, sizeof(c->t->label), "gpt");
	guid_text(sec + 56, c->t->id);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = ents + (uint64_t)i * esize;
		static const uint8_t zero[16];
		uint64_t first = le64(e + 32), last = le64(e + 40);
		struct ddeblk_entry *p;

		if (!memcmp(e, zero, 16) || last < first)
			continue;
		p = add(c, i + 1, first, last - first + 1);
		if (!p)
			continue;
		guid_text(e, p->type);
		guid_text(e + 16, p->uuid);
		name_text(e + 56, p->label, sizeof(p->label));
	}
	free(ents);
	return 0;
}

int bddf_read_table(uint64_t size, uint32_t ss, int (*read)(void *, uint64_t, void *, uint32_t),
		    void *arg, struct bddf_table *t)
{
	struct ctx c = { size, ss, read, arg, t };
	uint8_t *sec;
	int r, protective = 0;

	memset(t, 0, sizeof(*t));
	if (ss < 512 || ss > 4096 || size < 2ull * ss)
		return 0;
	sec = malloc(ss);
	if (!sec)
		return -ENOMEM;
	if ((r = read(arg, 0, sec, ss)))
		goto out;
	if (sec[510] != 0x55 || sec[511] != 0xaa)
		goto out;	/* no table */
	for (int i = 0; i < 4; i++)
		protective |= sec[446 + 16 * i + 4] == 0xee;
	if (protective) {
		/* the primary header, else the backup at the disk's end */
		r = read_gpt(&c, 1, sec);
		if (r == -EINVAL) {
			t->n = 0;
			r = read_gpt(&c, size / ss - 1, sec);
		}
		if (r == -EINVAL) {	/* a broken GPT: no partitions */
			memset(t, 0, sizeof(*t));
			r = 0;
		}
		goto out;
	}
	/* dos: the boot sector's four slots */
	uint8_t mbr[64];
	uint64_t ext_start = 0;

	memcpy(mbr, sec + 446, 64);
	snprintf(t->label, sizeof(t->label), "dos");
	snprintf(t->id, sizeof(t->id), "0x%08x", le32(sec + 440));
	for (int i = 0; i < 4; i++) {
		const uint8_t *e = mbr + 16 * i;
		uint64_t start = le32(e + 8), nr = le32(e + 12);
		struct ddeblk_entry *p;

		if (!e[4] || !nr)
			continue;
		p = add(&c, i + 1, start, nr);
		if (!p)
			continue;
		snprintf(p->type, sizeof(p->type), "%x", e[4]);
		if (e[0] == 0x80)
			p->flags |= DDEBLK_DISK_BOOT;
		if (is_extended(e[4])) {
			p->flags |= DDEBLK_DISK_EXTENDED;
			if (!ext_start)
				ext_start = start;
		}
	}
	/* the logical partitions: a chain of EBRs, each relative to the extended start */
	uint64_t ebr = ext_start;
	unsigned partno = 5;

	for (int hops = 0; ebr && hops < BDDF_MAX_PARTS; hops++) {
		if ((r = read(arg, ebr * ss, sec, ss)))
			goto out;
		if (sec[510] != 0x55 || sec[511] != 0xaa)
			break;
		const uint8_t *e = sec + 446, *next = sec + 462;

		if (e[4] && le32(e + 12) && !is_extended(e[4])) {
			struct ddeblk_entry *p = add(&c, partno, ebr + le32(e + 8), le32(e + 12));

			if (p) {
				snprintf(p->type, sizeof(p->type), "%x", e[4]);
				if (e[0] == 0x80)
					p->flags |= DDEBLK_DISK_BOOT;
			}
			partno++;
		}
		if (!is_extended(next[4]) || !le32(next + 8))
			break;
		uint64_t to = ext_start + le32(next + 8);

		if (to <= ebr)
			break;	/* a loop */
		ebr = to;
	}
	r = 0;
out:
	free(sec);
	return r;
}
