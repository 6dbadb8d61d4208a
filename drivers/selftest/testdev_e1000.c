/*
 * testdev_e1000 — a minimal driver for the Intel 82540EM as QEMU's `e1000`
 * models it, written only against ddekit: one TX and one RX ring of legacy
 * descriptors in DMA memory, EEPROM reads through EERD, and an interrupt
 * self-test through the interrupt-cause-set register. Frame by frame
 * (send, recv: a doorbell and a wait per frame), or in batches for the
 * benchmarks (tx_post, rx_poll/rx_return: many descriptors per doorbell,
 * completions seen in DMA memory). See testdev.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "testdev.h"
#include "testdev_util.h"

enum {
	E1000_CTRL = 0x0000,
	E1000_STATUS = 0x0008,
	E1000_EERD = 0x0014,
	E1000_ICR = 0x00c0,
	E1000_ICS = 0x00c8,
	E1000_IMS = 0x00d0,
	E1000_IMC = 0x00d8,
	E1000_RCTL = 0x0100,
	E1000_TCTL = 0x0400,
	E1000_TIPG = 0x0410,
	E1000_RDBAL = 0x2800,
	E1000_RDBAH = 0x2804,
	E1000_RDLEN = 0x2808,
	E1000_RDH = 0x2810,
	E1000_RDT = 0x2818,
	E1000_TDBAL = 0x3800,
	E1000_TDBAH = 0x3804,
	E1000_TDLEN = 0x3808,
	E1000_TDH = 0x3810,
	E1000_TDT = 0x3818,
	E1000_MTA = 0x5200,
	E1000_RAL0 = 0x5400,
	E1000_RAH0 = 0x5404,
};

#define CTRL_SLU	(1u << 6)
#define CTRL_RST	(1u << 26)
#define STATUS_LU	(1u << 1)
#define EERD_START	(1u << 0)
#define EERD_DONE	(1u << 4)
#define RCTL_EN		(1u << 1)
#define RCTL_UPE	(1u << 3)
#define RCTL_MPE	(1u << 4)
#define RCTL_BAM	(1u << 15)
#define RCTL_SECRC	(1u << 26)
#define TCTL_EN		(1u << 1)
#define TCTL_PSP	(1u << 3)
#define TCTL_CT		(0x0fu << 4)
#define TCTL_COLD	(0x40u << 12)	/* full duplex */
#define RAH_AV		(1u << 31)
/* A cause QEMU never raises by itself, so only the self-test sets it. */
#define ICR_SELFTEST	(1u << 3)	/* RXSEQ */

#define TXD_CMD_EOP	0x01
#define TXD_CMD_IFCS	0x02
#define TXD_CMD_RS	0x08
#define DESC_DD		0x01
#define RXD_EOP		0x02

/* 8 descriptors = 128 bytes, the minimum and granularity of xDLEN. */
#define RING_MIN	8
#define RING_MAX	4096
#define BUF_SIZE	2048
#define ETH_MIN_FRAME	60
#define ETH_MAX_FRAME	1514

struct e1000_tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};

struct e1000_rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};

struct testdev_e1000 {
	struct testdev_base b;
	uint32_t irq_icr;	/* causes seen by the handler (atomic) */
	uint64_t irq_ns;	/* when the handler last ran (atomic) */

	unsigned ring;		/* descriptors per ring, both directions */

	struct e1000_tx_desc *txd;
	uint8_t *txbuf;
	uint64_t txbuf_bus;
	unsigned tx_tail;
	/* batches: the oldest descriptor not taken back, and for the first
	 * descriptor of each batch posted the last (the one with RS) */
	unsigned tx_clean;
	uint16_t *tx_batch_end;

	struct e1000_rx_desc *rxd;
	uint8_t *rxbuf;
	unsigned rx_next;
	unsigned rx_held;	/* frames taken by rx_poll, not yet given back */
};

