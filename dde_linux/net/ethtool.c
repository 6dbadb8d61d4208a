/*
 * The ethtool helpers drivers call from their ethtool operations. Linux
 * keeps them in net/ethtool/common.c and net/core/ethtool.c, amid the
 * ethtool ioctl and netlink interfaces a driver process does not have.
 */
#include <linux/ethtool.h>
#include <linux/linkmode.h>
#include <linux/netdevice.h>
#include <linux/net_tstamp.h>

/* the first 32 link modes are the legacy word's bits */
void ethtool_convert_legacy_u32_to_link_mode(unsigned long *dst, u32 legacy_u32)
{
	linkmode_zero(dst);
	dst[0] = legacy_u32;
}

/* false when a mode beyond the first 32 is set: the legacy word cannot say it */
bool ethtool_convert_link_mode_to_legacy_u32(u32 *legacy_u32, const unsigned long *src)
{
	*legacy_u32 = (u32)src[0];
	return find_next_bit(src, __ETHTOOL_LINK_MODE_MASK_NBITS, 32) >=
	       __ETHTOOL_LINK_MODE_MASK_NBITS;
}

/* a driver without hardware timestamps: software ones, no PTP clock */
int ethtool_op_get_ts_info(struct net_device *dev, struct ethtool_ts_info *info)
{
	info->so_timestamping = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
				SOF_TIMESTAMPING_SOFTWARE;
	info->phc_index = -1;
	return 0;
}

/* a driver without its own link check: the carrier is the link */
u32 ethtool_op_get_link(struct net_device *dev)
{
	return netif_carrier_ok(dev) ? 1 : 0;
}
