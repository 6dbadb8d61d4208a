/*
 * net_frames: frames through a reused network driver, both ways, checked
 * byte for byte against the UDP peer of QEMU's socket netdev.
 *
 *   net_frames --qemu-listen PORT --qemu-peer PORT [--count N] [--window W]
 *              [--full] [--size BYTES] [--if NAME] [--seed S] [--only tx|rx]
 *
 * The NIC's netdev is `udp:PORT1:PORT2` (dde run --nic MODEL,net=udp:...):
 * QEMU receives frames sent to 127.0.0.1:PORT1 (--qemu-listen) and sends
 * every frame the NIC transmits to 127.0.0.1:PORT2 (--qemu-peer, bound
 * here). Transmit: a libddenet client sends N frames of random sizes
 * (60-1514 bytes); each must arrive at the peer intact and in order.
 * Receive: the peer injects N frames addressed to the NIC; the client must
 * receive each intact and in order. With a window (default 32) at most W
 * frames are in flight, so nothing may be lost; --full sends as fast as
 * possible and reports losses instead of failing on them (and how many of
 * them the host kernel dropped at QEMU's UDP socket). Prints one summary
 * line per direction, with frames/s; exit 0 if all is well.
 *
 *   net_frames --attach NAME
 *
 * attaches to netd as the driver of interface NAME (what only the
 * connection dde opens for a driver may do) and says whether it could.
 *
 *   net_frames --watch SECONDS [--if NAME]
 *
 * prints the link state as it changes, and exits 0 with "interface gone"
 * when the interface goes away (its driver died), 1 if it did not within
 * SECONDS.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ddenet/ddenet.h>
#include "udp_drops.h"

#define ETHERTYPE 0x88b5	/* IEEE local experimental: no VLAN tag, nobody's protocol */
#define BATCH 32		/* frames taken from the ring at once (ddenet_recv_batch) */

static unsigned long long rng_state;
static int fixed_size;	/* --size: every frame this long */

static unsigned rnd(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(rng_state >> 33);
}

/* Which run a frame belongs to: frames of an earlier run (another seed) may still come. */
static uint32_t run_tag(unsigned long long seed)
{
	return (uint32_t)(seed ^ seed >> 32) ^ 0x7e57f4a3u;
}