static int e1000_read(struct testdev_e1000 *e, unsigned off, uint32_t *val)
{
	int err = testdev_rd32(e->b.regs, off, val);

	if (err)
		testdev_err(&e->b, "reading register 0x%x failed: %s",
			    off, ddekit_last_error());
	return err;
}

/*
 * Reading ICR clears it and drops the (level) line; keep the causes for
 * the waiter. The time is taken first, as the read is a round trip.
 */
static void e1000_irq_handler(void *arg)
{
	struct testdev_e1000 *e = arg;
	uint64_t now = ddekit_clock_ns();
	uint32_t icr = 0;

	if (testdev_rd32(e->b.regs, E1000_ICR, &icr))
		return;
	__atomic_store_n(&e->irq_ns, now, __ATOMIC_RELEASE);
	__atomic_fetch_or(&e->irq_icr, icr, __ATOMIC_ACQ_REL);
	ddekit_sem_up(e->b.irq_sem);
}

/* Leave the device quiet: no interrupts, no DMA. */
static void e1000_quiesce(struct testdev_e1000 *e)
{
	testdev_wr32(e->b.regs, E1000_IMC, 0xffffffff);
	testdev_wr32(e->b.regs, E1000_RCTL, 0);
	testdev_wr32(e->b.regs, E1000_TCTL, 0);
}

static void e1000_setup_rings(struct testdev_e1000 *e, uint64_t txd_bus,
			      uint64_t rxd_bus, uint64_t rxbuf_bus)
{
	unsigned i;

	/* DMA memory may come back from an earlier use: no stale DD bits */
	memset(e->txd, 0, e->ring * sizeof(*e->txd));
	memset(e->rxd, 0, e->ring * sizeof(*e->rxd));
	for (i = 0; i < e->ring; i++)
		e->rxd[i].addr = rxbuf_bus + i * BUF_SIZE;

	testdev_wr32(e->b.regs, E1000_TDBAL, (uint32_t)txd_bus);
	testdev_wr32(e->b.regs, E1000_TDBAH, (uint32_t)(txd_bus >> 32));
	testdev_wr32(e->b.regs, E1000_TDLEN, e->ring * sizeof(*e->txd));
	testdev_wr32(e->b.regs, E1000_TDH, 0);
	testdev_wr32(e->b.regs, E1000_TDT, 0);
	testdev_wr32(e->b.regs, E1000_TIPG, 10 | 8 << 10 | 6 << 20);
	testdev_wr32(e->b.regs, E1000_TCTL,
		     TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);

	testdev_wr32(e->b.regs, E1000_RDBAL, (uint32_t)rxd_bus);
	testdev_wr32(e->b.regs, E1000_RDBAH, (uint32_t)(rxd_bus >> 32));
	testdev_wr32(e->b.regs, E1000_RDLEN, e->ring * sizeof(*e->rxd));
	testdev_wr32(e->b.regs, E1000_RDH, 0);
	/* All but one descriptor owned by the device: head == tail is empty. */
	testdev_wr32(e->b.regs, E1000_RDT, e->ring - 1);
	/* Promiscuous, so that test frames to any address arrive. */
	testdev_wr32(e->b.regs, E1000_RCTL, RCTL_EN | RCTL_UPE | RCTL_MPE |
		     RCTL_BAM | RCTL_SECRC);
}

int testdev_e1000_open(unsigned dev, struct testdev_e1000 **out)
{
	return testdev_e1000_open_ring(dev, RING_MIN, out);
}

int testdev_e1000_open_ring(unsigned dev, unsigned ring,
			    struct testdev_e1000 **out)
{
	struct testdev_e1000 *e;
	uint64_t txd_bus, rxd_bus, rxbuf_bus;
	uint32_t ctrl, icr;
	uint8_t mac[6];
	unsigned i;
	int err;

