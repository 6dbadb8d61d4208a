/*
 * Net class glue: connects the driver's net_device to the network server.
 * After the initcalls (the driver's probe) the registered interface is
 * opened, as `ip link set up` would, and attached to the server; received
 * frames go to the server as they leave NAPI, and a transmit thread feeds
 * the server's frames to ndo_start_xmit, honouring the queue's flow
 * control. One interface per driver process is exported (the first one).
 */
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/kthread.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>

#include <lx_kit/kit.h>
#include <lx_kit/net.h>
#include "lx_emul.h"
#include "net.h"

int lx_net_unit;

static struct {
	struct net_device *dev;
	struct task_struct *tx_thread;
	bool attached;
	unsigned long long tx_dropped, rx_dropped;
} glue;

static void report(struct work_struct *work);
static DECLARE_DELAYED_WORK(report_work, report);	/* the counters and heartbeat, each second */

int lx_net_registered(struct net_device *dev)
{
	netdev_info(dev, "registered: %pM, mtu %u\n", dev->dev_addr, dev->mtu);
	if (!glue.dev)
		glue.dev = dev;
	else
		netdev_warn(dev, "a second interface in one driver process is not exported\n");
	return 0;
}

void lx_net_unregistered(struct net_device *dev)
{
	if (glue.dev != dev)
		return;
	cancel_delayed_work_sync(&report_work);
	if (glue.tx_thread)
		kthread_stop(glue.tx_thread);
	glue.tx_thread = NULL;
	glue.dev = NULL;
	if (glue.attached)
		lx_kit_net_link(0);
}

void lx_net_link(struct net_device *dev, bool up)
{
	if (dev == glue.dev && glue.attached)
		lx_kit_net_link(up);
}

/* ---- transmit ---- */

#define TX_BUF 2048	/* room for any frame of a 1500-byte MTU, VLAN tag and all */

static void tx_ready(void *arg)
{
	if (glue.tx_thread)
		wake_up_process(glue.tx_thread);
}

void lx_net_tx_kick(struct net_device *dev)
{
	if (dev == glue.dev)
		tx_ready(NULL);
}

/*
 * One frame to the driver. @more: another follows at once, which Linux's
 * stack tells a driver the same way (netdev_xmit_more()), so that it may
 * leave the doorbell for the last of a batch (e1000: one TDT write).
 */
static netdev_tx_t xmit(struct net_device *dev, struct sk_buff *skb, bool more)
{
	struct netdev_queue *txq = netdev_get_tx_queue(dev, 0);
	netdev_tx_t r;

	local_bh_disable();
	HARD_TX_LOCK(dev, txq, smp_processor_id());
	if (netif_xmit_frozen_or_stopped(txq))
		r = NETDEV_TX_BUSY;
	else
		r = __netdev_start_xmit(dev->netdev_ops, skb, dev, more);
	HARD_TX_UNLOCK(dev, txq);
	local_bh_enable();
	return r;
}

/*
 * The server's next frame in a socket buffer; NULL if none is queued (or,
 * with *@starved set, if no buffer could be had). Malformed frames are
 * counted and skipped.
 */
static struct sk_buff *spare;	/* allocated before a frame is taken off the ring */

static struct sk_buff *take_frame(struct net_device *dev, bool *starved)
{
	*starved = false;
	for (;;) {
		struct sk_buff *skb;
		int len;

		if (!spare && !(spare = netdev_alloc_skb(dev, TX_BUF))) {
			*starved = true;
			return NULL;
		}
		len = lx_kit_net_tx(spare->data, TX_BUF);
		if (!len)
			return NULL;
		if (len < ETH_HLEN || len > dev->mtu + VLAN_ETH_HLEN) {
			glue.tx_dropped++;
			continue;
		}
		skb = spare;
		spare = NULL;
		skb_put(skb, len);
		skb->protocol = ((struct ethhdr *)skb->data)->h_proto;
		skb_reset_mac_header(skb);
		skb_reset_network_header(skb);
		skb_set_queue_mapping(skb, 0);
		skb->dev = dev;
		return skb;
	}
}

