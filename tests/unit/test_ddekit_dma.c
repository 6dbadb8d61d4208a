/*
 * Unit tests for the DMA allocator in ddekit/memory.c, on a region set up
 * by hand with ddekit_dma_setup(): a 1 MiB aligned_alloc'ed buffer that
 * plays the RAM file, with a made-up bus address.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "child.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ddekit/ddekit.h>
#include "../../ddekit/client.h"

#define REGION_SIZE (1u << 20)
#define REGION_BUS 0x5000000ull

struct region {
	char *virt;
	uint64_t bus;
	size_t size;
};

static struct region reg;

/* The region is filled with junk so that zeroing is visible. */
static int region_setup_at(uint64_t bus, size_t size)
{
	reg.virt = aligned_alloc(REGION_SIZE, REGION_SIZE);
	if (!reg.virt)
		return -1;
	memset(reg.virt, 0xa5, REGION_SIZE);
	reg.bus = bus;
	reg.size = size;
	ddekit_dma_setup(reg.virt, bus, size, 0);
	ddekit_set_error("%s", "");
	return 0;
}

static int region_setup(void **state)
{
	(void)state;
	return region_setup_at(REGION_BUS, REGION_SIZE);
}

/* A bus address that is 4 KiB but not 64 KiB aligned (the buffer is 1 MiB aligned). */
static int region_setup_odd_bus(void **state)
{
	(void)state;
	return region_setup_at(REGION_BUS + 0x1040, REGION_SIZE);
}

/* A region whose size is not a multiple of the 64-byte granule. */
static int region_setup_small(void **state)
{
	(void)state;
	return region_setup_at(REGION_BUS, 1000);
}

static int region_teardown(void **state)
{
	(void)state;
	ddekit_dma_setup(NULL, 0, 0, 0);
	free(reg.virt);
	memset(&reg, 0, sizeof(reg));
	return 0;
}

static bool in_region(const void *p, size_t size)
{
	const char *c = p;

	return c >= reg.virt && c + size <= reg.virt + reg.size;
}

static bool all_bytes(const void *p, size_t n, unsigned char v)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != v)
			return false;
	return true;
}

/* Check a fresh allocation: in the region, translations agree, zeroed. */
static void check_alloc(const void *p, uint64_t bus, size_t size, size_t align)
{
	assert_non_null(p);
	assert_true(in_region(p, size));
	if (bus % (align < 64 ? 64 : align))
		fail_msg("bus 0x%llx not aligned to %zu", (unsigned long long)bus, align);
	assert_int_equal(bus - reg.bus, (const char *)p - reg.virt);
	assert_int_equal(ddekit_dma_virt_to_bus(p), bus);
	assert_ptr_equal(ddekit_dma_bus_to_virt(bus), p);
	assert_true(all_bytes(p, size, 0));
}

/* --- tests ---------------------------------------------------------------- */

static void test_region_reported(void **state)
{
	void *virt = NULL;
	uint64_t bus = 0;
	size_t size = 0;

	(void)state;
	ddekit_dma_region(&virt, &bus, &size);
	assert_ptr_equal(virt, reg.virt);
	assert_int_equal(bus, REGION_BUS);
	assert_int_equal(size, REGION_SIZE);
	/* any of the outputs may be NULL */
	ddekit_dma_region(NULL, &bus, NULL);
	assert_int_equal(bus, REGION_BUS);
	ddekit_dma_region(NULL, NULL, NULL);
}

static void test_alloc_zeroed(void **state)
{
	uint64_t bus = 0;
	char *p, *q;

	(void)state;
	p = ddekit_dma_alloc(1000, 64, &bus);
	check_alloc(p, bus, 1000, 64);
	memset(p, 0xff, 1000);
	ddekit_dma_free(p);
	/* the same space again, dirty: zeroed again */
	q = ddekit_dma_alloc(1000, 64, &bus);
	check_alloc(q, bus, 1000, 64);
	assert_ptr_equal(q, p);
	ddekit_dma_free(q);
	/* bus may be NULL */
	p = ddekit_dma_alloc(64, 64, NULL);
	assert_non_null(p);
	assert_true(all_bytes(p, 64, 0));
	ddekit_dma_free(p);
}

