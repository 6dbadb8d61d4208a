/*
 * dde net: what the network server (netd) serves — every interface with
 * its address, MTU, link and clients, and where its frames went and were
 * lost: netd's own counters and the driver's, as it last reported them
 * (docs/net.md, "Counters").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddenet/ddenet.h>
#include "dde.h"

static int by_name(const void *a, const void *b)
{
	const struct ddenet_ifstats *x = a, *y = b;

	return strverscmp(x->ifname, y->ifname);	/* net2 before net10 */
}

static void show(const struct ddenet_ifstats *s)
{
	const struct ddenet_counters *c = &s->c;

	printf("%s  %02x:%02x:%02x:%02x:%02x:%02x  mtu %u  link %s  clients %" PRIu32 "\n",
	       s->ifname, s->mac[0], s->mac[1], s->mac[2], s->mac[3], s->mac[4], s->mac[5],
	       s->mtu, s->link ? "up" : "down", c->clients);
	printf("  netd:       rx %" PRIu64 "  tx %" PRIu64 "  lost: client ring full %" PRIu64
	       "  refused %" PRIu64 "\n", c->rx, c->tx, c->rx_client_full, c->tx_refused);
	if (!c->driver_reported) {
		printf("  driver:     not reported yet\n");
		return;
	}
	/* Linux's rx_errors includes the crc and length errors: shown with them */
	printf("  driver rx:  packets %" PRIu64 "  bytes %" PRIu64 "  lost: missed %" PRIu64
	       "  fifo %" PRIu64 "  over %" PRIu64 "  dropped %" PRIu64 "  errors %" PRIu64
	       " (crc %" PRIu64 ", length %" PRIu64 ")  netd ring full %" PRIu64 "\n",
	       c->rx_packets, c->rx_bytes, c->rx_missed, c->rx_fifo, c->rx_over, c->rx_dropped,
	       c->rx_errors, c->rx_crc, c->rx_length, c->rx_server_full);
	printf("  driver tx:  packets %" PRIu64 "  bytes %" PRIu64 "  lost: dropped %" PRIu64
	       "  errors %" PRIu64 "  link down or bad size %" PRIu64 "\n",
	       c->tx_packets, c->tx_bytes, c->tx_dropped, c->tx_errors, c->tx_down);
	printf("  driver:     reported %" PRIu64 ".%" PRIu64 " s ago\n", c->driver_age_ms / 1000,
	       c->driver_age_ms % 1000 / 100);
}

static int usage(FILE *out, int status)
{
	fprintf(out,
		"usage: dde net [--socket PATH]\n"
		"  list the interfaces of the network server at PATH (default $DDE_NET,\n"
		"  as `dde run` prints it): name, MAC address, MTU, link, clients open,\n"
		"  and where frames went and were lost (docs/net.md, \"Counters\"):\n"
		"    netd:       frames from the driver (rx) and to it (tx); received\n"
		"                copies a client's full ring lost; client or TAP frames\n"
		"                refused for their size\n"
		"    driver rx:  Linux's receive statistics of the device, and frames\n"
		"                netd's full ring lost\n"
		"    driver tx:  Linux's transmit statistics, and frames dropped because\n"
		"                the link was down or their size was wrong\n"
		"  the driver's counters are as it last reported them (every second)\n");
	return status;
}

int dde_net(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct ddenet_ifstats *all = NULL;
	const char *server = NULL;
	int opt, n, max = 16;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 's') {
			server = optarg;
		} else if (opt == '?') {
			fprintf(stderr, "dde net: unknown or incomplete option '%s' (see dde net --help)\n",
				argv[optind - 1]);
			return 2;
		} else {
			return usage(stdout, 0);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde net: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!server && !(getenv("DDE_NET") && *getenv("DDE_NET"))) {
		fprintf(stderr, "dde net: which network server? Set DDE_NET (dde run prints it) "
			"or give --socket PATH\n");
		return 2;
	}
	for (;;) {
		struct ddenet_ifstats *more = realloc(all, (size_t)max * sizeof(*all));

		if (!more) {
			n = -ENOMEM;
			break;
		}
		all = more;
		n = ddenet_stats(server, all, max);
		if (n <= max)
			break;
		max = n;	/* more interfaces than room: again, with room for all */
	}
	if (n < 0) {
		fprintf(stderr, "dde net: cannot reach the network server %s: %s\n",
			server ? server : getenv("DDE_NET"), ddenet_strerror(n));
		free(all);
		return 1;
	}
	qsort(all, (size_t)n, sizeof(*all), by_name);
	for (int i = 0; i < n; i++)
		show(&all[i]);
	if (!n)
		printf("no interfaces\n");
	free(all);
	return 0;
}
