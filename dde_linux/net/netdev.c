/*
 * The part of Linux's network core (net/core/dev.c, link_watch.c) a NIC
 * driver talks to, emulated: net_device allocation and registration, queue
 * state, carrier, NAPI polling in the NET_RX softirq, and the receive path,
 * which ends at the class glue (glue.c) instead of a protocol stack.
 * Socket buffers, Ethernet helpers and address lists are Linux's own
 * (dde_linux/net.list).
 */
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <net/gro.h>
#include <net/net_namespace.h>
#include <net/pkt_sched.h>
#include <../net/core/dev.h>	/* net/core private: dev_addr_init and friends */

#include "lx_emul.h"
#include "net.h"

struct net init_net;
DEFINE_PER_CPU_ALIGNED(struct softnet_data, softnet_data);
unsigned int sysctl_skb_defer_max __read_mostly = 64;
int sysctl_tstamp_allow_data __read_mostly = 1;
int netdev_budget __read_mostly = 300;
int netdev_max_backlog __read_mostly = 1000;

static LIST_HEAD(poll_list);	/* scheduled NAPI instances */
static int ifindex;

/* ---- allocation ---- */

static int alloc_queues(struct net_device *dev)
{
	dev->_tx = kcalloc(dev->num_tx_queues, sizeof(*dev->_tx), GFP_KERNEL);
	dev->_rx = kcalloc(dev->num_rx_queues, sizeof(*dev->_rx), GFP_KERNEL);
	if (!dev->_tx || !dev->_rx)
		return -ENOMEM;
	for (unsigned i = 0; i < dev->num_tx_queues; i++) {
		struct netdev_queue *q = &dev->_tx[i];

		q->dev = dev;
		spin_lock_init(&q->_xmit_lock);
		q->xmit_lock_owner = -1;
		q->numa_node = NUMA_NO_NODE;
		dql_init(&q->dql, HZ);
	}
	for (unsigned i = 0; i < dev->num_rx_queues; i++)
		dev->_rx[i].dev = dev;
	return 0;
}

struct net_device *alloc_netdev_mqs(int sizeof_priv, const char *name,
				    unsigned char name_assign_type,
				    void (*setup)(struct net_device *),
				    unsigned int txqs, unsigned int rxqs)
{
	unsigned int size = ALIGN(sizeof(struct net_device), NETDEV_ALIGN) + sizeof_priv;
	struct net_device *dev;

	if (txqs < 1 || rxqs < 1 || strlen(name) >= IFNAMSIZ)
		return NULL;
	dev = kzalloc(size, GFP_KERNEL);	/* kmalloc aligns to 64 */
	if (!dev)
		return NULL;
	dev->pcpu_refcnt = alloc_percpu(int);
	if (!dev->pcpu_refcnt || dev_addr_init(dev))
		goto fail;
	__dev_hold(dev);
	dev_mc_init(dev);
	dev_uc_init(dev);
	dev_net_set(dev, &init_net);
	dev->gso_max_size = GSO_LEGACY_MAX_SIZE;
	dev->gso_max_segs = GSO_MAX_SEGS;
	dev->gro_max_size = GRO_LEGACY_MAX_SIZE;
	dev->tso_max_size = TSO_LEGACY_MAX_SIZE;
	dev->tso_max_segs = TSO_MAX_SEGS;
	INIT_LIST_HEAD(&dev->napi_list);
	INIT_LIST_HEAD(&dev->unreg_list);
	INIT_LIST_HEAD(&dev->close_list);
	INIT_LIST_HEAD(&dev->link_watch_list);
	INIT_LIST_HEAD(&dev->adj_list.upper);
	INIT_LIST_HEAD(&dev->adj_list.lower);
	INIT_LIST_HEAD(&dev->ptype_all);
	INIT_LIST_HEAD(&dev->ptype_specific);
	INIT_LIST_HEAD(&dev->net_notifier_list);
	dev->priv_flags = IFF_XMIT_DST_RELEASE | IFF_XMIT_DST_RELEASE_PERM;
	setup(dev);
	if (!dev->tx_queue_len) {
		dev->priv_flags |= IFF_NO_QUEUE;
		dev->tx_queue_len = DEFAULT_TX_QUEUE_LEN;
	}
	dev->num_tx_queues = dev->real_num_tx_queues = txqs;
	dev->num_rx_queues = dev->real_num_rx_queues = rxqs;
	if (alloc_queues(dev))
		goto fail;
	strcpy(dev->name, name);
	dev->name_assign_type = name_assign_type;
	return dev;
fail:
	free_netdev(dev);
	return NULL;
}