static void test_alignment(void **state)
{
	static const size_t aligns[] = { 1, 8, 64, 128, 4096, 65536, 64, 4096, 65536, 256 };
	static const size_t sizes[] = { 100, 1, 64, 65, 4096, 100, 3000, 5000, 10, 640 };
	void *p[10];

	(void)state;
	for (size_t i = 0; i < 10; i++) {
		uint64_t bus = 0;

		p[i] = ddekit_dma_alloc(sizes[i], aligns[i], &bus);
		check_alloc(p[i], bus, sizes[i], aligns[i]);
	}
	for (size_t i = 0; i < 10; i++)
		ddekit_dma_free(p[i]);
}

/* Alignment applies to the bus address, not to the offset or the pointer. */
static void test_alignment_is_on_bus_address(void **state)
{
	static const size_t aligns[] = { 64, 4096, 65536, 8192, 65536 };

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		uint64_t bus = 0;
		void *p = ddekit_dma_alloc(200, aligns[i], &bus);

		check_alloc(p, bus, 200, aligns[i]);
	}
}

static void test_bad_arguments(void **state)
{
	uint64_t bus = 0x1234;

	(void)state;
	assert_null(ddekit_dma_alloc(0, 64, &bus));		/* no size */
	assert_null(ddekit_dma_alloc(64, 100, &bus));		/* not a power of two */
	assert_null(ddekit_dma_alloc(64, 4096 + 64, &bus));
	assert_null(ddekit_dma_alloc(REGION_SIZE + 1, 64, &bus));
	assert_null(ddekit_dma_alloc(SIZE_MAX, 64, &bus));	/* must not wrap */
	assert_null(ddekit_dma_alloc(SIZE_MAX - 10, 64, &bus));
	assert_null(ddekit_dma_alloc(64, (size_t)1 << 63, &bus));
	/* the bus base is 16 MiB aligned: the first 32 MiB boundary is past the end */
	assert_null(ddekit_dma_alloc(64, (size_t)32 << 20, &bus));
	/* nothing was taken: the whole region is still free */
	void *p = ddekit_dma_alloc(REGION_SIZE, 64, &bus);

	check_alloc(p, bus, REGION_SIZE, 64);
	assert_ptr_equal(p, reg.virt);
	ddekit_dma_free(p);
	ddekit_dma_free(NULL);	/* allowed */
}

struct range {
	uint64_t bus;
	size_t size;
	unsigned char *p;
	unsigned char fill;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->bus < y->bus ? -1 : x->bus > y->bus;
}

static void test_no_overlap_until_exhausted(void **state)
{
	enum { MAX = 4096 };
	struct range *r = calloc(MAX, sizeof(*r));
	unsigned seed = 12345;
	size_t n = 0, used = 0;

	(void)state;
	assert_non_null(r);
	for (;;) {
		static const size_t aligns[] = { 64, 64, 256, 4096, 65536 };
		size_t size, align;
		uint64_t bus;
		void *p;

		seed = seed * 1103515245u + 12345u;
		size = 1 + (seed >> 8) % 9000;
		align = aligns[(seed >> 24) % 5];
		p = ddekit_dma_alloc(size, align, &bus);
		if (!p)
			break;
		assert_true(n < MAX);
		check_alloc(p, bus, size, align);
		r[n] = (struct range){ bus, size, p, (unsigned char)(n * 7 + 1) };
		memset(p, r[n].fill, size);
		used += size;
		n++;
	}
	assert_true(n > 20);
	assert_true(used > REGION_SIZE / 4);
	/* exhaustion is reported */
	assert_non_null(strstr(ddekit_last_error(), "exhausted"));

	/* pairwise disjoint ... */
	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 1; i < n; i++)
		if (r[i - 1].bus + r[i - 1].size > r[i].bus)
			fail_msg("[0x%llx +%zu) overlaps [0x%llx +%zu)",
				 (unsigned long long)r[i - 1].bus, r[i - 1].size,
				 (unsigned long long)r[i].bus, r[i].size);
	/* ... and nothing overwrote anything */
	for (size_t i = 0; i < n; i++)
		assert_true(all_bytes(r[i].p, r[i].size, r[i].fill));
	for (size_t i = 0; i < n; i++)
		ddekit_dma_free(r[i].p);
	free(r);

	/* all of it is free again */
	void *p = ddekit_dma_alloc(REGION_SIZE, 4096, NULL);

	assert_ptr_equal(p, reg.virt);
	ddekit_dma_free(p);
}

