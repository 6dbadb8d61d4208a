/*
 * testdev_ne2k — a minimal driver for the NE2000 (DP8390) as QEMU's
 * `ne2k_pci` models it, written only against ddekit, for the benchmarks:
 * the cheapest way the model moves frames. The chip has no DMA into host
 * memory: frames go through its own 32 KiB of packet memory by "remote
 * DMA" on a data port, and QEMU's platform turns every element of a
 * string port access into one command to the model, so 32-bit accesses
 * (a quarter of the byte count) are the fewest there are. Transmit: the
 * frame written at page 0x40 and sent at once (the model transmits on the
 * command write; every write is posted, one read at the end waits for
 * them). Receive: the ring's new frames found with one read of CURR and
 * fetched in one remote read, the ring given back at once with one BNRY
 * write (the frames wait in this driver's memory), no interrupts.
 * See testdev.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "testdev.h"

enum {
	NE_CR = 0x00,		/* command, every page */
	NE0_PSTART = 0x01,	/* page 0, written */
	NE0_PSTOP = 0x02,
	NE0_BNRY = 0x03,
	NE0_TPSR = 0x04,
	NE0_TBCR0 = 0x05,
	NE0_TBCR1 = 0x06,
	NE0_ISR = 0x07,
	NE0_RSAR0 = 0x08,
	NE0_RSAR1 = 0x09,
	NE0_RBCR0 = 0x0a,
	NE0_RBCR1 = 0x0b,
	NE0_RCR = 0x0c,
	NE0_TCR = 0x0d,
	NE0_DCR = 0x0e,
	NE0_IMR = 0x0f,
	NE1_PAR0 = 0x01,	/* page 1 */
	NE1_CURR = 0x07,
	NE1_MAR0 = 0x08,
	NE_DATA = 0x10,		/* remote DMA data port */
	NE_RESET = 0x1f,
};

#define CR_STOP		0x01
#define CR_START	0x02
#define CR_TXP		0x04
#define CR_RREAD	0x08
#define CR_RWRITE	0x10
#define CR_NODMA	0x20
#define CR_PAGE1	0x40
#define ISR_RESET	0x80
#define DCR_WORD	0x49	/* word-wide, normal, FIFO threshold 8 */
#define RCR_BROADCAST	0x04

#define PAGE		256
#define TX_PAGE		0x40	/* the packet memory starts at 16 KiB */
#define RX_START	0x46	/* after one full frame's pages for transmit */
#define RX_STOP		0xc0	/* the model's memory ends at 48 KiB */
#define RX_PAGES	(RX_STOP - RX_START)
#define TX_SLOTS	16	/* frames a tx_post takes (copied out at once) */
#define FRAME_MAX	1514

struct testdev_ne2k {
	uint16_t io;			/* BAR0: the 8390's registers */
	uint8_t next;			/* the first page the model fills next */
	uint8_t rx_first;		/* the page the fetched frames started at */
	uint8_t *rx;			/* the fetched frames, RX_PAGES pages */
	size_t rx_len, rx_off;		/* fetched bytes; the next frame's offset */
	uint8_t tx[TX_SLOTS][FRAME_MAX + 3];
};

static void out8(struct testdev_ne2k *n, unsigned reg, uint8_t v)
{
	ddekit_pio_write((uint16_t)(n->io + reg), 1, v);
}

static int in8(struct testdev_ne2k *n, unsigned reg, uint8_t *v)
{
	uint32_t x = 0;
	int err = ddekit_pio_read((uint16_t)(n->io + reg), 1, &x);

	*v = (uint8_t)x;
	return err;
}

/* Remote DMA: @len bytes (a multiple of 4) of packet memory at @addr. */
static void remote_setup(struct testdev_ne2k *n, unsigned addr, unsigned len, uint8_t cmd)
{
	out8(n, NE0_RBCR0, len & 0xff);
	out8(n, NE0_RBCR1, len >> 8);
	out8(n, NE0_RSAR0, addr & 0xff);
	out8(n, NE0_RSAR1, addr >> 8);
	out8(n, NE_CR, cmd | CR_START);
}

