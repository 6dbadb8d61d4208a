/*
 * The disk stream readers `make bench` takes the AHCI and PIIX IDE
 * ceilings with (drivers/selftest: NCQ with 32 commands in flight, bus
 * master DMA one command at a time) read what is on the disk: every
 * command's data, checked as it arrives, equals the image file at its
 * offset; the stream wraps before the end of the disk (a chunk that does
 * not divide it), with 1 and 32 commands in flight, 4 KiB and 256 KiB
 * commands; every command is seen once; a bad chunk or depth is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../drivers/selftest/testdev.h"
#include "harness.h"

#define DISK_MIB 4
#define DISK (DISK_MIB << 20)

static struct {
	struct harness h;
	char img[128];
	uint8_t want[DISK];	/* the image, read before the drivers fork */
} t;

/* What a stream's checker saw (in the driver process). */
static struct {
	uint64_t bytes, commands, at_zero;
	uint64_t bad_offset;	/* the first command whose data differs */
	bool bad;
} seen;

static void check(void *arg, uint64_t offset, void *data, uint32_t bytes)
{
	if (!seen.bad && (offset + bytes > DISK || memcmp(data, t.want + offset, bytes))) {
		seen.bad = true;
		seen.bad_offset = offset;
	}
	seen.bytes += bytes;
	seen.commands++;
	seen.at_zero += offset == 0;
	/* a later command into this buffer that moved nothing shows */
	memset(data, 0xa5, bytes);
}

/*
 * One stream: @total bytes in @chunk commands, @depth in flight (0: the
 * IDE reader), all data checked. 0, or why not on stderr and -1.
 */
static int stream(void *dev, uint64_t total, uint32_t chunk, unsigned depth)
{
	uint64_t want_at_zero = total / ((DISK / chunk) * (uint64_t)chunk) +
				(total % ((DISK / chunk) * (uint64_t)chunk) != 0);
	int err;

	memset(&seen, 0, sizeof(seen));
	err = depth ? testdev_ahci_read_stream(dev, total, chunk, depth)
		    : testdev_ide_read_stream(dev, total, chunk);
	if (err) {
		fprintf(stderr, "stream of %llu bytes in %u-byte commands, depth %u: %s\n",
			(unsigned long long)total, chunk, depth, strerror(-err));
		return -1;
	}
	if (seen.bad) {
		fprintf(stderr, "%u-byte command at offset %llu: data differs from the image\n",
			chunk, (unsigned long long)seen.bad_offset);
		return -1;
	}
	if (seen.bytes != total || seen.commands != total / chunk ||
	    seen.at_zero != want_at_zero) {
		fprintf(stderr, "%u-byte commands: %llu bytes in %llu commands, %llu at offset 0 "
			"(want %llu, %llu, %llu)\n", chunk, (unsigned long long)seen.bytes,
			(unsigned long long)seen.commands, (unsigned long long)seen.at_zero,
			(unsigned long long)total, (unsigned long long)(total / chunk),
			(unsigned long long)want_at_zero);
		return -1;
	}
	return 0;
}

/* Runs as the AHCI driver; returns a step number on failure. */
static int ahci_driver(void *arg)
{
	struct testdev_ahci *a;
	uint64_t bus;
	uint8_t *buf = ddekit_dma_alloc(16 * 512, 4096, &bus);

	if (testdev_ahci_open(0, &a))
		return 1;
	testdev_ahci_stream_check(a, check, NULL);
	/* 192 KiB does not divide 4 MiB: the stream wraps before the end */
	if (stream(a, 3 * DISK, 192 << 10, 32))
		return 2;
	if (stream(a, DISK / 2, 4096, 32))
		return 3;
	if (stream(a, DISK + (1 << 20), 256 << 10, 1))
		return 4;
	if (testdev_ahci_read_stream(a, DISK, 3000, 32) != -EINVAL ||
	    testdev_ahci_read_stream(a, DISK, 4096, 33) != -EINVAL ||
	    testdev_ahci_read_stream(a, DISK, 512 << 10, 1) != -EINVAL)
		return 5;
	/* the interrupt-driven path works after a stream (slot 0, PxIE back) */
	if (!buf || testdev_ahci_read(a, 777, 16, buf) ||
	    memcmp(buf, t.want + 777 * 512, 16 * 512))
		return 6;
	testdev_ahci_close(a);
	return 0;
}

static int ide_driver(void *arg)
{
	struct testdev_ide *d;
	uint64_t sectors;
	char model[41];

	if (testdev_ide_open(0, &d))
		return 1;
	if (testdev_ide_identify(d, &sectors, model) || sectors != DISK / 512)
		return 2;
	testdev_ide_stream_check(d, check, NULL);
	if (stream(d, 32 * (192 << 10), 192 << 10, 0))
		return 3;
	if (stream(d, DISK / 4, 4096, 0))
		return 4;
	/* 256 KiB: four PRD entries of 64 KiB */
	if (stream(d, DISK + (1 << 20), 256 << 10, 0))
		return 5;
	if (testdev_ide_read_stream(d, DISK, 3000) != -EINVAL)
		return 6;
	testdev_ide_close(d);
	return 0;
}

/* Start a machine with the image as its disk of @kind; the controller's slot. */
static const char *machine(const char *machine, const char *kind, uint16_t device)
{
	static struct ddeio_device devs[64];
	const struct ddeio_device *d;
	char disk[160];
	int n;

	snprintf(disk, sizeof(disk), "%s:%s", kind, t.img);
	const char *args[] = { "--machine", machine, "--disk", disk, NULL };

	if (harness_start(&t.h, args))
		return NULL;
	n = harness_list(&t.h, devs, 64);
	d = harness_find(devs, n, 0x8086, device);
	return d ? harness_slot(d) : NULL;
}

static void test_ahci_ncq(void **state)
{
	const char *slot = machine("q35", "ahci", 0x2922);
	int rc;

	if (!slot) {
		harness_stop(&t.h);
		fail_msg("no q35 machine with an AHCI disk (8086:2922)");
	}
	rc = harness_wait(harness_fork_driver(&t.h, slot, ahci_driver, NULL));
	harness_stop(&t.h);
	if (rc)
		fail_msg("AHCI stream failed at step %d (1 open, 2 NCQ depth 32 wrapping, "
			 "3 4 KiB at depth 32, 4 depth 1, 5 bad arguments accepted, "
			 "6 a read by interrupt afterwards)", rc);
}

static void test_piix_bmdma(void **state)
{
	const char *slot = machine("pc", "ide", 0x7010);
	int rc;

	if (!slot) {
		harness_stop(&t.h);
		fail_msg("no pc machine with an IDE disk (8086:7010)");
	}
	rc = harness_wait(harness_fork_driver(&t.h, slot, ide_driver, NULL));
	harness_stop(&t.h);
	if (rc)
		fail_msg("PIIX IDE stream failed at step %d (1 open, 2 identify, "
			 "3 192 KiB wrapping, 4 4 KiB, 5 256 KiB, 6 bad chunk accepted)", rc);
}

static int setup(void **state)
{
	FILE *f;
	size_t n;

	if (harness_image(t.img, sizeof(t.img), DISK_MIB, 11))
		return -1;
	f = fopen(t.img, "rb");
	n = f ? fread(t.want, 1, DISK, f) : 0;
	if (f)
		fclose(f);
	return n == DISK ? 0 : -1;
}

static int teardown(void **state)
{
	harness_stop(&t.h);
	unlink(t.img);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ahci_ncq),
		cmocka_unit_test(test_piix_bmdma),
	};

	return cmocka_run_group_tests_name("disk stream", tests, setup, teardown);
}
