/*
 * The network class glue of the UEFI driver host (build/drivers/efi-net,
 * docs/efi.md "Networks"): the Simple Network Protocol a NIC driver made
 * (iPXE's, from Debian's ipxe-qemu option ROMs) becomes an interface at
 * netd, as a Linux driver's net_device does (dde_linux/lx_kit/net.c).
 *
 * UEFI network drivers have no interrupts to offer: the firmware thread
 * polls. It sleeps on netd's channel for at most a millisecond (less if a
 * timer event is due sooner), sends what netd queued with Transmit,
 * reclaims the buffers with GetStatus, and takes what arrived with
 * Receive until the driver has nothing more, handing it to netd in
 * batches (one wake-up per batch). While frames flow it polls again at
 * once. Timer events (iPXE's tick) run between rounds, the link state is
 * followed through the mode's MediaPresent, and the counters go to netd
 * each second in which they changed (`dde net`).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <ddekit/ddekit.h>
#include <ddenet/ddenet.h>
#include <efi/guids.h>

#include "host.h"

#define MAX_SNP 8
#define TX_BUFS 32		/* frames handed to Transmit and not yet given back */
#define TX_BUF 2048		/* room for any frame of a 1500-byte MTU, VLAN tag and all */
#define RX_BUF 4096		/* iPXE's Receive copies without looking at the size given */
#define RX_BATCH 64		/* frames to netd per wake-up */
#define RX_ROUND 256		/* frames taken per round before the transmit side's turn */
#define IDLE_POLL_MS 1		/* the driver is polled this often with nothing to do */
#define BUSY_POLL_NS 2000000ull	/* and without a pause this long after the last frame */
#define TX_GIVE_UP_NS 1000000000ull	/* a frame the driver has had no room for this long is dropped */

static struct {
	struct efi_simple_network_protocol *snp;
	struct ddenet *n;	/* NULL: no network server; frames are only counted */
	char ifname[DDENET_NAME_MAX];
	uint8_t mac[6];
	unsigned mtu;
	int link;
	/* transmit buffers: DMA memory, the driver's until GetStatus gives them back */
	uint8_t *txmem;
	bool tx_busy[TX_BUFS];
	unsigned tx_inflight;
	int tx_pending;		/* a frame Transmit refused for now (its buffer index), or -1 */
	unsigned tx_pending_len;
	uint64_t tx_pending_since;
	uint8_t *rx;
	/* the glue's counts; the driver's own come from Statistics */
	struct ddenet_counters c;
	uint64_t next_report_ns;
	bool gone;
} net = { .tx_pending = -1 };

