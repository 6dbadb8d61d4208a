/*
 * Access control: a driver that reaches for what is not its own (another
 * device's BAR, config space, ports, DMA memory or interrupt; a device
 * already granted) gets a clear refusal naming the driver, the device and
 * the resource, and the I/O server keeps serving a second driver all along.
 * Malformed messages cost only the sender its connection; a refused
 * posted write stops the driver that made it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../ddekit/client.h"
#include "../../drivers/selftest/testdev.h"
#include "harness.h"

static struct {
	struct harness h;
	char img[128];
	struct ddeio_device devs[64];
	int ndev;
	const struct ddeio_device *e1000, *nvme, *ahci;
} t;

static int setup(void **state)
{
	char d0[160];

	if (harness_image(t.img, sizeof(t.img), 2, 7))
		return -1;
	snprintf(d0, sizeof(d0), "nvme:%s", t.img);
	const char *args[] = { "--nic", "e1000", "--disk", d0, NULL };

	if (harness_start(&t.h, args))
		return -1;
	t.ndev = harness_list(&t.h, t.devs, 64);
	t.e1000 = harness_find(t.devs, t.ndev, 0x8086, 0x100e);
	t.nvme = harness_find(t.devs, t.ndev, 0x1b36, 0x0010);
	t.ahci = harness_find(t.devs, t.ndev, 0x8086, 0x2922);
	return t.e1000 && t.nvme && t.ahci ? 0 : -1;
}

static int teardown(void **state)
{
	harness_stop(&t.h);
	unlink(t.img);
	return 0;
}

/* The second driver: NVMe reads, checked, until told to stop via a pipe. */
static int nvme_reader(void *arg)
{
	int stop_fd = *(int *)arg;
	struct testdev_nvme *n;
	uint64_t bus;
	uint8_t *buf = ddekit_dma_alloc(4096, 4096, &bus), want[4096];
	FILE *f = fopen(t.img, "rb");
	unsigned reads = 0;
	char c;

	if (!buf || !f || testdev_nvme_open(0, &n) || fread(want, 1, 4096, f) != 4096)
		return 1;
	fclose(f);
	/* keep going while the other driver misbehaves, and at least 50 times */
	while (reads < 50 || read(stop_fd, &c, 1) != 1) {
		memset(buf, 0, 4096);
		if (testdev_nvme_read(n, 0, 8, buf) || memcmp(buf, want, 4096))
			return 2;
		reads++;
	}
	testdev_nvme_close(n);
	return 0;
}

static int expect(int rc, int want, const char *must_contain, int step)
{
	if (rc != want) {
		fprintf(stderr, "step %d: got %d, want %d (%s)\n", step, rc, want, ddekit_last_error());
		return step;
	}
	if (must_contain && !strstr(ddekit_last_error(), must_contain)) {
		fprintf(stderr, "step %d: message '%s' lacks '%s'\n", step, ddekit_last_error(),
			must_contain);
		return step;
	}
	return 0;
}

/* The misbehaving driver holds the e1000 and reaches for everything else. */
static int intruder(void *arg)
{
	struct ddeio_msg m;
	char slot[16];
	int r;

	snprintf(slot, sizeof(slot), "%s", harness_slot(t.nvme));
	/* another device's BAR */
	m = (struct ddeio_msg){ .op = DDEIO_OP_MMIO_READ, .addr = t.nvme->bar[0].start, .size = 4 };
	if ((r = expect(ddeio_call(&m, NULL, 0, NULL, NULL), -EACCES, "test-driver", 1)) ||
	    (r = expect(0, 0, slot, 2)) || (r = expect(0, 0, "BAR0", 3)))
		return r;
	/* an ungranted port: the AHCI's I/O BAR, and the PCI config ports */
	uint32_t v;

	if ((r = expect(ddekit_pio_read((uint16_t)t.ahci->bar[4].start, 4, &v), -EACCES,
			"I/O port", 4)) ||
	    (r = expect(ddekit_pio_read(0xcf8, 4, &v), -EACCES, "0xcf8", 5)))
		return r;
	/* another device's config space (device #1 does not exist in our grant) */
	if ((r = expect(ddekit_pci_config_read(1, 0, 4, &v), -EACCES, "config space", 6)))
		return r;
	/* our own config space works; BARs in it are the platform's */
	if ((r = expect(ddekit_pci_config_read(0, 0, 4, &v), 0, NULL, 7)) || v != 0x100e8086)
		return 7;
	if ((r = expect(ddekit_pci_config_write(0, 0x10, 4, 0xc0000000), -EPERM, "BAR", 8)))
		return r;
	/* DMA memory that is not ours: the low memory, and beyond our region */
	void *virt;
	uint64_t bus;
	size_t size;

	ddekit_dma_region(&virt, &bus, &size);
	m = (struct ddeio_msg){ .op = DDEIO_OP_MEM_READ, .addr = bus + size, .size = 64 };
	if ((r = expect(ddeio_call(&m, NULL, 0, NULL, NULL), -EACCES, "DMA memory", 9)))
		return r;
	m = (struct ddeio_msg){ .op = DDEIO_OP_MEM_READ, .addr = 0x100000, .size = 64 };
	if ((r = expect(ddeio_call(&m, NULL, 0, NULL, NULL), -EACCES, "memory", 10)))
		return r;
	/* and our own DMA memory is readable through the slow path */
	((char *)virt)[0] = 0x5a;
	char back[64];
	size_t blen = sizeof(back);

	m = (struct ddeio_msg){ .op = DDEIO_OP_MEM_READ, .addr = bus, .size = 64 };
	if ((r = expect(ddeio_call(&m, NULL, 0, back, &blen), 0, NULL, 11)) || back[0] != 0x5a)
		return 11;
	/* the NVMe's interrupt line is not ours */
	if (t.nvme->irq != t.e1000->irq &&
	    (r = expect(ddekit_irq_attach(t.nvme->irq, NULL, NULL), -EACCES, NULL, 12)))
		return r;
	m = (struct ddeio_msg){ .op = DDEIO_OP_IRQ_UNMASK, .addr = t.nvme->irq };
	if (t.nvme->irq != t.e1000->irq &&
	    (r = expect(ddeio_call(&m, NULL, 0, NULL, NULL), -EACCES, "interrupt line", 13)))
		return r;
	/* string port I/O: checked like single accesses */
	uint32_t words[8];

	if ((r = expect(ddekit_pio_read_rep((uint16_t)t.ahci->bar[4].start, 4, words, 8),
			-EACCES, "I/O port", 14)))
		return r;
	m = (struct ddeio_msg){ .op = DDEIO_OP_PIO_READ_REP, .addr = 0xcf8, .size = 4,
				.value = DDEIO_MAX_PAYLOAD };
	if ((r = expect(ddeio_call(&m, NULL, 0, NULL, NULL), -EINVAL, "string port", 15)))
		return r;
	/* (they work on granted ports: test_trap's rep ins/outs on the rtl8139) */
	return 0;
}

