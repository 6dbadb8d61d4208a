/*
 * make bench: the device-model ceilings of QEMU's e1000, rtl8139 and ne2k_pci on
 * this machine — the most frames/s each model moves through our platform
 * when a driver does it the cheapest way the model allows; net_bench.sh
 * holds the reused drivers of those NICs against them.
 *
 * Per model, one machine (ddeio, so QEMU, through tests/integration/
 * harness.c) with the one NIC on QEMU's `net=udp:L:R` socket netdev: the
 * machine net_bench's `dde run --nic MODEL,net=udp:...` makes (IOMMU on).
 * A driver process drives it directly on ddekit with the testdev drivers'
 * batch functions (drivers/selftest/testdev_e1000.c, testdev_rtl8139.c in
 * C+ mode, as 8139cp uses the chip; testdev_ne2k.c, whose chip has no DMA:
 * frames through its data port, see there): no interrupts, completions and
 * received frames seen in DMA memory (which costs no I/O-server round
 * trip), 2 KiB buffers. This process is the UDP peer: a socket bound to
 * 127.0.0.1:R gets what the NIC sends, and what it sends to 127.0.0.1:L
 * the NIC receives.
 *
 *   tx: the driver fills up to half the TX ring (e1000: 512 of 1024
 *       descriptors; rtl8139: 32 of 64, the model's most) and writes the
 *       doorbell once (TDT; TPPoll) — the model sends the whole batch on
 *       that write — and refills as batches come back done (the e1000 is
 *       asked for a status write-back on a batch's last descriptor only),
 *       so that a batch is always queued behind the one the model works
 *       on; for --seconds. frames/s: what arrived at the UDP peer over the
 *       time from the first doorbell to the last batch done.
 *   rx: the peer blasts frames at the NIC for --seconds as fast as it can
 *       (sendmmsg); the driver takes frames by their descriptors' status in
 *       memory and gives the buffers back a quarter ring at a time (e1000:
 *       one RDT write; rtl8139: OWN bits, no register at all), so the ring
 *       of 1024 stays nearly full. frames/s: what the driver received over
 *       the time from the blast's start to the last frame; the losses are
 *       counted where they happen (QEMU's UDP socket: the model took no
 *       more; the device's missed-packets counter: no descriptor).
 *
 * The peer measures as SCHED_IDLE, on CPU time neither QEMU nor the driver
 * want: blasting at normal priority took a core from the model and halved
 * its receive figures on 2 cores. Both directions at 60 and 1514 bytes
 * (no FCS), each --repeat times, round by round; the best run is the
 * ceiling (the machine's speed drifts; a slow spell lowers a run, nothing
 * raises one), and all runs are listed. A benchmark, not a test: it
 * asserts nothing about the figures; what fails is said on stderr, with
 * exit status 1 (the other model's figures are still printed). Lines
 * (net_bench.sh reads the first number):
 *
 *   e1000 model ceiling, tx 60B: N frames/s (M doorbells, K frames per doorbell)
 *   e1000 model ceiling, rx 1514B: N frames/s, X of Y received
 *
 *   ceiling_net [--model e1000|rtl8139|ne2k_pci] [--seconds S (1)] [--repeat N (3)]
 *               [--ring N (1024: e1000 rings, rtl8139 RX ring)]
 *               [--tx-batch N (half the TX ring)] [--rx-batch N (ring/4)]
 *               [--rx-window N (the peer: at most N frames not yet
 *               received in flight, instead of blasting)] [--poll-us N (100:
 *               the driver's sleep while it waits)]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../drivers/selftest/testdev.h"
#include "../integration/harness.h"
#include "../net/udp_drops.h"

#define ETHERTYPE	0x88b5	/* IEEE local experimental, as net_frames */
#define DIR_TX		1	/* byte 14: NIC -> peer */
#define DIR_RX		2	/* peer -> NIC */
#define DIR_PROBE	3	/* peer -> NIC, before a receive run */
#define HDR_LEN		23	/* dst, src, type, dir, seq (4), tag (4) */
#define PEER_BATCH	64	/* frames per sendmmsg/recvmmsg */

static const uint8_t peer_mac[6] = { 0x02, 0xdd, 0xe0, 0x00, 0x00, 0x01 };

enum { CMD_NONE, CMD_TX, CMD_RX, CMD_QUIT };

/* Between this process (the peer) and the driver process: shared memory. */
struct ctl {
	/* peer -> driver */
	int cmd, cmd_seq;
	unsigned size;
	double seconds;
	uint32_t tag;
	int rx_stop;		/* the blast is over: drain and report */
	/* driver -> peer */
	int ready;		/* 1: device up, 2: failed */
	int done_seq;
	int failed;
	uint8_t mac[6];
	uint64_t t0, t1;	/* tx: first doorbell, all done */
	uint64_t frames, doorbells;
	uint64_t rx_count, rx_probes, rx_bad, rx_last;
	uint32_t rx_missed;	/* MPC during the run */
	char err[256];
};

