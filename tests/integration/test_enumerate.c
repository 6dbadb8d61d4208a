/*
 * Enumeration on both chipsets: every device model we support is found with
 * the right vendor/device/class, BAR kinds and sizes, BARs assigned without
 * overlap and naturally aligned, and an interrupt line routed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

struct expect {
	uint16_t vendor, device;
	uint32_t class_code;
	struct { uint8_t kind; uint64_t size; } bar[6];
	bool irq;
};

static const struct expect e1000 = { 0x8086, 0x100e, 0x020000,
	{ { DDEIO_RES_MEM32, 128 << 10 }, { DDEIO_RES_IO, 64 } }, true };
static const struct expect rtl8139 = { 0x10ec, 0x8139, 0x020000,
	{ { DDEIO_RES_IO, 256 }, { DDEIO_RES_MEM32, 256 } }, true };
static const struct expect ne2k = { 0x10ec, 0x8029, 0x020000,
	{ { DDEIO_RES_IO, 256 } }, true };
static const struct expect nvme = { 0x1b36, 0x0010, 0x010802,
	{ { DDEIO_RES_MEM64, 16 << 10 } }, true };
static const struct expect ahci = { 0x8086, 0x2922, 0x010601,
	{ [4] = { DDEIO_RES_IO, 32 }, [5] = { DDEIO_RES_MEM32, 4 << 10 } }, true };
static const struct expect piix_ide = { 0x8086, 0x7010, 0x010180,
	{ [4] = { DDEIO_RES_IO, 16 } }, false };

static char img[3][128];

static int setup(void **state)
{
	for (int i = 0; i < 3; i++)
		if (harness_image(img[i], sizeof(img[i]), 1, (unsigned)i))
			return -1;
	return 0;
}

static int teardown(void **state)
{
	for (int i = 0; i < 3; i++)
		unlink(img[i]);
	return 0;
}

static void check_device(const struct ddeio_device *devs, int n, const struct expect *e)
{
	const struct ddeio_device *d = harness_find(devs, n, e->vendor, e->device);

	if (!d)
		fail_msg("device %04x:%04x not found", e->vendor, e->device);
	assert_int_equal(d->class_code, e->class_code);
	for (unsigned b = 0; b < 6; b++) {
		if (d->bar[b].kind != e->bar[b].kind)
			fail_msg("%04x:%04x BAR%u kind %u, want %u", e->vendor, e->device, b,
				 d->bar[b].kind, e->bar[b].kind);
		assert_int_equal(d->bar[b].size, e->bar[b].size);
		if (d->bar[b].kind != DDEIO_RES_NONE) {
			assert_int_not_equal(d->bar[b].start, 0);
			assert_int_equal(d->bar[b].start % d->bar[b].size, 0);
		}
	}
	if (e->irq)
		assert_true(d->irq != DDEIO_IRQ_NONE && d->irq >= 5 && d->irq < 24);
}

/* No two assigned ranges of the same kind may overlap. */
static void check_no_overlap(const struct ddeio_device *devs, int n)
{
	for (int i = 0; i < n; i++)
		for (int a = 0; a < 6; a++)
			for (int j = 0; j < n; j++)
				for (int b = 0; b < 6; b++) {
					const struct ddeio_res *x = &devs[i].bar[a], *y = &devs[j].bar[b];

					if ((i == j && a == b) || x->kind == DDEIO_RES_NONE ||
					    y->kind == DDEIO_RES_NONE ||
					    (x->kind == DDEIO_RES_IO) != (y->kind == DDEIO_RES_IO))
						continue;
					if (x->start < y->start + y->size && y->start < x->start + x->size)
						fail_msg("BARs overlap: %s BAR%d and %s BAR%d",
							 harness_slot(&devs[i]), a, harness_slot(&devs[j]), b);
				}
}

static void enumerate(const char *machine, bool pc)
{
	char d0[160], d1[160], d2[160];
	const char *args[24];
	int k = 0;
	struct harness h;
	struct ddeio_device devs[64];
	int n;

	snprintf(d0, sizeof(d0), "nvme:%s", img[0]);
	snprintf(d1, sizeof(d1), "ahci:%s", img[1]);
	snprintf(d2, sizeof(d2), "ide:%s", img[2]);
	args[k++] = "--machine";
	args[k++] = machine;
	args[k++] = "--disk";
	args[k++] = d0;
	args[k++] = "--disk";
	args[k++] = d1;
	if (pc) {
		args[k++] = "--disk";
		args[k++] = d2;
	}
	args[k++] = "--nic";
	args[k++] = "e1000";
	args[k++] = "--nic";
	args[k++] = "rtl8139";
	args[k++] = "--nic";
	args[k++] = "ne2k_pci";
	args[k] = NULL;
	assert_int_equal(harness_start(&h, args), 0);
	n = harness_list(&h, devs, 64);
	harness_stop(&h);
	assert_true(n >= 6);
	check_device(devs, n, &e1000);
	check_device(devs, n, &rtl8139);
	check_device(devs, n, &ne2k);
	check_device(devs, n, &nvme);
	check_device(devs, n, &ahci);
	check_no_overlap(devs, n);
	if (pc) {
		const struct ddeio_device *ide;

		check_device(devs, n, &piix_ide);
		ide = harness_find(devs, n, 0x8086, 0x7010);
		assert_int_equal(ide->legacy[0].start, 0x1f0);
		assert_int_equal(ide->legacy_irq[0], 14);
		assert_int_equal(ide->legacy_irq[1], 15);
		/* the host bridge is the i440FX */
		assert_non_null(harness_find(devs, n, 0x8086, 0x1237));
	} else {
		assert_non_null(harness_find(devs, n, 0x8086, 0x29c0));
		/* q35's built-in AHCI sits at 00:1f.2 */
		assert_string_equal(harness_slot(harness_find(devs, n, 0x8086, 0x2922)), "00:1f.2");
	}
}

static void test_q35(void **state)
{
	enumerate("q35", false);
}

static void test_pc(void **state)
{
	enumerate("pc", true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_q35),
		cmocka_unit_test(test_pc),
	};

	return cmocka_run_group_tests_name("enumerate", tests, setup, teardown);
}
