/*
 * MSI and MSI-X without a CPU to deliver them to. A device's message is a
 * 32-bit memory write; QEMU's APIC would take it at 0xfeexxxxx, but no
 * guest runs to receive it there. Instead every device that uses MSI gets
 * a remapper: an ivshmem-doorbell device whose "server" is this process.
 * Its doorbell register (BAR0 + 12) turns a write of (peer << 16 | vector)
 * into a signal on the eventfd we connected as that peer's vector. The
 * device's message address is the doorbell, its data the vector: QEMU
 * writes it as DMA, through the IOMMU where there is one (so the doorbell
 * page is mapped into the device's domain while it is routed), and the
 * driver that holds the eventfd wakes, with no process in between.
 *
 * The server protocol (QEMU's docs/specs/ivshmem-spec): 8-byte
 * little-endian messages, an fd riding on some: version 0, the device's
 * own id, peer connects (id + eventfd, the n-th for vector n), and the
 * shared memory (-1 + fd) to end the setup. QEMU cannot take a peer's
 * eventfds back and reuse the slots (a disconnect frees them for good),
 * so each route takes fresh vectors of peer 0, QEMU_MSI_VECTORS over the
 * machine's life per remapper; the old ones are simply never rung again.
 * Peer 0 because MSI's data is 16 bits: the peer field (bits 16-31) stays
 * 0. QEMU itself is peer 1 and has no vectors, so nothing else rings.
 */
#define _GNU_SOURCE
#include "qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/errtext.h"
#include "../../common/seqpacket.h"

#define DOORBELL 12
#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110
#define PAGE_MASK 0xfffull

/* One server message: @value, with @fd (or none: -1). */
static int send_msg(int sock, int64_t value, int fd)
{
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &value, sizeof(value) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	fds_attach(&mh, ctrl, sizeof(ctrl), &fd, fd >= 0);
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(value))
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int qemu_msi_prepare(struct qemu_machine *p, char *err, size_t errlen)
{
	p->nremap = 0;
	for (unsigned i = 0; i < QEMU_MSI_REMAPPERS; i++) {
		struct qemu_remapper *r = &p->remap[i];
		int sv[2];

		*r = (struct qemu_remapper){ .sock = -1, .qemu_end = -1, .shm = -1 };
		p->nremap++;
		/* QEMU's end inherited (not close-on-exec), ours not */
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return errtext(err, errlen, "socketpair: %s", strerror(errno));
		r->qemu_end = sv[1];
		r->sock = sv[0];
		if (fcntl(r->sock, F_SETFD, FD_CLOEXEC) ||
		    (r->shm = memfd_create("dde-msi", MFD_CLOEXEC)) < 0 ||
		    ftruncate(r->shm, 4096) ||
		    /* the setup QEMU reads while it creates the device */
		    send_msg(r->sock, 0, -1) || send_msg(r->sock, 1, -1) ||
		    send_msg(r->sock, -1, r->shm))
			return errtext(err, errlen, "MSI remapper: %s", strerror(errno));
	}
	return 0;
}

void qemu_msi_started(struct qemu_machine *p)
{
	for (unsigned i = 0; i < p->nremap; i++) {
		close_fd(&p->remap[i].qemu_end);
		close_fd(&p->remap[i].shm);
	}
}

void qemu_msi_close(struct qemu_machine *p)
{
	qemu_msi_started(p);
	for (unsigned i = 0; i < p->nremap; i++)
		close_fd(&p->remap[i].sock);
	p->nremap = 0;
}