	*out = NULL;
	if (ring < RING_MIN || ring > RING_MAX || ring % RING_MIN) {
		ddekit_log(DDEKIT_LOG_ERROR, "e1000 dev%u: ring of %u descriptors "
			   "(%u..%u, a multiple of %u)", dev, ring, RING_MIN,
			   RING_MAX, RING_MIN);
		return -EINVAL;
	}
	e = ddekit_mem_alloc(sizeof(*e));
	if (!e) {
		ddekit_log(DDEKIT_LOG_ERROR, "e1000 dev%u: out of memory", dev);
		return -ENOMEM;
	}
	memset(e, 0, sizeof(*e));
	e->ring = ring;
	err = testdev_base_init(&e->b, dev, 0, "e1000");
	if (err)
		goto err_close;

	/*
	 * Stop everything before touching the rings: a previous driver may
	 * have left DMA running, and QEMU's CTRL.RST resets next to nothing.
	 */
	e1000_quiesce(e);
	err = e1000_read(e, E1000_CTRL, &ctrl);
	if (err)
		goto err_close;
	testdev_wr32(e->b.regs, E1000_CTRL, ctrl | CTRL_RST);
	ddekit_thread_sleep_us(1000);
	err = testdev_poll32(e->b.regs, E1000_CTRL, CTRL_RST, 0, 100, 1000,
			     &ctrl);
	if (err) {
		testdev_err(&e->b, "reset did not complete (CTRL 0x%08x): %d",
			    ctrl, err);
		goto err_close;
	}
	e1000_quiesce(e);
	testdev_bus_master(dev);
	err = e1000_read(e, E1000_ICR, &icr);
	if (err)
		goto err_close;
	testdev_wr32(e->b.regs, E1000_CTRL, ctrl | CTRL_SLU);

	err = testdev_e1000_eeprom_mac(e, mac);
	if (err)
		goto err_close;
	testdev_wr32(e->b.regs, E1000_RAL0, mac[0] | mac[1] << 8 |
		     mac[2] << 16 | (uint32_t)mac[3] << 24);
	testdev_wr32(e->b.regs, E1000_RAH0, mac[4] | mac[5] << 8 | RAH_AV);
	for (i = 0; i < 128; i++)
		testdev_wr32(e->b.regs, E1000_MTA + 4 * i, 0);

	e->txd = ddekit_dma_alloc(ring * sizeof(*e->txd), 4096, &txd_bus);
	e->rxd = ddekit_dma_alloc(ring * sizeof(*e->rxd), 4096, &rxd_bus);
	e->txbuf = ddekit_dma_alloc(ring * BUF_SIZE, 4096, &e->txbuf_bus);
	e->rxbuf = ddekit_dma_alloc(ring * BUF_SIZE, 4096, &rxbuf_bus);
	e->tx_batch_end = ddekit_mem_alloc(ring * sizeof(*e->tx_batch_end));
	if (!e->txd || !e->rxd || !e->txbuf || !e->rxbuf || !e->tx_batch_end) {
		testdev_err(&e->b, "out of DMA memory for the rings");
		err = -ENOMEM;
		goto err_close;
	}
	err = testdev_base_attach(&e->b, e1000_irq_handler, e);
	if (err)
		goto err_close;

	e1000_setup_rings(e, txd_bus, rxd_bus, rxbuf_bus);
	*out = e;
	return 0;

err_close:
	testdev_e1000_close(e);
	return err;
}

void testdev_e1000_close(struct testdev_e1000 *e)
{
	uint32_t status;

	if (!e)
		return;
	if (e->b.regs) {
		e1000_quiesce(e);
		/* A read flushes the posted writes before the rings go. */
		testdev_rd32(e->b.regs, E1000_STATUS, &status);
	}
	testdev_base_fini(&e->b);
	testdev_dma_free(e->rxbuf);
	testdev_dma_free(e->txbuf);
	testdev_dma_free(e->rxd);
	testdev_dma_free(e->txd);
	if (e->tx_batch_end)
		ddekit_mem_free(e->tx_batch_end);
	ddekit_mem_free(e);
}