void free_netdev(struct net_device *dev)
{
	struct napi_struct *n, *tmp;

	if (!dev)
		return;
	list_for_each_entry_safe(n, tmp, &dev->napi_list, dev_list)
		__netif_napi_del(n);
	kfree(dev->_tx);
	kfree(dev->_rx);
	dev_addr_flush(dev);
	dev_mc_flush(dev);
	dev_uc_flush(dev);
	free_percpu(dev->pcpu_refcnt);
	kfree(dev);
}

/* ---- registration: the device is named, then opened by the glue ---- */

int register_netdevice(struct net_device *dev)
{
	int r;

	if (strchr(dev->name, '%'))
		snprintf(dev->name, IFNAMSIZ, "eth%d", lx_net_unit++);
	if (dev->netdev_ops->ndo_init) {
		r = dev->netdev_ops->ndo_init(dev);
		if (r)
			return r;
	}
	dev->ifindex = ++ifindex;
	set_bit(__LINK_STATE_PRESENT, &dev->state);
	dev->reg_state = NETREG_REGISTERED;
	if (!dev->perm_addr[0] && !is_zero_ether_addr(dev->dev_addr))
		memcpy(dev->perm_addr, dev->dev_addr, dev->addr_len);
	return lx_net_registered(dev);
}

int register_netdev(struct net_device *dev)
{
	int r;

	rtnl_lock();
	r = register_netdevice(dev);
	rtnl_unlock();
	return r;
}

void unregister_netdevice_queue(struct net_device *dev, struct list_head *head)
{
	lx_net_unregistered(dev);
	if (dev->flags & IFF_UP && dev->netdev_ops->ndo_stop)
		dev->netdev_ops->ndo_stop(dev);
	dev->flags &= ~IFF_UP;
	clear_bit(__LINK_STATE_START, &dev->state);
	if (dev->netdev_ops->ndo_uninit)
		dev->netdev_ops->ndo_uninit(dev);
	dev->reg_state = NETREG_UNREGISTERED;
}

void unregister_netdev(struct net_device *dev)
{
	rtnl_lock();
	unregister_netdevice_queue(dev, NULL);
	rtnl_unlock();
}

int dev_open(struct net_device *dev, struct netlink_ext_ack *extack)
{
	int r = 0;

	if (dev->flags & IFF_UP)
		return 0;
	set_bit(__LINK_STATE_START, &dev->state);
	if (dev->netdev_ops->ndo_validate_addr)
		r = dev->netdev_ops->ndo_validate_addr(dev);
	if (!r && dev->netdev_ops->ndo_open)
		r = dev->netdev_ops->ndo_open(dev);
	if (r) {
		clear_bit(__LINK_STATE_START, &dev->state);
		return r;
	}
	dev->flags |= IFF_UP;
	__dev_set_rx_mode(dev);
	return 0;
}

/* the rtnl lock: tasks switch only where they sleep, a mutex suffices */
static DEFINE_MUTEX(rtnl);

void rtnl_lock(void)
{
	mutex_lock(&rtnl);
}

void rtnl_unlock(void)
{
	mutex_unlock(&rtnl);
}

int rtnl_is_locked(void)
{
	return mutex_is_locked(&rtnl);
}

void __dev_set_rx_mode(struct net_device *dev)
{
	if (!(dev->flags & IFF_UP) || !netif_device_present(dev))
		return;
	if (dev->netdev_ops->ndo_set_rx_mode)
		dev->netdev_ops->ndo_set_rx_mode(dev);
}

