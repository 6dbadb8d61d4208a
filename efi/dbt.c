/*
 * The translated engine of the UEFI driver host (--engine dbt, and every
 * AArch64 image): the drivers' code runs inside unicorn (Debian's
 * libunicorn, QEMU's translator as a library), x86-64 images in x86-64
 * mode and AAVMF's AArch64 images in AArch64 mode, on this x86-64 host;
 * everything else — the boot services, PCI I/O, the class glue — runs
 * natively, over one address space.
 *
 * Memory is identity-mapped: the emulator sees a host page at its own
 * address, mapped on first touch from the host mapping that holds it
 * (/proc/self/maps, opened before the sandbox closes), so pool memory,
 * DMA memory and the tables we build mean the same on both sides. Only
 * the images' pages are executable in the emulator.
 *
 * Calls cross in the image's convention, both ways:
 * - host -> image (efi_callv): arguments in the image's registers (x86-64:
 *   Microsoft x64, rcx rdx r8 r9 and the stack above 32 bytes of shadow
 *   space; AArch64: AAPCS64, x0-x7), the return address a slot of the
 *   bridge page, the emulator run until it fetches from there;
 * - image -> host: every service address the image is given (efi_export)
 *   is another slot of that page, which the emulator maps readable but
 *   not executable. Fetching from it stops the emulator; the engine reads
 *   the arguments (16, enough for InstallMultipleProtocolInterfaces'
 *   variadic list), calls the service natively (an EFIAPI function), puts
 *   the result in rax or x0 and returns to the caller.
 * A service may call back into an image (ConnectController runs Start):
 * the nested call runs on the emulated stack below the caller's frame, and
 * the caller's whole CPU state is saved around it (uc_context).
 *
 * A jump anywhere else outside the images, or a fault, stops the driver
 * naming the image and offset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <unicorn/unicorn.h>

#include <ddekit/ddekit.h>

#include "host.h"

#define BRIDGE_SLOTS 512
#define SLOT 16
#define EMU_STACK (1u << 20)
#define NARGS 16
#define MAX_DEPTH 32

static struct {
	uc_engine *uc;
	bool arm64;
	uint64_t bridge;		/* the bridge page's address (reserved in the host) */
	void *bridge_mem;
	struct {
		void *fn;
		const char *name;
		unsigned long calls;
	} slot[BRIDGE_SLOTS];
	unsigned nslots;		/* slot 0: the exit of a call into an image */
	uint8_t *stack;
	uint64_t sp;			/* where the next call into an image builds its frame */
	int maps_fd;
	unsigned depth;			/* calls into the images in progress, nested */
	uc_context *ctx[MAX_DEPTH][2];	/* per level: the caller's state, and its own across a call out */
	uint64_t bad;			/* the address a fault was at */
	unsigned long calls_in, calls_out;
} dbt = { .maps_fd = -1 };

bool efi_translated;

static void __attribute__((noreturn)) failed(const char *what, uc_err err)
{
	ddekit_panic("translated engine: %s: %s", what, uc_strerror(err));
}

/* the host mapping holding ADDR: 1 with its extent and permissions */
static int host_mapping(uint64_t addr, uint64_t *lo, uint64_t *hi, char perms[5])
{
	char line[512];
	int found = 0, fd = dup(dbt.maps_fd);
	FILE *f;

	if (fd < 0)
		return 0;
	lseek(fd, 0, SEEK_SET);
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return 0;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long l, h;

		if (sscanf(line, "%lx-%lx %4s", &l, &h, perms) == 3 && addr >= l && addr < h) {
			*lo = l;
			*hi = h;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* [*LO, *HI) around ADDR, shrunk to what the emulator has not mapped */
static void clip(uint64_t addr, uint64_t *lo, uint64_t *hi)
{
	uc_mem_region *r;
	uint32_t n;

	if (uc_mem_regions(dbt.uc, &r, &n) != UC_ERR_OK)
		return;
	for (uint32_t i = 0; i < n; i++) {
		if (r[i].end < addr && r[i].end + 1 > *lo)
			*lo = r[i].end + 1;
		if (r[i].begin > addr && r[i].begin < *hi)
			*hi = r[i].begin;
	}
	uc_free(r);
}

static uint64_t mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *page)
{
	uint64_t v = 0;

	if (ddekit_mmio_read((char *)page + off, size, &v))
		ddekit_panic("translated engine: MMIO read of %u bytes at %p refused: %s", size,
			     (void *)((char *)page + off), ddekit_last_error());
	return v;
}

static void mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *page)
{
	if (ddekit_mmio_write((char *)page + off, size, v))
		ddekit_panic("translated engine: MMIO write of %u bytes at %p refused: %s", size,
			     (void *)((char *)page + off), ddekit_last_error());
}

