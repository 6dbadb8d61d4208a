/*
 * In the vfio guest (tests/vfio/guest-init): a driver tells its NVMe to
 * read a block to a bus address just past its DMA region, where the next
 * driver's region is. Only its own region is mapped in its device's VFIO
 * container, so the guest's IOMMU blocks the write (the guest kernel logs
 * the DMAR fault, which run.sh looks for); the same read into its own
 * region works. Prints one line: "dma: own RC CRC, outside ADDR RC".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "../../ddekit/client.h"
#include "../../drivers/selftest/testdev.h"

int main(void)
{
	const struct ddeio_grant *g;
	struct testdev_nvme *n;
	uint64_t bus, outside;
	uint8_t *own;
	int r_own, r_out;

	if (ddekit_init("dma-escape") || !(g = ddeio_grant()) || testdev_nvme_open(0, &n))
		return 1;
	own = ddekit_dma_alloc(4096, 4096, &bus);
	if (!own)
		return 1;
	memset(own, 0, 512);
	r_own = testdev_nvme_read_to_bus(n, 0, bus);
	outside = g->dma_bus + g->dma_size + 0x10000;
	r_out = testdev_nvme_read_to_bus(n, 0, outside);
	printf("dma: own %d %02x%02x%02x%02x, outside 0x%llx %d\n", r_own, own[0], own[1], own[2],
	       own[3], (unsigned long long)outside, r_out);
	testdev_nvme_close(n);
	ddekit_exit();
	return 0;
}
