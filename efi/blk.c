/*
 * The block class glue of the UEFI driver host: every Block I/O protocol
 * the drivers produced for a whole medium becomes a disk at bddf (names,
 * partitions, NBD and DSweeper are bddf's), and bddf's requests become
 * ReadBlocks/WriteBlocks/FlushBlocks calls on the firmware thread.
 *
 * The request slots are the driver's DMA memory when bddf takes it: the
 * driver's PciIo Map then hands the slot's own bus address to the device,
 * and the data is copied once, by bddf, as with the Linux drivers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddeblk/driver.h>
#include <ddekit/ddekit.h>
#include <efi/guids.h>

#include "host.h"

#define SLOTS 32
#define SLOT (512u << 10)
#define MAX_DISKS 16

static struct {
	struct ddeblk_drv *d;
	unsigned ndisks;
	struct efi_block_io_protocol *bio[MAX_DISKS];
	uint64_t served, failed;
} blk;

static int attach(const char *server, const char *name)
{
	uint64_t bus, off;
	void *mem = ddekit_dma_alloc((size_t)SLOTS * SLOT, 4096, &bus);
	int fd, r;

	if (mem && (fd = ddekit_dma_share(mem, (size_t)SLOTS * SLOT, &off)) >= 0) {
		r = ddeblk_drv_attach_mem(server, name, mem, fd, off, SLOTS, SLOT, &blk.d);
		if (r)
			return r;
		if (ddeblk_drv_own_slots(blk.d))
			return 0;
		efi_log("the block server did not take DMA memory for the request slots: "
			"the driver's Map bounces them");
		ddekit_dma_free(mem);
		return 0;
	}
	if (mem)
		ddekit_dma_free(mem);
	return ddeblk_drv_attach(server, name, &blk.d);
}

/* a disk's name from the device path's last node before the end */
static void disk_name(efi_handle h, unsigned index, char *out, size_t cap)
{
	const uint8_t *p = efi_interface(h, &EFI_GUID_DEVICE_PATH), *last = NULL;

	for (unsigned n = 0; p && n < 64; n++) {
		unsigned len = p[2] | p[3] << 8;

		if ((p[0] == 0x7f && p[1] == 0xff) || len < 4)
			break;
		last = p;
		p += len;
	}
	if (last && last[0] == 3 && last[1] == 0x17) {	/* NVMe namespace */
		uint32_t nsid;

		memcpy(&nsid, last + 4, 4);
		snprintf(out, cap, "nvme%un%u", index, nsid);
	} else if (last && last[0] == 3 && (last[1] == 0x12 || last[1] == 0x01)) {	/* SATA, ATAPI */
		snprintf(out, cap, "sd%c", 'a' + index % 26);
	} else if (last && last[0] == 3 && last[1] == 0x02) {	/* SCSI */
		snprintf(out, cap, "sd%c", 'a' + index % 26);
	} else {
		snprintf(out, cap, "vd%c", 'a' + index % 26);
	}
}