int call_netdevice_notifiers(unsigned long val, struct net_device *dev)
{
	return 0;	/* nobody above the driver listens */
}

int dev_pre_changeaddr_notify(struct net_device *dev, const char *addr,
			      struct netlink_ext_ack *extack)
{
	return 0;
}

/* ---- queue and carrier state ---- */

void netif_tx_wake_queue(struct netdev_queue *q)
{
	if (test_and_clear_bit(__QUEUE_STATE_DRV_XOFF, &q->state))
		lx_net_tx_kick(q->dev);
}

void netif_schedule_queue(struct netdev_queue *q)
{
	if (!(q->state & QUEUE_STATE_ANY_XOFF))
		lx_net_tx_kick(q->dev);
}

void netif_carrier_on(struct net_device *dev)
{
	if (test_and_clear_bit(__LINK_STATE_NOCARRIER, &dev->state)) {
		atomic_inc(&dev->carrier_up_count);
		lx_net_link(dev, true);
	}
}

void netif_carrier_off(struct net_device *dev)
{
	if (!test_and_set_bit(__LINK_STATE_NOCARRIER, &dev->state)) {
		atomic_inc(&dev->carrier_down_count);
		lx_net_link(dev, false);
	}
}

void netif_device_detach(struct net_device *dev)
{
	if (test_and_clear_bit(__LINK_STATE_PRESENT, &dev->state) && netif_running(dev))
		netif_tx_stop_all_queues(dev);
}

void netif_device_attach(struct net_device *dev)
{
	if (!test_and_set_bit(__LINK_STATE_PRESENT, &dev->state) && netif_running(dev)) {
		netif_tx_wake_all_queues(dev);
		__dev_set_rx_mode(dev);
	}
}

/* ---- NAPI ---- */

void netif_napi_add_weight(struct net_device *dev, struct napi_struct *napi,
			   int (*poll)(struct napi_struct *, int), int weight)
{
	INIT_LIST_HEAD(&napi->poll_list);
	INIT_LIST_HEAD(&napi->rx_list);
	napi->rx_count = 0;
	napi->gro_bitmask = 0;
	napi->skb = NULL;
	napi->poll = poll;
	napi->weight = weight;
	napi->dev = dev;
	set_bit(NAPI_STATE_SCHED, &napi->state);	/* disabled until napi_enable */
	set_bit(NAPI_STATE_NPSVC, &napi->state);
	list_add_rcu(&napi->dev_list, &dev->napi_list);
}

void __netif_napi_del(struct napi_struct *napi)
{
	if (!test_and_clear_bit(NAPI_STATE_LISTED, &napi->state) && list_empty(&napi->dev_list))
		return;
	list_del_init(&napi->dev_list);
	list_del_init(&napi->poll_list);
}

void napi_enable(struct napi_struct *n)
{
	n->state &= ~(NAPIF_STATE_SCHED | NAPIF_STATE_NPSVC);
}

void napi_disable(struct napi_struct *n)
{
	set_bit(NAPI_STATE_DISABLE, &n->state);
	/* wait for a running poll to complete, then own the instance */
	while (test_and_set_bit(NAPI_STATE_SCHED, &n->state))
		msleep(1);
	set_bit(NAPI_STATE_NPSVC, &n->state);
	list_del_init(&n->poll_list);
	clear_bit(NAPI_STATE_DISABLE, &n->state);
}

bool napi_schedule_prep(struct napi_struct *n)
{
	unsigned long val = n->state;

	if (val & NAPIF_STATE_DISABLE)
		return false;
	if (val & NAPIF_STATE_SCHED) {
		n->state = val | NAPIF_STATE_MISSED;
		return false;
	}
	n->state = val | NAPIF_STATE_SCHED;
	return true;
}

void __napi_schedule(struct napi_struct *n)
{
	if (list_empty(&n->poll_list))
		list_add_tail(&n->poll_list, &poll_list);
	raise_softirq_irqoff(NET_RX_SOFTIRQ);
}