static void test_exhaustion_exact(void **state)
{
	enum { N = REGION_SIZE / 64 };
	char *p;
	uint64_t bus;

	(void)state;
	/* every 64-byte granule, in order, then nothing */
	for (size_t i = 0; i < N; i++) {
		p = ddekit_dma_alloc(1 + i % 64, 64, &bus);
		if (p != reg.virt + i * 64)
			fail_msg("allocation %zu at %p, want %p", i, (void *)p,
				 (void *)(reg.virt + i * 64));
		assert_int_equal(bus, REGION_BUS + i * 64);
	}
	ddekit_set_error("%s", "");
	assert_null(ddekit_dma_alloc(1, 64, &bus));
	assert_non_null(strstr(ddekit_last_error(), "exhausted"));
	/* free one in the middle: exactly that one comes back */
	ddekit_dma_free(reg.virt + 5000 * 64);
	p = ddekit_dma_alloc(64, 64, &bus);
	assert_ptr_equal(p, reg.virt + 5000 * 64);
	assert_int_equal(bus, REGION_BUS + 5000 * 64);
	assert_null(ddekit_dma_alloc(64, 64, &bus));
	/* give back the last ones (the teardown forgets the rest) */
	for (size_t i = N; i-- > N - 100;)
		ddekit_dma_free(reg.virt + i * 64);
	p = ddekit_dma_alloc(100 * 64, 64, &bus);
	assert_ptr_equal(p, reg.virt + (N - 100) * 64);
}

static void test_freed_space_reused(void **state)
{
	const size_t q = REGION_SIZE / 4;
	uint64_t bus_b, bus;
	char *a, *b, *c, *d, *e;

	(void)state;
	a = ddekit_dma_alloc(q, 4096, NULL);
	b = ddekit_dma_alloc(q, 4096, &bus_b);
	c = ddekit_dma_alloc(q, 4096, NULL);
	d = ddekit_dma_alloc(q, 4096, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(d);
	assert_null(ddekit_dma_alloc(64, 64, NULL));

	memset(b, 0x77, q);
	ddekit_dma_free(b);
	/* a bigger block does not fit in the hole */
	assert_null(ddekit_dma_alloc(q + 64, 64, NULL));
	e = ddekit_dma_alloc(q, 4096, &bus);
	assert_ptr_equal(e, b);
	assert_int_equal(bus, bus_b);
	assert_true(all_bytes(e, q, 0));

	/* two neighbouring holes make one */
	ddekit_dma_free(a);
	ddekit_dma_free(e);
	e = ddekit_dma_alloc(2 * q, 64, NULL);
	assert_ptr_equal(e, a);
	ddekit_dma_free(e);
	ddekit_dma_free(c);
	ddekit_dma_free(d);
}

static void test_many_blocks(void **state)
{
	/* more than the allocator's initial table of 64 */
	enum { N = 300 };
	char *p[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		uint64_t bus;

		p[i] = ddekit_dma_alloc(100, 64, &bus);
		check_alloc(p[i], bus, 100, 64);
		memset(p[i], i & 0xff, 100);
	}
	for (int i = 0; i < N; i += 2)
		ddekit_dma_free(p[i]);
	for (int i = 1; i < N; i += 2)
		assert_true(all_bytes(p[i], 100, (unsigned char)(i & 0xff)));
	/* the holes are 128 bytes: 100-byte blocks fill them again, in order */
	for (int i = 0; i < N; i += 2) {
		char *x = ddekit_dma_alloc(100, 64, NULL);

		assert_ptr_equal(x, p[i]);
	}
	for (int i = 0; i < N; i++)
		ddekit_dma_free(p[i]);
}

static void test_translation(void **state)
{
	static const size_t offs[] = { 0, 1, 63, 64, 4095, 65536, REGION_SIZE / 2, REGION_SIZE - 1 };

	(void)state;
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		assert_int_equal(ddekit_dma_virt_to_bus(reg.virt + offs[i]), REGION_BUS + offs[i]);
		assert_ptr_equal(ddekit_dma_bus_to_virt(REGION_BUS + offs[i]), reg.virt + offs[i]);
	}
	assert_string_equal(ddekit_last_error(), "");
}