static uint32_t port_in(uc_engine *uc, uint32_t port, int size, void *data)
{
	uint32_t v = 0;

	if (ddekit_pio_read((uint16_t)port, (unsigned)size, &v))
		ddekit_panic("translated engine: in from port %#x refused: %s", port,
			     ddekit_last_error());
	return v;
}

static void port_out(uc_engine *uc, uint32_t port, int size, uint32_t v, void *data)
{
	if (ddekit_pio_write((uint16_t)port, (unsigned)size, v))
		ddekit_panic("translated engine: out to port %#x refused: %s", port,
			     ddekit_last_error());
}

/* a first touch of a host page: map the host mapping that holds it, or the BAR page */
static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
			void *data)
{
	uint64_t lo, hi, page = addr & ~4095ull;
	char perms[5];

	if (type == UC_MEM_FETCH_UNMAPPED) {
		dbt.bad = addr;
		return false;
	}
	if (ddekit_mmio_contains(addr, 1))
		return uc_mmio_map(uc, page, 4096, mmio_read, (void *)(uintptr_t)page, mmio_write,
				   (void *)(uintptr_t)page) == UC_ERR_OK;
	if (host_mapping(addr, &lo, &hi, perms) && perms[0] == 'r') {
		clip(addr, &lo, &hi);
		if (uc_mem_map_ptr(uc, lo, hi - lo,
				   UC_PROT_READ | (perms[1] == 'w' ? UC_PROT_WRITE : 0),
				   (void *)(uintptr_t)lo) == UC_ERR_OK)
			return true;
	}
	dbt.bad = addr;
	return false;
}

static bool on_protected(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			 int64_t value, void *data)
{
	dbt.bad = addr;
	return false;
}

void *efi_dbt_export(void *fn, const char *name)
{
	for (unsigned i = 1; i < dbt.nslots; i++)
		if (dbt.slot[i].fn == fn)
			return (void *)(uintptr_t)(dbt.bridge + i * SLOT);
	if (dbt.nslots == BRIDGE_SLOTS)
		ddekit_panic("translated engine: more than %d services", BRIDGE_SLOTS);
	dbt.slot[dbt.nslots].fn = fn;
	dbt.slot[dbt.nslots].name = name;
	return (void *)(uintptr_t)(dbt.bridge + dbt.nslots++ * SLOT);
}

/* --- registers, per ISA --- */

static uint64_t reg(int r)
{
	uint64_t v = 0;

	uc_reg_read(dbt.uc, r, &v);
	return v;
}

static void set_reg(int r, uint64_t v)
{
	uc_reg_write(dbt.uc, r, &v);
}

static uint64_t pc(void)
{
	return reg(dbt.arm64 ? UC_ARM64_REG_PC : UC_X86_REG_RIP);
}

static uint64_t stack_word(uint64_t at)
{
	uint64_t v = 0;

	if (uc_mem_read(dbt.uc, at, &v, 8) != UC_ERR_OK)
		memcpy(&v, (void *)(uintptr_t)at, 8);	/* identity-mapped: the host's own */
	return v;
}

/* the arguments of a call the image makes to a service */
static void call_args(uint64_t *a)
{
	if (dbt.arm64) {
		uint64_t sp = reg(UC_ARM64_REG_SP);

		for (int i = 0; i < 8; i++)
			a[i] = reg(UC_ARM64_REG_X0 + i);
		for (int i = 8; i < NARGS; i++)
			a[i] = stack_word(sp + 8 * (uint64_t)(i - 8));
	} else {
		static const int r[4] = { UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_R8,
					  UC_X86_REG_R9 };
		uint64_t sp = reg(UC_X86_REG_RSP);

		for (int i = 0; i < 4; i++)
			a[i] = reg(r[i]);
		/* above the return address and 32 bytes of shadow space */
		for (int i = 4; i < NARGS; i++)
			a[i] = stack_word(sp + 8 + 8 * (uint64_t)i);
	}
}

