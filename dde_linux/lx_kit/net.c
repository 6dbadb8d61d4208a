/* placeholder, replaced below */
#include <stdlib.h>
#include <errno.h>
#include <lx_kit/net.h>
int lx_kit_net_attach(const char *ifname, const unsigned char mac[6], unsigned mtu,
		      void (*tx_ready)(void *arg), void *arg)
{
	return getenv("DDE_NET") ? -ENOSYS : 1;
}
int lx_kit_net_rx(const void *frame, unsigned len) { return 0; }
int lx_kit_net_tx(void *buf, unsigned max) { return 0; }
void lx_kit_net_link(int up) {}
void lx_kit_net_stats(unsigned long long a, unsigned long long b) {}
