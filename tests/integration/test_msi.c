/*
 * MSI and MSI-X reach drivers: an NVMe driver gets two MSI-X vectors and
 * each queue's completions come on its own vector, one message per
 * command, counted; an e1000e's MSI brings a message per cause the
 * driver sets, and none for a masked one; a device without MSI (QEMU's e1000) and a machine with
 * --msi off leave the driver its INTx line, which works. The capability
 * and the MSI-X table are the I/O server's: a driver's writes to them are
 * refused. A second driver of the same device gets fresh vectors that
 * work. With the IOMMU on, a device that DMAs to another device's MSI
 * doorbell is blocked and reported, like any DMA outside its region.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../ddekit/client.h"
#include "../../drivers/selftest/testdev.h"
#include "harness.h"

#define READS 16
#define CAUSES 20
#define ICR 0x00c0
#define ICS 0x00c8
#define IMS 0x00d0
#define IMC 0x00d8
#define CAUSE (1u << 16)	/* SRPD: QEMU raises it only for RSRPD, never set here */

static char image[PATH_MAX];
static uint8_t block[READS][512];

static struct {
	struct harness h;
	char log[64];
	const char *nvme, *e1000e, *e1000;
} t;

static void start(const char *msi)
{
	char disk[PATH_MAX + 16];
	const char *args[] = { "--disk", disk, "--nic", "e1000e,net=none", "--nic", "e1000,net=none",
			       "--msi", msi, NULL };
	static struct ddeio_device devs[16];
	int n;

	snprintf(disk, sizeof(disk), "nvme:%s", image);
	snprintf(t.log, sizeof(t.log), "/tmp/dde-test-msi-%d.log", (int)getpid());
	assert_int_equal(harness_start_logged(&t.h, args, t.log), 0);
	n = harness_list(&t.h, devs, 16);
	t.nvme = harness_slot(harness_find(devs, n, 0x1b36, 0x0010));
	t.e1000e = harness_slot(harness_find(devs, n, 0x8086, 0x10d3));
	t.e1000 = harness_slot(harness_find(devs, n, 0x8086, 0x100e));
	assert_non_null(t.nvme);
	assert_non_null(t.e1000e);
	assert_non_null(t.e1000);
}

static int stop(void **state)
{
	char line[1024];
	FILE *f;

	(void)state;
	harness_stop(&t.h);
	if (getenv("DDE_TEST_VERBOSE") && (f = fopen(t.log, "r"))) {
		while (fgets(line, sizeof(line), f))
			fprintf(stderr, "    ddeio: %s", line);
		fclose(f);
	}
	unlink(t.log);
	return 0;
}

/* ddeio's log has @text */
static bool logged(const char *text)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(t.log, "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return found;
}

static int run(const char *slot, int (*fn)(void *), void *arg)
{
	return harness_wait(harness_fork_driver(&t.h, slot, fn, arg));
}

/* the child's complaint, on stderr: the parent shows only the code */
static int complain(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "    driver: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return code;
}

/* ---- NVMe: a vector per queue ---- */

static void settle(void)
{
	ddekit_thread_sleep_us(50000);	/* a late message would be counted by now */
}

static int nvme_vectors(void *arg)
{
	struct testdev_nvme *n;
	unsigned long admin, io;
	uint8_t *buf;
	uint64_t bus;
	int r;

	(void)arg;
	r = testdev_nvme_open_msix(0, &n);
	if (r)
		return complain(10, "open with MSI-X: %s", strerror(-r));
	settle();
	/* identify controller and namespace, create CQ and SQ: four admin commands */
	admin = testdev_nvme_vector_count(n, 0);
	io = testdev_nvme_vector_count(n, 1);
	if (admin != 4 || io != 0)
		return complain(11, "after 4 admin commands: admin vector %lu, I/O vector %lu", admin,
			    io);
	buf = ddekit_dma_alloc(4096, 4096, &bus);
	for (unsigned i = 0; buf && i < READS; i++) {
		if (testdev_nvme_read(n, i, 1, buf) || memcmp(buf, block[i], 512))
			return complain(12, "read %u failed or its data is not the image's", i);
	}
	settle();
	admin = testdev_nvme_vector_count(n, 0);
	io = testdev_nvme_vector_count(n, 1);
	testdev_nvme_close(n);
	if (admin != 4 || io != READS)
		return complain(13, "after %d reads: admin vector %lu (want 4), I/O vector %lu", READS,
			    admin, io);
	return 0;
}