static void test_translation_out_of_region(void **state)
{
	int on_stack;
	char want[64];

	(void)state;
	ddekit_set_error("%s", "");
	assert_int_equal(ddekit_dma_virt_to_bus(reg.virt + REGION_SIZE), 0);
	assert_true(strlen(ddekit_last_error()) > 0);

	ddekit_set_error("%s", "");
	assert_int_equal(ddekit_dma_virt_to_bus(reg.virt - 1), 0);
	assert_true(strlen(ddekit_last_error()) > 0);

	ddekit_set_error("%s", "");
	assert_int_equal(ddekit_dma_virt_to_bus(&on_stack), 0);
	assert_non_null(strstr(ddekit_last_error(), "DMA"));

	ddekit_set_error("%s", "");
	assert_int_equal(ddekit_dma_virt_to_bus(NULL), 0);
	assert_true(strlen(ddekit_last_error()) > 0);

	ddekit_set_error("%s", "");
	assert_null(ddekit_dma_bus_to_virt(REGION_BUS + REGION_SIZE));
	snprintf(want, sizeof(want), "0x%llx", (unsigned long long)(REGION_BUS + REGION_SIZE));
	assert_non_null(strstr(ddekit_last_error(), want));

	ddekit_set_error("%s", "");
	assert_null(ddekit_dma_bus_to_virt(REGION_BUS - 1));
	snprintf(want, sizeof(want), "0x%llx", (unsigned long long)(REGION_BUS - 1));
	assert_non_null(strstr(ddekit_last_error(), want));

	ddekit_set_error("%s", "");
	assert_null(ddekit_dma_bus_to_virt(0));
	assert_true(strlen(ddekit_last_error()) > 0);
	assert_null(ddekit_dma_bus_to_virt(UINT64_MAX));
}

/* Before any region exists (or after it is gone) nothing translates or allocates. */
static void test_no_region(void **state)
{
	void *virt = (void *)1;
	uint64_t bus = 1;
	size_t size = 1;
	char *old = reg.virt;

	(void)state;
	ddekit_dma_setup(NULL, 0, 0, 0);
	ddekit_dma_region(&virt, &bus, &size);
	assert_null(virt);
	assert_int_equal(bus, 0);
	assert_int_equal(size, 0);
	assert_null(ddekit_dma_alloc(64, 64, &bus));
	assert_int_equal(ddekit_dma_virt_to_bus(old), 0);
	assert_null(ddekit_dma_bus_to_virt(0));
	assert_null(ddekit_dma_bus_to_virt(REGION_BUS));
	/* a new setup forgets the old allocations */
	ddekit_dma_setup(old, REGION_BUS, REGION_SIZE, 0);
	assert_ptr_equal(ddekit_dma_alloc(REGION_SIZE, 64, NULL), old);
	ddekit_dma_setup(old, REGION_BUS, REGION_SIZE, 0);
	assert_ptr_equal(ddekit_dma_alloc(REGION_SIZE, 64, NULL), old);
}

/* A region whose size is not a multiple of 64: no block may pass its end. */
static void test_small_region_bounds(void **state)
{
	char *p[20];
	int n = 0;

	(void)state;
	while (n < 20 && (p[n] = ddekit_dma_alloc(64, 64, NULL)))
		n++;
	assert_int_equal(n, 1000 / 64);
	for (int i = 0; i < n; i++)
		assert_true(in_region(p[i], 64));
	for (int i = 0; i < n; i++)
		ddekit_dma_free(p[i]);
	assert_null(ddekit_dma_alloc(1000, 64, NULL));	/* rounded up to 1024 */
	p[0] = ddekit_dma_alloc(960, 64, NULL);
	assert_ptr_equal(p[0], reg.virt);
	ddekit_dma_free(p[0]);
}

