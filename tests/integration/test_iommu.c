/*
 * The IOMMU confines devices: a driver that programs its NVMe controller
 * to write into another driver's DMA region, into low memory (where the
 * IOMMU's own tables are) or to an address with no memory changes nothing
 * there (checked in QEMU's RAM memfds, read through /proc), its command
 * fails, ddeio reports the blocked DMA naming the device and the driver,
 * and stops the driver. The same read into its own region works, and
 * with --iommu off the attack on the other region does land, so the test
 * is able to see one that is not blocked. An e1000 whose transmit
 * descriptor points into the other driver's region (a frame that would
 * carry that memory out) has its read blocked and reported the same way.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../drivers/selftest/testdev.h"
#include "harness.h"

#define LOW_TABLES 0x800000ull		/* the IOMMU's tables (platform/qemu/qemu.h) */
#define NO_MEMORY 0x7ff00000ull		/* above RAM, below the PCI hole */
#define VICTIM_OFF 0x10000ull		/* where in the victim's region */

struct attack {
	uint64_t bus;		/* where the NVMe is told to write; 0: its own DMA memory */
	uint8_t *expect;	/* own memory: the block the image has there */
};

static char image[PATH_MAX];
static uint8_t block0[512];

static int attacker(void *arg)
{
	struct attack *a = arg;
	struct testdev_nvme *n;
	uint64_t bus;
	uint8_t *own = NULL;
	int r;

	if (testdev_nvme_open(0, &n))
		return 10;
	if (!a->bus) {
		own = ddekit_dma_alloc(4096, 4096, &bus);
		if (!own)
			return 11;
		memset(own, 0, 512);
	} else {
		bus = a->bus;
	}
	r = testdev_nvme_read_to_bus(n, 0, bus);
	if (own && !r && memcmp(own, block0, 512))
		r = 12;		/* it worked, but the data is not the image's */
	testdev_nvme_close(n);
	return r == 0 ? 0 : r == -EIO ? 1 : 13;
}

/* QEMU's memfd of RAM node @node (dde-ramN), opened through /proc */
static int ram_fd(pid_t qemu, unsigned node)
{
	char dir[64], path[PATH_MAX], target[PATH_MAX], want[32];
	struct dirent *e;
	DIR *d;
	int fd = -1;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)qemu);
	snprintf(want, sizeof(want), "/memfd:dde-ram%u ", node);
	d = opendir(dir);
	if (!d)
		return -1;
	while (fd < 0 && (e = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strncmp(target, want, strlen(want)))
			fd = open(path, O_RDWR | O_CLOEXEC);
	}
	closedir(d);
	return fd;
}

static uint8_t *read_ram(int fd, size_t size)
{
	uint8_t *buf = malloc(size);

	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, size, 0), (ssize_t)size);
	return buf;
}

/* the log has a line with every one of the NULL-terminated @words */
static bool logged(const char *log, ...)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(log, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		va_list ap;
		const char *w;

		found = true;
		va_start(ap, log);
		while ((w = va_arg(ap, const char *)))
			found &= strstr(line, w) != NULL;
		va_end(ap);
	}
	fclose(f);
	return found;
}

static void wait_logged(const char *log, const char *a, const char *b)
{
	for (int i = 0; i < 100 && !logged(log, a, b, NULL); i++)
		usleep(20000);
}

struct machine {
	struct harness h;
	char log[64];
	const char *nvme, *e1000, *e1000b;	/* e1000: the victim's; e1000b: an attacker's */
	pid_t victim, qemu;
	int low, vic;		/* RAM memfds: low memory, the victim's region */
};

static int victim(void *arg)
{
	(void)arg;
	pause();	/* holds its device and region until killed */
	return 0;
}

static void machine_start(struct machine *m, const char *iommu)
{
	char disk[PATH_MAX + 16];
	const char *args[] = { "--disk", disk, "--nic", "e1000,net=none", "--nic", "e1000,net=none",
			       "--iommu", iommu, NULL };
	static struct ddeio_device devs[16];
	int n;

	snprintf(disk, sizeof(disk), "nvme:%s", image);
	snprintf(m->log, sizeof(m->log), "/tmp/dde-test-iommu-%d.log", (int)getpid());
	assert_int_equal(harness_start_logged(&m->h, args, m->log), 0);
	n = harness_list(&m->h, devs, 16);
	m->nvme = harness_slot(harness_find(devs, n, 0x1b36, 0x0010));
	m->e1000 = harness_slot(harness_find(devs, n, 0x8086, 0x100e));
	for (int i = n - 1; i >= 0; i--)	/* the second e1000 */
		if (devs[i].vendor == 0x8086 && devs[i].device == 0x100e && !m->e1000b)
			m->e1000b = harness_slot(&devs[i]);
	/* the victim first: DMA region 1 */
	m->victim = harness_fork_driver(&m->h, m->e1000, victim, NULL);
	wait_logged(m->log, "granted", m->e1000);
	m->qemu = harness_qemu_pid(&m->h);
	m->low = ram_fd(m->qemu, 0);
	m->vic = ram_fd(m->qemu, 1);
	assert_true(m->low >= 0 && m->vic >= 0);
}

static struct machine the_machine;