static void test_nvme_msix(void **state)
{
	(void)state;
	start("on");
	assert_int_equal(run(t.nvme, nvme_vectors, NULL), 0);
	/* ddeio says which vectors went where */
	assert_true(logged("sends 2 MSI-X vector"));
	/* the device's next driver gets fresh vectors, and they work */
	assert_int_equal(run(t.nvme, nvme_vectors, NULL), 0);
}

/* ---- e1000e: MSI, a message per cause ---- */

struct e1000e_arg {
	struct ddekit_sem *sem;
	unsigned long count;
};

static void e1000e_handler(void *arg)
{
	struct e1000e_arg *a = arg;

	__atomic_fetch_add(&a->count, 1, __ATOMIC_RELAXED);
	ddekit_sem_up(a->sem);
}

static int e1000e_msi(void *arg)
{
	struct e1000e_arg a = { .sem = ddekit_sem_create(0) };
	volatile uint32_t *regs;
	enum ddekit_msi_kind used;
	unsigned first;
	size_t size;
	int n;

	(void)arg;
	regs = ddekit_mmio_map(0, 0, &size);
	if (!regs || !a.sem)
		return complain(20, "cannot map BAR0");
	n = ddekit_pci_msi_enable(0, DDEKIT_MSI_MSI, 1, 1, &first, &used);
	if (n != 1 || used != DDEKIT_MSI_MSI || first < DDEKIT_MSI_LINES)
		return complain(21, "MSI: %d vectors (%s)", n, n < 0 ? strerror(-n) : "");
	if (ddekit_irq_attach(first, e1000e_handler, &a))
		return complain(22, "attach vector %u: %s", first, ddekit_last_error());
	regs[IMC / 4] = ~0u;
	(void)regs[ICR / 4];
	regs[IMS / 4] = CAUSE;
	for (unsigned i = 0; i < CAUSES; i++) {
		regs[ICS / 4] = CAUSE;
		if (ddekit_sem_down(a.sem, 1000000))
			return complain(23, "no message for cause %u of %d", i + 1, CAUSES);
		if (!(regs[ICR / 4] & CAUSE))	/* reading clears it: the next is new */
			return complain(24, "the cause is not in ICR");
	}
	settle();
	/*
	 * At least one message per cause; QEMU's e1000e may send a cause's
	 * message twice (its interrupt throttling timer re-sends one it
	 * postponed), never more.
	 */
	unsigned long seen = a.count;

	if (seen < CAUSES || seen > 2 * CAUSES)
		return complain(25, "%d causes set, %lu messages", CAUSES, seen);
	/* a masked cause sends nothing */
	regs[IMC / 4] = ~0u;
	(void)regs[ICR / 4];
	regs[ICS / 4] = CAUSE;
	settle();
	if (a.count != seen)
		return complain(27, "a masked cause brought %lu messages", a.count - seen);
	return ddekit_pci_msi_disable(0) ? 26 : 0;
}

static void test_e1000e_msi(void **state)
{
	(void)state;
	start("on");
	assert_int_equal(run(t.e1000e, e1000e_msi, NULL), 0);
}

/* ---- INTx stays: no MSI on the device, or none on the machine ---- */

static int e1000_intx(void *arg)
{
	struct testdev_e1000 *e;
	unsigned first;
	uint64_t ns;
	int r = ddekit_pci_msi_enable(0, DDEKIT_MSI_ANY, 1, 1, &first, NULL);

	(void)arg;
	if (r != -ENODEV)
		return complain(30, "QEMU's e1000 has no MSI, yet: %d", r);
	if (testdev_e1000_open(0, &e))
		return complain(31, "open");
	r = testdev_e1000_irq_selftest(e, &ns);
	testdev_e1000_close(e);
	return r ? complain(32, "no INTx interrupt") : 0;
}

static int nvme_intx(void *arg)
{
	struct testdev_nvme *n;
	uint8_t *buf;
	uint64_t bus;
	int r = testdev_nvme_open_msix(0, &n);

	(void)arg;
	if (r != -EOPNOTSUPP)
		return complain(40, "--msi off, yet MSI-X: %d", r);
	if (testdev_nvme_open(0, &n))
		return complain(41, "open with INTx");
	buf = ddekit_dma_alloc(4096, 4096, &bus);
	r = !buf || testdev_nvme_read(n, 3, 1, buf) || memcmp(buf, block[3], 512);
	r = r || testdev_nvme_irq_count(n) < 5;
	testdev_nvme_close(n);
	return r ? complain(42, "INTx reads") : 0;
}