/* back from a service: its result, and on to the caller's return address */
static void service_return(uint64_t result)
{
	if (dbt.arm64) {
		set_reg(UC_ARM64_REG_X0, result);
		set_reg(UC_ARM64_REG_PC, reg(UC_ARM64_REG_X30));
	} else {
		uint64_t sp = reg(UC_X86_REG_RSP);

		set_reg(UC_X86_REG_RAX, result);
		set_reg(UC_X86_REG_RIP, stack_word(sp));
		set_reg(UC_X86_REG_RSP, sp + 8);
	}
}

typedef uint64_t EFIAPI (*call16)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
				 uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
				 uint64_t, uint64_t, uint64_t, uint64_t);

static void __attribute__((noreturn)) image_faulted(uc_err err)
{
	char where[96], at[96];

	efi_describe(pc(), where, sizeof(where));
	efi_describe(dbt.bad, at, sizeof(at));
	ddekit_panic("translated engine: %s at %s (address %s)", uc_strerror(err), where, at);
}

uint64_t efi_dbt_call(const void *fn, unsigned n, const uint64_t *args)
{
	uint64_t exit_addr = dbt.bridge, sp = dbt.sp, outer_sp = dbt.sp, result;
	unsigned level = dbt.depth++;
	uc_context *saved, *mine;

	if (n > 8)
		ddekit_panic("translated engine: a call with %u arguments", n);
	if (level == MAX_DEPTH)
		ddekit_panic("translated engine: calls nested %d deep", MAX_DEPTH);
	/* this level's two CPU states, made once and kept: a call out is hot */
	for (int k = 0; k < 2; k++)
		if (!dbt.ctx[level][k] && uc_context_alloc(dbt.uc, &dbt.ctx[level][k]) != UC_ERR_OK)
			failed("keeping the CPU state", UC_ERR_NOMEM);
	saved = dbt.ctx[level][0];
	mine = dbt.ctx[level][1];
	/* a nested call: the caller's state comes back after it */
	if (uc_context_save(dbt.uc, saved) != UC_ERR_OK)
		failed("saving the CPU state", UC_ERR_NOMEM);
	sp &= ~15ull;
	if (dbt.arm64) {
		for (unsigned i = 0; i < n; i++)
			set_reg(UC_ARM64_REG_X0 + (int)i, args[i]);
		set_reg(UC_ARM64_REG_X30, exit_addr);
		set_reg(UC_ARM64_REG_SP, sp);
	} else {
		static const int r[4] = { UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_R8,
					  UC_X86_REG_R9 };

		/* stack arguments above 32 bytes of shadow space, then the return address */
		sp -= 8 * (n > 4 ? n - 4 : 0) + 32;
		sp &= ~15ull;
		for (unsigned i = 0; i < n; i++) {
			if (i < 4)
				set_reg(r[i], args[i]);
			else
				uc_mem_write(dbt.uc, sp + 32 + 8 * (i - 4), &args[i], 8);
		}
		sp -= 8;
		uc_mem_write(dbt.uc, sp, &exit_addr, 8);
		set_reg(UC_X86_REG_RSP, sp);
	}
	dbt.calls_in++;
	uint64_t at = (uint64_t)(uintptr_t)fn;

	for (;;) {
		uc_err err = uc_emu_start(dbt.uc, at, 0, 0, 0);
		uint64_t where = pc();

		if (err != UC_ERR_FETCH_PROT || where < dbt.bridge ||
		    where >= dbt.bridge + (uint64_t)dbt.nslots * SLOT || where % SLOT) {
			if (err == UC_ERR_OK)
				ddekit_panic("translated engine: the image stopped running at %#llx",
					     (unsigned long long)where);
			image_faulted(err);
		}
		unsigned s = (unsigned)((where - dbt.bridge) / SLOT);

		if (s == 0) {	/* the call returned */
			result = reg(dbt.arm64 ? UC_ARM64_REG_X0 : UC_X86_REG_RAX);
			break;
		}
		uint64_t a[NARGS];

		call_args(a);
		dbt.calls_out++;
		dbt.slot[s].calls++;
		/* a call back into an image builds its frame below this one */
		dbt.sp = reg(dbt.arm64 ? UC_ARM64_REG_SP : UC_X86_REG_RSP) - 256;
		if (uc_context_save(dbt.uc, mine) != UC_ERR_OK)
			failed("saving the CPU state", UC_ERR_NOMEM);
		uint64_t r = ((call16)dbt.slot[s].fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6],
						       a[7], a[8], a[9], a[10], a[11], a[12],
						       a[13], a[14], a[15]);

		uc_context_restore(dbt.uc, mine);
		service_return(r);
		at = pc();
	}
	uc_context_restore(dbt.uc, saved);
	dbt.sp = outer_sp;
	dbt.depth--;
	return result;
}