/* teardown: also after a failed assertion; the log is shown on failure */
static int machine_stop(void **state)
{
	struct machine *m = &the_machine;
	char line[1024];
	FILE *f;

	(void)state;
	if (m->victim > 0) {
		kill(m->victim, SIGKILL);
		harness_wait(m->victim);
	}
	if (m->low >= 0)
		close(m->low);
	if (m->vic >= 0)
		close(m->vic);
	harness_stop(&m->h);
	if (getenv("DDE_TEST_VERBOSE") && (f = fopen(m->log, "r"))) {
		while (fgets(line, sizeof(line), f))
			fprintf(stderr, "    ddeio: %s", line);
		fclose(f);
	}
	unlink(m->log);
	memset(m, 0, sizeof(*m));
	m->low = m->vic = -1;
	return 0;
}

/* Run one attacker to its end; its exit status. */
static int attack(struct machine *m, uint64_t bus)
{
	struct attack a = { .bus = bus };

	return harness_wait(harness_fork_driver(&m->h, m->nvme, attacker, &a));
}

/*
 * An attack the IOMMU blocks: the command completes, with an error or
 * without (QEMU's nvme does not always learn that its write went nowhere),
 * and ddeio reports the write at @bus by the NVMe, naming the driver.
 */
static void blocked(struct machine *m, uint64_t bus)
{
	char addr[32];
	int r = attack(m, bus);

	assert_true(r == 0 || r == 1);
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)bus);
	wait_logged(m->log, "IOMMU: blocked a DMA write", addr);
	assert_true(logged(m->log, "IOMMU: blocked a DMA write", addr, m->nvme, "'test-driver'",
			   "stopping the driver", NULL));
}

static void test_blocked(void **state)
{
	struct machine *mp = &the_machine;
#define m (*mp)
	uint8_t *low0, *vic0, *low1, *vic1;
	const size_t vsize = 64u << 20, lsize = 16u << 20;

	(void)state;
	machine_start(&m, "on");
	/* a pattern in the victim's region that the image does not have */
	uint8_t *fill = malloc(vsize);

	memset(fill, 0x5a, vsize);
	assert_int_equal(pwrite(m.vic, fill, vsize, 0), (ssize_t)vsize);
	free(fill);
	low0 = read_ram(m.low, lsize);
	vic0 = read_ram(m.vic, vsize);

	/* into the other driver's region (region 1 starts at 16 MiB) */
	blocked(&m, (16u << 20) + VICTIM_OFF);
	/* into the IOMMU's own tables in low memory */
	blocked(&m, LOW_TABLES);
	/* where no memory is */
	blocked(&m, NO_MEMORY);

	low1 = read_ram(m.low, lsize);
	vic1 = read_ram(m.vic, vsize);
	assert_memory_equal(vic0, vic1, vsize);
	assert_memory_equal(low0, low1, lsize);
	/* the same read into its own DMA memory: the device works */
	assert_int_equal(attack(&m, 0), 0);
	free(low0);
	free(vic0);
	free(low1);
	free(vic1);
#undef m
}

static int e1000_attacker(void *arg)
{
	struct testdev_e1000 *e;
	int r;

	if (testdev_e1000_open(0, &e))
		return 10;
	r = testdev_e1000_send_bus(e, *(uint64_t *)arg, 60);
	testdev_e1000_close(e);
	return r == 0 || r == -ETIMEDOUT ? 0 : 11;
}

/* An e1000 told to send a frame out of the other driver's region. */
static void test_e1000_blocked(void **state)
{
	struct machine *mp = &the_machine;
	uint64_t bus = (16u << 20) + VICTIM_OFF;
	char addr[32];

	(void)state;
	machine_start(mp, "on");
	assert_non_null(mp->e1000b);
	assert_true(strcmp(mp->e1000b, mp->e1000) != 0);
	assert_int_equal(harness_wait(harness_fork_driver(&mp->h, mp->e1000b, e1000_attacker, &bus)),
			 0);
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)bus);
	wait_logged(mp->log, "IOMMU: blocked a DMA read", addr);
	assert_true(logged(mp->log, "IOMMU: blocked a DMA read", addr, mp->e1000b, "'test-driver'",
			   "stopping the driver", NULL));
}

/* Without the IOMMU the same write lands: the attack is real. */
static void test_off_lands(void **state)
{
	struct machine *mp = &the_machine;
#define m (*mp)
	uint8_t got[512], fill[512];

	(void)state;
	machine_start(&m, "off");
	memset(fill, 0x5a, sizeof(fill));
	assert_int_equal(pwrite(m.vic, fill, sizeof(fill), VICTIM_OFF), 512);
	assert_int_equal(attack(&m, (16u << 20) + VICTIM_OFF), 0);
	assert_int_equal(pread(m.vic, got, sizeof(got), VICTIM_OFF), 512);
	assert_memory_equal(got, block0, 512);
	assert_false(logged(m.log, "IOMMU", NULL));
#undef m
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_blocked, machine_stop),
		cmocka_unit_test_teardown(test_off_lands, machine_stop),
		cmocka_unit_test_teardown(test_e1000_blocked, machine_stop),
	};
	int fd, rc;

	if (harness_image(image, sizeof(image), 4, 7))
		return 1;
	fd = open(image, O_RDONLY);
	if (fd < 0 || pread(fd, block0, sizeof(block0), 0) != sizeof(block0))
		return 1;
	close(fd);
	the_machine.low = the_machine.vic = -1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(image);
	return rc;
}
