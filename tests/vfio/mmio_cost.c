/*
 * In the vfio guest (tests/vfio/guest-init): what an MMIO read of a real
 * device costs a driver, from the driver's own mapping of its BAR, and
 * trapped through ddeio (ddeio run with DDE_TRAP_BARS=1). The e1000's
 * STATUS register, read 20,000 times; prints the median. A figure for
 * make bench, not a test. With --leave-mapped it plays a driver that
 * drops its connection but keeps the BAR mapped: ddeio must kill it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../ddekit/client.h"

#define READS 20000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static uint64_t ns[READS];
	const struct ddeio_grant *g;
	volatile uint8_t *bar;
	size_t size;
	uint64_t v;

	if (ddekit_init("mmio-cost"))
		return 1;
	bar = ddekit_mmio_map(0, 0, &size);
	g = ddeio_grant();
	if (!bar || !g)
		return 1;
	if (argc > 1 && !strcmp(argv[1], "--leave-mapped")) {
		ddeio_disconnect();	/* not ddekit_exit: the mapping stays */
		sleep(5);
		printf("survived with BAR0 mapped (STATUS 0x%08x)\n", *(volatile uint32_t *)(bar + 8));
		return 0;
	}
	for (unsigned i = 0; i < READS; i++) {
		uint64_t t0 = now_ns();

		ddekit_mmio_read(bar + 8, 4, &v);	/* STATUS */
		ns[i] = now_ns() - t0;
	}
	qsort(ns, READS, sizeof(ns[0]), cmp);
	printf("mmio read %s: median %llu ns, p99 %llu ns (STATUS 0x%08llx)\n",
	       (g->dev[0].bar[0].flags & DDEIO_RES_MAPPABLE) ? "mapped" : "trapped",
	       (unsigned long long)ns[READS / 2], (unsigned long long)ns[READS * 99 / 100],
	       (unsigned long long)v);
	ddekit_exit();
	return 0;
}