/* After PCI setup: note each remapper's doorbell, and hide it from drivers. */
void qemu_msi_found(struct qemu_machine *p)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < p->ndev; i++) {
		const struct ddeio_device *d = &p->dev[i];
		unsigned slot = DDEIO_BDF_SLOT(d->bdf);

		if (d->vendor == IVSHMEM_VENDOR && d->device == IVSHMEM_DEVICE &&
		    slot >= QEMU_MSI_SLOT && slot < QEMU_MSI_SLOT + p->nremap &&
		    DDEIO_BDF_BUS(d->bdf) == 0 && d->bar[0].kind == DDEIO_RES_MEM32) {
			p->remap[slot - QEMU_MSI_SLOT].doorbell = d->bar[0].start + DOORBELL;
			continue;
		}
		p->dev[kept++] = *d;
	}
	p->ndev = kept;
}

static struct qemu_remapper *remapper_of(struct qemu_machine *p, uint32_t bdf, bool take)
{
	for (unsigned i = 0; i < p->nremap; i++)
		if (p->remap[i].doorbell && p->remap[i].used && p->remap[i].bdf == bdf)
			return &p->remap[i];
	if (!take)
		return NULL;
	for (unsigned i = 0; i < p->nremap; i++) {
		struct qemu_remapper *r = &p->remap[i];

		if (r->doorbell && !r->used) {
			r->used = true;	/* for good: its vectors stay this device's */
			r->bdf = bdf;
			return r;
		}
	}
	return NULL;
}

/* Ring vector @v ourselves until its eventfd @fd shows it: QEMU has read
 * every connect before it. 0, or -ETIMEDOUT. */
static int ring_through(struct qemu_machine *p, struct qemu_remapper *r, unsigned v, int fd)
{
	for (int tries = 0; tries < 200; tries++) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t n;

		if (platform_mmio_write(&p->base, r->doorbell, 4, v, false))
			return -EIO;
		if (poll(&pfd, 1, 5) == 1 && read(fd, &n, sizeof(n)) == sizeof(n))
			return 0;
	}
	return -ETIMEDOUT;
}

int qemu_msi_route(struct platform *base, uint32_t bdf, unsigned region, unsigned count,
		   int *fds, uint64_t *addr, uint32_t *data)
{
	struct qemu_machine *p = (struct qemu_machine *)base;
	struct qemu_remapper *r;
	unsigned first, i;
	int rc;

	if (!p->nremap)
		return -EOPNOTSUPP;
	if (!count || count > DDEIO_MAX_VECTORS)
		return -EINVAL;
	r = remapper_of(p, bdf, true);
	if (!r || r->routed)
		return -ENOSPC;
	first = r->next;
	if (!(count & (count - 1)))	/* MSI's power of two: data aligned to the count */
		first = (r->next + count - 1) & ~(count - 1);
	if (first + count > QEMU_MSI_VECTORS)
		return -ENOSPC;
	/* the vectors skipped for alignment: connected, never rung */
	for (; r->next < first + count; r->next++) {
		int fd = eventfd(0, EFD_CLOEXEC);

		rc = fd < 0 ? -errno : send_msg(r->sock, 0, fd);
		if (rc) {
			if (fd >= 0)
				close(fd);
			for (i = 0; first + i < r->next; i++)
				close(fds[i]);
			return rc;
		}
		if (r->next >= first)
			fds[r->next - first] = fd;
		else
			close(fd);
	}
	rc = ring_through(p, r, first + count - 1, fds[count - 1]);
	if (!rc && p->iommu.on)
		rc = qemu_iommu_page(p, region, r->doorbell & ~PAGE_MASK, true);
	if (rc) {
		for (i = 0; i < count; i++)
			close(fds[i]);
		return rc;
	}
	r->routed = count;
	*addr = r->doorbell;
	*data = first;
	return 0;
}

void qemu_msi_unroute(struct platform *base, uint32_t bdf, unsigned region)
{
	struct qemu_machine *p = (struct qemu_machine *)base;
	struct qemu_remapper *r = remapper_of(p, bdf, false);

	if (!r || !r->routed)
		return;
	r->routed = 0;
	if (p->iommu.on)
		qemu_iommu_page(p, region, r->doorbell & ~PAGE_MASK, false);
}