int testdev_e1000_status(struct testdev_e1000 *e, uint32_t *status)
{
	return e1000_read(e, E1000_STATUS, status);
}

int testdev_e1000_wait_link(struct testdev_e1000 *e, unsigned timeout_ms)
{
	uint32_t status = 0;
	int err;

	err = testdev_poll32(e->b.regs, E1000_STATUS, STATUS_LU, STATUS_LU,
			     timeout_ms, 10000, &status);
	if (err)
		testdev_err(&e->b, "no link after %u ms (STATUS 0x%08x): %d",
			    timeout_ms, status, err);
	return err;
}

int testdev_e1000_eeprom_mac(struct testdev_e1000 *e, uint8_t mac[6])
{
	uint32_t eerd = 0;
	unsigned word;
	int err;

	for (word = 0; word < 3; word++) {
		testdev_wr32(e->b.regs, E1000_EERD, word << 8 | EERD_START);
		err = testdev_poll32(e->b.regs, E1000_EERD, EERD_DONE, EERD_DONE,
				     100, 100, &eerd);
		if (err) {
			testdev_err(&e->b, "EEPROM word %u read failed (EERD 0x%08x): %d",
				    word, eerd, err);
			return err;
		}
		mac[2 * word] = (uint8_t)(eerd >> 16);
		mac[2 * word + 1] = (uint8_t)(eerd >> 24);
	}
	return 0;
}

int testdev_e1000_irq_selftest(struct testdev_e1000 *e, uint64_t *latency_ns)
{
	uint64_t t0, deadline, now;
	uint32_t icr = 0;
	int err;

	/* Forget earlier wake-ups, then unmask only the test cause. */
	testdev_drain_sem(&e->b);
	__atomic_store_n(&e->irq_icr, 0, __ATOMIC_RELEASE);
	testdev_wr32(e->b.regs, E1000_IMS, ICR_SELFTEST);
	t0 = ddekit_clock_ns();
	testdev_wr32(e->b.regs, E1000_ICS, ICR_SELFTEST);

	deadline = t0 + 1000000000ull;
	err = -ETIMEDOUT;
	while ((now = ddekit_clock_ns()) < deadline) {
		if (ddekit_sem_down(e->b.irq_sem, (deadline - now) / 1000 + 1))
			break;
		icr = __atomic_load_n(&e->irq_icr, __ATOMIC_ACQUIRE);
		if (icr & ICR_SELFTEST) {
			err = 0;
			break;
		}
	}
	testdev_wr32(e->b.regs, E1000_IMC, ICR_SELFTEST);
	if (err) {
		testdev_err(&e->b, "no interrupt %u within 1 s of writing ICS (ICR seen 0x%08x)",
			    e->b.irq, icr);
		return err;
	}
	*latency_ns = __atomic_load_n(&e->irq_ns, __ATOMIC_ACQUIRE) - t0;
	return 0;
}

/*
 * Wait for the device to set DD in a descriptor's status byte. The byte
 * is in shared memory, so polling it costs no round trips. Spin for the
 * first 500 us, the usual time for a doorbell to reach the device and
 * the device to finish: sleeping would add the kernel's timer slack
 * (50 us or more) to every frame. Then sleep, so a slow device does not
 * take a CPU from the emulator.
 */
static bool e1000_wait_dd(volatile uint8_t *status, uint64_t timeout_ns)
{
	uint64_t start = ddekit_clock_ns(), now = start;

	while (!(__atomic_load_n(status, __ATOMIC_ACQUIRE) & DESC_DD)) {
		if (now - start > timeout_ns)
			return false;
		if (now - start < 500000)
			ddekit_thread_yield();
		else
			ddekit_thread_sleep_us(50);
		now = ddekit_clock_ns();
	}
	return true;
}

