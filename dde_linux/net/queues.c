/*
 * What multi-queue NICs (virtio_net) ask of the network core beyond one
 * queue (net/core/dev.c): how many queues are in use, the transmit lock
 * over all of them, transmit steering, and the XDP receive-queue records
 * (net/core/xdp.c) -- with one CPU and no XDP program, bookkeeping only.
 * Also the page-fragment allocator NICs carve receive buffers from
 * (net/core/sock.c).
 */
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/sock.h>
#include <net/xdp.h>

#include "lx_emul.h"
#include "net.h"

int netif_set_real_num_tx_queues(struct net_device *dev, unsigned int n)
{
	if (n < 1 || n > dev->num_tx_queues)
		return -EINVAL;
	dev->real_num_tx_queues = n;
	return 0;
}

int netif_set_real_num_rx_queues(struct net_device *dev, unsigned int n)
{
	if (n < 1 || n > dev->num_rx_queues)
		return -EINVAL;
	dev->real_num_rx_queues = n;
	return 0;
}

/* Transmit steering maps CPUs to queues: there is one CPU. */
int __netif_set_xps_queue(struct net_device *dev, const unsigned long *mask, u16 index,
			  enum xps_map_type type)
{
	return 0;
}

/* Every queue frozen under the global lock: no transmit runs until unlock. */
void netif_tx_lock(struct net_device *dev)
{
	spin_lock(&dev->tx_global_lock);
	for (unsigned int i = 0; i < dev->num_tx_queues; i++) {
		struct netdev_queue *q = netdev_get_tx_queue(dev, i);

		__netif_tx_lock(q, smp_processor_id());
		set_bit(__QUEUE_STATE_FROZEN, &q->state);
		__netif_tx_unlock(q);
	}
}

void netif_tx_unlock(struct net_device *dev)
{
	for (unsigned int i = 0; i < dev->num_tx_queues; i++) {
		struct netdev_queue *q = netdev_get_tx_queue(dev, i);

		clear_bit(__QUEUE_STATE_FROZEN, &q->state);
		netif_schedule_queue(q);
	}
	spin_unlock(&dev->tx_global_lock);
}

void netif_tx_stop_all_queues(struct net_device *dev)
{
	for (unsigned int i = 0; i < dev->num_tx_queues; i++)
		netif_tx_stop_queue(netdev_get_tx_queue(dev, i));
}

/* No packet is in flight through another CPU once the caller got here. */
void synchronize_net(void)
{
	synchronize_rcu();
}

/* Notifications of other network devices: a driver process has only its
 * own, so none ever comes (call_netdevice_notifiers tells nobody). */
int register_netdevice_notifier(struct notifier_block *nb)
{
	return 0;
}

int unregister_netdevice_notifier(struct notifier_block *nb)
{
	return 0;
}

/* Peers learn of a moved address from the stack (gratuitous ARP): the
 * clients of netd run their own. */
void netdev_notify_peers(struct net_device *dev)
{
}

/* --- XDP's per-queue records: no XDP program ever runs here --- */

/* reg_state's values (net/core/xdp.c keeps its names to itself) */
enum { RXQ_NEW, RXQ_REGISTERED, RXQ_UNREGISTERED };

int __xdp_rxq_info_reg(struct xdp_rxq_info *xdp_rxq, struct net_device *dev, u32 queue_index,
		       unsigned int napi_id, u32 frag_size)
{
	memset(xdp_rxq, 0, sizeof(*xdp_rxq));
	xdp_rxq->dev = dev;
	xdp_rxq->queue_index = queue_index;
	xdp_rxq->napi_id = napi_id;
	xdp_rxq->frag_size = frag_size;
	xdp_rxq->reg_state = RXQ_REGISTERED;
	return 0;
}

int xdp_rxq_info_reg_mem_model(struct xdp_rxq_info *xdp_rxq, enum xdp_mem_type type,
			       void *allocator)
{
	if (type != MEM_TYPE_PAGE_SHARED && type != MEM_TYPE_PAGE_ORDER0)
		return -EOPNOTSUPP;	/* page pools, zero-copy sockets: not here */
	xdp_rxq->mem.type = type;
	return 0;
}

bool xdp_rxq_info_is_reg(struct xdp_rxq_info *xdp_rxq)
{
	return xdp_rxq->reg_state == RXQ_REGISTERED;
}

void xdp_rxq_info_unreg(struct xdp_rxq_info *xdp_rxq)
{
	xdp_rxq->reg_state = RXQ_UNREGISTERED;
	xdp_rxq->dev = NULL;
}

/* --- page fragments for receive buffers --- */

/*
 * Room for SZ more bytes in PFRAG's page: the page is reused from the start
 * once nobody else holds it, else a fresh page when it is full. Whole pages
 * (order 0): the driver's DMA region is carved into pages anyway.
 */
bool skb_page_frag_refill(unsigned int sz, struct page_frag *pfrag, gfp_t gfp)
{
	if (sz > PAGE_SIZE)
		return false;
	if (pfrag->page) {
		if (page_ref_count(pfrag->page) == 1) {
			pfrag->offset = 0;
			return true;
		}
		if (pfrag->offset + sz <= pfrag->size)
			return true;
		put_page(pfrag->page);
	}
	pfrag->offset = 0;
	pfrag->page = alloc_page(gfp);
	if (!pfrag->page)
		return false;
	pfrag->size = PAGE_SIZE;
	return true;
}
