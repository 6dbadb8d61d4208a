/*
 * Frames the host kernel dropped at a UDP socket because its receive
 * buffer was full (for QEMU's socket netdev: QEMU did not read, its NIC
 * model took no more): the drops column of /proc/net/udp for the socket
 * bound to @port; -1 if there is none. For the network tests and benches.
 */
#ifndef DDE_TEST_UDP_DROPS_H
#define DDE_TEST_UDP_DROPS_H

#include <stdio.h>
#include <string.h>

static inline long long udp_drops(unsigned port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512];
	long long sum = -1;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned addr, lport;
		long long drops;
		char *last;

		if (sscanf(line, " %*d: %x:%x", &addr, &lport) != 2 || lport != port)
			continue;
		for (size_t n = strlen(line); n && (line[n - 1] == ' ' || line[n - 1] == '\n');)
			line[--n] = 0;	/* the kernel pads its lines */
		last = strrchr(line, ' ');
		if (last && sscanf(last, "%lld", &drops) == 1)
			sum = (sum < 0 ? 0 : sum) + drops;
	}
	if (f)
		fclose(f);
	return sum;
}

#endif