void __napi_schedule_irqoff(struct napi_struct *n)
{
	__napi_schedule(n);
}

bool napi_complete_done(struct napi_struct *n, int work_done)
{
	unsigned long val = n->state;

	if (val & (NAPIF_STATE_NPSVC | NAPIF_STATE_IN_BUSY_POLL))
		return false;
	list_del_init(&n->poll_list);
	WARN_ON_ONCE(!(val & NAPIF_STATE_SCHED));
	n->state = val & ~(NAPIF_STATE_MISSED | NAPIF_STATE_SCHED |
			   NAPIF_STATE_SCHED_THREADED | NAPIF_STATE_PREFER_BUSY_POLL);
	if (val & NAPIF_STATE_MISSED) {
		n->state |= NAPIF_STATE_SCHED;
		__napi_schedule(n);
		return false;
	}
	return true;
}

/*
 * Frames of drivers without NAPI (netif_rx, from their interrupt handler)
 * wait in the backlog, as in Linux, and go up in the NET_RX softirq: the
 * handler stays short, and delivery is batched.
 */
static struct sk_buff_head backlog;
static unsigned long backlog_dropped;

static int process_backlog(int budget)
{
	struct sk_buff *skb;
	int work = 0;

	while (work < budget && (skb = skb_dequeue(&backlog))) {
		netif_receive_skb(skb);
		work++;
	}
	return work;
}

static void net_rx_action(struct softirq_action *h)
{
	int budget = netdev_budget;
	LIST_HEAD(list);

	budget -= process_backlog(budget);
	list_splice_init(&poll_list, &list);
	while (!list_empty(&list)) {
		struct napi_struct *n = list_first_entry(&list, struct napi_struct, poll_list);
		int work;

		list_del_init(&n->poll_list);
		work = n->poll(n, n->weight);
		WARN_ON_ONCE(work > n->weight);
		budget -= work;
		/* budget used up: the driver did not complete, poll again */
		if (work == n->weight && !(n->state & NAPIF_STATE_DISABLE) &&
		    test_bit(NAPI_STATE_SCHED, &n->state) && list_empty(&n->poll_list))
			list_add_tail(&n->poll_list, &poll_list);
		if (budget <= 0)
			break;
	}
	list_splice_tail(&list, &poll_list);
	if (!list_empty(&poll_list) || !skb_queue_empty_lockless(&backlog))
		raise_softirq_irqoff(NET_RX_SOFTIRQ);
	lx_net_rx_flush();
}

void lx_net_softirq_init(void)
{
	skb_queue_head_init(&backlog);
	open_softirq(NET_RX_SOFTIRQ, net_rx_action);
}

/* ---- receive: frames leave Linux here, for the class glue ---- */

int netif_receive_skb(struct sk_buff *skb)
{
	lx_net_deliver(skb);
	return NET_RX_SUCCESS;
}

int netif_rx(struct sk_buff *skb)
{
	if (skb_queue_len_lockless(&backlog) >= netdev_max_backlog) {
		if (!backlog_dropped++ || !(backlog_dropped % 1000))
			net_warn_ratelimited("lx_emul: receive backlog full, %lu frames dropped\n",
					     backlog_dropped);
		kfree_skb(skb);
		return NET_RX_DROP;
	}
	skb_queue_tail(&backlog, skb);
	raise_softirq(NET_RX_SOFTIRQ);
	return NET_RX_SUCCESS;
}

gro_result_t napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb)
{
	netif_receive_skb(skb);
	return GRO_NORMAL;
}

void netdev_rx_csum_fault(struct net_device *dev, struct sk_buff *skb)
{
	netdev_err(dev, "hw csum failure\n");
}

/* drivers free skbs from any context; no context needs deferring here */
void __dev_kfree_skb_any(struct sk_buff *skb, enum skb_free_reason reason)
{
	if (reason == SKB_REASON_DROPPED)
		kfree_skb(skb);
	else
		consume_skb(skb);
}

