/*
 * testdev_rtl8139 — a minimal driver for the RealTek RTL8139C+ as QEMU's
 * `rtl8139` models it, in C+ mode (descriptor rings, the mode Linux's
 * 8139cp uses), written only against ddekit, for the benchmarks: many
 * frames per doorbell (TPPoll), completions and received frames seen by
 * the descriptors' OWN bits in DMA memory, no interrupts. See testdev.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "testdev.h"
#include "testdev_util.h"

enum {
	RTL_IDR0 = 0x00,	/* MAC address, 6 bytes */
	RTL_TNPDS_LO = 0x20,	/* C+: normal-priority TX ring */
	RTL_TNPDS_HI = 0x24,
	RTL_CR = 0x37,		/* command, 8 bits */
	RTL_IMR = 0x3c,		/* interrupt mask, 16 bits */
	RTL_ISR = 0x3e,		/* interrupt status, 16 bits, write 1 to clear */
	RTL_RCR = 0x44,		/* receive configuration */
	RTL_MPC = 0x4c,		/* missed packets (no descriptor) */
	RTL_BMSR = 0x64,	/* PHY status, 16 bits */
	RTL_TPPOLL = 0xd9,	/* C+: TX doorbell, 8 bits */
	RTL_CPCR = 0xe0,	/* C+ command, 16 bits */
	RTL_RDSAR_LO = 0xe4,	/* C+: RX ring */
	RTL_RDSAR_HI = 0xe8,
};

#define CR_RST		0x10
#define CR_RE		0x08
#define CR_TE		0x04
#define CPCR_RXEN	0x0002
#define CPCR_TXEN	0x0001
#define RCR_ACCEPT_ALL	0x0f	/* all physical, own, multicast, broadcast */
#define TPPOLL_NPQ	0x40
#define BMSR_LINK	0x0004

/* Descriptor word 0 (both directions). */
#define DESC_OWN	(1u << 31)	/* the device's */
#define DESC_EOR	(1u << 30)	/* the last of the ring */
#define DESC_FS		(1u << 29)
#define DESC_LS		(1u << 28)
#define TX_LEN_MASK	0xffffu
#define RX_LEN_MASK	0x1fffu

#define TX_RING_MAX	64	/* the model wraps its TX ring at 64 */
#define RX_RING_MIN	4
#define RX_RING_MAX	1024
#define BUF_SIZE	2048
#define ETH_MIN_FRAME	60
#define ETH_MAX_FRAME	1514

struct rtl_desc {
	uint32_t opts1;		/* OWN, EOR, FS, LS, length */
	uint32_t opts2;
	uint64_t addr;
};

struct testdev_rtl8139 {
	struct testdev_base b;

	unsigned tx_ring, rx_ring;
	struct rtl_desc *txd, *rxd;
	uint8_t *txbuf, *rxbuf;
	uint64_t txbuf_bus, rxbuf_bus;

	unsigned tx_tail;	/* next descriptor to fill */
	unsigned tx_clean;	/* oldest not taken back */
	unsigned tx_busy;	/* descriptors posted, not taken back */
	uint8_t tx_batch_len[TX_RING_MAX];	/* at a batch's first descriptor */

	unsigned rx_next;	/* next to look at */
	unsigned rx_held;	/* taken by rx_poll, not yet given back */
};

static inline uint32_t rd(struct testdev_rtl8139 *r, unsigned off, unsigned size)
{
	uint64_t v = 0;

	ddekit_mmio_read(r->b.regs + off, size, &v);
	return (uint32_t)v;
}

static inline void wr(struct testdev_rtl8139 *r, unsigned off, unsigned size, uint32_t val)
{
	ddekit_mmio_write(r->b.regs + off, size, val);
}

/* Give RX descriptor @i back to the device. */
static void rx_give(struct testdev_rtl8139 *r, unsigned i)
{
	struct rtl_desc *d = &r->rxd[i];

	d->opts2 = 0;
	d->addr = r->rxbuf_bus + (uint64_t)i * BUF_SIZE;
	__atomic_store_n(&d->opts1, DESC_OWN | (i == r->rx_ring - 1 ? DESC_EOR : 0) | BUF_SIZE,
			 __ATOMIC_RELEASE);
}