/* Hand the device one frame of @wire bytes at bus address @addr; wait for DD. */
static int tx_submit(struct testdev_e1000 *e, uint64_t addr, size_t wire)
{
	unsigned slot = e->tx_tail;
	struct e1000_tx_desc *d = &e->txd[slot];

	d->addr = addr;
	d->length = (uint16_t)wire;
	d->cso = 0;
	d->css = 0;
	d->special = 0;
	d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
	__atomic_store_n(&d->status, 0, __ATOMIC_RELAXED);
	e->tx_batch_end[slot] = (uint16_t)slot;	/* a batch of one, for tx_free */
	/* The descriptor must be in memory before the device sees TDT. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	e->tx_tail = (slot + 1) % e->ring;
	testdev_wr32(e->b.regs, E1000_TDT, e->tx_tail);

	if (!e1000_wait_dd(&d->status, 1000000000ull)) {
		testdev_err(&e->b, "TX descriptor %u not done within 1 s", slot);
		return -ETIMEDOUT;
	}
	e->tx_clean = e->tx_tail;	/* all done, in order */
	return 0;
}

int testdev_e1000_send(struct testdev_e1000 *e, const void *frame, size_t len)
{
	unsigned slot = e->tx_tail;
	uint8_t *buf = e->txbuf + slot * BUF_SIZE;
	size_t wire = len < ETH_MIN_FRAME ? ETH_MIN_FRAME : len;

	if (len < 14 || len > ETH_MAX_FRAME) {
		testdev_err(&e->b, "frame of %zu bytes not sendable (14..%u)",
			    len, ETH_MAX_FRAME);
		return -EINVAL;
	}
	memcpy(buf, frame, len);
	memset(buf + len, 0, wire - len);	/* pad short frames ourselves */
	return tx_submit(e, e->txbuf_bus + slot * BUF_SIZE, wire);
}

int testdev_e1000_send_bus(struct testdev_e1000 *e, uint64_t bus, size_t len)
{
	return tx_submit(e, bus, len);
}

int testdev_e1000_recv(struct testdev_e1000 *e, void *buf, size_t cap,
		       size_t *len, unsigned timeout_ms)
{
	unsigned slot = e->rx_next;
	struct e1000_rx_desc *d = &e->rxd[slot];
	size_t n;
	int err = 0;

	if (!e1000_wait_dd(&d->status, timeout_ms * 1000000ull))
		return -ETIMEDOUT;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	n = d->length;
	if (!(d->status & RXD_EOP) || d->errors) {
		/* 2 KiB buffers hold any standard frame: this is an error. */
		testdev_err(&e->b, "bad RX descriptor %u (status 0x%02x errors 0x%02x)",
			    slot, d->status, d->errors);
		err = -EIO;
	} else {
		memcpy(buf, e->rxbuf + slot * BUF_SIZE, n < cap ? n : cap);
		*len = n;
	}

	/* Give the descriptor back: it becomes the new tail. */
	d->status = 0;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	testdev_wr32(e->b.regs, E1000_RDT, slot);
	e->rx_next = (slot + 1) % e->ring;
	e->rx_held = 0;		/* the RDT write gave back any held too */
	return err;
}

/*
 * ---- Batches, for the benchmarks ----
 *
 * TX: the caller fills the buffers of free descriptors and posts many at
 * once with one TDT write; only the last descriptor of a batch asks for a
 * status write-back (RS), and as the device works in order, its DD says
 * the whole batch is done. tx_batch_end[first of a batch] = its last.
 * RX: frames are taken in ring order by their DD bit in memory and given
 * back many at once with one RDT write.
 */

unsigned testdev_e1000_ring(struct testdev_e1000 *e)
{
	return e->ring;
}

/* Free TX descriptors, without looking at the device's progress. */
static unsigned tx_room(struct testdev_e1000 *e)
{
	return (e->tx_clean + e->ring - e->tx_tail - 1) % e->ring;
}