static struct ctl *ctl;
static unsigned ring = 1024, tx_batch, rx_batch, rx_window;
/* the driver's sleep while it waits for the device, the peer's while frames gather */
static unsigned poll_us = 100;
static const unsigned peer_us = 500;

/*
 * The peer runs as SCHED_IDLE while it measures: on CPU time nobody else
 * wants, so that it never takes a core from the model (QEMU) or the driver
 * — what it measures is the model, not the competition for 2 cores.
 */
static void peer_sched(int idle)
{
	struct sched_param sp = { 0 };

	sched_setscheduler(0, idle ? SCHED_IDLE : SCHED_OTHER, &sp);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static void fill_header(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], int dir,
			uint32_t seq, uint32_t tag)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	f[14] = (uint8_t)dir;
	memcpy(f + 15, &seq, 4);
	memcpy(f + 19, &tag, 4);
}

/* ---- the driver process ---- */

static void driver_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctl->err, sizeof(ctl->err), fmt, ap);
	va_end(ap);
	STORE(ctl->failed, 1);
}

/*
 * A NIC model as the benchmark drives it: the testdev driver's batch
 * functions, on an opaque handle.
 */
struct model {
	const char *name;		/* QEMU's device, and the figures' name */
	uint16_t vendor, device;
	const char *tx_doorbell, *rx_doorbell;	/* register names, for the lines */
	int (*open)(unsigned rx_ring, void **nic, uint8_t mac[6]);
	void (*close)(void *nic);
	unsigned (*tx_ring)(void *nic);
	unsigned (*tx_free)(void *nic);
	void *(*tx_buf)(void *nic, unsigned k);
	int (*tx_post)(void *nic, unsigned n, size_t len);
	int (*tx_drain)(void *nic, unsigned timeout_ms);
	int (*rx_poll)(void *nic, const void **frame, size_t *len);
	unsigned (*rx_return)(void *nic);
	int (*missed)(void *nic, uint32_t *count);	/* a register read: 0 or -errno */
};

/* ---- e1000 ---- */

#define E1000_MPC	0x4010	/* missed packets: no descriptor for a frame */

static int e1000_open(unsigned rx_ring, void **nic, uint8_t mac[6])
{
	struct testdev_e1000 *e;
	int err = testdev_e1000_open_ring(0, rx_ring, &e);

	if (!err)
		err = testdev_e1000_wait_link(e, 5000);
	if (!err)
		err = testdev_e1000_eeprom_mac(e, mac);
	if (err && e)
		testdev_e1000_close(e);
	*nic = err ? NULL : e;
	return err;
}

static void e1000_close(void *nic) { testdev_e1000_close(nic); }
static unsigned e1000_tx_ring(void *nic) { return testdev_e1000_ring(nic); }
static unsigned e1000_tx_free(void *nic) { return testdev_e1000_tx_free(nic); }
static void *e1000_tx_buf(void *nic, unsigned k) { return testdev_e1000_tx_buf(nic, k); }
static int e1000_tx_post(void *nic, unsigned n, size_t len) { return testdev_e1000_tx_post(nic, n, len); }
static int e1000_tx_drain(void *nic, unsigned ms) { return testdev_e1000_tx_drain(nic, ms); }
static int e1000_rx_poll(void *nic, const void **f, size_t *len) { return testdev_e1000_rx_poll(nic, f, len); }
static unsigned e1000_rx_return(void *nic) { return testdev_e1000_rx_return(nic); }

static int e1000_missed(void *nic, uint32_t *count)
{
	return testdev_e1000_reg(nic, E1000_MPC, count);
}

/* ---- rtl8139, in C+ mode ---- */

static int rtl_open(unsigned rx_ring, void **nic, uint8_t mac[6])
{
	struct testdev_rtl8139 *r;
	int err = testdev_rtl8139_open(0, rx_ring, &r);

	if (!err)
		err = testdev_rtl8139_wait_link(r, 5000);
	if (!err)
		err = testdev_rtl8139_mac(r, mac);
	if (err && r)
		testdev_rtl8139_close(r);
	*nic = err ? NULL : r;
	return err;
}

