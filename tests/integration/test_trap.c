/*
 * The trap engine against real QEMU devices: a test driver using only
 * ddekit reads and writes an e1000's BAR0 with plain C and assembly loads
 * and stores (every size, high-byte and REX registers, sign and zero
 * extension, RIP-relative and absolute addresses, rep movs/stos, another
 * thread), and uses in/out/ins/outs on an rtl8139's I/O BAR, comparing
 * with ddekit's accessors; ports outside the grant, unsupported
 * instructions and a BAR overrun stop the driver with a message naming
 * the instruction; a NULL dereference still kills it with SIGSEGV.
 *
 * QEMU's e1000 takes only aligned 32-bit accesses (it answers a byte or
 * word read with the low bytes of the register it falls in), so narrow
 * reads here stay at register offsets. It implements its I/O BAR
 * (IOADDR/IODATA) as a stub that reads 0, so the port values are checked on the rtl8139, whose I/O BAR
 * and memory BAR show the same registers (the MAC in IDR0-5, the
 * read/write multicast filter in MAR0-7).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "harness.h"

#define MAC "52:54:00:12:34:56"
static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* e1000 registers */
#define STATUS 0x0008
#define RDBAL 0x2800
#define RDBAH 0x2804
#define TDBAL 0x3800
#define TDBAH 0x3804
/* rtl8139 registers (same offsets in the I/O and the memory BAR) */
#define IDR0 0x00
#define MAR0 0x08

static struct {
	struct harness h;
	struct ddeio_device devs[64];
	int ndev;
	char slots[64];		/* "e1000,rtl8139" */
	char log[16384];	/* stderr of the last driver */
} t;

static int setup(void **state)
{
	const char *args[] = { "--nic", "e1000,net=none", "--nic", "rtl8139,mac=" MAC ",net=none",
			       NULL };
	const struct ddeio_device *e, *r;

	if (harness_start(&t.h, args))
		return -1;
	t.ndev = harness_list(&t.h, t.devs, 64);
	e = harness_find(t.devs, t.ndev, 0x8086, 0x100e);
	r = harness_find(t.devs, t.ndev, 0x10ec, 0x8139);
	if (!e || !r)
		return -1;
	snprintf(t.slots, sizeof(t.slots), "%s,%s", harness_slot(e), harness_slot(r));
	return 0;
}

static int teardown(void **state)
{
	harness_stop(&t.h);
	return 0;
}

/*
 * Run @fn as a driver of both NICs in a child with the default SIGSEGV
 * and SIGABRT dispositions (not cmocka's) and no core file; its stderr
 * goes to t.log. Returns its exit status, or 128+signal.
 */
static int run_driver(int (*fn)(void))
{
	int logfd = memfd_create("trap-test-log", 0), rc;
	pid_t parent = getpid(), pid;
	ssize_t n;

	assert_true(logfd >= 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		signal(SIGSEGV, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		setrlimit(RLIMIT_CORE, &no_core);
		dup2(logfd, 2);
		if (harness_driver(&t.h, t.slots, "trap-test"))
			_exit(100);
		rc = fn();
		ddekit_exit();
		_exit(rc);
	}
	rc = harness_wait(pid);
	n = pread(logfd, t.log, sizeof(t.log) - 1, 0);
	t.log[n > 0 ? n : 0] = 0;
	close(logfd);
	return rc;
}

/* The granted device with @vendor, or -1. */
static int device(uint16_t vendor)
{
	for (unsigned i = 0; i < ddekit_pci_count(); i++)
		if (ddekit_pci_device(i)->vendor == vendor)
			return (int)i;
	return -1;
}

static volatile uint8_t *map_bar(uint16_t vendor, unsigned bar, size_t *size)
{
	int d = device(vendor);

	return d < 0 ? NULL : ddekit_mmio_map((unsigned)d, bar, size);
}

static uint16_t io_bar(uint16_t vendor)
{
	int d = device(vendor);

	if (d < 0)
		return 0;
	for (unsigned b = 0; b < DDEKIT_PCI_BARS; b++)
		if (ddekit_pci_device((unsigned)d)->bar[b].kind == DDEKIT_BAR_IO)
			return (uint16_t)ddekit_pci_device((unsigned)d)->bar[b].addr;
	return 0;
}

static uint64_t kit_read(volatile uint8_t *bar, unsigned off, unsigned size)
{
	uint64_t v = ~0ull;

	if (ddekit_mmio_read(bar + off, size, &v))
		return 0xbad0bad0bad0bad0ull;
	return v;
}

static uint32_t kit_in(uint16_t port, unsigned size)
{
	uint32_t v = 0;

	if (ddekit_pio_read(port, size, &v))
		return 0xbad0bad0u;
	return v;
}

#define CHECK(step, cond)                                                          \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "trap-test: step %d failed: %s\n", step, #cond); \
			return step;                                               \
		}                                                                  \
	} while (0)

