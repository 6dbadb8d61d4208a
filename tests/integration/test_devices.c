/*
 * A small test driver using only ddekit, through the I/O server, against
 * real QEMU device models: e1000 link and EEPROM MAC, an interrupt, a frame
 * out to a UDP peer and one in from it, byte-exact; NVMe and AHCI sectors
 * read by DMA equal the image file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../drivers/selftest/testdev.h"
#include "harness.h"

#define MAC "52:54:00:ab:cd:ef"

static struct {
	struct harness h;
	char nvme_img[128], ahci_img[128];
	int peer;		/* UDP socket of the peer */
	uint16_t qemu_port;
	struct ddeio_device devs[64];
	int ndev;
} t;

static int setup(void **state)
{
	char nic[128], d0[160], d1[160];
	uint16_t peer_port;

	if (harness_image(t.nvme_img, sizeof(t.nvme_img), 4, 1) ||
	    harness_image(t.ahci_img, sizeof(t.ahci_img), 4, 2))
		return -1;
	t.peer = harness_udp_peer(&t.qemu_port, &peer_port);
	if (t.peer < 0)
		return -1;
	snprintf(nic, sizeof(nic), "e1000,mac=" MAC ",net=udp:%u:%u", t.qemu_port, peer_port);
	snprintf(d0, sizeof(d0), "nvme:%s", t.nvme_img);
	snprintf(d1, sizeof(d1), "ahci:%s", t.ahci_img);
	const char *args[] = { "--nic", nic, "--disk", d0, "--disk", d1, NULL };

	if (harness_start(&t.h, args))
		return -1;
	t.ndev = harness_list(&t.h, t.devs, 64);
	return t.ndev > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	harness_stop(&t.h);
	close(t.peer);
	unlink(t.nvme_img);
	unlink(t.ahci_img);
	return 0;
}

static const char *slot_of(uint16_t vendor, uint16_t device)
{
	const struct ddeio_device *d = harness_find(t.devs, t.ndev, vendor, device);

	return d ? harness_slot(d) : "none";
}

static void read_image(const char *path, off_t off, void *buf, size_t len)
{
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fseeko(f, off, SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);
}

/* Runs as a driver process: everything e1000. Returns a step number on failure. */
static int e1000_driver(void *arg)
{
	struct testdev_e1000 *e;
	uint8_t mac[6], frame[1514], got[2048];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(t.qemu_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint64_t latency;
	size_t len;
	ssize_t n;

	if (testdev_e1000_open(0, &e))
		return 1;
	if (testdev_e1000_wait_link(e, 3000))
		return 2;
	if (testdev_e1000_eeprom_mac(e, mac) ||
	    memcmp(mac, "\x52\x54\x00\xab\xcd\xef", 6))
		return 3;
	if (testdev_e1000_irq_selftest(e, &latency))
		return 4;
	/* out: a full-size frame of a known pattern must reach the peer intact */
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 3);
	memset(frame, 0xff, 6);
	memcpy(frame + 6, mac, 6);
	if (testdev_e1000_send(e, frame, sizeof(frame)))
		return 5;
	struct pollfd pfd = { t.peer, POLLIN, 0 };

	if (poll(&pfd, 1, 3000) != 1)
		return 6;
	n = recv(t.peer, got, sizeof(got), 0);
	if (n != (ssize_t)sizeof(frame) || memcmp(got, frame, sizeof(frame)))
		return 7;
	/* in: the peer injects a frame addressed to us */
	for (size_t i = 0; i < 600; i++)
		frame[i] = (uint8_t)(i * 13 + 1);
	memcpy(frame, mac, 6);
	if (sendto(t.peer, frame, 600, 0, (struct sockaddr *)&to, sizeof(to)) != 600)
		return 8;
	if (testdev_e1000_recv(e, got, sizeof(got), &len, 4000))
		return 9;
	if (len != 600 || memcmp(got, frame, 600))
		return 10;
	testdev_e1000_close(e);
	return 0;
}

static void test_e1000(void **state)
{
	const char *slot = slot_of(0x8086, 0x100e);
	int rc = harness_wait(harness_fork_driver(&t.h, slot, e1000_driver, NULL));

	if (rc)
		fail_msg("e1000 test driver failed at step %d (1 open, 2 link, 3 MAC, "
			 "4 interrupt, 5 send, 6-7 peer got the frame, 8-10 receive)", rc);
}

static int nvme_driver(void *arg)
{
	struct testdev_nvme *n;
	static uint8_t want[64 << 10];
	uint64_t bus, blocks;
	uint32_t bs;
	char model[41];
	uint8_t *buf = ddekit_dma_alloc(sizeof(want), 4096, &bus);

	if (!buf || testdev_nvme_open(0, &n))
		return 1;
	if (testdev_nvme_info(n, &blocks, &bs, model) || bs != 512 || blocks != 4 * 2048)
		return 2;
	if (testdev_nvme_read(n, 0, 1, buf))
		return 3;
	read_image(t.nvme_img, 0, want, 512);
	if (memcmp(buf, want, 512))
		return 4;
	/* a 64 KiB read (PRP list) from the middle of the disk */
	if (testdev_nvme_read(n, 4000, 128, buf))
		return 5;
	read_image(t.nvme_img, 4000 * 512, want, sizeof(want));
	if (memcmp(buf, want, sizeof(want)))
		return 6;
	if (testdev_nvme_irq_count(n) == 0)
		return 7;
	testdev_nvme_close(n);
	return 0;
}

static void test_nvme(void **state)
{
	int rc = harness_wait(harness_fork_driver(&t.h, slot_of(0x1b36, 0x0010), nvme_driver, NULL));

	if (rc)
		fail_msg("NVMe test driver failed at step %d (1 open, 2 identify, 3-4 sector 0, "
			 "5-6 64 KiB read, 7 no interrupt)", rc);
}

static int ahci_driver(void *arg)
{
	struct testdev_ahci *a;
	static uint8_t want[8192];
	uint64_t bus, sectors;
	char model[41];
	uint8_t *buf = ddekit_dma_alloc(sizeof(want), 4096, &bus);

	if (!buf || testdev_ahci_open(0, &a))
		return 1;
	if (testdev_ahci_identify(a, &sectors, model) || sectors != 4 * 2048)
		return 2;
	if (testdev_ahci_read(a, 0, 1, buf))
		return 3;
	read_image(t.ahci_img, 0, want, 512);
	if (memcmp(buf, want, 512))
		return 4;
	if (testdev_ahci_read(a, 777, 16, buf))
		return 5;
	read_image(t.ahci_img, 777 * 512, want, sizeof(want));
	if (memcmp(buf, want, sizeof(want)))
		return 6;
	if (testdev_ahci_irq_count(a) == 0)
		return 7;
	testdev_ahci_close(a);
	return 0;
}

static void test_ahci(void **state)
{
	int rc = harness_wait(harness_fork_driver(&t.h, slot_of(0x8086, 0x2922), ahci_driver, NULL));

	if (rc)
		fail_msg("AHCI test driver failed at step %d (1 open, 2 identify, 3-4 sector 0, "
			 "5-6 8 KiB read, 7 no interrupt)", rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e1000),
		cmocka_unit_test(test_nvme),
		cmocka_unit_test(test_ahci),
	};

	return cmocka_run_group_tests_name("devices", tests, setup, teardown);
}