static void free_bad_pointer(void)
{
	char *p = ddekit_dma_alloc(256, 64, NULL);

	ddekit_dma_free(p + 64);	/* inside an allocation, not its start */
}

static void free_foreign_pointer(void)
{
	static char not_dma[64];

	ddekit_dma_free(not_dma);
}

static void double_free(void)
{
	char *p = ddekit_dma_alloc(256, 64, NULL);

	ddekit_dma_free(p);
	ddekit_dma_free(p);
}

static void test_free_misuse_panics(void **state)
{
	(void)state;
	assert_int_equal(run_in_child(free_bad_pointer), SIGABRT);
	assert_int_equal(run_in_child(free_foreign_pointer), SIGABRT);
	assert_int_equal(run_in_child(double_free), SIGABRT);
}

struct hammer {
	unsigned char tag;
	int failures;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	void *p[32];

	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 32; i++) {
			uint64_t bus;

			p[i] = ddekit_dma_alloc(64 + (size_t)(i * 37 % 700), 64 << (i % 3), &bus);
			if (!p[i] || ddekit_dma_virt_to_bus(p[i]) != bus ||
			    !all_bytes(p[i], 64, 0)) {
				h->failures++;
				p[i] = NULL;
				continue;
			}
			memset(p[i], h->tag, 64);
		}
		for (int i = 0; i < 32; i++) {
			if (!p[i])
				continue;
			if (!all_bytes(p[i], 64, h->tag))
				h->failures++;
			ddekit_dma_free(p[i]);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct hammer h[3] = { { 0x11, 0 }, { 0x22, 0 }, { 0x33, 0 } };
	pthread_t t[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_fn, &h[i]), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(h[i].failures, 0);
	/* everything was given back */
	assert_ptr_equal(ddekit_dma_alloc(REGION_SIZE, 64, NULL), reg.virt);
}

/*
 * A region granted zeroed (as ddeio grants it): what was never handed out
 * is not written (a driver's start does not fault in all it allocates),
 * and what was handed out and freed is zeroed again when reused.
 */
static void test_granted_zeroed(void **state)
{
	uint64_t bus;
	char *a, *b, *c;

	(void)state;
	memset(reg.virt, 0, REGION_SIZE);
	ddekit_dma_setup(reg.virt, reg.bus, reg.size, 1);
	a = ddekit_dma_alloc(8192, 64, &bus);
	check_alloc(a, bus, 8192, 64);
	/* a mark in memory never handed out: the allocator leaves it (it
	 * trusts the grant), which shows it did not write there */
	reg.virt[8192 + 4096] = 0x5a;
	b = ddekit_dma_alloc(8192, 64, &bus);
	assert_ptr_equal(b, a + 8192);
	assert_int_equal((unsigned char)b[4096], 0x5a);
	/* freed and reused: dirty, so zeroed */
	memset(a, 0xa5, 8192);
	ddekit_dma_free(a);
	c = ddekit_dma_alloc(8192, 64, &bus);
	assert_ptr_equal(c, a);
	check_alloc(c, bus, 8192, 64);
	/* reaching past the end of what was handed out: the old part zeroed */
	ddekit_dma_free(b);
	ddekit_dma_free(c);
	memset(reg.virt, 0xa5, 16384);
	a = ddekit_dma_alloc(32768, 64, &bus);
	assert_true(all_bytes(a, 16384, 0));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, region_setup, region_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_region_reported),
		T(test_alloc_zeroed),
		T(test_alignment),
		cmocka_unit_test_setup_teardown(test_alignment_is_on_bus_address,
						region_setup_odd_bus, region_teardown),
		T(test_bad_arguments),
		T(test_no_overlap_until_exhausted),
		T(test_exhaustion_exact),
		T(test_freed_space_reused),
		T(test_many_blocks),
		T(test_translation),
		T(test_translation_out_of_region),
		T(test_no_region),
		cmocka_unit_test_setup_teardown(test_small_region_bounds,
						region_setup_small, region_teardown),
		T(test_free_misuse_panics),
		T(test_threads),
		T(test_granted_zeroed),
	};

	return cmocka_run_group_tests_name("ddekit_dma", tests, NULL, NULL);
}