int efi_blk_attach(void)
{
	const char *server = getenv("DDE_BLK"), *name = getenv("DDE_DRIVER");
	efi_handle hs[MAX_DISKS * 4];
	unsigned n;
	int r;

	n = efi_handles_with(&EFI_GUID_BLOCK_IO, hs, MAX_DISKS * 4);
	if (n > MAX_DISKS * 4)
		n = MAX_DISKS * 4;
	for (unsigned k = 0; k < n && blk.ndisks < MAX_DISKS; k++) {
		struct efi_block_io_protocol *b = efi_interface(hs[k], &EFI_GUID_BLOCK_IO);

		/* partitions are bddf's to find: only whole media */
		if (!b || !b->media || b->media->logical_partition || !b->media->media_present)
			continue;
		blk.bio[blk.ndisks++] = b;
	}
	if (!blk.ndisks) {
		efi_log("the drivers made no Block I/O for a medium: nothing to serve");
		return -ENODEV;
	}
	if (!server || !*server) {
		efi_log("no block server (DDE_BLK): the disks are only listed");
	} else {
		r = attach(server, name && *name ? name : "efi");
		if (r) {
			efi_log("cannot attach to the block server %s: %s", server, strerror(-r));
			return r;
		}
	}
	for (unsigned k = 0; k < blk.ndisks; k++) {
		const struct efi_block_io_media *m = blk.bio[k]->media;
		struct ddeblk_entry e;

		memset(&e, 0, sizeof(e));
		disk_name(hs[0], k, e.name, sizeof(e.name));
		for (unsigned i = 0, seen = 0; i < n; i++) {
			struct efi_block_io_protocol *b = efi_interface(hs[i], &EFI_GUID_BLOCK_IO);

			if (b == blk.bio[k] && !seen++)
				disk_name(hs[i], k, e.name, sizeof(e.name));
		}
		snprintf(e.disk, sizeof(e.disk), "%s", e.name);
		e.size = (m->last_block + 1) * (uint64_t)m->block_size;
		e.sector_size = m->block_size;
		e.flags = (m->read_only ? DDEBLK_DISK_RO : 0) | (m->write_caching ? DDEBLK_DISK_WC : 0);
		efi_log("disk %s: %llu blocks of %u bytes%s%s", e.name,
			(unsigned long long)(m->last_block + 1), m->block_size,
			m->read_only ? ", read-only" : "", m->write_caching ? ", write cache" : "");
		if (blk.d && (r = ddeblk_drv_disk(blk.d, k, &e, SLOT))) {
			efi_log("bddf refused disk %s: %s", e.name, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int serve(const struct ddeblk_req *q)
{
	struct efi_block_io_protocol *b;
	const struct efi_block_io_media *m;
	efi_status s;

	if (q->disk >= blk.ndisks)
		return -EINVAL;
	b = blk.bio[q->disk];
	m = b->media;
	if (!m->media_present)
		return -ENOMEDIUM;
	switch (q->op) {
	case DDEBLK_OP_READ:
	case DDEBLK_OP_WRITE:
		if (q->offset % m->block_size || q->len % m->block_size)
			return -EINVAL;
		s = efi_call(q->op == DDEBLK_OP_READ ? (void *)b->read_blocks : (void *)b->write_blocks,
			     (uint64_t)(uintptr_t)b, m->media_id, q->offset / m->block_size, q->len,
			     (uint64_t)(uintptr_t)q->data);
		if (!s && q->op == DDEBLK_OP_WRITE && (q->flags & DDEBLK_F_FUA) && m->write_caching)
			s = efi_call(b->flush_blocks, (uint64_t)(uintptr_t)b);
		break;
	case DDEBLK_OP_FLUSH:
		s = efi_call(b->flush_blocks, (uint64_t)(uintptr_t)b);
		break;
	default:
		return -EOPNOTSUPP;
	}
	switch (s) {
	case EFI_SUCCESS:
		return 0;
	case EFI_NO_MEDIA:
		return -ENOMEDIUM;
	case EFI_MEDIA_CHANGED:
		return -EIO;
	case EFI_WRITE_PROTECTED:
		return -EROFS;
	case EFI_INVALID_PARAMETER:
	case EFI_BAD_BUFFER_SIZE:
		return -EINVAL;
	default:
		efi_log("%s of %u bytes at %llu: %s", q->op == DDEBLK_OP_READ ? "read" : "write",
			q->len, (unsigned long long)q->offset, efi_status_name(s));
		return -EIO;
	}
}

int efi_blk_run(void)
{
	for (;;) {
		uint64_t next = efi_next_timer_ns();
		int timeout = next == UINT64_MAX ? 1000 : (int)(next / 1000000) + 1;
		int r = blk.d ? ddeblk_drv_wait(blk.d, timeout) : 0;
		unsigned done = 0;
		struct ddeblk_req q;

		if (!blk.d)
			ddekit_thread_sleep_us((unsigned long)timeout * 1000);
		if (r < 0) {
			efi_log("the block server is gone");
			return 1;
		}
		efi_dispatch_timers();
		efi_report_counts();
		while (blk.d && (r = ddeblk_drv_next(blk.d, &q)) > 0) {
			int st = serve(&q);

			blk.served++;
			blk.failed += st != 0;
			if (ddeblk_drv_done(blk.d, q.cookie, st)) {
				efi_log("the block server's completion ring is full");
				return 1;
			}
			/* wake bddf now and then in a long batch, not only at its end */
			if (++done % 8 == 0)
				ddeblk_drv_kick(blk.d);
			efi_dispatch_timers();
		}
		if (r < 0) {
			efi_log("the block server broke the channel");
			return 1;
		}
		if (done % 8)
			ddeblk_drv_kick(blk.d);
	}
}