static void rtl_close(void *nic) { testdev_rtl8139_close(nic); }
static unsigned rtl_tx_ring(void *nic) { return testdev_rtl8139_tx_ring(nic); }
static unsigned rtl_tx_free(void *nic) { return testdev_rtl8139_tx_free(nic); }
static void *rtl_tx_buf(void *nic, unsigned k) { return testdev_rtl8139_tx_buf(nic, k); }
static int rtl_tx_post(void *nic, unsigned n, size_t len) { return testdev_rtl8139_tx_post(nic, n, len); }
static int rtl_tx_drain(void *nic, unsigned ms) { return testdev_rtl8139_tx_drain(nic, ms); }
static int rtl_rx_poll(void *nic, const void **f, size_t *len) { return testdev_rtl8139_rx_poll(nic, f, len); }
static unsigned rtl_rx_return(void *nic) { return testdev_rtl8139_rx_return(nic); }

static int rtl_missed(void *nic, uint32_t *count)
{
	return testdev_rtl8139_missed(nic, count);
}

/* ---- ne2k_pci: no DMA, frames through the chip's data port ---- */

static int ne2k_open(unsigned rx_ring, void **nic, uint8_t mac[6])
{
	struct testdev_ne2k *n;
	int err = testdev_ne2k_open(0, &n);

	(void)rx_ring;	/* the ring is the chip's own packet memory */
	if (!err)
		err = testdev_ne2k_mac(n, mac);
	if (err && n)
		testdev_ne2k_close(n);
	*nic = err ? NULL : n;
	return err;
}

static void ne2k_close(void *nic) { testdev_ne2k_close(nic); }
static unsigned ne2k_tx_ring(void *nic) { return testdev_ne2k_tx_ring(nic); }
static unsigned ne2k_tx_free(void *nic) { return testdev_ne2k_tx_free(nic); }
static void *ne2k_tx_buf(void *nic, unsigned k) { return testdev_ne2k_tx_buf(nic, k); }
static int ne2k_tx_post(void *nic, unsigned n, size_t len) { return testdev_ne2k_tx_post(nic, n, len); }
static int ne2k_tx_drain(void *nic, unsigned ms) { return testdev_ne2k_tx_drain(nic, ms); }
static int ne2k_rx_poll(void *nic, const void **f, size_t *len) { return testdev_ne2k_rx_poll(nic, f, len); }
static unsigned ne2k_rx_return(void *nic) { return testdev_ne2k_rx_return(nic); }
static int ne2k_missed(void *nic, uint32_t *count) { return testdev_ne2k_missed(nic, count); }

static const struct model models[] = {
	{ "e1000", 0x8086, 0x100e, "TDT", "RDT", e1000_open, e1000_close, e1000_tx_ring,
	  e1000_tx_free, e1000_tx_buf, e1000_tx_post, e1000_tx_drain, e1000_rx_poll,
	  e1000_rx_return, e1000_missed },
	{ "rtl8139", 0x10ec, 0x8139, "TPPoll", NULL, rtl_open, rtl_close, rtl_tx_ring,
	  rtl_tx_free, rtl_tx_buf, rtl_tx_post, rtl_tx_drain, rtl_rx_poll, rtl_rx_return,
	  rtl_missed },
	{ "ne2k_pci", 0x10ec, 0x8029, "TXP", "BNRY", ne2k_open, ne2k_close, ne2k_tx_ring,
	  ne2k_tx_free, ne2k_tx_buf, ne2k_tx_post, ne2k_tx_drain, ne2k_rx_poll, ne2k_rx_return,
	  ne2k_missed },
};

/* Up to how many frames per TX doorbell: half the ring (two batches in flight), or --tx-batch. */
static unsigned tx_batch_of(const struct model *m, void *nic)
{
	unsigned max = m->tx_ring(nic) / 2;

	return tx_batch && tx_batch < max ? tx_batch : max;
}

static int drive_tx(const struct model *m, void *nic)
{
	unsigned size = ctl->size, n, k, batch = tx_batch_of(m, nic);
	uint32_t seq = 0;
	uint64_t doorbells = 0, t0, end;
	int err;

	/* every buffer holds the frame; only its sequence number changes */
	for (k = 0; k < m->tx_ring(nic); k++) {
		uint8_t *b = m->tx_buf(nic, k);

		fill_header(b, peer_mac, ctl->mac, DIR_TX, 0, ctl->tag);
		for (unsigned i = HDR_LEN; i < size; i++)
			b[i] = (uint8_t)(i * 7 + 1);
	}
	t0 = now_ns();
	end = t0 + (uint64_t)(ctl->seconds * 1e9);
	while (now_ns() < end) {
		n = m->tx_free(nic);
		if (n < batch / 2) {
			/* a batch takes the model hundreds of us: sleep, leave the CPU */
			ddekit_thread_sleep_us(poll_us);
			continue;
		}
		if (n > batch)
			n = batch;
		for (k = 0; k < n; k++, seq++)
			memcpy((uint8_t *)m->tx_buf(nic, k) + 15, &seq, 4);
		err = m->tx_post(nic, n, size);
		if (err) {
			driver_fail("posting %u TX descriptors failed: %s", n, strerror(-err));
			return -1;
		}
		doorbells++;
	}
	err = m->tx_drain(nic, 5000);
	ctl->t0 = t0;
	ctl->t1 = now_ns();
	ctl->frames = seq;
	ctl->doorbells = doorbells;
	if (err) {
		driver_fail("the model did not finish the TX ring within 5 s");
		return -1;
	}
	return 0;
}

