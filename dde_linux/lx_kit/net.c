/*
 * The host side of the net class glue: the driver's interface attached to
 * netd through libddenet. A thread of its own sleeps on the channel and
 * hands "frames to transmit" to the Linux CPU as an lx_kit event; received
 * frames are queued from the Linux CPU without waking netd per frame
 * (lx_kit_net_flush, called after each NAPI round, rings once).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddekit/ddekit.h>
#include <ddenet/ddenet.h>
#include <lx_kit/kit.h>
#include <lx_kit/net.h>

static struct {
	struct ddenet *n;
	struct lx_kit_event *tx_ready;
	struct ddekit_sem *drained;
	atomic_int armed;	/* the channel thread waits for Linux to drain */
	int pending;		/* frames queued since the last flush */
	int gone;
} net;

/* Wake Linux when netd queues frames, then wait until it has taken them. */
static void channel_thread(void *arg)
{
	for (;;) {
		if (ddenet_wait(net.n, -1) < 0) {
			if (lx_kit_stopping())
				return;		/* stopping anyway: netd went first */
			lx_kit_panic("the network server is gone");
		}
		atomic_store(&net.armed, 1);
		lx_kit_event_raise(net.tx_ready);
		ddekit_sem_down(net.drained, 0);
	}
}

int lx_kit_net_attach(const char *ifname, const unsigned char mac[6], unsigned mtu,
		      void (*tx_ready)(void *arg), void *arg)
{
	const char *server = getenv("DDE_NET");
	const char *name = getenv("DDE_NET_NAME");
	int r;

	if (!server || !*server)
		return 1;
	r = ddenet_attach(server, name && *name ? name : ifname, mac, mtu, &net.n);
	if (r)
		return r;
	net.tx_ready = lx_kit_event_create(tx_ready, arg);
	net.drained = ddekit_sem_create(0);
	if (!net.tx_ready || !net.drained || !ddekit_thread_create("lx-net", channel_thread, NULL))
		return -ENOMEM;
	ddekit_log(DDEKIT_LOG_INFO, "%s attached to the network server as %s", ifname,
		   name && *name ? name : ifname);
	return 0;
}

int lx_kit_net_rx(const void *frame, unsigned len)
{
	int r = ddenet_send_nowake(net.n, frame, len);

	if (r == 0 && ++net.pending >= 64) {
		ddenet_flush(net.n);
		net.pending = 0;
	}
	if (r == -ENODEV && !net.gone) {
		net.gone = 1;
		if (!lx_kit_stopping())
			lx_kit_panic("the network server is gone");
	}
	return r ? -ENOBUFS : 0;
}

int lx_kit_net_tx(void *buf, unsigned max)
{
	ssize_t r = ddenet_recv(net.n, buf, max, 0);

	if (r > 0)
		return (int)r;
	if (atomic_exchange(&net.armed, 0))
		ddekit_sem_up(net.drained);
	return 0;
}

void lx_kit_net_link(int up)
{
	ddenet_set_link(net.n, up);
}

void lx_kit_net_flush(void)
{
	if (net.pending) {
		ddenet_flush(net.n);
		net.pending = 0;
	}
}

void lx_kit_net_report(const struct lx_kit_net_counters *c)
{
	struct ddenet_counters d = {
		.rx_packets = c->rx_packets, .rx_bytes = c->rx_bytes, .tx_packets = c->tx_packets,
		.tx_bytes = c->tx_bytes, .rx_errors = c->rx_errors, .rx_dropped = c->rx_dropped,
		.rx_missed = c->rx_missed, .rx_fifo = c->rx_fifo, .rx_over = c->rx_over,
		.rx_crc = c->rx_crc, .rx_length = c->rx_length, .tx_errors = c->tx_errors,
		.tx_dropped = c->tx_dropped, .rx_server_full = c->rx_server_full,
		.tx_down = c->tx_down,
	};

	if (net.n && !net.gone)
		ddenet_report(net.n, &d);	/* a report lost (socket full) is replaced in a second */
}
