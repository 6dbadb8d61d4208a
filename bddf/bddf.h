/* bddf's parts. */
#ifndef BDDF_H
#define BDDF_H

#include <stdint.h>

#include <ddeblk/ddeblk.h>

#define BDDF_MAX_PARTS 128

/* A disk's partition table, as read from its first and last sectors. */
struct bddf_table {
	char label[8];			/* "dos", "gpt", "" */
	char id[40];			/* dos: 0x%08x; gpt: the disk GUID */
	int n;
	struct ddeblk_entry part[BDDF_MAX_PARTS];	/* partno, start, size, type, uuid, label, flags */
};

/*
 * Read the table of a disk of @size bytes with @sector_size sectors;
 * @read reads @len bytes at @off (0 or -errno). Returns 0 (an empty label
 * when there is no table) or -errno on an I/O error.
 */
int bddf_read_table(uint64_t size, uint32_t sector_size,
		    int (*read)(void *arg, uint64_t off, void *buf, uint32_t len), void *arg,
		    struct bddf_table *t);

void bddf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