static int drive_rx(const struct model *m, void *nic)
{
	uint64_t count = 0, probes = 0, bad = 0, doorbells = 0, last = 0, idle_since = 0;
	uint32_t expect = 0, mpc0 = 0, mpc1 = 0;
	unsigned held = 0;
	int r;

	if (m->missed(nic, &mpc0)) {
		driver_fail("the %s's registers do not answer: is the machine gone?", m->name);
		return -1;
	}
	for (;;) {
		const uint8_t *f;
		size_t len;
		unsigned got = 0;

		while ((r = m->rx_poll(nic, (const void **)&f, &len)) != 0) {
			if (r < 0) {
				/* the models write none: memory gone with the machine? */
				m->rx_return(nic);
				driver_fail("a bad receive descriptor (see the driver's log)");
				return -1;
			}
			got++;
			if (len < HDR_LEN || f[12] != ETHERTYPE >> 8 ||
			    f[13] != (ETHERTYPE & 0xff) || memcmp(f + 19, &ctl->tag, 4)) {
				bad++;
			} else if (f[14] == DIR_PROBE) {
				STORE(ctl->rx_probes, ++probes);
			} else if (f[14] == DIR_RX && len == ctl->size) {
				uint32_t seq;

				memcpy(&seq, f + 15, 4);
				if (seq < expect) {
					bad++;	/* out of order: never seen on this path */
				} else {
					expect = seq + 1;
					count++;
				}
			} else {
				bad++;
			}
			/* the buffers go back in batches: one RDT write for many (e1000) */
			if (++held >= rx_batch) {
				m->rx_return(nic);
				held = 0;
				doorbells++;
			}
		}
		uint64_t now = now_ns();

		if (got) {
			last = now;
			idle_since = 0;
			STORE(ctl->rx_count, count);
			continue;
		}
		if (LOAD(ctl->rx_stop)) {
			if (!idle_since)
				idle_since = now;
			else if (now - idle_since > 300000000u)
				break;	/* 300 ms without a frame after the blast */
		}
		ddekit_thread_sleep_us(poll_us);
	}
	if (m->rx_return(nic))
		doorbells++;
	if (m->missed(nic, &mpc1)) {
		driver_fail("the %s's registers do not answer: is the machine gone?", m->name);
		return -1;
	}
	ctl->rx_count = count;
	ctl->rx_bad = bad;
	ctl->rx_last = last;
	/* the e1000's statistics clear on read, the rtl8139's MPC does not: either way */
	ctl->rx_missed = mpc1 >= mpc0 ? mpc1 - mpc0 : mpc1;
	ctl->doorbells = doorbells;
	return 0;
}

static int driver(void *arg)
{
	const struct model *m = arg;
	void *nic;
	int err, seq = 0;

	/* sleeps of 100 us should not become 150 (the default timer slack) */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	err = m->open(ring, &nic, ctl->mac);
	if (err) {
		driver_fail("the %s did not come up: %s", m->name, strerror(-err));
		STORE(ctl->ready, 2);
		return 1;
	}
	STORE(ctl->ready, 1);
	for (;;) {
		while (LOAD(ctl->cmd_seq) == seq)
			ddekit_thread_sleep_us(1000);
		seq = LOAD(ctl->cmd_seq);
		if (ctl->cmd == CMD_QUIT)
			break;
		err = ctl->cmd == CMD_TX ? drive_tx(m, nic) : drive_rx(m, nic);
		STORE(ctl->done_seq, seq);
		if (err)
			break;
	}
	m->close(nic);
	return err ? 1 : 0;
}

/* ---- the UDP peer (this process) ---- */

struct peer {
	int fd;
	struct sockaddr_in qemu;	/* 127.0.0.1:L */
	uint16_t qemu_port;
	pid_t driver;
	pid_t ddeio;		/* the machine: it ends when QEMU does */
};