int testdev_rtl8139_open(unsigned dev, unsigned rx_ring, struct testdev_rtl8139 **out)
{
	struct testdev_rtl8139 *r;
	uint64_t txd_bus, rxd_bus;
	uint32_t cr = 0;
	int err;

	*out = NULL;
	if (rx_ring < RX_RING_MIN || rx_ring > RX_RING_MAX) {
		ddekit_log(DDEKIT_LOG_ERROR, "rtl8139 dev%u: RX ring of %u descriptors (%u..%u)",
			   dev, rx_ring, RX_RING_MIN, RX_RING_MAX);
		return -EINVAL;
	}
	r = ddekit_mem_alloc(sizeof(*r));
	if (!r) {
		ddekit_log(DDEKIT_LOG_ERROR, "rtl8139 dev%u: out of memory", dev);
		return -ENOMEM;
	}
	memset(r, 0, sizeof(*r));
	r->tx_ring = TX_RING_MAX;
	r->rx_ring = rx_ring;
	/* BAR0 is the same registers in I/O space, BAR1 in memory */
	err = testdev_base_init(&r->b, dev, 1, "rtl8139");
	if (err)
		goto err_close;

	wr(r, RTL_CR, 1, CR_RST);
	for (unsigned i = 0; (cr = rd(r, RTL_CR, 1)) & CR_RST; i++) {
		if (i == 100) {
			testdev_err(&r->b, "reset did not complete (CR 0x%02x)", cr);
			err = -ETIMEDOUT;
			goto err_close;
		}
		ddekit_thread_sleep_us(1000);
	}
	testdev_bus_master(dev);
	wr(r, RTL_IMR, 2, 0);
	wr(r, RTL_ISR, 2, 0xffff);

	r->txd = ddekit_dma_alloc(r->tx_ring * sizeof(*r->txd), 4096, &txd_bus);
	r->rxd = ddekit_dma_alloc(r->rx_ring * sizeof(*r->rxd), 4096, &rxd_bus);
	r->txbuf = ddekit_dma_alloc(r->tx_ring * BUF_SIZE, 4096, &r->txbuf_bus);
	r->rxbuf = ddekit_dma_alloc(r->rx_ring * BUF_SIZE, 4096, &r->rxbuf_bus);
	if (!r->txd || !r->rxd || !r->txbuf || !r->rxbuf) {
		testdev_err(&r->b, "out of DMA memory for the rings");
		err = -ENOMEM;
		goto err_close;
	}
	memset(r->txd, 0, r->tx_ring * sizeof(*r->txd));
	for (unsigned i = 0; i < r->rx_ring; i++)
		rx_give(r, i);
	__atomic_thread_fence(__ATOMIC_RELEASE);

	/* C+ mode first: in it, 0x20.. are the TX ring's address */
	wr(r, RTL_CPCR, 2, CPCR_RXEN | CPCR_TXEN);
	wr(r, RTL_TNPDS_LO, 4, (uint32_t)txd_bus);
	wr(r, RTL_TNPDS_HI, 4, (uint32_t)(txd_bus >> 32));
	wr(r, RTL_RDSAR_LO, 4, (uint32_t)rxd_bus);
	wr(r, RTL_RDSAR_HI, 4, (uint32_t)(rxd_bus >> 32));
	/* Promiscuous, so that test frames to any address arrive. */
	wr(r, RTL_RCR, 4, RCR_ACCEPT_ALL);
	/* Enabling starts both rings at their first descriptor. */
	wr(r, RTL_CR, 1, CR_RE | CR_TE);
	*out = r;
	return 0;

err_close:
	testdev_rtl8139_close(r);
	return err;
}

void testdev_rtl8139_close(struct testdev_rtl8139 *r)
{
	if (!r)
		return;
	if (r->b.regs) {
		wr(r, RTL_CR, 1, 0);
		wr(r, RTL_CPCR, 2, 0);
		/* A read flushes the posted writes before the rings go. */
		rd(r, RTL_CR, 1);
	}
	testdev_base_fini(&r->b);
	testdev_dma_free(r->rxbuf);
	testdev_dma_free(r->txbuf);
	testdev_dma_free(r->rxd);
	testdev_dma_free(r->txd);
	ddekit_mem_free(r);
}

int testdev_rtl8139_mac(struct testdev_rtl8139 *r, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)rd(r, RTL_IDR0 + i, 1);
	return 0;
}

int testdev_rtl8139_wait_link(struct testdev_rtl8139 *r, unsigned timeout_ms)
{
	uint64_t deadline = ddekit_clock_ns() + timeout_ms * 1000000ull;
	uint32_t bmsr;

	while (!((bmsr = rd(r, RTL_BMSR, 2)) & BMSR_LINK)) {
		if (ddekit_clock_ns() > deadline) {
			testdev_err(&r->b, "no link after %u ms (BMSR 0x%04x)", timeout_ms, bmsr);
			return -ETIMEDOUT;
		}
		ddekit_thread_sleep_us(10000);
	}
	return 0;
}