void __dev_kfree_skb_irq(struct sk_buff *skb, enum skb_free_reason reason)
{
	__dev_kfree_skb_any(skb, reason);
}

/* no PHY here timestamps packets */
void skb_clone_tx_timestamp(struct sk_buff *skb)
{
}

bool skb_defer_rx_timestamp(struct sk_buff *skb)
{
	return false;
}

/*
 * Receive into page fragments (e1000's jumbo path): the driver fills the
 * fragments of napi->skb, then hands it over whole; its Ethernet header is
 * pulled into the head here, as Linux's GRO does first.
 */
struct sk_buff *napi_get_frags(struct napi_struct *napi)
{
	if (!napi->skb)
		napi->skb = napi_alloc_skb(napi, MAX_HEADER + 128);	/* GRO_MAX_HEAD */
	return napi->skb;
}

gro_result_t napi_gro_frags(struct napi_struct *napi)
{
	struct sk_buff *skb = napi->skb;

	napi->skb = NULL;
	if (!skb)
		return GRO_CONSUMED;
	if (!pskb_may_pull(skb, ETH_HLEN)) {
		net_warn_ratelimited("%s: dropping a frame shorter than its Ethernet header\n",
				     napi->dev->name);
		kfree_skb(skb);
		return GRO_CONSUMED;
	}
	skb->protocol = eth_type_trans(skb, skb->dev ? skb->dev : napi->dev);
	return napi_gro_receive(napi, skb);
}

/*
 * The legacy counters, widened: struct net_device_stats is the first words
 * of struct rtnl_link_stats64 in the same order (Linux relies on it too);
 * what follows them is zero.
 */
void netdev_stats_to_stats64(struct rtnl_link_stats64 *stats64,
			     const struct net_device_stats *netdev_stats)
{
	const size_t n = sizeof(*netdev_stats) / sizeof(atomic_long_t);
	const atomic_long_t *src = (const atomic_long_t *)netdev_stats;
	u64 *dst = (u64 *)stats64;

	BUILD_BUG_ON(n > sizeof(*stats64) / sizeof(u64));
	memset(stats64, 0, sizeof(*stats64));
	for (size_t i = 0; i < n; i++)
		dst[i] = (u64)atomic_long_read(&src[i]);
}

/*
 * The interface's statistics as `ip -s link` shows them: the driver's own
 * 64-bit ones, else its legacy ones, else the net_device's fields.
 * (No per-CPU core counters here: netdev_core_stats_alloc never is.)
 */
struct rtnl_link_stats64 *dev_get_stats(struct net_device *dev,
					struct rtnl_link_stats64 *storage)
{
	const struct net_device_ops *ops = dev->netdev_ops;

	memset(storage, 0, sizeof(*storage));
	if (ops->ndo_get_stats64)
		ops->ndo_get_stats64(dev, storage);
	else
		netdev_stats_to_stats64(storage, ops->ndo_get_stats ? ops->ndo_get_stats(dev) :
							      &dev->stats);
	return storage;
}

/* when the device last sent: the latest of its queues */
unsigned long dev_trans_start(struct net_device *dev)
{
	unsigned long last = 0;

	for (unsigned int i = 0; i < dev->num_tx_queues; i++) {
		unsigned long t = READ_ONCE(netdev_get_tx_queue(dev, i)->trans_start);

		if (t && (!last || time_after(t, last)))
			last = t;
	}
	return last;
}

/* the IPv6 pseudo-header's sum (RFC 8200 8.1), folded */
__sum16 csum_ipv6_magic(const struct in6_addr *saddr, const struct in6_addr *daddr, __u32 len,
			__u8 proto, __wsum csum)
{
	u64 sum = (__force u32)csum;

	for (int i = 0; i < 4; i++)
		sum += (__force u32)saddr->s6_addr32[i] + (__force u32)daddr->s6_addr32[i];
	sum += (__force u32)htonl(len) + (__force u32)htonl(proto);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return csum_fold((__force __wsum)(u32)sum);
}