/* Are the machine and the driver still there? If not, say which went. */
static bool all_alive(const struct peer *p)
{
	if (!harness_alive(p->ddeio)) {
		fprintf(stderr, "ceiling_net: the machine (ddeio, QEMU) is gone\n");
		return false;
	}
	if (!harness_alive(p->driver)) {
		fprintf(stderr, "ceiling_net: the driver process died\n");
		return false;
	}
	return true;
}

/* Wait until the driver has done command @seq; 0, or -1 if it failed or died. */
static int wait_done(struct peer *p, int seq, double timeout_s)
{
	uint64_t end = now_ns() + (uint64_t)(timeout_s * 1e9);

	while (LOAD(ctl->done_seq) != seq) {
		if (!all_alive(p))
			return -1;
		if (now_ns() > end) {
			fprintf(stderr, "ceiling_net: the driver did not finish within %.0f s\n",
				timeout_s);
			return -1;
		}
		usleep(1000);
	}
	if (LOAD(ctl->failed)) {
		fprintf(stderr, "ceiling_net: driver: %s%s\n", ctl->err,
			harness_alive(p->ddeio) ? "" : " (the machine, ddeio and QEMU, is gone)");
		return -1;
	}
	return 0;
}

static int command(int cmd, unsigned size)
{
	ctl->cmd = cmd;
	ctl->size = size;
	ctl->rx_stop = 0;
	ctl->tag = (uint32_t)now_ns() ^ 0x7e57f4a3u;
	ctl->rx_count = ctl->rx_probes = 0;
	__atomic_add_fetch(&ctl->cmd_seq, 1, __ATOMIC_ACQ_REL);
	return ctl->cmd_seq;
}

/* One run's figures. */
struct result {
	double fps, secs;
	uint64_t frames;	/* tx: sent; rx: sent by the peer */
	uint64_t got;		/* tx: arrived at the peer; rx: received by the driver */
	uint64_t doorbells, bad, missed;
	long long drops;	/* at the receiving UDP socket (-1: unknown) */
};