static void test_intx_fallback(void **state)
{
	(void)state;
	start("on");
	assert_int_equal(run(t.e1000, e1000_intx, NULL), 0);
	stop(NULL);
	start("off");
	assert_int_equal(run(t.nvme, nvme_intx, NULL), 0);
}

/* ---- the capability and the table are the I/O server's ---- */

static int owned(void *arg)
{
	const struct ddekit_pci_dev *d = ddekit_pci_device(0);
	uint32_t v, table, off;
	unsigned cap = 0;
	uint64_t addr;

	(void)arg;
	ddekit_pci_config_read(0, 0x34, 1, &off);
	while (off >= 0x40 && !cap) {
		ddekit_pci_config_read(0, off, 1, &v);
		if (v == 0x11)
			cap = off;
		ddekit_pci_config_read(0, off + 1, 1, &off);
	}
	if (!cap)
		return complain(50, "no MSI-X capability");
	if (ddekit_pci_config_write(0, cap + 2, 2, 0x8000) != -EPERM)
		return complain(51, "writing the MSI-X control word was not refused");
	ddekit_pci_config_read(0, cap + 4, 4, &table);
	addr = d->bar[table & 7].addr + (table & ~7u);
	struct ddeio_msg m = { .op = DDEIO_OP_MMIO_WRITE, .addr = addr, .size = 4,
			       .value = 0xfee00000 };

	if (ddeio_call(&m, NULL, 0, NULL, NULL) != -EPERM)
		return complain(52, "writing the MSI-X table was not refused");
	m = (struct ddeio_msg){ .op = DDEIO_OP_MMIO_READ, .addr = addr, .size = 4 };
	if (ddeio_call(&m, NULL, 0, NULL, NULL))
		return complain(53, "reading the MSI-X table was refused");
	return 0;
}

static void test_owned(void **state)
{
	(void)state;
	start("on");
	assert_int_equal(run(t.nvme, owned, NULL), 0);
	assert_true(logged("the MSI-X table is the I/O server's"));
}

/* ---- the IOMMU: a device reaches its own doorbell only ---- */

static int holder(void *arg)
{
	unsigned first;

	(void)arg;
	if (ddekit_pci_msi_enable(0, DDEKIT_MSI_MSI, 1, 1, &first, NULL) != 1)
		return 60;
	pause();	/* keeps its route until killed */
	return 0;
}

static int attacker(void *arg)
{
	struct testdev_nvme *n;
	int r;

	if (testdev_nvme_open(0, &n))
		return 70;
	r = testdev_nvme_read_to_bus(n, 0, *(uint64_t *)arg);
	testdev_nvme_close(n);
	return r == 0 || r == -EIO ? 0 : 71;
}

static void test_doorbell_confined(void **state)
{
	char cmd[256], text[64] = "";
	uint64_t doorbell = 0;
	pid_t h;
	FILE *p;

	(void)state;
	start("on");
	h = harness_fork_driver(&t.h, t.e1000e, holder, NULL);
	for (int i = 0; i < 100 && !doorbell; i++) {
		usleep(20000);
		snprintf(cmd, sizeof(cmd), "sed -n 's/.*%s sends 1 MSI vector(s) to \\(0x[0-9a-f]*\\).*/\\1/p' %s",
			 t.e1000e, t.log);
		p = popen(cmd, "r");
		if (p && fgets(text, sizeof(text), p))
			doorbell = strtoull(text, NULL, 16);
		if (p)
			pclose(p);
	}
	assert_true(doorbell != 0);
	doorbell &= ~0xfffull;
	/* the NVMe is told to write a block onto the e1000e's doorbell page */
	assert_int_equal(run(t.nvme, attacker, &doorbell), 0);
	snprintf(cmd, sizeof(cmd), "grep -q 'IOMMU: blocked a DMA write at 0x%llx by %s' %s",
		 (unsigned long long)doorbell, t.nvme, t.log);
	for (int i = 0; i < 50 && system(cmd); i++)
		usleep(20000);
	assert_int_equal(system(cmd), 0);
	kill(h, SIGKILL);
	harness_wait(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_nvme_msix, stop),
		cmocka_unit_test_teardown(test_e1000e_msi, stop),
		cmocka_unit_test_teardown(test_intx_fallback, stop),
		cmocka_unit_test_teardown(test_owned, stop),
		cmocka_unit_test_teardown(test_doorbell_confined, stop),
	};
	int fd, rc;

	if (harness_image(image, sizeof(image), 4, 11))
		return 1;
	fd = open(image, O_RDONLY);
	if (fd < 0 || pread(fd, block, sizeof(block), 0) != sizeof(block))
		return 1;
	close(fd);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(image);
	return rc;
}