/* ---- MMIO ---- */

static volatile uint8_t *e1000_bar;
static uint32_t thread_status;

static void status_thread(void *arg)
{
	thread_status = *(volatile uint32_t *)(e1000_bar + STATUS);
}

/*
 * A few instructions generated at run time, for the address forms a C
 * compiler does not emit for a pointer it only knows at run time:
 * mov eax, [rip+disp32] and mov eax, [moffs64]. The code page goes
 * within 16 MiB of @target, so a disp32 reaches it; NULL if none is free.
 */
static void *jit_near(volatile uint8_t *target)
{
	for (long delta = -(16l << 20); delta <= (16l << 20); delta += 1 << 20) {
		void *want = (void *)(((uintptr_t)target + delta) & ~(uintptr_t)4095);
		void *p = mmap(want, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (p != MAP_FAILED)
			return p;
	}
	return NULL;
}

static int mmio_driver(void)
{
	size_t size = 0;
	volatile uint8_t *bar = map_bar(0x8086, 0, &size);
	uint32_t status, v32;
	uint64_t r, pre = 0x1122334455667788ull;

	CHECK(1, bar && size >= 0x20000);
	e1000_bar = bar;
	status = (uint32_t)kit_read(bar, STATUS, 4);
	CHECK(2, status != 0 && status != 0xbad0bad0u);

	/* plain C loads of every size */
	CHECK(3, *(volatile uint32_t *)(bar + STATUS) == status);
	CHECK(4, *(volatile uint16_t *)(bar + STATUS) == (status & 0xffff));
	CHECK(5, *(volatile uint8_t *)(bar + STATUS) == (status & 0xff));
	/* (QEMU's e1000 answers an unaligned byte with the register's low byte) */
	CHECK(6, *(volatile uint8_t *)(bar + STATUS + 1) == kit_read(bar, STATUS + 1, 1));

	/* plain C stores: immediate, register, 64-bit; read back both ways */
	*(volatile uint32_t *)(bar + RDBAL) = 0x12345670;
	CHECK(7, kit_read(bar, RDBAL, 4) == 0x12345670);
	v32 = (uint32_t)ddekit_clock_ns() & 0xfffffff0u;	/* unknown to the compiler */
	*(volatile uint32_t *)(bar + RDBAL) = v32;
	CHECK(8, kit_read(bar, RDBAL, 4) == v32);
	CHECK(9, *(volatile uint32_t *)(bar + RDBAL) == v32);
	*(volatile uint64_t *)(bar + RDBAL) = 0x00000001deadbee0ull;
	CHECK(10, kit_read(bar, RDBAL, 4) == 0xdeadbee0 && kit_read(bar, RDBAH, 4) == 1);
	CHECK(11, *(volatile uint64_t *)(bar + RDBAL) == 0x00000001deadbee0ull);

	/* register semantics: 32-bit writes zero-extend, 8/16-bit keep the rest */
	r = ~0ull;
	asm volatile("movl (%1), %k0" : "+r"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(12, r == 0xdeadbee0ull);
	r = pre;
	asm volatile("movw (%1), %w0" : "+r"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(13, r == ((pre & ~0xffffull) | 0xbee0));
	r = pre;
	asm volatile("movb (%1), %b0" : "+q"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(14, r == ((pre & ~0xffull) | 0xe0));
	r = pre;
	asm volatile("movb (%1), %%ah" : "+a"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(15, r == ((pre & ~0xff00ull) | 0xe000));
	r = pre;
	asm volatile("movb (%1), %%sil" : "+S"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(16, r == ((pre & ~0xffull) | 0xe0));
	{
		register uint64_t r9 asm("r9") = pre;

		asm volatile("movl (%1), %%r9d" : "+r"(r9) : "r"(bar + RDBAL) : "memory");
		CHECK(17, r9 == 0xdeadbee0ull);
		r9 = pre;
		/* base + index * scale + displacement: RDBAH */
		asm volatile("movw 4(%1,%2,4), %%r9w" : "+r"(r9) : "r"(bar), "r"((uint64_t)RDBAL / 4)
			     : "memory");
		CHECK(18, r9 == ((pre & ~0xffffull) | 1));
	}
	/* zero and sign extension */
	r = pre;
	asm volatile("movzbl (%1), %k0" : "+r"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(19, r == 0xe0);
	r = pre;
	asm volatile("movzwq (%1), %0" : "+r"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(20, r == 0xbee0);
	asm volatile("movsbq (%1), %0" : "=r"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(21, r == 0xffffffffffffffe0ull);
	r = pre;
	asm volatile("movswl (%1), %k0" : "+r"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(22, r == 0xffffbee0ull);
	asm volatile("movslq (%1), %0" : "=r"(r) : "r"(bar + RDBAL) : "memory");
	CHECK(23, r == 0xffffffffdeadbee0ull);
	/* stores from registers of each width, and a sign-extended imm32 */
	r = 0xaaaaaaaa87654320ull;
	asm volatile("movl %k0, (%1)" : : "r"(r), "r"(bar + TDBAL) : "memory");
	CHECK(24, kit_read(bar, TDBAL, 4) == 0x87654320);
	asm volatile("movq $-16, (%0)" : : "r"(bar + TDBAL) : "memory");
	CHECK(25, kit_read(bar, TDBAL, 8) == 0xfffffffffffffff0ull);
	{
		register uint64_t r12 asm("r12") = 0x0000000200000030ull;

		asm volatile("movq %0, (%1)" : : "r"(r12), "r"(bar + TDBAL) : "memory");
		CHECK(26, kit_read(bar, TDBAL, 4) == 0x30 && kit_read(bar, TDBAH, 4) == 2);
	}

	/* rep movs / rep stos: memcpy_fromio, memcpy_toio, memset_io */
	{
		uint32_t buf[2] = { 0, 0 }, src[2] = { 0x11111110, 0x00000003 };
		void *d = buf;
		volatile void *s = bar + RDBAL;
		uint64_t n = 2;

		asm volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
		CHECK(27, buf[0] == 0xdeadbee0 && buf[1] == 1 && n == 0);
		CHECK(28, d == buf + 2 && s == bar + RDBAL + 8);
		d = (void *)(bar + RDBAL);
		s = src;
		n = 2;
		asm volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
		CHECK(29, kit_read(bar, RDBAL, 4) == 0x11111110 && kit_read(bar, RDBAH, 4) == 3);
		CHECK(30, n == 0 && d == (void *)(bar + RDBAL + 8) && s == src + 2);
		d = (void *)(bar + TDBAL);
		n = 2;
		asm volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(0x0abcdef0u) : "memory");
		CHECK(31, kit_read(bar, TDBAL, 4) == 0x0abcdef0 && kit_read(bar, TDBAH, 4) == 0x0abcdef0);
		CHECK(32, n == 0 && d == (void *)(bar + TDBAL + 8));
		/* backwards (DF=1), as memmove does */
		buf[0] = buf[1] = 0;
		d = buf + 1;
		s = bar + RDBAH;
		n = 2;
		asm volatile("std; rep movsl; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
		CHECK(33, buf[0] == 0x11111110 && buf[1] == 3 && (uintptr_t)d == (uintptr_t)buf - 4);
		/* one lods, no rep */
		s = bar + RDBAH;
		asm volatile("lodsl" : "=a"(v32), "+S"(s) : : "memory");
		CHECK(34, v32 == 3 && s == bar + RDBAH + 4);
	}

	/* RIP-relative and absolute (moffs) addresses, from generated code */
	{
		uint8_t *code = jit_near(bar + STATUS);
		uint64_t a = (uint64_t)(uintptr_t)(bar + STATUS);

		CHECK(35, code != NULL);
		/* movabs eax, [moffs64]; ret */
		code[0] = 0xa1;
		memcpy(code + 1, &a, 8);
		code[9] = 0xc3;
		CHECK(36, ((uint32_t (*)(void))code)() == status);
		/* mov eax, [rip+disp32]; ret */
		int64_t disp = (int64_t)(a - ((uint64_t)(uintptr_t)code + 16 + 6));

		int32_t d32 = (int32_t)disp;

		CHECK(37, disp == d32);
		code[16] = 0x8b;
		code[17] = 0x05;
		memcpy(code + 18, &d32, 4);
		code[22] = 0xc3;
		CHECK(38, ((uint32_t (*)(void))(code + 16))() == status);
		munmap(code, 4096);
	}

	/* another thread traps the same way */
	struct ddekit_thread *th = ddekit_thread_create("trap-thread", status_thread, NULL);

	CHECK(39, th != NULL);
	ddekit_thread_join(th);
	CHECK(40, thread_status == status);
	return 0;
}

static void test_mmio(void **state)
{
	int rc = run_driver(mmio_driver);

	if (rc)
		fail_msg("MMIO trap driver failed (status %d):\n%s", rc, t.log);
}

/* ---- port I/O ---- */

static int port_driver(void)
{
	uint16_t io = io_bar(0x10ec), eio = io_bar(0x8086);
	volatile uint8_t *bar = map_bar(0x10ec, 1, NULL);
	uint64_t r, pre = 0x1122334455667788ull;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8, buf[8];

	CHECK(1, io != 0 && eio != 0 && bar != NULL);
	/* in: MAC bytes, every size, against ddekit and the known MAC */
	for (unsigned i = 0; i < 6; i++) {
		asm volatile("inb %w1, %b0" : "=a"(v8) : "d"((uint16_t)(io + IDR0 + i)));
		CHECK(2, v8 == mac[i]);
	}
	asm volatile("inw %w1, %w0" : "=a"(v16) : "d"((uint16_t)(io + IDR0)));
	CHECK(3, v16 == (mac[0] | mac[1] << 8));
	asm volatile("inl %w1, %k0" : "=a"(v32) : "d"((uint16_t)(io + IDR0)));
	CHECK(4, v32 == kit_in(io + IDR0, 4));
	CHECK(5, v32 == (uint32_t)(mac[0] | mac[1] << 8 | mac[2] << 16 | (uint32_t)mac[3] << 24));
	CHECK(6, v32 == *(volatile uint32_t *)(bar + IDR0));
	/* register semantics: inl zero-extends, inw and inb keep the rest */
	r = ~0ull;
	asm volatile("inl %w1, %k0" : "+a"(r) : "d"((uint16_t)(io + IDR0)));
	CHECK(7, r == v32);
	r = pre;
	asm volatile("inw %w1, %w0" : "+a"(r) : "d"((uint16_t)(io + IDR0)));
	CHECK(8, r == ((pre & ~0xffffull) | (v32 & 0xffff)));
	/* out, read back through the port and through the memory BAR */
	asm volatile("outl %k0, %w1" : : "a"(0xa5a55a5au), "d"((uint16_t)(io + MAR0)));
	CHECK(9, kit_in(io + MAR0, 4) == 0xa5a55a5a);
	CHECK(10, *(volatile uint32_t *)(bar + MAR0) == 0xa5a55a5a);
	asm volatile("outw %w0, %w1" : : "a"(0x1234), "d"((uint16_t)(io + MAR0 + 4)));
	asm volatile("outb %b0, %w1" : : "a"(0x77), "d"((uint16_t)(io + MAR0 + 6)));
	asm volatile("inl %w1, %k0" : "=a"(v32) : "d"((uint16_t)(io + MAR0 + 4)));
	CHECK(11, (v32 & 0xffffff) == 0x771234);
	/* byte and word stores on the memory BAR, from ah and an immediate */
	asm volatile("movb %%ah, (%1)" : : "a"(0x5500), "r"(bar + MAR0 + 7) : "memory");
	asm volatile("movw $0xbeef, (%0)" : : "r"(bar + MAR0 + 4) : "memory");
	CHECK(12, kit_in(io + MAR0 + 4, 4) == 0x5577beef);
	/* rep ins / rep outs */
	{
		void *d = buf, *s;
		uint64_t n = 6;

		memset(buf, 0, sizeof(buf));
		asm volatile("rep insb" : "+D"(d), "+c"(n) : "d"((uint16_t)(io + IDR0 + 1)) : "memory");
		CHECK(13, n == 0 && d == buf + 6 && !memcmp(buf, "\x54\x54\x54\x54\x54\x54\0", 7));
		memcpy(buf, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
		s = buf;
		n = 2;
		asm volatile("rep outsl" : "+S"(s), "+c"(n) : "d"((uint16_t)(io + MAR0)) : "memory");
		CHECK(14, n == 0 && s == buf + 8 && kit_in(io + MAR0, 4) == 0x08070605);
		s = buf;
		asm volatile("outsw" : "+S"(s) : "d"((uint16_t)(io + MAR0)) : "memory");
		CHECK(15, s == buf + 2 && kit_in(io + MAR0, 2) == 0x0201);
	}
	/*
	 * The e1000's I/O BAR: granted, so the trapped in/out go through (QEMU
	 * implements IOADDR/IODATA as a stub: it reads 0 whatever was written).
	 */
	asm volatile("outl %k0, %w1" : : "a"(STATUS), "d"(eio));
	asm volatile("inl %w1, %k0" : "=a"(v32) : "d"((uint16_t)(eio + 4)));
	CHECK(16, v32 == kit_in(eio + 4, 4));
	return 0;
}

static void test_ports(void **state)
{
	int rc = run_driver(port_driver);

	if (rc)
		fail_msg("port trap driver failed (status %d):\n%s", rc, t.log);
}

/* ---- what must stop the driver ---- */

static int out_not_granted(void)
{
	asm volatile("outb %%al, $0x80" : : "a"(0x42));
	return 0;
}

static int in_not_granted(void)
{
	uint32_t v;

	asm volatile("inl %w1, %k0" : "=a"(v) : "d"((uint16_t)0x3f8));
	return 0;
}

static int null_deref(void)
{
	volatile int *volatile p = NULL;

	*p = 1;
	return 0;
}

static int unsupported_on_mmio(void)
{
	volatile uint8_t *bar = map_bar(0x8086, 0, NULL);

	if (!bar)
		return 1;
	asm volatile("addl $1, (%0)" : : "r"(bar + RDBAL) : "memory", "cc");
	return 0;
}

static int beyond_bar(void)
{
	size_t size = 0;
	volatile uint8_t *bar = map_bar(0x8086, 0, &size);

	if (!bar)
		return 1;
	return (int)*(volatile uint64_t *)(bar + size - 4);
}

static void expect_panic(int (*fn)(void), const char *const *words)
{
	int rc = run_driver(fn);

	if (rc != 128 + SIGABRT)
		fail_msg("driver ended with status %d, want SIGABRT:\n%s", rc, t.log);
	for (; *words; words++)
		if (!strstr(t.log, *words))
			fail_msg("panic message lacks '%s':\n%s", *words, t.log);
}

static void test_port_not_granted(void **state)
{
	expect_panic(out_not_granted,
		     (const char *const[]){ "PANIC", "`out %al, $0x80`", "port 0x80 ", "not in this driver's grant",
					    NULL });
	expect_panic(in_not_granted,
		     (const char *const[]){ "PANIC", "`in %dx, %eax`", "port 0x3f8 ", "not in this driver's grant",
					    NULL });
}

static void test_unsupported_instruction(void **state)
{
	expect_panic(unsupported_on_mmio,
		     (const char *const[]){ "PANIC", "`addl $0x01, (%r", "not emulated", NULL });
	expect_panic(beyond_bar, (const char *const[]){ "PANIC", "8-byte access", "`mov ",
							 "not inside one mapped BAR", NULL });
}

static void test_real_segfault(void **state)
{
	int rc = run_driver(null_deref);

	if (rc != 128 + SIGSEGV)
		fail_msg("NULL dereference: status %d, want SIGSEGV:\n%s", rc, t.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmio),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_port_not_granted),
		cmocka_unit_test(test_unsupported_instruction),
		cmocka_unit_test(test_real_segfault),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