static int remote_read(struct testdev_ne2k *n, unsigned addr, void *buf, unsigned len)
{
	remote_setup(n, addr, len, CR_RREAD);
	return ddekit_pio_read_rep((uint16_t)(n->io + NE_DATA), 4, buf, len / 4);
}

int testdev_ne2k_open(unsigned dev, struct testdev_ne2k **out)
{
	const struct ddekit_pci_dev *d = ddekit_pci_device(dev);
	struct testdev_ne2k *n;
	uint8_t v = 0;
	int err;

	*out = NULL;
	if (!d || d->bar[0].kind != DDEKIT_BAR_IO || d->bar[0].size < 0x20)
		return -ENODEV;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->rx = malloc(RX_PAGES * PAGE))) {
		free(n);
		return -ENOMEM;
	}
	n->io = (uint16_t)d->bar[0].addr;
	/* reset: a read of the reset port, written back; ISR says when it is done */
	err = in8(n, NE_RESET, &v);
	if (!err) {
		out8(n, NE_RESET, v);
		err = in8(n, NE0_ISR, &v);
	}
	if (!err && !(v & ISR_RESET))
		err = -EIO;
	if (!err) {
		out8(n, NE_CR, CR_STOP | CR_NODMA);
		out8(n, NE0_DCR, DCR_WORD);
		out8(n, NE0_RBCR0, 0);
		out8(n, NE0_RBCR1, 0);
		out8(n, NE0_IMR, 0);		/* no interrupts: everything is polled */
		out8(n, NE0_ISR, 0xff);
		out8(n, NE0_RCR, 0x20);		/* monitor while setting up */
		out8(n, NE0_TCR, 0x02);		/* loopback while setting up */
		out8(n, NE0_TPSR, TX_PAGE);
		out8(n, NE0_PSTART, RX_START);
		out8(n, NE0_PSTOP, RX_STOP);
		out8(n, NE0_BNRY, RX_START);
		/* page 1: the station address from the PROM, CURR just after BNRY */
		uint32_t prom[8];

		err = remote_read(n, 0, prom, sizeof(prom));
		if (!err) {
			const uint8_t *p = (const uint8_t *)prom;

			out8(n, NE_CR, CR_PAGE1 | CR_STOP | CR_NODMA);
			for (unsigned i = 0; i < 6; i++)
				out8(n, NE1_PAR0 + i, p[2 * i]);	/* the PROM's bytes come doubled */
			for (unsigned i = 0; i < 8; i++)
				out8(n, NE1_MAR0 + i, 0);
			n->next = RX_START + 1;
			out8(n, NE1_CURR, n->next);
			out8(n, NE_CR, CR_START | CR_NODMA);	/* page 0, running */
			out8(n, NE0_TCR, 0);
			out8(n, NE0_RCR, RCR_BROADCAST);
			err = in8(n, NE_CR, &v);	/* waits for all of it */
		}
	}
	if (err) {
		free(n->rx);
		free(n);
		return err;
	}
	*out = n;
	return 0;
}

void testdev_ne2k_close(struct testdev_ne2k *n)
{
	if (!n)
		return;
	out8(n, NE_CR, CR_STOP | CR_NODMA);
	free(n->rx);
	free(n);
}

int testdev_ne2k_mac(struct testdev_ne2k *n, uint8_t mac[6])
{
	int err = 0;

	out8(n, NE_CR, CR_PAGE1 | CR_START | CR_NODMA);
	for (unsigned i = 0; i < 6 && !err; i++)
		err = in8(n, NE1_PAR0 + i, &mac[i]);
	out8(n, NE_CR, CR_START | CR_NODMA);
	return err;
}

unsigned testdev_ne2k_tx_ring(struct testdev_ne2k *n)
{
	(void)n;
	return TX_SLOTS;
}

unsigned testdev_ne2k_tx_free(struct testdev_ne2k *n)
{
	(void)n;
	return TX_SLOTS;	/* a frame is copied out when it is posted */
}