static int tx_thread(void *arg)
{
	struct net_device *dev = arg;
	struct netdev_queue *txq = netdev_get_tx_queue(dev, 0);
	struct sk_buff *skb = NULL, *next = NULL;	/* the frame being sent, the one after */
	bool starved;

	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!skb) {
			skb = next ? next : take_frame(dev, &starved);
			next = NULL;
			if (!skb) {
				if (starved) {
					__set_current_state(TASK_RUNNING);
					msleep(1);
				} else {
					schedule();	/* until the server queues more */
				}
				continue;
			}
		}
		__set_current_state(TASK_RUNNING);
		if (!netif_carrier_ok(dev) || !netif_running(dev)) {
			glue.tx_dropped++;	/* as Linux's noop qdisc while the link is down */
			kfree_skb(skb);
			skb = NULL;
			continue;
		}
		set_current_state(TASK_INTERRUPTIBLE);
		if (netif_xmit_frozen_or_stopped(txq)) {
			schedule();	/* until netif_wake_queue */
			continue;
		}
		__set_current_state(TASK_RUNNING);
		if (!next)
			next = take_frame(dev, &starved);
		if (xmit(dev, skb, next != NULL) == NETDEV_TX_BUSY)
			continue;	/* kept; retried when the queue wakes */
		skb = NULL;	/* the driver owns it now */
	}
	__set_current_state(TASK_RUNNING);
	kfree_skb(skb);
	kfree_skb(next);
	kfree_skb(spare);
	spare = NULL;
	return 0;
}

/* ---- receive ---- */

void lx_net_deliver(struct sk_buff *skb)
{
	static u8 bounce[ETH_FRAME_LEN + VLAN_HLEN + 64];
	unsigned len;
	const u8 *frame;

	if (skb_vlan_tag_present(skb) && !(skb = __vlan_hwaccel_push_inside(skb)))
		return;
	skb_push(skb, skb->data - skb_mac_header(skb));
	len = skb->len;
	if (skb_is_nonlinear(skb)) {
		if (len > sizeof(bounce) || skb_copy_bits(skb, 0, bounce, len)) {
			glue.rx_dropped++;
			kfree_skb(skb);
			return;
		}
		frame = bounce;
	} else {
		frame = skb->data;
	}
	if (glue.attached && lx_kit_net_rx(frame, len))
		glue.rx_dropped++;
	consume_skb(skb);
}

void lx_net_rx_flush(void)
{
	if (glue.attached)
		lx_kit_net_flush();
}

/* ---- counters: to the server (`dde net`) each second, also its heartbeat ---- */

static void report(struct work_struct *work)
{
	struct rtnl_link_stats64 s;
	struct lx_kit_net_counters c;

	dev_get_stats(glue.dev, &s);
	c = (struct lx_kit_net_counters){
		.rx_packets = s.rx_packets, .rx_bytes = s.rx_bytes, .tx_packets = s.tx_packets,
		.tx_bytes = s.tx_bytes, .rx_errors = s.rx_errors, .rx_dropped = s.rx_dropped,
		.rx_missed = s.rx_missed_errors, .rx_fifo = s.rx_fifo_errors,
		.rx_over = s.rx_over_errors, .rx_crc = s.rx_crc_errors,
		.rx_length = s.rx_length_errors, .tx_errors = s.tx_errors,
		.tx_dropped = s.tx_dropped, .rx_server_full = glue.rx_dropped,
		.tx_down = glue.tx_dropped,
	};
	/* unchanged too: netd takes a driver that stops reporting for hung */
	lx_kit_net_report(&c);
	schedule_delayed_work(&report_work, HZ);
}

/* ---- start: open the interface, attach it ---- */

static int __init lx_net_start(void)
{
	struct net_device *dev = glue.dev;
	int r;

	/* a driver process without an interface to serve stops, saying why */
	if (!dev) {
		pr_err("lx_emul: the driver registered no network interface: stopping\n");
		lx_kit_stop(1);
		return -ENODEV;
	}
	rtnl_lock();
	r = dev_open(dev, NULL);
	rtnl_unlock();
	if (r) {
		netdev_err(dev, "cannot open: %d: stopping\n", r);
		lx_kit_stop(1);
		return r;
	}
	glue.tx_thread = kthread_run(tx_thread, dev, "net-tx");
	if (IS_ERR(glue.tx_thread)) {
		glue.tx_thread = NULL;
		return -ENOMEM;
	}
	r = lx_kit_net_attach(dev->name, dev->dev_addr, dev->mtu, tx_ready, NULL);
	if (r < 0) {
		/* the driver was started to serve netd: without it, stop */
		panic("%s: cannot attach to the network server ($DDE_NET): %pe", dev->name,
		      ERR_PTR(r));
	}
	glue.attached = r == 0;
	if (glue.attached) {
		lx_kit_net_link(netif_carrier_ok(dev));
		schedule_delayed_work(&report_work, HZ);
	}
	return 0;
}
late_initcall(lx_net_start);

static int __init lx_net_init(void)
{
	skb_init();	/* Linux's socket-buffer caches (net/core/skbuff.c) */
	lx_net_softirq_init();
	return 0;
}
core_initcall(lx_net_init);