int efi_dbt_init(bool arm64, char *err, size_t errlen)
{
	uc_err e;
	uc_hook h;

	dbt.arm64 = arm64;
	dbt.maps_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (dbt.maps_fd < 0) {
		snprintf(err, errlen, "/proc/self/maps: %s", strerror(errno));
		return -1;
	}
	e = arm64 ? uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &dbt.uc) :
		    uc_open(UC_ARCH_X86, UC_MODE_64, &dbt.uc);
	if (e) {
		snprintf(err, errlen, "unicorn: %s", uc_strerror(e));
		return -1;
	}
	/* the bridge page: reserved in the host, readable only in the emulator */
	dbt.bridge_mem = mmap(NULL, BRIDGE_SLOTS * SLOT, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	/* below 4 GiB, as firmware's stack is (iPXE takes its address as 32 bits) */
	dbt.stack = mmap(NULL, EMU_STACK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (dbt.bridge_mem == MAP_FAILED || dbt.stack == MAP_FAILED) {
		snprintf(err, errlen, "no memory for the engine");
		return -1;
	}
	static uint8_t zeros[BRIDGE_SLOTS * SLOT] __attribute__((aligned(4096)));

	dbt.bridge = (uint64_t)(uintptr_t)dbt.bridge_mem;
	dbt.nslots = 1;
	dbt.sp = (uint64_t)(uintptr_t)dbt.stack + EMU_STACK - 64;
	if ((e = uc_mem_map_ptr(dbt.uc, dbt.bridge, sizeof(zeros), UC_PROT_READ, zeros)) ||
	    (e = uc_mem_map_ptr(dbt.uc, (uint64_t)(uintptr_t)dbt.stack, EMU_STACK,
				UC_PROT_READ | UC_PROT_WRITE, dbt.stack)) ||
	    (e = uc_hook_add(dbt.uc, &h, UC_HOOK_MEM_UNMAPPED, (void *)on_unmapped, NULL, 1, 0)) ||
	    (e = uc_hook_add(dbt.uc, &h, UC_HOOK_MEM_PROT, (void *)on_protected, NULL, 1, 0))) {
		snprintf(err, errlen, "unicorn: %s", uc_strerror(e));
		return -1;
	}
	if (!arm64 &&
	    ((e = uc_hook_add(dbt.uc, &h, UC_HOOK_INSN, (void *)port_in, NULL, 1, 0, UC_X86_INS_IN)) ||
	     (e = uc_hook_add(dbt.uc, &h, UC_HOOK_INSN, (void *)port_out, NULL, 1, 0,
			      UC_X86_INS_OUT)))) {
		snprintf(err, errlen, "unicorn: %s", uc_strerror(e));
		return -1;
	}
	efi_translated = true;
	return 0;
}

/* an image's pages, executable in the emulator (its host copy need not be) */
int efi_dbt_add_image(void *base, size_t size, char *err, size_t errlen)
{
	uc_err e = uc_mem_map_ptr(dbt.uc, (uint64_t)(uintptr_t)base, (size + 4095) & ~(size_t)4095,
				  UC_PROT_ALL, base);

	if (e) {
		snprintf(err, errlen, "unicorn: %s", uc_strerror(e));
		return -1;
	}
	return 0;
}

void efi_dbt_counts(struct efi_dbt_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->calls_in = dbt.calls_in;
	c->calls_out = dbt.calls_out;
	for (unsigned i = 1; i < dbt.nslots; i++) {
		/* the ones that only stop the driver are named no_... */
		bool given = strncmp(dbt.slot[i].name, "no_", 3) != 0;

		c->services += given;
		c->used += dbt.slot[i].calls > 0;
		if (dbt.slot[i].calls && c->nnames < 64)
			c->names[c->nnames++] = dbt.slot[i].name;
	}
}