void *testdev_ne2k_tx_buf(struct testdev_ne2k *n, unsigned k)
{
	return n->tx[k % TX_SLOTS];
}

/* Frames 0..@count-1, @len bytes each: into packet memory and sent, all posted. */
int testdev_ne2k_tx_post(struct testdev_ne2k *n, unsigned count, size_t len)
{
	unsigned words = (unsigned)(len + 3) / 4;

	if (len < 60 || len > FRAME_MAX || count > TX_SLOTS)
		return -EINVAL;
	for (unsigned k = 0; k < count; k++) {
		int err;

		remote_setup(n, TX_PAGE * PAGE, words * 4, CR_RWRITE);
		err = ddekit_pio_write_rep((uint16_t)(n->io + NE_DATA), 4, n->tx[k], words);
		if (err)
			return err;
		out8(n, NE0_TBCR0, len & 0xff);
		out8(n, NE0_TBCR1, len >> 8);
		out8(n, NE_CR, CR_START | CR_NODMA | CR_TXP);
	}
	return 0;
}

/* The model sends on the command write: one read waits for every posted one. */
int testdev_ne2k_tx_drain(struct testdev_ne2k *n, unsigned timeout_ms)
{
	uint8_t v;

	(void)timeout_ms;
	return in8(n, NE_CR, &v);
}

/* Fetch the frames the model put in the ring since the last time: 1, 0 (none) or -errno. */
static int fetch(struct testdev_ne2k *n)
{
	uint8_t curr = 0;
	unsigned pages;
	int err;

	out8(n, NE_CR, CR_PAGE1 | CR_START | CR_NODMA);
	err = in8(n, NE1_CURR, &curr);
	out8(n, NE_CR, CR_START | CR_NODMA);
	if (err)
		return err;
	if (curr < RX_START || curr >= RX_STOP)
		return -EIO;
	if (curr == n->next)
		return 0;
	pages = (unsigned)(curr + RX_PAGES - n->next) % RX_PAGES;
	/* the model's remote address wraps from PSTOP to PSTART by itself */
	err = remote_read(n, n->next * PAGE, n->rx, pages * PAGE);
	if (err)
		return err;
	n->rx_len = pages * PAGE;
	n->rx_off = 0;
	n->rx_first = n->next;
	n->next = curr;
	/* the frames are ours now: the ring is the model's again (BNRY trails by a page) */
	out8(n, NE0_BNRY, curr == RX_START ? RX_STOP - 1 : curr - 1);
	return 1;
}

int testdev_ne2k_rx_poll(struct testdev_ne2k *n, const void **frame, size_t *len)
{
	const uint8_t *h;
	unsigned total, next, page, span;

	if (n->rx_off >= n->rx_len) {
		int r = fetch(n);

		if (r <= 0)
			return r;
	}
	/* the header: status, next page, length (with the header's 4 bytes) */
	h = n->rx + n->rx_off;
	total = h[2] | (unsigned)h[3] << 8;
	next = h[1];
	page = (unsigned)(n->rx_first - RX_START + n->rx_off / PAGE) % RX_PAGES + RX_START;
	span = (next + RX_PAGES - page) % RX_PAGES * PAGE;
	if (next < RX_START || next >= RX_STOP || total < 4 + 14 || total > FRAME_MAX + 4 ||
	    span < total || n->rx_off + span > n->rx_len) {
		n->rx_off = n->rx_len;	/* the rest cannot be trusted */
		return -EIO;
	}
	*frame = h + 4;
	*len = total - 4;
	n->rx_off += span;
	return 1;
}

unsigned testdev_ne2k_rx_return(struct testdev_ne2k *n)
{
	(void)n;
	return 0;	/* given back when fetched */
}

/* The missed-frames counter (CNTR2; QEMU's model keeps none and reads 0). */
int testdev_ne2k_missed(struct testdev_ne2k *n, uint32_t *missed)
{
	uint8_t v = 0;
	int err = in8(n, NE0_IMR, &v);	/* CNTR2 when read */

	*missed = v;
	return err;
}