unsigned testdev_e1000_tx_free(struct testdev_e1000 *e)
{
	while (e->tx_clean != e->tx_tail) {
		unsigned last = e->tx_batch_end[e->tx_clean];

		if (!(__atomic_load_n(&e->txd[last].status, __ATOMIC_ACQUIRE) & DESC_DD))
			break;
		e->tx_clean = (last + 1) % e->ring;
	}
	return tx_room(e);
}

void *testdev_e1000_tx_buf(struct testdev_e1000 *e, unsigned k)
{
	return e->txbuf + (size_t)((e->tx_tail + k) % e->ring) * BUF_SIZE;
}

int testdev_e1000_tx_post(struct testdev_e1000 *e, unsigned n, size_t len)
{
	unsigned first = e->tx_tail, last = (first + n - 1) % e->ring, i;

	if (n == 0 || n > tx_room(e) || len < ETH_MIN_FRAME || len > ETH_MAX_FRAME) {
		testdev_err(&e->b, "cannot post %u frames of %zu bytes (%u free, %u..%u bytes)",
			    n, len, tx_room(e), ETH_MIN_FRAME, ETH_MAX_FRAME);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		unsigned slot = (first + i) % e->ring;
		struct e1000_tx_desc *d = &e->txd[slot];

		d->addr = e->txbuf_bus + (uint64_t)slot * BUF_SIZE;
		d->length = (uint16_t)len;
		d->cso = 0;
		d->css = 0;
		d->special = 0;
		d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | (slot == last ? TXD_CMD_RS : 0);
		d->status = 0;
	}
	e->tx_batch_end[first] = (uint16_t)last;
	/* The descriptors must be in memory before the device sees TDT. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	e->tx_tail = (last + 1) % e->ring;
	testdev_wr32(e->b.regs, E1000_TDT, e->tx_tail);
	return 0;
}

int testdev_e1000_tx_drain(struct testdev_e1000 *e, unsigned timeout_ms)
{
	uint64_t start = ddekit_clock_ns();

	while (testdev_e1000_tx_free(e) != e->ring - 1) {
		if (ddekit_clock_ns() - start > timeout_ms * 1000000ull) {
			testdev_err(&e->b, "TX ring not done within %u ms (%u of %u descriptors pending)",
				    timeout_ms, e->ring - 1 - tx_room(e), e->ring - 1);
			return -ETIMEDOUT;
		}
		ddekit_thread_sleep_us(20);
	}
	return 0;
}

int testdev_e1000_rx_poll(struct testdev_e1000 *e, const void **frame, size_t *len)
{
	unsigned slot = e->rx_next;
	struct e1000_rx_desc *d = &e->rxd[slot];
	uint8_t status, errors;

	if (!(__atomic_load_n(&d->status, __ATOMIC_ACQUIRE) & DESC_DD))
		return 0;
	status = d->status;
	errors = d->errors;
	*len = d->length;
	*frame = e->rxbuf + (size_t)slot * BUF_SIZE;
	/* The device writes this descriptor again only after RDT passed it. */
	d->status = 0;
	e->rx_next = (slot + 1) % e->ring;
	e->rx_held++;
	if (!(status & RXD_EOP) || errors) {
		testdev_err(&e->b, "bad RX descriptor %u (status 0x%02x errors 0x%02x)",
			    slot, status, errors);
		return -EIO;
	}
	return 1;
}

unsigned testdev_e1000_rx_return(struct testdev_e1000 *e)
{
	unsigned n = e->rx_held;

	if (!n)
		return 0;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	/* The last frame taken becomes the tail: all before it are the device's. */
	testdev_wr32(e->b.regs, E1000_RDT, (e->rx_next + e->ring - 1) % e->ring);
	e->rx_held = 0;
	return n;
}

int testdev_e1000_reg(struct testdev_e1000 *e, unsigned off, uint32_t *val)
{
	return e1000_read(e, off, val);
}