static int run_tx(struct peer *p, unsigned size, struct result *r)
{
	static uint8_t bufs[PEER_BATCH][2048];
	struct mmsghdr msgs[PEER_BATCH];
	struct iovec iov[PEER_BATCH];
	uint64_t arrived = 0, bad = 0;
	uint32_t expect = 0;
	long long drops0, drops1;
	int seq, done = 0;
	struct sockaddr_in me;
	socklen_t mlen = sizeof(me);

	getsockname(p->fd, (struct sockaddr *)&me, &mlen);
	drops0 = udp_drops(ntohs(me.sin_port));
	for (unsigned i = 0; i < PEER_BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	peer_sched(1);
	seq = command(CMD_TX, size);
	uint64_t end = now_ns() + (uint64_t)((ctl->seconds + 10) * 1e9);

	for (;;) {
		int n = recvmmsg(p->fd, msgs, PEER_BATCH, MSG_DONTWAIT, NULL);

		for (int i = 0; i < n; i++) {
			const uint8_t *f = bufs[i];
			uint32_t s;

			if (msgs[i].msg_len < HDR_LEN || f[14] != DIR_TX ||
			    memcmp(f + 19, &ctl->tag, 4)) {
				bad++;	/* not this run's (an aborted run's, late) */
				continue;
			}
			memcpy(&s, f + 15, 4);
			if (s < expect || msgs[i].msg_len != size) {
				bad++;
				continue;
			}
			expect = s + 1;
			arrived++;
		}
		if (n > 0)
			continue;
		if (done)
			break;	/* all were sent before the last DD: nothing more comes */
		if (LOAD(ctl->done_seq) == seq) {
			done = 1;	/* one more pass over the socket */
			continue;
		}
		if (!harness_alive(p->ddeio) || !harness_alive(p->driver) || now_ns() > end)
			break;	/* wait_done says what went wrong */
		/* let frames gather: a wake-up per frame would cost CPU */
		usleep(peer_us);
	}
	peer_sched(0);
	if (wait_done(p, seq, 1))
		return -1;
	drops1 = udp_drops(ntohs(me.sin_port));
	r->secs = (ctl->t1 - ctl->t0) / 1e9;
	r->fps = arrived / r->secs;
	r->frames = ctl->frames;
	r->got = arrived;
	r->doorbells = ctl->doorbells;
	r->bad = bad;
	r->missed = 0;
	r->drops = drops0 >= 0 && drops1 >= 0 ? drops1 - drops0 : -1;
	return 0;
}

static int run_rx(struct peer *p, unsigned size, struct result *r)
{
	static uint8_t bufs[PEER_BATCH][2048];
	struct mmsghdr msgs[PEER_BATCH];
	struct iovec iov[PEER_BATCH];
	uint8_t probe[64];
	uint64_t sent = 0, t_start, t_end, deadline;
	long long drops0, drops1;
	int seq;

	seq = command(CMD_RX, size);
	for (unsigned i = 0; i < PEER_BATCH; i++) {
		fill_header(bufs[i], ctl->mac, peer_mac, DIR_RX, 0, ctl->tag);
		for (unsigned k = HDR_LEN; k < size; k++)
			bufs[i][k] = (uint8_t)(k * 5 + 3);
		iov[i] = (struct iovec){ bufs[i], size };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &p->qemu,
							  .msg_namelen = sizeof(p->qemu),
							  .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	/*
	 * Probe until a frame reaches the driver: QEMU's e1000 takes none for
	 * a second after RCTL is written, and the measurement should not
	 * include that.
	 */
	memset(probe, 0, sizeof(probe));
	fill_header(probe, ctl->mac, peer_mac, DIR_PROBE, 0, ctl->tag);
	deadline = now_ns() + 5000000000ull;
	while (!LOAD(ctl->rx_probes)) {
		bool alive = harness_alive(p->ddeio) && harness_alive(p->driver);

		if (!alive || now_ns() > deadline) {
			if (alive)
				fprintf(stderr, "ceiling_net: no frame reached the driver within 5 s\n");
			STORE(ctl->rx_stop, 1);
			wait_done(p, seq, 2);	/* says who is gone */
			return -1;
		}
		sendto(p->fd, probe, 60, 0, (struct sockaddr *)&p->qemu, sizeof(p->qemu));
		usleep(20000);
	}
	usleep(50000);	/* the last probes are taken, the socket empty */
	drops0 = udp_drops(p->qemu_port);
	peer_sched(1);
	t_start = now_ns();
	t_end = t_start + (uint64_t)(ctl->seconds * 1e9);
	while (now_ns() < t_end) {
		if ((sent & 0xffff) == 0 && (!harness_alive(p->ddeio) || !harness_alive(p->driver)))
			break;	/* wait_done says what went wrong */
		if (rx_window && sent - LOAD(ctl->rx_count) + PEER_BATCH > rx_window) {
			usleep(peer_us / 4);
			continue;
		}
		for (unsigned i = 0; i < PEER_BATCH; i++, sent++) {
			uint32_t s = (uint32_t)sent;

			memcpy(bufs[i] + 15, &s, 4);
		}
		int n = sendmmsg(p->fd, msgs, PEER_BATCH, 0);

		if (n != PEER_BATCH) {
			peer_sched(0);
			fprintf(stderr, "ceiling_net: sendmmsg: %s\n", n < 0 ? strerror(errno) : "short");
			STORE(ctl->rx_stop, 1);
			wait_done(p, seq, 2);
			return -1;
		}
	}
	peer_sched(0);
	STORE(ctl->rx_stop, 1);
	if (wait_done(p, seq, 10))
		return -1;
	drops1 = udp_drops(p->qemu_port);
	r->got = ctl->rx_count;
	r->secs = (ctl->rx_last - t_start) / 1e9;
	r->fps = r->got && r->secs > 0 ? r->got / r->secs : 0;
	r->frames = sent;
	r->doorbells = ctl->doorbells;
	r->bad = ctl->rx_bad;
	r->missed = ctl->rx_missed;
	r->drops = drops0 >= 0 && drops1 >= 0 ? drops1 - drops0 : -1;
	return 0;
}

static void print_result(const struct model *m, int tx, unsigned size, const struct result *runs,
			 unsigned n)
{
	const struct result *b = &runs[0];
	double mbit;

	for (unsigned i = 1; i < n; i++)
		if (runs[i].fps > b->fps)
			b = &runs[i];
	mbit = b->fps * size * 8 / 1e6;
	if (tx)
		printf("%s model ceiling, tx %uB: %.0f frames/s (%llu doorbells, %.1f frames per doorbell)\n",
		       m->name, size, b->fps, (unsigned long long)b->doorbells,
		       b->doorbells ? (double)b->frames / b->doorbells : 0.0);
	else
		printf("%s model ceiling, rx %uB: %.0f frames/s, %llu of %llu received\n", m->name,
		       size, b->fps, (unsigned long long)b->got, (unsigned long long)b->frames);
	printf("  %.1f Mbit/s in %.2f s; ", mbit, b->secs);
	if (tx)
		printf("%llu of %llu sent arrived at the UDP peer", (unsigned long long)b->got,
		       (unsigned long long)b->frames);
	else if (m->rx_doorbell)
		printf("%llu %s writes (%.1f frames each)", (unsigned long long)b->doorbells,
		       m->rx_doorbell, b->doorbells ? (double)b->got / b->doorbells : 0.0);
	else
		printf("buffers given back by their OWN bits, no register write");
	if (!tx)
		printf("; lost %llu: %lld at QEMU's UDP socket, %llu missed by the device",
		       (unsigned long long)(b->frames - b->got), b->drops,
		       (unsigned long long)b->missed);
	if (tx && (b->got != b->frames || b->bad))
		printf(" (%lld dropped at the peer's socket)", b->drops);
	if (b->bad)
		printf("; %llu frames not of this run or malformed", (unsigned long long)b->bad);
	printf("\n  the best of %u runs (frames/s):", n);
	for (unsigned i = 0; i < n; i++)
		printf(" %.0f", runs[i].fps);
	printf("\n");
}

/*
 * End the driver process: asked to (after the runs), or killed (after a
 * failure, when it may be stuck); 0 if it ended well.
 */
static int stop_driver(pid_t pid, int failed)
{
	if (!failed && LOAD(ctl->ready) == 1) {
		command(CMD_QUIT, 0);
		for (int i = 0; i < 5000 && harness_alive(pid); i++)
			usleep(1000);
	}
	if (harness_alive(pid))
		kill(pid, SIGKILL);
	return harness_wait(pid) ? -1 : 0;
}

static void machine_name(void)
{
	char line[256], model[256], qemu[128] = "QEMU (version unknown)";
	FILE *f;

	harness_cpu_model(model, sizeof(model));
	/* the binary the platform starts: $DDE_QEMU or qemu-system-x86_64 */
	const char *bin = getenv("DDE_QEMU");
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "'%s' --version 2>/dev/null",
		 bin && *bin ? bin : "qemu-system-x86_64");
	f = popen(cmd, "r");
	if (f && fgets(line, sizeof(line), f)) {
		char *v = strstr(line, "version ");

		if (v) {
			v[8 + strcspn(v + 8, " \n")] = 0;
			snprintf(qemu, sizeof(qemu), "QEMU %s", v + 8);
		}
	}
	if (f)
		pclose(f);
	printf("machine: %s, %ld cores, %s, accel %s\n", model, sysconf(_SC_NPROCESSORS_ONLN), qemu,
	       access("/dev/kvm", R_OK | W_OK) ? "tcg" : "kvm");
}

static const unsigned sizes[2] = { 60, 1514 };

/*
 * One model on its own machine: start it, its driver, the runs (round by
 * round, so that a slow spell of the machine spoils one run of each
 * figure, not all), stop it all. @res[tx, rx][60, 1514] get @repeat
 * results each. 0, or 1 after saying why.
 */
static int measure(const struct model *m, unsigned repeat, struct result *res[2][2])
{
	char nic[64];
	uint16_t qport, pport;
	int rc = 0, buf = 32 << 20;
	struct harness h;
	struct peer p = { 0 };
	struct ddeio_device devs[8];
	double seconds = ctl->seconds;

	memset(ctl, 0, sizeof(*ctl));
	ctl->seconds = seconds;
	p.fd = harness_udp_peer(&qport, &pport);
	if (p.fd < 0) {
		fprintf(stderr, "ceiling_net: no UDP socket on 127.0.0.1\n");
		return 1;
	}
	/* the peer must not drop what the model sends: a large receive buffer */
	if (setsockopt(p.fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	p.qemu_port = qport;
	p.qemu = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(qport),
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	snprintf(nic, sizeof(nic), "%s,net=udp:%u:%u", m->name, qport, pport);
	const char *args[] = { "--nic", nic, NULL };

	if (harness_start(&h, args)) {
		fprintf(stderr, "ceiling_net: the machine did not start (ddeio --nic %s)\n", nic);
		close(p.fd);
		return 1;
	}
	int n = harness_list(&h, devs, 8);
	const struct ddeio_device *d = harness_find(devs, n, m->vendor, m->device);

	if (!d) {
		fprintf(stderr, "ceiling_net: no %s (%04x:%04x) on the machine\n", m->name,
			m->vendor, m->device);
		rc = 1;
		goto out;
	}
	p.ddeio = h.ddeio;
	p.driver = harness_fork_driver(&h, harness_slot(d), driver, (void *)m);
	if (p.driver < 0) {
		fprintf(stderr, "ceiling_net: cannot start the driver process\n");
		rc = 1;
		goto out;
	}
	while (!LOAD(ctl->ready) && harness_alive(p.driver))
		usleep(1000);
	if (LOAD(ctl->ready) != 1) {
		fprintf(stderr, "ceiling_net: %s driver: %s\n", m->name,
			ctl->err[0] ? ctl->err : "died before the device was up");
		rc = 1;
	}
	for (unsigned k = 0; !rc && k < repeat; k++)
		for (unsigned t = 0; !rc && t < 2; t++)
			for (unsigned z = 0; !rc && z < 2; z++)
				rc = (t ? run_rx : run_tx)(&p, sizes[z], &res[t][z][k]) ? 1 : 0;
	if (stop_driver(p.driver, rc) && !rc) {
		fprintf(stderr, "ceiling_net: the %s driver process failed\n", m->name);
		rc = 1;
	}
out:
	harness_stop(&h);
	close(p.fd);
	if (rc)
		fprintf(stderr, "ceiling_net: no %s figures (see above)\n", m->name);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, 0, 's' }, { "repeat", required_argument, 0, 'n' },
		{ "ring", required_argument, 0, 'r' }, { "tx-batch", required_argument, 0, 't' },
		{ "rx-batch", required_argument, 0, 'x' }, { "rx-window", required_argument, 0, 'w' },
		{ "model", required_argument, 0, 'm' }, { "poll-us", required_argument, 0, 'p' },
		{ 0, 0, 0, 0 },
	};
	enum { NMODELS = sizeof(models) / sizeof(models[0]) };
	const unsigned nmodels = NMODELS;
	struct result *res[NMODELS][2][2] = { { { 0 } } };	/* [model][tx, rx][60, 1514][run] */
	int ok[NMODELS] = { 0 }, want[NMODELS], any;
	double seconds = 1.0;
	unsigned repeat = 3;
	int opt, rc = 0;
	char firmware[512];

	for (unsigned i = 0; i < nmodels; i++)
		want[i] = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': seconds = atof(optarg); break;
		case 'n': repeat = (unsigned)atoi(optarg); break;
		case 'r': ring = (unsigned)atoi(optarg); break;
		case 't': tx_batch = (unsigned)atoi(optarg); break;
		case 'x': rx_batch = (unsigned)atoi(optarg); break;
		case 'w': rx_window = (unsigned)atoi(optarg); break;
		case 'p': poll_us = (unsigned)atoi(optarg); break;
		case 'm':
			any = 0;
			for (unsigned i = 0; i < nmodels; i++)
				any |= want[i] = !strcmp(optarg, models[i].name);
			if (!any) {
				fprintf(stderr, "ceiling_net: --model e1000, rtl8139 or ne2k_pci\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: ceiling_net [--model e1000|rtl8139|ne2k_pci] [--seconds S] "
				"[--repeat N] [--ring N] [--tx-batch N] [--rx-batch N] [--rx-window N]\n");
			return 2;
		}
	}
	if (!rx_batch)
		rx_batch = ring / 4;
	if (seconds <= 0 || seconds > 60 || repeat < 1 || repeat > 20 || ring < 16 ||
	    ring > 1024 || ring % 8 || (tx_batch && tx_batch < 2) || rx_batch < 1 ||
	    rx_batch > ring - 1) {
		fprintf(stderr, "ceiling_net: --seconds is up to 60, --repeat 1..20, --ring 16..1024 "
			"(a multiple of 8), --tx-batch 2 or more, --rx-batch 1..ring-1\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	machine_name();
	printf("rings of %u descriptors (the rtl8139's TX ring: 64, its most), up to half a TX "
	       "ring per doorbell", ring);
	if (tx_batch)
		printf(" or %u", tx_batch);
	printf(", receive buffers given back %u at a time; the best of %u runs of %.1f s", rx_batch,
	       repeat, seconds);
	if (rx_window)
		printf("; rx: at most %u frames in flight", rx_window);
	printf("\n");
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED) {
		fprintf(stderr, "ceiling_net: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < nmodels; i++)
		for (unsigned t = 0; t < 2; t++)
			for (unsigned z = 0; z < 2; z++)
				if (!(res[i][t][z] = calloc(repeat, sizeof(struct result)))) {
					fprintf(stderr, "ceiling_net: out of memory\n");
					return 1;
				}
	ctl->seconds = seconds;
	/* the platform finds its firmware beside bin/; this program lives elsewhere */
	harness_path("share/dde/firmware.bin", firmware, sizeof(firmware));
	setenv("DDE_FIRMWARE", firmware, 0);
	for (unsigned i = 0; i < nmodels; i++) {
		if (!want[i])
			continue;
		ok[i] = !measure(&models[i], repeat, res[i]);
		if (!ok[i])
			rc = 1;
	}
	for (unsigned i = 0; i < nmodels; i++)
		for (unsigned t = 0; ok[i] && t < 2; t++)
			for (unsigned z = 0; z < 2; z++)
				print_result(&models[i], !t, sizes[z], res[i][t][z], repeat);
	return rc;
}
