/* Between the net core emulation (netdev.c) and the class glue (glue.c). */
#ifndef LX_NET_H
#define LX_NET_H

#include <linux/netdevice.h>

extern int lx_net_unit;		/* the next ethN */

int lx_net_registered(struct net_device *dev);
void lx_net_unregistered(struct net_device *dev);
void lx_net_link(struct net_device *dev, bool up);
void lx_net_tx_kick(struct net_device *dev);
void lx_net_deliver(struct sk_buff *skb);
void lx_net_rx_flush(void);
void lx_net_softirq_init(void);

#endif