/* Frame @i of a direction: length and contents derived from (seed, dir, i). */
static int make_frame(unsigned char *f, unsigned long long seed, int dir, int i,
		      const unsigned char dst[6], const unsigned char src[6])
{
	int len;

	rng_state = seed ^ ((unsigned long long)dir << 40) ^ (unsigned long long)i * 0x9e3779b97f4a7c15ull;
	rnd();
	len = fixed_size ? fixed_size : 60 + (int)(rnd() % (1514 - 60 + 1));
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	f[14] = (unsigned char)dir;
	memcpy(f + 15, &i, 4);
	memcpy(f + 19, &(uint32_t){ run_tag(seed) }, 4);
	for (int k = 23; k < len; k++)
		f[k] = (unsigned char)rnd();
	return len;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct ctx {
	struct ddenet *n;
	int udp;
	struct sockaddr_in qemu;
	unsigned char mac[6];
	int count, window, full;
	int good;	/* frames of this run that arrived intact and in order */
	double last;	/* when the last of them came */
	int listen_port;	/* QEMU's socket */
	const char *only;	/* "tx" or "rx": that direction only */
	int stale;	/* frames of an earlier run (another seed), ignored */
	unsigned long long seed;
};

/* Peer side: the next frame of ours, skipping anything else (none expected). */
static int peer_recv(struct ctx *c, unsigned char *buf, int timeout_ms)
{
	struct pollfd p = { c->udp, POLLIN, 0 };

	if (poll(&p, 1, timeout_ms) != 1)
		return -EAGAIN;
	return (int)recv(c->udp, buf, 2048, 0);
}

static int check(const char *what, const unsigned char *got, int glen, int *expect,
		 struct ctx *c, int dir, const unsigned char *dst, const unsigned char *src,
		 int *bad, int *lost)
{
	unsigned char want[2048];
	int idx, wlen;

	if (glen < 19 || got[12] != ETHERTYPE >> 8 || got[13] != (ETHERTYPE & 0xff) ||
	    got[14] != dir)
		return 0;	/* not a test frame */
	if (glen < 23 || memcmp(got + 19, &(uint32_t){ run_tag(c->seed) }, 4)) {
		c->stale++;	/* an earlier run's, late */
		return 0;
	}
	memcpy(&idx, got + 15, 4);
	if (idx < *expect || idx >= c->count) {
		fprintf(stderr, "%s: frame %d out of order (expected %d)\n", what, idx, *expect);
		(*bad)++;
		return 1;
	}
	*lost += idx - *expect;
	if (idx > *expect && !c->full)
		fprintf(stderr, "%s: frames %d..%d lost\n", what, *expect, idx - 1);
	wlen = make_frame(want, c->seed, dir, idx, dst, src);
	if (glen != wlen || memcmp(got, want, (size_t)wlen)) {
		fprintf(stderr, "%s: frame %d differs (length %d, want %d)\n", what, idx, glen, wlen);
		(*bad)++;
	} else {
		c->good++;
		c->last = now_s();
	}
	*expect = idx + 1;
	return 1;
}

static void stale_note(struct ctx *c)
{
	if (c->stale)
		printf("  (%d frames of an earlier run came late: ignored)\n", c->stale);
	c->stale = 0;
}

static const unsigned char peer_mac[6] = { 0x02, 0xdd, 0xe0, 0x00, 0x00, 0x01 };

static int run_tx(struct ctx *c)
{
	unsigned char f[2048], got[2048];
	int sent = 0, expect = 0, bad = 0, lost = 0, len;
	double t0 = now_s(), t;
	unsigned long long bytes = 0;

	c->good = 0;

	while (expect < c->count) {
		while (sent < c->count && (c->full || sent - expect < c->window)) {
			len = make_frame(f, c->seed, 1, sent, peer_mac, c->mac);
			int r = ddenet_send(c->n, f, (size_t)len, 5000);

			if (r) {
				fprintf(stderr, "tx: send of frame %d failed: %s\n", sent, strerror(-r));
				return 1;
			}
			bytes += (unsigned long long)len;
			sent++;
			if (c->full)
				break;
		}
		len = peer_recv(c, got, sent == c->count ? 2000 : (c->full ? 0 : 2000));
		if (len == -EAGAIN) {
			if (sent < c->count && c->full)
				continue;
			break;	/* nothing more comes */
		}
		check("tx", got, len, &expect, c, 1, peer_mac, c->mac, &bad, &lost);
	}
	lost += c->count - expect;
	/* the rate up to the last frame: not the wait for frames that were lost */
	t = (c->good ? c->last : now_s()) - t0;
	if (t <= 0)
		t = 1e-9;
	printf("tx: %d frames sent by the client, %d arrived at the UDP peer byte-exact in order, "
	       "%d lost, %d bad; %.0f frames/s, %.1f Mbit/s delivered\n", c->count, c->good,
	       lost, bad, c->good / t, (double)bytes * c->good / c->count * 8 / t / 1e6);
	stale_note(c);
	return bad || (lost && !c->full);
}

static int run_rx(struct ctx *c)
{
	unsigned char f[2048], got[BATCH][2048];
	void *bufs[BATCH];
	size_t lens[BATCH];
	int sent = 0, expect = 0, bad = 0, lost = 0, len;
	double t0 = now_s(), t;
	unsigned long long bytes = 0;
	long long drops0 = udp_drops((unsigned)c->listen_port), drops1;

	for (int b = 0; b < BATCH; b++)
		bufs[b] = got[b];
	c->good = 0;

	while (expect < c->count) {
		while (sent < c->count && (c->full || sent - expect < c->window)) {
			len = make_frame(f, c->seed, 2, sent, c->mac, peer_mac);
			if (sendto(c->udp, f, (size_t)len, 0, (struct sockaddr *)&c->qemu,
				   sizeof(c->qemu)) != len) {
				perror("rx: sendto");
				return 1;
			}
			bytes += (unsigned long long)len;
			sent++;
			if (c->full)
				break;
		}
		/* a batch at a time: what has come, waiting only for the first */
		int r = ddenet_recv_batch(c->n, bufs, sizeof(got[0]), lens, BATCH,
					  sent == c->count ? 2000 : (c->full ? 0 : 2000));

		if (r == -EAGAIN) {
			if (sent < c->count && c->full)
				continue;
			break;
		}
		if (r < 0) {
			fprintf(stderr, "rx: receive failed: %s\n", strerror(-r));
			return 1;
		}
		for (int i = 0; i < r; i++)
			check("rx", got[i], (int)lens[i], &expect, c, 2, c->mac, peer_mac, &bad,
			      &lost);
	}
	lost += c->count - expect;
	/* the rate up to the last frame: not the wait for frames that were lost */
	t = (c->good ? c->last : now_s()) - t0;
	if (t <= 0)
		t = 1e-9;
	printf("rx: %d frames injected by the UDP peer, %d reached the client byte-exact in order, "
	       "%d lost, %d bad; %.0f frames/s, %.1f Mbit/s delivered\n", c->count, c->good,
	       lost, bad, c->good / t, (double)bytes * c->good / c->count * 8 / t / 1e6);
	drops1 = udp_drops((unsigned)c->listen_port);
	if (lost && drops0 >= 0 && drops1 >= 0)
		printf("  of the lost: %lld at QEMU's UDP socket (host kernel: QEMU did not read)\n",
		       drops1 - drops0);
	stale_note(c);
	return bad || (lost && !c->full);
}

static int watch_link(const char *ifname, int seconds)
{
	struct ddenet *n;
	struct ddenet_info info;
	unsigned char frame[2048];
	int r = ddenet_open(NULL, ifname, &n), link = -1;
	double end = now_s() + seconds;

	if (r) {
		fprintf(stderr, "net_frames: cannot open interface: %s\n", ddenet_strerror(r));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (now_s() < end) {
		ssize_t got = ddenet_recv(n, frame, sizeof(frame), 100);

		if (got == -ENODEV) {
			printf("interface gone\n");
			ddenet_close(n);
			return 0;
		}
		ddenet_info(n, &info);
		if (info.link != link)
			printf("link %s\n", info.link ? "up" : "down");
		link = info.link;
	}
	ddenet_close(n);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "qemu-listen", required_argument, 0, 'l' }, { "qemu-peer", required_argument, 0, 'p' },
		{ "count", required_argument, 0, 'c' }, { "window", required_argument, 0, 'w' },
		{ "full", no_argument, 0, 'f' }, { "if", required_argument, 0, 'i' },
		{ "seed", required_argument, 0, 's' }, { "watch", required_argument, 0, 'W' },
		{ "size", required_argument, 0, 'S' }, { "attach", required_argument, 0, 'A' },
		{ "only", required_argument, 0, 'O' },
		{ 0, 0, 0, 0 },
	};
	struct ctx c = { .count = 10000, .window = 32, .seed = 1 };
	struct sockaddr_in me = { .sin_family = AF_INET };
	struct ddenet_info info;
	const char *ifname = NULL;
	int opt, listen_port = 0, peer_port = 0, buf = 8 << 20, r, watch = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l': listen_port = atoi(optarg); break;
		case 'p': peer_port = atoi(optarg); break;
		case 'c': c.count = atoi(optarg); break;
		case 'w': c.window = atoi(optarg); break;
		case 'f': c.full = 1; break;
		case 'i': ifname = optarg; break;
		case 's': c.seed = strtoull(optarg, NULL, 0); break;
		case 'W': watch = atoi(optarg); break;
		case 'O':
			if (strcmp(optarg, "tx") && strcmp(optarg, "rx")) {
				fprintf(stderr, "net_frames: --only tx or --only rx\n");
				return 2;
			}
			c.only = optarg;
			break;
		case 'A': {
			static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x99 };

			r = ddenet_attach(NULL, optarg, mac, 1500, &c.n);
			if (r) {
				fprintf(stderr, "net_frames: attach as %s: %s\n", optarg,
					ddenet_strerror(r));
				return 1;
			}
			printf("net_frames: attached as the driver of %s\n", optarg);
			return 0;
		}
		case 'S':
			fixed_size = atoi(optarg);
			if (fixed_size < 60 || fixed_size > 1514) {
				fprintf(stderr, "net_frames: --size is 60..1514\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: net_frames --qemu-listen PORT --qemu-peer PORT "
				"[--count N] [--window W] [--full] [--size B] [--if NAME] [--seed S] "
				"[--only tx|rx]\n");
			return 2;
		}
	}
	if (watch)
		return watch_link(ifname, watch);
	if (!listen_port || !peer_port || c.count < 1 || c.window < 1) {
		fprintf(stderr, "net_frames: --qemu-listen and --qemu-peer are required\n");
		return 2;
	}
	r = ddenet_open(NULL, ifname, &c.n);
	if (r) {
		fprintf(stderr, "net_frames: cannot open interface %s at $DDE_NET: %s\n",
			ifname ? ifname : "(first)", ddenet_strerror(r));
		return 1;
	}
	/* wait for the link: the driver reports it after its watchdog ran */
	for (int t = 0; t < 100; t++) {
		ddenet_info(c.n, &info);
		if (info.link)
			break;
		usleep(100000);
	}
	memcpy(c.mac, info.mac, 6);
	printf("interface %s: %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, link %s\n", info.ifname,
	       info.mac[0], info.mac[1], info.mac[2], info.mac[3], info.mac[4], info.mac[5],
	       info.mtu, info.link ? "up" : "down");
	if (!info.link)
		return 1;
	c.udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	setsockopt(c.udp, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	me.sin_port = htons((uint16_t)peer_port);
	if (bind(c.udp, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("net_frames: bind");
		return 1;
	}
	c.qemu = me;
	c.qemu.sin_port = htons((uint16_t)listen_port);
	c.listen_port = listen_port;
	r = 0;
	if (!c.only || !strcmp(c.only, "tx"))
		r |= run_tx(&c);
	if (!c.only || !strcmp(c.only, "rx"))
		r |= run_rx(&c);
	ddenet_info(c.n, &info);
	printf("client ring drops: %llu\n", (unsigned long long)info.dropped);
	ddenet_close(c.n);
	return r;
}