static void mac_text(const uint8_t *m, char *out, size_t cap)
{
	snprintf(out, cap, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* the link as the mode tells it: up where the driver cannot say */
static int link_state(void)
{
	const struct efi_simple_network_mode *m = net.snp->mode;

	return m->media_present_supported ? m->media_present != 0 : 1;
}

static void follow_link(void)
{
	int up = link_state();

	if (up == net.link)
		return;
	net.link = up;
	efi_log("%s: link %s", net.ifname, up ? "up" : "down");
	if (net.n)
		ddenet_set_link(net.n, up);
}

int efi_net_attach(void)
{
	const char *server = getenv("DDE_NET"), *name = getenv("DDE_NET_NAME");
	efi_handle hs[MAX_SNP];
	struct efi_simple_network_mode *m;
	unsigned n, want, maxpkt;
	uint64_t bus;
	efi_status s;
	char mac[32];
	int r;

	n = efi_handles_with(&EFI_GUID_SIMPLE_NETWORK, hs, MAX_SNP);
	if (!n) {
		efi_log("the drivers made no Simple Network Protocol: nothing to serve");
		return -ENODEV;
	}
	if (n > 1)
		efi_log("%u Simple Network Protocols: the first is served", n);
	net.snp = efi_interface(hs[0], &EFI_GUID_SIMPLE_NETWORK);
	m = net.snp ? net.snp->mode : NULL;
	if (!m) {
		efi_log("the Simple Network Protocol has no mode");
		return -ENODEV;
	}
	if (m->if_type != 1 || m->hw_address_size != 6) {
		efi_log("the interface is not Ethernet (hardware type %u, address of %u bytes)",
			m->if_type, m->hw_address_size);
		return -EPROTONOSUPPORT;
	}
	/* Stopped -> Started -> Initialized, as a network stack brings it up */
	if (m->state == EfiSimpleNetworkStopped &&
	    (s = efi_call(net.snp->start, (uint64_t)(uintptr_t)net.snp))) {
		efi_log("the Simple Network Protocol's Start: %s", efi_status_name(s));
		return -EIO;
	}
	if (m->state != EfiSimpleNetworkInitialized &&
	    (s = efi_call(net.snp->initialize, (uint64_t)(uintptr_t)net.snp, 0, 0))) {
		efi_log("the Simple Network Protocol's Initialize: %s", efi_status_name(s));
		return -EIO;
	}
	/*
	 * What netd's clients expect of a NIC: their own address, broadcasts,
	 * and every multicast (netd keeps no list to filter by), as far as the
	 * driver can. (MULTICAST would need a filter list: without one the
	 * spec refuses it.) iPXE says yes to anything and receives all.
	 */
	want = (EFI_SIMPLE_NETWORK_RECEIVE_UNICAST | EFI_SIMPLE_NETWORK_RECEIVE_BROADCAST |
		EFI_SIMPLE_NETWORK_RECEIVE_PROMISCUOUS_MULTICAST) & m->receive_filter_mask;
	s = efi_call(net.snp->receive_filters, (uint64_t)(uintptr_t)net.snp, want, 0, 0, 0, 0);
	if (s)
		efi_log("the receive filters %#x: %s (kept as the driver has them)", want,
			efi_status_name(s));
	memcpy(net.mac, m->current_address.addr, 6);
	/* MaxPacketSize: the spec's excludes the media header; iPXE's includes it */
	maxpkt = m->max_packet_size;
	if (maxpkt >= m->media_header_size + 1500)
		maxpkt -= m->media_header_size;
	net.mtu = maxpkt > 1500 || maxpkt < 68 ? 1500 : maxpkt;
	snprintf(net.ifname, sizeof(net.ifname), "%s", name && *name ? name : "eth0");

	net.txmem = efi_dma_pages(TX_BUFS * TX_BUF / 4096, &bus);
	net.rx = malloc(RX_BUF);
	if (!net.txmem || !net.rx) {
		efi_log("no memory for the frame buffers");
		return -ENOMEM;
	}
	net.link = link_state();
	mac_text(net.mac, mac, sizeof(mac));
	efi_log("%s: Simple Network Protocol %s, mtu %u, link %s%s, receive filters %#x of %#x",
		net.ifname, mac, net.mtu, net.link ? "up" : "down",
		m->media_present_supported ? "" : " (not reported)", want, m->receive_filter_mask);
	if (!server || !*server) {
		efi_log("no network server (DDE_NET): frames are only polled");
		return 0;
	}
	r = ddenet_attach(server, net.ifname, net.mac, net.mtu, &net.n);
	if (r) {
		efi_log("cannot attach to the network server %s: %s", server, ddenet_strerror(r));
		return r;
	}
	efi_log("%s attached to the network server", net.ifname);
	ddenet_set_link(net.n, net.link);
	net.next_report_ns = ddekit_clock_ns() + 1000000000ull;
	return 0;
}

/* GetStatus until it has no more transmit buffers to give back */
static void reclaim(void)
{
	for (unsigned n = 0; net.tx_inflight && n <= TX_BUFS; n++) {
		void *done = NULL;
		uint32_t ints = 0;
		efi_status s = efi_call(net.snp->get_status, (uint64_t)(uintptr_t)net.snp,
					(uint64_t)(uintptr_t)&ints, (uint64_t)(uintptr_t)&done);
		uint8_t *b = done;

		if (s || !b)
			return;
		if (b < net.txmem || b >= net.txmem + TX_BUFS * TX_BUF || (b - net.txmem) % TX_BUF) {
			efi_log("GetStatus gave back %p, which is no transmit buffer of ours", done);
			continue;
		}
		if (net.tx_busy[(b - net.txmem) / TX_BUF]) {
			net.tx_busy[(b - net.txmem) / TX_BUF] = false;
			net.tx_inflight--;
		}
	}
}

static int free_tx_buf(void)
{
	for (int i = 0; i < TX_BUFS; i++)
		if (!net.tx_busy[i] && i != net.tx_pending)
			return i;
	return -1;
}

/* Transmit buffer I's LEN bytes: 1 sent, 0 to be tried again, -1 dropped */
static int transmit(int i, unsigned len)
{
	uint8_t *buf = net.txmem + (size_t)i * TX_BUF;
	efi_status s;

	s = efi_call(net.snp->transmit, (uint64_t)(uintptr_t)net.snp, 0, len,
		     (uint64_t)(uintptr_t)buf, 0, 0, 0);
	switch (s) {
	case EFI_SUCCESS:
		net.tx_busy[i] = true;
		net.tx_inflight++;
		net.c.tx_packets++;
		net.c.tx_bytes += len;
		return 1;
	case EFI_NOT_READY:
	case EFI_OUT_OF_RESOURCES:
		return 0;	/* its transmit queue is full: again after a poll */
	default:
		if (net.c.tx_errors++ < 10)
			efi_log("Transmit of %u bytes: %s", len, efi_status_name(s));
		return -1;
	}
}

/* what netd queued, to the driver: the number of frames taken off netd's ring */
static unsigned send_queued(void)
{
	unsigned taken = 0;

	if (net.tx_pending >= 0) {
		int r = transmit(net.tx_pending, net.tx_pending_len);

		reclaim();
		if (!r && ddekit_clock_ns() - net.tx_pending_since < TX_GIVE_UP_NS)
			return 0;	/* still full: netd's frames wait in its ring */
		net.c.tx_errors += r == 0;	/* full for a second: given up */
		net.tx_pending = -1;
	}
	for (;;) {
		int i = free_tx_buf(), r;
		ssize_t len;

		if (i < 0) {
			reclaim();
			if ((i = free_tx_buf()) < 0)
				return taken;
		}
		len = ddenet_recv(net.n, net.txmem + (size_t)i * TX_BUF, TX_BUF, 0);
		if (len == -EAGAIN || len == 0)
			return taken;
		if (len < 0) {
			net.gone = true;
			return taken;
		}
		taken++;
		if (len < 14 || (size_t)len > net.mtu + 18u || !net.link) {
			net.c.tx_down++;	/* as Linux's noop qdisc while the link is down */
			continue;
		}
		r = transmit(i, (unsigned)len);
		reclaim();
		if (r == 0) {
			net.tx_pending = i;
			net.tx_pending_len = (unsigned)len;
			net.tx_pending_since = ddekit_clock_ns();
			return taken;
		}
	}
}

/* what the driver received, to netd: the number of frames */
static unsigned receive(void)
{
	unsigned got = 0, batch = 0;

	while (got < RX_ROUND) {
		uint64_t len = RX_BUF, hdr = 0;
		efi_status s = efi_call(net.snp->receive, (uint64_t)(uintptr_t)net.snp,
					(uint64_t)(uintptr_t)&hdr, (uint64_t)(uintptr_t)&len,
					(uint64_t)(uintptr_t)net.rx, 0, 0, 0);
		int r;

		if (s == EFI_NOT_READY)
			break;
		if (s) {
			if (net.c.rx_errors++ < 10)
				efi_log("Receive: %s", efi_status_name(s));
			break;
		}
		got++;
		net.c.rx_packets++;
		net.c.rx_bytes += len;
		if (!net.n)
			continue;
		if (len < 14 || len > DDENET_FRAME_MAX) {
			net.c.rx_length++;
			continue;
		}
		r = ddenet_send_nowake(net.n, net.rx, len);
		if (r == -ENODEV) {
			net.gone = true;
			break;
		}
		if (r) {
			net.c.rx_server_full++;
			continue;
		}
		if (++batch == RX_BATCH) {
			ddenet_flush(net.n);
			batch = 0;
		}
	}
	if (batch)
		ddenet_flush(net.n);
	return got;
}

/* the counters to netd each second, also its heartbeat */
static void report(void)
{
	struct efi_network_statistics st;
	uint64_t size = sizeof(st), t = ddekit_clock_ns();

	if (!net.n || t < net.next_report_ns)
		return;
	net.next_report_ns = t + 1000000000ull;
	memset(&st, 0, sizeof(st));
	if (net.snp->statistics &&
	    !efi_call(net.snp->statistics, (uint64_t)(uintptr_t)net.snp, 0,
		      (uint64_t)(uintptr_t)&size, (uint64_t)(uintptr_t)&st)) {
		/* the driver's own losses (iPXE counts its bad frames here) */
		net.c.rx_dropped = st.rx_dropped_frames;
		net.c.rx_crc = st.rx_crc_error_frames;
		net.c.tx_dropped = st.tx_dropped_frames;
	}
	/* unchanged too: netd takes a driver that stops reporting for hung */
	ddenet_report(net.n, &net.c);
}

int efi_net_run(void)
{
	unsigned moved = 0;
	uint64_t last_frame = 0;

	for (;;) {
		uint64_t next = efi_next_timer_ns(), t = ddekit_clock_ns();
		int timeout = IDLE_POLL_MS;

		/*
		 * Frames flowing (or shortly after the last one, when the next of
		 * a stream is on its way): poll again at once; else sleep until
		 * netd queues a frame or the next poll is due.
		 */
		if (moved)
			last_frame = t;
		if (t - last_frame < BUSY_POLL_NS || next == 0)
			timeout = 0;
		if (net.n) {
			int r = ddenet_wait(net.n, timeout);

			if (r < 0)
				net.gone = true;
		} else if (timeout) {
			ddekit_thread_sleep_us((unsigned long)timeout * 1000);
		}
		if (net.gone) {
			/* the NIC quiet before the device goes back to ddeio */
			efi_log("the network server is gone: the interface is shut down");
			efi_call(net.snp->shutdown, (uint64_t)(uintptr_t)net.snp);
			efi_call(net.snp->stop, (uint64_t)(uintptr_t)net.snp);
			return 1;
		}
		efi_dispatch_timers();
		moved = net.n ? send_queued() : 0;
		moved += receive();
		follow_link();
		report();
		efi_report_counts();
	}
}
