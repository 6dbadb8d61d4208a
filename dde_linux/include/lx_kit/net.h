/*
 * The bridge between the net class glue (dde_linux/net, Linux side) and the
 * network server channel (lx_kit/net.c, host side, on libddenet). Plain C
 * types only.
 */
#ifndef LX_KIT_NET_H
#define LX_KIT_NET_H

/*
 * Attach interface @ifname (Linux's name, e.g. "eth0") with address @mac
 * and @mtu to the network server named by $DDE_NET. Returns 0, 1 when no
 * server is configured (the driver runs on its own), or a negative errno.
 * @tx_ready(@arg) runs on the Linux CPU (scheduler context) whenever the
 * server has queued frames to transmit.
 */
int lx_kit_net_attach(const char *ifname, const unsigned char mac[6], unsigned mtu,
		      void (*tx_ready)(void *arg), void *arg);

/* Hand a received frame to the server; 0, or -ENOBUFS when its ring is full. */
int lx_kit_net_rx(const void *frame, unsigned len);

/*
 * The next frame to transmit: copies it into @buf (@max bytes) and returns
 * its length, or 0 when none is queued.
 */
int lx_kit_net_tx(void *buf, unsigned max);

/* Report the link state (1 up, 0 down). */
void lx_kit_net_link(int up);

/*
 * The driver's counters, for the server (`dde net`): Linux's statistics of
 * the net_device and the glue's own losses.
 */
struct lx_kit_net_counters {
	unsigned long long rx_packets, rx_bytes, tx_packets, tx_bytes;
	unsigned long long rx_errors, rx_dropped, rx_missed, rx_fifo, rx_over, rx_crc, rx_length;
	unsigned long long tx_errors, tx_dropped;
	unsigned long long rx_server_full;	/* received, but the server's ring was full */
	unsigned long long tx_down;		/* to send, dropped: link down, bad size */
};
void lx_kit_net_report(const struct lx_kit_net_counters *c);

/* Wake the server for the frames lx_kit_net_rx queued (once per batch). */
void lx_kit_net_flush(void);

#endif