unsigned testdev_rtl8139_tx_ring(struct testdev_rtl8139 *r)
{
	return r->tx_ring;
}

unsigned testdev_rtl8139_tx_free(struct testdev_rtl8139 *r)
{
	/* the device works in order: a batch is done when its last descriptor is */
	while (r->tx_busy) {
		unsigned n = r->tx_batch_len[r->tx_clean];
		unsigned last = (r->tx_clean + n - 1) % r->tx_ring;

		if (__atomic_load_n(&r->txd[last].opts1, __ATOMIC_ACQUIRE) & DESC_OWN)
			break;
		r->tx_clean = (last + 1) % r->tx_ring;
		r->tx_busy -= n;
	}
	return r->tx_ring - r->tx_busy;
}

void *testdev_rtl8139_tx_buf(struct testdev_rtl8139 *r, unsigned k)
{
	return r->txbuf + (size_t)((r->tx_tail + k) % r->tx_ring) * BUF_SIZE;
}

int testdev_rtl8139_tx_post(struct testdev_rtl8139 *r, unsigned n, size_t len)
{
	unsigned first = r->tx_tail;

	if (n == 0 || n > r->tx_ring - r->tx_busy || len < ETH_MIN_FRAME || len > ETH_MAX_FRAME) {
		testdev_err(&r->b, "cannot post %u frames of %zu bytes (%u free, %u..%u bytes)",
			    n, len, r->tx_ring - r->tx_busy, ETH_MIN_FRAME, ETH_MAX_FRAME);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned slot = (first + i) % r->tx_ring;
		struct rtl_desc *d = &r->txd[slot];

		d->addr = r->txbuf_bus + (uint64_t)slot * BUF_SIZE;
		d->opts2 = 0;
		__atomic_store_n(&d->opts1, DESC_OWN | DESC_FS | DESC_LS | (uint32_t)len |
				 (slot == r->tx_ring - 1 ? DESC_EOR : 0), __ATOMIC_RELAXED);
	}
	r->tx_batch_len[first] = (uint8_t)n;
	r->tx_busy += n;
	r->tx_tail = (first + n) % r->tx_ring;
	/* The descriptors must be in memory before the device looks. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr(r, RTL_TPPOLL, 1, TPPOLL_NPQ);
	return 0;
}

int testdev_rtl8139_tx_drain(struct testdev_rtl8139 *r, unsigned timeout_ms)
{
	uint64_t start = ddekit_clock_ns();

	while (testdev_rtl8139_tx_free(r) != r->tx_ring) {
		if (ddekit_clock_ns() - start > timeout_ms * 1000000ull) {
			testdev_err(&r->b, "TX ring not done within %u ms (%u of %u descriptors pending)",
				    timeout_ms, r->tx_busy, r->tx_ring);
			return -ETIMEDOUT;
		}
		ddekit_thread_sleep_us(20);
	}
	return 0;
}

int testdev_rtl8139_rx_poll(struct testdev_rtl8139 *r, const void **frame, size_t *len)
{
	unsigned slot = r->rx_next;
	uint32_t opts1;

	/* all buffers taken: the next descriptor is one of them */
	if (r->rx_held == r->rx_ring)
		return 0;
	opts1 = __atomic_load_n(&r->rxd[slot].opts1, __ATOMIC_ACQUIRE);
	if (opts1 & DESC_OWN)
		return 0;
	r->rx_next = (slot + 1) % r->rx_ring;
	r->rx_held++;
	/* the model counts the CRC it appends in the length */
	if ((opts1 & (DESC_FS | DESC_LS)) != (DESC_FS | DESC_LS) || (opts1 & RX_LEN_MASK) < 4) {
		testdev_err(&r->b, "bad RX descriptor %u (0x%08x)", slot, opts1);
		return -EIO;
	}
	*len = (opts1 & RX_LEN_MASK) - 4;
	*frame = r->rxbuf + (size_t)slot * BUF_SIZE;
	return 1;
}

unsigned testdev_rtl8139_rx_return(struct testdev_rtl8139 *r)
{
	unsigned n = r->rx_held;

	for (unsigned i = 0; i < n; i++)
		rx_give(r, (r->rx_next + r->rx_ring - n + i) % r->rx_ring);
	r->rx_held = 0;
	return n;
}

int testdev_rtl8139_missed(struct testdev_rtl8139 *r, uint32_t *missed)
{
	uint64_t v = 0;
	int err = ddekit_mmio_read(r->b.regs + RTL_MPC, 4, &v);

	if (err)
		testdev_err(&r->b, "reading MPC failed: %s", ddekit_last_error());
	*missed = (uint32_t)v & 0xffffff;	/* 24 bits */
	return err;
}