static void test_refusals_while_other_driver_runs(void **state)
{
	int stop[2];

	assert_int_equal(pipe(stop), 0);
	pid_t reader = harness_fork_driver(&t.h, harness_slot(t.nvme), nvme_reader, &stop[0]);
	int rc = harness_wait(harness_fork_driver(&t.h, harness_slot(t.e1000), intruder, NULL));

	assert_int_equal(write(stop[1], "x", 1), 1);
	int reader_rc = harness_wait(reader);

	close(stop[0]);
	close(stop[1]);
	if (rc)
		fail_msg("intruder: step %d was not refused as expected (see above)", rc);
	assert_int_equal(reader_rc, 0);
}

/* Claims that must fail at hello. */
static int claim_taken(void *arg)
{
	return 0;
}

static void test_claims(void **state)
{
	int stop[2];

	assert_int_equal(pipe(stop), 0);
	pid_t holder = harness_fork_driver(&t.h, harness_slot(t.nvme), nvme_reader, &stop[0]);

	usleep(300000);	/* let it claim */
	/* same device again: refused, naming who holds it */
	assert_int_equal(ddeio_connect(t.h.socket, "second", &t.nvme->bdf, 1), -EBUSY);
	assert_non_null(strstr(ddekit_last_error(), "already granted to"));
	/* a slot with no device */
	uint32_t none = DDEIO_BDF(0, 17, 0);

	assert_int_equal(ddeio_connect(t.h.socket, "third", &none, 1), -ENODEV);
	assert_non_null(strstr(ddekit_last_error(), "00:11.0"));
	/* a bridge */
	uint32_t host = DDEIO_BDF(0, 0, 0);

	assert_int_equal(ddeio_connect(t.h.socket, "fourth", &host, 1), -EPERM);
	assert_int_equal(write(stop[1], "x", 1), 1);
	assert_int_equal(harness_wait(holder), 0);
	close(stop[0]);
	close(stop[1]);
	(void)claim_taken;
}

/* Garbage on the socket costs the sender its connection, nobody else anything. */
static void test_malformed_messages(void **state)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *name = t.h.socket + 1;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	char junk[64];
	int fd;

	memcpy(a.sun_path + 1, name, strlen(name));
	for (int round = 0; round < 3; round++) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&a, len), 0);
		memset(junk, round * 0x55, sizeof(junk));
		/* too short; then op before hello; then a hello of the wrong size */
		size_t n = round == 0 ? 3 : sizeof(junk);

		if (round == 2)
			((struct ddeio_msg *)junk)->op = DDEIO_OP_HELLO;
		assert_int_equal(send(fd, junk, n, 0), (ssize_t)n);
		char buf[256];
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		/* either dropped (0) or refused with a reason */
		assert_true(r == 0 || (r >= (ssize_t)sizeof(struct ddeio_msg) &&
				       ((struct ddeio_msg *)buf)->status < 0));
		close(fd);
	}
	/* the server still serves: a real driver works */
	int stop[2];

	assert_int_equal(pipe(stop), 0);
	assert_int_equal(write(stop[1], "x", 1), 1);
	assert_int_equal(harness_wait(harness_fork_driver(&t.h, harness_slot(t.nvme), nvme_reader,
							  &stop[0])), 0);
	close(stop[0]);
	close(stop[1]);
}

static int wild_write(void *arg)
{
	struct ddeio_msg m = { .op = DDEIO_OP_MMIO_WRITE, .addr = t.nvme->bar[0].start + 0x14,
			       .size = 4, .value = 0 };

	ddeio_post(&m);
	sleep(5);	/* the refusal event must stop us long before */
	return 0;
}

static void test_refused_posted_write_stops_driver(void **state)
{
	int rc = harness_wait(harness_fork_driver(&t.h, harness_slot(t.e1000), wild_write, NULL));

	assert_int_equal(rc, 128 + SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals_while_other_driver_runs),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_malformed_messages),
		cmocka_unit_test(test_refused_posted_write_stops_driver),
	};

	return cmocka_run_group_tests_name("access", tests, setup, teardown);
}
